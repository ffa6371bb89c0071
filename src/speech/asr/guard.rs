//! Signs that whisper looped instead of transcribing: a phrase repeated back to back, or a
//! token count that hit the cap set for the clip's length. Used to re-decode a small-window
//! result with the full window.

/// Whether a transcript of `n_tokens` text tokens looks like a decoding loop, given the token
/// cap `max_tokens` of its pass (0 = no cap).
pub(crate) fn looks_degenerate(text: &str, n_tokens: usize, max_tokens: u32) -> bool {
    (max_tokens > 0 && n_tokens >= max_tokens as usize) || repeats_a_phrase(text)
}

/// A word repeated four times in a row, or a phrase of 2–8 words repeated three times in a
/// row ("no, no, no" is speech; "press one press one press one" is a loop).
pub(crate) fn repeats_a_phrase(text: &str) -> bool {
    let words: Vec<String> = text
        .split_whitespace()
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric())
                .flat_map(char::to_lowercase)
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .collect();
    for n in 1..=8usize {
        let needed = if n == 1 { 4 } else { 3 };
        if words.len() < n * needed {
            break;
        }
        for start in 0..=words.len() - n * needed {
            let phrase = &words[start..start + n];
            let runs = (1..needed).all(|k| &words[start + k * n..start + (k + 1) * n] == phrase);
            if runs {
                return true;
            }
        }
    }
    false
}

/// The text up to the end of the first occurrence of a phrase that then repeats (see
/// [`repeats_a_phrase`]), or `None` when nothing repeats.
pub(crate) fn cut_repetition(text: &str) -> Option<String> {
    let raw: Vec<&str> = text.split_whitespace().collect();
    let words: Vec<String> = raw
        .iter()
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric())
                .flat_map(char::to_lowercase)
                .collect()
        })
        .collect();
    let mut best: Option<usize> = None;
    for n in 1..=8usize {
        let needed = if n == 1 { 4 } else { 3 };
        if words.len() < n * needed {
            break;
        }
        for start in 0..=words.len() - n * needed {
            let phrase = &words[start..start + n];
            if phrase.iter().all(String::is_empty) {
                continue;
            }
            if (1..needed).all(|k| &words[start + k * n..start + (k + 1) * n] == phrase) {
                let end = start + n;
                best = Some(best.map_or(end, |b| b.min(end)));
                break;
            }
        }
    }
    best.map(|end| raw[..end].join(" "))
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
            "thank you for calling thank you for calling thank you for calling"
        ));
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
    fn hitting_the_token_cap_is_a_loop() {
        assert!(looks_degenerate("a long but varied text", 40, 40));
        assert!(
            !looks_degenerate("a long but varied text", 40, 0),
            "no cap in long-form"
        );
    }
}
