//! How a caller feels, turn by turn, in English and Chinese: a small lexicon with negation
//! ("not happy"), intensifiers ("really", 太) and abuse, scored -1 (furious) to 1 (pleased).
//! A lexicon is what works on a phone transcript without a model: short turns, plain words.
//!
//! [`Mood`] follows the call: frustration rises with negative turns and with turns the bot
//! failed to understand, and falls slowly with calm ones; the dialogue hands the call to a
//! person when it crosses a threshold.

use super::text::{fold, is_cjk, stem};

/// One turn's sentiment.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Sentiment {
    /// -1 .. 1.
    pub score: f32,
    /// Insults or swearing at the bot or the shop.
    pub abusive: bool,
}

const EN: &[(&str, f32)] = &[
    ("great", 0.7),
    ("good", 0.4),
    ("thank", 0.5),
    ("thanks", 0.5),
    ("perfect", 0.8),
    ("excellent", 0.8),
    ("happy", 0.5),
    ("love", 0.6),
    ("appreciate", 0.5),
    ("helpful", 0.5),
    ("awesome", 0.7),
    ("fine", 0.2),
    ("bad", -0.5),
    ("terrible", -0.8),
    ("awful", -0.8),
    ("horrible", -0.8),
    ("worst", -0.9),
    ("ridiculous", -0.7),
    ("unacceptable", -0.8),
    ("angry", -0.7),
    ("annoy", -0.5),
    ("annoyed", -0.5),
    ("frustrat", -0.7),
    ("frustrated", -0.7),
    ("frustrating", -0.7),
    ("upset", -0.6),
    ("disappoint", -0.6),
    ("disappointed", -0.6),
    ("useless", -0.8),
    ("waste", -0.6),
    ("joke", -0.5),
    ("sick", -0.4),
    ("tired", -0.4),
    ("never", -0.2),
    ("still", -0.2),
    ("again", -0.2),
    ("broken", -0.3),
    ("late", -0.3),
    ("problem", -0.3),
    ("complaint", -0.4),
    ("scam", -0.9),
    ("hate", -0.8),
];

const ZH: &[(&str, f32)] = &[
    ("谢谢", 0.5),
    ("感谢", 0.6),
    ("太好了", 0.8),
    ("很好", 0.6),
    ("满意", 0.6),
    ("不错", 0.5),
    ("好的", 0.2),
    ("辛苦", 0.3),
    ("生气", -0.7),
    ("气死", -0.9),
    ("失望", -0.6),
    ("不满", -0.6),
    ("投诉", -0.5),
    ("太差", -0.8),
    ("很差", -0.7),
    ("差劲", -0.8),
    ("垃圾", -0.8),
    ("离谱", -0.7),
    ("搞什么", -0.7),
    ("烦", -0.5),
    ("无语", -0.6),
    ("受不了", -0.7),
    ("骗", -0.8),
    ("又", -0.2),
    ("还没", -0.3),
    ("坏了", -0.3),
    ("着急", -0.4),
    ("急死", -0.7),
    ("没用", -0.7),
];

const ABUSE_EN: &[&str] = &[
    "fuck", "fucking", "shit", "idiot", "stupid", "moron", "damn", "crap", "bastard", "bitch",
    "dumb", "shut up",
];
const ABUSE_ZH: &[&str] = &["妈的", "他妈", "傻逼", "滚", "混蛋", "白痴", "废物", "去死"];

const NEGATION_EN: &[&str] = &[
    "not", "no", "never", "dont", "didnt", "isnt", "wasnt", "cant",
];
const NEGATION_ZH: &[char] = &['不', '没', '别'];
const INTENSIFIER_EN: &[&str] = &["very", "really", "so", "extremely", "totally", "absolutely"];
const INTENSIFIER_ZH: &[&str] = &["非常", "太", "特别", "真", "超级", "十分"];

/// Scores one turn.
pub fn score(text: &str) -> Sentiment {
    let folded = fold(text);
    let mut total = 0.0f32;
    let mut abusive = false;
    // English: word by word, a negation or intensifier in the two words before flips or
    // strengthens.
    let words: Vec<&str> = folded
        .split(' ')
        .filter(|w| !w.chars().any(is_cjk))
        .collect();
    for (i, word) in words.iter().enumerate() {
        let stemmed = stem(word);
        if ABUSE_EN.contains(word) {
            abusive = true;
            total -= 0.8;
            continue;
        }
        let Some(&(_, value)) = EN.iter().find(|(w, _)| *w == *word || *w == stemmed) else {
            continue;
        };
        let window = &words[i.saturating_sub(2)..i];
        let mut value = value;
        if window.iter().any(|w| INTENSIFIER_EN.contains(w)) {
            value *= 1.5;
        }
        if window.iter().any(|w| NEGATION_EN.contains(w)) {
            value = -value * 0.7;
        }
        total += value;
    }
    if folded.contains("shut up") {
        abusive = true;
    }
    // Chinese: phrases anywhere; a negation or intensifier character just before.
    let cjk: String = folded.chars().filter(|&c| is_cjk(c)).collect();
    for phrase in ABUSE_ZH {
        if cjk.contains(phrase) {
            abusive = true;
            total -= 0.8;
        }
    }
    for &(phrase, value) in ZH {
        for (at, _) in cjk.match_indices(phrase) {
            let before: Vec<char> = cjk[..at].chars().rev().take(2).collect();
            let mut value = value;
            if INTENSIFIER_ZH.iter().any(|i| cjk[..at].ends_with(i)) {
                value *= 1.5;
            }
            if before.first().is_some_and(|c| NEGATION_ZH.contains(c)) {
                value = -value * 0.7;
            }
            total += value;
        }
    }
    // Exclamations in the transcript mean a raised voice.
    if total < 0.0 && (text.contains('!') || text.contains('！')) {
        total -= 0.1;
    }
    Sentiment {
        score: total.clamp(-1.0, 1.0),
        abusive,
    }
}

/// Frustration over a call.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Mood {
    pub frustration: f32,
    turns: u32,
    sum: f32,
}

/// Frustration at which the call goes to a person.
pub const HANDOFF_FRUSTRATION: f32 = 1.5;

impl Mood {
    /// Adds a turn: its sentiment, and whether the bot failed it (did not understand, or could
    /// not find what was asked for).
    pub fn add(&mut self, turn: Sentiment, failed: bool) {
        self.turns += 1;
        self.sum += turn.score;
        self.frustration = self.frustration * 0.7 + (-turn.score).max(0.0) * 1.2;
        if failed {
            self.frustration += 0.5;
        }
        if turn.abusive {
            self.frustration += 1.0;
        }
    }

    pub fn wants_person(&self) -> bool {
        self.frustration >= HANDOFF_FRUSTRATION
    }

    /// The mean turn sentiment so far.
    pub fn average(&self) -> f32 {
        if self.turns == 0 {
            0.0
        } else {
            self.sum / self.turns as f32
        }
    }

    /// A word for the agent's summary.
    pub fn describe(&self) -> Option<&'static str> {
        if self.frustration >= 1.0 || self.average() <= -0.4 {
            Some("frustrated")
        } else if self.average() < -0.1 {
            Some("unhappy")
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_negation_and_intensity() {
        assert!(score("thanks, that's great").score > 0.5);
        assert!(score("this is terrible").score < -0.5);
        assert!(score("I am not happy").score < 0.0);
        assert!(score("really bad").score < score("bad").score);
        assert!(score("where is my order").score == 0.0);
        assert!(score("我非常生气").score < score("我生气").score);
        assert!(score("不满意").score < 0.0);
        assert!(score("谢谢你").score > 0.0);
    }

    #[test]
    fn abuse_is_flagged() {
        assert!(score("you stupid machine").abusive);
        assert!(score("你这个废物").abusive);
        assert!(!score("the kettle is broken").abusive);
    }

    #[test]
    fn frustration_builds_with_anger_and_failures() {
        let mut mood = Mood::default();
        mood.add(score("where is my order"), false);
        assert!(!mood.wants_person());
        mood.add(score("this is ridiculous"), true);
        assert!(!mood.wants_person());
        mood.add(score("I am so angry, this is unacceptable"), true);
        assert!(mood.wants_person(), "{mood:?}");
        assert_eq!(mood.describe(), Some("frustrated"));
    }
}
