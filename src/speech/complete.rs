//! Does what the caller said so far sound finished? Read from the decode that starts when
//! they pause: if the words make a whole sentence, the turn may end on a short silence and kefu
//! answers sooner; if they trail off ("I'd like to return the…", "my order number is"), the
//! turn keeps its full silence so a thinking caller is not cut off.
//!
//! The test is on whisper's text: it closes a sentence it heard as finished with `.`, `?` or
//! `!` (`。？！` in Chinese) and leaves `…`, `,` or nothing on one that breaks off; and a
//! sentence cannot end on a conjunction, an article, a preposition or a filler.

/// Last words after which an English sentence goes on.
const EN_OPEN_ENDS: &[&str] = &[
    "a", "about", "an", "and", "are", "as", "at", "because", "but", "by", "erm", "for", "from",
    "hmm", "if", "in", "is", "like", "my", "of", "on", "or", "so", "than", "that", "the", "then",
    "to", "uh", "um", "was", "which", "who", "with", "your",
];

/// Endings after which a Chinese sentence goes on: conjunctions, fillers, a bare possessive.
const ZH_OPEN_ENDS: &[&str] = &[
    "和", "跟", "但是", "可是", "因为", "所以", "然后", "还有", "就是", "那个", "这个", "嗯", "呃",
    "的", "是", "我的", "如果",
];

/// Whether `text`, a transcript of the turn so far, reads as a finished sentence.
pub fn sounds_finished(text: &str) -> bool {
    let text = text.trim();
    // Whisper's notes on non-speech ("[BLANK_AUDIO]", "(coughs)") are not an answer.
    if text.is_empty() || text.ends_with(']') || text.ends_with(')') || text.ends_with("...") {
        return false;
    }
    let Some(body) = text.strip_suffix(['.', '?', '!', '。', '？', '！']) else {
        return false;
    };
    let body = body.trim_end();
    if body.ends_with(['.', '…', ',', '，', '、', '-']) {
        return false;
    }
    if body.chars().last().is_some_and(is_han) {
        return !ZH_OPEN_ENDS.iter().any(|end| body.ends_with(end));
    }
    let last = body
        .rsplit(|c: char| !(c.is_alphanumeric() || c == '\''))
        .next()
        .unwrap_or_default()
        .to_lowercase();
    !last.is_empty() && !EN_OPEN_ENDS.contains(&last.as_str())
}

fn is_han(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_sentences_are_finished() {
        for t in [
            "Where is my order?",
            " I would like a refund, please. ",
            "Yes.",
            "No!",
            "It's 10023.",
            "Can I return the kettle I bought on Tuesday?",
            "我想退货。",
            "我的包裹到哪里了？",
        ] {
            assert!(sounds_finished(t), "{t:?}");
        }
    }

    #[test]
    fn trailing_off_is_not_finished() {
        for t in [
            "",
            "I'd like to return the...",
            "I'd like to return the.",
            "My order number is.",
            "Where is my order",
            "I bought a kettle and.",
            "Um.",
            "I was wondering, um,",
            "[BLANK_AUDIO]",
            "(coughs)",
            "Well…",
            "我想问一下那个。",
            "因为。",
            "我的订单号是",
        ] {
            assert!(!sounds_finished(t), "{t:?}");
        }
    }
}
