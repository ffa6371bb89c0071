//! Reading a flow file: TOML into per-kind specs, then checked typed nodes. Parsed as a table
//! of spanned values (`toml::de::DeTable`) so that every problem, even one found after all
//! nodes are read (a reference to an unknown node), points at its line.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::speech::{SpeechSpec, SpeechUse};
use super::{
    BranchNode, CollectNode, ConverseNode, Flow, HangupNode, ListenNode, MAX_DIGITS_LIMIT,
    MenuNode, Node, NodeKind, NodeName, PlayNode, PromptItem, PromptRef, RecordNode, SayNode,
    SetNode, Template, TextPrompt, TransferNode, TransferTarget, VarName, is_dtmf_key, is_word,
    line_of,
};

/// Longest timeout a node may wait for (one hour).
const MAX_TIMEOUT_MS: i64 = 3_600_000;
/// Longest recording or call a flow may ask for (one day).
const MAX_SECONDS: i64 = 86_400;
/// Longest text prompt: a prompt is a few sentences; longer text belongs in a `say` node.
const MAX_TEXT_PROMPT_CHARS: usize = 1_000;

/// A problem found while parsing, before it is placed in a file.
pub(super) struct Problem {
    pub(super) span: Option<Range<usize>>,
    pub(super) reason: String,
}

impl Problem {
    pub(super) fn at(span: Range<usize>, reason: String) -> Self {
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

pub(super) fn parse(name: &str, text: &str, path: &Path) -> Result<Flow, Problem> {
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
            format!(
                "start goes to unknown node \"{}\"",
                settings.start.get_ref()
            ),
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
const KINDS: &str = "play, say, menu, collect, listen, set, branch, transfer, record, hangup";

fn parse_node(
    node: &NodeName,
    value: Spanned<DeValue<'_>>,
    links: &mut Links,
) -> Result<NodeKind, Problem> {
    let span = value.span();
    let mut value = value.into_inner();
    let DeValue::Table(table) = &mut value else {
        return Err(Problem::at(
            span,
            format!("node \"{node}\" must be a table"),
        ));
    };
    let Some(kind) = table.remove("kind") else {
        return Err(Problem::at(span, format!("node \"{node}\" has no kind")));
    };
    let value = Spanned::new(span, value);
    let word = kind.get_ref().as_str().unwrap_or_default();
    match word {
        "play" => build::<PlaySpec>(node, value, links),
        "say" => build::<SaySpec>(node, value, links),
        "menu" => build::<MenuSpec>(node, value, links),
        "collect" => build::<CollectSpec>(node, value, links),
        "listen" => build::<ListenSpec>(node, value, links),
        "converse" => build::<ConverseSpec>(node, value, links),
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
struct SaySpec {
    text: Spanned<String>,
    voice: Option<Spanned<String>>,
    barge_in: Option<bool>,
    next: Spanned<NodeName>,
}

impl NodeSpec for SaySpec {
    fn build(self, node: &NodeName, links: &mut Links) -> Result<NodeKind, Problem> {
        let span = self.text.span();
        // The span covers the quotes: offsets inside the text start one byte later.
        let text = Template::parse(self.text.get_ref()).map_err(|(at, reason)| {
            let at = span.start + 1 + at;
            Problem::at(at..at + 1, format!("node \"{node}\" text: {reason}"))
        })?;
        if self.text.get_ref().trim().is_empty() {
            return Err(Problem::at(
                span,
                format!("node \"{node}\" has an empty text"),
            ));
        }
        if let Some(voice) = &self.voice
            && voice.get_ref().trim().is_empty()
        {
            return Err(Problem::at(
                voice.span(),
                format!("node \"{node}\" has an empty voice"),
            ));
        }
        Ok(NodeKind::Say(SayNode {
            text,
            voice: self.voice.map(Spanned::into_inner),
            barge_in: self.barge_in.unwrap_or(true),
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
    speech: Option<Spanned<SpeechSpec>>,
    speech_options: Option<Spanned<BTreeMap<Spanned<String>, Spanned<NodeName>>>>,
}

impl NodeSpec for MenuSpec {
    fn build(self, node: &NodeName, links: &mut Links) -> Result<NodeKind, Problem> {
        let options_span = self.options.span();
        let options = key_options(node, self.options.into_inner(), links)?;
        if options.is_empty() {
            return Err(Problem::at(
                options_span,
                format!("node \"{node}\" has no options"),
            ));
        }
        let speech = self
            .speech
            .map(|s| SpeechSpec::build(s, node, SpeechUse::Choice))
            .transpose()?;
        let mut speech_options = BTreeMap::new();
        if let Some(spoken) = self.speech_options {
            if speech.is_none() {
                return Err(Problem::at(
                    spoken.span(),
                    format!("node \"{node}\" has speech_options but no speech"),
                ));
            }
            for (said, target) in spoken.into_inner() {
                if said.get_ref().is_empty() || said.get_ref().chars().count() > 64 {
                    return Err(Problem::at(
                        said.span(),
                        format!(
                            "node \"{node}\" speech option \"{}\" must be 1 to 64 characters",
                            said.get_ref()
                        ),
                    ));
                }
                let what = format!("speech option \"{}\"", said.get_ref());
                let target = links.add(what, target);
                speech_options.insert(said.into_inner(), target);
            }
        }
        Ok(NodeKind::Menu(MenuNode {
            prompt: self.prompt.0,
            options,
            timeout: Millis::or(self.timeout_ms, 5_000),
            retries: self.retries.unwrap_or(2),
            invalid_prompt: Prompts::or_empty(self.invalid_prompt),
            timeout_prompt: Prompts::or_empty(self.timeout_prompt),
            on_failure: links.add_opt("on_failure", self.on_failure),
            speech,
            speech_options,
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
    speech: Option<Spanned<SpeechSpec>>,
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
            speech: self
                .speech
                .map(|s| SpeechSpec::build(s, node, SpeechUse::Choice))
                .transpose()?,
        }))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListenSpec {
    prompt: Option<Prompts>,
    speech: Spanned<SpeechSpec>,
    var: VarName,
    timeout_ms: Option<Millis>,
    retries: Option<u32>,
    invalid_prompt: Option<Prompts>,
    timeout_prompt: Option<Prompts>,
    next: Spanned<NodeName>,
    on_failure: Option<Spanned<NodeName>>,
    keys: Option<bool>,
}

impl NodeSpec for ListenSpec {
    fn build(self, node: &NodeName, links: &mut Links) -> Result<NodeKind, Problem> {
        Ok(NodeKind::Listen(ListenNode {
            prompt: Prompts::or_empty(self.prompt),
            speech: SpeechSpec::build(self.speech, node, SpeechUse::Listen)?,
            var: self.var,
            timeout: Millis::or(self.timeout_ms, 5_000),
            retries: self.retries.unwrap_or(2),
            invalid_prompt: Prompts::or_empty(self.invalid_prompt),
            timeout_prompt: Prompts::or_empty(self.timeout_prompt),
            next: links.add("next", self.next),
            on_failure: links.add_opt("on_failure", self.on_failure),
            keys: self.keys.unwrap_or(true),
        }))
    }
}

/// A text with `{var}`s; a mistake is pointed at inside the string.
fn template(node: &NodeName, field: &str, text: Spanned<String>) -> Result<Template, Problem> {
    let span = text.span();
    Template::parse(text.get_ref()).map_err(|(at, reason)| {
        // The span covers the quotes: offsets inside the text start one byte later.
        let at = span.start + 1 + at;
        Problem::at(at..at + 1, format!("node \"{node}\" {field}: {reason}"))
    })
}

/// A table of keys to nodes (a menu's `options`, a converse node's `keys`).
fn key_options(
    node: &NodeName,
    table: BTreeMap<Spanned<String>, Spanned<NodeName>>,
    links: &mut Links,
) -> Result<BTreeMap<char, NodeName>, Problem> {
    let mut options = BTreeMap::new();
    for (key, target) in table {
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
    Ok(options)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConverseSpec {
    intro: Option<Spanned<String>>,
    speech: Spanned<SpeechSpec>,
    #[serde(default)]
    keys: BTreeMap<Spanned<String>, Spanned<NodeName>>,
    handoff: Spanned<NodeName>,
    #[serde(default)]
    skills: BTreeMap<Spanned<String>, Spanned<NodeName>>,
    voice: Option<Spanned<String>>,
    timeout_ms: Option<Millis>,
    retries: Option<u32>,
    next: Option<Spanned<NodeName>>,
    on_failure: Option<Spanned<NodeName>>,
}

/// The queues the assistant hands calls to (`dialogue::assistant::skill_for`).
const SKILLS: &[&str] = &["orders", "returns", "collectibles", "sales", "general"];

impl NodeSpec for ConverseSpec {
    fn build(self, node: &NodeName, links: &mut Links) -> Result<NodeKind, Problem> {
        let speech_span = self.speech.span();
        let speech = SpeechSpec::build(self.speech, node, SpeechUse::Listen)?;
        if speech.grammar.is_some() {
            return Err(Problem::at(
                speech_span,
                format!(
                    "node \"{node}\": the assistant reads free speech; a grammar would constrain it"
                ),
            ));
        }
        let intro = self
            .intro
            .map(|text| template(node, "intro", text))
            .transpose()?;
        if let Some(voice) = &self.voice
            && voice.get_ref().trim().is_empty()
        {
            return Err(Problem::at(
                voice.span(),
                format!("node \"{node}\" has an empty voice"),
            ));
        }
        let mut skills = BTreeMap::new();
        for (skill, target) in self.skills {
            if !SKILLS.contains(&skill.get_ref().as_str()) {
                return Err(Problem::at(
                    skill.span(),
                    format!(
                        "node \"{node}\": unknown skill \"{}\" (one of {})",
                        skill.get_ref(),
                        SKILLS.join(", ")
                    ),
                ));
            }
            let what = format!("skill \"{}\"", skill.get_ref());
            skills.insert(skill.into_inner(), links.add(what, target));
        }
        Ok(NodeKind::Converse(ConverseNode {
            intro,
            speech,
            keys: key_options(node, self.keys, links)?,
            handoff: links.add("handoff", self.handoff),
            skills,
            voice: self.voice.map(Spanned::into_inner),
            timeout: Millis::or(self.timeout_ms, 8_000),
            retries: self.retries.unwrap_or(2),
            next: links.add_opt("next", self.next),
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
    brief: Option<Spanned<String>>,
    on_failure: Option<Spanned<NodeName>>,
    next: Option<Spanned<NodeName>>,
    refer: Option<bool>,
}

impl NodeSpec for TransferSpec {
    fn build(self, node: &NodeName, links: &mut Links) -> Result<NodeKind, Problem> {
        let target = TransferTarget::parse(self.target.get_ref())
            .map_err(|e| Problem::at(self.target.span(), format!("node \"{node}\": {e}")))?;
        Ok(NodeKind::Transfer(TransferNode {
            target,
            timeout: Millis::or(self.timeout_ms, 30_000),
            announce: Prompts::or_empty(self.announce),
            brief: self
                .brief
                .map(|text| template(node, "brief", text))
                .transpose()?,
            on_failure: links.add_opt("on_failure", self.on_failure),
            next: links.add_opt("next", self.next),
            refer: self.refer.unwrap_or(false),
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
            _ => Err(format!("{ms} ms is out of range (1 to {MAX_TIMEOUT_MS})")),
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
        f.write_str("a prompt name, { digits = \"var\" } or { text = \"…\" }")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<PromptItem, E> {
        PromptRef::new(v).map(PromptItem::Prompt).map_err(E::custom)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PromptItem, A::Error> {
        const FIELDS: &[&str] = &["digits", "text", "voice"];
        let (mut var, mut text, mut voice) = (None, None, None);
        while let Some(key) = map.next_key::<String>()? {
            let duplicate = match key.as_str() {
                "digits" => var.replace(map.next_value::<VarName>()?).is_some(),
                "text" => text.replace(map.next_value::<String>()?).is_some(),
                "voice" => voice.replace(map.next_value::<String>()?).is_some(),
                _ => return Err(de::Error::unknown_field(&key, FIELDS)),
            };
            if duplicate {
                return Err(de::Error::custom(format!("duplicate field `{key}`")));
            }
        }
        match (var, text, voice) {
            (Some(var), None, None) => Ok(PromptItem::Digits(var)),
            (None, Some(text), voice) => {
                let chars = text.chars().count();
                if text.trim().is_empty() || chars > MAX_TEXT_PROMPT_CHARS {
                    return Err(de::Error::custom(format!(
                        "a text prompt must have 1 to {MAX_TEXT_PROMPT_CHARS} characters (has {chars})"
                    )));
                }
                if voice.as_ref().is_some_and(|v| v.trim().is_empty()) {
                    return Err(de::Error::custom("a text prompt has an empty voice"));
                }
                Ok(PromptItem::Text(TextPrompt { text, voice }))
            }
            (Some(_), Some(_), _) => Err(de::Error::custom(
                "a prompt item is either { digits = … } or { text = … }, not both",
            )),
            (Some(_), None, Some(_)) => Err(de::Error::custom("voice goes with text, not digits")),
            (None, None, _) => Err(de::Error::custom("a prompt item needs `digits` or `text`")),
        }
    }
}

impl<'de> Deserialize<'de> for PromptItem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ItemVisitor)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use proptest::prelude::*;

    use crate::config::flow::{FlowError, NodeKind, NodeName, parse_flow};

    fn parse_hotline(text: &str) -> Result<crate::config::flow::Flow, FlowError> {
        parse_flow("hotline", text, Path::new("sip-config/flows/hotline.toml"))
    }

    fn message(text: &str) -> String {
        parse_hotline(text)
            .expect_err("the text is a broken flow")
            .to_string()
    }

    /// A converse node with `extra` on line 7.
    fn converse(extra: &str) -> String {
        format!(
            "start = \"a\"\n[nodes.a]\nkind = \"converse\"\nspeech = {{ end_silence_ms = 700 }}\nhandoff = \"p\"\nkeys = {{ \"0\" = \"p\" }}\n{extra}\n[nodes.p]\nkind = \"transfer\"\ntarget = \"queue:agents\"\n"
        )
    }

    #[test]
    fn converse_nodes_name_what_is_wrong() {
        parse_hotline(&converse("intro = \"Press 0 for a person.\"")).expect("a good node");
        assert_eq!(
            message(&converse("skills = { billing = \"p\" }")),
            "sip-config/flows/hotline.toml:7: node \"a\": unknown skill \"billing\" (one of orders, returns, collectibles, sales, general)"
        );
        assert_eq!(
            message(&converse("skills = { returns = \"nowhere\" }")),
            "sip-config/flows/hotline.toml:7: node \"a\" skill \"returns\" goes to unknown node \"nowhere\""
        );
        let grammar = converse("").replace("end_silence_ms = 700", "grammar = \"yes_no\"");
        assert!(
            message(&grammar).contains("the assistant reads free speech"),
            "{}",
            message(&grammar)
        );
        assert!(
            message(&converse("intro = \"Hello {name\"")).contains("node \"a\" intro"),
            "{}",
            message(&converse("intro = \"Hello {name\""))
        );
    }

    #[test]
    fn unknown_node_reference_names_node_option_and_line() {
        let text = r#"# The demo hotline.
start = "menu"

[nodes.menu]
kind = "menu"
prompt = "main-menu"
timeout_ms = 5000

[nodes.menu.options]
"2" = "order"
"0" = "order"
"1" = "ordr"

[nodes.order]
kind = "hangup"
"#;
        assert_eq!(
            message(text),
            "sip-config/flows/hotline.toml:12: node \"menu\" option \"1\" goes to unknown node \"ordr\""
        );
    }

    #[test]
    fn every_kind_of_reference_is_checked() {
        for (field, what) in [
            ("next", "next"),
            ("on_failure", "on_failure"),
            ("cases", "case \"x\""),
            ("default", "default"),
            ("empty", "empty"),
            ("nonempty", "nonempty"),
        ] {
            let to = |f: &str| if f == field { "nowhere" } else { "end" };
            let text = format!(
                "start = \"a\"\n[nodes.a]\nkind = \"branch\"\nvar = \"v\"\ncases = {{ x = \"{}\" }}\ndefault = \"{}\"\nempty = \"{}\"\nnonempty = \"{}\"\n[nodes.end]\nkind = \"hangup\"\n[nodes.b]\nkind = \"transfer\"\ntarget = \"queue:q\"\nnext = \"{}\"\non_failure = \"{}\"\n",
                to("cases"),
                to("default"),
                to("empty"),
                to("nonempty"),
                to("next"),
                to("on_failure"),
            );
            let err = parse_hotline(&text).expect_err("one reference is unknown");
            let node = if matches!(field, "next" | "on_failure") {
                "b"
            } else {
                "a"
            };
            assert_eq!(
                err.reason,
                format!("node \"{node}\" {what} goes to unknown node \"nowhere\""),
                "{field}"
            );
            let line = text
                .lines()
                .position(|l| l.contains("nowhere"))
                .expect("the text names it")
                + 1;
            assert_eq!(err.line, line, "{field}");
        }
    }

    #[test]
    fn unknown_start_is_reported() {
        assert_eq!(
            message("\nstart = \"hello\"\n[nodes.bye]\nkind = \"hangup\"\n"),
            "sip-config/flows/hotline.toml:2: start goes to unknown node \"hello\""
        );
    }

    #[test]
    fn syntax_error_has_its_line() {
        assert_eq!(
            message("start = \"a\"\n[nodes.a]\nkind = hangup\n"),
            "sip-config/flows/hotline.toml:3: string values must be quoted, expected literal string"
        );
        assert_eq!(
            message("start = \"a\"\n[nodes.a]\nkind = \"hangup\"\n[nodes.a]\nkind = \"hangup\"\n"),
            "sip-config/flows/hotline.toml:4: duplicate key"
        );
    }

    #[test]
    fn unknown_or_missing_kind_is_reported() {
        assert_eq!(
            message("start = \"a\"\n\n[nodes.a]\nkind = \"dance\"\n"),
            "sip-config/flows/hotline.toml:4: node \"a\" has unknown kind \"dance\" (expected one of play, say, menu, collect, listen, set, branch, transfer, record, hangup)"
        );
        assert_eq!(
            message("start = \"a\"\n\n[nodes.a]\nprompt = \"x\"\n"),
            "sip-config/flows/hotline.toml:3: node \"a\" has no kind"
        );
        assert_eq!(
            message("start = \"a\"\nnodes.a = 5\n"),
            "sip-config/flows/hotline.toml:2: node \"a\" must be a table"
        );
    }

    #[test]
    fn missing_and_unknown_fields_are_reported() {
        assert_eq!(
            message("start = \"a\"\n\n[nodes.a]\nkind = \"play\"\nprompt = \"x\"\n"),
            "sip-config/flows/hotline.toml:3: node \"a\": missing field `next`"
        );
        assert_eq!(
            message("start = \"a\"\n[nodes.a]\nkind = \"hangup\"\nprompt = \"x\"\nnext = \"a\"\n"),
            "sip-config/flows/hotline.toml:5: node \"a\": unknown field `next`, expected `prompt` or `cause`"
        );
        assert_eq!(
            message("strat = \"a\"\n[nodes.a]\nkind = \"hangup\"\n"),
            "sip-config/flows/hotline.toml:1: unknown field `strat`, expected one of `start`, `language`, `record_calls`, `max_duration_s`"
        );
        assert_eq!(
            message("start = \"a\"\n"),
            "sip-config/flows/hotline.toml:1: flow has no [nodes] table"
        );
        assert_eq!(
            message("start = \"a\"\n[nodes]\n"),
            "sip-config/flows/hotline.toml:2: flow has no nodes"
        );
    }

    #[test]
    fn wrong_types_and_ranges_point_at_the_value() {
        let menu = |extra: &str| {
            format!(
                "start = \"m\"\n[nodes.m]\nkind = \"menu\"\nprompt = \"p\"\noptions = {{ \"1\" = \"m\" }}\n{extra}\n"
            )
        };
        assert_eq!(
            message(&menu("timeout_ms = \"soon\"")),
            "sip-config/flows/hotline.toml:6: node \"m\": invalid type: string \"soon\", expected i64"
        );
        assert_eq!(
            message(&menu("timeout_ms = 0")),
            "sip-config/flows/hotline.toml:6: node \"m\": 0 ms is out of range (1 to 3600000)"
        );
        assert_eq!(
            message(&menu("retries = -1")),
            "sip-config/flows/hotline.toml:6: node \"m\": invalid value: integer `-1`, expected u32"
        );
        assert_eq!(
            message("max_duration_s = 0\nstart = \"a\"\n[nodes.a]\nkind = \"hangup\"\n"),
            "sip-config/flows/hotline.toml:1: 0 seconds is out of range (1 to 86400)"
        );
        assert_eq!(
            message("language = \"../x\"\nstart = \"a\"\n[nodes.a]\nkind = \"hangup\"\n"),
            "sip-config/flows/hotline.toml:1: language \"../x\" must be letters, digits and -"
        );
    }

    #[test]
    fn empty_menus_and_bad_keys_are_reported() {
        let menu = |options: &str| {
            format!(
                "start = \"m\"\n[nodes.m]\nkind = \"menu\"\nprompt = \"p\"\noptions = {options}\n"
            )
        };
        assert_eq!(
            message(&menu("{}")),
            "sip-config/flows/hotline.toml:5: node \"m\" has no options"
        );
        assert_eq!(
            message(&menu("{ \"12\" = \"m\" }")),
            "sip-config/flows/hotline.toml:5: node \"m\" option \"12\" is not one key (0-9, *, #, A-D)"
        );
        assert_eq!(
            message(&menu("{ \"x\" = \"m\" }")),
            "sip-config/flows/hotline.toml:5: node \"m\" option \"x\" is not one key (0-9, *, #, A-D)"
        );
        assert_eq!(
            message(&menu("{ \"a\" = \"m\", \"A\" = \"m\" }")),
            "sip-config/flows/hotline.toml:5: node \"m\" has key \"A\" twice"
        );
    }

    #[test]
    fn impossible_digit_limits_are_reported() {
        let collect = |extra: &str| {
            format!(
                "start = \"c\"\n[nodes.c]\nkind = \"collect\"\nprompt = \"p\"\nvar = \"v\"\nnext = \"c\"\n{extra}\n"
            )
        };
        assert_eq!(
            message(&collect("min_digits = 12\nmax_digits = 10")),
            "sip-config/flows/hotline.toml:8: node \"c\": min_digits 12 is more than max_digits 10"
        );
        assert_eq!(
            message(&collect("min_digits = 21")),
            "sip-config/flows/hotline.toml:7: node \"c\": min_digits 21 is more than max_digits 20"
        );
        assert_eq!(
            message(&collect("max_digits = 0")),
            "sip-config/flows/hotline.toml:7: node \"c\": max_digits must be at least 1"
        );
        assert_eq!(
            message(&collect("max_digits = 65")),
            "sip-config/flows/hotline.toml:7: node \"c\": max_digits 65 is more than the limit of 64"
        );
        assert_eq!(
            message(&collect("terminator = \"5\"")),
            "sip-config/flows/hotline.toml:7: node \"c\": terminator \"5\" must be one of * # A B C D, or \"\" for none"
        );
        let flow = parse_hotline(&collect("terminator = \"\"\nmin_digits = 0")).expect("valid");
        let NodeKind::Collect(c) = &flow.nodes[&NodeName::new("c").expect("valid")].kind else {
            panic!("c is a collect node")
        };
        assert_eq!((c.terminator, c.min_digits, c.max_digits), (None, 0, 20));
    }

    #[test]
    fn bad_prompts_point_at_the_item() {
        let play = |prompt: &str| {
            format!("start = \"p\"\n[nodes.p]\nkind = \"play\"\nnext = \"p\"\nprompt = {prompt}\n")
        };
        assert_eq!(
            message(&play("[\n  \"ok\",\n  \"Not/Ok\",\n]")),
            "sip-config/flows/hotline.toml:7: node \"p\": prompt name \"Not/Ok\" must be lower-case letters, digits, - and _"
        );
        assert_eq!(
            message(&play("[]")),
            "sip-config/flows/hotline.toml:5: node \"p\": prompt list is empty"
        );
        assert_eq!(
            message(&play("{ digits = \"9x\" }")),
            "sip-config/flows/hotline.toml:5: node \"p\": variable name \"9x\" must be a letter or _, then letters, digits and _"
        );
        assert_eq!(
            message(&play("{ digit = \"x\" }")),
            "sip-config/flows/hotline.toml:5: node \"p\": unknown field `digit`, expected one of `digits`, `text`, `voice`"
        );
        assert_eq!(
            message(&play("{ text = \" \" }")),
            "sip-config/flows/hotline.toml:5: node \"p\": a text prompt must have 1 to 1000 characters (has 1)"
        );
        assert_eq!(
            message(&play("{ text = \"Hi.\", digits = \"x\" }")),
            "sip-config/flows/hotline.toml:5: node \"p\": a prompt item is either { digits = … } or { text = … }, not both"
        );
        assert_eq!(
            message(&play("{ text = \"Hi.\", voice = \"\" }")),
            "sip-config/flows/hotline.toml:5: node \"p\": a text prompt has an empty voice"
        );
        assert_eq!(
            message(&play("5")),
            "sip-config/flows/hotline.toml:5: node \"p\": invalid type: integer `5`, expected a prompt name, { digits = \"var\" }, or a list of them"
        );
    }

    #[test]
    fn text_prompts_are_named_by_voice_and_words() {
        let flow = parse_hotline(
            "start = \"p\"\n[nodes.p]\nkind = \"play\"\nnext = \"p\"\nprompt = [\"greeting\", { text = \"Calls are recorded.\", voice = \"awb\" }, { text = \"Calls are recorded.\" }]\n",
        )
        .expect("valid");
        let texts: Vec<_> = flow.text_prompts().into_iter().collect();
        assert_eq!(texts.len(), 2);
        assert_ne!(
            texts[0].name(),
            texts[1].name(),
            "the voice is part of the name"
        );
        assert!(texts[0].name().as_str().starts_with("text:"));
        assert_eq!(flow.voice_names(), [("awb", 2)]);
        assert!(flow.uses_default_voice());
        let names = flow.prompt_names();
        assert_eq!(names.len(), 1, "only the recording is a file: {names:?}");
    }

    #[test]
    fn bad_targets_causes_and_vars_are_reported() {
        let transfer = |target: &str| {
            format!("start = \"t\"\n[nodes.t]\nkind = \"transfer\"\ntarget = \"{target}\"\n")
        };
        assert_eq!(
            message(&transfer("tel:123")),
            "sip-config/flows/hotline.toml:4: node \"t\": transfer target \"tel:123\" must start with agent:, queue:, sip: or sips:"
        );
        assert_eq!(
            message(&transfer("queue:")),
            "sip-config/flows/hotline.toml:4: node \"t\": transfer target \"queue:\" needs a queue name of letters, digits, _ . -"
        );
        assert_eq!(
            message(&transfer("sip:")),
            "sip-config/flows/hotline.toml:4: node \"t\": transfer target \"sip:\" is not a usable SIP URI"
        );
        let flow = parse_hotline(&transfer("sips:desk@example.com")).expect("valid");
        assert_eq!(
            flow.transfer_targets()[0].to_string(),
            "sips:desk@example.com"
        );
        assert_eq!(
            message("start = \"h\"\n[nodes.h]\nkind = \"hangup\"\ncause = \"caller.hangup\"\n"),
            "sip-config/flows/hotline.toml:4: node \"h\": cause \"caller.hangup\" must be \"flow.\" and a lower-case word"
        );
        assert_eq!(
            message("start = \"s\"\n[nodes.s]\nkind = \"set\"\nvars = {}\nnext = \"s\"\n"),
            "sip-config/flows/hotline.toml:4: node \"s\" sets no vars"
        );
        assert_eq!(
            message(
                "start = \"r\"\n[nodes.r]\nkind = \"record\"\nnext = \"r\"\nmax_seconds = 10\nsilence_seconds = 30\n"
            ),
            "sip-config/flows/hotline.toml:6: node \"r\": silence_seconds 30 is more than max_seconds 10"
        );
    }

    #[test]
    fn bad_node_and_flow_names_are_reported() {
        assert_eq!(
            message("start = \"a\"\n[nodes.\"a b\"]\nkind = \"hangup\"\n"),
            "sip-config/flows/hotline.toml:2: node name \"a b\" must be letters, digits, - and _"
        );
        let minimal = "start = \"bye\"\n[nodes.bye]\nkind = \"hangup\"\n";
        let err = parse_flow("../x", minimal, Path::new("x.toml")).expect_err("bad flow name");
        assert_eq!(
            err.to_string(),
            "x.toml:1: flow name \"../x\" must be letters, digits, - and _"
        );
    }

    proptest! {
        #[test]
        fn any_text_parses_or_fails_without_panic(text in "\\PC{0,300}") {
            if let Err(e) = parse_hotline(&text) {
                prop_assert!(e.line >= 1 && e.line <= text.lines().count().max(1) + 1);
            }
        }

        #[test]
        fn any_prompt_value_parses_or_fails_without_panic(value in "[\\[\\]{}\", a-z0-9=_#*-]{0,40}") {
            let text = format!("start = \"p\"\n[nodes.p]\nkind = \"play\"\nnext = \"p\"\nprompt = {value}\n");
            let _ = parse_hotline(&text);
        }

    }
}
