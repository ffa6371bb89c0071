//! Streaming 2:1 resampling between 8 kHz (G.711) and 16 kHz (kefu's frames).
//!
//! One 47-tap half-band FIR (Kaiser window, β = 6) serves both directions: it cuts at 4 kHz,
//! passes 0–3.4 kHz flat and rejects > 4.6 kHz by about 60 dB. Half of its taps are zero,
//! and in the upsampler the phase holding the centre tap is a pure delay. The filters keep
//! their history across calls, so a stream cut into 20 ms frames comes out exactly as if it
//! had been filtered in one piece: no clicks at frame edges. Nothing allocates after `new`.
//! Delay: 23 samples at 16 kHz (1.44 ms) each way.

/// Length of the half-band filter.
const TAPS: usize = 47;
/// Kaiser window shape: about 60 dB stop-band rejection.
const KAISER_BETA: f64 = 6.0;

/// Half-band low-pass coefficients, normalised to unit DC gain.
fn half_band() -> [f32; TAPS] {
    let centre = (TAPS / 2) as f64;
    let mut taps = [0f64; TAPS];
    for (n, tap) in taps.iter_mut().enumerate() {
        let offset = n as f64 - centre;
        let sinc = if offset == 0.0 {
            0.5
        } else {
            (std::f64::consts::FRAC_PI_2 * offset).sin() / (std::f64::consts::PI * offset)
        };
        let ratio = offset / centre;
        let window = bessel_i0(KAISER_BETA * (1.0 - ratio * ratio).sqrt()) / bessel_i0(KAISER_BETA);
        *tap = sinc * window;
    }
    let sum: f64 = taps.iter().sum();
    taps.map(|t| (t / sum) as f32)
}

/// Modified Bessel function of the first kind, order 0 (power series; converges fast for
/// the small arguments a Kaiser window uses).
fn bessel_i0(x: f64) -> f64 {
    let mut sum = 1.0;
    let mut term = 1.0;
    let half = x / 2.0;
    for k in 1..50 {
        term *= (half / k as f64) * (half / k as f64);
        sum += term;
        if term < sum * 1e-12 {
            break;
        }
    }
    sum
}

/// The last `TAPS` input samples, newest first, stored twice so the window is always one
/// contiguous slice.
struct History {
    samples: [f32; 2 * TAPS],
    newest: usize,
}

impl History {
    fn new() -> Self {
        History {
            samples: [0.0; 2 * TAPS],
            newest: 0,
        }
    }

    fn push(&mut self, x: f32) {
        self.newest = if self.newest == 0 {
            TAPS - 1
        } else {
            self.newest - 1
        };
        self.samples[self.newest] = x;
        self.samples[self.newest + TAPS] = x;
    }

    /// `window()[k]` is the input `k` samples ago.
    fn window(&self) -> &[f32] {
        &self.samples[self.newest..self.newest + TAPS]
    }
}

fn to_i16(x: f32) -> i16 {
    // `as` saturates, so overshoot from the filter's ripple cannot wrap.
    x.round() as i16
}

/// 16 kHz -> 8 kHz: low-pass, then keep every second sample.
pub struct Downsampler {
    taps: [f32; TAPS],
    history: History,
    /// True when the next input sample completes an output (odd position).
    odd: bool,
}

impl Downsampler {
    pub fn new() -> Self {
        Downsampler {
            taps: half_band(),
            history: History::new(),
            odd: false,
        }
    }

    /// Filters `input` and writes one output per two inputs to the front of `out`; returns
    /// how many were written. `out` must hold `(input.len() + 1) / 2` samples; outputs that
    /// do not fit are dropped.
    pub fn process(&mut self, input: &[i16], out: &mut [i16]) -> usize {
        let mut written = 0;
        for &x in input {
            self.history.push(f32::from(x));
            if self.odd {
                let y: f32 = self
                    .taps
                    .iter()
                    .zip(self.history.window())
                    .map(|(h, x)| h * x)
                    .sum();
                if let Some(slot) = out.get_mut(written) {
                    *slot = to_i16(y);
                    written += 1;
                }
            }
            self.odd = !self.odd;
        }
        written
    }
}

impl Default for Downsampler {
    fn default() -> Self {
        Self::new()
    }
}

/// 8 kHz -> 16 kHz: zero-stuff, then low-pass with gain 2 (done as two polyphase branches).
pub struct Upsampler {
    /// Even taps × 2 (branch producing the samples between the inputs).
    even: [f32; TAPS / 2 + 1],
    /// Odd taps × 2.
    odd: [f32; TAPS / 2],
    history: History,
}

impl Upsampler {
    pub fn new() -> Self {
        let taps = half_band();
        let mut even = [0.0; TAPS / 2 + 1];
        let mut odd = [0.0; TAPS / 2];
        for (k, &h) in taps.iter().enumerate() {
            if k % 2 == 0 {
                even[k / 2] = 2.0 * h;
            } else {
                odd[k / 2] = 2.0 * h;
            }
        }
        Upsampler {
            even,
            odd,
            history: History::new(),
        }
    }

    /// Appends `2 × input.len()` samples to `out` (no allocation if `out` has the capacity).
    pub fn process(&mut self, input: &[i16], out: &mut Vec<i16>) {
        for &x in input {
            self.history.push(f32::from(x));
            let window = self.history.window();
            let even: f32 = self.even.iter().zip(window).map(|(h, x)| h * x).sum();
            let odd: f32 = self.odd.iter().zip(window).map(|(h, x)| h * x).sum();
            out.push(to_i16(even));
            out.push(to_i16(odd));
        }
    }
}

impl Default for Upsampler {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f64, rate: f64, amplitude: f64, len: usize) -> Vec<i16> {
        (0..len)
            .map(|n| {
                (amplitude * (2.0 * std::f64::consts::PI * freq * n as f64 / rate).sin()) as i16
            })
            .collect()
    }

    fn rms(x: &[i16]) -> f64 {
        (x.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
    }

    /// Amplitude of `freq` in `x` (single-bin DFT).
    fn amplitude_at(x: &[i16], freq: f64, rate: f64) -> f64 {
        let (mut re, mut im) = (0.0, 0.0);
        for (n, &s) in x.iter().enumerate() {
            let phase = 2.0 * std::f64::consts::PI * freq * n as f64 / rate;
            re += f64::from(s) * phase.cos();
            im += f64::from(s) * phase.sin();
        }
        2.0 * (re * re + im * im).sqrt() / x.len() as f64
    }

    fn db(ratio: f64) -> f64 {
        20.0 * ratio.log10()
    }

    fn downsample_in_frames(input: &[i16]) -> Vec<i16> {
        let mut down = Downsampler::new();
        let mut out = Vec::new();
        for frame in input.chunks(320) {
            let mut buf = [0i16; 160];
            let n = down.process(frame, &mut buf);
            out.extend_from_slice(&buf[..n]);
        }
        out
    }

    #[test]
    fn filter_is_half_band_with_unit_gain() {
        let taps = half_band();
        assert!((taps.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!((taps[TAPS / 2] - 0.5).abs() < 1e-3);
        for (k, &t) in taps.iter().enumerate() {
            let offset = k as i32 - (TAPS / 2) as i32;
            if offset != 0 && offset % 2 == 0 {
                assert!(t.abs() < 1e-9, "tap {k} should be zero");
            }
        }
    }

    #[test]
    fn downsampling_keeps_1khz_within_1db() {
        let input = tone(1000.0, 16000.0, 10000.0, 16000);
        let out = downsample_in_frames(&input);
        assert_eq!(out.len(), 8000);
        let gain = rms(&out[100..]) / rms(&input[200..]);
        assert!(db(gain).abs() < 1.0, "1 kHz gain {:.2} dB", db(gain));
    }

    #[test]
    fn downsampling_rejects_6khz_by_more_than_30db() {
        let input = tone(6000.0, 16000.0, 10000.0, 16000);
        let out = downsample_in_frames(&input);
        let gain = rms(&out[100..]) / rms(&input[200..]);
        assert!(db(gain) < -30.0, "6 kHz gain {:.2} dB", db(gain));
    }

    #[test]
    fn downsampling_passes_3khz_and_rejects_5khz() {
        for (freq, check) in [(3000.0, -1.0), (5000.0, -40.0)] {
            let out = downsample_in_frames(&tone(freq, 16000.0, 10000.0, 16000));
            let gain = db(rms(&out[100..]) / (10000.0 / 2f64.sqrt()));
            if check < -10.0 {
                assert!(gain < check, "{freq} Hz: {gain:.2} dB");
            } else {
                assert!(gain > check, "{freq} Hz: {gain:.2} dB");
            }
        }
    }

    #[test]
    fn upsampling_keeps_1khz_and_suppresses_its_image() {
        let input = tone(1000.0, 8000.0, 10000.0, 8000);
        let mut up = Upsampler::new();
        let mut out = Vec::new();
        for frame in input.chunks(160) {
            up.process(frame, &mut out);
        }
        assert_eq!(out.len(), 16000);
        let settled = &out[200..];
        let gain = amplitude_at(settled, 1000.0, 16000.0) / 10000.0;
        assert!(db(gain).abs() < 1.0, "1 kHz gain {:.2} dB", db(gain));
        // Zero-stuffing mirrors 1 kHz to 7 kHz; the filter must remove it.
        let image = amplitude_at(settled, 7000.0, 16000.0) / 10000.0;
        assert!(db(image) < -40.0, "7 kHz image {:.2} dB", db(image));
    }

    #[test]
    fn frame_edges_are_seamless() {
        // Filtering frame by frame must equal filtering the whole signal at once.
        let input = tone(440.0, 16000.0, 20000.0, 3200);
        let framed = downsample_in_frames(&input);
        let mut whole = vec![0i16; 1600];
        Downsampler::new().process(&input, &mut whole);
        assert_eq!(framed, whole);

        let narrow = tone(440.0, 8000.0, 20000.0, 1600);
        let mut framed = Vec::new();
        let mut up = Upsampler::new();
        for chunk in narrow.chunks(160) {
            up.process(chunk, &mut framed);
        }
        let mut whole = Vec::new();
        Upsampler::new().process(&narrow, &mut whole);
        assert_eq!(framed, whole);
    }

    #[test]
    fn odd_chunk_lengths_keep_the_phase() {
        let input = tone(700.0, 16000.0, 12000.0, 999);
        let mut whole = vec![0i16; 500];
        let n_whole = Downsampler::new().process(&input, &mut whole);
        let mut down = Downsampler::new();
        let mut pieces = Vec::new();
        for chunk in input.chunks(37) {
            let mut buf = [0i16; 19];
            let n = down.process(chunk, &mut buf);
            pieces.extend_from_slice(&buf[..n]);
        }
        assert_eq!(pieces, whole[..n_whole]);
    }

    #[test]
    fn overshoot_saturates_instead_of_wrapping() {
        assert_eq!(to_i16(40000.0), i16::MAX);
        assert_eq!(to_i16(-40000.0), i16::MIN);
        assert_eq!(to_i16(-0.4), 0);
        assert_eq!(to_i16(1.5), 2);
    }
}
