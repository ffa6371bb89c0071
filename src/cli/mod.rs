//! Subcommands other than `serve` (which is `runtime::serve`).

pub mod calls;
pub mod chat;
pub mod eval;
pub mod models;
pub mod report;
pub mod say;
pub mod shop;
pub mod transcribe;

/// Prints one line on stdout. A reader that went away (`kefu transcribe … | head`) ends the
/// command quietly, as it would any Unix tool, instead of a panic in `println!`.
pub fn print_line(line: impl std::fmt::Display) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = writeln!(out, "{line}") {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("kefu: writing to stdout: {e}");
        std::process::exit(1);
    }
}
