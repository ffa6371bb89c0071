//! The official ggml whisper models `kefu models fetch NAME` can download: the list in
//! whisper.cpp's `models/download-ggml-model.sh`, served from Hugging Face.

const HF_WHISPER_CPP: &str = "https://huggingface.co/ggerganov/whisper.cpp/resolve/main";
const HF_TINYDIARIZE: &str = "https://huggingface.co/akashmjn/tinydiarize-whisper.cpp/resolve/main";

/// Every name `fetch` accepts.
pub const NAMES: &[&str] = &[
    "tiny",
    "tiny.en",
    "tiny-q5_1",
    "tiny.en-q5_1",
    "tiny-q8_0",
    "base",
    "base.en",
    "base-q5_1",
    "base.en-q5_1",
    "base-q8_0",
    "small",
    "small.en",
    "small.en-tdrz",
    "small-q5_1",
    "small.en-q5_1",
    "small-q8_0",
    "medium",
    "medium.en",
    "medium-q5_0",
    "medium.en-q5_0",
    "medium-q8_0",
    "large-v1",
    "large-v2",
    "large-v2-q5_0",
    "large-v2-q8_0",
    "large-v3",
    "large-v3-q5_0",
    "large-v3-turbo",
    "large-v3-turbo-q5_0",
    "large-v3-turbo-q8_0",
];

/// One downloadable model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogEntry {
    /// The name, e.g. `base.en-q5_1`.
    pub name: &'static str,
    /// Where to download it.
    pub url: String,
    /// The file name in the model store (`ggml-<name>.bin`, as upstream names it).
    pub file_name: String,
    /// Whether it transcribes languages other than English.
    pub multilingual: bool,
}

/// Looks `name` up in the catalogue (exact match; names are case-sensitive upstream).
pub fn catalog_entry(name: &str) -> Option<CatalogEntry> {
    let name = *NAMES.iter().find(|n| **n == name)?;
    let base = if name.ends_with("-tdrz") {
        HF_TINYDIARIZE
    } else {
        HF_WHISPER_CPP
    };
    Some(CatalogEntry {
        name,
        url: format!("{base}/ggml-{name}.bin"),
        file_name: format!("ggml-{name}.bin"),
        multilingual: !name.contains(".en"),
    })
}

/// The names as one comma-separated line, for error messages.
pub fn known_names() -> String {
    NAMES.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_names_resolve_to_upstream_urls() {
        let e = catalog_entry("tiny.en").expect("tiny.en is official");
        assert_eq!(
            e.url,
            "https://huggingface.co/ggerganov/whisper.cpp/resolve/main/ggml-tiny.en.bin"
        );
        assert_eq!(e.file_name, "ggml-tiny.en.bin");
        assert!(!e.multilingual);
        let q = catalog_entry("large-v3-turbo-q8_0").expect("official");
        assert!(q.multilingual);
        assert!(q.url.ends_with("/ggml-large-v3-turbo-q8_0.bin"));
        assert!(
            catalog_entry("small.en-tdrz")
                .expect("official")
                .url
                .contains("tinydiarize")
        );
    }

    #[test]
    fn unknown_and_path_like_names_are_rejected() {
        for bad in [
            "",
            "tiny.EN",
            "huge",
            "../tiny",
            "tiny.en.bin",
            "ggml-tiny",
            "tiny-q4_0",
        ] {
            assert!(catalog_entry(bad).is_none(), "{bad}");
        }
        assert!(known_names().starts_with("tiny, tiny.en, "));
    }
}
