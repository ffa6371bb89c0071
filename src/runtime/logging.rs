//! Structured logs. Every line a call task writes carries `call=<id>` through its span.

use tracing_subscriber::EnvFilter;

/// Logs to stderr; `KEFU_LOG` (or `RUST_LOG`) picks levels, default `info` for kefu and `warn`
/// for the libraries.
pub fn init(json: bool) {
    let filter = std::env::var("KEFU_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "warn,kefu=info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
