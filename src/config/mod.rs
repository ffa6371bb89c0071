//! Typed configuration: `sip-config/kefu.toml` (server), `dialplan.toml` (routes), `flows/*.toml`
//! (IVR flows). Parsed once at start; any error names the file and line and stops `kefu serve`
//! before it answers a single call. Without a `sip-config/` the embedded demo is used, so the
//! binary runs anywhere.

pub mod dialplan;
pub mod flow;
pub mod server;
pub mod voices;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use dialplan::Dialplan;
pub use flow::Flow;
pub use server::{LlmSection, MerchantSection, ServerConfig};
pub use voices::VoiceBook;

use crate::speech::grammar::{GrammarError, GrammarSet};

/// The grammars compiled into the binary, as (`<lang>/<file name>`, bytes).
const EMBEDDED_GRAMMARS: &[(&str, &[u8])] =
    include!(concat!(env!("OUT_DIR"), "/embedded_grammars.rs"));

/// The demo configuration compiled into the binary.
const EMBEDDED_SERVER: &str = include_str!("../../sip-config/kefu.toml");
const EMBEDDED_DIALPLAN: &str = include_str!("../../sip-config/dialplan.toml");

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// kefu.toml is not valid TOML or has a field of the wrong type.
    #[error("{}:{line}: {reason}", file.display())]
    Toml {
        file: PathBuf,
        line: usize,
        reason: String,
    },
    /// A value is out of range or refers to something that does not exist.
    #[error("{0}")]
    Invalid(String),
    /// A file could not be read.
    #[error("{}: {source}", file.display())]
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
    /// A flow file is broken.
    #[error(transparent)]
    Flow(#[from] flow::FlowError),
    /// The dialplan is broken.
    #[error(transparent)]
    Dialplan(#[from] dialplan::DialplanError),
    /// A grammar file is broken (boxed: the grammar errors are large and rare).
    #[error(transparent)]
    Grammar(Box<GrammarError>),
    /// A flow listens with a grammar that no file provides.
    #[error("{}: grammar \"{name}\" for language {lang} is not in {where_}", file.display())]
    MissingGrammar {
        file: PathBuf,
        lang: String,
        name: String,
        where_: String,
    },
}

/// Command-line flags that override the files.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub sip_listen: Option<SocketAddr>,
    pub http_listen: Option<SocketAddr>,
    pub rtp_ports: Option<String>,
    pub max_calls: Option<usize>,
    pub shutdown_grace_s: Option<u64>,
    pub model: Option<String>,
}

/// Everything `kefu serve` runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub dialplan: Dialplan,
    pub flows: BTreeMap<String, Arc<Flow>>,
    /// Where prompts are read from: `voices/prompts/` next to the config folder, or `None` for
    /// the prompts embedded in the binary.
    pub prompts_dir: Option<PathBuf>,
    /// Speech grammars: `grammars/` next to the config folder, else the embedded ones.
    pub grammars: Arc<GrammarSet>,
    /// Voices: `voices/voices.toml` next to the config folder, else the embedded one.
    pub voices: Arc<VoiceBook>,
    /// Where the configuration came from, for the start-up log line.
    pub origin: String,
}

impl Config {
    pub fn load(overrides: &Overrides) -> Result<Config, ConfigError> {
        let file = overrides.config_file.clone().or_else(|| {
            let default = PathBuf::from("sip-config/kefu.toml");
            default.is_file().then_some(default)
        });
        let mut config = match file {
            Some(file) => Self::from_dir(&file)?,
            None => Self::embedded()?,
        };
        let s = &mut config.server;
        if let Some(dir) = &overrides.data_dir {
            s.data.dir = dir.clone();
        }
        if let Some(addr) = overrides.sip_listen {
            s.sip.listen = addr;
        }
        if let Some(addr) = overrides.http_listen {
            s.http.listen = addr;
        }
        if let Some(n) = overrides.max_calls {
            s.limits.max_calls = n;
        }
        if let Some(g) = overrides.shutdown_grace_s {
            s.limits.shutdown_grace_s = g;
        }
        if let Some(model) = &overrides.model {
            s.speech.model = model.clone();
        }
        if let Some(ports) = &overrides.rtp_ports {
            server::parse_port_range(ports)?;
            s.rtp.ports = ports.clone();
        }
        Ok(config)
    }

    /// kefu.toml alone (for tools that need no flows): `file`, else sip-config/kefu.toml when
    /// it exists, else the embedded one.
    pub fn server_only(file: Option<&Path>) -> Result<ServerConfig, ConfigError> {
        let default = Path::new("sip-config/kefu.toml");
        match file.or(default.is_file().then_some(default)) {
            Some(file) => {
                let text = std::fs::read_to_string(file).map_err(|source| ConfigError::Read {
                    file: file.to_owned(),
                    source,
                })?;
                ServerConfig::parse(&text, file)
            }
            None => ServerConfig::parse(EMBEDDED_SERVER, default),
        }
    }

    /// kefu.toml at `file`, with dialplan.toml and flows/ beside it and prompts in
    /// `<file's folder>/../voices/prompts` when that exists.
    fn from_dir(file: &Path) -> Result<Config, ConfigError> {
        let read = |f: &Path| {
            std::fs::read_to_string(f).map_err(|source| ConfigError::Read {
                file: f.to_owned(),
                source,
            })
        };
        let server = ServerConfig::parse(&read(file)?, file)?;
        let dir = file.parent().unwrap_or(Path::new("."));
        let flows = flow::load_flows(&dir.join("flows"))?;
        let dialplan = dialplan::load_dialplan(&dir.join("dialplan.toml"), flows.keys())?;
        let prompts = dir.join("../voices/prompts");
        let grammars_dir = dir.join("../grammars");
        let (grammars, where_) = if grammars_dir.is_dir() {
            (
                GrammarSet::load_dir(&grammars_dir)?,
                grammars_dir.display().to_string(),
            )
        } else {
            (embedded_grammars()?, "the embedded grammars".into())
        };
        check_grammars(&flows, &grammars, &where_)?;
        let voices_file = dir.join("../voices/voices.toml");
        let voices = if voices_file.is_file() {
            VoiceBook::parse(&read(&voices_file)?, &voices_file)?
        } else {
            VoiceBook::embedded()
        };
        check_voices(&flows, &voices)?;
        Ok(Config {
            server,
            dialplan,
            flows,
            prompts_dir: prompts.is_dir().then_some(prompts),
            grammars: Arc::new(grammars),
            voices: Arc::new(voices),
            origin: file.display().to_string(),
        })
    }

    fn embedded() -> Result<Config, ConfigError> {
        let server = ServerConfig::parse(EMBEDDED_SERVER, Path::new("sip-config/kefu.toml"))?;
        let flows = flow::embedded_flows()?;
        let dialplan = dialplan::parse_dialplan(
            EMBEDDED_DIALPLAN,
            Path::new("sip-config/dialplan.toml"),
            flows.keys(),
        )?;
        let grammars = embedded_grammars()?;
        check_grammars(&flows, &grammars, "the embedded grammars")?;
        let voices = VoiceBook::embedded();
        check_voices(&flows, &voices)?;
        Ok(Config {
            server,
            dialplan,
            flows,
            prompts_dir: None,
            grammars: Arc::new(grammars),
            voices: Arc::new(voices),
            origin: "embedded defaults".into(),
        })
    }
}

/// The grammars a command outside `serve` uses: `./grammars/` when run in a kefu folder, else
/// the embedded ones.
pub fn local_grammars() -> Result<GrammarSet, GrammarError> {
    let dir = Path::new("grammars");
    if dir.is_dir() {
        GrammarSet::load_dir(dir)
    } else {
        embedded_grammars()
    }
}

/// The voices a command outside `serve` uses: `./voices/voices.toml` when run in a kefu folder,
/// else the embedded ones.
pub fn local_voices() -> Result<VoiceBook, ConfigError> {
    let file = Path::new("voices/voices.toml");
    if file.is_file() {
        let text = std::fs::read_to_string(file).map_err(|source| ConfigError::Read {
            file: file.to_owned(),
            source,
        })?;
        VoiceBook::parse(&text, file)
    } else {
        Ok(VoiceBook::embedded())
    }
}

impl From<GrammarError> for ConfigError {
    fn from(e: GrammarError) -> Self {
        ConfigError::Grammar(Box::new(e))
    }
}

fn embedded_grammars() -> Result<GrammarSet, GrammarError> {
    let texts: Vec<(&str, &str, &str)> = EMBEDDED_GRAMMARS
        .iter()
        .filter_map(|(path, bytes)| {
            let (lang, file) = path.split_once('/')?;
            Some((lang, file, std::str::from_utf8(bytes).ok()?))
        })
        .collect();
    GrammarSet::from_sources(texts)
}

/// Every grammar a flow listens with exists for the flow's language.
fn check_grammars(
    flows: &BTreeMap<String, Arc<Flow>>,
    grammars: &GrammarSet,
    where_: &str,
) -> Result<(), ConfigError> {
    for flow in flows.values() {
        for name in flow.grammar_names() {
            if grammars.get(&flow.language, name).is_none() {
                return Err(ConfigError::MissingGrammar {
                    file: flow.file.clone(),
                    lang: flow.language.clone(),
                    name: name.to_owned(),
                    where_: where_.to_owned(),
                });
            }
        }
    }
    Ok(())
}

/// Every voice a `say` node or a text prompt names is in voices.toml.
fn check_voices(
    flows: &BTreeMap<String, Arc<Flow>>,
    voices: &VoiceBook,
) -> Result<(), ConfigError> {
    for flow in flows.values() {
        for (voice, line) in flow.voice_names() {
            if voices.get(voice).is_none() {
                return Err(ConfigError::Invalid(format!(
                    "{}:{line}: voice {voice:?} is not in voices.toml (voices: {})",
                    flow.file.display(),
                    voices.names()
                )));
            }
        }
        if voices.default_for(&flow.language).is_none() && flow.uses_default_voice() {
            return Err(ConfigError::Invalid(format!(
                "{}: a say node or text prompt has no voice and voices.toml has no default for {}",
                flow.file.display(),
                flow.language
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_defaults_load_and_route_any_number() {
        let c = Config::embedded().expect("the embedded demo is valid");
        assert_eq!(c.dialplan.route("12345"), Some("hotline"));
        assert!(c.flows.contains_key("hotline"));
        assert_eq!(
            c.grammars.len(),
            std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("grammars/en"))
                .expect("grammars/en")
                .count()
                * 2,
            "every grammar of the repository is embedded, en and zh alike"
        );
    }

    #[test]
    fn the_repo_config_loads() {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("sip-config/kefu.toml");
        let c = Config::load(&Overrides {
            config_file: Some(file),
            ..Default::default()
        })
        .expect("sip-config/ is valid");
        assert!(c.prompts_dir.is_some());
        assert!(c.grammars.get("en", "order_number").is_some());
        assert!(c.grammars.get("zh", "order_number").is_some());
    }

    #[test]
    fn overrides_win() {
        let o = Overrides {
            sip_listen: Some("127.0.0.1:5099".parse().expect("addr")),
            rtp_ports: Some("40000-40100".into()),
            ..Default::default()
        };
        let c = Config::load(&o).expect("loads");
        assert_eq!(c.server.sip.listen.port(), 5099);
        assert_eq!(c.server.rtp.ports, "40000-40100");
        let bad = Overrides {
            rtp_ports: Some("x".into()),
            ..Default::default()
        };
        assert!(Config::load(&bad).is_err());
    }
}
