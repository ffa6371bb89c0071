//! flite (CMU Flite 2.2, Debian `libflite1`) linked in: a sentence in tens of milliseconds, no
//! process, no file. Voices: `slt`, `kal16`, `awb`, `rms` (16 kHz) and `kal` (8 kHz diphones).
//!
//! flite keeps per-voice state that is not safe to share between threads, so each voice is
//! registered once and used under its own lock; different voices synthesise in parallel.
//! Synthesis streams: flite hands over 20 ms of audio at a time as it renders a sentence (its
//! audio streaming callback), so a sentence's first audio is ready once its text is analysed,
//! in a few milliseconds, not when the whole sentence is rendered.

use std::ffi::{CString, c_char, c_int, c_short, c_void};
use std::ops::ControlFlow;
use std::panic::AssertUnwindSafe;
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

/// flite's `cst_audio_streaming_info`.
#[repr(C)]
struct StreamingInfo {
    min_buffsize: c_int,
    asc: Option<
        unsafe extern "C" fn(*const CstWave, c_int, c_int, c_int, *mut StreamingInfo) -> c_int,
    >,
    utt: *const c_void,
    item: *const c_void,
    userdata: *mut c_void,
}

const STREAM_CONTINUE: c_int = 0;
const STREAM_STOP: c_int = -1;

/// Where streamed audio goes; `userdata` points at one during a streamed synthesis.
type Sink<'a> = &'a mut dyn FnMut(&[i16], u32) -> ControlFlow<()>;

#[link(name = "flite")]
unsafe extern "C" {
    fn flite_init() -> c_int;
    fn new_audio_streaming_info() -> *mut StreamingInfo;
    fn audio_streaming_info_val(info: *const StreamingInfo) -> *const c_void;
    fn feat_set(features: *mut c_void, name: *const c_char, value: *const c_void);
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

/// A registered voice and its streaming hook; only touched under its lock.
struct Voice {
    voice: *mut CstVoice,
    /// Owned by the voice's features; `userdata` is set only during a streamed synthesis.
    streaming: *mut StreamingInfo,
}

// SAFETY: the voice is created once and then used only while its mutex is held, so flite never
// sees two threads in the same voice.
unsafe impl Send for Voice {}

/// Every registered voice, once per process: flite's register functions hand out one global
/// voice each, so two registries would share (and race on) it.
static REGISTERED: [OnceLock<Option<Mutex<Voice>>>; 5] = [const { OnceLock::new() }; 5];

/// The flite engine: voices registered on first use.
#[derive(Default)]
pub struct Flite;

impl Flite {
    pub fn new() -> Flite {
        Flite
    }

    fn voice(&self, name: &str) -> Result<&Mutex<Voice>, TtsError> {
        let unknown = || TtsError::UnknownEngineVoice {
            engine: "flite",
            voice: name.to_owned(),
            known: VOICES.join(", "),
        };
        let index = VOICES.iter().position(|v| *v == name).ok_or_else(unknown)?;
        REGISTERED[index]
            .get_or_init(|| register(index).map(Mutex::new))
            .as_ref()
            .ok_or_else(|| TtsError::Engine {
                engine: "flite",
                reason: format!("flite could not register voice {name}"),
            })
    }
}

fn register(index: usize) -> Option<Voice> {
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
    if voice.is_null() {
        return None;
    }
    // SAFETY: a fresh streaming info, handed to the voice's features, which keep it for the
    // voice's (the program's) life; with a null `userdata` the callback only says "go on".
    unsafe {
        let streaming = new_audio_streaming_info();
        if streaming.is_null() {
            return None;
        }
        (*streaming).asc = Some(on_audio);
        (*streaming).userdata = std::ptr::null_mut();
        feat_set(
            (*voice).features,
            c"streaming_info".as_ptr(),
            audio_streaming_info_val(streaming),
        );
        Some(Voice { voice, streaming })
    }
}

/// flite's streaming callback: `size` samples from `start` of the wave being rendered.
unsafe extern "C" fn on_audio(
    wave: *const CstWave,
    start: c_int,
    size: c_int,
    _last: c_int,
    info: *mut StreamingInfo,
) -> c_int {
    // SAFETY: flite passes the info it was given and a wave holding at least start + size
    // samples; `userdata` is null or points at a live `Sink` for the whole synthesis.
    unsafe {
        if info.is_null() || (*info).userdata.is_null() || wave.is_null() {
            return STREAM_CONTINUE;
        }
        let w = &*wave;
        let (Ok(start), Ok(size)) = (usize::try_from(start), usize::try_from(size)) else {
            return STREAM_CONTINUE;
        };
        if size == 0 || w.samples.is_null() || w.num_channels != 1 {
            return STREAM_CONTINUE;
        }
        let samples = std::slice::from_raw_parts(w.samples.add(start), size);
        let sink = &mut *((*info).userdata as *mut Sink<'_>);
        let rate = u32::try_from(w.sample_rate).unwrap_or(16_000);
        // A panic must not unwind into C: it stops the synthesis instead.
        match std::panic::catch_unwind(AssertUnwindSafe(|| sink(samples, rate))) {
            Ok(ControlFlow::Continue(())) => STREAM_CONTINUE,
            _ => STREAM_STOP,
        }
    }
}

impl Flite {
    /// Renders `words` whole; with a sink, also hands the audio to it as it is rendered.
    fn synthesize(
        &self,
        voice: &str,
        words: &str,
        rate: f32,
        mut sink: Option<Sink<'_>>,
    ) -> Result<Audio, TtsError> {
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
        let userdata = match &mut sink {
            Some(sink) => sink as *mut Sink<'_> as *mut c_void,
            None => std::ptr::null_mut(),
        };
        // SAFETY: the voice is valid for the program's life and held under its lock, so no
        // other synthesis sees `userdata`, which points at `sink` (alive until the function
        // returns) and is cleared before the lock is released; the feature name and text are
        // NUL-terminated; the wave is read, then freed once.
        unsafe {
            flite_feat_set_float(
                (*guard.voice).features,
                c"duration_stretch".as_ptr(),
                1.0 / rate.clamp(0.5, 2.0),
            );
            let streaming = guard.streaming;
            (*streaming).userdata = userdata;
            let wave = flite_text_to_wave(text.as_ptr(), guard.voice);
            (*streaming).userdata = std::ptr::null_mut();
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
}

impl Engine for Flite {
    fn speak(&self, voice: &str, words: &str, rate: f32) -> Result<Audio, TtsError> {
        self.synthesize(voice, words, rate, None)
    }

    fn stream(
        &self,
        voice: &str,
        words: &str,
        rate: f32,
        sink: &mut dyn FnMut(&[i16], u32) -> ControlFlow<()>,
    ) -> Result<(), TtsError> {
        let (mut streamed, mut stopped) = (false, false);
        let mut forward = |samples: &[i16], rate: u32| {
            streamed = true;
            if !stopped {
                stopped = sink(samples, rate).is_break();
            }
            if stopped {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        let audio = self.synthesize(voice, words, rate, Some(&mut forward))?;
        // A voice that rendered without streaming (none here, but flite allows it).
        if !streamed && !audio.samples.is_empty() {
            let _ = sink(&audio.samples, audio.rate);
        }
        Ok(())
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
    fn streams_the_audio_it_renders_and_stops_when_told() {
        let flite = Flite::new();
        let text = "Your order shipped on Tuesday, and it should arrive by Friday.";
        let whole = flite.speak("slt", text, 1.0).expect("slt").samples;
        let mut pieces: Vec<Vec<i16>> = Vec::new();
        flite
            .stream("slt", text, 1.0, &mut |p, rate| {
                assert_eq!(rate, 16_000);
                pieces.push(p.to_vec());
                ControlFlow::Continue(())
            })
            .expect("streams");
        assert!(
            pieces.len() > 10,
            "20 ms at a time: {} pieces",
            pieces.len()
        );
        // The excitation is partly random noise: the same length, not the same samples.
        let streamed = pieces.concat().len() as i64;
        assert!(
            (streamed - whole.len() as i64).abs() < 400,
            "{streamed} vs {}",
            whole.len()
        );
        let mut calls = 0;
        flite
            .stream("slt", text, 1.0, &mut |_, _| {
                calls += 1;
                ControlFlow::Break(())
            })
            .expect("stops cleanly");
        assert_eq!(calls, 1, "nothing after Break");
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
