use std::collections::HashMap;

use super::*;

fn grammar(attrs: &str, rules: &str) -> String {
    format!(
        r#"<grammar xmlns="http://www.w3.org/2001/06/grammar" version="1.0" xml:lang="en-US" {attrs}>{rules}</grammar>"#
    )
}

fn files(list: &[(&str, String)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = list
        .iter()
        .map(|(p, x)| (p.to_string(), x.clone()))
        .collect();
    move |path: &str| map.get(path).cloned()
}

fn link_error(top: &str, list: &[(&str, String)]) -> String {
    match link(top, &files(list)) {
        Ok(_) => panic!("expected a link error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn links_local_external_and_root_references() {
    let loader = files(&[
        (
            "en/top.grxml",
            grammar(
                r#"root="main""#,
                "<rule id=\"main\"><ruleref uri=\"#part\"/><ruleref uri=\"lib/digits.grxml#digit\"/><ruleref uri=\"lib/digits.grxml\"/></rule>\n<rule id=\"part\">a</rule>",
            ),
        ),
        (
            "en/lib/digits.grxml",
            grammar(
                r#"root="all""#,
                r##"<rule id="all"><ruleref uri="#digit"/></rule><rule id="digit" scope="public">1</rule>"##,
            ),
        ),
    ]);
    let linked = link("en/top.grxml", &loader).expect("links");
    let names: Vec<(&str, &str)> = linked
        .rules
        .iter()
        .map(|r| (r.file.as_str(), r.id.as_str()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("en/top.grxml", "main"),
            ("en/top.grxml", "part"),
            ("en/lib/digits.grxml", "all"),
            ("en/lib/digits.grxml", "digit")
        ]
    );
    assert_eq!(linked.root, RuleId(0));
    let Expansion::Sequence(items) = &linked.rules[0].body else {
        panic!("a sequence")
    };
    let targets: Vec<RuleId> = items
        .iter()
        .map(|i| match i {
            Expansion::Ref { target, .. } => *target,
            other => panic!("a ref, got {other:?}"),
        })
        .collect();
    // The root of digits.grxml is private and still reachable through the file's URI.
    assert_eq!(targets, vec![RuleId(1), RuleId(3), RuleId(2)]);
    assert_eq!((linked.lang.as_str(), linked.mode), ("en-US", Mode::Voice));
}

#[test]
fn reference_errors_name_the_referring_file_and_line() {
    let top = |body: &str| {
        (
            "en/top.grxml",
            grammar(
                r#"root="main""#,
                &format!("<rule id=\"main\">\n{body}</rule>"),
            ),
        )
    };
    let lib = (
        "en/lib.grxml",
        grammar(
            "",
            r#"<rule id="hidden">a</rule><rule id="shown" scope="public">b</rule>"#,
        ),
    );
    let keys = (
        "en/keys.grxml",
        grammar(r#"mode="dtmf" root="k""#, r#"<rule id="k">1</rule>"#),
    );
    let cases = [
        (
            "<ruleref uri=\"#foo\"/>",
            "en/top.grxml:2: <ruleref>: rule \"#foo\" is not defined",
        ),
        (
            "<ruleref uri=\"lib.grxml#nope\"/>",
            "en/top.grxml:2: <ruleref>: rule \"lib.grxml#nope\" is not defined",
        ),
        (
            "<ruleref uri=\"lib.grxml#hidden\"/>",
            "en/top.grxml:2: <ruleref>: rule \"lib.grxml#hidden\" is private to its file",
        ),
        (
            "<ruleref uri=\"lib.grxml\"/>",
            "en/lib.grxml:1: <grammar>: no root rule",
        ),
        (
            "<ruleref uri=\"other.grxml#x\"/>",
            "en/top.grxml:2: <ruleref>: \"other.grxml#x\": grammar file \"en/other.grxml\" not found",
        ),
        (
            "<ruleref uri=\"keys.grxml\"/>",
            "en/top.grxml:2: <ruleref>: \"keys.grxml\" is a dtmf grammar, this one is voice",
        ),
    ];
    for (body, expected) in cases {
        let message = link_error("en/top.grxml", &[top(body), lib.clone(), keys.clone()]);
        assert!(
            message.starts_with(expected),
            "{body}\n  got:      {message}\n  expected: {expected}"
        );
    }
    assert!(
        link(
            "en/top.grxml",
            &files(&[top("<ruleref uri=\"lib.grxml#shown\"/>"), lib])
        )
        .is_ok()
    );
    assert_eq!(
        link_error("en/none.grxml", &[]),
        "en/none.grxml: grammar file not found"
    );
    assert_eq!(
        link_error(
            "en/top.grxml",
            &[("en/top.grxml", grammar("", "<rule id=\"a\">x</rule>"))]
        ),
        "en/top.grxml:1: <grammar>: no root rule (add root=\"...\")"
    );
}

#[test]
fn rejects_left_recursion_direct_indirect_and_behind_nullable_prefixes() {
    let cases = [
        (
            r##"<rule id="main"><ruleref uri="#main"/> a</rule>"##,
            "rule \"main\" is left-recursive (main -> main)",
        ),
        (
            r##"<rule id="main"><ruleref uri="#b"/></rule><rule id="b"><one-of><item>x</item><item><ruleref uri="#main"/> y</item></one-of></rule>"##,
            "rule \"main\" is left-recursive (main -> b -> main)",
        ),
        (
            r##"<rule id="main"><tag>out=1;</tag><item repeat="0-1">a</item><ruleref special="NULL"/><ruleref special="GARBAGE"/><ruleref uri="#main"/> b</rule>"##,
            "rule \"main\" is left-recursive (main -> main)",
        ),
        (
            r##"<rule id="main"><ruleref uri="#e"/><ruleref uri="#main"/></rule><rule id="e"><item repeat="0-3">z</item></rule>"##,
            "rule \"main\" is left-recursive (main -> main)",
        ),
    ];
    for (rules, expected) in cases {
        let message = link_error(
            "en/t.grxml",
            &[("en/t.grxml", grammar(r#"root="main""#, rules))],
        );
        assert!(
            message.starts_with("en/t.grxml:1: <rule>: ") && message.ends_with(expected),
            "{message}"
        );
    }
    // Across files: main -> lib#loop -> top#main.
    let top = grammar(
        r#"root="main""#,
        r#"<rule id="main" scope="public"><ruleref uri="lib.grxml#loop"/></rule>"#,
    );
    let lib = grammar(
        "",
        r#"<rule id="loop" scope="public"><ruleref uri="top.grxml#main"/></rule>"#,
    );
    let message = link_error(
        "en/top.grxml",
        &[("en/top.grxml", top), ("en/lib.grxml", lib)],
    );
    assert!(
        message.contains("left-recursive (main -> loop -> main)"),
        "{message}"
    );
}

#[test]
fn right_recursion_with_an_exit_is_fine_and_without_one_is_not() {
    let ok = grammar(
        r#"root="list""#,
        r##"<rule id="list"><one-of><item>a</item><item>a <ruleref uri="#list"/></item></one-of></rule>"##,
    );
    assert!(link("t.grxml", &files(&[("t.grxml", ok)])).is_ok());
    let endless = grammar(
        r#"root="list""#,
        "\n<rule id=\"list\">a <ruleref uri=\"#list\"/></rule>",
    );
    assert_eq!(
        link_error("t.grxml", &[("t.grxml", endless)]),
        "t.grxml:2: <rule>: rule \"list\" recurses without end (no alternative stops)"
    );
    let void = grammar(
        r#"root="never""#,
        r#"<rule id="never"><ruleref special="VOID"/></rule>"#,
    );
    assert!(
        link("t.grxml", &files(&[("t.grxml", void)])).is_ok(),
        "VOID on purpose is allowed"
    );
}

#[test]
fn rejects_unbounded_repeats_of_what_can_be_empty() {
    let xml = grammar(
        r#"root="r""#,
        "<rule id=\"r\">a\n<item repeat=\"1-\"><item repeat=\"0-1\">b</item></item></rule>",
    );
    assert_eq!(
        link_error("t.grxml", &[("t.grxml", xml)]),
        "t.grxml:2: <item>: repeat=\"1-\": the item can match nothing, so it could repeat forever"
    );
    let bounded = grammar(
        r#"root="r""#,
        r#"<rule id="r">a <item repeat="0-5"><ruleref special="GARBAGE"/></item></rule>"#,
    );
    assert!(link("t.grxml", &files(&[("t.grxml", bounded)])).is_ok());
}

#[test]
fn refuses_runaway_file_chains() {
    let list: Vec<(String, String)> = (0..=MAX_FILES)
        .map(|i| {
            let body = format!(
                "<rule id=\"r\" scope=\"public\">a <ruleref uri=\"f{}.grxml#r\"/></rule>",
                i + 1
            );
            (format!("f{i}.grxml"), grammar(r#"root="r""#, &body))
        })
        .collect();
    let map: HashMap<String, String> = list.into_iter().collect();
    let loader = move |path: &str| map.get(path).cloned();
    let error = link("f0.grxml", &loader).expect_err("too many files");
    assert!(matches!(error, GrammarError::TooLarge { .. }), "{error}");
}
