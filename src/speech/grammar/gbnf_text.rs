//! [`WhisperGrammar::to_gbnf_text`]: the element arrays written as GBNF text (the syntax of
//! whisper.cpp's and llama.cpp's grammar parsers), for people and logs.

use std::fmt::Write;

use super::gbnf::{GbnfElement, GbnfKind, WhisperGrammar};

impl WhisperGrammar {
    /// One rule per line, `name ::= alternative | alternative`; runs of single characters
    /// become `"literals"`, classes `[...]` / `[^...]`, empty alternatives `""`.
    pub fn to_gbnf_text(&self) -> String {
        let mut text = String::new();
        for (i, rule) in self.rules.iter().enumerate() {
            let end = rule
                .iter()
                .position(|e| e.kind == GbnfKind::End)
                .unwrap_or(rule.len());
            let alternatives: Vec<String> = rule[..end]
                .split(|e| e.kind == GbnfKind::Alt)
                .map(|alternative| self.alternative(alternative))
                .collect();
            // Writing to a String cannot fail.
            let _ = writeln!(text, "{} ::= {}", self.name(i), alternatives.join(" | "));
        }
        text
    }

    fn alternative(&self, elements: &[GbnfElement]) -> String {
        let mut parts: Vec<String> = Vec::new();
        let mut literal = String::new();
        let mut at = 0;
        while let Some(element) = elements.get(at) {
            let len = class_len(elements, at);
            if element.kind == GbnfKind::Char && len == 1 {
                literal.push_str(&escape(element.value, false));
                at += 1;
                continue;
            }
            if !literal.is_empty() {
                parts.push(format!("\"{}\"", std::mem::take(&mut literal)));
            }
            match element.kind {
                GbnfKind::RuleRef => {
                    parts.push(self.name(element.value as usize).to_string());
                    at += 1;
                }
                GbnfKind::Char | GbnfKind::CharNot => {
                    let mut class = String::from(if element.kind == GbnfKind::CharNot {
                        "[^"
                    } else {
                        "["
                    });
                    for e in &elements[at..at + len] {
                        if e.kind == GbnfKind::CharRngUpper {
                            class.push('-');
                        }
                        class.push_str(&escape(e.value, true));
                    }
                    class.push(']');
                    parts.push(class);
                    at += len;
                }
                // A range or alternative with no character before it: not produced by
                // `compile`; skipped rather than written wrong.
                GbnfKind::CharRngUpper | GbnfKind::CharAlt | GbnfKind::Alt | GbnfKind::End => {
                    at += 1
                }
            }
        }
        if !literal.is_empty() {
            parts.push(format!("\"{literal}\""));
        }
        if parts.is_empty() {
            "\"\"".to_string()
        } else {
            parts.join(" ")
        }
    }

    fn name(&self, rule: usize) -> &str {
        self.rule_names.get(rule).map_or("unnamed", String::as_str)
    }
}

/// Elements in the character class at `at`: the character, then its ranges and alternatives.
fn class_len(elements: &[GbnfElement], at: usize) -> usize {
    1 + elements
        .get(at + 1..)
        .unwrap_or_default()
        .iter()
        .take_while(|e| matches!(e.kind, GbnfKind::CharAlt | GbnfKind::CharRngUpper))
        .count()
}

fn escape(value: u32, in_class: bool) -> String {
    let Some(c) = char::from_u32(value) else {
        return format!("\\U{value:08X}");
    };
    match c {
        '"' if !in_class => "\\\"".to_string(),
        '\\' => "\\\\".to_string(),
        ']' | '-' | '^' | '[' if in_class => format!("\\{c}"),
        '\n' => "\\n".to_string(),
        '\t' => "\\t".to_string(),
        '\r' => "\\r".to_string(),
        c if u32::from(c) < 0x20 || c == '\u{7f}' => format!("\\x{:02X}", u32::from(c)),
        c if u32::from(c) > 0xFFFF && in_class => format!("\\U{:08X}", u32::from(c)),
        c => c.to_string(),
    }
}
