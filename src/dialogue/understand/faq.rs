//! Answering from the merchant's FAQ: TF-IDF retrieval over every phrasing of every entry,
//! through an inverted index so a 10,000-entry FAQ still answers in well under a millisecond.
//!
//! The score is the best cosine between the turn and one of an entry's phrasings. Below
//! [`ANSWER_THRESHOLD`] the dialogue does not answer from the FAQ: it asks again or offers a
//! person, and never makes up policy.

use super::text::language_of;
use super::vectors::{Space, Vector};
use crate::shop::{FaqEntry, Lang};

/// The lowest score the dialogue answers a question with (the turn's intent is `faq`).
pub const ANSWER_THRESHOLD: f32 = 0.35;

/// The lowest score that answers a turn the classifier could not place: it must look like one
/// of the entry's questions, not share a word with it.
pub const FALLBACK_THRESHOLD: f32 = 0.55;

/// An entry's answer is searched too (it names things the questions do not, "PayPal"), but
/// counts for less than a phrasing of the question.
const ANSWER_WEIGHT: f32 = 0.8;

/// Features in more than this share of the phrasings are skipped when scoring: they are words
/// like "my" and "the" that every question has.
const COMMON_SHARE: f32 = 0.2;

#[derive(Debug, Clone, Default)]
pub struct FaqIndex {
    space: Space,
    /// Per feature id: (phrasing, weight).
    postings: Vec<Vec<(u32, f32)>>,
    /// Per phrasing: the entry it belongs to.
    entry_of: Vec<u32>,
    /// Per phrasing: whether it is the entry's answer.
    is_answer: Vec<bool>,
    languages: Vec<Lang>,
    common_idf: f32,
}

/// An FAQ entry that matches, by index into the entries the index was built from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub entry: usize,
    pub score: f32,
}

impl FaqIndex {
    pub fn build(entries: &[FaqEntry]) -> FaqIndex {
        let phrasings: Vec<(u32, &str)> = entries
            .iter()
            .enumerate()
            .flat_map(|(i, e)| {
                e.questions
                    .iter()
                    .chain([&e.answer])
                    .map(move |q| (i as u32, q.as_str()))
            })
            .collect();
        let is_answer: Vec<bool> = entries
            .iter()
            .flat_map(|e| e.questions.iter().map(|_| false).chain([true]))
            .collect();
        let space = Space::fit(phrasings.iter().map(|(_, q)| *q));
        let mut postings: Vec<Vec<(u32, f32)>> = vec![Vec::new(); space.len()];
        for (doc, (_, q)) in phrasings.iter().enumerate() {
            for &(id, w) in &space.vector(q).entries {
                postings[id as usize].push((doc as u32, w));
            }
        }
        let n = phrasings.len().max(1) as f32;
        FaqIndex {
            common_idf: ((1.0 + n) / (1.0 + n * COMMON_SHARE)).ln() + 1.0,
            space,
            postings,
            entry_of: phrasings.iter().map(|(e, _)| *e).collect(),
            is_answer,
            languages: entries.iter().map(|e| e.language).collect(),
        }
    }

    /// The best entries for `text`, best first (at most `limit`), preferring entries in the
    /// turn's language: another language's entry wins only by a clear margin.
    pub fn search(&self, text: &str, limit: usize) -> Vec<Hit> {
        let query: Vector = self.space.vector(text);
        let mut scores = vec![0.0f32; self.entry_of.len()];
        for &(id, w) in &query.entries {
            if self.space.idf(id) < self.common_idf {
                continue;
            }
            for &(doc, dw) in &self.postings[id as usize] {
                scores[doc as usize] += w * dw;
            }
        }
        let lang = language_of(text);
        let mut per_entry = vec![0.0f32; self.languages.len()];
        for (doc, &score) in scores.iter().enumerate() {
            if score <= 0.0 {
                continue;
            }
            let entry = self.entry_of[doc] as usize;
            let mut score = if self.languages[entry] == lang {
                score
            } else {
                score * 0.8
            };
            if self.is_answer[doc] {
                score *= ANSWER_WEIGHT;
            }
            per_entry[entry] = per_entry[entry].max(score);
        }
        let mut best: Vec<Hit> = per_entry
            .into_iter()
            .enumerate()
            .filter(|&(_, score)| score > 0.0)
            .map(|(entry, score)| Hit { entry, score })
            .collect();
        let by_score = |a: &Hit, b: &Hit| b.score.total_cmp(&a.score);
        if limit > 0 && best.len() > limit {
            best.select_nth_unstable_by(limit - 1, by_score);
            best.truncate(limit);
        }
        best.sort_by(by_score);
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shop::demo;

    #[test]
    fn paraphrases_find_their_entry_and_strangers_find_nothing() {
        let data = demo::data(demo::ANCHOR);
        let index = FaqIndex::build(&data.faq);
        let answer = |q: &str| {
            let hits = index.search(q, 3);
            hits.first()
                .filter(|h| h.score >= ANSWER_THRESHOLD)
                .map(|h| data.faq[h.entry].tags.clone())
        };
        let shipping = answer("how long does delivery take").unwrap();
        assert!(shipping.contains(&"shipping".to_string()), "{shipping:?}");
        assert!(answer("do you take paypal").is_some());
        assert!(answer("优惠码怎么用").is_some());
        assert_eq!(answer("what is the capital of france"), None);
    }
}
