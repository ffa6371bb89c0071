use std::path::PathBuf;

use super::*;
use crate::speech::grammar::gbnf_acceptor::{accepts, check_shape, read_gbnf_text, walk};
use crate::speech::grammar::{Grammar, GrammarSet};

fn shipped() -> GrammarSet {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("grammars");
    GrammarSet::load_dir(&dir).expect("the shipped grammars load")
}

fn whisper(set: &GrammarSet, lang: &str, name: &str) -> WhisperGrammar {
    let grammar = set
        .get(lang, name)
        .unwrap_or_else(|| panic!("{lang}/{name} is shipped"));
    grammar
        .whisper_grammar()
        .expect("a voice grammar compiles")
        .clone()
}

fn inline(body: &str) -> WhisperGrammar {
    let xml = format!(
        r#"<grammar version="1.0" xml:lang="en-US" root="r"><rule id="r">{body}</rule></grammar>"#
    );
    let grammar = Grammar::parse("t.grxml", &xml).expect("test grammar is valid");
    grammar.whisper_grammar().expect("voice").clone()
}

#[test]
fn every_shipped_voice_grammar_compiles_and_dtmf_ones_do_not() {
    let set = shipped();
    assert_eq!(set.len(), 20);
    for (lang, name, grammar) in set.iter() {
        match grammar.mode() {
            Mode::Voice => {
                let g = grammar
                    .whisper_grammar()
                    .unwrap_or_else(|| panic!("{lang}/{name}"));
                check_shape(g);
                assert_eq!(
                    read_gbnf_text(&g.to_gbnf_text()),
                    g.rules,
                    "{lang}/{name}: text round trip"
                );
            }
            Mode::Dtmf => assert!(grammar.whisper_grammar().is_none(), "{lang}/{name}"),
        }
    }
}

#[test]
fn order_number_accepts_what_whisper_writes() {
    let set = shipped();
    let g = whisper(&set, "en", "order_number");
    for text in [
        " 1 0 0 2 3.",
        " One, zero, zero, two, three.",
        " 10023",
        " 10023.",
        " 10,023.",
        " 1-0-0-2-3",
        " one zero oh two three",
        " My order number is 1 2 3 4 5 6.",
        " It's 12345678.",
        " One zero zero two three",
    ] {
        assert!(accepts(&g, text), "{text:?}");
    }
    for text in [
        " hello",
        " 1234",
        " 123456789",
        " 1 2 3 4 five six seven eight nine",
        " 12345 please",
    ] {
        assert!(!accepts(&g, text), "{text:?}");
    }
    // A prefix is alive (whisper may go on), a wrong character is not.
    assert!(walk(&g, " 1 0").prefix && !walk(&g, " 1 0").complete);
    assert!(!walk(&g, " 1 0 x").prefix);
}

#[test]
fn digits_accept_words_digits_and_separators_in_both_languages() {
    let set = shipped();
    let en = whisper(&set, "en", "digits");
    for text in [
        " 1 2 3 4 5",
        " one two three",
        " 12345",
        " 5",
        " Nine.",
        " 1, 2, 3.",
    ] {
        assert!(accepts(&en, text), "{text:?}");
    }
    assert!(
        accepts(&en, &" 1".repeat(20)) && !accepts(&en, &" 1".repeat(21)) && !accepts(&en, " ")
    );
    assert!(
        !accepts(&en, "一二三"),
        "English digits do not take Chinese"
    );
    let zh = whisper(&set, "zh", "digits");
    for text in ["一二三", "幺两三", "123", " 1 2 3", "一、二、三。", "10023"] {
        assert!(accepts(&zh, text), "{text:?}");
    }
    assert!(!accepts(&zh, "你好"));
}

#[test]
fn yes_no_is_case_and_punctuation_tolerant() {
    let set = shipped();
    let en = whisper(&set, "en", "yes_no");
    for text in [
        " Yes.",
        " yes",
        " YES!",
        " Yeah.",
        " That's right.",
        " That’s right.",
        " No, thank you.",
        " Nope.",
    ] {
        assert!(accepts(&en, text), "{text:?}");
    }
    for text in [" Yes no", " Maybe.", "Yes", " Yes.."] {
        assert_eq!(accepts(&en, text), text == " Yes..", "{text:?}");
    }
    let zh = whisper(&set, "zh", "yes_no");
    for text in ["是的。", " 是的", "对", "不是。", "没错！", "不需要"] {
        assert!(accepts(&zh, text), "{text:?}");
    }
    assert!(!accepts(&zh, "也许"));
}

#[test]
fn garbage_lets_a_menu_answer_sit_inside_a_sentence() {
    let set = shipped();
    let en = whisper(&set, "en", "hotline_menu");
    for text in [
        " Agent.",
        " I want a refund, please.",
        " Where is my order?",
        " Can I talk to a real person",
    ] {
        assert!(accepts(&en, text), "{text:?}");
    }
    let zh = whisper(&set, "zh", "hotline_menu");
    for text in ["我要转人工。", "查订单", "我想退货"] {
        assert!(accepts(&zh, text), "{text:?}");
    }
    // whisper.cpp keeps one stack per live path; it must stay small per character.
    let w = walk(&en, " I would like to check the status of my order please.");
    assert!(w.complete && w.max_stacks < 200, "{w:?}");
}

#[test]
fn score_accepts_numbers_and_words() {
    let set = shipped();
    let en = whisper(&set, "en", "score");
    for text in [
        " Five.",
        " 5",
        " Four out of five.",
        " I'd give it a 4.",
        " Very satisfied.",
        " Terrible.",
    ] {
        assert!(accepts(&en, text), "{text:?}");
    }
    assert!(!accepts(&en, " Six."));
    let zh = whisper(&set, "zh", "score");
    for text in ["五分", "5分。", "非常满意", "我给五星", "一般"] {
        assert!(accepts(&zh, text), "{text:?}");
    }
    assert!(!accepts(&zh, "六分"));
}

#[test]
fn repeats_unroll_to_their_bounds() {
    let g = inline(r#"<item repeat="2-3">la</item>"#);
    assert!(
        !accepts(&g, " la")
            && accepts(&g, " la la")
            && accepts(&g, " la la la")
            && !accepts(&g, " la la la la")
    );
    let g = inline(r#"<item repeat="1-">la</item>"#);
    assert!(!accepts(&g, "") && accepts(&g, " la") && accepts(&g, &" la".repeat(30)));
    let g = inline(r#"<item repeat="0-1">very</item> good"#);
    assert!(accepts(&g, " good") && accepts(&g, " Very good."));
}

#[test]
fn specials_compile_to_nothing_never_and_anything() {
    let g = inline(r#"a <ruleref special="NULL"/> b"#);
    assert!(accepts(&g, " a b"));
    let g = inline(r#"<one-of><item>a <ruleref special="VOID"/></item><item>b</item></one-of>"#);
    assert!(!accepts(&g, " a") && accepts(&g, " b"));
    let g = inline(r#"hello <ruleref special="GARBAGE"/> bye"#);
    assert!(accepts(&g, " hello bye") && accepts(&g, " Hello, whatever you say, bye."));
}

#[test]
fn text_form_is_readable_gbnf() {
    let g = inline(r#"<one-of><item>yes</item><item>1</item></one-of>"#);
    let text = g.to_gbnf_text();
    assert!(text.starts_with("root ::= r tail\n"), "{text}");
    assert!(
        text.contains("r ::= word-sep [yY] [eE] [sS] | digit-1\n"),
        "{text}"
    );
    assert!(
        text.contains("digit-sep ::= [,.\\-] \" \" | [,.\\-] | \" \" | \"\"\n"),
        "{text}"
    );
    assert_eq!(GbnfKind::End.code(), 0);
    assert_eq!(GbnfKind::CharAlt.code(), 6);
}
