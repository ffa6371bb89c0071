//! Property tests: no input, however broken, panics the parser, the linker, the compiler or
//! the matcher.

use std::path::PathBuf;

use proptest::prelude::*;

use super::gbnf_acceptor::{check_shape, walk};
use super::script::Script;
use super::{Grammar, GrammarSet, ast::TagFormat};

fn shipped_sources() -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("grammars");
    let mut sources = Vec::new();
    for lang in ["en", "zh"] {
        let mut names: Vec<_> = std::fs::read_dir(dir.join(lang))
            .expect("grammars dir")
            .flatten()
            .collect();
        names.sort_by_key(|e| e.file_name());
        for entry in names {
            let text = std::fs::read_to_string(entry.path()).expect("readable grammar");
            sources.push((
                format!("{lang}/{}", entry.file_name().to_string_lossy()),
                text,
            ));
        }
    }
    sources
}

/// Random SRGS expansions, rendered as XML.
fn expansion() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        prop::sample::select(vec![
            "yes",
            "one",
            "1",
            "五分",
            "that's",
            "\"New York\"",
            "x y"
        ])
        .prop_map(str::to_string),
        prop::sample::select(vec![
            "#r",
            "#s",
            "#t",
            "lib.grxml#d",
            "lib.grxml",
            "none.grxml"
        ])
        .prop_map(|uri| format!(r#"<ruleref uri="{uri}"/>"#)),
        prop::sample::select(vec!["NULL", "VOID", "GARBAGE"])
            .prop_map(|s| format!(r#"<ruleref special="{s}"/>"#)),
        prop::sample::select(vec![
            r#"out = "a";"#,
            "out += rules.s;",
            "out.k = rules.latest();",
            "out = 1"
        ])
        .prop_map(|t| format!("<tag>{t}</tag>")),
        Just("<token>非常满意</token>".to_string()),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            (
                inner.clone(),
                prop::sample::select(vec!["0-1", "1-", "2", "0-", "1-3", "0-0"])
            )
                .prop_map(|(e, r)| format!(r#"<item repeat="{r}">{e}</item>"#)),
            prop::collection::vec(
                (
                    inner.clone(),
                    prop::sample::select(vec!["", r#" weight="2""#])
                ),
                1..4
            )
            .prop_map(|items| {
                let items: String = items
                    .into_iter()
                    .map(|(e, w)| format!("<item{w}>{e}</item>"))
                    .collect();
                format!("<one-of>{items}</one-of>")
            }),
            prop::collection::vec(inner, 1..4).prop_map(|items| items.join(" ")),
        ]
    })
}

fn random_grammar() -> impl Strategy<Value = String> {
    (expansion(), expansion(), expansion(), prop::sample::select(vec!["voice", "dtmf"])).prop_map(|(r, s, t, mode)| {
        format!(
            r#"<grammar version="1.0" xml:lang="en-US" mode="{mode}" root="r"><rule id="r">{r}</rule><rule id="s" scope="public">{s}</rule><rule id="t">{t}</rule></grammar>"#
        )
    })
}

fn exercise(g: &Grammar, texts: &[String]) {
    if let Some(w) = g.whisper_grammar() {
        check_shape(w);
        let _ = w.to_gbnf_text();
    }
    for text in texts {
        for m in [g.interpret(text), g.interpret_keys(text)]
            .into_iter()
            .flatten()
        {
            assert!(
                m.confidence > 0.0 && m.confidence <= 1.0,
                "confidence {}",
                m.confidence
            );
        }
        if let Some(w) = g.whisper_grammar() {
            let _ = walk(w, &text.chars().take(12).collect::<String>());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parse_never_panics_on_any_text(text in any::<String>()) {
        let _ = Grammar::parse("t.grxml", &text);
    }

    #[test]
    fn parse_never_panics_on_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = Grammar::parse_bytes("t.grxml", &bytes);
    }

    #[test]
    fn parse_never_panics_on_xml_like_text(text in r##"(<grammar version="1.0" root="r"|<rule id="r"|<item repeat="[0-9-]{0,4}"|<one-of|<ruleref uri="#r"|<tag|<token|/>|>|</item>|</rule>|</one-of>|</grammar>|out = "a";|&amp;|&#x4e00;|&bad;|yes|五|\s){0,40}"##) {
        let _ = Grammar::parse("t.grxml", &text);
    }

    #[test]
    fn random_grammars_link_compile_and_match_without_panics(
        xml in random_grammar(),
        texts in prop::collection::vec(r"(yes|one|1|five|New|York|五分|非常满意|that's|x|y|um|\#|\*|[0-9]| |,|\.){0,8}", 1..4),
    ) {
        let lib = r#"<grammar version="1.0" root="d"><rule id="d" scope="public">1 <item repeat="0-1">2</item></rule></grammar>"#;
        let loader = |path: &str| match path {
            "t.grxml" => Some(xml.clone()),
            "lib.grxml" => Some(lib.to_string()),
            _ => None,
        };
        if let Ok(g) = Grammar::load("t.grxml", &loader) {
            exercise(&g, &texts);
        }
    }

    #[test]
    fn damaged_shipped_grammars_never_panic(index in 0usize..20, at in any::<prop::sample::Index>(), cut in 0usize..40, insert in "[<>/\"#a-z0-9 =-]{0,6}") {
        let sources = shipped_sources();
        let (path, text) = &sources[index % sources.len()];
        let chars: Vec<char> = text.chars().collect();
        let start = at.index(chars.len() + 1);
        let end = (start + cut).min(chars.len());
        let damaged: String = chars[..start].iter().chain(insert.chars().collect::<Vec<_>>().iter()).chain(&chars[end..]).collect();
        let loader = |p: &str| if p == path { Some(damaged.clone()) } else { sources.iter().find(|(q, _)| q == p).map(|(_, t)| t.clone()) };
        if let Ok(g) = Grammar::load(path, &loader) {
            exercise(&g, &["one two three four five".to_string(), "yes".to_string(), "10023#".to_string()]);
        }
    }

    #[test]
    fn shipped_grammars_take_any_transcript(text in any::<String>()) {
        let set = GrammarSet::load_dir(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("grammars")).expect("shipped");
        for (_, _, g) in set.iter() {
            for m in [g.interpret(&text), g.interpret_keys(&text)].into_iter().flatten() {
                prop_assert!(m.confidence > 0.0 && m.confidence <= 1.0);
            }
        }
    }

    #[test]
    fn tag_scripts_never_panic(text in any::<String>()) {
        let _ = Script::parse(&text, TagFormat::Script);
    }
}
