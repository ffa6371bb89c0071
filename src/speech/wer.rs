//! Word error rate, with the normalisation `kefu eval asr` documents.
//!
//! Both the reference and the hypothesis are normalised the same way before words are aligned:
//! 1. lower case; `-` and `/` become spaces; `%` becomes ` percent`; `&` becomes ` and `; an
//!    address is read as it is said: `@` is ` at `, a dot between words is ` dot `
//!    ("help@example.com" is `help at example dot com`);
//! 2. punctuation is removed (an apostrophe inside a word stays: "don't");
//! 3. number words become numerals and runs are joined the way people write them: "twenty
//!    one" and "21" are one word `21`; "one zero zero two three", "1 0 0 2 3" and "10023" are
//!    one word `10023`; "three hundred and five" is `305`. A digit string is one word however it
//!    was spaced, so reading an order number digit by digit is not five errors;
//! 4. an ordinal counts as its number: "21st", "twenty first" and "21" are all `21` (a spoken
//!    date may come back either way);
//! 5. a time's "am"/"pm" is a word of its own: "2:15 PM", "2.15pm" and "2 15 p.m." are all
//!    `215 pm`;
//! 6. British spellings common in shop talk count as American ("cancelled" is `canceled`,
//!    "colour" is `color`), as whisper's own normaliser does: the recogniser writes either.
//!
//! WER = (substitutions + deletions + insertions) / reference words, by a Levenshtein
//! alignment over words.

/// The edit counts of one alignment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct WordErrors {
    pub reference_words: usize,
    pub substitutions: usize,
    pub deletions: usize,
    pub insertions: usize,
}

impl WordErrors {
    pub fn errors(&self) -> usize {
        self.substitutions + self.deletions + self.insertions
    }

    /// The rate, 0.0 for an empty reference with an empty hypothesis.
    pub fn rate(&self) -> f64 {
        match self.reference_words {
            0 if self.errors() == 0 => 0.0,
            0 => 1.0,
            n => self.errors() as f64 / n as f64,
        }
    }

    pub fn add(&mut self, other: WordErrors) {
        self.reference_words += other.reference_words;
        self.substitutions += other.substitutions;
        self.deletions += other.deletions;
        self.insertions += other.insertions;
    }
}

/// Aligns `hypothesis` against `reference`, both normalised first.
pub fn word_errors(reference: &str, hypothesis: &str) -> WordErrors {
    let r = normalise(reference);
    let h = normalise(hypothesis);
    // cost[j] = (edits, subs, dels, ins) aligning r[..i] with h[..j].
    let mut row: Vec<(usize, usize, usize, usize)> = (0..=h.len()).map(|j| (j, 0, 0, j)).collect();
    for i in 1..=r.len() {
        let mut prev_diag = row[0];
        row[0] = (i, 0, i, 0);
        for j in 1..=h.len() {
            let above = row[j];
            let left = row[j - 1];
            let same = r[i - 1] == h[j - 1];
            let diag = if same {
                prev_diag
            } else {
                (prev_diag.0 + 1, prev_diag.1 + 1, prev_diag.2, prev_diag.3)
            };
            let del = (above.0 + 1, above.1, above.2 + 1, above.3);
            let ins = (left.0 + 1, left.1, left.2, left.3 + 1);
            prev_diag = above;
            row[j] = [diag, del, ins]
                .into_iter()
                .min_by_key(|c| c.0)
                .expect("three candidates");
        }
    }
    let (_, substitutions, deletions, insertions) = row[h.len()];
    WordErrors {
        reference_words: r.len(),
        substitutions,
        deletions,
        insertions,
    }
}

/// The words of `text` after the normalisation described in the module doc.
pub fn normalise(text: &str) -> Vec<String> {
    let text = text
        .to_lowercase()
        .replace(['-', '/'], " ")
        .replace('%', " percent")
        .replace('&', " and ")
        .replace('@', " at ");
    let text = spoken_dots(&text);
    let words: Vec<String> = text
        .split_whitespace()
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric() || *c == '\'')
                .collect::<String>()
                .trim_matches('\'')
                .to_owned()
        })
        .filter(|w| !w.is_empty())
        .flat_map(split_meridiem)
        .map(|w| cardinal(&w).unwrap_or(w))
        .map(american)
        .collect();
    join_numbers(words)
}

/// "example.com" → "example dot com": a dot with two letters on each side is said. "p.m.",
/// "e.g." and "$4.50" keep theirs (removed later with the other punctuation).
fn spoken_dots(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let letters = |range: &[char]| range.len() == 2 && range.iter().all(|c| c.is_alphabetic());
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        let said = c == '.'
            && i >= 2
            && letters(&chars[i - 2..i])
            && letters(&chars[i + 1..(i + 3).min(chars.len())]);
        if said {
            out.push_str(" dot ");
        } else {
            out.push(c);
        }
    }
    out
}

/// British spellings and their American forms.
const SPELLINGS: &[(&str, &str)] = &[
    ("aluminium", "aluminum"),
    ("apologise", "apologize"),
    ("cancelled", "canceled"),
    ("cancelling", "canceling"),
    ("catalogue", "catalog"),
    ("centre", "center"),
    ("cheque", "check"),
    ("colour", "color"),
    ("colours", "colors"),
    ("favourite", "favorite"),
    ("grey", "gray"),
    ("jewellery", "jewelry"),
    ("labelled", "labeled"),
    ("licence", "license"),
    ("litre", "liter"),
    ("metre", "meter"),
    ("organise", "organize"),
    ("realise", "realize"),
    ("travelled", "traveled"),
];

fn american(word: String) -> String {
    match SPELLINGS.iter().find(|(british, _)| *british == word) {
        Some((_, us)) => (*us).to_owned(),
        None => word,
    }
}

/// "215pm" → "215", "pm"; any other word stays whole.
fn split_meridiem(word: String) -> Vec<String> {
    match word.strip_suffix("am").or_else(|| word.strip_suffix("pm")) {
        Some(time) if !time.is_empty() && time.chars().all(|c| c.is_ascii_digit()) => {
            let meridiem = word[time.len()..].to_owned();
            vec![time.to_owned(), meridiem]
        }
        _ => vec![word],
    }
}

/// The cardinal form of an ordinal: "21st" → "21", "third" → "three", "twentieth" → "twenty".
fn cardinal(word: &str) -> Option<String> {
    let digits = word.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let suffix = &word[digits.len()..];
    if !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit())
        && ["st", "nd", "rd", "th"].contains(&suffix)
    {
        return Some(digits.to_owned());
    }
    let irregular = [
        ("first", "one"),
        ("second", "two"),
        ("third", "three"),
        ("fifth", "five"),
        ("eighth", "eight"),
        ("ninth", "nine"),
        ("twelfth", "twelve"),
    ];
    if let Some((_, c)) = irregular.iter().find(|(o, _)| *o == word) {
        return Some((*c).to_owned());
    }
    if let Some(stem) = word.strip_suffix("ieth") {
        let tens = format!("{stem}y");
        return number_word(&tens).map(|_| tens);
    }
    let stem = word.strip_suffix("th")?;
    number_word(stem).map(|_| stem.to_owned())
}

fn number_word(w: &str) -> Option<u64> {
    const SMALL: [&str; 20] = [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
    ];
    const TENS: [&str; 8] = [
        "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    ];
    if let Some(n) = SMALL.iter().position(|s| *s == w) {
        return Some(n as u64);
    }
    TENS.iter()
        .position(|s| *s == w)
        .map(|n| (n as u64 + 2) * 10)
}

/// A number token: its value and whether it was written as digits (a digit string may be an
/// order number with leading zeros; keep its text).
#[derive(Clone)]
enum Num {
    Digits(String),
    Value(u64),
}

fn join_numbers(words: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    // The number being built and whether the last piece was a single digit said alone (so
    // "one zero zero" joins as digits rather than adding up).
    let mut current: Option<(String, bool)> = None;
    let flush = |out: &mut Vec<String>, current: &mut Option<(String, bool)>| {
        if let Some((n, _)) = current.take() {
            out.push(n);
        }
    };
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        let piece = if w.chars().all(|c| c.is_ascii_digit()) {
            Some(Num::Digits(w.clone()))
        } else {
            number_word(w).map(Num::Value)
        };
        match piece {
            Some(Num::Value(v)) if v >= 20 && v % 10 == 0 => {
                // "twenty" [unit]: one two-digit number.
                let unit = words
                    .get(i + 1)
                    .and_then(|n| number_word(n))
                    .filter(|u| *u < 10 && *u > 0);
                let value = v + unit.unwrap_or(0);
                i += usize::from(unit.is_some());
                push_number(&mut out, &mut current, value.to_string(), false);
            }
            Some(Num::Value(v)) if words.get(i + 1).is_some_and(|n| n == "hundred") => {
                // "three hundred [and] five"
                let mut value = v * 100;
                i += 1;
                let mut j = i + 1;
                if words.get(j).is_some_and(|n| n == "and") {
                    j += 1;
                }
                if let Some(rest) = words.get(j).and_then(|n| number_word(n)) {
                    value += rest;
                    i = j;
                    if rest >= 20
                        && let Some(u) = words
                            .get(j + 1)
                            .and_then(|n| number_word(n))
                            .filter(|u| *u < 10 && *u > 0)
                    {
                        value += u;
                        i += 1;
                    }
                }
                flush(&mut out, &mut current);
                out.push(value.to_string());
            }
            Some(Num::Value(v)) => push_number(&mut out, &mut current, v.to_string(), v < 10),
            Some(Num::Digits(d)) => push_number(&mut out, &mut current, d, true),
            None => {
                flush(&mut out, &mut current);
                out.push(w.clone());
            }
        }
        i += 1;
    }
    flush(&mut out, &mut current);
    out
}

/// Digits said one by one join into one digit string; other numbers stand alone.
fn push_number(
    out: &mut Vec<String>,
    current: &mut Option<(String, bool)>,
    text: String,
    joinable: bool,
) {
    match current {
        Some((n, true)) if joinable => n.push_str(&text),
        _ => {
            if let Some((n, _)) = current.take() {
                out.push(n);
            }
            *current = Some((text, joinable));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinals_count_as_their_number() {
        assert_eq!(normalise("November 21st"), ["november", "21"]);
        assert_eq!(normalise("November twenty first"), ["november", "21"]);
        assert_eq!(
            normalise("the 3rd, the fourth and the twentieth"),
            ["the", "3", "the", "4", "and", "the", "20"]
        );
        assert_eq!(
            normalise("a bath with a moth"),
            ["a", "bath", "with", "a", "moth"]
        );
        assert_eq!(
            word_errors("October 3 at 2", "October third at two").errors(),
            0
        );
    }

    #[test]
    fn times_are_written_one_way() {
        for t in ["at 2:15 PM", "at 2.15pm", "at 2 15 p.m."] {
            assert_eq!(normalise(t), ["at", "215", "pm"], "{t:?}");
        }
        assert_eq!(normalise("I am at 10am"), ["i", "am", "at", "10", "am"]);
        assert_eq!(normalise("spam"), ["spam"]);
    }

    #[test]
    fn addresses_are_read_as_said() {
        let said = ["reach", "us", "at", "help", "at", "example", "dot", "com"];
        assert_eq!(normalise("Reach us at help@example.com."), said);
        assert_eq!(normalise("reach us at help at example.com"), said);
        assert_eq!(
            normalise("at 2 p.m. e.g. $4.50"),
            ["at", "2", "pm", "eg", "450"]
        );
    }

    #[test]
    fn british_spellings_count_as_american() {
        assert_eq!(
            normalise("Your order was cancelled; the grey colour."),
            ["your", "order", "was", "canceled", "the", "gray", "color"]
        );
    }

    #[test]
    fn case_punctuation_and_apostrophes() {
        assert_eq!(
            normalise("Don't press STAR, please!"),
            ["don't", "press", "star", "please"]
        );
        assert_eq!(normalise("'quoted' - word"), ["quoted", "word"]);
    }

    #[test]
    fn numbers_are_written_one_way() {
        assert_eq!(normalise("twenty one"), ["21"]);
        assert_eq!(normalise("one zero zero two three"), ["10023"]);
        assert_eq!(normalise("1 0 0 2 3"), ["10023"]);
        assert_eq!(normalise("10023."), ["10023"]);
        assert_eq!(normalise("three hundred and five"), ["305"]);
        assert_eq!(
            normalise("press 1 for sales"),
            ["press", "1", "for", "sales"]
        );
        assert_eq!(normalise("fifty percent"), ["50", "percent"]);
        assert_eq!(normalise("50%"), ["50", "percent"]);
        assert_eq!(normalise("twenty thirty"), ["20", "30"]);
    }

    #[test]
    fn counts_each_kind_of_edit() {
        let e = word_errors("the cat sat on the mat", "the cat sit on the mat today");
        assert_eq!(
            e,
            WordErrors {
                reference_words: 6,
                substitutions: 1,
                deletions: 0,
                insertions: 1
            }
        );
        let e = word_errors("the cat sat on the mat", "cat sat on the mat");
        assert_eq!((e.deletions, e.errors()), (1, 1));
        let e = word_errors("the cat sat on the mat", "the cat sit on mat today");
        assert_eq!(e.errors(), 3);
        assert!((e.rate() - 0.5).abs() < 1e-9);
        assert_eq!(word_errors("", "").rate(), 0.0);
        assert_eq!(word_errors("", "noise").rate(), 1.0);
        assert_eq!(
            word_errors("Your order is 1 0 0 2 3.", "your order is 10023").errors(),
            0
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_identity_is_zero(text in ".{0,200}") {
            proptest::prop_assert_eq!(word_errors(&text, &text).errors(), 0);
        }
    }
}
