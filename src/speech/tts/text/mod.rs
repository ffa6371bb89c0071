//! PLACEHOLDER (to be replaced by the text front end being written): minimal sentence split.
use std::time::Duration;
#[derive(Debug, Clone, PartialEq)]
pub enum Chunk {
    Words { text: String, rate: f32 },
    Pause(Duration),
}
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    pub chunks: Vec<Chunk>,
    pub truncated: bool,
}
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TextError {
    #[error("empty text")]
    Empty,
}
pub const MAX_CHUNK_CHARS: usize = 300;
pub const MAX_TEXT_CHARS: usize = 4000;
pub fn prepare(input: &str, _language: &str) -> Result<Prepared, TextError> {
    if input.trim().is_empty() {
        return Err(TextError::Empty);
    }
    let chunks = input
        .split_inclusive(['.', '?', '!'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| Chunk::Words {
            text: s.to_owned(),
            rate: 1.0,
        })
        .collect();
    Ok(Prepared {
        chunks,
        truncated: false,
    })
}
