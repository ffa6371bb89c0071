//! Number formats of ggml weight files: IEEE half floats and Q8_0 blocks.
//!
//! Q8_0 is ggml's `block_q8_0`: one f16 scale `d` followed by 32 signed bytes, value = `d * q`.
//! The quantiser mirrors `quantize_row_q8_0_ref` in ggml-quants.c bit for bit (scale from the
//! block's largest magnitude, `roundf` on `x / d`), so a file we write equals what whisper.cpp's
//! own `quantize` tool would write.

/// Values per Q8_0 block.
pub const Q8_0_BLOCK: usize = 32;
/// Bytes per Q8_0 block: an f16 scale and 32 quants.
pub const Q8_0_BLOCK_BYTES: usize = 2 + Q8_0_BLOCK;

/// The weight encoding of an output ggml file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quant {
    /// Matrices and convolutions in IEEE half floats (whisper.cpp's default `ggml-<name>.bin`).
    F16,
    /// Matrices in Q8_0 blocks, convolutions in f16 (`ggml-<name>-q8_0.bin`).
    Q8_0,
}

impl Quant {
    /// The suffix used in file names and on the command line (`f16`, `q8_0`).
    pub fn label(self) -> &'static str {
        match self {
            Quant::F16 => "f16",
            Quant::Q8_0 => "q8_0",
        }
    }

    /// Parses the command-line spelling (`f16`, `q8_0`, also `q8`).
    pub fn parse(text: &str) -> Option<Quant> {
        match text.to_ascii_lowercase().as_str() {
            "f16" => Some(Quant::F16),
            "q8_0" | "q8" => Some(Quant::Q8_0),
            _ => None,
        }
    }
}

/// Converts an f32 to IEEE 754 half-precision bits, rounding to nearest even (as F16C does).
pub fn f32_to_f16(value: f32) -> u16 {
    let bits = value.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exp = ((bits >> 23) & 0xff) as i32;
    let mantissa = bits & 0x007f_ffff;

    if exp == 0xff {
        // Infinity stays infinity; NaN keeps a quiet bit so it stays NaN.
        let nan_bit = if mantissa != 0 { 0x0200 } else { 0 };
        return sign | 0x7c00 | nan_bit | (mantissa >> 13) as u16;
    }
    let half_exp = exp - 127 + 15;
    if half_exp >= 0x1f {
        return sign | 0x7c00;
    }
    if half_exp <= 0 {
        // Subnormal half (or zero): shift the mantissa with its implicit bit into place.
        if half_exp < -10 {
            return sign;
        }
        let full = mantissa | 0x0080_0000;
        let shift = (14 - half_exp) as u32;
        let half = full >> shift;
        let rest = full & ((1 << shift) - 1);
        let halfway = 1 << (shift - 1);
        let round_up = rest > halfway || (rest == halfway && half & 1 == 1);
        return sign | (half + u32::from(round_up)) as u16;
    }
    let half = ((half_exp as u32) << 10) | (mantissa >> 13);
    let rest = mantissa & 0x1fff;
    let round_up = rest > 0x1000 || (rest == 0x1000 && half & 1 == 1);
    // A carry out of the mantissa correctly bumps the exponent (up to infinity).
    sign | (half + u32::from(round_up)) as u16
}

/// Converts IEEE 754 half-precision bits to an f32 (exact).
pub fn f16_to_f32(half: u16) -> f32 {
    let sign = u32::from(half & 0x8000) << 16;
    let exp = u32::from((half >> 10) & 0x1f);
    let mantissa = u32::from(half & 0x03ff);
    let bits = match (exp, mantissa) {
        (0, 0) => sign,
        (0, _) => {
            // Subnormal: normalise it.
            let mut e: i32 = -14;
            let mut m = mantissa;
            while m & 0x0400 == 0 {
                m <<= 1;
                e -= 1;
            }
            sign | (((e + 127) as u32) << 23) | ((m & 0x03ff) << 13)
        }
        (0x1f, _) => sign | 0x7f80_0000 | (mantissa << 13),
        _ => sign | ((exp + 127 - 15) << 23) | (mantissa << 13),
    };
    f32::from_bits(bits)
}

/// Converts bfloat16 bits to an f32 (exact).
pub fn bf16_to_f32(value: u16) -> f32 {
    f32::from_bits(u32::from(value) << 16)
}

/// Appends `values` as little-endian f16 to `out`.
pub fn push_f16(values: &[f32], out: &mut Vec<u8>) {
    out.reserve(values.len() * 2);
    for &v in values {
        out.extend_from_slice(&f32_to_f16(v).to_le_bytes());
    }
}

/// Appends `values` as little-endian f32 to `out`.
pub fn push_f32(values: &[f32], out: &mut Vec<u8>) {
    out.reserve(values.len() * 4);
    for &v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// Appends `values` as Q8_0 blocks to `out`. `values.len()` must be a multiple of 32 (the
/// converter checks each row length before calling).
pub fn push_q8_0(values: &[f32], out: &mut Vec<u8>) {
    debug_assert_eq!(values.len() % Q8_0_BLOCK, 0, "Q8_0 rows are whole blocks");
    out.reserve(values.len() / Q8_0_BLOCK * Q8_0_BLOCK_BYTES);
    for block in values.chunks_exact(Q8_0_BLOCK) {
        let amax = block.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        out.extend_from_slice(&f32_to_f16(d).to_le_bytes());
        for &v in block {
            // `as i8` saturates; |v * id| <= 127 up to rounding, so nothing is clipped.
            out.push((v * id).round() as i8 as u8);
        }
    }
}

/// Decodes Q8_0 blocks back to f32 (used by tests and by the round-trip check).
pub fn q8_0_to_f32(blocks: &[u8]) -> Vec<f32> {
    let mut out = Vec::with_capacity(blocks.len() / Q8_0_BLOCK_BYTES * Q8_0_BLOCK);
    for block in blocks.chunks_exact(Q8_0_BLOCK_BYTES) {
        let d = f16_to_f32(u16::from_le_bytes([block[0], block[1]]));
        out.extend(block[2..].iter().map(|&q| d * f32::from(q as i8)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn f16_known_values() {
        assert_eq!(f32_to_f16(0.0), 0x0000);
        assert_eq!(f32_to_f16(-0.0), 0x8000);
        assert_eq!(f32_to_f16(1.0), 0x3c00);
        assert_eq!(f32_to_f16(-2.0), 0xc000);
        assert_eq!(f32_to_f16(65504.0), 0x7bff);
        assert_eq!(f32_to_f16(65520.0), 0x7c00, "rounds up to infinity");
        assert_eq!(f32_to_f16(f32::INFINITY), 0x7c00);
        assert_eq!(f32_to_f16(5.960_464_5e-8), 0x0001, "smallest subnormal");
        assert_eq!(f32_to_f16(6.103_515_6e-5), 0x0400, "smallest normal");
        assert!(f16_to_f32(f32_to_f16(f32::NAN)).is_nan());
        // 1 + 2^-11 is exactly half-way between 1.0 and the next half: ties go to even.
        assert_eq!(f32_to_f16(1.0 + 1.0 / 2048.0), 0x3c00);
        assert_eq!(f32_to_f16(1.0 + 3.0 / 2048.0), 0x3c02);
    }

    #[test]
    fn f16_round_trips_every_finite_half() {
        for bits in 0u16..=u16::MAX {
            let f = f16_to_f32(bits);
            if f.is_nan() {
                continue;
            }
            assert_eq!(f32_to_f16(f), bits, "half {bits:#06x} -> {f}");
        }
    }

    #[test]
    fn q8_0_block_layout_matches_ggml() {
        let mut values = [0.0f32; 32];
        values[0] = 1.27;
        values[1] = -0.635;
        values[31] = 0.01;
        let mut out = Vec::new();
        push_q8_0(&values, &mut out);
        assert_eq!(out.len(), Q8_0_BLOCK_BYTES);
        let d = f16_to_f32(u16::from_le_bytes([out[0], out[1]]));
        assert!((d - 0.01).abs() < 1e-5, "scale {d}");
        assert_eq!(out[2] as i8, 127);
        assert_eq!(out[3] as i8, -64, "-63.5 rounds away from zero");
        assert_eq!(out[33] as i8, 1);
    }

    #[test]
    fn q8_0_zero_block_is_all_zero() {
        let mut out = Vec::new();
        push_q8_0(&[0.0; 32], &mut out);
        assert!(out.iter().all(|&b| b == 0));
    }

    proptest! {
        #[test]
        fn q8_0_round_trip_error_is_within_half_a_step(
            values in proptest::collection::vec(-100.0f32..100.0, 32..=128)
        ) {
            let n = values.len() / 32 * 32;
            let values = &values[..n];
            let mut out = Vec::new();
            push_q8_0(values, &mut out);
            prop_assert_eq!(out.len(), n / 32 * Q8_0_BLOCK_BYTES);
            let back = q8_0_to_f32(&out);
            for (block, restored) in values.chunks(32).zip(back.chunks(32)) {
                let amax = block.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                // Half a quantisation step, plus the f16 rounding of the scale.
                let tolerance = amax / 127.0 * 0.5 + amax * 1e-3 + 1e-6;
                for (a, b) in block.iter().zip(restored) {
                    prop_assert!((a - b).abs() <= tolerance, "{} vs {} (tol {})", a, b, tolerance);
                }
            }
        }

        #[test]
        fn f16_conversion_is_within_half_an_ulp(value in -60000.0f32..60000.0) {
            let back = f16_to_f32(f32_to_f16(value));
            let ulp = if value.abs() < 6.1e-5 { 5.97e-8 } else { value.abs() / 1024.0 };
            prop_assert!((back - value).abs() <= ulp * 0.5 + f32::EPSILON);
        }
    }
}
