//! `sip-config/kefu.toml`: listeners, RTP ports, limits, agent phones, queues and trunks.
//! Every field has a default so that an empty file (or none at all) gives a working server.

use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::ConfigError;

/// The whole of kefu.toml.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    pub sip: SipSection,
    pub http: HttpSection,
    pub rtp: RtpSection,
    pub data: DataSection,
    pub limits: LimitsSection,
    pub speech: SpeechSection,
    /// Agent phones allowed to REGISTER (digest credentials).
    pub agents: Vec<AgentAccount>,
    /// Named groups of agents that `transfer` nodes can target as `queue:<name>`.
    pub queues: Vec<Queue>,
    /// Outbound SIP trunks (the dialer and SIP-URI transfers use them).
    pub trunks: Vec<Trunk>,
    /// The merchant's live system, asked for orders and customers the local shop lacks.
    pub merchant: MerchantSection,
    /// A language model that may rephrase the assistant's replies.
    pub llm: LlmSection,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SipSection {
    /// UDP and TCP listen address.
    pub listen: SocketAddr,
    /// Address written into Contact and SDP when kefu sits behind NAT; the listen IP otherwise.
    pub public_ip: Option<std::net::IpAddr>,
    /// Realm of the digest challenge for REGISTER.
    pub realm: String,
    /// How long an inbound call rings (180) before kefu answers; 0 answers at once. Some carrier
    /// setups want a ring first; a caller who hangs up meanwhile ends as `caller.cancel`.
    pub answer_delay_ms: u64,
}

impl Default for SipSection {
    fn default() -> Self {
        SipSection {
            listen: SocketAddr::from(([127, 0, 0, 1], 5060)),
            public_ip: None,
            realm: "kefu".into(),
            answer_delay_ms: 0,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSection {
    pub listen: SocketAddr,
}

impl Default for HttpSection {
    fn default() -> Self {
        HttpSection {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RtpSection {
    /// Port range as `"20000-29999"`; each call takes one even port (RTCP on the next odd one).
    pub ports: String,
    /// Hang up after this long without a single RTP packet from the caller.
    pub media_timeout_s: u64,
    /// Jitter buffer target delay.
    pub jitter_ms: u32,
}

impl Default for RtpSection {
    fn default() -> Self {
        RtpSection {
            ports: "20000-29999".into(),
            media_timeout_s: 30,
            jitter_ms: 40,
        }
    }
}

impl RtpSection {
    pub fn port_range(&self) -> Result<RangeInclusive<u16>, ConfigError> {
        parse_port_range(&self.ports)
    }
}

/// Parses `"20000-29999"`.
pub fn parse_port_range(s: &str) -> Result<RangeInclusive<u16>, ConfigError> {
    let bad = || {
        ConfigError::Invalid(format!(
            "RTP port range {s:?}: expected LOW-HIGH, e.g. 20000-29999"
        ))
    };
    let (lo, hi) = s.split_once('-').ok_or_else(bad)?;
    let lo: u16 = lo.trim().parse().map_err(|_| bad())?;
    let hi: u16 = hi.trim().parse().map_err(|_| bad())?;
    if lo < 1024 || hi < lo.saturating_add(1) {
        return Err(bad());
    }
    Ok(lo..=hi)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataSection {
    /// SQLite database and recordings live here.
    pub dir: PathBuf,
}

impl Default for DataSection {
    fn default() -> Self {
        DataSection {
            dir: PathBuf::from("data"),
        }
    }
}

/// Speech recognition. Without a model kefu runs keypad-only and says how to install one.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpeechSection {
    /// A whisper model installed with `kefu models` (a name such as `tiny.en`, looked up in
    /// `<data dir>/models/`) or the path of a ggml file.
    pub model: String,
    /// Decodes that run at once, each with its own whisper state; 0 picks cores / threads.
    pub workers: usize,
    /// Threads of one decode. Default 1: ggml's threads spin waiting for each other, so on a
    /// server busy with calls more threads per decode are slower, not faster.
    pub threads_per_worker: usize,
    /// Caller speech that stops kefu's voice (barge-in), in ms; shorter sounds (a cough, a
    /// click) and the echo of kefu's own voice do not.
    pub barge_in_min_speech_ms: u64,
    /// Silence, in ms, that ends a caller's turn once the words so far make a complete answer
    /// (a grammar's whole answer, or a finished sentence); the node's `end_silence_ms` ends the
    /// others. Set it to the nodes' end silence to always wait that long.
    pub complete_silence_ms: u64,
}

impl Default for SpeechSection {
    fn default() -> Self {
        SpeechSection {
            model: "tiny.en".into(),
            workers: 0,
            threads_per_worker: 1,
            barge_in_min_speech_ms: 300,
            complete_silence_ms: 250,
        }
    }
}

/// The merchant's order system over HTTP JSON: the client is `runtime::merchant`, the answer's
/// format `shop::merchant`. Off unless a URL is set.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MerchantSection {
    /// GET for one order, `{order}` filled in, e.g. `https://shop.example/api/orders/{order}`.
    pub order_url: Option<String>,
    /// GET for a customer and their orders by phone, `{phone}` filled in.
    pub customer_url: Option<String>,
    /// Whole-request limit; past it the caller hears an apology and is offered a person.
    pub timeout_ms: u64,
    /// How long an answer (found or not found) is reused; 0 asks every time.
    pub cache_s: u64,
    /// Sent with every request, e.g. `{ Authorization = "Bearer ..." }`.
    pub headers: std::collections::BTreeMap<String, String>,
}

impl Default for MerchantSection {
    fn default() -> Self {
        MerchantSection {
            order_url: None,
            customer_url: None,
            timeout_ms: 2000,
            cache_s: 60,
            headers: Default::default(),
        }
    }
}

/// An OpenAI-compatible chat endpoint (a local llama.cpp or vLLM server, or a hosted one) that
/// rephrases the assistant's plain answers, checked against them (`dialogue::assistant::
/// phrasing`). Off unless `url` is set; everything works without it.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LlmSection {
    /// Base URL, e.g. `http://127.0.0.1:8000/v1`; kefu POSTs to `<url>/chat/completions`.
    pub url: Option<String>,
    pub model: String,
    /// The environment variable holding the API key (sent as a bearer token), if one is needed.
    pub api_key_env: Option<String>,
    /// Past this the caller hears the reply as the assistant wrote it.
    pub timeout_ms: u64,
}

impl Default for LlmSection {
    fn default() -> Self {
        LlmSection {
            url: None,
            model: "default".into(),
            api_key_env: None,
            timeout_ms: 1500,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsSection {
    pub max_calls: usize,
    pub invites_per_second: f64,
    pub invite_burst: f64,
    /// On SIGTERM, live calls get this long to finish before kefu sends BYE.
    pub shutdown_grace_s: u64,
}

impl Default for LimitsSection {
    fn default() -> Self {
        LimitsSection {
            max_calls: 1000,
            invites_per_second: 50.0,
            invite_burst: 100.0,
            shutdown_grace_s: 30,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentAccount {
    /// SIP user name the phone registers as; `agent:<name>` in flows.
    pub name: String,
    pub password: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Queue {
    pub name: String,
    /// Agent names, tried in order.
    pub agents: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trunk {
    pub name: String,
    /// Where INVITEs go, e.g. `sip:carrier.example.com:5060`.
    pub proxy: String,
    pub username: Option<String>,
    pub password: Option<String>,
    /// Caller id presented on outbound calls.
    pub from_user: Option<String>,
}

impl ServerConfig {
    /// Parses kefu.toml text; `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<ServerConfig, ConfigError> {
        let config: ServerConfig = toml::from_str(text).map_err(|e| ConfigError::Toml {
            file: path.to_owned(),
            line: e.span().map(|s| line_of(text, s.start)).unwrap_or(0),
            reason: e.message().to_owned(),
        })?;
        config.rtp.port_range()?;
        let in_range = |field: &str, value: u64| {
            if (100..=10_000).contains(&value) {
                Ok(())
            } else {
                Err(ConfigError::Invalid(format!(
                    "{}: {field} {value} is out of range (100 to 10000)",
                    path.display()
                )))
            }
        };
        in_range(
            "[speech] complete_silence_ms",
            config.speech.complete_silence_ms,
        )?;
        let merchant = &config.merchant;
        for (field, url, key) in [
            ("order_url", &merchant.order_url, "{order}"),
            ("customer_url", &merchant.customer_url, "{phone}"),
        ] {
            if let Some(url) = url
                && (!url.contains(key) || !url.starts_with("http"))
            {
                return Err(ConfigError::Invalid(format!(
                    "{}: [merchant] {field} {url:?} must be an http(s) URL with {key} in it",
                    path.display()
                )));
            }
        }
        in_range("[merchant] timeout_ms", merchant.timeout_ms)?;
        let llm = &config.llm;
        if let Some(url) = &llm.url
            && !url.starts_with("http")
        {
            return Err(ConfigError::Invalid(format!(
                "{}: [llm] url {url:?} must be an http(s) URL",
                path.display()
            )));
        }
        in_range("[llm] timeout_ms", llm.timeout_ms)?;
        for q in &config.queues {
            for a in &q.agents {
                if !config.agents.iter().any(|acc| &acc.name == a) {
                    return Err(ConfigError::Invalid(format!(
                        "{}: queue {:?} lists agent {a:?}, which has no [[agents]] entry",
                        path.display(),
                        q.name
                    )));
                }
            }
        }
        Ok(config)
    }
}

/// 1-based line number of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_the_contract_defaults() {
        let c = ServerConfig::parse("", Path::new("kefu.toml")).expect("empty config is valid");
        assert_eq!(c.sip.listen.to_string(), "127.0.0.1:5060");
        assert_eq!(c.http.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.rtp.port_range().expect("default range"), 20000..=29999);
        assert_eq!(c.data.dir, PathBuf::from("data"));
    }

    #[test]
    fn errors_name_file_and_line() {
        let text = "[sip]\nlisten = \"127.0.0.1:5060\"\n\n[rtp]\nports = 5\n";
        let e = ServerConfig::parse(text, Path::new("sip-config/kefu.toml")).unwrap_err();
        assert!(e.to_string().starts_with("sip-config/kefu.toml:5: "), "{e}");
        let e = ServerConfig::parse("[sip]\nlisten_on = 1\n", Path::new("k.toml")).unwrap_err();
        assert!(e.to_string().contains("k.toml:2"), "{e}");
    }

    #[test]
    fn queues_must_name_known_agents() {
        let text = "[[agents]]\nname = \"1001\"\npassword = \"x\"\n[[queues]]\nname = \"agents\"\nagents = [\"1002\"]\n";
        let e = ServerConfig::parse(text, Path::new("k.toml")).unwrap_err();
        assert!(e.to_string().contains("\"1002\""), "{e}");
    }

    #[test]
    fn complete_silence_is_bounded() {
        let ok = ServerConfig::parse("[speech]\ncomplete_silence_ms = 300\n", Path::new("k.toml"))
            .expect("in range");
        assert_eq!(ok.speech.complete_silence_ms, 300);
        let e = ServerConfig::parse("[speech]\ncomplete_silence_ms = 20\n", Path::new("k.toml"))
            .unwrap_err();
        assert!(e.to_string().contains("complete_silence_ms 20"), "{e}");
    }

    #[test]
    fn merchant_urls_need_their_placeholder() {
        let ok = ServerConfig::parse(
            "[merchant]\norder_url = \"http://127.0.0.1:9/o/{order}\"\n",
            Path::new("k.toml"),
        )
        .expect("valid");
        assert!(ok.merchant.order_url.is_some());
        let e = ServerConfig::parse(
            "[merchant]\ncustomer_url = \"http://x/c?phone=\"\n",
            Path::new("k.toml"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("{phone}"), "{e}");
        let e =
            ServerConfig::parse("[merchant]\ntimeout_ms = 5\n", Path::new("k.toml")).unwrap_err();
        assert!(e.to_string().contains("timeout_ms 5"), "{e}");
    }

    #[test]
    fn port_ranges() {
        assert!(parse_port_range("20000-20001").is_ok());
        assert!(parse_port_range("20000").is_err());
        assert!(parse_port_range("30000-20000").is_err());
        assert!(parse_port_range("80-90").is_err());
    }
}
