//! G.711 µ-law (PCMU) and A-law (PCMA), written from ITU-T G.711 (11/88) tables 1 and 2.
//!
//! The companding works on the 14-bit (µ-law) or 13-bit (A-law) linear range of the
//! standard, left-justified in an `i16` as RFC 3551 §4.5.14 and every softphone do. Negative
//! inputs use the one's complement before quantising, as the ITU-T G.191 reference
//! encoder does, so the quantiser is symmetric around zero.
//!
//! The codec runs at 8 kHz; [`G711Decoder`] and [`G711Encoder`] wrap the companding with the
//! half-band resampler so the rest of kefu only sees 16 kHz [`Frame`]s.

use super::resampler::{Downsampler, Upsampler};
use crate::media::frame::{FRAME_SAMPLES, Frame};

/// Which companding law a G.711 stream uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Law {
    /// µ-law, RTP payload type 0 (PCMU).
    Mu,
    /// A-law, RTP payload type 8 (PCMA).
    A,
}

impl Law {
    /// Expands one code word to a 16-bit linear sample.
    pub fn decode(self, code: u8) -> i16 {
        match self {
            Law::Mu => ULAW_TO_LINEAR[usize::from(code)],
            Law::A => ALAW_TO_LINEAR[usize::from(code)],
        }
    }

    /// Compresses one 16-bit linear sample to a code word.
    pub fn encode(self, sample: i16) -> u8 {
        match self {
            Law::Mu => linear_to_ulaw(sample),
            Law::A => linear_to_alaw(sample),
        }
    }
}

/// µ-law code word for a 16-bit sample (G.711 table 2; sign bit set for positive values and
/// all bits inverted on the line).
pub fn linear_to_ulaw(sample: i16) -> u8 {
    const BIAS: i32 = 33;
    const MAX: i32 = 0x1FFF;
    let x = i32::from(sample);
    let (magnitude, sign) = if x < 0 {
        ((!x) >> 2, 0x00)
    } else {
        (x >> 2, 0x80)
    };
    let biased = (magnitude + BIAS).min(MAX);
    // Segment = position of the highest set bit above bit 5 (biased values start at 33).
    let segment = (31 - biased.leading_zeros() as i32 - 5).clamp(0, 7);
    let mantissa = (biased >> (segment + 1)) & 0x0F;
    let code = (segment << 4) | mantissa;
    (!(code as u8) & 0x7F) | sign
}

/// A-law code word for a 16-bit sample (G.711 table 1; even bits inverted on the line).
pub fn linear_to_alaw(sample: i16) -> u8 {
    let x = i32::from(sample) >> 3;
    let (magnitude, sign) = if x >= 0 { (x, 0x80) } else { (-x - 1, 0x00) };
    let magnitude = magnitude.min(0x0FFF);
    let code = if magnitude < 0x20 {
        magnitude >> 1
    } else {
        let segment = 31 - magnitude.leading_zeros() as i32 - 4;
        (segment << 4) | ((magnitude >> segment) & 0x0F)
    };
    ((code as u8) | sign) ^ 0x55
}

const fn ulaw_to_linear(code: u8) -> i16 {
    let u = !code;
    let t = (((u & 0x0F) as i32) << 3) + 0x84;
    let t = t << ((u & 0x70) >> 4);
    if u & 0x80 != 0 {
        (0x84 - t) as i16
    } else {
        (t - 0x84) as i16
    }
}

const fn alaw_to_linear(code: u8) -> i16 {
    let a = code ^ 0x55;
    let mut t = ((a & 0x0F) as i32) << 4;
    let segment = ((a & 0x70) >> 4) as i32;
    match segment {
        0 => t += 8,
        1 => t += 0x108,
        _ => t = (t + 0x108) << (segment - 1),
    }
    if a & 0x80 != 0 { t as i16 } else { -t as i16 }
}

const fn table(law: Law) -> [i16; 256] {
    let mut out = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        out[i] = match law {
            Law::Mu => ulaw_to_linear(i as u8),
            Law::A => alaw_to_linear(i as u8),
        };
        i += 1;
    }
    out
}

static ULAW_TO_LINEAR: [i16; 256] = table(Law::Mu);
static ALAW_TO_LINEAR: [i16; 256] = table(Law::A);

/// G.711 payload bytes per 20 ms (8 kHz, one byte per sample).
const PAYLOAD_20MS: usize = FRAME_SAMPLES / 2;

/// Decodes G.711 payloads of any length to 16 kHz.
pub(super) struct G711Decoder {
    law: Law,
    up: Upsampler,
}

impl G711Decoder {
    pub(super) fn new(law: Law) -> Self {
        G711Decoder {
            law,
            up: Upsampler::new(),
        }
    }

    /// Appends `2 × payload.len()` samples at 16 kHz.
    pub(super) fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) {
        let mut narrow = [0i16; PAYLOAD_20MS];
        for chunk in payload.chunks(PAYLOAD_20MS) {
            for (sample, &code) in narrow.iter_mut().zip(chunk) {
                *sample = self.law.decode(code);
            }
            self.up.process(&narrow[..chunk.len()], out);
        }
    }
}

/// Encodes 16 kHz frames to 20 ms G.711 payloads (160 bytes).
pub(super) struct G711Encoder {
    law: Law,
    down: Downsampler,
}

impl G711Encoder {
    pub(super) fn new(law: Law) -> Self {
        G711Encoder {
            law,
            down: Downsampler::new(),
        }
    }

    pub(super) fn encode(&mut self, frame: &Frame, out: &mut Vec<u8>) {
        let mut narrow = [0i16; PAYLOAD_20MS];
        let written = self.down.process(frame.samples(), &mut narrow);
        out.clear();
        out.extend(narrow[..written].iter().map(|&s| self.law.encode(s)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The first rows of the decoding tables as printed in the Sun/CCITT reference code
    // (g711.c) and reproduced in most telephony stacks: codes 0x00..=0x0F and 0x70..=0x7F.
    const ULAW_ROW_00: [i16; 16] = [
        -32124, -31100, -30076, -29052, -28028, -27004, -25980, -24956, -23932, -22908, -21884,
        -20860, -19836, -18812, -17788, -16764,
    ];
    const ULAW_ROW_70: [i16; 16] = [
        -120, -112, -104, -96, -88, -80, -72, -64, -56, -48, -40, -32, -24, -16, -8, 0,
    ];
    const ALAW_ROW_00: [i16; 16] = [
        -5504, -5248, -6016, -5760, -4480, -4224, -4992, -4736, -7552, -7296, -8064, -7808, -6528,
        -6272, -7040, -6784,
    ];
    const ALAW_ROW_40: [i16; 16] = [
        -344, -328, -376, -360, -280, -264, -312, -296, -472, -456, -504, -488, -408, -392, -440,
        -424,
    ];
    const ALAW_ROW_50: [i16; 16] = [
        -88, -72, -120, -104, -24, -8, -56, -40, -216, -200, -248, -232, -152, -136, -184, -168,
    ];

    #[test]
    fn ulaw_decoding_matches_reference_rows() {
        for (i, &want) in ULAW_ROW_00.iter().enumerate() {
            assert_eq!(Law::Mu.decode(i as u8), want, "code {i:#04x}");
            // Positive half mirrors the negative half.
            assert_eq!(
                Law::Mu.decode(0x80 | i as u8),
                -want,
                "code {:#04x}",
                0x80 | i
            );
        }
        for (i, &want) in ULAW_ROW_70.iter().enumerate() {
            assert_eq!(Law::Mu.decode(0x70 + i as u8), want);
        }
    }

    #[test]
    fn alaw_decoding_matches_reference_rows() {
        for (i, &want) in ALAW_ROW_00.iter().enumerate() {
            assert_eq!(Law::A.decode(i as u8), want, "code {i:#04x}");
            assert_eq!(Law::A.decode(0x80 | i as u8), -want);
        }
        for (i, &want) in ALAW_ROW_40.iter().enumerate() {
            assert_eq!(
                Law::A.decode(0x40 + i as u8),
                want,
                "code {:#04x}",
                0x40 + i
            );
        }
        for (i, &want) in ALAW_ROW_50.iter().enumerate() {
            assert_eq!(
                Law::A.decode(0x50 + i as u8),
                want,
                "code {:#04x}",
                0x50 + i
            );
        }
    }

    #[test]
    fn known_code_words() {
        // Zero, the smallest steps and full scale from G.711 tables 1 and 2.
        assert_eq!(linear_to_ulaw(0), 0xFF);
        assert_eq!(linear_to_ulaw(-1), 0x7F);
        assert_eq!(linear_to_ulaw(i16::MAX), 0x80);
        assert_eq!(linear_to_ulaw(i16::MIN), 0x00);
        assert_eq!(Law::Mu.decode(0x80), 32124);
        assert_eq!(Law::Mu.decode(0xFF), 0);
        assert_eq!(linear_to_alaw(0), 0xD5);
        assert_eq!(linear_to_alaw(-1), 0x55);
        assert_eq!(linear_to_alaw(i16::MAX), 0xAA);
        assert_eq!(linear_to_alaw(i16::MIN), 0x2A);
        assert_eq!(Law::A.decode(0xD5), 8);
        assert_eq!(Law::A.decode(0xAA), 32256);
        assert_eq!(Law::A.decode(0x2A), -32256);
    }

    #[test]
    fn every_ulaw_code_round_trips() {
        for code in 0..=255u8 {
            let again = linear_to_ulaw(Law::Mu.decode(code));
            // 0x7F is "negative zero": it decodes to 0, which encodes as positive zero.
            let want = if code == 0x7F { 0xFF } else { code };
            assert_eq!(again, want, "code {code:#04x}");
        }
    }

    #[test]
    fn every_alaw_code_round_trips() {
        for code in 0..=255u8 {
            assert_eq!(
                linear_to_alaw(Law::A.decode(code)),
                code,
                "code {code:#04x}"
            );
        }
    }

    #[test]
    fn quantisation_error_stays_within_half_a_step() {
        for (law, top) in [(Law::Mu, 32124), (Law::A, 32256)] {
            for x in i16::MIN..=i16::MAX {
                let (x, y) = (i32::from(x), i32::from(law.decode(law.encode(x))));
                if x.abs() >= top {
                    // Beyond the last reconstruction level the codec clips.
                    assert_eq!(y.abs(), top, "{law:?} {x}");
                    continue;
                }
                // Steps are 1/16 of a segment, so half a step is under 1/16 of the value;
                // the first segments have a fixed step of 8 (µ-law) or 16 (A-law).
                let half_step = (x.abs() / 16).max(8);
                assert!((x - y).abs() <= half_step, "{law:?} {x} -> {y}");
            }
        }
    }

    #[test]
    fn encoding_is_monotonic() {
        for law in [Law::Mu, Law::A] {
            let mut last = i16::MIN;
            for x in i16::MIN..=i16::MAX {
                let y = law.decode(law.encode(x));
                assert!(y >= last, "{law:?} not monotonic at {x}");
                last = y;
            }
        }
    }

    #[test]
    fn encoder_writes_160_bytes_per_frame() {
        let mut enc = G711Encoder::new(Law::Mu);
        let mut out = Vec::new();
        enc.encode(&Frame::SILENCE, &mut out);
        assert_eq!(out.len(), 160);
        assert!(out.iter().all(|&b| b == 0xFF));
    }

    #[test]
    fn decoder_doubles_the_sample_count_for_any_length() {
        let mut dec = G711Decoder::new(Law::A);
        let mut out = Vec::new();
        dec.decode(&[0xD5; 480], &mut out);
        assert_eq!(out.len(), 960);
        dec.decode(&[0xD5; 7], &mut out);
        assert_eq!(out.len(), 974);
    }
}
