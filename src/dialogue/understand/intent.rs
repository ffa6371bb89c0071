//! What the caller wants: a nearest-neighbour classifier over example utterances
//! (`intents.tsv`, English and Chinese), by TF-IDF cosine on words and character n-grams.
//!
//! An intent's score is the mean of its three closest examples' similarities, which rewards
//! an utterance near several phrasings over one that shares a lucky word with one of them.
//! The examples ship in the binary; the held-out set in `tests/data/intents_heldout.tsv`,
//! written apart from them, measures accuracy (`tests/intents.rs`).

use serde::{Deserialize, Serialize};

use super::vectors::{Space, Vector};

/// The intents, by the names every output uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    OrderStatus,
    ShippingStatus,
    ChangeAddress,
    CancelOrder,
    ReturnRequest,
    RefundStatus,
    ProductQuestion,
    Promotions,
    AssetOwnership,
    Complaint,
    HumanAgent,
    Repeat,
    Help,
    Goodbye,
    /// A question about the shop's policies and services, answered from the FAQ.
    Faq,
    /// Nothing above fits well enough.
    Unknown,
}

impl Intent {
    pub const KNOWN: [Intent; 15] = [
        Intent::OrderStatus,
        Intent::ShippingStatus,
        Intent::ChangeAddress,
        Intent::CancelOrder,
        Intent::ReturnRequest,
        Intent::RefundStatus,
        Intent::ProductQuestion,
        Intent::Promotions,
        Intent::AssetOwnership,
        Intent::Complaint,
        Intent::HumanAgent,
        Intent::Repeat,
        Intent::Help,
        Intent::Goodbye,
        Intent::Faq,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Intent::OrderStatus => "order_status",
            Intent::ShippingStatus => "shipping_status",
            Intent::ChangeAddress => "change_address",
            Intent::CancelOrder => "cancel_order",
            Intent::ReturnRequest => "return_request",
            Intent::RefundStatus => "refund_status",
            Intent::ProductQuestion => "product_question",
            Intent::Promotions => "promotions",
            Intent::AssetOwnership => "asset_ownership",
            Intent::Complaint => "complaint",
            Intent::HumanAgent => "human_agent",
            Intent::Repeat => "repeat",
            Intent::Help => "help",
            Intent::Goodbye => "goodbye",
            Intent::Faq => "faq",
            Intent::Unknown => "unknown",
        }
    }

    pub fn parse(name: &str) -> Option<Intent> {
        Intent::KNOWN.into_iter().find(|i| i.name() == name)
    }

    /// Intents that are about one order.
    pub fn needs_order(self) -> bool {
        matches!(
            self,
            Intent::OrderStatus
                | Intent::ShippingStatus
                | Intent::ChangeAddress
                | Intent::CancelOrder
                | Intent::ReturnRequest
                | Intent::RefundStatus
        )
    }
}

impl std::fmt::Display for Intent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The shipped examples: `intent<TAB>lang<TAB>utterance`.
pub const EXAMPLES: &str = include_str!("intents.tsv");

/// An intent with its score (cosine similarity, 0..1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    pub intent: Intent,
    pub score: f32,
}

/// How many of an intent's closest examples its score averages.
const NEIGHBOURS: usize = 3;

#[derive(Debug, Clone)]
pub struct Classifier {
    space: Space,
    examples: Vec<(Intent, Vector)>,
}

impl Classifier {
    /// The classifier trained on the shipped examples.
    pub fn shipped() -> Classifier {
        let examples =
            parse_examples(EXAMPLES).expect("the shipped intents.tsv is checked by tests");
        Classifier::train(examples.iter().map(|(i, t)| (*i, t.as_str())))
    }

    pub fn train<'a>(examples: impl IntoIterator<Item = (Intent, &'a str)> + Clone) -> Classifier {
        let space = Space::fit(examples.clone().into_iter().map(|(_, t)| t));
        let examples = examples
            .into_iter()
            .map(|(i, t)| (i, space.vector(t)))
            .collect();
        Classifier { space, examples }
    }

    /// Every known intent's score for `text`, best first.
    pub fn classify(&self, text: &str) -> Vec<Scored> {
        let query = self.space.vector(text);
        let mut best: Vec<[f32; NEIGHBOURS]> = vec![[0.0; NEIGHBOURS]; Intent::KNOWN.len()];
        for (intent, example) in &self.examples {
            let s = query.cosine(example);
            let slot = &mut best[*intent as usize];
            if s > slot[NEIGHBOURS - 1] {
                slot[NEIGHBOURS - 1] = s;
                slot.sort_unstable_by(|a, b| b.total_cmp(a));
            }
        }
        let mut scored: Vec<Scored> = Intent::KNOWN
            .into_iter()
            .map(|intent| Scored {
                intent,
                score: best[intent as usize].iter().sum::<f32>() / NEIGHBOURS as f32,
            })
            .collect();
        scored.sort_by(|a, b| b.score.total_cmp(&a.score));
        scored
    }
}

/// Reads `intent<TAB>lang<TAB>utterance` lines (`#` comments, blank lines skipped); an error
/// names the line.
pub fn parse_examples(text: &str) -> Result<Vec<(Intent, String)>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = line.split('\t');
        let (Some(intent), Some(lang), Some(said), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(format!(
                "line {}: expected intent<TAB>lang<TAB>utterance",
                n + 1
            ));
        };
        let intent = Intent::parse(intent)
            .ok_or_else(|| format!("line {}: unknown intent {intent}", n + 1))?;
        if lang != "en" && lang != "zh" {
            return Err(format!("line {}: language {lang} is not en or zh", n + 1));
        }
        out.push((intent, said.to_string()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_examples_cover_every_intent_in_both_languages() {
        let examples = parse_examples(EXAMPLES).unwrap();
        for intent in Intent::KNOWN {
            let n = examples.iter().filter(|(i, _)| *i == intent).count();
            assert!(n >= 40, "{intent}: {n}");
        }
    }

    #[test]
    fn plain_requests_are_understood() {
        let c = Classifier::shipped();
        for (text, intent) in [
            ("where is my order", Intent::OrderStatus),
            ("I want to send this kettle back", Intent::ReturnRequest),
            ("let me talk to a real person", Intent::HumanAgent),
            ("我想退货", Intent::ReturnRequest),
            ("转人工", Intent::HumanAgent),
        ] {
            assert_eq!(c.classify(text)[0].intent, intent, "{text}");
        }
    }

    #[test]
    fn bad_example_lines_are_named() {
        assert_eq!(
            parse_examples("# c\norder_status\ten\thi\nnope\ten\tx\n").unwrap_err(),
            "line 3: unknown intent nope"
        );
    }
}
