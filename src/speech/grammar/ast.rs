//! The parsed form of one SRGS file, before rule references are linked across files.

use std::fmt;

use super::normalise::Unit;
use super::script::Script;

/// SRGS 2.2 / 4.6: what the grammar's tokens are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Spoken words (the default).
    Voice,
    /// Telephone keys 0-9, *, #, A-D.
    Dtmf,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Voice => "voice",
            Mode::Dtmf => "dtmf",
        })
    }
}

/// SRGS 3.3: whether other files may reference a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Public,
    Private,
}

/// SRGS 2.2.3 special rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Special {
    /// Matches without consuming anything.
    Null,
    /// Can never be matched.
    Void,
    /// Any words (here: zero or more), at a confidence cost per word.
    Garbage,
}

/// A rule expansion (SRGS 2.1-2.5). `R` is how a rule reference is written: [`RefTarget`] in a
/// parsed file, a rule index once linked.
#[derive(Debug, Clone, PartialEq)]
pub enum Expansion<R> {
    /// Children matched one after the other (the content of a rule or item).
    Sequence(Vec<Expansion<R>>),
    /// Exactly one of the alternatives.
    OneOf(Vec<Alternative<R>>),
    /// `<item repeat>` on `line`: `body` between `min` and `max` times (`None`: no bound).
    Repeat {
        body: Box<Expansion<R>>,
        min: u32,
        max: Option<u32>,
        line: u32,
    },
    /// A token (a word, a CJK character run inside `<token>`, a DTMF key).
    Token(Token),
    /// `<ruleref uri>`.
    Ref { target: R, line: u32 },
    /// `<ruleref special>`.
    Special(Special),
    /// `<tag>`: runs when the match passes this point.
    Tag(Script),
}

impl<R> Expansion<R> {
    /// Calls `f` with every rule reference and its line, in document order.
    pub fn for_each_ref(&self, f: &mut impl FnMut(&R, u32)) {
        match self {
            Expansion::Sequence(items) => items.iter().for_each(|e| e.for_each_ref(f)),
            Expansion::OneOf(alternatives) => {
                alternatives.iter().for_each(|a| a.body.for_each_ref(f))
            }
            Expansion::Repeat { body, .. } => body.for_each_ref(f),
            Expansion::Ref { target, line } => f(target, *line),
            Expansion::Token(_) | Expansion::Special(_) | Expansion::Tag(_) => {}
        }
    }

    /// The same expansion with every reference replaced by `f(reference, line)`.
    pub fn map_refs<S, E>(
        &self,
        f: &mut impl FnMut(&R, u32) -> Result<S, E>,
    ) -> Result<Expansion<S>, E> {
        Ok(match self {
            Expansion::Sequence(items) => Expansion::Sequence(
                items
                    .iter()
                    .map(|e| e.map_refs(f))
                    .collect::<Result<_, _>>()?,
            ),
            Expansion::OneOf(alternatives) => Expansion::OneOf(
                alternatives
                    .iter()
                    .map(|a| {
                        Ok(Alternative {
                            weight: a.weight,
                            body: a.body.map_refs(f)?,
                        })
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Expansion::Repeat {
                body,
                min,
                max,
                line,
            } => Expansion::Repeat {
                body: Box::new(body.map_refs(f)?),
                min: *min,
                max: *max,
                line: *line,
            },
            Expansion::Ref { target, line } => Expansion::Ref {
                target: f(target, *line)?,
                line: *line,
            },
            Expansion::Token(token) => Expansion::Token(token.clone()),
            Expansion::Special(special) => Expansion::Special(*special),
            Expansion::Tag(script) => Expansion::Tag(script.clone()),
        })
    }
}

/// One `<item>` of a `<one-of>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Alternative<R> {
    /// SRGS 2.4.1 weight; only breaks ties between equally good matches here.
    pub weight: f32,
    pub body: Expansion<R>,
}

/// A token as the grammar writes it, with the units the matcher compares.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// The token text as written (whitespace collapsed); the rule text default uses it.
    pub text: String,
    /// The normalised units (see `normalise`), never empty.
    pub units: Vec<Unit>,
}

/// Where a `<ruleref uri>` points, as written in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefTarget {
    /// The URI as written, for error messages.
    pub uri: String,
    /// The referenced file, resolved against the referring file; `None` for `#rule`.
    pub file: Option<String>,
    /// The rule id after `#`; `None` means the root rule of `file`.
    pub rule: Option<String>,
}

/// One `<rule>`.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleDef {
    pub id: String,
    pub scope: Scope,
    pub body: Expansion<RefTarget>,
    pub line: u32,
}

/// SISR tag format (`tag-format` attribute).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagFormat {
    /// `semantics/1.0`: tags are (a subset of) ECMAScript assigning `out`.
    Script,
    /// `semantics/1.0-literals`: a tag's text is the rule's value.
    Literals,
}

/// One parsed `.grxml` file.
#[derive(Debug, Clone, PartialEq)]
pub struct GrammarFile {
    /// The file's path as the loader knows it (e.g. `en/digits.grxml`).
    pub path: String,
    /// `xml:lang`, empty when absent.
    pub lang: String,
    pub mode: Mode,
    /// `root` attribute, if any.
    pub root: Option<String>,
    pub tag_format: TagFormat,
    pub rules: Vec<RuleDef>,
    /// Line of the `<grammar>` element.
    pub line: u32,
}

impl GrammarFile {
    /// The rule with this id, if defined.
    pub fn rule(&self, id: &str) -> Option<&RuleDef> {
        self.rules.iter().find(|r| r.id == id)
    }
}
