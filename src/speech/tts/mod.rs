//! Speaking to the caller: text (or an SSML subset) in, 16 kHz speech out, sentence by sentence.
//!
//! ```text
//! reply ─► text (SSML, normalisation: order numbers, amounts, dates, phones; sentence chunks)
//!       ─► cache (by content hash) ─► engine (flite linked in / festival process / espeak-ng
//!          process) ─► resample to 16 kHz ─► the caller, chunk by chunk
//! ```
//!
//! [`Tts::speak`] hands each chunk on as soon as it is rendered, so the first sentence plays
//! while the rest is still being synthesised, and stops when told to (barge-in). Voices come
//! from `voices/voices.toml` ([`crate::config::voices`]). Engines block: call them off the call
//! task.

pub mod cache;
pub mod engine;
pub mod espeak;
pub mod festival;
pub mod flite;
pub mod text;

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::config::voices::{EngineKind, VoiceBook, VoiceSpec};
use crate::media::frame::SAMPLE_RATE;
use crate::media::resample::resample_i16_to_16k;
use crate::speech::tts::cache::Cache;
use crate::speech::tts::engine::Engine;
use crate::speech::tts::espeak::Espeak;
use crate::speech::tts::festival::Festival;
use crate::speech::tts::flite::Flite;
use crate::speech::tts::text::{Chunk, TextError};

/// Why speech could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum TtsError {
    /// The text is empty, unspeakable or bad SSML.
    #[error(transparent)]
    Text(#[from] TextError),
    /// No voice of that name in voices.toml.
    #[error("no voice named {name:?} (voices: {known})")]
    UnknownVoice { name: String, known: String },
    /// voices.toml has no default voice for the language.
    #[error("no voice for language {0:?}: add a [default] entry to voices/voices.toml")]
    NoVoiceFor(String),
    /// The engine does not have the voice voices.toml names.
    #[error("{engine} has no voice {voice:?} (known: {known})")]
    UnknownEngineVoice {
        engine: &'static str,
        voice: String,
        known: String,
    },
    /// The engine failed or is not installed.
    #[error("{engine}: {reason}")]
    Engine {
        engine: &'static str,
        reason: String,
    },
    /// The engine's audio could not be brought to 16 kHz.
    #[error("resampling synthesised speech: {0}")]
    Resample(String),
}

/// Rendered audio is handed on in pieces of at least this much (200 ms at 16 kHz), except the
/// first piece of a sentence, which goes at once.
const STREAM_BATCH_SAMPLES: usize = 3_200;

/// A sample above this (about -40 dBFS) is sound, not the silence an utterance starts with.
const SOUND_LEVEL: u16 = 330;
/// Silence kept before an utterance's first sound (10 ms), so its onset is not clipped.
const LEAD_IN_SAMPLES: usize = 160;

/// What one [`Tts::speak`] did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Spoken {
    /// Pieces handed to the sink (sentences and pauses).
    pub chunks: usize,
    /// Sentences read from the cache instead of synthesised.
    pub cached: usize,
    /// The text was longer than [`text::MAX_TEXT_CHARS`] and was cut.
    pub truncated: bool,
    /// 16 kHz samples handed out.
    pub samples: usize,
    /// The sink asked to stop before the end.
    pub stopped: bool,
}

impl Spoken {
    pub fn duration(&self) -> Duration {
        Duration::from_micros(self.samples as u64 * 1_000_000 / u64::from(SAMPLE_RATE))
    }
}

/// The synthesiser a server (or `kefu say`) shares between all its calls.
pub struct Tts {
    book: Arc<VoiceBook>,
    flite: Flite,
    festival: Festival,
    espeak: Espeak,
    cache: Option<Cache>,
    /// Whether each voice works on this machine, checked once per voice.
    usable: Mutex<BTreeMap<String, Result<(), String>>>,
}

impl Tts {
    /// `cache_dir`: where rendered sentences are kept (`None`: render every time).
    pub fn new(book: Arc<VoiceBook>, cache_dir: Option<PathBuf>) -> Tts {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Tts {
            book,
            flite: Flite::new(),
            festival: Festival::new("festival", cores.min(4)),
            espeak: Espeak::new("espeak-ng"),
            cache: cache_dir.map(Cache::new),
            usable: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn book(&self) -> &VoiceBook {
        &self.book
    }

    /// The voice to speak with: `name` when given, else the default for `language`. A voice
    /// whose engine does not work here gives way to its `fallback` (logged once).
    pub fn voice(&self, name: Option<&str>, language: &str) -> Result<&VoiceSpec, TtsError> {
        let spec = match name {
            Some(name) => self.book.get(name).ok_or_else(|| TtsError::UnknownVoice {
                name: name.to_owned(),
                known: self.book.names(),
            })?,
            None => self
                .book
                .default_for(language)
                .ok_or_else(|| TtsError::NoVoiceFor(language.to_owned()))?,
        };
        match (self.check(spec), &spec.fallback) {
            (Err(e), Some(fallback)) => {
                let other = self
                    .book
                    .get(fallback)
                    .expect("voices.toml fallbacks are checked");
                tracing::warn!(voice = %spec.name, fallback = %other.name, error = %e,
                    "voice unavailable; speaking with its fallback");
                Ok(other)
            }
            _ => Ok(spec),
        }
    }

    /// Whether `spec` can speak on this machine (its engine installed, its voice known). The
    /// first check of a process-based voice starts the process.
    pub fn check(&self, spec: &VoiceSpec) -> Result<(), TtsError> {
        let mut usable = self.usable.lock().unwrap_or_else(|p| p.into_inner());
        let result = usable.entry(spec.name.clone()).or_insert_with(|| {
            self.engine(spec.engine)
                .check(&spec.voice)
                .map_err(|e| e.to_string())
        });
        result.clone().map_err(|reason| TtsError::Engine {
            engine: engine_name(spec.engine),
            reason,
        })
    }

    /// Speaks `text` (plain or `<speak>` SSML) with `voice` at `rate` × the voice's own rate,
    /// handing each rendered piece (16 kHz) to `sink` as soon as it is ready. `sink` returns
    /// `Break` to stop at once (the caller barged in): nothing more is synthesised.
    pub fn speak(
        &self,
        voice: &VoiceSpec,
        text: &str,
        rate: f32,
        mut sink: impl FnMut(Vec<i16>) -> ControlFlow<()>,
    ) -> Result<Spoken, TtsError> {
        let prepared = text::prepare(text, &voice.language)?;
        let mut spoken = Spoken {
            truncated: prepared.truncated,
            ..Spoken::default()
        };
        let engine = self.engine(voice.engine);
        // Hands 16 kHz audio on, counting it; false once the sink has said stop.
        // Engines start an utterance with a pause (flite: ~0.1–0.2 s); before the first sound
        // it is only latency, so it is cut, but for a short lead-in.
        let mut started = false;
        let mut emit = |mut samples: Vec<i16>, spoken: &mut Spoken| {
            if !started {
                match samples.iter().position(|s| s.unsigned_abs() > SOUND_LEVEL) {
                    Some(first) => {
                        started = true;
                        samples.drain(..first.saturating_sub(LEAD_IN_SAMPLES));
                    }
                    None => return true,
                }
            }
            spoken.samples += samples.len();
            if sink(samples).is_break() {
                spoken.stopped = true;
            }
            !spoken.stopped
        };
        for chunk in prepared.chunks {
            spoken.chunks += 1;
            let (words, chunk_rate) = match chunk {
                Chunk::Pause(pause) => {
                    let silence = vec![0; pause.as_millis() as usize * SAMPLE_RATE as usize / 1000];
                    if emit(silence, &mut spoken) {
                        continue;
                    }
                    break;
                }
                Chunk::Words { text, rate } => (text, rate),
            };
            let rate = (rate * chunk_rate * voice.rate).clamp(0.5, 2.0);
            let key = Cache::key(&voice.engine.to_string(), &voice.voice, rate, &words);
            if let Some(samples) = self.cache.as_ref().and_then(|c| c.get(&key)) {
                spoken.cached += 1;
                if emit(samples, &mut spoken) {
                    continue;
                }
                break;
            }
            // Audio at the engine's rate; 16 kHz audio is handed on while it is rendered, in
            // batches (the first at once), anything else is resampled whole at the end.
            let mut whole: Vec<i16> = Vec::new();
            let mut native_rate = SAMPLE_RATE;
            let mut batch: Vec<i16> = Vec::new();
            let mut first = true;
            engine.stream(&voice.voice, &words, rate, &mut |piece, piece_rate| {
                native_rate = piece_rate;
                whole.extend_from_slice(piece);
                if piece_rate != SAMPLE_RATE {
                    return ControlFlow::Continue(());
                }
                batch.extend_from_slice(piece);
                if first || batch.len() >= STREAM_BATCH_SAMPLES {
                    let before = spoken.samples;
                    if !emit(std::mem::take(&mut batch), &mut spoken) {
                        return ControlFlow::Break(());
                    }
                    // Still at once until something is heard (leading silence is cut).
                    first = spoken.samples == before;
                }
                ControlFlow::Continue(())
            })?;
            if spoken.stopped {
                break;
            }
            let samples = if native_rate == SAMPLE_RATE {
                whole
            } else {
                let resampled = resample_i16_to_16k(&whole, 1, native_rate)
                    .map_err(|e| TtsError::Resample(e.to_string()))?;
                batch = resampled.clone();
                resampled
            };
            if let Some(cache) = &self.cache {
                cache.put(&key, &samples);
            }
            if !batch.is_empty() && !emit(batch, &mut spoken) {
                break;
            }
        }
        Ok(spoken)
    }

    /// Speaks `text` whole: for prompts rendered ahead and for `kefu say`.
    pub fn render(
        &self,
        voice: &VoiceSpec,
        text: &str,
        rate: f32,
    ) -> Result<(Vec<i16>, Spoken), TtsError> {
        let mut all = Vec::new();
        let spoken = self.speak(voice, text, rate, |piece| {
            all.extend_from_slice(&piece);
            ControlFlow::Continue(())
        })?;
        Ok((all, spoken))
    }

    /// Readies the default voices now (flite voices registered, festival processes started),
    /// so the first call's first sentence does not wait for them.
    pub fn warm(&self) {
        for spec in self.book.voices().filter(|v| self.book.is_default(&v.name)) {
            let result = match spec.engine {
                EngineKind::Festival => self.festival.warm(&spec.voice),
                _ => self.check(spec),
            };
            if let Err(e) = result {
                tracing::warn!(voice = %spec.name, error = %e, "cannot ready voice");
            }
        }
    }

    fn engine(&self, kind: EngineKind) -> &dyn Engine {
        match kind {
            EngineKind::Flite => &self.flite,
            EngineKind::Festival => &self.festival,
            EngineKind::Espeak => &self.espeak,
        }
    }
}

fn engine_name(kind: EngineKind) -> &'static str {
    match kind {
        EngineKind::Flite => "flite",
        EngineKind::Festival => "festival",
        EngineKind::Espeak => "espeak-ng",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tts(cache: Option<PathBuf>) -> Tts {
        Tts::new(Arc::new(VoiceBook::embedded()), cache)
    }

    #[test]
    fn speaks_sentence_by_sentence_and_caches_each() {
        let dir = tempfile::tempdir().expect("tmp");
        let tts = tts(Some(dir.path().to_owned()));
        let voice = tts.voice(Some("slt"), "en").expect("slt").clone();
        let text = "Your order shipped on Tuesday. It should arrive by Friday.";
        let mut pieces = Vec::new();
        let first = tts
            .speak(&voice, text, 1.0, |p| {
                pieces.push(p.len());
                ControlFlow::Continue(())
            })
            .expect("speaks");
        // flite streams: 20 ms pieces until the first sound, then 200 ms batches.
        assert!(pieces[0] <= 320, "{pieces:?}");
        assert!(pieces.len() > 4, "{pieces:?}");
        assert_eq!((first.chunks, first.cached), (2, 0));
        let again = tts.render(&voice, text, 1.0).expect("again").1;
        assert_eq!(again.cached, 2, "both sentences come from the cache");
        // The same audio, but for where the leading silence was cut (streamed: by 20 ms piece).
        assert!(again.samples.abs_diff(first.samples) <= LEAD_IN_SAMPLES);
    }

    #[test]
    fn an_utterance_starts_with_its_first_sound() {
        let tts = tts(None);
        let voice = tts.voice(Some("rms"), "en").expect("rms").clone();
        let (audio, _) = tts.render(&voice, "Hello.", 1.0).expect("speaks");
        let first = audio
            .iter()
            .position(|s| s.unsigned_abs() > SOUND_LEVEL)
            .expect("sound");
        assert!(
            first <= LEAD_IN_SAMPLES,
            "at most 10 ms of lead-in: {first}"
        );
    }

    #[test]
    fn the_sink_stops_synthesis() {
        let tts = tts(None);
        let voice = tts.voice(Some("slt"), "en").expect("slt").clone();
        let text = "One. Two. Three. Four.";
        let spoken = tts
            .speak(&voice, text, 1.0, |_| ControlFlow::Break(()))
            .expect("speaks");
        assert!(spoken.stopped);
        assert_eq!(spoken.chunks, 1);
    }

    #[test]
    fn voice_errors_are_precise() {
        let tts = tts(None);
        let err = tts
            .voice(Some("nobody"), "en")
            .expect_err("unknown")
            .to_string();
        assert!(
            err.contains("\"nobody\"") && err.contains("slt-hts"),
            "{err}"
        );
        let err = tts.voice(None, "fr").expect_err("no french").to_string();
        assert!(err.contains("\"fr\""), "{err}");
        let voice = tts.voice(Some("slt"), "en").expect("slt").clone();
        assert!(matches!(
            tts.render(&voice, "   ", 1.0),
            Err(TtsError::Text(_))
        ));
    }

    #[test]
    fn a_voice_without_its_engine_falls_back() {
        let book = VoiceBook::parse(
            "[default]\nen = \"x\"\n[voice.x]\nengine = \"espeak-ng\"\nvoice = \"qqq\"\nlanguage = \"en\"\nfallback = \"slt\"\n[voice.slt]\nengine = \"flite\"\nvoice = \"slt\"\nlanguage = \"en\"\n",
            std::path::Path::new("v.toml"),
        )
        .expect("valid");
        let tts = Tts::new(Arc::new(book), None);
        assert_eq!(tts.voice(None, "en").expect("fallback").name, "slt");
    }
}
