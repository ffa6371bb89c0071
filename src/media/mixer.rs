//! Mixing and level changes on frames (supervisor barge-in, whisper, prompt volume).
//!
//! Sums saturate at the 16-bit limits instead of wrapping, so an overload clips rather than
//! turning into loud noise.

use crate::media::frame::Frame;

/// Sum of two frames, sample by sample, saturating.
pub fn mix(a: &Frame, b: &Frame) -> Frame {
    let mut out = *a;
    mix_into(&mut out, b);
    out
}

/// Adds `other` into `acc`, saturating (for mixing more than two sources).
pub fn mix_into(acc: &mut Frame, other: &Frame) {
    for (x, &y) in acc.samples_mut().iter_mut().zip(other.samples()) {
        *x = x.saturating_add(y);
    }
}

/// A linear gain factor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gain(f32);

impl Gain {
    /// Leaves samples unchanged.
    pub const UNITY: Gain = Gain(1.0);
    /// Silences.
    pub const MUTE: Gain = Gain(0.0);

    /// Gain from decibels (+6 dB ≈ ×2, −6 dB ≈ ×½). Non-finite input mutes.
    pub fn from_db(db: f32) -> Gain {
        let factor = 10f32.powf(db / 20.0);
        if factor.is_finite() {
            Gain(factor)
        } else {
            Gain::MUTE
        }
    }

    /// Gain from a linear factor; negative or non-finite factors mute.
    pub fn from_linear(factor: f32) -> Gain {
        if factor.is_finite() && factor > 0.0 {
            Gain(factor)
        } else {
            Gain::MUTE
        }
    }

    pub fn linear(self) -> f32 {
        self.0
    }
}

/// Scales `frame` in place, saturating at the 16-bit limits.
pub fn apply_gain(frame: &mut Frame, gain: Gain) {
    if gain == Gain::UNITY {
        return;
    }
    for s in frame.samples_mut() {
        // `as` saturates float-to-int conversions.
        *s = (f32::from(*s) * gain.0).round() as i16;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::frame::FRAME_SAMPLES;

    fn ramp(scale: i16) -> Frame {
        let mut f = Frame::SILENCE;
        for (i, s) in f.samples_mut().iter_mut().enumerate() {
            *s = (i as i16 - 160) * scale;
        }
        f
    }

    #[test]
    fn mix_adds_samples() {
        let m = mix(&ramp(1), &ramp(2));
        assert_eq!(m, ramp(3));
    }

    #[test]
    fn mix_saturates_both_ways() {
        let loud = Frame([30000; FRAME_SAMPLES]);
        assert_eq!(mix(&loud, &loud), Frame([i16::MAX; FRAME_SAMPLES]));
        let low = Frame([-30000; FRAME_SAMPLES]);
        assert_eq!(mix(&low, &low), Frame([i16::MIN; FRAME_SAMPLES]));
        assert_eq!(mix(&loud, &low), Frame::SILENCE);
    }

    #[test]
    fn gain_in_decibels() {
        assert!((Gain::from_db(6.0206).linear() - 2.0).abs() < 1e-3);
        assert!((Gain::from_db(-20.0).linear() - 0.1).abs() < 1e-6);
        assert_eq!(Gain::from_db(f32::NAN), Gain::MUTE);
        assert_eq!(Gain::from_linear(-1.0), Gain::MUTE);
        let mut f = Frame([1000; FRAME_SAMPLES]);
        apply_gain(&mut f, Gain::from_linear(0.5));
        assert_eq!(f, Frame([500; FRAME_SAMPLES]));
    }

    #[test]
    fn gain_saturates() {
        let mut f = ramp(200);
        apply_gain(&mut f, Gain::from_db(40.0));
        assert_eq!(f.samples()[0], i16::MIN);
        assert_eq!(f.samples()[FRAME_SAMPLES - 1], i16::MAX);
        assert_eq!(f.samples()[160], 0);
    }
}
