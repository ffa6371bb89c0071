//! The `speech = { ... }` table of `menu`, `collect` and `listen` nodes.

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::parse::Problem;
use super::{NodeName, SpeechInput, is_word};

/// Shortest and longest silence that may end a caller's turn. Below 100 ms a breath splits a
/// sentence; past 10 s the caller waits in silence for an answer.
const END_SILENCE_MS: std::ops::RangeInclusive<i64> = 100..=10_000;
/// Longest `hints`: whisper's prompt holds about 220 tokens.
const MAX_HINTS_CHARS: usize = 500;

/// A `speech` table as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SpeechSpec {
    grammar: Option<Spanned<String>>,
    hints: Option<Spanned<String>>,
    end_silence_ms: Option<Spanned<i64>>,
    min_confidence: Option<Spanned<f32>>,
    denoise: Option<bool>,
    retries: Option<Spanned<u32>>,
}

/// Which node kind the table belongs to: the rules differ a little.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SpeechUse {
    /// `menu` and `collect` act on the interpretation, so they need a grammar; they may fall
    /// back to keys after `retries` failures.
    Choice,
    /// `listen` may take plain text, and counts attempts with its own `retries`.
    Listen,
}

impl SpeechSpec {
    pub(super) fn build(
        spec: Spanned<SpeechSpec>,
        node: &NodeName,
        usage: SpeechUse,
    ) -> Result<SpeechInput, Problem> {
        let span = spec.span();
        let spec = spec.into_inner();
        let problem = |span: std::ops::Range<usize>, reason: String| {
            Problem::at(span, format!("node \"{node}\": {reason}"))
        };
        let grammar = match spec.grammar {
            None if usage == SpeechUse::Choice => {
                return Err(problem(
                    span,
                    "speech needs a grammar here (its interpretation picks the answer)".to_string(),
                ));
            }
            None => None,
            Some(g) => {
                let ok = is_word(g.get_ref(), |c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_'
                });
                if !ok {
                    return Err(problem(
                        g.span(),
                        format!(
                            "grammar name \"{}\" must be lower-case letters, digits, - and _",
                            g.get_ref()
                        ),
                    ));
                }
                Some(g.into_inner())
            }
        };
        let hints = match spec.hints {
            None => None,
            Some(h) => {
                let text = h.get_ref();
                if text.trim().is_empty()
                    || text.chars().count() > MAX_HINTS_CHARS
                    || text.chars().any(char::is_control)
                {
                    return Err(problem(
                        h.span(),
                        format!(
                            "hints must be 1 to {MAX_HINTS_CHARS} characters of one line of text"
                        ),
                    ));
                }
                Some(h.into_inner())
            }
        };
        let end_silence = match spec.end_silence_ms {
            None => Duration::from_millis(500),
            Some(ms) => match u64::try_from(*ms.get_ref()) {
                Ok(v) if END_SILENCE_MS.contains(ms.get_ref()) => Duration::from_millis(v),
                _ => {
                    return Err(problem(
                        ms.span(),
                        format!(
                            "end_silence_ms {} is out of range ({} to {})",
                            ms.get_ref(),
                            END_SILENCE_MS.start(),
                            END_SILENCE_MS.end()
                        ),
                    ));
                }
            },
        };
        let min_confidence = match spec.min_confidence {
            None => 0.5,
            Some(c) if (0.0..=1.0).contains(c.get_ref()) => c.into_inner(),
            Some(c) => {
                return Err(problem(
                    c.span(),
                    format!("min_confidence {} is out of range (0 to 1)", c.get_ref()),
                ));
            }
        };
        let retries = match (usage, spec.retries) {
            (_, None) => 1,
            (SpeechUse::Listen, Some(r)) => {
                return Err(problem(
                    r.span(),
                    "a listen node counts its attempts with its own retries, not speech.retries"
                        .to_string(),
                ));
            }
            (SpeechUse::Choice, Some(r)) if *r.get_ref() == 0 => {
                return Err(problem(
                    r.span(),
                    "speech retries must be at least 1 (leave speech out for keys only)"
                        .to_string(),
                ));
            }
            (SpeechUse::Choice, Some(r)) => r.into_inner(),
        };
        Ok(SpeechInput {
            grammar,
            hints,
            end_silence,
            min_confidence,
            denoise: spec.denoise.unwrap_or(true),
            retries,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use proptest::prelude::*;

    use crate::config::flow::{Flow, FlowError, NodeKind, NodeName, SpeechInput, parse_flow};

    fn parse(text: &str) -> Result<Flow, FlowError> {
        parse_flow("hotline", text, Path::new("sip-config/flows/hotline.toml"))
    }

    fn message(text: &str) -> String {
        parse(text)
            .expect_err("the text is a broken flow")
            .to_string()
    }

    /// A menu with `speech` (and anything else) on line 6.
    fn menu(speech: &str) -> String {
        format!(
            "start = \"m\"\n[nodes.m]\nkind = \"menu\"\nprompt = \"p\"\noptions = {{ \"1\" = \"m\" }}\n{speech}\n"
        )
    }

    /// A listen node with `speech` on line 7.
    fn listen(speech: &str) -> String {
        format!(
            "start = \"l\"\n[nodes.l]\nkind = \"listen\"\nprompt = \"p\"\nvar = \"v\"\nnext = \"l\"\n{speech}\n"
        )
    }

    fn speech_of(flow: &Flow, node: &str) -> SpeechInput {
        let name = NodeName::new(node).expect("valid");
        flow.nodes[&name]
            .kind
            .speech()
            .cloned()
            .expect("the node listens")
    }

    #[test]
    fn a_grammar_alone_gets_the_defaults() {
        let flow = parse(&menu("speech = { grammar = \"hotline_menu\" }")).expect("valid");
        assert_eq!(
            speech_of(&flow, "m"),
            SpeechInput {
                grammar: Some("hotline_menu".to_string()),
                hints: None,
                end_silence: Duration::from_millis(500),
                min_confidence: 0.5,
                denoise: true,
                retries: 1,
            }
        );
        assert_eq!(
            flow.grammar_names().into_iter().collect::<Vec<_>>(),
            ["hotline_menu"]
        );
    }

    #[test]
    fn every_field_is_read() {
        let text = listen(
            "[nodes.l.speech]\nhints = \"Kefu, refund\"\nend_silence_ms = 800\nmin_confidence = 1\ndenoise = false",
        );
        let flow = parse(&text).expect("valid");
        assert_eq!(
            speech_of(&flow, "l"),
            SpeechInput {
                grammar: None,
                hints: Some("Kefu, refund".to_string()),
                end_silence: Duration::from_millis(800),
                min_confidence: 1.0,
                denoise: false,
                retries: 1,
            }
        );
        assert!(flow.grammar_names().is_empty());
        let NodeKind::Listen(node) = &flow.nodes[&NodeName::new("l").expect("valid")].kind else {
            panic!("l is a listen node")
        };
        assert!(node.keys);
        assert_eq!((node.timeout, node.retries), (Duration::from_secs(5), 2));
    }

    #[test]
    fn bad_values_point_at_their_line() {
        let at = |speech: &str, line: usize, reason: &str| {
            assert_eq!(
                message(&menu(speech)),
                format!("sip-config/flows/hotline.toml:{line}: node \"m\": {reason}"),
                "{speech}"
            );
        };
        at(
            "speech = { min_confidence = 0.5 }",
            6,
            "speech needs a grammar here (its interpretation picks the answer)",
        );
        at(
            "speech = { grammar = \"../menu\" }",
            6,
            "grammar name \"../menu\" must be lower-case letters, digits, - and _",
        );
        at(
            "[nodes.m.speech]\ngrammar = \"g\"\nmin_confidence = 1.5",
            8,
            "min_confidence 1.5 is out of range (0 to 1)",
        );
        at(
            "[nodes.m.speech]\ngrammar = \"g\"\nmin_confidence = nan",
            8,
            "min_confidence NaN is out of range (0 to 1)",
        );
        at(
            "[nodes.m.speech]\ngrammar = \"g\"\nend_silence_ms = 50",
            8,
            "end_silence_ms 50 is out of range (100 to 10000)",
        );
        at(
            "[nodes.m.speech]\ngrammar = \"g\"\nretries = 0",
            8,
            "speech retries must be at least 1 (leave speech out for keys only)",
        );
        at(
            "[nodes.m.speech]\ngrammar = \"g\"\nhints = \"a\\nb\"",
            8,
            "hints must be 1 to 500 characters of one line of text",
        );
        at(
            "[nodes.m.speech]\ngrammar = \"g\"\ndenoise = \"yes\"",
            8,
            "invalid type: string \"yes\", expected a boolean",
        );
        at(
            "[nodes.m.speech]\ngrammar = \"g\"\ngramar = \"g\"",
            8,
            "unknown field `gramar`, expected one of `grammar`, `hints`, `end_silence_ms`, `min_confidence`, `denoise`, `retries`",
        );
        assert_eq!(
            message(&listen("speech = { retries = 3 }")),
            "sip-config/flows/hotline.toml:7: node \"l\": a listen node counts its attempts with its own retries, not speech.retries"
        );
    }

    #[test]
    fn speech_options_need_speech_and_known_nodes() {
        assert_eq!(
            message(&menu("speech_options = { order = \"m\" }")),
            "sip-config/flows/hotline.toml:6: node \"m\" has speech_options but no speech"
        );
        assert_eq!(
            message(&menu(
                "speech = { grammar = \"g\" }\nspeech_options = { order = \"nowhere\" }"
            )),
            "sip-config/flows/hotline.toml:7: node \"m\" speech option \"order\" goes to unknown node \"nowhere\""
        );
        assert_eq!(
            message(&menu(
                "speech = { grammar = \"g\" }\nspeech_options = { \"\" = \"m\" }"
            )),
            "sip-config/flows/hotline.toml:7: node \"m\" speech option \"\" must be 1 to 64 characters"
        );
    }

    #[test]
    fn a_listen_node_needs_speech_and_a_var() {
        let text = "start = \"l\"\n[nodes.l]\nkind = \"listen\"\nprompt = \"p\"\nvar = \"v\"\nnext = \"l\"\n";
        assert_eq!(
            message(text),
            "sip-config/flows/hotline.toml:2: node \"l\": missing field `speech`"
        );
        assert_eq!(
            message(&listen("speech = {}\nkeys = 1")),
            "sip-config/flows/hotline.toml:8: node \"l\": invalid type: integer `1`, expected a boolean"
        );
        let flow = parse(&listen("speech = {}")).expect("a listen node may go without a grammar");
        assert_eq!(speech_of(&flow, "l").grammar, None);
    }

    #[test]
    fn collect_speech_needs_a_grammar_too() {
        let text = "start = \"c\"\n[nodes.c]\nkind = \"collect\"\nprompt = \"p\"\nvar = \"v\"\nnext = \"c\"\nspeech = { hints = \"one two\" }\n";
        assert_eq!(
            message(text),
            "sip-config/flows/hotline.toml:7: node \"c\": speech needs a grammar here (its interpretation picks the answer)"
        );
    }

    proptest! {
        #[test]
        fn any_speech_value_parses_or_fails_without_panic(value in "[\\[\\]{}\", a-z0-9=_.#-]{0,60}") {
            let _ = parse(&menu(&format!("speech = {value}")));
            let _ = parse(&listen(&format!("speech = {value}")));
        }
    }
}
