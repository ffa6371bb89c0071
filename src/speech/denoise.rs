//! Noise suppression for the caller's audio: RNNoise (the `nnnoiseless` port) on kefu's
//! 16 kHz frames.
//!
//! RNNoise is trained on 48 kHz audio in 480-sample (10 ms) frames, so one kefu frame (320
//! samples at 16 kHz) becomes 960 samples at 48 kHz, exactly two RNNoise frames. The rate change
//! is a windowed-sinc low-pass FIR applied polyphase: ×3 by zero stuffing then filtering, ÷3 by
//! filtering then keeping every third sample. Both keep their history across frames, so a call
//! is one continuous signal.
//!
//! Latency: the output frame carries the input of [`LATENCY_SAMPLES`] (176 samples, 11 ms)
//! earlier: 480 samples at 48 kHz (10 ms) from RNNoise's overlap-add synthesis, plus 24 samples
//! at 48 kHz (0.5 ms) of group delay for each of the two linear-phase filters.
//!
//! Work per frame is fixed and allocation-free; the buffers are sized at construction.

use nnnoiseless::DenoiseState;

use crate::media::frame::{FRAME_SAMPLES, Frame};

/// Taps of the rate-change low-pass at 48 kHz. Odd, and `TAPS - 1` a multiple of 3, so the two
/// filters together delay by a whole number of 16 kHz samples.
const TAPS: usize = 49;
/// Taps of each of the three polyphase branches of the ×3 interpolator.
const PHASE_TAPS: usize = TAPS.div_ceil(3);
/// Pass-band edge of the low-pass, in Hz at 48 kHz: below the 8 kHz Nyquist of the 16 kHz side.
const CUTOFF_HZ: f64 = 7_400.0;
/// Kaiser window shape: about 55 dB of stop-band attenuation for this length.
const KAISER_BETA: f64 = 5.5;
/// Samples per kefu frame at 48 kHz.
const FRAME_48K: usize = FRAME_SAMPLES * 3;
/// Samples per RNNoise frame (10 ms at 48 kHz).
const RNNOISE_FRAME: usize = DenoiseState::FRAME_SIZE;
/// Delay of RNNoise's overlap-add synthesis, at 48 kHz.
const RNNOISE_DELAY_48K: usize = RNNOISE_FRAME;

/// Share of the denoised signal in what whisper hears; the rest is the caller's own audio, in
/// step with it. RNNoise alone leaves artefacts whisper stumbles on (it raised WER on white
/// noise), and none at all leaves the noise. Measured with `cargo bench --bench asr_accuracy --
/// noise` (63 Asterisk prompts, noise mixed in, then µ-law; tiny.en), WER against the same
/// pipeline without denoising (white 10/5 dB, HF radio 10/5 dB): 27.98/53.62/54.21/104.70 %;
/// share 1.0: 34.83/66.14/53.62/96.09; 0.5: 22.70/53.62/54.79/103.52; 0.7: 25.83/51.86/
/// 52.05/101.17, the one share that is better in all four. Voice activity still judges the
/// fully denoised frame.
pub const ASR_DENOISED_SHARE: f32 = 0.7;

/// Delay from input to output, in 16 kHz samples.
pub const LATENCY_SAMPLES: usize = (RNNOISE_DELAY_48K + (TAPS - 1)) / 3;
/// Delay from input to output, in milliseconds (11.0).
pub const LATENCY_MS: f32 = LATENCY_SAMPLES as f32 / 16.0;

/// One call's noise suppressor. Holds RNNoise's recurrent state and the filters' history, so
/// use one per audio stream and feed it every frame in order.
pub struct Denoiser {
    /// RNNoise state (large; the crate boxes it).
    rnnoise: Box<DenoiseState<'static>>,
    /// The ×3 interpolator's branches, reversed for a forward dot product, gain 3 included.
    up_phases: [[f32; PHASE_TAPS]; 3],
    /// The ÷3 decimator's taps (symmetric, so no reversal needed).
    down_taps: [f32; TAPS],
    /// Last `PHASE_TAPS - 1` input samples of the previous frame, then this frame's 320.
    up_history: [f32; PHASE_TAPS - 1 + FRAME_SAMPLES],
    /// Last `TAPS - 1` samples of the previous denoised 48 kHz block, then this block's 960.
    down_history: [f32; TAPS - 1 + FRAME_48K],
    /// This frame at 48 kHz, RNNoise's input.
    upsampled: [f32; FRAME_48K],
    /// The last [`LATENCY_SAMPLES`] input samples, then this frame's: the input in step with
    /// the denoised output, for the mix whisper hears.
    delay: [i16; LATENCY_SAMPLES + FRAME_SAMPLES],
}

impl Denoiser {
    pub fn new() -> Denoiser {
        let taps = low_pass_taps();
        let mut up_phases = [[0.0f32; PHASE_TAPS]; 3];
        for (phase, branch) in up_phases.iter_mut().enumerate() {
            for (j, coeff) in branch.iter_mut().enumerate() {
                // Branch `phase` holds taps phase, phase+3, ...; reversed so that
                // `history[n..n + PHASE_TAPS]` (oldest first) lines up with it.
                let tap = 3 * (PHASE_TAPS - 1 - j) + phase;
                *coeff = taps.get(tap).map_or(0.0, |&t| (3.0 * t) as f32);
            }
        }
        Denoiser {
            rnnoise: DenoiseState::new(),
            up_phases,
            down_taps: taps.map(|t| t as f32),
            up_history: [0.0; PHASE_TAPS - 1 + FRAME_SAMPLES],
            down_history: [0.0; TAPS - 1 + FRAME_48K],
            upsampled: [0.0; FRAME_48K],
            delay: [0; LATENCY_SAMPLES + FRAME_SAMPLES],
        }
    }

    /// Denoises one frame. Returns the cleaned frame (delayed by [`LATENCY_SAMPLES`]) and
    /// RNNoise's voice probability for it, 0.0 ..= 1.0: the larger of its two 10 ms estimates.
    pub fn process(&mut self, frame: &Frame) -> (Frame, f32) {
        let keep = LATENCY_SAMPLES;
        self.delay.copy_within(FRAME_SAMPLES.., 0);
        self.delay[keep..].copy_from_slice(frame.samples());
        self.upsample(frame);

        let denoised = &mut self.down_history[TAPS - 1..];
        let mut voice = 0.0f32;
        for (input, output) in self
            .upsampled
            .chunks_exact(RNNOISE_FRAME)
            .zip(denoised.chunks_exact_mut(RNNOISE_FRAME))
        {
            voice = voice.max(self.rnnoise.process_frame(output, input));
        }

        (self.downsample(), voice.clamp(0.0, 1.0))
    }

    /// The input frame in step with the last [`Denoiser::process`] output, blended with it:
    /// `share` of the denoised signal, the rest the original.
    pub fn blend(&self, clean: &Frame, share: f32) -> Frame {
        let mut out = *clean;
        for (o, &raw) in out
            .samples_mut()
            .iter_mut()
            .zip(&self.delay[..FRAME_SAMPLES])
        {
            let mixed = share * f32::from(*o) + (1.0 - share) * f32::from(raw);
            *o = mixed.round() as i16;
        }
        out
    }

    /// Forgets the call so far, as a new instance would.
    pub fn reset(&mut self) {
        self.rnnoise = DenoiseState::new();
        self.up_history.fill(0.0);
        self.down_history.fill(0.0);
        self.delay.fill(0);
    }

    /// 16 kHz frame -> `self.upsampled` at 48 kHz, in i16 scale as RNNoise expects.
    fn upsample(&mut self, frame: &Frame) {
        let keep = PHASE_TAPS - 1;
        for (slot, &sample) in self.up_history[keep..].iter_mut().zip(frame.samples()) {
            *slot = f32::from(sample);
        }
        for (n, out) in self.upsampled.chunks_exact_mut(3).enumerate() {
            let window = &self.up_history[n..n + PHASE_TAPS];
            for (value, branch) in out.iter_mut().zip(&self.up_phases) {
                *value = dot(window, branch);
            }
        }
        self.up_history.copy_within(FRAME_SAMPLES.., 0);
    }

    /// Denoised 48 kHz block in `down_history` -> one 16 kHz frame.
    fn downsample(&mut self) -> Frame {
        let mut out = Frame::SILENCE;
        for (m, sample) in out.samples_mut().iter_mut().enumerate() {
            let value = dot(&self.down_history[3 * m..3 * m + TAPS], &self.down_taps);
            // `as` saturates, which is the clipping we want for an overshoot.
            *sample = value.round() as i16;
        }
        self.down_history.copy_within(FRAME_48K.., 0);
        out
    }
}

impl Default for Denoiser {
    fn default() -> Self {
        Denoiser::new()
    }
}

/// Dot product over eight independent sums, which the compiler turns into SIMD (a single
/// running sum cannot be reordered, so it would stay scalar).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let (a_lanes, a_rest) = a.as_chunks::<8>();
    let (b_lanes, b_rest) = b.as_chunks::<8>();
    let mut acc = [0.0f32; 8];
    for (x, y) in a_lanes.iter().zip(b_lanes) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let rest: f32 = a_rest.iter().zip(b_rest).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + rest
}

/// Kaiser-windowed sinc low-pass at 48 kHz with unit gain at DC.
fn low_pass_taps() -> [f64; TAPS] {
    let centre = (TAPS - 1) as f64 / 2.0;
    let fc = CUTOFF_HZ / 48_000.0;
    let mut taps = [0.0f64; TAPS];
    for (n, tap) in taps.iter_mut().enumerate() {
        let t = n as f64 - centre;
        let sinc = if t == 0.0 {
            2.0 * fc
        } else {
            (2.0 * std::f64::consts::PI * fc * t).sin() / (std::f64::consts::PI * t)
        };
        let r = t / centre;
        let window = bessel_i0(KAISER_BETA * (1.0 - r * r).sqrt()) / bessel_i0(KAISER_BETA);
        *tap = sinc * window;
    }
    let sum: f64 = taps.iter().sum();
    taps.map(|t| t / sum)
}

/// Modified Bessel function of the first kind, order 0 (power series; converges fast for the
/// small arguments of a Kaiser window).
fn bessel_i0(x: f64) -> f64 {
    let mut sum = 1.0;
    let mut term = 1.0;
    let half = x / 2.0;
    for k in 1..40 {
        term *= half / k as f64;
        sum += term * term;
        if term * term < sum * 1e-17 {
            break;
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::speech::vad::test_audio::{flite, frames, power_db, white_noise};

    /// Gain of the low-pass at `hz` (48 kHz rate), in dB.
    fn response_db(hz: f64) -> f64 {
        let w = 2.0 * std::f64::consts::PI * hz / 48_000.0;
        let (mut re, mut im) = (0.0, 0.0);
        for (n, t) in low_pass_taps().iter().enumerate() {
            re += t * (w * n as f64).cos();
            im -= t * (w * n as f64).sin();
        }
        20.0 * (re * re + im * im).sqrt().log10()
    }

    #[test]
    fn low_pass_keeps_speech_band_and_stops_images() {
        for hz in [100.0, 1_000.0, 3_000.0, 4_000.0] {
            assert!(
                response_db(hz).abs() < 0.2,
                "{hz} Hz: {:.2} dB",
                response_db(hz)
            );
        }
        assert!(
            response_db(6_000.0) > -3.0,
            "6 kHz: {:.2} dB",
            response_db(6_000.0)
        );
        // Images of 0..7 kHz content land at 9 kHz and above after ×3.
        for hz in [10_000.0, 12_000.0, 16_000.0, 20_000.0, 24_000.0] {
            assert!(
                response_db(hz) < -50.0,
                "{hz} Hz: {:.2} dB",
                response_db(hz)
            );
        }
    }

    #[test]
    fn taps_are_symmetric_with_unit_dc_gain() {
        let taps = low_pass_taps();
        for i in 0..TAPS {
            assert!((taps[i] - taps[TAPS - 1 - i]).abs() < 1e-12);
        }
        assert!((taps.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn latency_is_eleven_ms() {
        assert_eq!(LATENCY_SAMPLES, 176);
        assert_eq!(LATENCY_MS, 11.0);
    }

    #[test]
    fn digital_silence_stays_silent() {
        let mut denoiser = Denoiser::new();
        for _ in 0..20 {
            let (out, voice) = denoiser.process(&Frame::SILENCE);
            assert_eq!(out, Frame::SILENCE);
            assert_eq!(voice, 0.0);
        }
    }

    #[test]
    fn full_scale_input_does_not_panic_and_clips() {
        let mut denoiser = Denoiser::new();
        let mut square = Frame::SILENCE;
        for (i, s) in square.samples_mut().iter_mut().enumerate() {
            *s = if (i / 10) % 2 == 0 {
                i16::MAX
            } else {
                i16::MIN
            };
        }
        for _ in 0..10 {
            let (_, voice) = denoiser.process(&square);
            assert!((0.0..=1.0).contains(&voice));
        }
    }

    /// Runs the denoiser over whole frames of samples and returns the output samples.
    fn denoise_all(samples: &[i16]) -> (Vec<i16>, Vec<f32>) {
        let mut denoiser = Denoiser::new();
        let mut out = Vec::with_capacity(samples.len());
        let mut voice = Vec::new();
        for frame in frames(samples) {
            let (clean, v) = denoiser.process(&frame);
            out.extend_from_slice(clean.samples());
            voice.push(v);
        }
        (out, voice)
    }

    #[test]
    fn blend_mixes_the_denoised_frame_with_the_input_in_step_with_it() {
        let input: Vec<i16> = (0..4 * FRAME_SAMPLES)
            .map(|i| ((i * 37) % 2001) as i16 - 1000)
            .collect();
        let mut denoiser = Denoiser::new();
        let mut dry = Vec::new();
        let mut wet = Vec::new();
        let mut half = Vec::new();
        for frame in frames(&input) {
            let (clean, _) = denoiser.process(&frame);
            dry.extend_from_slice(denoiser.blend(&clean, 0.0).samples());
            wet.extend_from_slice(denoiser.blend(&clean, 1.0).samples());
            half.extend_from_slice(denoiser.blend(&clean, 0.5).samples());
        }
        // No denoised share: the input itself, delayed as the denoised output is.
        assert!(dry[..LATENCY_SAMPLES].iter().all(|&s| s == 0));
        assert_eq!(
            &dry[LATENCY_SAMPLES..],
            &input[..input.len() - LATENCY_SAMPLES]
        );
        for ((&h, &d), &w) in half.iter().zip(&dry).zip(&wet) {
            let mean = (f32::from(d) + f32::from(w)) / 2.0;
            assert!((f32::from(h) - mean).abs() <= 0.5, "{h} vs {d}/{w}");
        }
        denoiser.reset();
        let (clean, _) = denoiser.process(&frames(&input)[0]);
        assert!(
            denoiser
                .blend(&clean, 0.0)
                .samples()
                .iter()
                .take(LATENCY_SAMPLES)
                .all(|&s| s == 0)
        );
    }

    #[test]
    fn delay_on_clean_speech_is_latency_samples() {
        let Some(speech) = flite("where is my order") else {
            return;
        };
        let (out, _) = denoise_all(&speech);
        // Cross-correlation of output against input; its peak is the delay.
        let best = (0..400)
            .max_by_key(|&lag| {
                let c: f64 = speech
                    .iter()
                    .zip(&out[lag..])
                    .map(|(&a, &b)| f64::from(a) * f64::from(b))
                    .sum();
                c as i64
            })
            .expect("lags to try");
        assert_eq!(best, LATENCY_SAMPLES);
    }

    #[test]
    fn white_noise_at_5_db_snr_drops_10_db_and_speech_stays() {
        let Some(speech) = flite("where is my order, the number is four five one two") else {
            return;
        };
        // The sentence at -26 dBFS, the nominal level of telephone speech (ITU-T P.56's
        // -26 dBov); flite renders it far louder than a caller's phone delivers it.
        let gain = 10f64.powf((-26.0 - power_db(&speech)) / 20.0);
        let speech: Vec<i16> = speech
            .iter()
            .map(|&s| (f64::from(s) * gain) as i16)
            .collect();
        // 1.5 s of noise alone, then the sentence in the same noise, then 0.5 s more noise.
        let lead = 75 * FRAME_SAMPLES;
        let mut clean = vec![0i16; lead];
        clean.extend_from_slice(&speech);
        clean.extend(std::iter::repeat_n(0, 25 * FRAME_SAMPLES));
        let speech_range = lead..lead + speech.len();
        // Uniform noise in ±a has power a²/3; pick a for 5 dB below the sentence's power.
        let speech_power = 10f64.powf(power_db(&speech) / 10.0) * 32768.0 * 32768.0;
        let amplitude = (3.0 * speech_power / 10f64.powf(0.5)).sqrt() as f32;
        let noise = white_noise(clean.len(), amplitude, 42);
        let noisy: Vec<i16> = clean
            .iter()
            .zip(&noise)
            .map(|(&s, &n)| s.saturating_add(n))
            .collect();
        let (out, voice) = denoise_all(&noisy);

        // Speech-free: 0.5 .. 1.5 s (RNNoise gets half a second to settle), delay accounted for.
        let quiet = 25 * FRAME_SAMPLES..lead;
        let before = power_db(&noisy[quiet.clone()]);
        let after = power_db(&out[quiet.start + LATENCY_SAMPLES..quiet.end + LATENCY_SAMPLES]);
        assert!(
            before - after >= 10.0,
            "noise {before:.1} dB -> {after:.1} dB"
        );

        let speech_in = power_db(&clean[speech_range.clone()]);
        let speech_out = power_db(
            &out[speech_range.start + LATENCY_SAMPLES..speech_range.end + LATENCY_SAMPLES],
        );
        assert!(
            (speech_out - speech_in).abs() <= 3.0,
            "speech {speech_in:.1} dB -> {speech_out:.1} dB"
        );

        println!(
            "noise {before:.1} -> {after:.1} dBFS, speech {speech_in:.1} -> {speech_out:.1} dBFS"
        );
        // RNNoise's own voice estimate separates the two regions.
        let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
        let quiet_voice = mean(&voice[25..75]);
        let speech_voice = mean(&voice[75..75 + speech.len() / FRAME_SAMPLES]);
        assert!(
            speech_voice > quiet_voice + 0.3,
            "voice probability: noise {quiet_voice:.2}, speech {speech_voice:.2}"
        );
    }
}
