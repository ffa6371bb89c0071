//! The one audio format inside kefu: 20 ms of 16 kHz mono signed 16-bit PCM.
//!
//! Every leg decodes into this and encodes from it, so speech stages, the recorder and the
//! mixer never see a codec or a sample rate.

/// Sample rate of every internal frame.
pub const SAMPLE_RATE: u32 = 16_000;
/// Duration of one frame in milliseconds.
pub const FRAME_MS: u32 = 20;
/// Samples in one frame (16 kHz × 20 ms).
pub const FRAME_SAMPLES: usize = 320;

/// One 20 ms frame of 16 kHz mono PCM. Plain data, copied by value on the media path so that
/// no per-frame allocation happens.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Frame(pub [i16; FRAME_SAMPLES]);

impl Frame {
    /// A frame of digital silence.
    pub const SILENCE: Frame = Frame([0; FRAME_SAMPLES]);

    pub fn samples(&self) -> &[i16; FRAME_SAMPLES] {
        &self.0
    }

    pub fn samples_mut(&mut self) -> &mut [i16; FRAME_SAMPLES] {
        &mut self.0
    }

    /// Root-mean-square level, 0.0 ..= 32768.0.
    pub fn rms(&self) -> f32 {
        let sum: f64 = self.0.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
        (sum / FRAME_SAMPLES as f64).sqrt() as f32
    }
}

impl Default for Frame {
    fn default() -> Self {
        Frame::SILENCE
    }
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Frame(rms={:.1})", self.rms())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_has_zero_rms() {
        assert_eq!(Frame::SILENCE.rms(), 0.0);
    }

    #[test]
    fn full_scale_square_has_full_rms() {
        let f = Frame([i16::MIN; FRAME_SAMPLES]);
        assert_eq!(f.rms(), 32768.0);
    }
}
