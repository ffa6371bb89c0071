//! Speech recognition with whisper.cpp: the decode engine (not the worker pool, which lives
//! with the async glue).
//!
//! [`Whisper::load`] validates a ggml model file and loads one shared context;
//! [`Whisper::new_decoder`] gives each worker its own state; [`Decoder::decode`] turns 16 kHz
//! mono audio into a [`Transcript`] with per-segment timing and a confidence figure.
//! Options cover the language, vocabulary hints (initial prompt), a whisper.cpp grammar for
//! digits, yes/no and menus, cancellation, and the encoder-window policy ([`Window`]) that
//! makes short telephone utterances several times faster than whisper's fixed 30 s window.
//!
//! Follows whisper.cpp 1.8's `whisper_full` contract; calls it through whisper-rs-sys because
//! whisper-rs 0.16's grammar setter is broken (see `ffi.rs`).

mod engine;
mod ffi;
pub mod grammar;
mod guard;
pub mod options;

#[cfg(test)]
mod model_tests;

use std::path::PathBuf;

pub use engine::{Decoder, Segment, Transcript, Whisper};
pub use grammar::{Element, ElementKind, Grammar};
pub use options::{DecodeOptions, SAMPLE_RATE, Window};

use crate::speech::models::ModelError;

/// Why a model could not be loaded or a clip not decoded.
#[derive(Debug, thiserror::Error)]
pub enum AsrError {
    /// The model file failed validation (truncated, foreign format, bad header).
    #[error(transparent)]
    Model(#[from] ModelError),
    /// whisper.cpp refused a file that passed validation (e.g. out of memory).
    #[error("{}: whisper.cpp could not load the model", path.display())]
    Load {
        /// The model file.
        path: PathBuf,
    },
    /// whisper.cpp could not allocate a decoding state.
    #[error("whisper.cpp could not allocate a decoding state")]
    State,
    /// The requested language cannot be decoded with this model.
    #[error("language `{language}`: {why}")]
    UnsupportedLanguage {
        /// The language asked for.
        language: String,
        /// Why it is refused.
        why: String,
    },
    /// The grammar would crash or hang whisper.cpp.
    #[error("invalid grammar: {0}")]
    Grammar(String),
    /// The abort flag was set during the decode.
    #[error("decode aborted")]
    Aborted,
    /// whisper_full failed (status code from whisper.cpp).
    #[error("whisper.cpp decode failed with status {status}")]
    Decode {
        /// whisper.cpp's return code.
        status: i32,
    },
}
