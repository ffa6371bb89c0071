//! Subcommands other than `serve` (which is `runtime::serve`).

pub mod calls;
