use std::path::PathBuf;

use serde_json::{Value, json};

use super::*;
use crate::speech::grammar::{Grammar, GrammarSet};

fn shipped() -> GrammarSet {
    GrammarSet::load_dir(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("grammars"))
        .expect("shipped grammars load")
}

fn inline(attrs: &str, rules: &str) -> Grammar {
    let xml =
        format!(r#"<grammar version="1.0" xml:lang="en-US" root="r" {attrs}>{rules}</grammar>"#);
    Grammar::parse("t.grxml", &xml).unwrap_or_else(|e| panic!("{e}"))
}

/// (interpretation, confidence) of a transcript.
fn said(g: &Grammar, text: &str) -> Option<(Value, f32)> {
    g.interpret(text).map(|m| (m.interpretation, m.confidence))
}

fn assert_said(g: &Grammar, text: &str, value: &str, confidence: f32) {
    let (got, c) = said(g, text).unwrap_or_else(|| panic!("{}: {text:?} should match", g.path()));
    assert_eq!(got, json!(value), "{text:?}");
    assert!(
        (c - confidence).abs() < 0.001,
        "{text:?}: confidence {c}, expected {confidence}"
    );
}

#[test]
fn order_numbers_in_every_spelling() {
    let set = shipped();
    let g = set.get("en", "order_number").expect("shipped");
    for text in [
        "1 0 0 2 3",
        " One, zero, zero, two, three.",
        "10023",
        "10,023.",
        "one oh oh two three",
        "My order number is one zero zero two three.",
        "It's 1-0-0-2-3",
    ] {
        assert_said(g, text, "10023", 1.0);
    }
    assert_said(g, "double 5 1 2 3", "55123", 1.0);
    assert_said(g, "Um, 1 0 0 2 3.", "10023", 0.95);
    assert_said(g, "one zero zero to three", "10023", 0.9);
    assert_said(g, "for five six seven ate", "45678", 0.81);
    for text in ["hello", "1234", "123456789", "", "my order number is"] {
        assert_eq!(said(g, text), None, "{text:?}");
    }
    let m = g.interpret("  10023. ").expect("matches");
    assert_eq!(m.utterance, "10023.");

    let zh = set.get("zh", "order_number").expect("shipped");
    for text in [
        "一零零二三",
        "幺零零二三",
        "10023",
        "订单号是一零零二三。",
        "1 0 0 2 3",
    ] {
        assert_said(zh, text, "10023", 1.0);
    }
}

#[test]
fn digits_accept_any_mix_of_words_and_digits() {
    let set = shipped();
    let en = set.get("en", "digits").expect("shipped");
    for text in ["123", "1 2 3", "one two three", "One, 2, three.", "１２３"] {
        assert_said(en, text, "123", 1.0);
    }
    assert_eq!(said(en, &"1".repeat(21)), None);
    let zh = set.get("zh", "digits").expect("shipped");
    for text in ["一二三", "幺两三", "123", "一，二，三。"] {
        assert_said(zh, text, "123", 1.0);
    }
}

#[test]
fn yes_and_no_paraphrased() {
    let set = shipped();
    let en = set.get("en", "yes_no").expect("shipped");
    for (text, value) in [
        ("Yes.", "yes"),
        ("yeah", "yes"),
        ("That's right.", "yes"),
        ("thats right", "yes"),
        ("Of course!", "yes"),
        ("OK", "yes"),
        ("No.", "no"),
        ("Nope.", "no"),
        ("Not really.", "no"),
        ("No, thank you.", "no"),
    ] {
        assert_said(en, text, value, 1.0);
    }
    assert_said(en, "No, no.", "no", 0.95);
    assert_said(en, "Um, yes please.", "yes", 0.95);
    assert_said(en, "absolutly", "yes", 0.8);
    for text in ["hello", "yess", "maybe", "yes no"] {
        assert_eq!(said(en, text), None, "{text:?}");
    }
    let zh = set.get("zh", "yes_no").expect("shipped");
    for (text, value) in [
        ("是的。", "yes"),
        ("对", "yes"),
        ("嗯", "yes"),
        ("没错！", "yes"),
        ("不是", "no"),
        ("不用了", "no"),
        ("不要", "no"),
    ] {
        assert_said(zh, text, value, 1.0);
    }
    assert_said(zh, "对对对", "yes", 0.9025);
    assert_said(zh, "好的吧", "yes", 0.95);
    assert_eq!(said(zh, "也许"), None);
}

#[test]
fn menu_choices_inside_sentences() {
    let set = shipped();
    let en = set.get("en", "hotline_menu").expect("shipped");
    assert_said(en, "Agent.", "agent", 1.0);
    assert_said(en, "Where is my order?", "order", 1.0);
    assert_said(en, "refund", "returns", 1.0);
    assert_said(en, "representive", "agent", 0.8);
    // Six words of garbage, then "please" skipped.
    assert_said(
        en,
        "I want to speak to a representative please",
        "agent",
        0.95f32.powi(7),
    );
    assert_said(en, "I'd like to return an item", "returns", 0.95f32.powi(3));
    assert_eq!(said(en, "hello there"), None);
    let zh = set.get("zh", "hotline_menu").expect("shipped");
    assert_said(zh, "转人工", "agent", 1.0);
    assert_said(zh, "我要转人工。", "agent", 0.97f32.powi(2));
    assert_said(zh, "退货", "returns", 1.0);
    // 一 is read as a digit, so it costs what a word costs.
    assert_said(zh, "查一下我的订单", "order", 0.97f32.powi(2) * 0.95);
    assert_eq!(said(zh, "你好"), None);
}

#[test]
fn scores_as_numbers_and_words() {
    let set = shipped();
    let en = set.get("en", "score").expect("shipped");
    for (text, value) in [
        ("five", "5"),
        ("5", "5"),
        ("Four out of five.", "4"),
        ("I'd give it a 3.", "3"),
        ("Very satisfied!", "5"),
        ("satisfied", "4"),
        ("Not satisfied.", "2"),
        ("very dissatisfied", "1"),
        ("two stars", "2"),
    ] {
        assert_said(en, text, value, 1.0);
    }
    for text in ["6", "ten", "satisfied five"] {
        assert_eq!(said(en, text), None, "{text:?}");
    }
    let zh = set.get("zh", "score").expect("shipped");
    for (text, value) in [
        ("五分", "5"),
        ("5分", "5"),
        ("五星", "5"),
        ("非常满意", "5"),
        ("满意", "4"),
        ("不满意", "2"),
        ("两分", "2"),
        ("一般", "3"),
    ] {
        assert_said(zh, text, value, 1.0);
    }
    assert_said(zh, "打四分吧", "4", 0.95);
    assert_eq!(said(zh, "六分"), None);
}

#[test]
fn keys_with_dtmf_grammars_only() {
    let set = shipped();
    let digits = set.get("en", "digits_keys").expect("shipped");
    let m = digits.interpret_keys("10023#").expect("matches");
    assert_eq!(
        (m.interpretation, m.confidence, m.utterance.as_str()),
        (json!("10023"), 1.0, "10023#")
    );
    assert_eq!(
        digits.interpret_keys("10023").map(|m| m.interpretation),
        Some(json!("10023"))
    );
    assert_eq!(digits.interpret_keys("12x"), None);
    assert_eq!(
        digits.interpret("one two three"),
        None,
        "a DTMF grammar does not take speech"
    );
    let menu = set.get("zh", "hotline_menu_keys").expect("shipped");
    assert_eq!(
        menu.interpret_keys("0").map(|m| m.interpretation),
        Some(json!("agent"))
    );
    assert_eq!(menu.interpret_keys("9"), None);
    // The grammar has no '#', so a final '#' is read as the end key.
    let yes_no = set.get("en", "yes_no_keys").expect("shipped");
    let m = yes_no.interpret_keys("1#").expect("matches");
    assert_eq!(
        (m.interpretation, m.utterance.as_str()),
        (json!("yes"), "1")
    );
    let order = set.get("en", "order_number_keys").expect("shipped");
    assert_eq!(order.interpret_keys("1234#"), None);
    assert_eq!(
        order.interpret_keys("12345678#").map(|m| m.interpretation),
        Some(json!("12345678"))
    );
    assert_eq!(
        set.get("en", "yes_no")
            .expect("shipped")
            .interpret_keys("1"),
        None,
        "a voice grammar does not take keys"
    );
}

#[test]
fn without_tags_the_value_is_the_matched_grammar_text() {
    let g = inline(
        "",
        r#"<rule id="r">"New York" <item repeat="0-1">city</item></rule>"#,
    );
    assert_said(&g, "new york", "New York", 1.0);
    assert_said(&g, "NEW YORK CITY.", "New York city", 1.0);
    let zh = inline("", r#"<rule id="r"><token>非常</token>满意</rule>"#);
    assert_said(&zh, "非常满意", "非常满意", 1.0);
}

#[test]
fn tags_build_objects_from_rule_values() {
    let g = inline(
        "",
        r##"<rule id="r"><ruleref uri="#action"/> <ruleref uri="#count"/>
              <tag>out.action = rules.action; out.count = rules.count; out.last = rules.latest();</tag></rule>
            <rule id="action"><one-of><item>buy<tag>out = "buy";</tag></item><item>sell<tag>out = "sell";</tag></item></one-of></rule>
            <rule id="count"><one-of><item>1<tag>out = 1;</tag></item><item>2<tag>out = 2;</tag></item></one-of></rule>"##,
    );
    let m = g.interpret("Sell two").expect("matches");
    assert_eq!(
        m.interpretation,
        json!({"action": "sell", "count": 2, "last": 2})
    );
    let literal = inline(
        r#"tag-format="semantics/1.0-literals""#,
        r#"<rule id="r"><one-of><item>agent<tag>agent</tag></item><item>human<tag>agent</tag></item></one-of></rule>"#,
    );
    assert_said(&literal, "Human.", "agent", 1.0);
}

#[test]
fn weights_break_ties_and_only_ties() {
    let g = inline(
        "",
        r#"<rule id="r"><one-of><item>pay <tag>out = "light";</tag></item><item weight="3">pay <tag>out = "heavy";</tag></item><item weight="0.1">pay now<tag>out = "exact";</tag></item></one-of></rule>"#,
    );
    assert_said(&g, "pay", "heavy", 1.0);
    assert_said(&g, "pay now", "exact", 1.0);
    let even = inline(
        "",
        r#"<rule id="r"><one-of><item>a<tag>out = "first";</tag></item><item>a<tag>out = "second";</tag></item></one-of></rule>"#,
    );
    assert_said(&even, "a", "first", 1.0);
}

#[test]
fn specials_and_limits() {
    let garbage = inline(
        "",
        r#"<rule id="r"><ruleref special="GARBAGE"/> agent</rule>"#,
    );
    assert_said(&garbage, "I want an agent", "agent", 0.95f32.powi(3));
    let void = inline(
        "",
        r#"<rule id="r"><one-of><item>a <ruleref special="VOID"/></item><item>b</item></one-of></rule>"#,
    );
    assert_eq!(said(&void, "a"), None);
    assert_said(&void, "b", "b", 1.0);
    let null = inline("", r#"<rule id="r">a <ruleref special="NULL"/> b</rule>"#);
    assert_said(&null, "a b", "a b", 1.0);
    let many = inline("", r#"<rule id="r"><item repeat="1-">la</item></rule>"#);
    assert!(said(&many, &"la ".repeat(MAX_UNITS)).is_some());
    assert_eq!(
        said(&many, &"la ".repeat(MAX_UNITS + 1)),
        None,
        "longer than any answer"
    );
}

#[test]
fn recursive_rules_match_to_any_depth_the_input_needs() {
    let g = inline(
        "",
        r##"<rule id="r"><one-of><item>a<tag>out = "a";</tag></item><item>a <ruleref uri="#r"/><tag>out = "a"; out += rules.r;</tag></item></one-of></rule>"##,
    );
    assert_said(&g, "a a a a", "aaaa", 1.0);
}
