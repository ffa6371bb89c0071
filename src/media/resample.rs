//! Whole-file conversion to kefu's 16 kHz mono, for prompts and any input file.
//!
//! Runs rubato's FFT resampler (fixed ratio, high quality) over the complete clip; its
//! start-up delay is trimmed so the output lines up with the input. This allocates and is
//! meant for loading files, not for the per-frame path (that is `codec::resampler`).

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

use crate::media::error::MediaError;
use crate::media::frame::SAMPLE_RATE;

/// Highest input rate accepted (studio formats top out at 384 kHz).
const MAX_RATE: u32 = 384_000;
/// Chunk size handed to rubato; any value works for whole clips, this one is fast.
const CHUNK: usize = 1024;

/// Converts interleaved `f32` samples (nominally −1.0..=1.0) with `channels` channels at
/// `from_rate` to 16 kHz mono `i16`. Channels are averaged.
pub fn resample_to_16k(
    interleaved: &[f32],
    channels: usize,
    from_rate: u32,
) -> Result<Vec<i16>, MediaError> {
    if from_rate == 0 || from_rate > MAX_RATE {
        return Err(MediaError::UnsupportedSampleRate(from_rate));
    }
    if channels == 0 || !interleaved.len().is_multiple_of(channels) {
        return Err(MediaError::BadChannelLayout {
            channels,
            samples: interleaved.len(),
        });
    }
    let mono: Vec<f32> = interleaved
        .chunks_exact(channels)
        .map(|c| c.iter().sum::<f32>() / channels as f32)
        .collect();
    if from_rate == SAMPLE_RATE || mono.is_empty() {
        return Ok(mono.into_iter().map(to_i16).collect());
    }
    let fail = |reason: String| MediaError::Resample { from_rate, reason };
    let mut resampler = Fft::<f32>::new(
        from_rate as usize,
        SAMPLE_RATE as usize,
        CHUNK,
        1,
        FixedSync::Both,
    )
    .map_err(|e| fail(e.to_string()))?;
    let input = InterleavedSlice::new(&mono, 1, mono.len()).map_err(|e| fail(e.to_string()))?;
    let output = resampler
        .process_all(&input, mono.len(), None)
        .map_err(|e| fail(e.to_string()))?;
    Ok(output.take_data().into_iter().map(to_i16).collect())
}

/// [`resample_to_16k`] for 16-bit input.
pub fn resample_i16_to_16k(
    interleaved: &[i16],
    channels: usize,
    from_rate: u32,
) -> Result<Vec<i16>, MediaError> {
    let float: Vec<f32> = interleaved
        .iter()
        .map(|&s| f32::from(s) / 32768.0)
        .collect();
    resample_to_16k(&float, channels, from_rate)
}

fn to_i16(x: f32) -> i16 {
    // `as` saturates, so overshoot past full scale clips instead of wrapping.
    (x * 32768.0).round() as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f64, rate: u32, seconds: f64, amplitude: f64) -> Vec<f32> {
        let n = (f64::from(rate) * seconds) as usize;
        (0..n)
            .map(|i| {
                (amplitude * (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate)).sin())
                    as f32
            })
            .collect()
    }

    fn amplitude_at(x: &[i16], freq: f64) -> f64 {
        let (mut re, mut im) = (0.0, 0.0);
        for (n, &s) in x.iter().enumerate() {
            let phase = 2.0 * std::f64::consts::PI * freq * n as f64 / 16000.0;
            re += f64::from(s) * phase.cos();
            im += f64::from(s) * phase.sin();
        }
        2.0 * (re * re + im * im).sqrt() / x.len() as f64 / 32768.0
    }

    #[test]
    fn common_rates_convert_with_the_tone_intact() {
        for rate in [8000, 11025, 16000, 22050, 32000, 44100, 48000] {
            let input = tone(440.0, rate, 1.0, 0.5);
            let out = resample_to_16k(&input, 1, rate).unwrap();
            assert!(
                out.len().abs_diff(16000) <= 1,
                "{rate}: {} samples",
                out.len()
            );
            let level = amplitude_at(&out[800..15200], 440.0);
            assert!((level - 0.5).abs() < 0.03, "{rate}: amplitude {level:.3}");
        }
    }

    #[test]
    fn content_above_8khz_is_removed() {
        let input = tone(10000.0, 48000, 0.5, 0.5);
        let out = resample_to_16k(&input, 1, 48000).unwrap();
        let peak = out[400..7600]
            .iter()
            .map(|s| s.unsigned_abs())
            .max()
            .unwrap();
        assert!(
            peak < 330,
            "a 10 kHz tone must not alias into the output, peak {peak}"
        );
    }

    #[test]
    fn channels_are_averaged() {
        let left = tone(300.0, 44100, 0.2, 0.4);
        let stereo: Vec<f32> = left.iter().flat_map(|&l| [l, -l]).collect();
        let out = resample_to_16k(&stereo, 2, 44100).unwrap();
        assert!(
            out.iter().all(|&s| s.abs() <= 1),
            "opposite channels cancel"
        );
        let same: Vec<f32> = left.iter().flat_map(|&l| [l, l, l]).collect();
        let out = resample_to_16k(&same, 3, 44100).unwrap();
        let level = amplitude_at(&out[400..2800], 300.0);
        assert!((level - 0.4).abs() < 0.03, "{level}");
    }

    #[test]
    fn sixteen_khz_passes_through_exactly() {
        let input: Vec<i16> = (0..1000).map(|i| (i * 37 % 2000 - 1000) as i16).collect();
        assert_eq!(resample_i16_to_16k(&input, 1, 16000).unwrap(), input);
    }

    #[test]
    fn bad_parameters_are_errors() {
        assert!(matches!(
            resample_to_16k(&[0.0; 4], 1, 0),
            Err(MediaError::UnsupportedSampleRate(0))
        ));
        assert!(matches!(
            resample_to_16k(&[0.0; 5], 2, 8000),
            Err(MediaError::BadChannelLayout {
                channels: 2,
                samples: 5
            })
        ));
        assert!(matches!(
            resample_to_16k(&[0.0; 4], 0, 8000),
            Err(MediaError::BadChannelLayout { channels: 0, .. })
        ));
        assert!(resample_to_16k(&[], 2, 44100).unwrap().is_empty());
    }

    #[test]
    fn overshoot_clips() {
        assert_eq!(to_i16(1.5), i16::MAX);
        assert_eq!(to_i16(-1.5), i16::MIN);
    }
}
