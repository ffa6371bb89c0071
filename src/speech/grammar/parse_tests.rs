use super::*;
use crate::speech::grammar::Grammar;
use crate::speech::grammar::script::Statement;

const HEAD: &str = r#"<grammar xmlns="http://www.w3.org/2001/06/grammar" version="1.0" xml:lang="en-US" root="r">"#;

fn parse(xml: &str) -> GrammarFile {
    parse_file("en/t.grxml", xml).unwrap_or_else(|e| panic!("{e}"))
}

/// The body of rule `r` in a grammar made of `rules`.
fn body(rule: &str) -> Expansion<RefTarget> {
    let file = parse(&format!("{HEAD}\n<rule id=\"r\">{rule}</rule></grammar>"));
    file.rules[0].body.clone()
}

fn error(xml: &str) -> String {
    match parse_file("en/t.grxml", xml) {
        Ok(_) => panic!("expected an error for {xml}"),
        Err(e) => e.to_string(),
    }
}

fn token(text: &str) -> Expansion<RefTarget> {
    Expansion::Token(Token {
        text: text.into(),
        units: voice_units(text),
    })
}

#[test]
fn reads_the_grammar_header() {
    let file = parse(&format!(
        "<?xml version=\"1.0\"?>\n<!-- c -->\n{}\n<meta name=\"a\" content=\"b\"/><lexicon uri=\"x.pls\"/><metadata><x/></metadata>\n<rule id=\"r\" scope=\"public\">hi</rule></grammar>",
        r#"<grammar version="1.0" xml:lang="zh-CN" root="r" mode="voice" tag-format="semantics/1.0-literals" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="x y" xml:base="http://example.com/">"#
    ));
    assert_eq!(file.path, "en/t.grxml");
    assert_eq!(
        (file.lang.as_str(), file.mode, file.root.as_deref()),
        ("zh-CN", Mode::Voice, Some("r"))
    );
    assert_eq!((file.tag_format, file.line), (TagFormat::Literals, 3));
    assert_eq!(
        (file.rules[0].scope, file.rules[0].line),
        (Scope::Public, 5)
    );
    let dtmf = parse(r#"<grammar version="1.0" mode="dtmf"><rule id="k">1 2</rule></grammar>"#);
    assert_eq!(
        (dtmf.mode, dtmf.root, dtmf.rules[0].scope),
        (Mode::Dtmf, None, Scope::Private)
    );
}

#[test]
fn bare_text_becomes_tokens() {
    assert_eq!(
        body("  hello   world "),
        Expansion::Sequence(vec![token("hello"), token("world")])
    );
    assert_eq!(
        body("\"New  York\" city"),
        Expansion::Sequence(vec![token("New York"), token("city")])
    );
    assert_eq!(
        body("五分。"),
        Expansion::Sequence(vec![token("五"), token("分")])
    );
    assert_eq!(
        body("<token>非常 满意</token>"),
        Expansion::Sequence(vec![token("非常 满意")])
    );
    assert_eq!(
        body("a &amp; b"),
        Expansion::Sequence(vec![token("a"), token("b")])
    );
    let dtmf = parse(
        r#"<grammar version="1.0" mode="dtmf" root="r"><rule id="r">1 2# <token>*</token></rule></grammar>"#,
    );
    let keys: Vec<String> = match &dtmf.rules[0].body {
        Expansion::Sequence(items) => items
            .iter()
            .map(|i| match i {
                Expansion::Token(t) => t.text.clone(),
                other => panic!("token expected, got {other:?}"),
            })
            .collect(),
        other => panic!("sequence expected, got {other:?}"),
    };
    assert_eq!(keys, vec!["1", "2", "#", "*"]);
}

#[test]
fn rulerefs_local_external_and_special() {
    let e = body(
        r##"<ruleref uri="#r"/><ruleref uri="digits.grxml#digit"/><ruleref uri="../zh/x.grxml"/>
            <ruleref special="NULL"/><ruleref special="VOID"/><ruleref special="GARBAGE"/>"##,
    );
    let Expansion::Sequence(items) = e else {
        panic!("a sequence")
    };
    let target = |file: Option<&str>, rule: Option<&str>, uri: &str| RefTarget {
        uri: uri.into(),
        file: file.map(str::to_string),
        rule: rule.map(str::to_string),
    };
    assert_eq!(
        items[0],
        Expansion::Ref {
            target: target(None, Some("r"), "#r"),
            line: 2
        }
    );
    assert_eq!(
        items[1],
        Expansion::Ref {
            target: target(Some("en/digits.grxml"), Some("digit"), "digits.grxml#digit"),
            line: 2
        }
    );
    assert_eq!(
        items[2],
        Expansion::Ref {
            target: target(Some("zh/x.grxml"), None, "../zh/x.grxml"),
            line: 2
        }
    );
    assert_eq!(
        items[3..],
        [Special::Null, Special::Void, Special::Garbage].map(Expansion::Special)
    );
}

#[test]
fn one_of_items_weights_and_repeats() {
    let e = body(
        r#"<one-of><item weight="2.5">a</item><item>b <item repeat="0-1">c</item></item></one-of>"#,
    );
    let Expansion::Sequence(items) = e else {
        panic!("a sequence")
    };
    let Expansion::OneOf(alternatives) = &items[0] else {
        panic!("one-of")
    };
    assert_eq!(alternatives[0].weight, 2.5);
    assert_eq!(alternatives[1].weight, 1.0);
    let Expansion::Sequence(second) = &alternatives[1].body else {
        panic!("a sequence")
    };
    let Expansion::Repeat {
        min: 0,
        max: Some(1),
        line: 2,
        ..
    } = &second[1]
    else {
        panic!("a repeat: {second:?}")
    };
    for (text, expected) in [
        ("3", (3, Some(3))),
        ("2-5", (2, Some(5))),
        ("1-", (1, None)),
        ("0-0", (0, Some(0))),
    ] {
        assert_eq!(parse_repeat(text), Ok(expected), "{text}");
    }
    for bad in [
        "",
        "-",
        "a",
        "3-2",
        "-3",
        "1-2-3",
        " 1",
        "101",
        "99999999999",
        "+1",
    ] {
        assert!(parse_repeat(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn tags_parse_in_the_grammar_format() {
    let e = body(r#"yes <tag>out = "yes";</tag>"#);
    let Expansion::Sequence(items) = e else {
        panic!("a sequence")
    };
    let Expansion::Tag(Script::Statements(statements)) = &items[1] else {
        panic!("a tag")
    };
    assert_eq!(
        statements[..],
        [Statement {
            path: vec![],
            append: false,
            value: crate::speech::grammar::script::Expr::Literal("yes".into())
        }]
    );
}

#[test]
fn examples_and_element_languages_are_accepted() {
    let e = body(
        r#"<example>hi there</example><item xml:lang="en-GB">hi</item><one-of xml:lang="en"><item>x</item></one-of>"#,
    );
    let Expansion::Sequence(items) = e else {
        panic!("a sequence")
    };
    assert_eq!(items.len(), 2);
}

#[test]
fn resolves_uris_relative_to_the_referring_file() {
    let file = |referring: &str, uri: &str| resolve_uri(referring, uri).map(|t| (t.file, t.rule));
    assert_eq!(
        file("en/a.grxml", "b.grxml"),
        Ok((Some("en/b.grxml".into()), None))
    );
    assert_eq!(
        file("en/a.grxml", "./sub/b.grxml#x"),
        Ok((Some("en/sub/b.grxml".into()), Some("x".into())))
    );
    assert_eq!(
        file("a.grxml", "b.grxml#x"),
        Ok((Some("b.grxml".into()), Some("x".into())))
    );
    assert_eq!(file("en/a.grxml", "#x"), Ok((None, Some("x".into()))));
    for bad in [
        "",
        "#",
        "b.grxml#",
        "http://example.com/a.grxml",
        "/abs.grxml",
        "../../a.grxml",
        "#a.b",
        "c:\\x",
    ] {
        assert!(resolve_uri("en/a.grxml", bad).is_err(), "{bad:?}");
    }
}

#[test]
fn every_file_level_error_names_file_line_and_element() {
    let rule = |content: &str| format!("{HEAD}\n<rule id=\"r\">\n{content}\n</rule></grammar>");
    let cases: Vec<(String, &str)> = vec![
        ("<rule/>".into(), "en/t.grxml:1: <rule>: the document element must be <grammar>"),
        ("<grammar version=\"1.0\">\n<one-of/></grammar>".into(), "en/t.grxml:2: <one-of>: not allowed inside <grammar>"),
        (rule("<foo/>"), "en/t.grxml:3: <foo>: not allowed inside <rule>"),
        (rule("<one-of><ruleref uri=\"#r\"/></one-of>"), "en/t.grxml:3: <ruleref>: not allowed inside <one-of>"),
        (rule("<token><tag/></token>"), "en/t.grxml:3: <tag>: not allowed inside <token>"),
        (rule("<ruleref uri=\"#r\">x<item/></ruleref>"), "en/t.grxml:3: <item>: not allowed inside <ruleref>"),
        (format!("{HEAD}\nstray<rule id=\"r\">a</rule></grammar>"), "en/t.grxml:1: <grammar>: text \"stray\" is not allowed here"),
        (rule("<one-of>\nx<item>a</item></one-of>"), "en/t.grxml:3: <one-of>: text \"x\" is not allowed here"),
        ("<grammar version=\"1.0\" lang=\"en\"/>".into(), "en/t.grxml:1: <grammar>: unknown attribute \"lang\""),
        (rule("<item repeat=\"1\" count=\"2\">a</item>"), "en/t.grxml:3: <item>: unknown attribute \"count\""),
        ("<grammar/>".into(), "en/t.grxml:1: <grammar>: attribute \"version\" is required"),
        (format!("{HEAD}\n<rule>a</rule></grammar>"), "en/t.grxml:2: <rule>: attribute \"id\" is required"),
        (rule("<ruleref/>"), "en/t.grxml:3: <ruleref>: attribute \"uri\" is required"),
        ("<grammar version=\"2.0\"/>".into(), "en/t.grxml:1: <grammar>: version=\"2.0\": only SRGS 1.0"),
        ("<grammar version=\"1.0\" mode=\"text\"/>".into(), "en/t.grxml:1: <grammar>: mode=\"text\": voice or dtmf"),
        ("<grammar version=\"1.0\" root=\"a-b\"/>".into(), "en/t.grxml:1: <grammar>: root=\"a-b\": not a rule name"),
        (format!("{HEAD}\n<rule id=\"r\" scope=\"global\">a</rule></grammar>"), "en/t.grxml:2: <rule>: scope=\"global\": public or private"),
        (rule("<ruleref special=\"ANY\"/>"), "en/t.grxml:3: <ruleref>: special=\"ANY\": NULL, VOID or GARBAGE"),
        (rule("<ruleref uri=\"#r\" special=\"NULL\"/>"), "en/t.grxml:3: <ruleref>: special=\"\": not together with uri"),
        (rule("<one-of><item weight=\"-1\">a</item></one-of>"), "en/t.grxml:3: <item>: weight=\"-1\": a number >= 0"),
        (rule("<item repeat-prob=\"2\">a</item>"), "en/t.grxml:3: <item>: repeat-prob=\"2\": a number from 0 to 1"),
        (rule("<item repeat=\"3-1\">a</item>"), "en/t.grxml:3: <item>: repeat=\"3-1\": maximum 1 is less than minimum 3"),
        (rule("<item repeat=\"1-1000\">a</item>"), "en/t.grxml:3: <item>: repeat=\"1-1000\": 1000 is more than 100"),
        (format!("{HEAD}\n<rule id=\"x\">a</rule></grammar>"), "en/t.grxml:1: <grammar>: root rule \"r\" is not defined"),
        (format!("{HEAD}\n<rule id=\"r\">a</rule>\n<rule id=\"r\">b</rule></grammar>"), "en/t.grxml:3: <rule>: rule \"r\" is already defined on line 2"),
        (format!("{HEAD}\n<rule id=\"r\"> <example>x</example> </rule></grammar>"), "en/t.grxml:2: <rule>: rule \"r\" is empty"),
        (rule("<one-of>\n</one-of>"), "en/t.grxml:3: <one-of>: needs at least one <item>"),
        (rule("<token>...</token>"), "en/t.grxml:3: <token>: bad token \"...\": no letters or digits"),
        (rule("\"open"), "en/t.grxml:2: <rule>: bad token \"\\\"open\": unterminated quote in \"\\n\\\"open\\n\""),
        ("<grammar version=\"1.0\" mode=\"dtmf\" root=\"r\">\n<rule id=\"r\">1 x</rule></grammar>".into(), "en/t.grxml:2: <rule>: bad token \"x\": 'x' is not a DTMF key"),
        (rule("<ruleref uri=\"http://x/y.grxml\"/>"), "en/t.grxml:3: <ruleref>: \"http://x/y.grxml\": only relative file references are supported"),
        (rule("<ruleref uri=\"y.gram\" type=\"application/srgs\"/>"), "en/t.grxml:3: <ruleref>: \"y.gram\": type \"application/srgs\" (only application/srgs+xml)"),
        ("<grammar version=\"1.0\" tag-format=\"swi-semantics/1.0\"/>".into(), "en/t.grxml:1: <grammar>: tag-format=\"swi-semantics/1.0\" is not supported"),
        (rule("a <tag>var x = 1;</tag>"), "en/t.grxml:3: <tag>: cannot assign to \"var\""),
        ("<grammar version=\"1.0\">\n<rule id=\"r\">\n</grammar>".into(), "en/t.grxml:3: not well-formed XML"),
    ];
    for (xml, expected) in cases {
        let message = error(&xml);
        assert!(
            message.starts_with(expected),
            "{xml}\n  got:      {message}\n  expected: {expected}"
        );
    }
}

#[test]
fn too_deep_and_not_utf8_are_errors_too() {
    let deep = format!(
        "{HEAD}<rule id=\"r\">{}a{}</rule></grammar>",
        "<item>".repeat(80),
        "</item>".repeat(80)
    );
    assert!(error(&deep).starts_with("en/t.grxml:1: <item>: elements nested deeper than 64"));
    let e = Grammar::parse_bytes("en/t.grxml", b"<grammar version=\"1.0\">\xff</grammar>")
        .expect_err("not UTF-8");
    assert_eq!(e.to_string(), "en/t.grxml: not UTF-8 text");
}
