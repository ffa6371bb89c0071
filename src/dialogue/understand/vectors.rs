//! TF-IDF vectors over [`text::features`](super::text::features), compared by cosine.
//!
//! A [`Space`] is fitted once on a set of texts (training utterances, FAQ questions): each
//! feature gets an id and an inverse document frequency. A text becomes a sparse, unit-length
//! vector; features the space never saw still count in its length (at the highest weight), so
//! a text full of unknown words scores low against everything instead of matching on its one
//! known word.

use std::collections::HashMap;

use super::text::features;

/// A unit-length sparse vector: (feature id, weight), sorted by id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Vector {
    pub entries: Vec<(u32, f32)>,
}

impl Vector {
    pub fn cosine(&self, other: &Vector) -> f32 {
        let (a, b) = (&self.entries, &other.entries);
        let (mut i, mut j, mut sum) = (0, 0, 0.0);
        while i < a.len() && j < b.len() {
            match a[i].0.cmp(&b[j].0) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    sum += a[i].1 * b[j].1;
                    i += 1;
                    j += 1;
                }
            }
        }
        sum
    }
}

/// Feature ids and weights fitted on a set of texts.
#[derive(Debug, Clone, Default)]
pub struct Space {
    ids: HashMap<String, u32>,
    idf: Vec<f32>,
    /// The weight an unseen feature counts with in a vector's length.
    unseen_idf: f32,
}

impl Space {
    /// Fits the space on `texts` (each one document).
    pub fn fit<'a>(texts: impl IntoIterator<Item = &'a str>) -> Space {
        let mut ids: HashMap<String, u32> = HashMap::new();
        let mut df: Vec<u32> = Vec::new();
        let mut docs = 0u32;
        for text in texts {
            docs += 1;
            let mut seen: Vec<u32> = features(text)
                .into_iter()
                .map(|f| {
                    let next = ids.len() as u32;
                    *ids.entry(f).or_insert(next)
                })
                .collect();
            seen.sort_unstable();
            seen.dedup();
            df.resize(ids.len(), 0);
            for id in seen {
                df[id as usize] += 1;
            }
        }
        let n = docs.max(1) as f32;
        let idf = df
            .iter()
            .map(|&d| ((1.0 + n) / (1.0 + d as f32)).ln() + 1.0)
            .collect();
        Space {
            ids,
            idf,
            unseen_idf: (1.0 + n).ln() + 1.0,
        }
    }

    pub fn len(&self) -> usize {
        self.idf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.idf.is_empty()
    }

    /// The inverse document frequency of feature `id`: 1 for a feature in every document.
    pub fn idf(&self, id: u32) -> f32 {
        self.idf[id as usize]
    }

    /// `text` as a unit-length TF-IDF vector (sub-linear term frequency, features weighted by
    /// kind: words and word pairs over character n-grams, which are many).
    pub fn vector(&self, text: &str) -> Vector {
        let mut counts: HashMap<String, u32> = HashMap::new();
        for f in features(text) {
            *counts.entry(f).or_insert(0) += 1;
        }
        let mut entries = Vec::with_capacity(counts.len());
        let mut norm = 0.0f32;
        for (feature, count) in counts {
            let kind = match feature.as_bytes().first() {
                Some(b'w') | Some(b'b') => 1.0,
                Some(b'z') => 0.8,
                _ => 0.4,
            };
            let tf = 1.0 + (count as f32).ln();
            match self.ids.get(&feature) {
                Some(&id) => {
                    let w = tf * self.idf[id as usize] * kind;
                    norm += w * w;
                    entries.push((id, w));
                }
                None => {
                    let w = tf * self.unseen_idf * kind;
                    norm += w * w;
                }
            }
        }
        let norm = norm.sqrt();
        if norm > 0.0 {
            for e in &mut entries {
                e.1 /= norm;
            }
        }
        entries.sort_unstable_by_key(|e| e.0);
        Vector { entries }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similar_texts_are_closer_than_different_ones() {
        let space = Space::fit([
            "where is my order",
            "cancel my order",
            "I want to return this",
        ]);
        let query = space.vector("were is my order");
        let near = query.cosine(&space.vector("where is my order"));
        let far = query.cosine(&space.vector("cancel my order"));
        assert!(near > far + 0.2, "{near} vs {far}");
        let same = space.vector("cancel my order");
        assert!((same.cosine(&same) - 1.0).abs() < 1e-4);
    }

    #[test]
    fn unknown_words_keep_a_text_far_from_everything() {
        let space = Space::fit(["where is my order", "cancel my order"]);
        let strange = space.vector("quantum physics lecture about my");
        assert!(strange.cosine(&space.vector("where is my order")) < 0.3);
    }
}
