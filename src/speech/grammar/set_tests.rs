use std::path::PathBuf;

use serde_json::json;

use super::*;
use crate::speech::grammar::ast::Mode;

fn shipped_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("grammars")
}

#[test]
fn loads_the_shipped_tree_with_a_keypad_twin_for_each_voice_grammar() {
    let set = GrammarSet::load_dir(&shipped_dir()).expect("the shipped grammars load");
    let names: Vec<(&str, &str)> = set.iter().map(|(lang, name, _)| (lang, name)).collect();
    let expected = ["digits", "hotline_menu", "order_number", "score", "yes_no"];
    for lang in ["en", "zh"] {
        for name in expected {
            let voice = set
                .get(lang, name)
                .unwrap_or_else(|| panic!("{lang}/{name}"));
            assert_eq!(
                (voice.mode(), voice.name(), voice.path()),
                (Mode::Voice, name, format!("{lang}/{name}.grxml").as_str())
            );
            assert!(
                voice.lang().starts_with(lang),
                "{lang}/{name} declares xml:lang {}",
                voice.lang()
            );
            let keys = set
                .get(lang, &format!("{name}_keys"))
                .unwrap_or_else(|| panic!("{lang}/{name}_keys"));
            assert_eq!(keys.mode(), Mode::Dtmf);
        }
    }
    assert_eq!(names.len(), 20);
    assert!(names.windows(2).all(|w| w[0] < w[1]), "sorted");
}

#[test]
fn regional_language_tags_fall_back_to_the_language() {
    let set = GrammarSet::load_dir(&shipped_dir()).expect("shipped");
    assert_eq!(set.get("zh-CN", "yes_no").map(Grammar::lang), Some("zh-CN"));
    assert_eq!(
        set.get("en_US", "digits").map(Grammar::name),
        Some("digits")
    );
    assert!(set.get("fr", "digits").is_none() && set.get("en", "nothing").is_none());
}

#[test]
fn from_sources_links_files_of_one_language() {
    let digits = r#"<grammar version="1.0" xml:lang="en" root="d"><rule id="d" scope="public"><item repeat="1-3">1</item></rule></grammar>"#;
    let top = r#"<grammar version="1.0" xml:lang="en" root="t"><rule id="t">pin <ruleref uri="digits.grxml#d"/><tag>out = rules.d;</tag></rule></grammar>"#;
    let set = GrammarSet::from_sources([("en", "digits.grxml", digits), ("en", "pin.grxml", top)])
        .expect("links");
    let pin = set.get("en", "pin").expect("loaded");
    assert_eq!(
        pin.interpret("PIN 1 1").map(|m| m.interpretation),
        Some(json!("1 1"))
    );
    let error = GrammarSet::from_sources([("zh", "pin.grxml", top)])
        .expect_err("digits.grxml is only in en");
    assert_eq!(
        error.to_string(),
        "zh/pin.grxml:1: <ruleref>: \"digits.grxml#d\": grammar file \"zh/digits.grxml\" not found"
    );
    let twice = GrammarSet::from_sources([
        ("en", "digits.grxml", digits),
        ("en", "digits.grxml", digits),
    ]);
    assert!(matches!(twice, Err(GrammarError::DuplicateGrammar { .. })));
    assert!(
        GrammarSet::from_sources([])
            .expect("empty is fine")
            .is_empty()
    );
}

#[test]
fn load_dir_reports_the_broken_file_and_skips_other_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let en = dir.path().join("en");
    std::fs::create_dir(&en).expect("mkdir");
    std::fs::write(dir.path().join("README.md"), "not a grammar").expect("write");
    std::fs::write(en.join("notes.txt"), "not a grammar").expect("write");
    std::fs::write(
        en.join("ok.grxml"),
        r#"<grammar version="1.0" root="r"><rule id="r">ok</rule></grammar>"#,
    )
    .expect("write");
    let set = GrammarSet::load_dir(dir.path()).expect("loads");
    assert_eq!(set.len(), 1);

    std::fs::write(en.join("bad.grxml"), "<grammar version=\"1.0\" root=\"r\">\n<rule id=\"r\"><ruleref uri=\"#x\"/></rule></grammar>")
        .expect("write");
    let error = GrammarSet::load_dir(dir.path()).expect_err("bad.grxml is broken");
    assert_eq!(
        error.to_string(),
        "en/bad.grxml:2: <ruleref>: rule \"#x\" is not defined"
    );

    std::fs::write(en.join("bad.grxml"), b"\xff\xfe").expect("write");
    let error = GrammarSet::load_dir(dir.path()).expect_err("not UTF-8");
    assert_eq!(error.to_string(), "en/bad.grxml: not UTF-8 text");

    let missing = GrammarSet::load_dir(&dir.path().join("nowhere")).expect_err("no such dir");
    assert!(matches!(missing, GrammarError::Io { .. }), "{missing}");
}

#[test]
fn grammars_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<GrammarSet>();
    shareable::<Grammar>();
}
