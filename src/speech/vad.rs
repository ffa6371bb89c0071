//! Voice activity detection per 20 ms frame, with earshot's neural detector.
//!
//! earshot scores 16 ms windows (256 samples at 16 kHz) from a 48 ms context. A kefu frame is
//! 320 samples, so the detector keeps the remainder between frames: each frame completes one or
//! two windows (four frames make five windows), and the frame's probability is the largest of
//! the windows it completed. A frame is speech when that probability reaches the threshold.
//!
//! When the denoiser runs, feed this detector the denoised frame and pass RNNoise's voice
//! probability to [`VoiceDetector::process_with_rnnoise`]: the two are blended as
//! `(1 - w) * earshot + w * rnnoise` with `w` = [`VadConfig::rnnoise_weight`]. earshot is the
//! better detector on its own (RNNoise's estimate misses weak speech); RNNoise's comes for free
//! with denoising and pulls down earshot's false starts in noise. Measured on a flite sentence
//! at -26 dBFS in white noise at 5 dB SNR (truth: frames of the clean sentence above -50 dBFS,
//! allowing earshot three frames of lag), frames wrongly called speech out of 185 non-speech
//! frames: earshot on the noisy audio 26, on the denoised audio 7, blended with w = 0.3: 3
//! (with 14 instead of 11 of 210 speech frames missed). Weight 0 ignores RNNoise.

use crate::media::frame::Frame;

/// Samples per earshot window (16 ms at 16 kHz).
const WINDOW: usize = 256;

/// Invalid detector settings (from a flow or the node's config).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum VadError {
    /// The speech threshold must be a probability, 0.0 ..= 1.0.
    #[error("VAD threshold {0} is not within 0.0 ..= 1.0")]
    Threshold(f32),
    /// RNNoise's share of the blended score must be within 0.0 ..= 1.0.
    #[error("VAD rnnoise_weight {0} is not within 0.0 ..= 1.0")]
    RnnoiseWeight(f32),
}

/// Settings of a [`VoiceDetector`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VadConfig {
    /// Probability at or above which a frame is speech. Default 0.5, earshot's own suggestion;
    /// raise it for noisy lines where false starts cost more than a missed soft word.
    pub threshold: f32,
    /// Share of RNNoise's voice probability in the blended score when the denoiser runs.
    /// Default 0.3: enough to pull a borderline earshot score either way, never enough to
    /// make a frame speech on RNNoise alone at the default threshold.
    pub rnnoise_weight: f32,
}

impl Default for VadConfig {
    fn default() -> Self {
        VadConfig {
            threshold: 0.5,
            rnnoise_weight: 0.3,
        }
    }
}

impl VadConfig {
    fn validate(&self) -> Result<(), VadError> {
        if !(0.0..=1.0).contains(&self.threshold) {
            return Err(VadError::Threshold(self.threshold));
        }
        if !(0.0..=1.0).contains(&self.rnnoise_weight) {
            return Err(VadError::RnnoiseWeight(self.rnnoise_weight));
        }
        Ok(())
    }
}

/// The detector's verdict on one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VoiceDecision {
    /// Speech probability, 0.0 ..= 1.0 (blended with RNNoise's when given).
    pub probability: f32,
    /// `probability >= threshold`.
    pub is_speech: bool,
}

/// One audio stream's voice detector. Feed it every frame in order.
pub struct VoiceDetector {
    /// earshot's state (about 8 KiB), boxed so that moving the detector stays cheap.
    detector: Box<earshot::Detector>,
    /// Samples of the current window not yet scored; only the first `pending_len` are valid.
    pending: [i16; WINDOW],
    pending_len: usize,
    config: VadConfig,
}

impl VoiceDetector {
    pub fn new(config: VadConfig) -> Result<VoiceDetector, VadError> {
        config.validate()?;
        Ok(VoiceDetector {
            detector: earshot::Detector::default_boxed(),
            pending: [0; WINDOW],
            pending_len: 0,
            config,
        })
    }

    pub fn config(&self) -> VadConfig {
        self.config
    }

    /// Changes the threshold from the next frame on.
    pub fn set_threshold(&mut self, threshold: f32) -> Result<(), VadError> {
        VadConfig {
            threshold,
            ..self.config
        }
        .validate()?;
        self.config.threshold = threshold;
        Ok(())
    }

    /// Scores one frame with earshot alone.
    pub fn process(&mut self, frame: &Frame) -> VoiceDecision {
        let probability = self.earshot(frame);
        self.decide(probability)
    }

    /// Scores one denoised frame, blending in the voice probability RNNoise gave for it.
    pub fn process_with_rnnoise(
        &mut self,
        frame: &Frame,
        rnnoise_probability: f32,
    ) -> VoiceDecision {
        let w = self.config.rnnoise_weight;
        let rnnoise = if rnnoise_probability.is_finite() {
            rnnoise_probability.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let probability = (1.0 - w) * self.earshot(frame) + w * rnnoise;
        self.decide(probability)
    }

    /// Forgets the stream so far, as a new instance would.
    pub fn reset(&mut self) {
        self.detector.reset();
        self.pending_len = 0;
    }

    fn decide(&self, probability: f32) -> VoiceDecision {
        VoiceDecision {
            probability,
            is_speech: probability >= self.config.threshold,
        }
    }

    /// The largest earshot score among the windows this frame completes (always at least one,
    /// since a frame is longer than a window).
    fn earshot(&mut self, frame: &Frame) -> f32 {
        let mut samples: &[i16] = frame.samples();
        let mut best = 0.0f32;
        while !samples.is_empty() {
            let take = (WINDOW - self.pending_len).min(samples.len());
            self.pending[self.pending_len..self.pending_len + take]
                .copy_from_slice(&samples[..take]);
            self.pending_len += take;
            samples = &samples[take..];
            if self.pending_len == WINDOW {
                // earshot answers -1 only for a window of the wrong length, which this is not.
                best = best.max(self.detector.predict_i16(&self.pending).clamp(0.0, 1.0));
                self.pending_len = 0;
            }
        }
        best
    }
}

/// Real speech and seeded noise for the tests of this folder.
#[cfg(test)]
pub(crate) mod test_audio {
    use crate::media::frame::{FRAME_SAMPLES, Frame};

    /// Renders `text` with the flite command-line tool (16 kHz mono), or `None` with a printed
    /// notice when flite is not installed.
    pub(crate) fn flite(text: &str) -> Option<Vec<i16>> {
        let dir = tempfile::tempdir().expect("a temporary directory can be created");
        let path = dir.path().join("speech.wav");
        let status = std::process::Command::new("flite")
            .args(["-voice", "slt", "-t", text, "-o"])
            .arg(&path)
            .status();
        match status {
            Ok(s) if s.success() => {}
            _ => {
                eprintln!("flite is not installed or failed: skipping the real-speech test");
                return None;
            }
        }
        let mut reader = hound::WavReader::open(&path).expect("flite writes a readable WAV");
        let spec = reader.spec();
        assert_eq!(
            (spec.sample_rate, spec.channels),
            (16_000, 1),
            "flite's slt voice is 16 kHz mono"
        );
        Some(
            reader
                .samples::<i16>()
                .collect::<Result<_, _>>()
                .expect("flite's WAV decodes"),
        )
    }

    /// Splits samples into frames, zero-padding the last.
    pub(crate) fn frames(samples: &[i16]) -> Vec<Frame> {
        samples
            .chunks(FRAME_SAMPLES)
            .map(|chunk| {
                let mut frame = Frame::SILENCE;
                frame.samples_mut()[..chunk.len()].copy_from_slice(chunk);
                frame
            })
            .collect()
    }

    /// Seeded white noise, uniform in ±`amplitude` (xorshift; no crate needed for a test).
    pub(crate) fn white_noise(len: usize, amplitude: f32, seed: u64) -> Vec<i16> {
        let mut state = seed.max(1);
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let unit = (state >> 11) as f64 / (1u64 << 53) as f64; // 0.0 .. 1.0
                ((unit * 2.0 - 1.0) as f32 * amplitude).round() as i16
            })
            .collect()
    }

    /// Mean power of samples, in dB relative to full scale squared (-inf for silence).
    pub(crate) fn power_db(samples: &[i16]) -> f64 {
        let sum: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
        10.0 * (sum / samples.len().max(1) as f64 / (32768.0 * 32768.0)).log10()
    }
}

#[cfg(test)]
mod tests {
    use super::test_audio::{flite, frames, white_noise};
    use super::*;
    use crate::media::frame::FRAME_SAMPLES;

    #[test]
    fn rejects_thresholds_outside_zero_to_one() {
        for bad in [-0.1, 1.5, f32::NAN] {
            let config = VadConfig {
                threshold: bad,
                ..VadConfig::default()
            };
            assert!(matches!(
                VoiceDetector::new(config),
                Err(VadError::Threshold(_))
            ));
        }
        let config = VadConfig {
            rnnoise_weight: 2.0,
            ..VadConfig::default()
        };
        assert_eq!(
            VoiceDetector::new(config).err(),
            Some(VadError::RnnoiseWeight(2.0))
        );
        let mut vad = VoiceDetector::new(VadConfig::default()).expect("defaults are valid");
        assert_eq!(vad.set_threshold(1.1), Err(VadError::Threshold(1.1)));
        assert_eq!(vad.set_threshold(0.7), Ok(()));
        assert_eq!(vad.config().threshold, 0.7);
    }

    #[test]
    fn windows_line_up_with_frames() {
        // Five windows every four frames: the remainder cycles 64, 128, 192, 0.
        let mut vad = VoiceDetector::new(VadConfig::default()).expect("defaults are valid");
        let mut lengths = Vec::new();
        for _ in 0..8 {
            vad.process(&Frame::SILENCE);
            lengths.push(vad.pending_len);
        }
        assert_eq!(lengths, [64, 128, 192, 0, 64, 128, 192, 0]);
    }

    #[test]
    fn rnnoise_weight_blends_linearly() {
        let config = VadConfig {
            threshold: 0.5,
            rnnoise_weight: 1.0,
        };
        let mut vad = VoiceDetector::new(config).expect("valid");
        let d = vad.process_with_rnnoise(&Frame::SILENCE, 0.8);
        assert_eq!(d.probability, 0.8);
        assert!(d.is_speech);
        let d = vad.process_with_rnnoise(&Frame::SILENCE, f32::NAN);
        assert_eq!(d.probability, 0.0);
        assert!(!d.is_speech);
    }

    /// Speech frames found by the detector, as (first, last) frame indexes of the input.
    fn speech_frames(vad: &mut VoiceDetector, input: &[Frame]) -> Vec<usize> {
        input
            .iter()
            .enumerate()
            .filter_map(|(i, f)| vad.process(f).is_speech.then_some(i))
            .collect()
    }

    #[test]
    fn finds_flite_speech_and_nothing_in_digital_silence() {
        let Some(speech) = flite("where is my order") else {
            return;
        };
        // 1 s of digital silence, the sentence, 2 s of digital silence.
        let lead = 50 * FRAME_SAMPLES;
        let mut samples = vec![0i16; lead];
        samples.extend_from_slice(&speech);
        let speech_end = samples.len();
        samples.extend(std::iter::repeat_n(0, 100 * FRAME_SAMPLES));

        let mut vad = VoiceDetector::new(VadConfig::default()).expect("defaults are valid");
        let found = speech_frames(&mut vad, &frames(&samples));
        let (first_frame, end_frame) = (lead / FRAME_SAMPLES, speech_end.div_ceil(FRAME_SAMPLES));
        assert!(
            found.len() >= (end_frame - first_frame) / 2,
            "speech in {} of {} frames",
            found.len(),
            end_frame - first_frame
        );
        // earshot sees 48 ms of context, so its verdict may trail the audio by a few frames.
        let outside: Vec<_> = found
            .iter()
            .filter(|&&i| i < first_frame || i >= end_frame + 3)
            .collect();
        assert!(
            outside.is_empty(),
            "speech outside the sentence: {outside:?}"
        );
    }

    #[test]
    fn low_white_noise_is_not_speech() {
        // -50 dBFS-ish hiss for 4 s, as a quiet line would carry.
        let noise = white_noise(200 * FRAME_SAMPLES, 200.0, 7);
        let mut vad = VoiceDetector::new(VadConfig::default()).expect("defaults are valid");
        let found = speech_frames(&mut vad, &frames(&noise));
        assert!(
            found.is_empty(),
            "noise taken for speech in frames {found:?}"
        );
    }

    #[test]
    fn denoised_and_blended_finds_speech_in_5_db_noise_and_none_in_the_noise() {
        use super::test_audio::power_db;
        use crate::speech::denoise::Denoiser;
        let Some(speech) = flite("where is my order, the number is four five one two") else {
            return;
        };
        // The sentence at telephone level (-26 dBFS) after 2 s of noise alone, noise 5 dB below it.
        let gain = 10f64.powf((-26.0 - power_db(&speech)) / 20.0);
        let lead = 100 * FRAME_SAMPLES;
        let mut samples = vec![0i16; lead];
        samples.extend(speech.iter().map(|&s| (f64::from(s) * gain) as i16));
        let amplitude = (3.0 * 10f64.powf(-31.0 / 10.0)).sqrt() as f32 * 32768.0;
        let noise = white_noise(samples.len(), amplitude, 11);
        let noisy: Vec<i16> = samples
            .iter()
            .zip(&noise)
            .map(|(&s, &n)| s.saturating_add(n))
            .collect();

        let mut denoiser = Denoiser::new();
        let mut vad = VoiceDetector::new(VadConfig::default()).expect("defaults are valid");
        let found: Vec<usize> = frames(&noisy)
            .iter()
            .enumerate()
            .filter_map(|(i, f)| {
                let (clean, voice) = denoiser.process(f);
                vad.process_with_rnnoise(&clean, voice)
                    .is_speech
                    .then_some(i)
            })
            .collect();
        let first_frame = lead / FRAME_SAMPLES;
        // The first 200 ms are the denoiser's start-up (its output fades in from silence, which
        // earshot can take for an onset for a frame); a single frame never opens a turn.
        let in_noise: Vec<_> = found
            .iter()
            .filter(|&&i| (10..first_frame).contains(&i))
            .collect();
        assert!(
            in_noise.is_empty(),
            "speech found in the noise at frames {in_noise:?}"
        );
        let sentence_frames = speech.len() / FRAME_SAMPLES;
        assert!(
            found.len() >= sentence_frames / 2,
            "speech in {} of {sentence_frames} frames",
            found.len()
        );
    }
}
