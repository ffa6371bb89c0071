//! Whisper model files: what `kefu models fetch|list|import` works on.
//!
//! kefu runs whisper.cpp, which loads the legacy ggml whisper format (magic `ggml`, eleven i32
//! hyper-parameters, mel filters, vocabulary, tensors; see [`ggml`]). Users download official
//! ggml files ([`catalog`], [`ModelStore::fetch`]) or import any local ggml file or a
//! CTranslate2 (faster-whisper) model directory, which [`convert`] turns into ggml f16 or Q8_0
//! in one streaming pass. Every file is validated ([`ggml::inspect`]) before whisper.cpp sees
//! it, so a truncated or foreign file is a one-line error instead of a crash in C++.
//!
//! Formats followed: whisper.cpp `models/convert-pt-to-ggml.py` and `whisper_model_load` (ggml
//! layout), CTranslate2 `models/model.cc` (model.bin, binary versions 4–6), NumPy NEP 1 (.npy).

mod cursor;

pub mod catalog;
pub mod convert;
pub mod ct2;
mod download;
pub mod ggml;
pub mod mel;
pub mod pypi;
pub mod quant;
pub mod store;
pub mod vocab;

use std::path::{Path, PathBuf};

pub use catalog::{CatalogEntry, catalog_entry};
pub use convert::{ConvertSources, convert_ct2};
pub use ggml::{GgmlInfo, Hparams, inspect};
pub use quant::Quant;
pub use store::{ImportOptions, ModelEntry, ModelStore};

/// Everything that can go wrong reading, converting, storing or downloading a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The operating system refused a read, write, rename or directory listing.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file ends before a structure it announces.
    #[error("{}: truncated at byte {offset} while reading {what}", path.display())]
    Truncated {
        /// The file that is too short.
        path: PathBuf,
        /// Where the missing data should have started.
        offset: u64,
        /// What was being read.
        what: String,
    },
    /// The file holds data that cannot be right (bad magic, impossible size, unknown type).
    #[error("{}: at byte {offset}: {what}", path.display())]
    Garbled {
        /// The offending file.
        path: PathBuf,
        /// Where the bad data starts.
        offset: u64,
        /// What is wrong.
        what: String,
    },
    /// A CTranslate2 model lacks a variable the whisper layout needs, or has it in a shape or
    /// type that cannot be converted.
    #[error("{}: variable `{name}`: {what}", path.display())]
    Variable {
        /// The CTranslate2 model.bin.
        path: PathBuf,
        /// The CTranslate2 variable name.
        name: String,
        /// What is missing or wrong.
        what: String,
    },
    /// A file needed for the conversion (the vocabulary) was not given and not found.
    #[error("{what} not found (looked in {}); pass it with {flag}", searched.display())]
    MissingInput {
        /// What is missing, e.g. "mel_filters.npz".
        what: &'static str,
        /// Where it was looked for.
        searched: PathBuf,
        /// The command-line flag that supplies it.
        flag: &'static str,
    },
    /// A model name that is not in the official catalogue.
    #[error("unknown model `{name}`; known: {known}")]
    UnknownName {
        /// The name asked for.
        name: String,
        /// The catalogue's names, comma separated.
        known: String,
    },
    /// The model store holds no model by that name.
    #[error("no model `{name}` in {}", dir.display())]
    NotInStore {
        /// The name asked for.
        name: String,
        /// The store directory.
        dir: PathBuf,
    },
    /// The requested conversion is not supported (e.g. re-quantising an already quantised file).
    #[error("{0}")]
    Unsupported(String),
    /// A download failed before or during the transfer.
    #[error("downloading {url}: {detail}")]
    Download {
        /// The URL being fetched.
        url: String,
        /// A one-line reason (DNS, TLS, HTTP status, connection reset…).
        detail: String,
    },
}

impl ModelError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> ModelError {
        ModelError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
