//! Intent accuracy on the held-out paraphrases (`tests/data/intents_heldout.tsv`), written
//! apart from the training examples and never trained on. Prints the accuracy per language and
//! the confusion pairs.

use std::collections::BTreeMap;

use kefu::dialogue::understand::intent::{Classifier, EXAMPLES, parse_examples};
use kefu::dialogue::understand::text::fold;

#[test]
fn held_out_paraphrases_are_understood() {
    let heldout = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/intents_heldout.tsv"
    ))
    .unwrap();
    let trained: std::collections::HashSet<String> = parse_examples(EXAMPLES)
        .unwrap()
        .into_iter()
        .map(|(_, t)| fold(&t))
        .collect();
    let classifier = Classifier::shipped();
    let (mut total, mut right, mut overlap) = (0, 0, 0);
    let mut by_lang: BTreeMap<&str, (u32, u32)> = BTreeMap::new();
    let mut confusions: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for line in heldout
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let mut f = line.split('\t');
        let (want, lang, said) = (f.next().unwrap(), f.next().unwrap(), f.next().unwrap());
        // A held-out line that is also a training example would measure memory, not
        // understanding.
        if trained.contains(&fold(said)) {
            overlap += 1;
            continue;
        }
        let got = classifier.classify(said)[0].intent;
        total += 1;
        let entry = by_lang
            .entry(if lang == "zh" { "zh" } else { "en" })
            .or_default();
        entry.0 += 1;
        if got.name() == want {
            right += 1;
            entry.1 += 1;
        } else {
            confusions
                .entry((want.to_string(), got.name().to_string()))
                .or_default()
                .push(said.to_string());
        }
    }
    let accuracy = f64::from(right) / f64::from(total) * 100.0;
    println!(
        "held-out intent accuracy: {right}/{total} = {accuracy:.1} % ({overlap} lines skipped as also in training)"
    );
    for (lang, (n, ok)) in &by_lang {
        println!(
            "  {lang}: {ok}/{n} = {:.1} %",
            f64::from(*ok) / f64::from(*n) * 100.0
        );
    }
    for ((want, got), said) in &confusions {
        println!("  {want} -> {got}: {}", said.join(" | "));
    }
    assert!(total >= 150, "the held-out set has {total} usable lines");
    assert!(accuracy >= 95.0, "accuracy {accuracy:.1} % is under 95 %");
}
