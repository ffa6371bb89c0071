//! Cutting normalised text into the chunks an engine synthesises one after the other.
//!
//! A chunk is a sentence: short enough to come back from the engine quickly, long enough to be
//! said with a natural melody. The caller waits for the first chunk, so a long first sentence
//! is cut at its first clause. No chunk is longer than [`MAX_CHUNK_CHARS`] (one engine call);
//! the whole is cut at [`MAX_TEXT_CHARS`]. Every step is one pass over the text.

use std::time::Duration;

use super::{Chunk, MAX_CHUNK_CHARS, MAX_PAUSE, MAX_TEXT_CHARS, Prepared};

/// A first sentence longer than this is cut at its first clause …
const FIRST_CHUNK_CHARS: usize = 60;
/// … but only after this many characters: a lone "Hi," is not worth an engine call.
const FIRST_CLAUSE_MIN_CHARS: usize = 15;
/// Words whose dot does not end a sentence (compared without case). English rules have
/// already expanded most of them; these guard Chinese text and raw input.
const ABBREVIATIONS: [&str; 10] = [
    "mr", "mrs", "ms", "dr", "prof", "vs", "e.g", "i.e", "approx", "cf",
];
/// Closing quotes and brackets that belong to the sentence they follow.
const CLOSERS: &str = "\"')]}”’」』）》";

/// Normalised text and the structure around it, as the caller hands it in.
pub(super) enum Part {
    Words {
        text: String,
        rate: f32,
    },
    Pause(Duration),
    /// A sentence ends here, whatever the punctuation says.
    Boundary,
}

/// A sentence (or the piece of one at a rate change) with collapsed whitespace, or a pause.
enum Unit {
    Words { text: String, rate: f32 },
    Pause(Duration),
}

pub(super) fn chunk(parts: Vec<Part>) -> Prepared {
    let (units, truncated) = cap(sentences(parts));
    Prepared {
        chunks: cut(units),
        truncated,
    }
}

/// Joins text parts of one rate and splits them into sentences; merges pauses.
fn sentences(parts: Vec<Part>) -> Vec<Unit> {
    let mut units = Vec::new();
    let mut run = String::new();
    let mut rate = 1.0;
    for part in parts {
        match part {
            Part::Words {
                text,
                rate: part_rate,
            } => {
                if part_rate != rate {
                    flush(&mut units, &mut run, rate);
                    rate = part_rate;
                }
                join(&mut run, &text);
            }
            Part::Pause(pause) => {
                flush(&mut units, &mut run, rate);
                if let Some(Unit::Pause(last)) = units.last_mut() {
                    *last = (*last + pause).min(MAX_PAUSE);
                } else if !pause.is_zero() {
                    units.push(Unit::Pause(pause.min(MAX_PAUSE)));
                }
            }
            Part::Boundary => flush(&mut units, &mut run, rate),
        }
    }
    flush(&mut units, &mut run, rate);
    units
}

/// Appends `text`, with a space where two words would otherwise run together ("Order" +
/// "one two three"), but none before punctuation and none between Chinese characters.
fn join(run: &mut String, text: &str) {
    let word = |c: char| c.is_alphanumeric() && !is_cjk(c);
    let word_before = run.chars().next_back().is_some_and(word);
    let word_after = text.chars().next().is_some_and(word);
    if word_before && word_after {
        run.push(' ');
    }
    run.push_str(text);
}

fn flush(units: &mut Vec<Unit>, run: &mut String, rate: f32) {
    for sentence in split_sentences(run) {
        let text = collapse(sentence);
        if has_words(&text) {
            // A clause mark left at the start ("😀, hello" without its emoji) says nothing.
            let start = text.trim_start_matches([',', ';', ':', '，', '、', '；', '：', ' ']);
            let text = if start.len() < text.len() {
                start.to_owned()
            } else {
                text
            };
            units.push(Unit::Words { text, rate });
        } else if let Some(Unit::Words { text: last, .. }) = units.last_mut()
            && last.ends_with(char::is_alphanumeric)
            && let Some(mark) = text.chars().find(|c| ".!?。！？".contains(*c))
        {
            // "<prosody>tomorrow</prosody>." : the mark still ends the sentence it follows.
            last.push(mark);
        }
    }
    run.clear();
}

/// Cuts the text after the last sentence that fits in [`MAX_TEXT_CHARS`]; whether it did.
fn cap(units: Vec<Unit>) -> (Vec<Unit>, bool) {
    let mut kept = Vec::with_capacity(units.len());
    let mut total = 0;
    for unit in units {
        if let Unit::Words { text, rate } = &unit {
            let chars = text.chars().count();
            if total + chars > MAX_TEXT_CHARS {
                if total == 0 {
                    // Not even the first sentence fits: cut it at a word.
                    let text = cut_at_word(text, MAX_TEXT_CHARS).to_owned();
                    kept.push(Unit::Words { text, rate: *rate });
                }
                while matches!(kept.last(), Some(Unit::Pause(_))) {
                    kept.pop();
                }
                return (kept, true);
            }
            total += chars;
        }
        kept.push(unit);
    }
    (kept, false)
}

/// The longest start of `text` of at most `max` characters that ends at a word (at any
/// character when there is no space, as in Chinese).
fn cut_at_word(text: &str, max: usize) -> &str {
    let Some((end, _)) = text.char_indices().nth(max) else {
        return text;
    };
    let window = &text[..end];
    match window.rfind(char::is_whitespace) {
        Some(at) if at > 0 => window[..at].trim_end(),
        _ => window,
    }
}

fn cut(units: Vec<Unit>) -> Vec<Chunk> {
    let mut chunks = Vec::with_capacity(units.len());
    let mut first = true;
    for unit in units {
        match unit {
            Unit::Pause(pause) => chunks.push(Chunk::Pause(pause)),
            Unit::Words { text, rate } => {
                let (head, tail) = if std::mem::take(&mut first) {
                    first_clause(&text)
                } else {
                    (text.as_str(), "")
                };
                for piece in [head, tail] {
                    for words in split_long(piece, MAX_CHUNK_CHARS) {
                        if has_words(words) {
                            chunks.push(Chunk::Words {
                                text: words.to_owned(),
                                rate,
                            });
                        }
                    }
                }
            }
        }
    }
    chunks
}

/// A long first sentence as its first clause and the rest (the rest empty when it is short
/// or has no clause boundary late enough).
fn first_clause(text: &str) -> (&str, &str) {
    if text.chars().count() <= FIRST_CHUNK_CHARS {
        return (text, "");
    }
    for (seen, (at, c)) in text.char_indices().enumerate() {
        let end = at + c.len_utf8();
        if seen >= FIRST_CLAUSE_MIN_CHARS && ends_clause(c, text[end..].chars().next()) {
            let (head, tail) = (text[..end].trim(), text[end..].trim());
            return if has_words(tail) {
                (head, tail)
            } else {
                (text, "")
            };
        }
    }
    (text, "")
}

/// `text` in pieces of at most `max` characters: cut at the last clause boundary that fits,
/// else the last space, else anywhere (Chinese has no spaces).
fn split_long(text: &str, max: usize) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut rest = text.trim();
    while let Some((end, _)) = rest.char_indices().nth(max) {
        let clause = rest[..end]
            .char_indices()
            .rev()
            .map(|(at, c)| (at + c.len_utf8(), c))
            .find(|&(after, c)| ends_clause(c, rest[after..].chars().next()))
            .map(|(after, _)| after);
        let space = rest[..end].rfind(char::is_whitespace).filter(|&at| at > 0);
        let cut = clause.or(space).unwrap_or(end);
        pieces.push(rest[..cut].trim_end());
        rest = rest[cut..].trim_start();
    }
    if !rest.is_empty() {
        pieces.push(rest);
    }
    pieces
}

/// Whether a sentence may end before `next`: at the end, a space, or Chinese text (which
/// puts no space after punctuation).
fn ends_here(next: Option<char>) -> bool {
    next.is_none_or(|n| n.is_whitespace() || is_cjk(n))
}

fn ends_clause(c: char, next: Option<char>) -> bool {
    match c {
        '，' | '、' | '：' | '；' => true,
        ',' | ':' | ';' => ends_here(next),
        _ => false,
    }
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3040}'..='\u{30FF}' | '\u{3400}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}' | '\u{20000}'..='\u{2FFFF}')
}

/// `text` cut after each sentence: at . ! ? ; … followed by a space (or Chinese, or the end),
/// and always at 。！？；. Not at "3.5", "Dr.", "e.g." or the dots of a URL.
fn split_sentences(text: &str) -> Vec<&str> {
    let mut sentences = Vec::new();
    let mut start = 0;
    let mut word_start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if c.is_whitespace() {
            word_start = at + c.len_utf8();
            continue;
        }
        let mut wide = matches!(c, '。' | '！' | '？' | '；');
        if !wide && !matches!(c, '.' | '!' | '?' | ';' | '…') {
            continue;
        }
        // A run of marks and closing quotes ends together: "Really?!" or 他说：“好。”
        let mut end = at + c.len_utf8();
        let mut lone_dot = c == '.';
        while let Some(&(next_at, next)) = chars.peek() {
            if !(matches!(
                next,
                '.' | '!' | '?' | ';' | '…' | '。' | '！' | '？' | '；'
            ) || CLOSERS.contains(next))
            {
                break;
            }
            wide |= matches!(next, '。' | '！' | '？' | '；');
            lone_dot = false;
            end = next_at + next.len_utf8();
            chars.next();
        }
        let abbreviation = lone_dot && is_abbreviation(&text[word_start..at]);
        if wide || (ends_here(text[end..].chars().next()) && !abbreviation) {
            sentences.push(&text[start..end]);
            start = end;
        }
    }
    if start < text.len() {
        sentences.push(&text[start..]);
    }
    sentences
}

fn is_abbreviation(word: &str) -> bool {
    let word = word.trim_start_matches(|c: char| !c.is_alphanumeric());
    word.len() <= 8 && ABBREVIATIONS.iter().any(|a| a.eq_ignore_ascii_case(word))
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether there is anything to say: punctuation alone is not.
fn has_words(text: &str) -> bool {
    text.chars().any(char::is_alphanumeric)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::speech::tts::text::prepare;

    fn words(text: &str) -> Part {
        Part::Words {
            text: text.into(),
            rate: 1.0,
        }
    }

    fn said(chunks: &[Chunk]) -> Vec<&str> {
        chunks
            .iter()
            .filter_map(|c| match c {
                Chunk::Words { text, .. } => Some(text.as_str()),
                Chunk::Pause(_) => None,
            })
            .collect()
    }

    fn ms(millis: u64) -> Chunk {
        Chunk::Pause(Duration::from_millis(millis))
    }

    #[test]
    fn sentences_end_at_their_marks_only() {
        assert_eq!(
            split_sentences(
                "Dr. Smith paid 3.5 dollars, e.g. cash. Visit shop.example.com. Why?! Ok… fine;so"
            ),
            [
                "Dr. Smith paid 3.5 dollars, e.g. cash.",
                " Visit shop.example.com.",
                " Why?!",
                " Ok…",
                " fine;so"
            ]
        );
        assert_eq!(
            split_sentences("好的。谢谢！再见？对；是的"),
            ["好的。", "谢谢！", "再见？", "对；", "是的"]
        );
        assert_eq!(
            split_sentences("他说：“好。”然后走了. 再见"),
            ["他说：“好。”", "然后走了.", " 再见"]
        );
        assert_eq!(
            split_sentences("He said \"stop.\" Then (he left.) Ok"),
            ["He said \"stop.\"", " Then (he left.)", " Ok"]
        );
    }

    #[test]
    fn dr_and_decimals_do_not_split_after_normalisation() {
        let prepared = prepare("Dr. Lee weighed 3.5 kg. See you.", "en").expect("speakable");
        assert_eq!(
            said(&prepared.chunks),
            ["Doctor Lee weighed three point five kilograms.", "See you."]
        );
        let raw = chunk(vec![words("Dr. Wang 说 3.5 元. 好的")]);
        assert_eq!(said(&raw.chunks), ["Dr. Wang 说 3.5 元.", "好的"]);
    }

    #[test]
    fn the_first_long_sentence_is_cut_at_its_first_clause() {
        let text = "Thank you for calling Kefu, your order has shipped and should arrive on Friday. \
                    Anything else, just ask, and we will help.";
        let prepared = chunk(vec![words(text)]);
        assert_eq!(
            said(&prepared.chunks),
            [
                "Thank you for calling Kefu,",
                "your order has shipped and should arrive on Friday.",
                "Anything else, just ask, and we will help."
            ]
        );
        // A comma before 15 characters is too early; the next one is used.
        let early = chunk(vec![words(
            "Hi, thanks for calling the Kefu hotline, your parcel is on its way to you now.",
        )]);
        assert_eq!(
            said(&early.chunks),
            [
                "Hi, thanks for calling the Kefu hotline,",
                "your parcel is on its way to you now."
            ]
        );
        // No clause boundary: left whole. Short: left whole.
        let whole = "Your parcel left our warehouse this morning and is now on its way to you";
        assert_eq!(said(&chunk(vec![words(whole)]).chunks), [whole]);
        assert_eq!(
            said(&chunk(vec![words("Hello there, caller.")]).chunks),
            ["Hello there, caller."]
        );
        let zh = chunk(vec![words(
            "您好，感谢您致电客服热线，您的订单已经发货了，预计明天下午送达，请注意查收快递并保持电话畅通，谢谢您的耐心等待，祝您生活愉快。",
        )]);
        assert_eq!(
            said(&zh.chunks),
            [
                "您好，感谢您致电客服热线，您的订单已经发货了，",
                "预计明天下午送达，请注意查收快递并保持电话畅通，谢谢您的耐心等待，祝您生活愉快。"
            ]
        );
    }

    #[test]
    fn long_sentences_are_cut_at_clauses_then_words_then_anywhere() {
        let clause = "we checked the warehouse and the carrier and the depot again";
        let text = format!("Start. {}.", [clause; 8].join(", "));
        let prepared = chunk(vec![words(&text)]);
        let chunks = said(&prepared.chunks);
        assert_eq!(chunks.len(), 3, "{chunks:?}");
        assert_eq!(chunks[1], [clause; 4].join(", ") + ",");
        assert_eq!(chunks[2], [clause; 4].join(", ") + ".");

        let no_commas = format!("Start. {}.", ["word"; 200].join(" "));
        let chunks = chunk(vec![words(&no_commas)]).chunks;
        let lengths: Vec<usize> = said(&chunks).iter().map(|c| c.chars().count()).collect();
        assert_eq!(lengths, [6, 299, 299, 299, 100]);

        let chinese = format!("好。{}。", "字".repeat(700));
        let lengths: Vec<usize> = said(&chunk(vec![words(&chinese)]).chunks)
            .iter()
            .map(|c| c.chars().count())
            .collect();
        assert_eq!(lengths, [2, 300, 300, 101]);
    }

    #[test]
    fn fifty_kilobytes_are_cut_at_the_last_sentence_before_the_cap() {
        let sentence = "Your order has shipped and will arrive soon. ";
        let text = sentence.repeat(50_000 / sentence.len() + 1);
        let prepared = prepare(&text, "en").expect("speakable");
        assert!(prepared.truncated);
        let chunks = said(&prepared.chunks);
        let total: usize = chunks.iter().map(|c| c.chars().count()).sum();
        let per_sentence = sentence.trim().chars().count();
        assert_eq!(chunks.len(), MAX_TEXT_CHARS / per_sentence);
        assert_eq!(total, chunks.len() * per_sentence);
        assert!(chunks.iter().all(|&c| c == sentence.trim()));

        // One endless sentence is cut at a word, in pieces no longer than the chunk cap.
        let endless = "and then ".repeat(6000);
        let prepared = prepare(&endless, "en").expect("speakable");
        assert!(prepared.truncated);
        let chunks = said(&prepared.chunks);
        // 4000 characters end just after an "and": the cut keeps the 3999 before its space.
        assert_eq!(chunks.join(" "), endless[..3999]);
        assert!(chunks.iter().all(|c| c.chars().count() <= MAX_CHUNK_CHARS));

        let chinese = "您的订单已经发货".repeat(3000);
        let prepared = prepare(&chinese, "zh").expect("speakable");
        assert!(prepared.truncated);
        assert_eq!(
            said(&prepared.chunks)
                .iter()
                .map(|c| c.chars().count())
                .sum::<usize>(),
            MAX_TEXT_CHARS
        );
    }

    #[test]
    fn pauses_merge_and_stay_at_the_edges() {
        let prepared = chunk(vec![
            Part::Pause(Duration::from_millis(300)),
            words("Hello"),
            Part::Pause(Duration::from_millis(400)),
            Part::Pause(Duration::from_millis(0)),
            Part::Pause(Duration::from_secs(3)),
            Part::Pause(Duration::from_secs(3)),
            words("  world  \n again "),
            Part::Pause(Duration::from_millis(200)),
        ]);
        assert_eq!(
            prepared.chunks,
            [
                ms(300),
                Chunk::Words {
                    text: "Hello".into(),
                    rate: 1.0
                },
                ms(5000),
                Chunk::Words {
                    text: "world again".into(),
                    rate: 1.0
                },
                ms(200),
            ]
        );
        assert!(!prepared.truncated);
    }

    #[test]
    fn rates_and_boundaries_cut_chunks() {
        let prepared = chunk(vec![
            words("Your order"),
            Part::Words {
                text: "one zero zero two three".into(),
                rate: 0.8,
            },
            words(" shipped."),
            Part::Boundary,
            words("Punctuation only: "),
            Part::Boundary,
            words(" ?! … "),
        ]);
        assert_eq!(
            prepared.chunks,
            [
                Chunk::Words {
                    text: "Your order".into(),
                    rate: 1.0
                },
                Chunk::Words {
                    text: "one zero zero two three".into(),
                    rate: 0.8
                },
                Chunk::Words {
                    text: "shipped.".into(),
                    rate: 1.0
                },
                Chunk::Words {
                    text: "Punctuation only:".into(),
                    rate: 1.0
                },
            ]
        );
        assert_eq!(
            said(&chunk(vec![words("Order"), words("one"), words(".")]).chunks),
            ["Order one."]
        );
        assert_eq!(
            said(&chunk(vec![words("订单"), words("一二三"), words("已发货")]).chunks),
            ["订单一二三已发货"]
        );
        assert_eq!(said(&chunk(vec![words(", hello")]).chunks), ["hello"]);
        let slow_end = chunk(vec![
            words("Ships"),
            Part::Words {
                text: "tomorrow".into(),
                rate: 0.8,
            },
            words("."),
        ]);
        assert_eq!(
            slow_end.chunks,
            [
                Chunk::Words {
                    text: "Ships".into(),
                    rate: 1.0
                },
                Chunk::Words {
                    text: "tomorrow.".into(),
                    rate: 0.8
                },
            ]
        );
    }
}
