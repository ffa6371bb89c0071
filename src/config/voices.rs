//! `voices/voices.toml`: voice names to engine, engine voice, language and rate, and the default
//! voice per language. Checked when loaded: every default and fallback names a voice.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::Deserialize;

use super::ConfigError;
use super::server::line_of;

/// The voices file compiled into the binary.
pub const EMBEDDED_VOICES: &str = include_str!("../../voices/voices.toml");

/// A synthesis engine kefu knows how to drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum EngineKind {
    #[serde(rename = "flite")]
    Flite,
    #[serde(rename = "festival")]
    Festival,
    #[serde(rename = "espeak-ng")]
    Espeak,
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EngineKind::Flite => "flite",
            EngineKind::Festival => "festival",
            EngineKind::Espeak => "espeak-ng",
        })
    }
}

/// One named voice.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoiceSpec {
    #[serde(skip)]
    pub name: String,
    pub engine: EngineKind,
    /// The engine's own name for the voice (`slt`, `cmu_us_slt_arctic_hts`, `cmn`).
    pub voice: String,
    /// The language its text front end reads (`en`, `zh`).
    pub language: String,
    /// 1.0 is the engine's normal speed.
    #[serde(default = "normal_rate")]
    pub rate: f32,
    /// The voice to use when this one's engine is not installed.
    pub fallback: Option<String>,
}

fn normal_rate() -> f32 {
    1.0
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    default: BTreeMap<String, String>,
    #[serde(default)]
    voice: BTreeMap<String, VoiceSpec>,
}

/// Every voice, by name, and the default per language.
#[derive(Debug, Clone, PartialEq)]
pub struct VoiceBook {
    voices: BTreeMap<String, VoiceSpec>,
    defaults: BTreeMap<String, String>,
}

impl VoiceBook {
    /// Parses voices.toml text; `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<VoiceBook, ConfigError> {
        let file: File = toml::from_str(text).map_err(|e| ConfigError::Toml {
            file: path.to_owned(),
            line: e.span().map(|s| line_of(text, s.start)).unwrap_or(0),
            reason: e.message().to_owned(),
        })?;
        let invalid = |what: String| ConfigError::Invalid(format!("{}: {what}", path.display()));
        let mut voices = file.voice;
        for (name, spec) in &mut voices {
            spec.name = name.clone();
            if !(0.5..=2.0).contains(&spec.rate) {
                return Err(invalid(format!(
                    "voice {name}: rate {} is outside 0.5–2.0",
                    spec.rate
                )));
            }
        }
        for (name, spec) in &voices {
            if let Some(fallback) = &spec.fallback
                && !voices.contains_key(fallback)
            {
                return Err(invalid(format!(
                    "voice {name}: fallback {fallback:?} is not a [voice.*]"
                )));
            }
        }
        for (language, name) in &file.default {
            if !voices.contains_key(name) {
                return Err(invalid(format!(
                    "default voice {name:?} for {language} is not a [voice.*]"
                )));
            }
        }
        Ok(VoiceBook {
            voices,
            defaults: file.default,
        })
    }

    pub fn embedded() -> VoiceBook {
        VoiceBook::parse(EMBEDDED_VOICES, Path::new("voices/voices.toml"))
            .expect("the embedded voices.toml is valid (tested)")
    }

    pub fn get(&self, name: &str) -> Option<&VoiceSpec> {
        self.voices.get(name)
    }

    /// The default voice for `language` (`en-US` falls back to `en`, `cmn` to `zh`).
    pub fn default_for(&self, language: &str) -> Option<&VoiceSpec> {
        let primary = language.split(['-', '_']).next().unwrap_or(language);
        let primary = if primary == "cmn" { "zh" } else { primary };
        self.defaults
            .get(language)
            .or_else(|| self.defaults.get(primary))
            .and_then(|name| self.voices.get(name))
    }

    pub fn voices(&self) -> impl Iterator<Item = &VoiceSpec> {
        self.voices.values()
    }

    /// Whether `voice` is the default of some language.
    pub fn is_default(&self, voice: &str) -> bool {
        self.defaults.values().any(|v| v == voice)
    }

    pub fn names(&self) -> String {
        self.voices.keys().cloned().collect::<Vec<_>>().join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_voices_have_a_default_per_language() {
        let book = VoiceBook::embedded();
        assert_eq!(
            book.default_for("en").map(|v| v.engine),
            Some(EngineKind::Flite)
        );
        assert_eq!(
            book.default_for("en-US").map(|v| v.name.as_str()),
            Some("rms")
        );
        assert_eq!(
            book.default_for("zh-CN").map(|v| v.engine),
            Some(EngineKind::Espeak)
        );
        assert_eq!(
            book.default_for("cmn").map(|v| v.voice.as_str()),
            Some("cmn")
        );
        assert_eq!(book.default_for("fr"), None);
        assert_eq!(book.get("awb").map(|v| v.rate), Some(1.0));
    }

    #[test]
    fn errors_name_the_file_line_and_voice() {
        let path = Path::new("voices.toml");
        let bad_engine = "[voice.x]\nengine = \"sapi\"\nvoice = \"a\"\nlanguage = \"en\"\n";
        let err = VoiceBook::parse(bad_engine, path)
            .expect_err("engine")
            .to_string();
        assert!(err.starts_with("voices.toml:2:"), "{err}");
        let bad_default = "[default]\nen = \"nobody\"\n";
        let err = VoiceBook::parse(bad_default, path)
            .expect_err("default")
            .to_string();
        assert!(err.contains("\"nobody\" for en"), "{err}");
        let bad_rate =
            "[voice.x]\nengine = \"flite\"\nvoice = \"slt\"\nlanguage = \"en\"\nrate = 9\n";
        let err = VoiceBook::parse(bad_rate, path)
            .expect_err("rate")
            .to_string();
        assert!(err.contains("voice x: rate 9"), "{err}");
        let bad_fallback =
            "[voice.x]\nengine = \"flite\"\nvoice = \"slt\"\nlanguage = \"en\"\nfallback = \"y\"\n";
        let err = VoiceBook::parse(bad_fallback, path)
            .expect_err("fallback")
            .to_string();
        assert!(err.contains("fallback \"y\""), "{err}");
    }
}
