//! Subcommands other than `serve` (which is `runtime::serve`).

pub mod calls;
pub mod eval;
pub mod transcribe;
