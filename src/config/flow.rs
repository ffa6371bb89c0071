//! IVR flows: one `sip-config/flows/<name>.toml` per flow, parsed into typed nodes and checked
//! when loaded, so a broken flow stops kefu at start with `file:line: reason` instead of failing
//! in the middle of a call.
//!
//! A file holds a few settings and a table of named nodes, each with a `kind`:
//!
//! ```toml
//! start = "greeting"
//! language = "en"            # recordings come from voices/prompts/<language>/
//!
//! [nodes.greeting]
//! kind = "play"
//! prompt = ["greeting", { digits = "caller" }, { text = "Calls are recorded." }]
//! next = "menu"
//! ```
//!
//! Kinds: `play`, `say`, `menu`, `collect`, `listen`, `converse`, `set`, `branch`, `transfer`,
//! `record`, `hangup`. Every field is described on the typed struct of its kind below. `menu` and
//! `collect` also take the caller's speech when given a `speech = { grammar = "..." }` table
//! ([`SpeechInput`]); `listen` and `converse` (the shop assistant) always do. `dialogue::FlowRun` runs a parsed flow; this module only reads and
//! checks it. To add a kind, see `dialogue` (the module doc).

mod parse;
mod speech;
mod template;

pub use template::Template;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

/// The flows shipped with kefu, as `(name, text)`: any number reaches `hotline` on a fresh install.
pub const EMBEDDED_FLOWS: &[(&str, &str)] = &[
    (
        "hotline",
        include_str!("../../sip-config/flows/hotline.toml"),
    ),
    (
        "voicemail",
        include_str!("../../sip-config/flows/voicemail.toml"),
    ),
];

/// Longest digit string a `collect` node may ask for.
pub const MAX_DIGITS_LIMIT: u32 = 64;

/// A flow file that cannot be used. Displayed as `path:line: reason`; `line` is 1-based, or 0
/// when the problem is not inside the file (it could not be read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowError {
    pub file: PathBuf,
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for FlowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.reason)
        } else {
            write!(f, "{}:{}: {}", self.file.display(), self.line, self.reason)
        }
    }
}

impl std::error::Error for FlowError {}

/// 1-based line of byte `offset` in `text` (offsets past the end count as the last line).
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// A parsed, checked flow: every node reference points at a node of the flow.
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    /// The file stem, e.g. `hotline`; the dialplan refers to flows by it.
    pub name: String,
    /// Where it came from, for messages.
    pub file: PathBuf,
    /// Selects `voices/prompts/<language>/`. Default `en`.
    pub language: String,
    /// Whether calls in this flow are recorded whole. Default true.
    pub record_calls: bool,
    /// The call is hung up (`flow.max_duration`) after this long, agent time included.
    pub max_duration: Option<Duration>,
    pub start: NodeName,
    pub nodes: BTreeMap<NodeName, Node>,
}

impl Flow {
    pub fn node(&self, name: &NodeName) -> Option<&Node> {
        self.nodes.get(name)
    }

    /// Every prompt file the flow may play, so the caller can check they all exist at start.
    /// A digit read-back anywhere adds `digit-0`..`digit-9`, `star` and `hash`.
    pub fn prompt_names(&self) -> BTreeSet<PromptRef> {
        let mut names = BTreeSet::new();
        for node in self.nodes.values() {
            for item in node.kind.prompt_items() {
                match item {
                    PromptItem::Prompt(name) => {
                        names.insert(name.clone());
                    }
                    PromptItem::Digits(_) => names.extend(PromptRef::key_prompts()),
                    PromptItem::Text(_) => {}
                }
            }
        }
        names
    }

    /// Every grammar the flow's nodes listen with, so the caller can check that
    /// `grammars/<language>/<name>.grxml` exists for each at start.
    pub fn grammar_names(&self) -> BTreeSet<&str> {
        self.nodes
            .values()
            .filter_map(|node| node.kind.speech())
            .filter_map(|speech| speech.grammar.as_deref())
            .collect()
    }

    /// Every voice the flow's `say` nodes name, with the node's line, so the caller can check
    /// them against voices.toml at start.
    pub fn voice_names(&self) -> Vec<(&str, usize)> {
        let mut names = Vec::new();
        for node in self.nodes.values() {
            if let NodeKind::Say(say) = &node.kind {
                names.extend(say.voice.as_deref().map(|v| (v, node.line)));
            }
            for item in node.kind.prompt_items() {
                if let PromptItem::Text(t) = item {
                    names.extend(t.voice.as_deref().map(|v| (v, node.line)));
                }
            }
        }
        names
    }

    /// Every text prompt, rendered once at start and then played like a recording.
    pub fn text_prompts(&self) -> BTreeSet<&TextPrompt> {
        self.nodes
            .values()
            .flat_map(|node| node.kind.prompt_items())
            .filter_map(|item| match item {
                PromptItem::Text(t) => Some(t),
                _ => None,
            })
            .collect()
    }

    /// Whether something in the flow speaks with the language's default voice.
    pub fn uses_default_voice(&self) -> bool {
        self.nodes.values().any(|node| {
            matches!(&node.kind, NodeKind::Say(s) if s.voice.is_none())
                || matches!(&node.kind, NodeKind::Converse(c) if c.voice.is_none())
                || matches!(&node.kind, NodeKind::Transfer(t) if t.brief.is_some())
                || node
                    .kind
                    .prompt_items()
                    .iter()
                    .any(|item| matches!(item, PromptItem::Text(t) if t.voice.is_none()))
        })
    }

    /// Every transfer target, so the caller can check that agents and queues exist.
    pub fn transfer_targets(&self) -> Vec<&TransferTarget> {
        self.nodes
            .values()
            .filter_map(|node| match &node.kind {
                NodeKind::Transfer(t) => Some(&t.target),
                _ => None,
            })
            .collect()
    }
}

/// One named node of a flow.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub name: NodeName,
    /// Line of the node's table in its file, for messages.
    pub line: usize,
    pub kind: NodeKind,
}

/// What a node does. Adding a kind: a variant here, its spec struct and a line in
/// `parse::parse_node`, its arm in [`NodeKind::prompt_items`], then its step in `dialogue`.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    Play(PlayNode),
    Say(SayNode),
    Menu(MenuNode),
    Collect(CollectNode),
    Listen(ListenNode),
    Converse(ConverseNode),
    Set(SetNode),
    Branch(BranchNode),
    Transfer(TransferNode),
    Record(RecordNode),
    Hangup(HangupNode),
}

impl NodeKind {
    /// The `kind = "..."` word of this node.
    pub fn word(&self) -> &'static str {
        match self {
            NodeKind::Play(_) => "play",
            NodeKind::Say(_) => "say",
            NodeKind::Menu(_) => "menu",
            NodeKind::Collect(_) => "collect",
            NodeKind::Listen(_) => "listen",
            NodeKind::Converse(_) => "converse",
            NodeKind::Set(_) => "set",
            NodeKind::Branch(_) => "branch",
            NodeKind::Transfer(_) => "transfer",
            NodeKind::Record(_) => "record",
            NodeKind::Hangup(_) => "hangup",
        }
    }

    /// Every prompt item the node may play.
    pub fn prompt_items(&self) -> Vec<&PromptItem> {
        let lists: Vec<&[PromptItem]> = match self {
            NodeKind::Play(n) => vec![&n.prompt],
            NodeKind::Menu(n) => vec![&n.prompt, &n.invalid_prompt, &n.timeout_prompt],
            NodeKind::Collect(n) => vec![&n.prompt, &n.invalid_prompt, &n.timeout_prompt],
            NodeKind::Listen(n) => vec![&n.prompt, &n.invalid_prompt, &n.timeout_prompt],
            NodeKind::Say(_) | NodeKind::Converse(_) | NodeKind::Set(_) | NodeKind::Branch(_) => {
                vec![]
            }
            NodeKind::Transfer(n) => vec![&n.announce],
            NodeKind::Record(n) => vec![&n.prompt],
            NodeKind::Hangup(n) => vec![&n.prompt],
        };
        lists.into_iter().flatten().collect()
    }

    /// How the node listens to the caller, if it does.
    pub fn speech(&self) -> Option<&SpeechInput> {
        match self {
            NodeKind::Menu(n) => n.speech.as_ref(),
            NodeKind::Collect(n) => n.speech.as_ref(),
            NodeKind::Listen(n) => Some(&n.speech),
            NodeKind::Converse(n) => Some(&n.speech),
            _ => None,
        }
    }
}

/// Plays prompts, then goes on.
#[derive(Debug, Clone, PartialEq)]
pub struct PlayNode {
    pub prompt: Vec<PromptItem>,
    /// A key press stops the prompt and goes on at once; the key is kept for the next menu
    /// or collect node (type-ahead). Default false.
    pub barge_in: bool,
    pub next: NodeName,
}

/// Speaks text (with variables) in a synthesised voice, then goes on.
#[derive(Debug, Clone, PartialEq)]
pub struct SayNode {
    /// What to say: plain text or `<speak>` SSML, with `{var}` for the call's variables.
    pub text: Template,
    /// A voice of voices.toml; default: the flow language's default voice.
    pub voice: Option<String>,
    /// The caller may cut it short (speech or a key); a key is kept as type-ahead. Default
    /// true: a spoken reply is there to be interrupted, unless it is a legal notice.
    pub barge_in: bool,
    pub next: NodeName,
}

/// Plays a prompt and waits for one key, or, with `speech`, for the caller to say a choice.
#[derive(Debug, Clone, PartialEq)]
pub struct MenuNode {
    pub prompt: Vec<PromptItem>,
    /// Key (`0`-`9`, `*`, `#`, `A`-`D`) to node. Never empty.
    pub options: BTreeMap<char, NodeName>,
    /// Wait after the prompt ends. Default 5 s.
    pub timeout: Duration,
    /// Further attempts after the first one fails. Default 2.
    pub retries: u32,
    /// Played before the menu prompt again after a key with no option (may be empty).
    pub invalid_prompt: Vec<PromptItem>,
    /// Played before the menu prompt again after no key (may be empty).
    pub timeout_prompt: Vec<PromptItem>,
    /// Where to go when attempts run out; none hangs up with `flow.no_input`.
    pub on_failure: Option<NodeName>,
    /// Listen while the menu is current (grammar required). A spoken choice is the grammar's
    /// interpretation: found in `speech_options`, or equal to an option's key (`"1"`).
    pub speech: Option<SpeechInput>,
    /// Interpretation (`"order"`) to node; only with `speech`. Looked up before the keys.
    pub speech_options: BTreeMap<String, NodeName>,
}

/// Plays a prompt and collects a digit string into a variable.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectNode {
    pub prompt: Vec<PromptItem>,
    pub var: VarName,
    /// Default 1; `min_digits <= max_digits <= MAX_DIGITS_LIMIT`.
    pub min_digits: u32,
    /// Input ends by itself at this length. Default 20.
    pub max_digits: u32,
    /// Key that ends input early; never a digit. Default `#`; `terminator = ""` for none.
    pub terminator: Option<char>,
    /// Wait for the first digit after the prompt ends. Default 5 s.
    pub first_digit_timeout: Duration,
    /// Wait after each digit; then input ends (or fails if shorter than `min_digits`). Default 3 s.
    pub inter_digit_timeout: Duration,
    /// Further attempts after the first one fails. Default 2.
    pub retries: u32,
    pub invalid_prompt: Vec<PromptItem>,
    pub timeout_prompt: Vec<PromptItem>,
    pub next: NodeName,
    /// Where to go when attempts run out; none hangs up with `flow.no_input`.
    pub on_failure: Option<NodeName>,
    /// Listen too (grammar required): an interpretation of `min_digits..=max_digits` digits
    /// fills `var` as if typed.
    pub speech: Option<SpeechInput>,
}

/// Plays a prompt and recognises what the caller says into a variable; keys may answer too.
#[derive(Debug, Clone, PartialEq)]
pub struct ListenNode {
    /// May be left out when the node before (a `say`) has just asked the question: then the
    /// no-input timer starts at once.
    pub prompt: Vec<PromptItem>,
    /// Required. `speech.retries` does not apply: the node's own `retries` counts every attempt.
    pub speech: SpeechInput,
    /// Receives the grammar's interpretation, or the text without a grammar; `<var>_text` the
    /// recognised text and `<var>_confidence` the confidence with two decimals (`0.87`).
    pub var: VarName,
    /// Wait for speech (or a key) after the prompt ends. Default 5 s.
    pub timeout: Duration,
    /// Further attempts after the first one fails (no match, timeout, bad keys). Default 2.
    pub retries: u32,
    pub invalid_prompt: Vec<PromptItem>,
    pub timeout_prompt: Vec<PromptItem>,
    pub next: NodeName,
    /// Where to go when attempts run out; none hangs up with `flow.no_input`.
    pub on_failure: Option<NodeName>,
    /// Digits ended by `#` also answer (into `var` alone). Default true.
    pub keys: bool,
}

/// Hands the caller's turns to the shop assistant (`dialogue::assistant`): it greets, answers
/// from the shop, asks back, changes orders after a yes, and hands over to a person. Keys still
/// work: while the assistant is not asking for a number, a key in `keys` goes to its node.
#[derive(Debug, Clone, PartialEq)]
pub struct ConverseNode {
    /// Said after the assistant's greeting on the first visit: what the caller may ask, keys.
    pub intro: Option<Template>,
    /// How to listen. No grammar: the assistant reads free speech.
    pub speech: SpeechInput,
    /// Key to node, for callers who would rather press keys.
    pub keys: BTreeMap<char, NodeName>,
    /// The node (usually a `transfer`) that connects a person.
    pub handoff: NodeName,
    /// A skill (`orders`, `returns`, `collectibles`, `sales`, `general`) to its own handoff
    /// node; skills not named go to `handoff`.
    pub skills: BTreeMap<String, NodeName>,
    /// The voice of replies in the flow's language; default: that language's default voice.
    /// Replies in another language (a caller who speaks Chinese) use its default voice.
    pub voice: Option<String>,
    /// Silence after a reply before the caller is asked whether they are still there.
    /// Default 8 s.
    pub timeout: Duration,
    /// Such reminders before `on_failure`. Default 2.
    pub retries: u32,
    /// After the assistant said goodbye; none hangs up with `flow.hangup`.
    pub next: Option<NodeName>,
    /// The caller stayed silent or was not understood; none hangs up with `flow.no_input`.
    pub on_failure: Option<NodeName>,
}

/// How a node listens to the caller: `speech = { grammar = "order_number", min_confidence = 0.6 }`.
/// Recognition itself (denoise, endpointing, whisper, grammar matching) is the driver's.
#[derive(Debug, Clone, PartialEq)]
pub struct SpeechInput {
    /// `grammars/<language>/<grammar>.grxml` (lower-case letters, digits, `-`, `_`): constrains
    /// recognition, and its `out` is the interpretation a node acts on. Required on `menu` and
    /// `collect`; a `listen` node without one takes the text as it was heard.
    pub grammar: Option<String>,
    /// Words the recogniser should expect (names, products). At most 500 characters.
    pub hints: Option<String>,
    /// Silence that ends the caller's turn (`end_silence_ms`, 100 to 10000). Default 500 ms.
    pub end_silence: Duration,
    /// A result less sure than this (0 to 1) is no match. Default 0.5.
    pub min_confidence: f32,
    /// Suppress noise before recognition. Default true.
    pub denoise: bool,
    /// Failed speech attempts after which a menu or collect stops listening and takes keys only
    /// (at least 1). Default 1. Not allowed on a `listen` node.
    pub retries: u32,
}

/// Sets variables to fixed strings, then goes on.
#[derive(Debug, Clone, PartialEq)]
pub struct SetNode {
    pub vars: BTreeMap<VarName, String>,
    pub next: NodeName,
}

/// Goes to a node chosen by a variable's value. Order of tests: `empty` (unset or ""), the
/// `cases`, `nonempty`, then `default`.
#[derive(Debug, Clone, PartialEq)]
pub struct BranchNode {
    pub var: VarName,
    pub cases: BTreeMap<String, NodeName>,
    pub empty: Option<NodeName>,
    pub nonempty: Option<NodeName>,
    pub default: NodeName,
}

/// Connects the caller to a person.
#[derive(Debug, Clone, PartialEq)]
pub struct TransferNode {
    pub target: TransferTarget,
    /// Ring time before giving up. Default 30 s.
    pub timeout: Duration,
    /// Played to the caller before ringing (may be empty).
    pub announce: Vec<PromptItem>,
    /// Said to the agent when they answer, before the caller is connected: the assistant's
    /// summary is `{handoff_summary}`. Nothing is said when it renders empty.
    pub brief: Option<Template>,
    /// Busy, no answer or unreachable; none hangs up with `flow.transfer_failed`.
    pub on_failure: Option<NodeName>,
    /// After the agent side hangs up; none hangs up with `flow.transfer_ended`.
    pub next: Option<NodeName>,
    /// Hand the call over with REFER (RFC 3515, a blind transfer) instead of bridging: for
    /// trunks and PBXs that ask to take the call themselves. kefu leaves the call once the far
    /// end reports success; `next` is then never reached. Default false.
    pub refer: bool,
}

/// Where a transfer goes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum TransferTarget {
    /// `agent:<name>`: one registered agent phone.
    Agent(String),
    /// `queue:<name>`: a group of agents listed in the main config.
    Queue(String),
    /// A `sip:` or `sips:` URI, dialled as is.
    Uri(String),
}

impl TransferTarget {
    pub fn parse(s: &str) -> Result<Self, String> {
        let named = |name: &str, what: &str| {
            if is_word(name, |c| c.is_ascii_alphanumeric() || "_.-".contains(c)) {
                Ok(name.to_string())
            } else {
                Err(format!(
                    "transfer target \"{s}\" needs a {what} name of letters, digits, _ . -"
                ))
            }
        };
        if let Some(name) = s.strip_prefix("agent:") {
            named(name, "agent").map(TransferTarget::Agent)
        } else if let Some(name) = s.strip_prefix("queue:") {
            named(name, "queue").map(TransferTarget::Queue)
        } else if let Some(rest) = s.strip_prefix("sip:").or_else(|| s.strip_prefix("sips:")) {
            if rest.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
                Err(format!("transfer target \"{s}\" is not a usable SIP URI"))
            } else {
                Ok(TransferTarget::Uri(s.to_string()))
            }
        } else {
            Err(format!(
                "transfer target \"{s}\" must start with agent:, queue:, sip: or sips:"
            ))
        }
    }
}

impl fmt::Display for TransferTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransferTarget::Agent(name) => write!(f, "agent:{name}"),
            TransferTarget::Queue(name) => write!(f, "queue:{name}"),
            TransferTarget::Uri(uri) => f.write_str(uri),
        }
    }
}

/// Records a message from the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordNode {
    /// Played first; a key press skips to the recording (may be empty).
    pub prompt: Vec<PromptItem>,
    /// A tone just before recording starts. Default true.
    pub beep: bool,
    /// Default 120.
    pub max_seconds: u32,
    /// Recording stops after this much silence; `silence_seconds = 0` never. Default 5.
    pub silence_seconds: Option<u32>,
    /// Receives the path of the recorded file.
    pub var: Option<VarName>,
    pub next: NodeName,
}

/// Optionally plays a prompt, then ends the call.
#[derive(Debug, Clone, PartialEq)]
pub struct HangupNode {
    pub prompt: Vec<PromptItem>,
    /// End cause written to the call record: `flow.` and a word. Default `flow.hangup`.
    pub cause: String,
}

/// One item of a prompt list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptItem {
    /// A recorded prompt, `voices/prompts/<language>/<name>.flac`.
    Prompt(PromptRef),
    /// `{ digits = "var" }`: the variable's keys read back one prompt per key.
    Digits(VarName),
    /// `{ text = "…", voice = "…" }`: words for a synthesised voice (the language's default
    /// without `voice`), rendered once at start, cached, then played like a recording.
    Text(TextPrompt),
}

/// A prompt given as text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TextPrompt {
    pub text: String,
    pub voice: Option<String>,
}

impl TextPrompt {
    /// The name its rendering is kept under: `text:` (no recording's name has a colon) and a
    /// digest of the voice and the words.
    pub fn name(&self) -> PromptRef {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        hash.update(self.voice.as_deref().unwrap_or_default());
        hash.update([0]);
        hash.update(&self.text);
        let digest = hash.finalize();
        let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        PromptRef(format!("text:{hex}"))
    }
}

/// The name of a recorded prompt: lower-case letters, digits, `-` and `_`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PromptRef(String);

impl PromptRef {
    pub fn new(name: &str) -> Result<Self, String> {
        if is_word(name, |c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_'
        }) {
            Ok(PromptRef(name.to_string()))
        } else {
            Err(format!(
                "prompt name \"{name}\" must be lower-case letters, digits, - and _"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The prompt that reads back key `key`: `digit-0`..`digit-9`, `star`, `hash`.
    pub fn for_key(key: char) -> Option<PromptRef> {
        let name = match key {
            '0'..='9' => format!("digit-{key}"),
            '*' => "star".to_string(),
            '#' => "hash".to_string(),
            _ => return None,
        };
        Some(PromptRef(name))
    }

    /// Every prompt a digit read-back may use.
    pub fn key_prompts() -> impl Iterator<Item = PromptRef> {
        "0123456789*#".chars().filter_map(PromptRef::for_key)
    }
}

impl fmt::Display for PromptRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The name of a node: ASCII letters, digits, `-` and `_` (a TOML bare key).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct NodeName(String);

impl NodeName {
    pub fn new(name: &str) -> Result<Self, String> {
        if is_word(name, |c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            Ok(NodeName(name.to_string()))
        } else {
            Err(format!(
                "node name \"{name}\" must be letters, digits, - and _"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for NodeName {
    type Error = String;
    fn try_from(name: String) -> Result<Self, String> {
        NodeName::new(&name)
    }
}

impl fmt::Display for NodeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The name of a flow variable: a letter or `_`, then letters, digits and `_`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct VarName(String);

impl VarName {
    pub fn new(name: &str) -> Result<Self, String> {
        let starts_well = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
        if starts_well && is_word(name, |c| c.is_ascii_alphanumeric() || c == '_') {
            Ok(VarName(name.to_string()))
        } else {
            Err(format!(
                "variable name \"{name}\" must be a letter or _, then letters, digits and _"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for VarName {
    type Error = String;
    fn try_from(name: String) -> Result<Self, String> {
        VarName::new(&name)
    }
}

impl fmt::Display for VarName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// True for a DTMF key kefu understands: `0`-`9`, `*`, `#`, `A`-`D` (RFC 4733 events 0-15).
pub fn is_dtmf_key(c: char) -> bool {
    c.is_ascii_digit() || matches!(c, '*' | '#' | 'A'..='D')
}

fn is_word(s: &str, allowed: impl Fn(char) -> bool) -> bool {
    !s.is_empty() && s.len() <= 64 && s.chars().all(allowed)
}

/// Reads every `*.toml` of `dir` as a flow named by its file stem.
pub fn load_flows(dir: &Path) -> Result<BTreeMap<String, Arc<Flow>>, FlowError> {
    let unreadable = |path: &Path, e: std::io::Error| FlowError {
        file: path.to_path_buf(),
        line: 0,
        reason: format!("cannot read: {e}"),
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| unreadable(dir, e))? {
        let path = entry.map_err(|e| unreadable(dir, e))?.path();
        if path.extension().is_some_and(|ext| ext == "toml") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    let mut flows = BTreeMap::new();
    for path in files {
        let text = std::fs::read_to_string(&path).map_err(|e| unreadable(&path, e))?;
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        let flow = parse_flow(&name, &text, &path)?;
        flows.insert(name, Arc::new(flow));
    }
    Ok(flows)
}

/// Parses the flows of [`EMBEDDED_FLOWS`].
pub fn embedded_flows() -> Result<BTreeMap<String, Arc<Flow>>, FlowError> {
    EMBEDDED_FLOWS
        .iter()
        .map(|(name, text)| {
            let path = PathBuf::from(format!("sip-config/flows/{name}.toml"));
            parse_flow(name, text, &path).map(|flow| (name.to_string(), Arc::new(flow)))
        })
        .collect()
}

/// Parses and checks one flow. `pretend_path` only names the file in errors.
pub fn parse_flow(name: &str, text: &str, pretend_path: &Path) -> Result<Flow, FlowError> {
    parse::parse(name, text, pretend_path).map_err(|p| FlowError {
        file: pretend_path.to_path_buf(),
        line: p.span.map_or(1, |span| line_of(text, span.start)),
        reason: p.reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse_hotline(text: &str) -> Result<Flow, FlowError> {
        parse_flow("hotline", text, Path::new("sip-config/flows/hotline.toml"))
    }

    fn name(s: &str) -> NodeName {
        NodeName::new(s).expect("valid test node name")
    }

    fn prompt(s: &str) -> PromptItem {
        PromptItem::Prompt(PromptRef::new(s).expect("valid test prompt name"))
    }

    const MINIMAL: &str = "start = \"bye\"\n[nodes.bye]\nkind = \"hangup\"\n";

    #[test]
    fn minimal_flow_gets_the_defaults() {
        let flow = parse_hotline(MINIMAL).expect("valid flow");
        assert_eq!(flow.name, "hotline");
        assert_eq!(flow.language, "en");
        assert!(flow.record_calls);
        assert_eq!(flow.max_duration, None);
        assert_eq!(flow.start, name("bye"));
        let node = flow.node(&name("bye")).expect("node exists");
        assert_eq!(node.line, 2);
        assert_eq!(
            node.kind,
            NodeKind::Hangup(HangupNode {
                prompt: vec![],
                cause: "flow.hangup".to_string()
            })
        );
        assert!(flow.prompt_names().is_empty());
        assert_eq!(node.kind.word(), "hangup");
    }

    const EVERY_KIND: &str = r#"
language = "zh"
record_calls = false
max_duration_s = 600
start = "hello"

[nodes.hello]
kind = "play"
prompt = ["hello", { digits = "caller" }]
barge_in = true
next = "main"

[nodes.main]
kind = "menu"
prompt = "main"
options = { "1" = "ask", "*" = "hello", "a" = "bye" }
timeout_ms = 4000
retries = 1
invalid_prompt = "invalid"
timeout_prompt = ["timeout", "sorry"]
on_failure = "bye"
speech = { grammar = "menu", min_confidence = 0.7, retries = 2 }
speech_options = { question = "ask", goodbye = "bye" }

[nodes.ask]
kind = "collect"
prompt = "ask"
var = "order"
min_digits = 4
max_digits = 10
terminator = "*"
first_digit_timeout_ms = 7000
inter_digit_timeout_ms = 2000
retries = 3
invalid_prompt = "invalid"
next = "name"
on_failure = "bye"
speech = { grammar = "order_number", end_silence_ms = 900 }

[nodes.name]
kind = "listen"
prompt = "say-name"
speech = { hints = "Kefu", denoise = false }
var = "name"
timeout_ms = 3000
retries = 1
invalid_prompt = "invalid"
timeout_prompt = "timeout"
next = "mark"
on_failure = "bye"
keys = false

[nodes.mark]
kind = "set"
vars = { topic = "order", tries = "1" }
next = "route"

[nodes.route]
kind = "branch"
var = "order"
cases = { "1234" = "person" }
empty = "ask"
nonempty = "voicemail"
default = "bye"

[nodes.person]
kind = "transfer"
target = "agent:alice"
timeout_ms = 20000
announce = "hold"
on_failure = "voicemail"
next = "bye"

[nodes.voicemail]
kind = "record"
beep = false
max_seconds = 60
silence_seconds = 0
next = "bye"

[nodes.bye]
kind = "hangup"
prompt = "bye"
cause = "flow.done"
"#;

    #[test]
    fn every_kind_parses_into_its_typed_node() {
        let flow = parse_hotline(EVERY_KIND).expect("valid flow");
        assert_eq!(flow.language, "zh");
        assert!(!flow.record_calls);
        assert_eq!(flow.max_duration, Some(Duration::from_secs(600)));
        let kind = |n: &str| &flow.node(&name(n)).expect("node exists").kind;
        assert_eq!(
            kind("hello"),
            &NodeKind::Play(PlayNode {
                prompt: vec![
                    prompt("hello"),
                    PromptItem::Digits(VarName::new("caller").expect("valid"))
                ],
                barge_in: true,
                next: name("main"),
            })
        );
        assert_eq!(
            kind("main"),
            &NodeKind::Menu(MenuNode {
                prompt: vec![prompt("main")],
                options: BTreeMap::from([
                    ('1', name("ask")),
                    ('*', name("hello")),
                    ('A', name("bye"))
                ]),
                timeout: Duration::from_millis(4000),
                retries: 1,
                invalid_prompt: vec![prompt("invalid")],
                timeout_prompt: vec![prompt("timeout"), prompt("sorry")],
                on_failure: Some(name("bye")),
                speech: Some(SpeechInput {
                    grammar: Some("menu".to_string()),
                    hints: None,
                    end_silence: Duration::from_millis(500),
                    min_confidence: 0.7,
                    denoise: true,
                    retries: 2,
                }),
                speech_options: BTreeMap::from([
                    ("goodbye".to_string(), name("bye")),
                    ("question".to_string(), name("ask")),
                ]),
            })
        );
        assert_eq!(
            kind("ask"),
            &NodeKind::Collect(CollectNode {
                prompt: vec![prompt("ask")],
                var: VarName::new("order").expect("valid"),
                min_digits: 4,
                max_digits: 10,
                terminator: Some('*'),
                first_digit_timeout: Duration::from_millis(7000),
                inter_digit_timeout: Duration::from_millis(2000),
                retries: 3,
                invalid_prompt: vec![prompt("invalid")],
                timeout_prompt: vec![],
                next: name("name"),
                on_failure: Some(name("bye")),
                speech: Some(SpeechInput {
                    grammar: Some("order_number".to_string()),
                    hints: None,
                    end_silence: Duration::from_millis(900),
                    min_confidence: 0.5,
                    denoise: true,
                    retries: 1,
                }),
            })
        );
        assert_eq!(
            kind("name"),
            &NodeKind::Listen(ListenNode {
                prompt: vec![prompt("say-name")],
                speech: SpeechInput {
                    grammar: None,
                    hints: Some("Kefu".to_string()),
                    end_silence: Duration::from_millis(500),
                    min_confidence: 0.5,
                    denoise: false,
                    retries: 1,
                },
                var: VarName::new("name").expect("valid"),
                timeout: Duration::from_millis(3000),
                retries: 1,
                invalid_prompt: vec![prompt("invalid")],
                timeout_prompt: vec![prompt("timeout")],
                next: name("mark"),
                on_failure: Some(name("bye")),
                keys: false,
            })
        );
        assert_eq!(
            flow.grammar_names().into_iter().collect::<Vec<_>>(),
            ["menu", "order_number"]
        );
        let NodeKind::Set(set) = kind("mark") else {
            panic!("mark is a set node")
        };
        assert_eq!(set.vars.len(), 2);
        let NodeKind::Branch(branch) = kind("route") else {
            panic!("route is a branch node")
        };
        assert_eq!(branch.cases.get("1234"), Some(&name("person")));
        assert_eq!(branch.empty, Some(name("ask")));
        assert_eq!(branch.nonempty, Some(name("voicemail")));
        assert_eq!(
            kind("person"),
            &NodeKind::Transfer(TransferNode {
                target: TransferTarget::Agent("alice".to_string()),
                timeout: Duration::from_millis(20000),
                announce: vec![prompt("hold")],
                brief: None,
                on_failure: Some(name("voicemail")),
                next: Some(name("bye")),
                refer: false,
            })
        );
        assert_eq!(
            kind("voicemail"),
            &NodeKind::Record(RecordNode {
                prompt: vec![],
                beep: false,
                max_seconds: 60,
                silence_seconds: None,
                var: None,
                next: name("bye"),
            })
        );
        let NodeKind::Hangup(bye) = kind("bye") else {
            panic!("bye is a hangup node")
        };
        assert_eq!(bye.cause, "flow.done");
        assert_eq!(
            flow.transfer_targets(),
            vec![&TransferTarget::Agent("alice".to_string())]
        );
    }

    #[test]
    fn prompt_names_include_the_key_prompts_of_a_read_back() {
        let flow = parse_hotline(EVERY_KIND).expect("valid flow");
        let names: Vec<String> = flow
            .prompt_names()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            names,
            [
                "ask", "bye", "digit-0", "digit-1", "digit-2", "digit-3", "digit-4", "digit-5",
                "digit-6", "digit-7", "digit-8", "digit-9", "hash", "hello", "hold", "invalid",
                "main", "say-name", "sorry", "star", "timeout"
            ]
        );
    }

    #[test]
    fn load_flows_reads_every_toml_file_and_names_the_failing_one() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("a.toml"), MINIMAL).expect("write");
        std::fs::write(dir.path().join("b.toml"), EVERY_KIND).expect("write");
        std::fs::write(dir.path().join("notes.txt"), "not a flow").expect("write");
        let flows = load_flows(dir.path()).expect("both flows load");
        assert_eq!(flows.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(flows["b"].file, dir.path().join("b.toml"));

        let broken = dir.path().join("c.toml");
        std::fs::write(&broken, "start = \"a\"\n[nodes.a]\nkind = \"jump\"\n").expect("write");
        let err = load_flows(dir.path()).expect_err("c.toml is broken");
        assert_eq!((err.file, err.line), (broken, 3));

        let err = load_flows(&dir.path().join("missing")).expect_err("no such dir");
        assert_eq!(err.line, 0);
        assert!(err.to_string().contains("cannot read"), "{err}");
    }

    #[test]
    fn line_of_counts_newlines_before_the_offset() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a\nb\nc", 4), 3);
        assert_eq!(line_of("a\nb\nc", 400), 3);
    }

    proptest! {
        #[test]
        fn generated_chains_parse_with_their_prompts(
            prompts in proptest::collection::btree_set("[a-z][a-z0-9-]{0,8}", 1..8),
        ) {
            let prompts: Vec<String> = prompts.into_iter().collect();
            let mut text = String::from("start = \"n0\"\n");
            for (i, p) in prompts.iter().enumerate() {
                let next = if i + 1 == prompts.len() { "end".to_string() } else { format!("n{}", i + 1) };
                text += &format!("[nodes.n{i}]\nkind = \"play\"\nprompt = \"{p}\"\nnext = \"{next}\"\n");
            }
            text += "[nodes.end]\nkind = \"hangup\"\n";
            let flow = parse_hotline(&text).expect("generated flow is valid");
            let names: Vec<String> = flow.prompt_names().iter().map(ToString::to_string).collect();
            prop_assert_eq!(names, prompts);
            prop_assert_eq!(flow.nodes.len(), flow.prompt_names().len() + 1);
        }
    }
}
