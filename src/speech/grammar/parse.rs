//! SRGS 1.0 XML form (W3C SRGS 1.0, sections 2-4) to [`GrammarFile`]. Checks everything that
//! one file can check on its own; references between rules and files are checked by `resolve`.

use super::ast::{
    Alternative, Expansion, GrammarFile, Mode, RefTarget, RuleDef, Scope, Special, TagFormat, Token,
};
use super::error::GrammarError;
use super::normalise::{Unit, collapse_whitespace, dtmf_keys, split_tokens, voice_units};
use super::script::Script;
use super::xml::{Element, Node, parse_document};

/// Largest repeat count accepted (`repeat="0-100"`); the whisper grammar grows with it.
pub const MAX_REPEAT: u32 = 100;

/// Parses one grammar file. `path` is how errors and references name it (e.g.
/// `en/digits.grxml`); relative rule references are resolved against it.
pub fn parse_file(path: &str, xml: &str) -> Result<GrammarFile, GrammarError> {
    let root = parse_document(path, xml)?;
    Parser::grammar(path, &root)
}

struct Parser<'a> {
    path: &'a str,
    mode: Mode,
    tag_format: TagFormat,
}

impl<'a> Parser<'a> {
    fn grammar(path: &'a str, element: &Element) -> Result<GrammarFile, GrammarError> {
        let file = path.to_string();
        if element.name != "grammar" {
            return Err(GrammarError::NotAGrammar {
                file,
                line: element.line,
                found: element.name.clone(),
            });
        }
        let known = [
            "version",
            "xml:lang",
            "root",
            "mode",
            "tag-format",
            "xml:base",
            "xmlns",
        ];
        for (key, _) in &element.attrs {
            let namespace_attr = key.starts_with("xmlns:") || key.starts_with("xsi:");
            if !known.contains(&key.as_str()) && !namespace_attr {
                return Err(unknown_attribute(path, element, key));
            }
        }
        match element.attr("version") {
            Some("1.0") => {}
            Some(other) => {
                return Err(bad_attribute(
                    path,
                    element,
                    "version",
                    other,
                    "only SRGS 1.0",
                ));
            }
            None => return Err(missing_attribute(path, element, "version")),
        }
        let mode = match element.attr("mode") {
            None | Some("voice") => Mode::Voice,
            Some("dtmf") => Mode::Dtmf,
            Some(other) => {
                return Err(bad_attribute(path, element, "mode", other, "voice or dtmf"));
            }
        };
        let tag_format = match element.attr("tag-format") {
            None | Some("semantics/1.0" | "semantics/1.0.2006") => TagFormat::Script,
            Some("semantics/1.0-literals" | "semantics/1.0.2006-literals") => TagFormat::Literals,
            Some(other) => {
                return Err(GrammarError::UnsupportedTagFormat {
                    file,
                    line: element.line,
                    format: other.into(),
                });
            }
        };
        let root = match element.attr("root") {
            Some(id) => Some(check_rule_name(path, element, "root", id)?.to_string()),
            None => None,
        };
        let parser = Parser {
            path,
            mode,
            tag_format,
        };
        let mut rules: Vec<RuleDef> = Vec::new();
        for child in &element.children {
            match child {
                Node::Text { text, line } => parser.no_text(element, text, *line)?,
                Node::Element(e) if e.name == "rule" => {
                    let rule = parser.rule(e)?;
                    if let Some(first) = rules.iter().find(|r| r.id == rule.id) {
                        return Err(GrammarError::DuplicateRule {
                            file,
                            line: rule.line,
                            rule: rule.id,
                            first_line: first.line,
                        });
                    }
                    rules.push(rule);
                }
                // Header content with no effect on matching here.
                Node::Element(e)
                    if matches!(e.name.as_str(), "meta" | "metadata" | "lexicon" | "tag") => {}
                Node::Element(e) => return Err(unknown_element(path, e, element)),
            }
        }
        if let Some(id) = &root
            && !rules.iter().any(|r| &r.id == id)
        {
            return Err(GrammarError::UndefinedRoot {
                file,
                line: element.line,
                rule: id.clone(),
            });
        }
        let lang = element.attr("xml:lang").unwrap_or_default().to_string();
        Ok(GrammarFile {
            path: file,
            lang,
            mode,
            root,
            tag_format,
            rules,
            line: element.line,
        })
    }

    fn rule(&self, element: &Element) -> Result<RuleDef, GrammarError> {
        self.only_attributes(element, &["id", "scope"])?;
        let id = match element.attr("id") {
            Some(id) => check_rule_name(self.path, element, "id", id)?.to_string(),
            None => return Err(missing_attribute(self.path, element, "id")),
        };
        let scope = match element.attr("scope") {
            None | Some("private") => Scope::Private,
            Some("public") => Scope::Public,
            Some(other) => {
                return Err(bad_attribute(
                    self.path,
                    element,
                    "scope",
                    other,
                    "public or private",
                ));
            }
        };
        let body = self.content(element)?;
        if matches!(&body, Expansion::Sequence(items) if items.is_empty()) {
            return Err(GrammarError::EmptyRule {
                file: self.path.into(),
                line: element.line,
                rule: id,
            });
        }
        Ok(RuleDef {
            id,
            scope,
            body,
            line: element.line,
        })
    }

    /// The content of a `<rule>` or `<item>`: a sequence of expansions.
    fn content(&self, element: &Element) -> Result<Expansion<RefTarget>, GrammarError> {
        let mut sequence = Vec::new();
        for child in &element.children {
            match child {
                Node::Text { text, line } => self.text(text, *line, element, &mut sequence)?,
                Node::Element(e) => match e.name.as_str() {
                    "token" => {
                        self.only_attributes(e, &["xml:lang"])?;
                        let text = self.plain_text(e)?;
                        self.token(&collapse_whitespace(&text), e, true, &mut sequence)?;
                    }
                    "ruleref" => sequence.push(self.ruleref(e)?),
                    "item" => sequence.push(self.item(e)?),
                    "one-of" => sequence.push(self.one_of(e)?),
                    "tag" => {
                        self.only_attributes(e, &[])?;
                        let text = self.plain_text(e)?;
                        let script = Script::parse(&text, self.tag_format).map_err(|reason| {
                            GrammarError::BadTag {
                                file: self.path.into(),
                                line: e.line,
                                reason,
                            }
                        })?;
                        sequence.push(Expansion::Tag(script));
                    }
                    "example" if element.name == "rule" => {}
                    _ => return Err(unknown_element(self.path, e, element)),
                },
            }
        }
        Ok(Expansion::Sequence(sequence))
    }

    /// Bare text: whitespace-separated tokens, CJK split per character (SRGS 2.1).
    fn text(
        &self,
        text: &str,
        line: u32,
        element: &Element,
        out: &mut Vec<Expansion<RefTarget>>,
    ) -> Result<(), GrammarError> {
        let tokens = split_tokens(text).map_err(|reason| GrammarError::BadToken {
            file: self.path.into(),
            line,
            element: element.name.clone(),
            token: text.trim().into(),
            reason,
        })?;
        let at = Element {
            line,
            ..element.clone()
        };
        for token in tokens {
            self.token(&token, &at, false, out)?;
        }
        Ok(())
    }

    /// One token. In bare text a token of punctuation alone is dropped (`是的。`); inside
    /// `<token>` it is an error. In DTMF grammars each key is a token.
    fn token(
        &self,
        text: &str,
        element: &Element,
        explicit: bool,
        out: &mut Vec<Expansion<RefTarget>>,
    ) -> Result<(), GrammarError> {
        let bad = |reason: String| GrammarError::BadToken {
            file: self.path.into(),
            line: element.line,
            element: element.name.clone(),
            token: text.into(),
            reason,
        };
        match self.mode {
            Mode::Voice => {
                let units = voice_units(text);
                if units.is_empty() {
                    return if explicit {
                        Err(bad("no letters or digits".into()))
                    } else {
                        Ok(())
                    };
                }
                out.push(Expansion::Token(Token {
                    text: text.into(),
                    units,
                }));
            }
            Mode::Dtmf => {
                let keys = dtmf_keys(text).map_err(|c| bad(format!("{c:?} is not a DTMF key")))?;
                if keys.is_empty() {
                    return Err(bad("empty".into()));
                }
                for key in keys {
                    out.push(Expansion::Token(Token {
                        text: key.to_string(),
                        units: vec![Unit::Key(key)],
                    }));
                }
            }
        }
        Ok(())
    }

    fn ruleref(&self, element: &Element) -> Result<Expansion<RefTarget>, GrammarError> {
        self.only_attributes(element, &["uri", "special", "type", "xml:lang"])?;
        if let Some(child) = element.children.iter().find_map(|c| match c {
            Node::Element(e) => Some(e),
            Node::Text { .. } => None,
        }) {
            return Err(unknown_element(self.path, child, element));
        }
        match (element.attr("uri"), element.attr("special")) {
            (Some(_), Some(_)) => Err(bad_attribute(
                self.path,
                element,
                "special",
                "",
                "not together with uri",
            )),
            (None, None) => Err(missing_attribute(self.path, element, "uri")),
            (None, Some(special)) => match special {
                "NULL" => Ok(Expansion::Special(Special::Null)),
                "VOID" => Ok(Expansion::Special(Special::Void)),
                "GARBAGE" => Ok(Expansion::Special(Special::Garbage)),
                other => Err(bad_attribute(
                    self.path,
                    element,
                    "special",
                    other,
                    "NULL, VOID or GARBAGE",
                )),
            },
            (Some(uri), None) => {
                if let Some(media) = element
                    .attr("type")
                    .filter(|t| *t != "application/srgs+xml")
                {
                    return Err(GrammarError::UnsupportedUri {
                        file: self.path.into(),
                        line: element.line,
                        uri: uri.into(),
                        reason: format!("type {media:?} (only application/srgs+xml)"),
                    });
                }
                let target =
                    resolve_uri(self.path, uri).map_err(|reason| GrammarError::UnsupportedUri {
                        file: self.path.into(),
                        line: element.line,
                        uri: uri.into(),
                        reason,
                    })?;
                Ok(Expansion::Ref {
                    target,
                    line: element.line,
                })
            }
        }
    }

    fn item(&self, element: &Element) -> Result<Expansion<RefTarget>, GrammarError> {
        self.only_attributes(element, &["repeat", "repeat-prob", "weight", "xml:lang"])?;
        if let Some(p) = element.attr("repeat-prob") {
            let valid = p
                .trim()
                .parse::<f32>()
                .is_ok_and(|p| (0.0..=1.0).contains(&p));
            if !valid {
                return Err(bad_attribute(
                    self.path,
                    element,
                    "repeat-prob",
                    p,
                    "a number from 0 to 1",
                ));
            }
        }
        let body = self.content(element)?;
        let Some(repeat) = element.attr("repeat") else {
            return Ok(body);
        };
        let (min, max) = parse_repeat(repeat).map_err(|reason| GrammarError::BadRepeat {
            file: self.path.into(),
            line: element.line,
            value: repeat.into(),
            reason,
        })?;
        Ok(Expansion::Repeat {
            body: Box::new(body),
            min,
            max,
            line: element.line,
        })
    }

    fn one_of(&self, element: &Element) -> Result<Expansion<RefTarget>, GrammarError> {
        self.only_attributes(element, &["xml:lang"])?;
        let mut alternatives = Vec::new();
        for child in &element.children {
            match child {
                Node::Text { text, line } => self.no_text(element, text, *line)?,
                Node::Element(e) if e.name == "item" => {
                    let weight = match e.attr("weight") {
                        None => 1.0,
                        Some(w) => w
                            .trim()
                            .parse::<f32>()
                            .ok()
                            .filter(|w| w.is_finite() && *w >= 0.0)
                            .ok_or_else(|| {
                                bad_attribute(self.path, e, "weight", w, "a number >= 0")
                            })?,
                    };
                    alternatives.push(Alternative {
                        weight,
                        body: self.item(e)?,
                    });
                }
                Node::Element(e) => return Err(unknown_element(self.path, e, element)),
            }
        }
        if alternatives.is_empty() {
            return Err(GrammarError::EmptyOneOf {
                file: self.path.into(),
                line: element.line,
            });
        }
        Ok(Expansion::OneOf(alternatives))
    }

    /// The text of an element that may hold only text (`<token>`, `<tag>`).
    fn plain_text(&self, element: &Element) -> Result<String, GrammarError> {
        let mut text = String::new();
        for child in &element.children {
            match child {
                Node::Text { text: t, .. } => text.push_str(t),
                Node::Element(e) => return Err(unknown_element(self.path, e, element)),
            }
        }
        Ok(text)
    }

    fn no_text(&self, element: &Element, text: &str, line: u32) -> Result<(), GrammarError> {
        if text.trim().is_empty() {
            return Ok(());
        }
        Err(GrammarError::UnexpectedText {
            file: self.path.into(),
            line,
            element: element.name.clone(),
            text: text.trim().chars().take(40).collect(),
        })
    }

    fn only_attributes(&self, element: &Element, allowed: &[&str]) -> Result<(), GrammarError> {
        match element
            .attrs
            .iter()
            .find(|(k, _)| !allowed.contains(&k.as_str()))
        {
            Some((key, _)) => Err(unknown_attribute(self.path, element, key)),
            None => Ok(()),
        }
    }
}

/// SRGS 2.5: `n`, `n-m` or `n-`, with m >= n, m >= 1 and both at most [`MAX_REPEAT`].
pub fn parse_repeat(text: &str) -> Result<(u32, Option<u32>), String> {
    let number = |s: &str| -> Result<u32, String> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("{s:?} is not a whole number"));
        }
        match s.parse::<u32>() {
            Ok(n) if n <= MAX_REPEAT => Ok(n),
            _ => Err(format!("{s} is more than {MAX_REPEAT}")),
        }
    };
    let (min, max) = match text.split_once('-') {
        None => {
            let n = number(text)?;
            (n, Some(n))
        }
        Some((min, "")) => (number(min)?, None),
        Some((min, max)) => (number(min)?, Some(number(max)?)),
    };
    if let Some(max) = max
        && max < min
    {
        return Err(format!("maximum {max} is less than minimum {min}"));
    }
    Ok((min, max))
}

/// SRGS 2.2.2: a rule reference, resolved against the referring file's path.
pub fn resolve_uri(referring: &str, uri: &str) -> Result<RefTarget, String> {
    let (file_part, rule) = match uri.split_once('#') {
        Some((file, rule)) => (file, Some(rule)),
        None => (uri, None),
    };
    if let Some(rule) = rule
        && (rule.is_empty() || !is_rule_name(rule))
    {
        return Err(format!("{rule:?} is not a rule name"));
    }
    let rule = rule.map(str::to_string);
    if file_part.is_empty() {
        return match rule {
            Some(rule) => Ok(RefTarget {
                uri: uri.into(),
                file: None,
                rule: Some(rule),
            }),
            None => Err("empty URI".into()),
        };
    }
    let has_scheme = file_part.split_once(':').is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
    });
    if has_scheme || file_part.starts_with('/') || file_part.contains('\\') {
        return Err("only relative file references are supported".into());
    }
    let mut segments: Vec<&str> = referring.split('/').collect();
    segments.pop();
    for segment in file_part.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                if segments.pop().is_none() {
                    return Err("leaves the grammar directory".into());
                }
            }
            other => segments.push(other),
        }
    }
    Ok(RefTarget {
        uri: uri.into(),
        file: Some(segments.join("/")),
        rule,
    })
}

/// SRGS 3.1: a rule name is an XML name without `.`, `:` or `-`.
fn is_rule_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

fn check_rule_name<'n>(
    path: &str,
    element: &Element,
    attribute: &str,
    id: &'n str,
) -> Result<&'n str, GrammarError> {
    if is_rule_name(id) {
        Ok(id)
    } else {
        Err(bad_attribute(
            path,
            element,
            attribute,
            id,
            "not a rule name (letters, digits, '_')",
        ))
    }
}

fn unknown_element(path: &str, element: &Element, parent: &Element) -> GrammarError {
    GrammarError::UnknownElement {
        file: path.into(),
        line: element.line,
        element: element.name.clone(),
        parent: parent.name.clone(),
    }
}

fn unknown_attribute(path: &str, element: &Element, attribute: &str) -> GrammarError {
    GrammarError::UnknownAttribute {
        file: path.into(),
        line: element.line,
        element: element.name.clone(),
        attribute: attribute.into(),
    }
}

fn missing_attribute(path: &str, element: &Element, attribute: &str) -> GrammarError {
    GrammarError::MissingAttribute {
        file: path.into(),
        line: element.line,
        element: element.name.clone(),
        attribute: attribute.into(),
    }
}

fn bad_attribute(
    path: &str,
    element: &Element,
    attribute: &str,
    value: &str,
    reason: &str,
) -> GrammarError {
    GrammarError::BadAttribute {
        file: path.into(),
        line: element.line,
        element: element.name.clone(),
        attribute: attribute.into(),
        value: value.into(),
        reason: reason.into(),
    }
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
