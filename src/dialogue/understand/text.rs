//! Turning what a caller said into words and features, the same for the intent classifier and
//! FAQ retrieval.
//!
//! Text is folded (lower case, full-width to ASCII, punctuation to spaces), Chinese runs are
//! segmented with jieba (its dictionary ships inside the crate), English words lose their
//! common suffixes, and numbers become one `<num>` word: the intent of "where is order 10023"
//! does not depend on the number. Features are words, word pairs and character n-grams; the
//! n-grams are what survive recognition errors ("were is my order", "track in number") and
//! Chinese near-homophones that share one character.

use std::sync::LazyLock;

use jieba_rs::Jieba;

use crate::shop::Lang;

static JIEBA: LazyLock<Jieba> = LazyLock::new(Jieba::new);

/// Builds the segmenter now (~0.3 s), so the first caller does not wait for it.
pub fn warm_up() {
    LazyLock::force(&JIEBA);
}

/// Lower case, full-width forms to ASCII, punctuation to spaces.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let c = match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        };
        if c == '\'' || c == '’' {
            continue; // "where's" = "wheres", "don't" = "dont"
        }
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with(' ') {
            out.push(' ');
        }
    }
    out.trim().to_string()
}

pub fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}')
}

/// The language a turn is in: Chinese when it has any Chinese characters.
pub fn language_of(text: &str) -> Lang {
    if text.chars().any(is_cjk) {
        Lang::Zh
    } else {
        Lang::En
    }
}

/// The words of a folded text: jieba words for Chinese runs, stemmed words otherwise, numbers
/// as `<num>`.
pub fn words(folded: &str) -> Vec<String> {
    let mut words = Vec::new();
    for chunk in folded.split(' ').filter(|c| !c.is_empty()) {
        let mut rest = chunk;
        while let Some(first) = rest.chars().next() {
            let cjk = is_cjk(first);
            let end = rest
                .char_indices()
                .find(|&(_, c)| is_cjk(c) != cjk)
                .map_or(rest.len(), |(i, _)| i);
            let (run, tail) = rest.split_at(end);
            if cjk {
                for token in JIEBA.cut(run, true) {
                    words.push(token.word.to_string());
                }
            } else if run.chars().all(|c| c.is_ascii_digit()) {
                words.push("<num>".into());
            } else {
                words.push(stem(run).to_string());
            }
            rest = tail;
        }
    }
    words
}

/// Strips the English suffixes that rarely change what a caller wants ("orders", "shipped",
/// "returning"). Crude next to Porter, but the character n-grams catch what it misses.
pub fn stem(word: &str) -> &str {
    if !word.is_ascii() || word.len() <= 4 {
        return word;
    }
    for suffix in ["ing", "ed", "es", "s"] {
        if let Some(base) = word.strip_suffix(suffix)
            && base.len() >= 3
            && !base.ends_with('s')
        {
            return base;
        }
    }
    word
}

/// Features of a text for similarity: words, adjacent word pairs, and character n-grams
/// (3-grams inside each English word with its edges marked; 1- and 2-grams of Chinese runs).
/// Each feature appears as often as it occurs.
pub fn features(text: &str) -> Vec<String> {
    let folded = fold(text);
    let words = words(&folded);
    let mut out = Vec::with_capacity(words.len() * 6);
    for w in &words {
        out.push(format!("w:{w}"));
    }
    for pair in words.windows(2) {
        out.push(format!("b:{} {}", pair[0], pair[1]));
    }
    for w in &words {
        if w.starts_with('<') {
            continue;
        }
        let chars: Vec<char> = w.chars().collect();
        if chars.iter().any(|&c| is_cjk(c)) {
            continue;
        }
        let marked: Vec<char> = std::iter::once('#')
            .chain(chars.iter().copied())
            .chain(std::iter::once('#'))
            .collect();
        for gram in marked.windows(3) {
            out.push(format!("c:{}", gram.iter().collect::<String>()));
        }
    }
    // Chinese characters and pairs across the whole folded text, whatever jieba made of it:
    // recognition errors swap one character and split words differently.
    let cjk: Vec<char> = folded.chars().filter(|&c| is_cjk(c)).collect();
    for c in &cjk {
        out.push(format!("z:{c}"));
    }
    for pair in cjk.windows(2) {
        out.push(format!("z:{}{}", pair[0], pair[1]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_keeps_words_and_drops_punctuation() {
        assert_eq!(fold("Where's my ORDER?!"), "wheres my order");
        assert_eq!(fold("我的订单！１２３"), "我的订单 123");
    }

    #[test]
    fn chinese_is_segmented_and_numbers_are_one_word() {
        assert_eq!(words("我想退货"), ["我", "想", "退货"]);
        assert_eq!(words("my order 10023"), ["my", "order", "<num>"]);
        assert_eq!(
            words("我的order到哪了"),
            ["我", "的", "order", "到", "哪", "了"]
        );
    }

    #[test]
    fn common_suffixes_are_stripped() {
        assert_eq!(stem("orders"), "order");
        assert_eq!(stem("shipped"), "shipp");
        assert_eq!(stem("shipping"), "shipp");
        assert_eq!(stem("address"), "address");
        assert_eq!(stem("is"), "is");
    }

    #[test]
    fn languages_are_told_apart() {
        assert_eq!(language_of("where is it"), Lang::En);
        assert_eq!(language_of("我的order"), Lang::Zh);
    }
}
