//! SRGS to a whisper.cpp grammar (GBNF as element arrays, `whisper_grammar_element` in
//! whisper.h; whisper-rs 0.16 calls them `WhisperGrammarElement`). whisper.cpp walks the
//! grammar one code point at a time over the text it decodes and lowers the logit of every
//! token that would leave the grammar; so the grammar must accept what whisper writes, not
//! what the caller said:
//!
//! - **Spaces.** whisper's words carry a leading space (" one", " Yes"). Each word of a
//!   grammar token is preceded by a separator: in English `" "` after an optional `, . ; : ! ?`
//!   (so " One, zero, zero." passes); CJK characters take an optional space or `，、,。.`
//!   (Chinese comes without spaces: "是的，对"). In a CJK grammar (`xml:lang` zh, ja, ko) every
//!   separator is optional, since Latin words inside Chinese are not spaced either.
//! - **Digits.** A digit token accepts the digit and its words: `1` = " 1" | " one" in English,
//!   "1" | "一" | "幺" in Chinese (and `one` in the grammar accepts "1" too). Between digits the
//!   separator is optional and may be `,` `.` `-` or a space, so " 12345", " 1 2 3 4 5",
//!   " 1-2-3-4-5" and " 12,345" all pass.
//! - **Case.** Letters match either case (`[yY][eE][sS]`): whisper capitalises sentences.
//! - **Punctuation.** Any run of `. ! ? 。 ！ ？ …` may end the text (" Yes." " 12345.").
//! - **Specials.** NULL is nothing, VOID is an impossible character class, GARBAGE is any
//!   number of words; tags and weights are dropped (whisper has no use for them).
//!
//! Repeats unroll: `n-m` is n copies then a chain of m-n optional copies; `n-` ends in a
//! right-recursive rule. Linking already rejected left recursion, which whisper.cpp would
//! recurse on forever. DTMF grammars have no whisper grammar.

use std::collections::HashMap;

use super::ast::{Alternative, Expansion, Mode, Special, Token};
use super::normalise::{Unit, en_digit_words, zh_digit_chars};
use super::resolve::{Linked, RuleId};

/// `whisper_gretype` (whisper.h); the discriminant is the C value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum GbnfKind {
    /// End of a rule definition.
    End = 0,
    /// Start of another alternative of the rule.
    Alt = 1,
    /// Reference to the rule whose index is `value`.
    RuleRef = 2,
    /// The code point `value`.
    Char = 3,
    /// Any code point except `value` (and the ranges/alternatives that follow).
    CharNot = 4,
    /// Makes the preceding `Char`/`CharNot`/`CharAlt` a range up to `value`, inclusive.
    CharRngUpper = 5,
    /// Adds the code point `value` to the preceding character class.
    CharAlt = 6,
}

impl GbnfKind {
    /// The `whisper_gretype` value.
    pub fn code(self) -> u32 {
        self as u32
    }
}

/// One `whisper_grammar_element`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GbnfElement {
    pub kind: GbnfKind,
    pub value: u32,
}

impl GbnfElement {
    pub const END: GbnfElement = GbnfElement {
        kind: GbnfKind::End,
        value: 0,
    };
    pub const ALT: GbnfElement = GbnfElement {
        kind: GbnfKind::Alt,
        value: 0,
    };

    fn char(c: char) -> GbnfElement {
        GbnfElement {
            kind: GbnfKind::Char,
            value: u32::from(c),
        }
    }

    fn char_alt(c: char) -> GbnfElement {
        GbnfElement {
            kind: GbnfKind::CharAlt,
            value: u32::from(c),
        }
    }

    fn rule(id: usize) -> GbnfElement {
        GbnfElement {
            kind: GbnfKind::RuleRef,
            value: u32::try_from(id).unwrap_or(u32::MAX),
        }
    }
}

/// A compiled grammar for whisper.cpp: `whisper_full_params.grammar_rules` takes one pointer
/// per rule (each rule ends with [`GbnfKind::End`]), `i_start_rule` is `start_rule`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhisperGrammar {
    pub rules: Vec<Vec<GbnfElement>>,
    pub start_rule: usize,
    /// A name per rule, for [`WhisperGrammar::to_gbnf_text`].
    pub rule_names: Vec<String>,
}

/// Compiles a linked voice grammar; `None` for DTMF.
pub fn compile(linked: &Linked) -> Option<WhisperGrammar> {
    if linked.mode == Mode::Dtmf {
        return None;
    }
    let lang = linked.lang.to_ascii_lowercase();
    let cjk = ["zh", "ja", "ko"]
        .iter()
        .any(|l| lang == *l || lang.starts_with(&format!("{l}-")));
    let mut c = Compiler {
        linked,
        cjk,
        rules: Vec::new(),
        names: Vec::new(),
        srgs: HashMap::new(),
        pending: Vec::new(),
        shared: HashMap::new(),
        optional_chains: HashMap::new(),
    };
    let root = c.new_rule("root");
    let body = c.srgs_rule(linked.root);
    let tail = c.tail();
    c.set(
        root,
        vec![vec![GbnfElement::rule(body), GbnfElement::rule(tail)]],
    );
    while let Some(id) = c.pending.pop() {
        let rule = &linked.rules[id.0];
        let target = *c
            .srgs
            .get(&id)
            .expect("srgs_rule gives every pending rule its number");
        // A rule that is one <one-of> (tags aside) gets its alternatives directly.
        let alternatives = match only_choice(&rule.body) {
            Some(choice) => choice
                .iter()
                .map(|a| {
                    let mut elements = Vec::new();
                    c.sequence(&a.body, &mut elements, &rule.id);
                    elements
                })
                .collect(),
            None => {
                let mut elements = Vec::new();
                c.sequence(&rule.body, &mut elements, &rule.id);
                vec![elements]
            }
        };
        c.set(target, alternatives);
    }
    Some(WhisperGrammar {
        rules: c.rules,
        start_rule: root,
        rule_names: c.names,
    })
}

/// The alternatives of a body that is a single `<one-of>` with nothing but tags around it.
fn only_choice(body: &Expansion<RuleId>) -> Option<&[Alternative<RuleId>]> {
    match body {
        Expansion::OneOf(alternatives) => Some(alternatives),
        Expansion::Sequence(items) => {
            let mut rest = items.iter().filter(|i| !matches!(i, Expansion::Tag(_)));
            match (rest.next(), rest.next()) {
                (Some(only), None) => only_choice(only),
                _ => None,
            }
        }
        _ => None,
    }
}

struct Compiler<'g> {
    linked: &'g Linked,
    /// Chinese-style separators (all optional).
    cjk: bool,
    rules: Vec<Vec<GbnfElement>>,
    names: Vec<String>,
    /// GBNF rule of each SRGS rule compiled or pending.
    srgs: HashMap<RuleId, usize>,
    pending: Vec<RuleId>,
    /// Helper rules (separators, digits, garbage) by name.
    shared: HashMap<String, usize>,
    /// `(body rule, n)`: rule matching body at most n times.
    optional_chains: HashMap<(usize, u32), usize>,
}

impl Compiler<'_> {
    fn new_rule(&mut self, name: &str) -> usize {
        let mut unique = sanitise(name);
        let mut n = 2;
        while self.names.contains(&unique) {
            unique = format!("{}-{n}", sanitise(name));
            n += 1;
        }
        self.names.push(unique);
        self.rules.push(vec![GbnfElement::END]);
        self.rules.len() - 1
    }

    fn set(&mut self, rule: usize, alternatives: Vec<Vec<GbnfElement>>) {
        let mut elements = Vec::new();
        for (i, alternative) in alternatives.into_iter().enumerate() {
            if i > 0 {
                elements.push(GbnfElement::ALT);
            }
            elements.extend(alternative);
        }
        elements.push(GbnfElement::END);
        self.rules[rule] = elements;
    }

    fn srgs_rule(&mut self, id: RuleId) -> usize {
        if let Some(rule) = self.srgs.get(&id) {
            return *rule;
        }
        let name = self
            .linked
            .rules
            .get(id.0)
            .map_or("rule", |r| r.id.as_str())
            .to_string();
        let rule = self.new_rule(&name);
        self.srgs.insert(id, rule);
        self.pending.push(id);
        rule
    }

    /// A shared helper rule, built once by `build`.
    fn shared(
        &mut self,
        name: &str,
        build: impl FnOnce(&mut Self, usize) -> Vec<Vec<GbnfElement>>,
    ) -> usize {
        if let Some(rule) = self.shared.get(name) {
            return *rule;
        }
        let rule = self.new_rule(name);
        self.shared.insert(name.to_string(), rule);
        let alternatives = build(self, rule);
        self.set(rule, alternatives);
        rule
    }

    fn sequence(&mut self, e: &Expansion<RuleId>, out: &mut Vec<GbnfElement>, name: &str) {
        match e {
            Expansion::Sequence(items) => items.iter().for_each(|i| self.sequence(i, out, name)),
            Expansion::OneOf(alternatives) if alternatives.len() == 1 => {
                self.sequence(&alternatives[0].body, out, name)
            }
            Expansion::OneOf(alternatives) => {
                let rule = self.new_rule(&format!("{name}-choice"));
                let compiled: Vec<Vec<GbnfElement>> = alternatives
                    .iter()
                    .map(|a| {
                        let mut elements = Vec::new();
                        self.sequence(&a.body, &mut elements, name);
                        elements
                    })
                    .collect();
                self.set(rule, compiled);
                out.push(GbnfElement::rule(rule));
            }
            Expansion::Repeat { body, min, max, .. } => {
                let mut elements = Vec::new();
                self.sequence(body, &mut elements, name);
                let body_ref = match elements.as_slice() {
                    [single] if single.kind == GbnfKind::RuleRef => *single,
                    _ => {
                        let rule = self.new_rule(&format!("{name}-item"));
                        self.set(rule, vec![elements]);
                        GbnfElement::rule(rule)
                    }
                };
                out.extend(std::iter::repeat_n(body_ref, *min as usize));
                let body = body_ref.value as usize;
                match max {
                    None => {
                        let rule = self.new_rule(&format!("{name}-more"));
                        self.set(rule, vec![vec![body_ref, GbnfElement::rule(rule)], vec![]]);
                        out.push(GbnfElement::rule(rule));
                    }
                    Some(max) if *max > *min => {
                        out.push(GbnfElement::rule(self.at_most(body, max - min, name)))
                    }
                    Some(_) => {}
                }
            }
            Expansion::Token(token) => self.token(token, out),
            Expansion::Ref { target, .. } => {
                let rule = self.srgs_rule(*target);
                out.push(GbnfElement::rule(rule));
            }
            Expansion::Special(Special::Null) | Expansion::Tag(_) => {}
            Expansion::Special(Special::Void) => {
                // [^\x00-\U0010FFFF]: no character matches.
                out.push(GbnfElement {
                    kind: GbnfKind::CharNot,
                    value: 0,
                });
                out.push(GbnfElement {
                    kind: GbnfKind::CharRngUpper,
                    value: 0x10FFFF,
                });
            }
            Expansion::Special(Special::Garbage) => out.push(GbnfElement::rule(self.garbage())),
        }
    }

    /// `body` zero to `n` times: `opt-n ::= body opt-(n-1) | ""`.
    fn at_most(&mut self, body: usize, n: u32, name: &str) -> usize {
        if let Some(rule) = self.optional_chains.get(&(body, n)) {
            return *rule;
        }
        let rest = if n > 1 {
            Some(self.at_most(body, n - 1, name))
        } else {
            None
        };
        let rule = self.new_rule(&format!("{name}-upto{n}"));
        let mut first = vec![GbnfElement::rule(body)];
        first.extend(rest.map(GbnfElement::rule));
        self.set(rule, vec![first, vec![]]);
        self.optional_chains.insert((body, n), rule);
        rule
    }

    fn token(&mut self, token: &Token, out: &mut Vec<GbnfElement>) {
        for unit in &token.units {
            match unit {
                Unit::Digit(d) => out.push(GbnfElement::rule(self.digit(*d))),
                Unit::Word { surface, .. } => {
                    out.push(GbnfElement::rule(self.word_separator()));
                    letters(surface, out);
                }
                Unit::Cjk(c) | Unit::Key(c) => {
                    out.push(GbnfElement::rule(self.cjk_separator()));
                    out.push(GbnfElement::char(*c));
                }
            }
        }
    }

    /// Digit `d` written as a digit or as its words.
    fn digit(&mut self, d: u8) -> usize {
        self.shared(&format!("digit-{d}"), |c, _| {
            let mut alternatives = vec![vec![
                GbnfElement::rule(c.digit_separator()),
                GbnfElement::char(char::from(b'0' + d)),
            ]];
            if c.cjk {
                for zh in zh_digit_chars(d) {
                    alternatives.push(vec![
                        GbnfElement::rule(c.cjk_separator()),
                        GbnfElement::char(*zh),
                    ]);
                }
            } else {
                let oh: &[&str] = if d == 0 { &["oh"] } else { &[] };
                for word in en_digit_words(d).iter().chain(oh) {
                    let mut elements = vec![GbnfElement::rule(c.word_separator())];
                    letters(word, &mut elements);
                    alternatives.push(elements);
                }
            }
            alternatives
        })
    }

    /// Before a word: `[,.;:!?]? " "` (CJK grammars: everything optional).
    fn word_separator(&mut self) -> usize {
        if self.cjk {
            return self.cjk_separator();
        }
        self.shared("word-sep", |_, _| {
            let space = GbnfElement::char(' ');
            vec![
                [class(&[',', '.', ';', ':', '!', '?']), vec![space]].concat(),
                vec![space],
            ]
        })
    }

    /// Before a digit written as a digit: `[,.-]? " "?`.
    fn digit_separator(&mut self) -> usize {
        if self.cjk {
            return self.cjk_separator();
        }
        self.shared("digit-sep", |_, _| {
            let marks = class(&[',', '.', '-']);
            let space = GbnfElement::char(' ');
            vec![
                [marks.clone(), vec![space]].concat(),
                marks,
                vec![space],
                vec![],
            ]
        })
    }

    /// Before a CJK character: `[，、,。.]? " "?` (in English grammars just `" "?`).
    fn cjk_separator(&mut self) -> usize {
        let cjk = self.cjk;
        self.shared("cjk-sep", |_, _| {
            let space = GbnfElement::char(' ');
            let mut alternatives = vec![vec![space], vec![]];
            if cjk {
                let marks = class(&['，', '、', ',', '。', '.']);
                alternatives.splice(0..0, [[marks.clone(), vec![space]].concat(), marks]);
            }
            alternatives
        })
    }

    /// `tail ::= [.!?。！？…] tail | ""`.
    fn tail(&mut self) -> usize {
        self.shared("tail", |_, rule| {
            let marks = class(&['.', '!', '?', '。', '！', '？', '…']);
            vec![[marks, vec![GbnfElement::rule(rule)]].concat(), vec![]]
        })
    }

    /// Any number of words: `garbage ::= garbage-word garbage | ""`, a word being a run of
    /// anything but spaces and punctuation (one character in CJK grammars).
    fn garbage(&mut self) -> usize {
        let word = self.shared("garbage-word", |c, _| {
            let mut other = class(&[' ', '.', ',', '!', '?', '。', '，', '、', '！', '？']);
            other[0].kind = GbnfKind::CharNot;
            if c.cjk {
                return vec![[vec![GbnfElement::rule(c.cjk_separator())], other].concat()];
            }
            let more = c.shared("garbage-letters", |_, rule| {
                vec![
                    [other.clone(), vec![GbnfElement::rule(rule)]].concat(),
                    vec![],
                ]
            });
            vec![
                [
                    vec![GbnfElement::rule(c.word_separator())],
                    other,
                    vec![GbnfElement::rule(more)],
                ]
                .concat(),
            ]
        });
        self.shared("garbage", |_, rule| {
            vec![
                vec![GbnfElement::rule(word), GbnfElement::rule(rule)],
                vec![],
            ]
        })
    }
}

/// `[abc]`: a `Char` then a `CharAlt` per further character.
fn class(chars: &[char]) -> Vec<GbnfElement> {
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i == 0 {
                GbnfElement::char(*c)
            } else {
                GbnfElement::char_alt(*c)
            }
        })
        .collect()
}

/// Pushes the letters of `word`, each matching either case; apostrophes match ' or ’.
fn letters(word: &str, out: &mut Vec<GbnfElement>) {
    for c in word.chars() {
        if c == '\'' || c == '\u{2019}' {
            out.push(GbnfElement::char('\''));
            out.push(GbnfElement::char_alt('\u{2019}'));
            continue;
        }
        let lower = single(c.to_lowercase()).unwrap_or(c);
        let upper = single(c.to_uppercase()).unwrap_or(c);
        out.push(GbnfElement::char(lower));
        if upper != lower {
            out.push(GbnfElement::char_alt(upper));
        }
    }
}

fn single(mut chars: impl Iterator<Item = char>) -> Option<char> {
    let first = chars.next()?;
    chars.next().is_none().then_some(first)
}

/// GBNF rule names are `[a-zA-Z0-9-]+`.
fn sanitise(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    if !clean.chars().any(|c| c.is_ascii_alphanumeric()) {
        "rule".to_string()
    } else {
        clean
    }
}

#[cfg(test)]
#[path = "gbnf_tests.rs"]
mod tests;
