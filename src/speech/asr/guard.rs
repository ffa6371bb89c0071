//! Signs that whisper looped instead of transcribing: a phrase repeated back to back, or a
//! token count that hit the cap set for the clip's length. Used to re-decode a small-window
//! result with a larger window.

/// Whether a transcript of `n_tokens` text tokens looks like a decoding loop, given the token
/// cap `max_tokens` of its pass (0 = no cap).
pub(crate) fn looks_degenerate(text: &str, n_tokens: usize, max_tokens: u32) -> bool {
    (max_tokens > 0 && n_tokens >= max_tokens as usize) || repeats_a_phrase(text)
}

/// A word repeated four times in a row, a 2-word phrase three times, or a phrase of 3–8 words
/// twice ("no, no, no" is speech; "press four for the previous message press four for the
/// previous message" on a clip that says it once is a loop). A false alarm only costs a
/// larger-window re-decode.
pub(crate) fn repeats_a_phrase(text: &str) -> bool {
    first_round_end(text).is_some()
}

/// The text up to the end of the first occurrence of a phrase that then repeats (see
/// [`repeats_a_phrase`]), or `None` when nothing repeats.
pub(crate) fn cut_repetition(text: &str) -> Option<String> {
    let raw: Vec<&str> = text.split_whitespace().collect();
    first_round_end(text).map(|end| raw[..end].join(" "))
}

/// A number followed by a restart of itself: whisper going round again after the answer,
/// measured on spoken order numbers. Returns the text before the restart. Two kinds:
/// - after a sentence break ("208 309. 20.", "51308. 513."; "10023. 10023." is cut to one);
/// - inside one run of digits, once an order number's worth ([`WHOLE_NUMBER`] digits) is in,
///   a separate group that repeats its start: two digits or more ("91741 917", "0, 4, 4, 7,
///   5, 0, 4, 4."), or one after a group of several ("8238747 8"). One lone digit after lone
///   digits ("3 4 7 1 7 6 9 3") is not cut: a true number ends on its first digit one time
///   in ten.
pub(crate) fn cut_number_restart(text: &str) -> Option<String> {
    sentence_restart(text).or_else(|| group_restart(text))
}

/// Digits a number must have before a group that repeats its start counts as a restart: the
/// shortest order number.
const WHOLE_NUMBER: usize = 5;

/// The group kind of [`cut_number_restart`].
fn group_restart(text: &str) -> Option<String> {
    if !text
        .chars()
        .all(|c| c.is_ascii_digit() || c.is_whitespace() || ".,?!-".contains(c))
    {
        return None;
    }
    // Byte ranges of the digit groups.
    let mut groups: Vec<(usize, usize)> = Vec::new();
    for (i, c) in text.char_indices() {
        match (c.is_ascii_digit(), groups.last_mut()) {
            (true, Some((_, end))) if *end == i => *end = i + 1,
            (true, _) => groups.push((i, i + 1)),
            (false, _) => {}
        }
    }
    let all: String = groups.iter().map(|&(s, e)| &text[s..e]).collect();
    let mut head = 0;
    for (i, &(start, end)) in groups.iter().enumerate() {
        if i > 0 && head >= WHOLE_NUMBER {
            let tail = &all[head..];
            let (prev_start, prev_end) = groups[i - 1];
            let telling = tail.len() >= 2 || prev_end - prev_start >= 2;
            if telling && all[..head].starts_with(tail) {
                return Some(text[..prev_end].trim().to_owned());
            }
        }
        head += end - start;
    }
    None
}

/// The sentence kind of [`cut_number_restart`].
fn sentence_restart(text: &str) -> Option<String> {
    let sentences: Vec<&str> = text
        .split_inclusive(['.', '?', '!'])
        .filter(|s| !s.trim().is_empty())
        .collect();
    let digits = |s: &str| -> Option<String> {
        let words: Vec<&str> = s
            .split(|c: char| c.is_whitespace() || ".,?!-".contains(c))
            .filter(|w| !w.is_empty())
            .collect();
        (!words.is_empty() && words.iter().all(|w| w.chars().all(|c| c.is_ascii_digit())))
            .then(|| words.concat())
    };
    let mut head = String::new();
    for (i, sentence) in sentences.iter().enumerate() {
        let d = digits(sentence)?;
        if i > 0 && head.len() >= 3 {
            let tail: String = sentences[i..]
                .iter()
                .map(|s| digits(s))
                .collect::<Option<_>>()?;
            if head.starts_with(&tail) {
                return Some(sentences[..i].concat().trim().to_owned());
            }
        }
        head.push_str(&d);
    }
    None
}

/// Back-to-back occurrences that make a phrase of `n` words a loop.
fn rounds_for(n: usize) -> usize {
    match n {
        1 => 4,
        2 => 3,
        _ => 2,
    }
}

/// Over all phrase lengths, the earliest end (in whitespace-separated words of `text`) of a
/// phrase's first round, if some phrase repeats. Punctuation-only words are ignored.
fn first_round_end(text: &str) -> Option<usize> {
    // (normalised word, index of the raw word it came from)
    // Hyphens split too: whisper also loops inside one "word" ("I-A-A-A-A-A").
    let words: Vec<(String, usize)> = text
        .split_whitespace()
        .enumerate()
        .flat_map(|(i, w)| w.split('-').map(move |part| (part, i)))
        .map(|(w, i)| {
            let w: String = w
                .chars()
                .filter(|c| c.is_alphanumeric())
                .flat_map(char::to_lowercase)
                .collect();
            (w, i)
        })
        .filter(|(w, _)| !w.is_empty())
        .collect();
    let same = |a: usize, b: usize, n: usize| (0..n).all(|k| words[a + k].0 == words[b + k].0);
    let mut best: Option<usize> = None;
    for n in 1..=8usize {
        let rounds = rounds_for(n);
        if words.len() < n * rounds {
            break;
        }
        let found = (0..=words.len() - n * rounds)
            .filter(|&start| !(start..start + n).all(|i| is_number(&words[i].0)))
            .find(|&start| (1..rounds).all(|k| same(start, start + k * n, n)));
        if let Some(start) = found {
            let end = words[start + n - 1].1 + 1;
            best = Some(best.map_or(end, |b| b.min(end)));
        }
    }
    best
}

/// A digit string or a digit word: numbers repeat legitimately ("1 0 0 0 0 5", "4 5 6 4 5 6").
fn is_number(word: &str) -> bool {
    word.chars().all(|c| c.is_ascii_digit())
        || [
            "zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
        ]
        .contains(&word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speech_is_not_a_loop() {
        for text in [
            "",
            "No, no, no.",
            "Please enter your account number followed by the pound key.",
            "nine one one",
            " 1 0 0 0 0 5.",
            "one zero zero zero zero five",
            "4 5 6 4 5 6",
            "thank you, thank you",
            "I want to cancel, I want a refund",
            "To speak with a customer advocate, press two. For accounting, press three.",
        ] {
            assert!(!repeats_a_phrase(text), "{text}");
            assert!(!looks_degenerate(text, 10, 40), "{text}");
        }
    }

    #[test]
    fn repeated_phrases_are_loops() {
        assert!(repeats_a_phrase("the the the the"));
        assert!(repeats_a_phrase("Press one. Press one. Press one."));
        assert!(repeats_a_phrase(
            "press four for the previous message press four for the previous message"
        ));
        assert!(repeats_a_phrase(
            "thank you for calling thank you for calling thank you for calling"
        ));
        assert!(repeats_a_phrase(
            "an inter-asterisk exchange, or I-A-A-A-A-A-A-A-A AX connections"
        ));
        assert!(!repeats_a_phrase("dial 1-2-3-4 or A-M"));
    }

    #[test]
    fn a_loop_is_cut_after_its_first_round() {
        assert_eq!(
            cut_repetition(" Order. Order. Order. Order. Order."),
            Some("Order.".to_owned())
        );
        assert_eq!(
            cut_repetition("I want my order, press one press one press one"),
            Some("I want my order, press one".to_owned())
        );
        assert_eq!(cut_repetition("No, no, no."), None);
    }

    #[test]
    fn a_number_that_starts_over_is_cut_at_the_restart() {
        let cut = |t: &str| cut_number_restart(t);
        assert_eq!(cut("208 309. 20."), Some("208 309.".to_owned()));
        assert_eq!(cut("51308. 513."), Some("51308.".to_owned()));
        assert_eq!(cut("10023. 10023."), Some("10023.".to_owned()));
        assert_eq!(cut("1 0 0 2 3"), None, "no break, no cut");
        assert_eq!(cut("0933896 0."), Some("0933896".to_owned()));
        assert_eq!(cut("91741 917"), Some("91741".to_owned()));
        assert_eq!(
            cut("0, 4, 4, 7, 5, 0, 4, 4."),
            Some("0, 4, 4, 7, 5".to_owned())
        );
        assert_eq!(
            cut("3 4 7 1 7 6 9 3"),
            None,
            "a lone digit after lone digits"
        );
        assert_eq!(cut("1234 1"), None, "under five digits before the group");
        assert_eq!(cut("12345 678"), None, "not a restart");
        assert_eq!(cut("order 12345 12"), None, "words are not a run of digits");
        assert_eq!(cut("456. 789."), None, "not a restart");
        assert_eq!(
            cut("4, 8, 4, 6, 1, 4"),
            None,
            "commas part digits, not sentences"
        );
        assert_eq!(cut("12. 1."), None, "too short a number to call it a loop");
        assert_eq!(cut("order. order."), None, "words are the phrase guard's");
        assert_eq!(cut(""), None);
    }

    #[test]
    fn hitting_the_token_cap_is_a_loop() {
        assert!(looks_degenerate("a long but varied text", 40, 40));
        assert!(
            !looks_degenerate("a long but varied text", 40, 0),
            "no cap in long-form"
        );
    }
}
