//! In-band DTMF detection and tone generation on 16 kHz frames.
//!
//! The fallback for callers whose phones do not send RFC 4733 events. The detector runs the
//! Goertzel algorithm for the eight DTMF frequencies (ITU-T Q.23) over a 20 ms window that
//! slides by 4 ms. A window holds a digit when one row and one column tone each reach
//! −30 dBm0, the twist stays within 8 dB normal / 4 dB reverse, each tone beats the other
//! tones of its group by 6 dB, and the two tones carry at least 75 % of the window's energy
//! (speech and music spread their energy over many harmonics). Keys may be off frequency by
//! 1.5 % (ITU-T Q.24). A digit is reported once, when it has held for 7 windows in a row:
//! tones of 40 ms or more always qualify, 30 ms blips never do. The next press needs
//! 10 windows without it: gaps of 30 ms or more separate presses, shorter dropouts do not.

use std::f64::consts::PI;
use std::fmt;
use std::time::Duration;

use crate::media::frame::{Frame, SAMPLE_RATE};
use crate::media::prompt::Prompt;
use crate::rtp::dtmf::DtmfDigit;

/// Low-group (row) frequencies in Hz.
const ROWS: [f64; 4] = [697.0, 770.0, 852.0, 941.0];
/// High-group (column) frequencies in Hz.
const COLUMNS: [f64; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
const KEYPAD: [[char; 4]; 4] = [
    ['1', '2', '3', 'A'],
    ['4', '5', '6', 'B'],
    ['7', '8', '9', 'C'],
    ['*', '0', '#', 'D'],
];
/// Level of a full-scale sine: G.711's theoretical load capacity, +3.17 dBm0 for µ-law
/// (+3.14 for A-law; the 0.03 dB difference does not matter here).
const FULL_SCALE_DBM0: f64 = 3.17;

/// (row, column) frequencies of a key in Hz (ITU-T Q.23).
pub fn frequencies(digit: DtmfDigit) -> (f64, f64) {
    let (row, col) =
        keypad_position(digit.as_char()).expect("every DtmfDigit is one of the sixteen keys");
    (ROWS[row], COLUMNS[col])
}

fn keypad_position(c: char) -> Option<(usize, usize)> {
    KEYPAD
        .iter()
        .enumerate()
        .find_map(|(row, keys)| keys.iter().position(|&k| k == c).map(|col| (row, col)))
}

/// Peak amplitude (in 16-bit sample units) of a sine at `dbm0`.
pub fn dbm0_to_amplitude(dbm0: f64) -> f64 {
    32768.0 * 10f64.powf((dbm0 - FULL_SCALE_DBM0) / 20.0)
}

/// Analysis window: 20 ms.
const WINDOW: usize = 320;
/// Window advance: 4 ms, five analyses per frame.
const HOP: usize = 64;
/// Consecutive digit windows before a press is reported (≈ 40 ms of tone, see module doc).
const ON_WINDOWS: u32 = 7;
/// Consecutive windows without the digit before the next press can be reported.
const OFF_WINDOWS: u32 = 10;
/// Weakest tone accepted, per tone.
const MIN_TONE_DBM0: f64 = -30.0;
/// Row may be this much stronger than column (normal twist), in dB.
const NORMAL_TWIST_DB: f64 = 8.0;
/// Column may be this much stronger than row (reverse twist), in dB.
const REVERSE_TWIST_DB: f64 = 4.0;
/// Each tone must beat the rest of its group by this much, in dB.
const RELATIVE_PEAK_DB: f64 = 6.0;
/// Frequency deviation a key may have (ITU-T Q.24 accepts ±1.5 %).
const FREQUENCY_TOLERANCE: f64 = 0.015;
/// Share of the window's energy the two tones must carry.
const MIN_TONE_SHARE: f64 = 0.75;

fn db_to_power_ratio(db: f64) -> f64 {
    10f64.powf(db / 10.0)
}

/// In-band DTMF detector for one audio stream.
pub struct DtmfDetector {
    /// The newest `WINDOW` samples, oldest first.
    window: [f64; WINDOW],
    /// Goertzel coefficients 2·cos(2πf/fs): rows then columns.
    coefficients: [f64; 8],
    /// Goertzel power of a −30 dBm0 tone filling the window.
    min_power: f64,
    /// The digit the last windows agreed on, and for how many windows.
    candidate: Option<DtmfDigit>,
    candidate_windows: u32,
    /// The digit last reported, until it has been absent for `OFF_WINDOWS`.
    reported: Option<DtmfDigit>,
    absent_windows: u32,
}

impl DtmfDetector {
    pub fn new() -> DtmfDetector {
        let mut coefficients = [0.0; 8];
        for (c, f) in coefficients.iter_mut().zip(ROWS.iter().chain(&COLUMNS)) {
            *c = 2.0 * (2.0 * PI * f / f64::from(SAMPLE_RATE)).cos();
        }
        let amplitude = dbm0_to_amplitude(MIN_TONE_DBM0);
        DtmfDetector {
            window: [0.0; WINDOW],
            coefficients,
            min_power: (amplitude * WINDOW as f64 / 2.0).powi(2),
            candidate: None,
            candidate_windows: 0,
            reported: None,
            absent_windows: 0,
        }
    }

    /// Feeds 20 ms; returns a digit the moment a press qualifies (once per press).
    pub fn process(&mut self, frame: &Frame) -> Option<DtmfDigit> {
        let mut pressed = None;
        for hop in frame.samples().chunks(HOP) {
            self.window.copy_within(hop.len().., 0);
            for (slot, &s) in self.window[WINDOW - hop.len()..].iter_mut().zip(hop) {
                *slot = f64::from(s);
            }
            let seen = self.classify();
            if let Some(digit) = self.track(seen) {
                // At most one press fits in a frame (ON_WINDOWS + OFF_WINDOWS > 5 hops).
                pressed.get_or_insert(digit);
            }
        }
        pressed
    }

    /// Forgets any tone in progress (e.g. after the stream was interrupted).
    pub fn reset(&mut self) {
        *self = DtmfDetector::new();
    }

    /// Updates the on/off timing with one window's verdict.
    fn track(&mut self, seen: Option<DtmfDigit>) -> Option<DtmfDigit> {
        if seen.is_some() && seen == self.candidate {
            self.candidate_windows = self.candidate_windows.saturating_add(1);
        } else {
            self.candidate = seen;
            self.candidate_windows = u32::from(seen.is_some());
        }
        if self.reported.is_some() {
            if seen == self.reported {
                self.absent_windows = 0;
            } else {
                self.absent_windows += 1;
                if self.absent_windows >= OFF_WINDOWS {
                    self.reported = None;
                }
            }
        }
        if self.reported.is_none() && self.candidate_windows >= ON_WINDOWS {
            self.reported = self.candidate;
            self.absent_windows = 0;
            return self.candidate;
        }
        None
    }

    /// The digit the current window holds, if it passes every check.
    fn classify(&self) -> Option<DtmfDigit> {
        let energy: f64 = self.window.iter().map(|x| x * x).sum();
        if energy < self.min_power * 4.0 / WINDOW as f64 {
            return None;
        }
        let mut power = [0.0; 8];
        for (p, &c) in power.iter_mut().zip(&self.coefficients) {
            *p = goertzel(&self.window, c);
        }
        let (rows, columns) = power.split_at(4);
        let row = strongest(rows)?;
        let col = strongest(columns)?;
        // Keys may be off by 1.5 % (Q.24); measure the winners there too, so the level and
        // share checks do not lose a few dB to the window's narrow response.
        let row_power = self.power_near(ROWS[row], rows[row]);
        let col_power = self.power_near(COLUMNS[col], columns[col]);
        if row_power < self.min_power || col_power < self.min_power {
            return None;
        }
        if row_power > col_power * db_to_power_ratio(NORMAL_TWIST_DB)
            || col_power > row_power * db_to_power_ratio(REVERSE_TWIST_DB)
        {
            return None;
        }
        // Goertzel power of a sine filling the window is (A·N/2)²; its energy is N·A²/2.
        let share = 2.0 * (row_power + col_power) / (WINDOW as f64 * energy);
        if share < MIN_TONE_SHARE {
            return None;
        }
        DtmfDigit::from_char(KEYPAD[row][col])
    }
}

impl DtmfDetector {
    /// The larger of `nominal` (the power at `frequency`) and the power 1.5 % either side.
    fn power_near(&self, frequency: f64, nominal: f64) -> f64 {
        [1.0 - FREQUENCY_TOLERANCE, 1.0 + FREQUENCY_TOLERANCE]
            .iter()
            .map(|k| {
                let c = 2.0 * (2.0 * PI * frequency * k / f64::from(SAMPLE_RATE)).cos();
                goertzel(&self.window, c)
            })
            .fold(nominal, f64::max)
    }
}

impl Default for DtmfDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for DtmfDetector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DtmfDetector")
            .field("candidate", &self.candidate)
            .field("reported", &self.reported)
            .finish()
    }
}

/// Squared magnitude of the DFT of `x` at the frequency whose coefficient is `coefficient`.
fn goertzel(x: &[f64], coefficient: f64) -> f64 {
    let (mut s1, mut s2) = (0.0, 0.0);
    for &sample in x {
        let s = sample + coefficient * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    (s1 * s1 + s2 * s2 - coefficient * s1 * s2).max(0.0)
}

/// Index of the strongest of a group, if it beats every other by `RELATIVE_PEAK_DB`.
fn strongest(group: &[f64]) -> Option<usize> {
    let (best, &peak) = group.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1))?;
    let ratio = db_to_power_ratio(RELATIVE_PEAK_DB);
    let clear = group
        .iter()
        .enumerate()
        .all(|(i, &p)| i == best || p * ratio <= peak);
    clear.then_some(best)
}

/// Generates a DTMF digit or a beep as frames, phase-continuous across frames.
#[derive(Debug, Clone)]
pub struct ToneGenerator {
    /// Frequencies in Hz; a beep has only the first.
    frequencies: [f64; 2],
    tones: usize,
    /// Peak amplitude of each tone.
    amplitude: f64,
    on_samples: usize,
    total_samples: usize,
    /// Raised-cosine ramp length at each end of the tone (0 for DTMF).
    ramp_samples: usize,
    position: usize,
}

impl ToneGenerator {
    /// A key press: both tones at `dbm0` each for `on`, then silence for `off`.
    pub fn dtmf(digit: DtmfDigit, dbm0: f64, on: Duration, off: Duration) -> ToneGenerator {
        let (row, col) = frequencies(digit);
        let on_samples = samples_in(on);
        ToneGenerator {
            frequencies: [row, col],
            tones: 2,
            amplitude: dbm0_to_amplitude(dbm0),
            on_samples,
            total_samples: on_samples + samples_in(off),
            ramp_samples: 0,
            position: 0,
        }
    }

    /// A single tone with 5 ms soft edges, e.g. the beep before recording a message
    /// (`ToneGenerator::beep(1000.0, -10.0, Duration::from_millis(400))`).
    pub fn beep(frequency: f64, dbm0: f64, duration: Duration) -> ToneGenerator {
        let on_samples = samples_in(duration);
        ToneGenerator {
            frequencies: [frequency, 0.0],
            tones: 1,
            amplitude: dbm0_to_amplitude(dbm0),
            on_samples,
            total_samples: on_samples,
            ramp_samples: (samples_in(Duration::from_millis(5))).min(on_samples / 2),
            position: 0,
        }
    }

    /// Total length including any trailing silence.
    pub fn duration(&self) -> Duration {
        Duration::from_micros(self.total_samples as u64 * 1_000_000 / u64::from(SAMPLE_RATE))
    }

    /// The next 20 ms (the last one padded with silence), or `None` when done.
    pub fn next_frame(&mut self) -> Option<Frame> {
        if self.position >= self.total_samples {
            return None;
        }
        let mut frame = Frame::SILENCE;
        for slot in frame.samples_mut() {
            if self.position >= self.total_samples {
                break;
            }
            *slot = self.sample(self.position);
            self.position += 1;
        }
        Some(frame)
    }

    /// Renders the whole tone as a prompt for [`crate::media::player::Playback`].
    pub fn into_prompt(self) -> Prompt {
        let samples: Vec<i16> = (0..self.total_samples).map(|n| self.sample(n)).collect();
        Prompt::from_samples(&samples)
    }

    fn sample(&self, n: usize) -> i16 {
        if n >= self.on_samples {
            return 0;
        }
        let t = n as f64 / f64::from(SAMPLE_RATE);
        let sum: f64 = self.frequencies[..self.tones]
            .iter()
            .map(|f| (2.0 * PI * f * t).sin())
            .sum();
        let edge = n.min(self.on_samples - 1 - n);
        let envelope = if edge < self.ramp_samples {
            0.5 - 0.5 * (PI * edge as f64 / self.ramp_samples as f64).cos()
        } else {
            1.0
        };
        // `as` saturates if two loud tones add past full scale.
        (self.amplitude * envelope * sum).round() as i16
    }
}

impl Iterator for ToneGenerator {
    type Item = Frame;

    fn next(&mut self) -> Option<Frame> {
        self.next_frame()
    }
}

fn samples_in(d: Duration) -> usize {
    (d.as_micros() * u128::from(SAMPLE_RATE) / 1_000_000).min(usize::MAX as u128) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::frame::FRAME_SAMPLES;

    /// Deterministic white noise (xorshift, sum of four uniforms ≈ Gaussian).
    struct Noise(u64);

    impl Noise {
        fn uniform(&mut self) -> f64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        }

        /// A sample with the power of a sine at `dbm0`.
        fn sample(&mut self, dbm0: f64) -> f64 {
            let rms = dbm0_to_amplitude(dbm0) / 2f64.sqrt();
            // Four uniforms on ±0.5 have variance 4/12.
            let g: f64 = (0..4).map(|_| self.uniform()).sum::<f64>() / (4.0f64 / 12.0).sqrt();
            g * rms
        }
    }

    fn dtmf(digit: char, dbm0: f64, on_ms: u64, off_ms: u64) -> Vec<f64> {
        let digit = DtmfDigit::from_char(digit).unwrap();
        let tone = ToneGenerator::dtmf(
            digit,
            dbm0,
            Duration::from_millis(on_ms),
            Duration::from_millis(off_ms),
        );
        (0..tone.total_samples)
            .map(|n| f64::from(tone.sample(n)))
            .collect()
    }

    fn two_tones(row: f64, row_dbm0: f64, col: f64, col_dbm0: f64, ms: usize) -> Vec<f64> {
        let (a, b) = (dbm0_to_amplitude(row_dbm0), dbm0_to_amplitude(col_dbm0));
        (0..ms * 16)
            .map(|n| {
                let t = n as f64 / 16000.0;
                a * (2.0 * PI * row * t).sin() + b * (2.0 * PI * col * t).sin()
            })
            .collect()
    }

    fn silence(ms: usize) -> Vec<f64> {
        vec![0.0; ms * 16]
    }

    /// Runs the detector over `signal` (padded to whole frames) and returns the digits.
    fn detect(signal: &[f64]) -> String {
        let mut detector = DtmfDetector::new();
        let mut digits = String::new();
        for chunk in signal.chunks(FRAME_SAMPLES) {
            let mut frame = Frame::SILENCE;
            for (slot, &x) in frame.samples_mut().iter_mut().zip(chunk) {
                *slot = x.round() as i16;
            }
            if let Some(d) = detector.process(&frame) {
                digits.push(d.as_char());
            }
        }
        digits
    }

    const ALL_KEYS: &str = "0123456789*#ABCD";

    #[test]
    fn all_sixteen_digits_are_detected() {
        let mut signal = silence(100);
        for key in ALL_KEYS.chars() {
            signal.extend(dtmf(key, -10.0, 60, 60));
        }
        assert_eq!(detect(&signal), ALL_KEYS);
    }

    #[test]
    fn quiet_digits_in_white_noise_are_detected() {
        let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
        let mut signal = silence(100);
        for key in ALL_KEYS.chars() {
            signal.extend(dtmf(key, -20.0, 70, 70));
        }
        for x in &mut signal {
            *x += noise.sample(-35.0);
        }
        assert_eq!(detect(&signal), ALL_KEYS);
    }

    #[test]
    fn noise_silence_and_speech_give_no_digits() {
        let mut noise = Noise(42);
        let loud_noise: Vec<f64> = (0..16000 * 5).map(|_| noise.sample(-10.0)).collect();
        assert_eq!(detect(&loud_noise), "");
        assert_eq!(detect(&silence(5000)), "");
        assert_eq!(detect(&speech_like(5.0)), "");
    }

    /// Voiced-speech stand-in: harmonics (falling 1/k) of a fundamental gliding between 120
    /// and 200 Hz, with a 4 Hz syllable envelope, around −10 dBm0.
    fn speech_like(seconds: f64) -> Vec<f64> {
        let n = (16000.0 * seconds) as usize;
        let mut phase = 0.0;
        let amplitude = dbm0_to_amplitude(-10.0);
        (0..n)
            .map(|i| {
                let t = i as f64 / 16000.0;
                let f0 = 160.0 + 40.0 * (2.0 * PI * 0.7 * t).sin();
                phase += 2.0 * PI * f0 / 16000.0;
                let harmonics = (3800.0 / f0) as usize;
                let voiced: f64 = (1..=harmonics)
                    .map(|k| (k as f64 * phase).sin() / k as f64)
                    .sum();
                let syllable = 0.6 + 0.4 * (2.0 * PI * 4.0 * t).sin();
                amplitude * 0.5 * syllable * voiced
            })
            .collect()
    }

    #[test]
    fn a_30ms_blip_is_not_a_digit_at_any_alignment() {
        for offset in (0..FRAME_SAMPLES).step_by(16) {
            let mut signal = vec![0.0; offset];
            signal.extend(dtmf('5', -10.0, 30, 200));
            assert_eq!(detect(&signal), "", "offset {offset}");
        }
    }

    #[test]
    fn a_40ms_tone_is_a_digit_at_any_alignment() {
        for offset in (0..FRAME_SAMPLES).step_by(16) {
            let mut signal = vec![0.0; offset];
            signal.extend(dtmf('9', -10.0, 40, 200));
            assert_eq!(detect(&signal), "9", "offset {offset}");
        }
    }

    #[test]
    fn each_press_is_reported_once() {
        // A long press.
        assert_eq!(detect(&dtmf('7', -10.0, 1500, 100)), "7");
        // Two presses with a 40 ms gap are two digits.
        let mut signal = dtmf('3', -10.0, 60, 40);
        signal.extend(dtmf('3', -10.0, 60, 100));
        assert_eq!(detect(&signal), "33");
        // A 15 ms dropout inside one press is not a new press.
        let mut signal = dtmf('3', -10.0, 60, 15);
        signal.extend(dtmf('3', -10.0, 60, 100));
        assert_eq!(detect(&signal), "3");
    }

    #[test]
    fn twist_limits() {
        let (row, col) = (770.0, 1336.0);
        let with = |row_db, col_db| {
            let mut s = two_tones(row, row_db, col, col_db, 80);
            s.extend(silence(100));
            detect(&s)
        };
        assert_eq!(with(-10.0, -16.0), "5", "6 dB normal twist is fine");
        assert_eq!(with(-10.0, -20.0), "", "10 dB normal twist is too much");
        assert_eq!(with(-13.0, -10.0), "5", "3 dB reverse twist is fine");
        assert_eq!(with(-16.0, -10.0), "", "6 dB reverse twist is too much");
    }

    #[test]
    fn a_single_tone_or_a_weak_pair_is_not_a_digit() {
        let mut single = two_tones(941.0, -10.0, 1336.0, -80.0, 200);
        single.extend(silence(100));
        assert_eq!(detect(&single), "");
        let mut weak = two_tones(941.0, -40.0, 1336.0, -40.0, 200);
        weak.extend(silence(100));
        assert_eq!(detect(&weak), "");
    }

    #[test]
    fn digit_codes_and_characters() {
        for (code, digit) in DtmfDigit::ALL.iter().enumerate() {
            assert_eq!(usize::from(digit.event()), code);
            assert_eq!(DtmfDigit::from_event(code as u8), Some(*digit));
            assert_eq!(DtmfDigit::from_char(digit.as_char()), Some(*digit));
        }
        assert_eq!(DtmfDigit::from_char('b'), DtmfDigit::from_char('B'));
        assert_eq!(DtmfDigit::from_char('x'), None);
        assert_eq!(DtmfDigit::from_event(16), None);
        assert_eq!(
            frequencies(DtmfDigit::from_char('#').unwrap()),
            (941.0, 1477.0)
        );
        assert_eq!(DtmfDigit::from_char('#').unwrap().to_string(), "#");
    }

    #[test]
    fn beep_has_soft_edges_and_its_length() {
        let beep = ToneGenerator::beep(1000.0, -10.0, Duration::from_millis(410));
        assert_eq!(beep.duration(), Duration::from_millis(410));
        let frames: Vec<Frame> = beep.clone().collect();
        assert_eq!(frames.len(), 21, "410 ms is 20.5 frames");
        let samples: Vec<i16> = frames.iter().flat_map(|f| f.0).collect();
        assert_eq!(samples[0], 0);
        assert!(samples[1].abs() < 50, "starts softly");
        assert!(
            samples[410 * 16..].iter().all(|&s| s == 0),
            "padding is silence"
        );
        let peak = samples.iter().map(|s| s.unsigned_abs()).max().unwrap();
        let want = dbm0_to_amplitude(-10.0);
        assert!(
            (f64::from(peak) - want).abs() < want * 0.01,
            "peak {peak}, want {want:.0}"
        );
        let prompt = beep.into_prompt();
        assert_eq!(prompt.frames(), &frames[..]);
    }

    #[test]
    fn generated_frames_are_phase_continuous() {
        let tone = ToneGenerator::dtmf(
            DtmfDigit::from_char('1').unwrap(),
            -10.0,
            Duration::from_millis(100),
            Duration::ZERO,
        );
        let whole = dtmf('1', -10.0, 100, 0);
        let framed: Vec<f64> = tone.flat_map(|f| f.0).map(f64::from).collect();
        assert_eq!(&framed[..whole.len()], &whole[..]);
    }

    /// Vowels through a four-formant vocal tract (F1/F2 near DTMF rows and columns, the
    /// classic talk-off case), with a -6 dB/octave source and gliding pitch.
    fn vowel(f1: f64, f2: f64, f0_low: f64, f0_high: f64, seconds: f64) -> Vec<f64> {
        let resonance = |fc: f64, bw: f64, f: f64| {
            fc * fc / ((fc * fc - f * f).powi(2) + (f * bw).powi(2)).sqrt()
        };
        let mut phase = 0.0;
        (0..(16000.0 * seconds) as usize)
            .map(|i| {
                let t = i as f64 / 16000.0;
                let f0 = f0_low + (f0_high - f0_low) * (0.5 + 0.5 * (2.0 * PI * 0.3 * t).sin());
                phase += 2.0 * PI * f0 / 16000.0;
                let voiced: f64 = (1..=(3800.0 / f0) as usize)
                    .map(|k| {
                        let f = k as f64 * f0;
                        let gain = resonance(f1, 80.0, f)
                            * resonance(f2, 100.0, f)
                            * resonance(2500.0, 120.0, f)
                            * resonance(3500.0, 150.0, f);
                        (k as f64 * phase).sin() * gain / k as f64
                    })
                    .sum();
                200.0 * voiced
            })
            .collect()
    }

    #[test]
    fn vowels_with_formants_on_dtmf_frequencies_give_no_digits() {
        for (f1, f2) in [
            (730.0, 1090.0),
            (700.0, 1250.0),
            (850.0, 1400.0),
            (640.0, 1190.0),
        ] {
            for (low, high) in [(100.0, 160.0), (180.0, 300.0)] {
                let signal = vowel(f1, f2, low, high, 3.0);
                assert_eq!(detect(&signal), "", "vowel {f1}/{f2} at {low}-{high} Hz");
            }
        }
    }

    #[test]
    fn keys_off_by_1_5_percent_are_accepted_and_3_5_percent_rejected() {
        for (deviation, want) in [(0.015, "C"), (-0.015, "C"), (0.035, ""), (-0.035, "")] {
            let k = 1.0 + deviation;
            let mut s = two_tones(852.0 * k, -10.0, 1633.0 * k, -10.0, 80);
            s.extend(silence(100));
            assert_eq!(detect(&s), want, "deviation {deviation}");
        }
    }

    #[test]
    fn forty_ms_digits_in_noise() {
        let mut noise = Noise(7);
        let mut signal = silence(100);
        for key in ALL_KEYS.chars() {
            signal.extend(dtmf(key, -20.0, 40, 50));
        }
        for x in &mut signal {
            *x += noise.sample(-32.0);
        }
        assert_eq!(detect(&signal), ALL_KEYS);
    }
}
