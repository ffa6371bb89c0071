//! Loss concealment for the codecs without their own (G.711, G.722).
//!
//! A much reduced form of G.711 Appendix I: the last 20 ms of good audio is replayed while
//! its gain falls linearly to zero over two lost frames (40 ms), and further losses are
//! silence. There is no pitch search, so a long loss sounds like a fade rather than a
//! stretched vowel, but there is never a hard cut or a buzzing loop. The next good packet
//! resets it.

use crate::media::frame::FRAME_SAMPLES;

/// Frames over which the replayed audio fades out.
const FADE_FRAMES: usize = 2;

pub(super) struct FadeConcealer {
    /// The newest 20 ms of decoded output.
    last: [i16; FRAME_SAMPLES],
    /// Consecutive losses so far.
    losses: usize,
}

impl FadeConcealer {
    pub(super) fn new() -> Self {
        FadeConcealer {
            last: [0; FRAME_SAMPLES],
            losses: 0,
        }
    }

    /// Records freshly decoded audio (any length).
    pub(super) fn remember(&mut self, decoded: &[i16]) {
        self.losses = 0;
        if decoded.len() >= FRAME_SAMPLES {
            self.last
                .copy_from_slice(&decoded[decoded.len() - FRAME_SAMPLES..]);
        } else {
            self.last.rotate_left(decoded.len());
            self.last[FRAME_SAMPLES - decoded.len()..].copy_from_slice(decoded);
        }
    }

    /// Appends 20 ms standing in for a lost packet.
    pub(super) fn conceal(&mut self, out: &mut Vec<i16>) {
        let total = (FADE_FRAMES * FRAME_SAMPLES) as i32;
        let done = (self.losses * FRAME_SAMPLES) as i32;
        self.losses = self.losses.saturating_add(1);
        out.extend(self.last.iter().enumerate().map(|(i, &s)| {
            let remaining = (total - done - i as i32).max(0);
            (i32::from(s) * remaining / total) as i16
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_then_fades_to_silence() {
        let mut c = FadeConcealer::new();
        c.remember(&[1000; FRAME_SAMPLES]);
        let mut out = Vec::new();
        for _ in 0..3 {
            c.conceal(&mut out);
        }
        assert_eq!(out.len(), 3 * FRAME_SAMPLES);
        assert_eq!(out[0], 1000);
        assert_eq!(out[FRAME_SAMPLES], 500);
        assert!(out.windows(2).all(|w| w[1] <= w[0]), "gain only falls");
        assert!(out[2 * FRAME_SAMPLES..].iter().all(|&s| s == 0));
    }

    #[test]
    fn short_packets_fill_the_history_in_order() {
        let mut c = FadeConcealer::new();
        let ramp: Vec<i16> = (0..FRAME_SAMPLES as i16).collect();
        c.remember(&ramp[..100]);
        c.remember(&ramp[100..]);
        assert_eq!(c.last.to_vec(), ramp);
    }

    #[test]
    fn good_packet_resets_the_fade() {
        let mut c = FadeConcealer::new();
        c.remember(&[800; FRAME_SAMPLES]);
        let mut out = Vec::new();
        c.conceal(&mut out);
        c.conceal(&mut out);
        c.remember(&[800; FRAME_SAMPLES]);
        out.clear();
        c.conceal(&mut out);
        assert_eq!(out[0], 800);
    }
}
