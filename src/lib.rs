//! kefu — tmp
pub mod config {
    pub mod server;
    #[derive(Debug, thiserror::Error)]
    pub enum ConfigError {
        #[error("{}:{line}: {reason}", file.display())]
        Toml { file: std::path::PathBuf, line: usize, reason: String },
        #[error("{0}")]
        Invalid(String),
    }
}
pub mod sip { pub mod guard; pub mod admission; }
pub mod media { pub mod frame; }
pub mod store { pub mod record; }
pub mod api { tonic::include_proto!("kefu.v1"); }
