//! Errors of the media module outside the per-packet codec path.

use std::path::PathBuf;

/// What went wrong loading, converting or recording audio.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The sample rate cannot be resampled (zero, or above 384 kHz).
    #[error("unsupported sample rate {0} Hz")]
    UnsupportedSampleRate(u32),
    /// Interleaved samples do not divide into the given channel count.
    #[error("{samples} interleaved samples do not fit {channels} channels")]
    BadChannelLayout { channels: usize, samples: usize },
    /// rubato refused the conversion.
    #[error("resampling from {from_rate} Hz failed: {reason}")]
    Resample { from_rate: u32, reason: String },
    /// No file for a prompt under any of the supported extensions.
    #[error("prompt {name:?} not found; tried {}", list_paths(.tried))]
    PromptNotFound { name: String, tried: Vec<PathBuf> },
    /// An audio file could not be decoded.
    #[error("cannot decode {file}: {reason}")]
    Decode { file: String, reason: String },
    /// An audio file is longer than a prompt may be.
    #[error("{file} is {seconds:.0} s long; prompts may be at most {limit} s")]
    PromptTooLong {
        file: String,
        seconds: f64,
        limit: u32,
    },
    /// A file or directory could not be opened or read.
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A recording reached the longest length a WAV file can hold.
    #[error("recording {} stopped at {seconds:.0} s, the longest a WAV file can hold", .path.display())]
    RecordingTooLong { path: PathBuf, seconds: f64 },
    /// Writing a recording failed (disk full, permissions, missing directory …).
    #[error("cannot write recording {}: {source}", .path.display())]
    Recording {
        path: PathBuf,
        #[source]
        source: hound::Error,
    },
}

fn list_paths(paths: &[PathBuf]) -> String {
    let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    shown.join(", ")
}
