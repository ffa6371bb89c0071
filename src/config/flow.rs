//! IVR flows: one `sip-config/flows/<name>.toml` per flow, parsed into typed nodes and checked
//! when loaded, so a broken flow stops kefu at start with `file:line: reason` instead of failing
//! in the middle of a call.
//!
//! A file holds a few settings and a table of named nodes, each with a `kind`:
//!
//! ```toml
//! start = "greeting"
//! language = "en"            # prompts come from voices/prompts/<language>/
//!
//! [nodes.greeting]
//! kind = "play"
//! prompt = ["greeting", { digits = "caller" }]
//! next = "menu"
//! ```
//!
//! Kinds: `play`, `menu`, `collect`, `set`, `branch`, `transfer`, `record`, `hangup`. Every field
//! is described on the typed struct of its kind below. `dialogue::FlowRun` runs a parsed flow;
//! this module only reads and checks it. To add a kind, see `dialogue` (the module doc).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

/// The flows shipped with kefu, as `(name, text)`: any number reaches `hotline` on a fresh install.
pub const EMBEDDED_FLOWS: &[(&str, &str)] = &[
    ("hotline", include_str!("../../sip-config/flows/hotline.toml")),
    (
        "voicemail",
        include_str!("../../sip-config/flows/voicemail.toml"),
    ),
];

/// Longest digit string a `collect` node may ask for.
pub const MAX_DIGITS_LIMIT: u32 = 64;
/// Longest timeout a node may wait for (one hour).
const MAX_TIMEOUT_MS: i64 = 3_600_000;
/// Longest recording or call a flow may ask for (one day).
const MAX_SECONDS: i64 = 86_400;

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
    text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
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
                }
            }
        }
        names
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
/// [`parse_node`], its arm in [`NodeKind::prompt_items`], then its step in `dialogue`.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    Play(PlayNode),
    Menu(MenuNode),
    Collect(CollectNode),
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
            NodeKind::Menu(_) => "menu",
            NodeKind::Collect(_) => "collect",
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
            NodeKind::Set(_) | NodeKind::Branch(_) => vec![],
            NodeKind::Transfer(n) => vec![&n.announce],
            NodeKind::Record(n) => vec![&n.prompt],
            NodeKind::Hangup(n) => vec![&n.prompt],
        };
        lists.into_iter().flatten().collect()
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

/// Plays a prompt and waits for one key.
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
    /// Busy, no answer or unreachable; none hangs up with `flow.transfer_failed`.
    pub on_failure: Option<NodeName>,
    /// After the agent side hangs up; none hangs up with `flow.transfer_ended`.
    pub next: Option<NodeName>,
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
    parse(name, text, pretend_path).map_err(|p| FlowError {
        file: pretend_path.to_path_buf(),
        line: p.span.map_or(1, |span| line_of(text, span.start)),
        reason: p.reason,
    })
}

/// A problem found while parsing, before it is placed in a file.
struct Problem {
    span: Option<Range<usize>>,
    reason: String,
}

impl Problem {
    fn at(span: Range<usize>, reason: String) -> Self {
        Problem {
            span: Some(span),
            reason,
        }
    }

    fn from_toml(e: &toml::de::Error, context: &str) -> Self {
        Problem {
            span: e.span(),
            reason: format!("{context}{}", e.message()),
        }
    }
}

/// Node references seen while parsing, checked once every node is known.
struct Links {
    node: String,
    seen: Vec<(String, String, Spanned<NodeName>)>,
}

impl Links {
    /// Notes that the current node's `what` goes to `to`.
    fn add(&mut self, what: impl Into<String>, to: Spanned<NodeName>) -> NodeName {
        let name = to.get_ref().clone();
        self.seen.push((self.node.clone(), what.into(), to));
        name
    }

    fn add_opt(&mut self, what: &str, to: Option<Spanned<NodeName>>) -> Option<NodeName> {
        to.map(|to| self.add(what, to))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsSpec {
    start: Spanned<NodeName>,
    language: Option<Spanned<String>>,
    record_calls: Option<bool>,
    max_duration_s: Option<Seconds>,
}

fn parse(name: &str, text: &str, path: &Path) -> Result<Flow, Problem> {
    if NodeName::new(name).is_err() {
        return Err(Problem {
            span: None,
            reason: format!("flow name \"{name}\" must be letters, digits, - and _"),
        });
    }
    let doc = DeTable::parse(text).map_err(|e| Problem::from_toml(&e, ""))?;
    let doc_span = doc.span();
    let mut doc = doc.into_inner();
    let Some(nodes) = doc.remove("nodes") else {
        return Err(Problem::at(0..0, "flow has no [nodes] table".to_string()));
    };
    let settings = SettingsSpec::deserialize(ValueDeserializer::from(Spanned::new(
        doc_span,
        DeValue::Table(doc),
    )))
    .map_err(|e| Problem::from_toml(&e, ""))?;
    let language = match settings.language {
        None => "en".to_string(),
        Some(lang) => {
            if !is_word(lang.get_ref(), |c| c.is_ascii_alphanumeric() || c == '-') {
                return Err(Problem::at(
                    lang.span(),
                    format!(
                        "language \"{}\" must be letters, digits and -",
                        lang.get_ref()
                    ),
                ));
            }
            lang.into_inner()
        }
    };

    let nodes_span = nodes.span();
    let DeValue::Table(table) = nodes.into_inner() else {
        return Err(Problem::at(nodes_span, "nodes must be a table".to_string()));
    };
    let mut entries: Vec<_> = table.into_iter().collect();
    // The map is sorted by name; report problems in file order instead.
    entries.sort_by_key(|(key, _)| key.span().start);
    let mut links = Links {
        node: String::new(),
        seen: Vec::new(),
    };
    let mut parsed = BTreeMap::new();
    for (key, value) in entries {
        let node_name = NodeName::new(key.get_ref()).map_err(|e| Problem::at(key.span(), e))?;
        links.node = node_name.to_string();
        let line = line_of(text, key.span().start);
        let kind = parse_node(&node_name, value, &mut links)?;
        parsed.insert(
            node_name.clone(),
            Node {
                name: node_name,
                line,
                kind,
            },
        );
    }
    if parsed.is_empty() {
        return Err(Problem::at(nodes_span, "flow has no nodes".to_string()));
    }
    if !parsed.contains_key(settings.start.get_ref()) {
        return Err(Problem::at(
            settings.start.span(),
            format!("start goes to unknown node \"{}\"", settings.start.get_ref()),
        ));
    }
    for (from, what, to) in &links.seen {
        if !parsed.contains_key(to.get_ref()) {
            return Err(Problem::at(
                to.span(),
                format!(
                    "node \"{from}\" {what} goes to unknown node \"{}\"",
                    to.get_ref()
                ),
            ));
        }
    }
    Ok(Flow {
        name: name.to_string(),
        file: path.to_path_buf(),
        language,
        record_calls: settings.record_calls.unwrap_or(true),
        max_duration: settings.max_duration_s.map(|s| s.0),
        start: settings.start.into_inner(),
        nodes: parsed,
    })
}

/// Every `kind = "..."` word, for the unknown-kind message.
const KINDS: &str = "play, menu, collect, set, branch, transfer, record, hangup";

fn parse_node(
    node: &NodeName,
    value: Spanned<DeValue<'_>>,
    links: &mut Links,
) -> Result<NodeKind, Problem> {
    let span = value.span();
    let mut value = value.into_inner();
    let DeValue::Table(table) = &mut value else {
        return Err(Problem::at(span, format!("node \"{node}\" must be a table")));
    };
    let Some(kind) = table.remove("kind") else {
        return Err(Problem::at(span, format!("node \"{node}\" has no kind")));
    };
    let value = Spanned::new(span, value);
    let word = kind.get_ref().as_str().unwrap_or_default();
    match word {
        "play" => build::<PlaySpec>(node, value, links),
        "menu" => build::<MenuSpec>(node, value, links),
        "collect" => build::<CollectSpec>(node, value, links),
        "set" => build::<SetSpec>(node, value, links),
        "branch" => build::<BranchSpec>(node, value, links),
        "transfer" => build::<TransferSpec>(node, value, links),
        "record" => build::<RecordSpec>(node, value, links),
        "hangup" => build::<HangupSpec>(node, value, links),
        _ => Err(Problem::at(
            kind.span(),
            format!("node \"{node}\" has unknown kind {word:?} (expected one of {KINDS})"),
        )),
    }
}

/// A node table as written, before its references are checked.
trait NodeSpec: for<'de> Deserialize<'de> {
    /// Checks what one table can show on its own and notes the node references.
    fn build(self, node: &NodeName, links: &mut Links) -> Result<NodeKind, Problem>;
}

fn build<S: NodeSpec>(
    node: &NodeName,
    value: Spanned<DeValue<'_>>,
    links: &mut Links,
) -> Result<NodeKind, Problem> {
    let spec = S::deserialize(ValueDeserializer::from(value))
        .map_err(|e| Problem::from_toml(&e, &format!("node \"{node}\": ")))?;
    spec.build(node, links)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlaySpec {
    prompt: Prompts,
    barge_in: Option<bool>,
    next: Spanned<NodeName>,
}

impl NodeSpec for PlaySpec {
    fn build(self, _: &NodeName, links: &mut Links) -> Result<NodeKind, Problem> {
        Ok(NodeKind::Play(PlayNode {
            prompt: self.prompt.0,
            barge_in: self.barge_in.unwrap_or(false),
            next: links.add("next", self.next),
        }))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MenuSpec {
    prompt: Prompts,
    options: Spanned<BTreeMap<Spanned<String>, Spanned<NodeName>>>,
    timeout_ms: Option<Millis>,
    retries: Option<u32>,
    invalid_prompt: Option<Prompts>,
    timeout_prompt: Option<Prompts>,
    on_failure: Option<Spanned<NodeName>>,
}

impl NodeSpec for MenuSpec {
    fn build(self, node: &NodeName, links: &mut Links) -> Result<NodeKind, Problem> {
        let options_span = self.options.span();
        let mut options = BTreeMap::new();
        for (key, target) in self.options.into_inner() {
            let mut chars = key.get_ref().chars();
            let c = match (chars.next(), chars.next()) {
                (Some(c), None) if is_dtmf_key(c.to_ascii_uppercase()) => c.to_ascii_uppercase(),
                _ => {
                    return Err(Problem::at(
                        key.span(),
                        format!(
                            "node \"{node}\" option \"{}\" is not one key (0-9, *, #, A-D)",
                            key.get_ref()
                        ),
                    ));
                }
            };
            if options.contains_key(&c) {
                return Err(Problem::at(
                    key.span(),
                    format!("node \"{node}\" has key \"{c}\" twice"),
                ));
            }
            let what = format!("option \"{}\"", key.get_ref());
            options.insert(c, links.add(what, target));
        }
        if options.is_empty() {
            return Err(Problem::at(
                options_span,
                format!("node \"{node}\" has no options"),
            ));
        }
        Ok(NodeKind::Menu(MenuNode {
            prompt: self.prompt.0,
            options,
            timeout: Millis::or(self.timeout_ms, 5_000),
            retries: self.retries.unwrap_or(2),
            invalid_prompt: Prompts::or_empty(self.invalid_prompt),
            timeout_prompt: Prompts::or_empty(self.timeout_prompt),
            on_failure: links.add_opt("on_failure", self.on_failure),
        }))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CollectSpec {
    prompt: Prompts,
    var: VarName,
    min_digits: Option<Spanned<u32>>,
    max_digits: Option<Spanned<u32>>,
    terminator: Option<Spanned<String>>,
    first_digit_timeout_ms: Option<Millis>,
    inter_digit_timeout_ms: Option<Millis>,
    retries: Option<u32>,
    invalid_prompt: Option<Prompts>,
    timeout_prompt: Option<Prompts>,
    next: Spanned<NodeName>,
    on_failure: Option<Spanned<NodeName>>,
}

impl NodeSpec for CollectSpec {
    fn build(self, node: &NodeName, links: &mut Links) -> Result<NodeKind, Problem> {
        let min = self.min_digits.as_ref().map_or(1, |m| *m.get_ref());
        let max = self.max_digits.as_ref().map_or(20, |m| *m.get_ref());
        // Point at whichever limit was written, the maximum first.
        let limit_span = self
            .max_digits
            .as_ref()
            .or(self.min_digits.as_ref())
            .map(|s| s.span());
        let limits_problem = if max == 0 {
            Some("max_digits must be at least 1".to_string())
        } else if max > MAX_DIGITS_LIMIT {
            Some(format!(
                "max_digits {max} is more than the limit of {MAX_DIGITS_LIMIT}"
            ))
        } else if min > max {
            Some(format!("min_digits {min} is more than max_digits {max}"))
        } else {
            None
        };
        if let Some(reason) = limits_problem {
            return Err(Problem {
                span: limit_span,
                reason: format!("node \"{node}\": {reason}"),
            });
        }
        let terminator = match self.terminator {
            None => Some('#'),
            Some(t) => {
                let mut chars = t.get_ref().chars();
                match (chars.next(), chars.next()) {
                    (None, _) => None,
                    (Some(c), None) if is_dtmf_key(c) && !c.is_ascii_digit() => Some(c),
                    _ => {
                        return Err(Problem::at(
                            t.span(),
                            format!(
                                "node \"{node}\": terminator \"{}\" must be one of * # A B C D, or \"\" for none",
                                t.get_ref()
                            ),
                        ));
                    }
                }
            }
        };
        Ok(NodeKind::Collect(CollectNode {
            prompt: self.prompt.0,
            var: self.var,
            min_digits: min,
            max_digits: max,
            terminator,
            first_digit_timeout: Millis::or(self.first_digit_timeout_ms, 5_000),
            inter_digit_timeout: Millis::or(self.inter_digit_timeout_ms, 3_000),
            retries: self.retries.unwrap_or(2),
            invalid_prompt: Prompts::or_empty(self.invalid_prompt),
            timeout_prompt: Prompts::or_empty(self.timeout_prompt),
            next: links.add("next", self.next),
            on_failure: links.add_opt("on_failure", self.on_failure),
        }))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetSpec {
    vars: Spanned<BTreeMap<VarName, String>>,
    next: Spanned<NodeName>,
}

impl NodeSpec for SetSpec {
    fn build(self, node: &NodeName, links: &mut Links) -> Result<NodeKind, Problem> {
        if self.vars.get_ref().is_empty() {
            return Err(Problem::at(
                self.vars.span(),
                format!("node \"{node}\" sets no vars"),
            ));
        }
        Ok(NodeKind::Set(SetNode {
            vars: self.vars.into_inner(),
            next: links.add("next", self.next),
        }))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BranchSpec {
    var: VarName,
    #[serde(default)]
    cases: BTreeMap<String, Spanned<NodeName>>,
    empty: Option<Spanned<NodeName>>,
    nonempty: Option<Spanned<NodeName>>,
    default: Spanned<NodeName>,
}

impl NodeSpec for BranchSpec {
    fn build(self, _: &NodeName, links: &mut Links) -> Result<NodeKind, Problem> {
        let cases = self
            .cases
            .into_iter()
            .map(|(value, to)| {
                let target = links.add(format!("case \"{value}\""), to);
                (value, target)
            })
            .collect();
        Ok(NodeKind::Branch(BranchNode {
            var: self.var,
            cases,
            empty: links.add_opt("empty", self.empty),
            nonempty: links.add_opt("nonempty", self.nonempty),
            default: links.add("default", self.default),
        }))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TransferSpec {
    target: Spanned<String>,
    timeout_ms: Option<Millis>,
    announce: Option<Prompts>,
    on_failure: Option<Spanned<NodeName>>,
    next: Option<Spanned<NodeName>>,
}

impl NodeSpec for TransferSpec {
    fn build(self, node: &NodeName, links: &mut Links) -> Result<NodeKind, Problem> {
        let target = TransferTarget::parse(self.target.get_ref())
            .map_err(|e| Problem::at(self.target.span(), format!("node \"{node}\": {e}")))?;
        Ok(NodeKind::Transfer(TransferNode {
            target,
            timeout: Millis::or(self.timeout_ms, 30_000),
            announce: Prompts::or_empty(self.announce),
            on_failure: links.add_opt("on_failure", self.on_failure),
            next: links.add_opt("next", self.next),
        }))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordSpec {
    prompt: Option<Prompts>,
    beep: Option<bool>,
    max_seconds: Option<Seconds>,
    silence_seconds: Option<Spanned<u32>>,
    var: Option<VarName>,
    next: Spanned<NodeName>,
}

impl NodeSpec for RecordSpec {
    fn build(self, node: &NodeName, links: &mut Links) -> Result<NodeKind, Problem> {
        let max_seconds = self.max_seconds.map_or(120, |s| s.whole());
        let silence_seconds = match self.silence_seconds {
            None => Some(5),
            Some(s) if *s.get_ref() == 0 => None,
            Some(s) if *s.get_ref() > max_seconds => {
                return Err(Problem::at(
                    s.span(),
                    format!(
                        "node \"{node}\": silence_seconds {} is more than max_seconds {max_seconds}",
                        s.get_ref()
                    ),
                ));
            }
            Some(s) => Some(s.into_inner()),
        };
        Ok(NodeKind::Record(RecordNode {
            prompt: Prompts::or_empty(self.prompt),
            beep: self.beep.unwrap_or(true),
            max_seconds,
            silence_seconds,
            var: self.var,
            next: links.add("next", self.next),
        }))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HangupSpec {
    prompt: Option<Prompts>,
    cause: Option<Spanned<String>>,
}

impl NodeSpec for HangupSpec {
    fn build(self, node: &NodeName, _: &mut Links) -> Result<NodeKind, Problem> {
        let cause = match self.cause {
            None => "flow.hangup".to_string(),
            Some(c) => {
                let word = c.get_ref().strip_prefix("flow.").unwrap_or_default();
                if !is_word(word, |c| c.is_ascii_lowercase() || c == '_') {
                    return Err(Problem::at(
                        c.span(),
                        format!(
                            "node \"{node}\": cause \"{}\" must be \"flow.\" and a lower-case word",
                            c.get_ref()
                        ),
                    ));
                }
                c.into_inner()
            }
        };
        Ok(NodeKind::Hangup(HangupNode {
            prompt: Prompts::or_empty(self.prompt),
            cause,
        }))
    }
}

/// A positive number of milliseconds, at most an hour.
#[derive(Deserialize)]
#[serde(try_from = "i64")]
struct Millis(Duration);

impl Millis {
    fn or(value: Option<Millis>, default_ms: u64) -> Duration {
        value.map_or(Duration::from_millis(default_ms), |m| m.0)
    }
}

impl TryFrom<i64> for Millis {
    type Error = String;
    fn try_from(ms: i64) -> Result<Self, String> {
        match u64::try_from(ms) {
            Ok(ms @ 1..) if ms <= MAX_TIMEOUT_MS as u64 => Ok(Millis(Duration::from_millis(ms))),
            _ => Err(format!(
                "{ms} ms is out of range (1 to {MAX_TIMEOUT_MS})"
            )),
        }
    }
}

/// A positive number of seconds, at most a day.
#[derive(Deserialize)]
#[serde(try_from = "i64")]
struct Seconds(Duration);

impl Seconds {
    fn whole(&self) -> u32 {
        // At most MAX_SECONDS, so it fits.
        u32::try_from(self.0.as_secs()).unwrap_or(u32::MAX)
    }
}

impl TryFrom<i64> for Seconds {
    type Error = String;
    fn try_from(s: i64) -> Result<Self, String> {
        match u64::try_from(s) {
            Ok(s @ 1..) if s <= MAX_SECONDS as u64 => Ok(Seconds(Duration::from_secs(s))),
            _ => Err(format!("{s} seconds is out of range (1 to {MAX_SECONDS})")),
        }
    }
}

/// A prompt list as written: one item or an array of items, never empty.
struct Prompts(Vec<PromptItem>);

impl Prompts {
    fn or_empty(prompts: Option<Prompts>) -> Vec<PromptItem> {
        prompts.map(|p| p.0).unwrap_or_default()
    }
}

impl<'de> Deserialize<'de> for Prompts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct PromptsVisitor;
        impl<'de> Visitor<'de> for PromptsVisitor {
            type Value = Prompts;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a prompt name, { digits = \"var\" }, or a list of them")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Prompts, E> {
                ItemVisitor.visit_str(v).map(|item| Prompts(vec![item]))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Prompts, A::Error> {
                ItemVisitor.visit_map(map).map(|item| Prompts(vec![item]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Prompts, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<PromptItem>()? {
                    items.push(item);
                }
                if items.is_empty() {
                    return Err(de::Error::custom("prompt list is empty"));
                }
                Ok(Prompts(items))
            }
        }
        d.deserialize_any(PromptsVisitor)
    }
}

struct ItemVisitor;

impl<'de> Visitor<'de> for ItemVisitor {
    type Value = PromptItem;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a prompt name or { digits = \"var\" }")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<PromptItem, E> {
        PromptRef::new(v)
            .map(PromptItem::Prompt)
            .map_err(E::custom)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PromptItem, A::Error> {
        let mut var = None;
        while let Some(key) = map.next_key::<String>()? {
            if key != "digits" {
                return Err(de::Error::unknown_field(&key, &["digits"]));
            }
            if var.is_some() {
                return Err(de::Error::duplicate_field("digits"));
            }
            var = Some(map.next_value::<VarName>()?);
        }
        var.map(PromptItem::Digits)
            .ok_or_else(|| de::Error::missing_field("digits"))
    }
}

impl<'de> Deserialize<'de> for PromptItem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ItemVisitor)
    }
}

