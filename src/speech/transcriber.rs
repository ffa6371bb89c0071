//! Transcribing a whole recording, as `kefu transcribe` and `kefu eval asr` do: either the
//! call pipeline (denoise, VAD, endpointing, then each turn decoded with the small-window
//! policy), or one plain whisper decode of the whole clip, the reference the pipeline is
//! measured against.

use std::time::{Duration, Instant};

use crate::media::frame::Frame;
use crate::speech::asr::{AsrError, DecodeOptions, Decoder, Window};
use crate::speech::grammar::Grammar;
use crate::speech::listener::{ListenSettings, Listener, TurnEvent};

/// How to transcribe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// What a call does: turns found by the VAD, each decoded on its own.
    Pipeline { denoise: bool },
    /// One decode of the whole clip with whisper's full window.
    Plain,
}

/// One turn of a transcription.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TurnText {
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
}

/// What a recording said.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FileTranscript {
    pub text: String,
    /// The grammar's interpretation of the whole text, when a grammar was given and matched.
    pub interpretation: Option<serde_json::Value>,
    pub confidence: f32,
    pub audio_seconds: f64,
    pub decode_seconds: f64,
    pub turns: Vec<TurnText>,
}

/// Silence appended after the last frame so that a turn running to the end is closed.
const FLUSH: Duration = Duration::from_secs(1);

/// Transcribes 16 kHz `frames`. `progress(done, total)` is told how many frames are through
/// the pipeline (a long file's decodes happen as turns end).
pub fn transcribe(
    decoder: &mut Decoder,
    frames: &[Frame],
    mode: Mode,
    options: &DecodeOptions,
    grammar: Option<&Grammar>,
    mut progress: impl FnMut(usize, usize),
) -> Result<FileTranscript, AsrError> {
    let audio_seconds = frames.len() as f64 * 0.02;
    let started = Instant::now();
    let mut turns = Vec::new();
    let mut weighted_confidence = 0.0;
    let mut words = 0usize;
    let mut decode = |audio: &[f32], start_ms, end_ms, options: &DecodeOptions| {
        let t = decoder.decode(audio, options)?;
        let n = t.text.split_whitespace().count();
        weighted_confidence += t.confidence * n as f32;
        words += n;
        if !t.text.trim().is_empty() {
            turns.push(TurnText {
                start_ms,
                end_ms,
                text: t.text.trim().to_owned(),
            });
        }
        Ok::<(), AsrError>(())
    };
    match mode {
        Mode::Plain => {
            let audio: Vec<f32> = frames
                .iter()
                .flat_map(|f| f.samples().iter().map(|&s| f32::from(s) / 32768.0))
                .collect();
            let plain = DecodeOptions {
                window: Window::Full,
                ..options.clone()
            };
            decode(&audio, 0, (audio_seconds * 1000.0) as u64, &plain)?;
            progress(frames.len(), frames.len());
        }
        Mode::Pipeline { denoise } => {
            let t0 = Instant::now();
            let settings = ListenSettings {
                end_silence: Duration::from_millis(500),
                // A file's turns are decoded whole: nothing shortens them.
                complete_silence: Duration::from_millis(500),
                denoise,
                partial_every: Duration::ZERO,
            };
            let mut listener =
                Listener::new(t0, settings, 0).expect("the default endpointing settings are valid");
            let flush = (FLUSH.as_millis() / 20) as usize;
            let total = frames.len() + flush;
            let ms = |at: Instant| at.saturating_duration_since(t0).as_millis() as u64;
            for i in 0..total {
                let frame = frames.get(i).copied().unwrap_or(Frame::SILENCE);
                let now = t0 + Duration::from_millis(20 * (i as u64 + 1));
                if let Some(TurnEvent::Ended {
                    audio,
                    speech_start,
                    speech_end,
                    ..
                }) = listener.handle_frame(now, &frame)
                {
                    decode(&audio, ms(speech_start), ms(speech_end), options)?;
                }
                if i % 50 == 0 || i + 1 == total {
                    progress(i.min(frames.len()), frames.len());
                }
            }
        }
    }
    let text = turns
        .iter()
        .map(|t| t.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let (interpretation, grammar_confidence) = match grammar.and_then(|g| g.interpret(&text)) {
        Some(m) => (Some(m.interpretation), m.confidence),
        None => (None, 1.0),
    };
    let confidence = if words == 0 {
        0.0
    } else {
        weighted_confidence / words as f32 * grammar_confidence
    };
    Ok(FileTranscript {
        text,
        interpretation,
        confidence,
        audio_seconds,
        decode_seconds: started.elapsed().as_secs_f64(),
        turns,
    })
}
