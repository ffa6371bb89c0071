//! flite (CMU Flite 2.2, Debian `libflite1`) linked in: a sentence in tens of milliseconds, no
//! process, no file. Voices: `slt`, `kal16`, `awb`, `rms` (16 kHz) and `kal` (8 kHz diphones).
//!
//! flite keeps per-voice state that is not safe to share between threads, so each voice is
//! registered once and used under its own lock; different voices synthesise in parallel.

use std::ffi::{CString, c_char, c_int, c_short, c_void};
use std::sync::{Mutex, Once, OnceLock};

use crate::speech::tts::TtsError;
use crate::speech::tts::engine::{Audio, Engine, ascii_words};

#[repr(C)]
struct CstWave {
    kind: *const c_char,
    sample_rate: c_int,
    num_samples: c_int,
    num_channels: c_int,
    samples: *mut c_short,
}

#[repr(C)]
struct CstVoice {
    name: *const c_char,
    features: *mut c_void,
    ffunctions: *mut c_void,
    utt_init: *mut c_void,
}

#[link(name = "flite")]
unsafe extern "C" {
    fn flite_init() -> c_int;
    fn flite_text_to_wave(text: *const c_char, voice: *mut CstVoice) -> *mut CstWave;
    fn flite_feat_set_float(features: *mut c_void, name: *const c_char, value: f32);
    fn delete_wave(wave: *mut CstWave);
}

#[link(name = "flite_cmu_us_slt")]
unsafe extern "C" {
    fn register_cmu_us_slt(voxdir: *const c_char) -> *mut CstVoice;
}
#[link(name = "flite_cmu_us_kal16")]
unsafe extern "C" {
    fn register_cmu_us_kal16(voxdir: *const c_char) -> *mut CstVoice;
}
#[link(name = "flite_cmu_us_awb")]
unsafe extern "C" {
    fn register_cmu_us_awb(voxdir: *const c_char) -> *mut CstVoice;
}
#[link(name = "flite_cmu_us_rms")]
unsafe extern "C" {
    fn register_cmu_us_rms(voxdir: *const c_char) -> *mut CstVoice;
}
#[link(name = "flite_cmu_us_kal")]
unsafe extern "C" {
    fn register_cmu_us_kal(voxdir: *const c_char) -> *mut CstVoice;
}

/// The voices compiled into Debian's libflite, by the names flite's own `-voice` flag uses.
pub const VOICES: [&str; 5] = ["slt", "kal16", "awb", "rms", "kal"];

/// A registered voice; only touched under its lock.
struct Voice(*mut CstVoice);

// SAFETY: the voice is created once and then used only while its mutex is held, so flite never
// sees two threads in the same voice.
unsafe impl Send for Voice {}

/// The flite engine: voices registered on first use.
#[derive(Default)]
pub struct Flite {
    voices: [OnceLock<Option<Mutex<Voice>>>; 5],
}

impl Flite {
    pub fn new() -> Flite {
        Flite::default()
    }

    fn voice(&self, name: &str) -> Result<&Mutex<Voice>, TtsError> {
        let unknown = || TtsError::UnknownEngineVoice {
            engine: "flite",
            voice: name.to_owned(),
            known: VOICES.join(", "),
        };
        let index = VOICES.iter().position(|v| *v == name).ok_or_else(unknown)?;
        self.voices[index]
            .get_or_init(|| register(index).map(|v| Mutex::new(Voice(v))))
            .as_ref()
            .ok_or_else(|| TtsError::Engine {
                engine: "flite",
                reason: format!("flite could not register voice {name}"),
            })
    }
}

fn register(index: usize) -> Option<*mut CstVoice> {
    static INIT: Once = Once::new();
    // SAFETY: flite_init sets up flite's global tables; Once runs it exactly once.
    INIT.call_once(|| unsafe {
        flite_init();
    });
    let voxdir = std::ptr::null();
    // SAFETY: the register functions only read their (unused, null) argument and return a new
    // voice or null.
    let voice = unsafe {
        match index {
            0 => register_cmu_us_slt(voxdir),
            1 => register_cmu_us_kal16(voxdir),
            2 => register_cmu_us_awb(voxdir),
            3 => register_cmu_us_rms(voxdir),
            _ => register_cmu_us_kal(voxdir),
        }
    };
    (!voice.is_null()).then_some(voice)
}

impl Engine for Flite {
    fn speak(&self, voice: &str, words: &str, rate: f32) -> Result<Audio, TtsError> {
        let words = ascii_words(words);
        if words.is_empty() {
            return Ok(Audio {
                samples: Vec::new(),
                rate: 16_000,
            });
        }
        let text = CString::new(words).expect("ascii_words keeps no NUL");
        let voice = self.voice(voice)?;
        let guard = voice.lock().unwrap_or_else(|p| p.into_inner());
        let stretch = c"duration_stretch";
        // SAFETY: the voice is valid for the program's life and held under its lock; the
        // feature name and text are NUL-terminated; the wave is read, then freed once.
        unsafe {
            flite_feat_set_float(
                (*guard.0).features,
                stretch.as_ptr(),
                1.0 / rate.clamp(0.5, 2.0),
            );
            let wave = flite_text_to_wave(text.as_ptr(), guard.0);
            if wave.is_null() {
                return Err(TtsError::Engine {
                    engine: "flite",
                    reason: "flite returned no audio".into(),
                });
            }
            let w = &*wave;
            let len = usize::try_from(w.num_samples).unwrap_or(0)
                * usize::try_from(w.num_channels.max(1)).unwrap_or(1);
            let samples = if len == 0 || w.samples.is_null() {
                Vec::new()
            } else {
                std::slice::from_raw_parts(w.samples, len).to_vec()
            };
            let rate = u32::try_from(w.sample_rate).unwrap_or(16_000);
            let channels = usize::try_from(w.num_channels.max(1)).unwrap_or(1);
            delete_wave(wave);
            Ok(Audio {
                samples: mono(samples, channels),
                rate,
            })
        }
    }

    fn check(&self, voice: &str) -> Result<(), TtsError> {
        self.voice(voice).map(|_| ())
    }
}

fn mono(samples: Vec<i16>, channels: usize) -> Vec<i16> {
    if channels <= 1 {
        return samples;
    }
    samples
        .chunks_exact(channels)
        .map(|c| (c.iter().map(|&s| i32::from(s)).sum::<i32>() / channels as i32) as i16)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_voice_speaks_at_its_rate() {
        let flite = Flite::new();
        for (voice, rate) in [
            ("slt", 16_000),
            ("kal16", 16_000),
            ("awb", 16_000),
            ("rms", 16_000),
            ("kal", 8_000),
        ] {
            let audio = flite
                .speak(voice, "Your parcel is on its way.", 1.0)
                .expect(voice);
            assert_eq!(audio.rate, rate, "{voice}");
            let seconds = audio.samples.len() as f32 / rate as f32;
            assert!((0.8..4.0).contains(&seconds), "{voice}: {seconds} s");
        }
    }

    #[test]
    fn rate_changes_the_length() {
        let flite = Flite::new();
        let text = "Thank you for calling the demo shop.";
        let normal = flite.speak("slt", text, 1.0).expect("slt").samples.len();
        let fast = flite.speak("slt", text, 1.5).expect("slt").samples.len();
        let ratio = fast as f32 / normal as f32;
        assert!(
            (0.55..0.8).contains(&ratio),
            "1.5x rate gave {ratio} of the length"
        );
    }

    #[test]
    fn an_unknown_voice_names_the_known_ones() {
        let err = Flite::new()
            .speak("nobody", "hi", 1.0)
            .expect_err("unknown");
        assert!(err.to_string().contains("slt, kal16"), "{err}");
    }

    #[test]
    fn nothing_speakable_is_silence_not_an_error() {
        let audio = Flite::new()
            .speak("slt", "\u{1F600}", 1.0)
            .expect("empty is fine");
        assert!(audio.samples.is_empty());
    }
}
