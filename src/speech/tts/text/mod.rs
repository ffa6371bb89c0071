//! The text front end of speech synthesis: a reply, plain or in an SSML subset, becomes the
//! chunks an engine synthesises one after the other.
//!
//! ```text
//! reply ─► ssml (only when it starts with `<speak`): text spans with a rate, pauses, sentence
//!          boundaries; plain text is one span (a blank line ends a sentence)
//!       ─► english / chinese: numbers, amounts, dates, times, phone numbers, codes and
//!          addresses written out as words; characters no voice can say dropped
//!       ─► sentences: one chunk per sentence, the first kept short so audio starts early,
//!          none over MAX_CHUNK_CHARS, the whole cut at MAX_TEXT_CHARS
//! ```
//!
//! Engines read digits and symbols differently, and some badly, so everything that is not a
//! plain word is written out here, the same for every engine. Nothing here panics on any input:
//! bad SSML is a [`TextError`] naming the byte offset; text no rule recognises is read as written.
//!
//! Where the written form is ambiguous: `21/11/2026` is day/month/year when the first part is
//! over 12 and month/day/year otherwise; with dots (`21.11.2026`) it is always day/month/year.
//! `9:05` without am/pm is read without AM/PM ("nine oh five"), while `09:05`, `14:30` and
//! `0:15` are 24-hour times. `¥` is yuan. In English `#10023` is "number one zero zero two
//! three". A `say-as` whose text does not fit its interpretation ("tomorrow" as a date) is
//! read as plain text rather than failing the reply.

mod chinese;
pub(crate) mod english;
mod sentences;
mod ssml;

use std::borrow::Cow;
use std::time::Duration;

use sentences::Part;

/// The most characters one engine call gets.
pub const MAX_CHUNK_CHARS: usize = 300;
/// The most characters of a whole reply (after normalisation); more is cut at a sentence.
pub const MAX_TEXT_CHARS: usize = 4000;
/// The longest one pause may be, however many breaks follow each other.
pub const MAX_PAUSE: Duration = Duration::from_secs(5);

/// One piece of work for a synthesis engine, in speaking order.
#[derive(Debug, Clone, PartialEq)]
pub enum Chunk {
    /// Words the engine can read as they are (numbers, amounts, dates already spelled out), with
    /// the speaking rate (1.0 = the voice's normal rate).
    Words { text: String, rate: f32 },
    /// Silence (SSML `<break>`, capped at 5 s).
    Pause(Duration),
}

/// What `prepare` returns: the chunks, and whether the text was cut at the cap.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    pub chunks: Vec<Chunk>,
    pub truncated: bool,
}

/// Why a reply cannot be spoken.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TextError {
    /// The reply is empty or only whitespace (SSML: no text and no pause).
    #[error("nothing to speak: the text is empty")]
    Empty,
    /// The reply has text, but not one character a voice can say (only emoji, symbols, controls).
    #[error("nothing to speak: the text has only characters no voice can say (emoji, symbols)")]
    NothingToSay,
    /// The SSML is not well-formed, or uses an element or value outside the supported subset.
    #[error("SSML at byte {offset}: {reason}")]
    Ssml { offset: usize, reason: String },
    /// `<say-as interpret-as="…">` names an interpretation outside the subset.
    #[error(
        "say-as interpret-as {0:?} is not supported (supported: digits, characters, telephone, \
         date, currency, cardinal, ordinal, time)"
    )]
    UnknownSayAs(String),
}

/// How `<say-as interpret-as="…">` asks for its text to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SayAs {
    /// Digit by digit: "10023" → "one zero zero two three".
    Digits,
    /// Letter by letter, digit by digit: "AB12" → "A B one two" (also `spell-out`, `verbatim`).
    Characters,
    /// A phone number, in groups with a pause between them.
    Telephone,
    /// A date; the order of its parts when `format` gives it.
    Date(Option<DateOrder>),
    /// An amount of money; without a currency sign, dollars (English) or yuan (Chinese).
    Currency,
    /// A quantity, never digit by digit: "10023" → "ten thousand twenty three" (also `number`).
    Cardinal,
    /// "3" or "3rd" → "third".
    Ordinal,
    /// A clock time: "14:30" → "two thirty PM".
    Time,
}

impl SayAs {
    /// From the `interpret-as` value, with the date `format` when there is one.
    pub fn parse(interpret_as: &str, order: Option<DateOrder>) -> Result<SayAs, TextError> {
        Ok(match interpret_as {
            "digits" => SayAs::Digits,
            "characters" | "spell-out" | "verbatim" => SayAs::Characters,
            "telephone" => SayAs::Telephone,
            "date" => SayAs::Date(order),
            "currency" => SayAs::Currency,
            "cardinal" | "number" => SayAs::Cardinal,
            "ordinal" => SayAs::Ordinal,
            "time" => SayAs::Time,
            other => return Err(TextError::UnknownSayAs(other.to_owned())),
        })
    }
}

/// The order of a date's parts (`<say-as interpret-as="date" format="dmy">`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateOrder {
    Mdy,
    Dmy,
    Ymd,
    Md,
    Dm,
}

impl DateOrder {
    pub fn parse(format: &str) -> Option<DateOrder> {
        Some(match format {
            "mdy" => DateOrder::Mdy,
            "dmy" => DateOrder::Dmy,
            "ymd" => DateOrder::Ymd,
            "md" => DateOrder::Md,
            "dm" => DateOrder::Dm,
            _ => return None,
        })
    }
}

/// Turns a reply (plain text, or SSML when it starts with `<speak`) into chunks to synthesise one
/// after the other. `language` is a BCP-47-ish tag: "en", "en-US", "zh", "zh-CN", "cmn" …; Chinese
/// rules apply for zh*/cmn*, English rules otherwise.
pub fn prepare(input: &str, language: &str) -> Result<Prepared, TextError> {
    if input.trim().is_empty() {
        return Err(TextError::Empty);
    }
    let chinese = is_chinese(language);
    let spans = if is_ssml(input) {
        ssml::parse(input, chinese)?
    } else {
        plain_spans(input, chinese)
    };
    let mut had_text = false;
    let mut parts = Vec::with_capacity(spans.len());
    for span in spans {
        parts.push(match span {
            Span::Text {
                text,
                rate,
                chinese,
                say_as,
            } => {
                had_text |= !text.trim().is_empty();
                let text = match say_as {
                    Some(kind) => read_as(kind, &text, chinese),
                    None => normalise(&text, chinese),
                };
                Part::Words { text, rate }
            }
            Span::Pause(pause) => Part::Pause(pause),
            Span::Boundary => Part::Boundary,
        });
    }
    let prepared = sentences::chunk(parts);
    let says_something = prepared
        .chunks
        .iter()
        .any(|c| matches!(c, Chunk::Words { .. }));
    match (says_something, had_text) {
        (true, _) => Ok(prepared),
        (false, true) => Err(TextError::NothingToSay),
        (false, false) if prepared.chunks.is_empty() => Err(TextError::Empty),
        // Only pauses: a deliberate silence.
        (false, false) => Ok(prepared),
    }
}

/// Plain `text` as a voice should read it, without SSML or chunking: "Order #10023 costs $5" →
/// "Order number one zero zero two three costs five dollars".
pub fn speakable(text: &str, language: &str) -> String {
    collapse(&normalise(text, is_chinese(language)))
}

/// What the SSML parser (or plain text) hands on to normalisation.
#[derive(Debug, Clone, PartialEq)]
enum Span {
    /// Text as written, to be normalised by the rules of its language.
    Text {
        text: String,
        rate: f32,
        chinese: bool,
        say_as: Option<SayAs>,
    },
    Pause(Duration),
    /// A sentence ends here (`<s>`, `<p>`, a blank line).
    Boundary,
}

fn is_ssml(input: &str) -> bool {
    let input = input.trim_start();
    input.starts_with("<?xml")
        || input
            .strip_prefix("<speak")
            .is_some_and(|rest| rest.starts_with(['>', '/', ' ', '\t', '\r', '\n']))
}

fn is_chinese(language: &str) -> bool {
    let language = language.trim();
    let prefix = |p: &str| {
        language
            .get(..p.len())
            .is_some_and(|l| l.eq_ignore_ascii_case(p))
    };
    prefix("zh") || prefix("cmn")
}

/// Plain text as spans: one per paragraph, a boundary at each blank line.
fn plain_spans(text: &str, chinese: bool) -> Vec<Span> {
    let mut spans = Vec::new();
    let mut paragraph = String::new();
    for line in text.split('\n') {
        if line.trim().is_empty() {
            if !paragraph.trim().is_empty() {
                spans.push(plain_span(std::mem::take(&mut paragraph), chinese));
                spans.push(Span::Boundary);
            }
            paragraph.clear();
        } else {
            paragraph.push_str(line);
            paragraph.push('\n');
        }
    }
    if !paragraph.trim().is_empty() {
        spans.push(plain_span(paragraph, chinese));
    }
    spans
}

fn plain_span(text: String, chinese: bool) -> Span {
    Span::Text {
        text,
        rate: 1.0,
        chinese,
        say_as: None,
    }
}

/// `text` in words, keeping the whitespace at either end so spans join as they were written.
fn normalise(text: &str, chinese: bool) -> String {
    let folded = fold_width(text);
    let mut said = if chinese {
        chinese::normalise(&folded)
    } else {
        english::normalise(&folded)
    };
    if text.ends_with(char::is_whitespace) {
        said.push(' ');
    }
    if text.starts_with(char::is_whitespace) {
        said.insert(0, ' ');
    }
    said
}

fn read_as(kind: SayAs, text: &str, chinese: bool) -> String {
    let folded = fold_width(text);
    let said = if chinese {
        chinese::say_as(kind, &folded)
    } else {
        english::say_as(kind, &folded)
    };
    said.unwrap_or_else(|| normalise(text, chinese))
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Full-width digits, letters and a few symbols (common in Chinese input) as ASCII, so one set
/// of rules reads both. Full-width punctuation stays: it ends Chinese sentences and clauses.
fn fold_width(text: &str) -> Cow<'_, str> {
    let folds = |c: char| matches!(c, '０'..='９' | 'Ａ'..='Ｚ' | 'ａ'..='ｚ' | '＄' | '％' | '＃' | '＋' | '－' | '＠' | '＆' | '＝' | '～' | '／' | '￥' | '\u{3000}');
    if text.is_ascii() || !text.chars().any(folds) {
        return Cow::Borrowed(text);
    }
    let fold = |c: char| match c {
        '￥' => '¥',
        '\u{3000}' => ' ',
        c if folds(c) => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        c => c,
    };
    Cow::Owned(text.chars().map(fold).collect())
}

/// Punctuation a voice uses for phrasing; other symbols are spelled out or dropped.
const SAYABLE_PUNCTUATION: &str = ".,;:!?'\"()-…。，、；：！？“”‘’（）《》「」『』·";

/// Whether a voice can read `c` as it is: letters of any script, ASCII digits, whitespace and
/// phrasing punctuation. Emoji, symbols (™ © ★), box drawing and control characters cannot.
fn is_sayable(c: char) -> bool {
    c.is_alphabetic() || c.is_ascii_digit() || c.is_whitespace() || SAYABLE_PUNCTUATION.contains(c)
}

fn all_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// A written number: its sign, integer digits (grouping commas removed) and fraction digits.
#[derive(Debug, Clone, PartialEq)]
struct Number {
    negative: bool,
    /// ASCII digits; empty for ".5".
    int: String,
    /// The digits after the point, when there is one.
    frac: Option<String>,
    /// Written with thousands separators ("1,299"): a quantity, never read digit by digit.
    grouped: bool,
}

impl Number {
    /// The integer part, when it fits.
    fn whole(&self) -> Option<u64> {
        if self.int.is_empty() {
            Some(0)
        } else {
            self.int.parse().ok()
        }
    }

    /// A digit run that names something rather than counting: five digits or more, or a
    /// leading zero ("007"). Read digit by digit.
    fn is_identifier(&self) -> bool {
        self.frac.is_none()
            && !self.grouped
            && (self.int.len() >= 5 || (self.int.len() > 1 && self.int.starts_with('0')))
    }

    fn is_one(&self) -> bool {
        !self.negative && self.int == "1" && self.frac.is_none()
    }
}

/// "42", "-3.5", "1,299.99", ".5"; anything else is not a number.
fn parse_number(text: &str) -> Option<Number> {
    let (negative, text) = match text.strip_prefix(['-', '−']) {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, frac) = match text.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (text, None),
    };
    if frac.is_some_and(|f| !all_digits(f)) || (int.is_empty() && frac.is_none()) {
        return None;
    }
    let grouped = int.contains(',');
    if grouped {
        let mut groups = int.split(',');
        let first = groups.next()?;
        if first.len() > 3 || !all_digits(first) || !groups.all(|g| g.len() == 3 && all_digits(g)) {
            return None;
        }
    } else if !int.is_empty() && !all_digits(int) {
        return None;
    }
    Some(Number {
        negative,
        int: int.replace(',', ""),
        frac: frac.map(str::to_owned),
        grouped,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Currency {
    Dollar,
    Euro,
    Pound,
    Yuan,
    Yen,
}

#[derive(Debug, Clone, PartialEq)]
struct Amount {
    currency: Currency,
    number: Number,
}

/// "$12.50", "-$5", "US$3", "€3.05", "5€", "£20", "¥199".
fn parse_amount(text: &str) -> Option<Amount> {
    const SIGNS: [(&str, Currency); 5] = [
        ("US$", Currency::Dollar),
        ("$", Currency::Dollar),
        ("€", Currency::Euro),
        ("£", Currency::Pound),
        ("¥", Currency::Yuan),
    ];
    let (negative, text) = match text.strip_prefix(['-', '−']) {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (currency, body) = SIGNS.iter().find_map(|&(sign, currency)| {
        let body = text
            .strip_prefix(sign)
            .or_else(|| text.strip_suffix(sign))?;
        Some((currency, body))
    })?;
    let mut number = parse_number(body)?;
    if negative && number.negative {
        return None;
    }
    number.negative |= negative;
    Some(Amount { currency, number })
}

/// ISO 4217 codes written after or before an amount ("12.50 USD").
fn currency_code(word: &str) -> Option<Currency> {
    Some(match word {
        "USD" => Currency::Dollar,
        "EUR" => Currency::Euro,
        "GBP" => Currency::Pound,
        "CNY" | "RMB" => Currency::Yuan,
        "JPY" => Currency::Yen,
        _ => return None,
    })
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Clock {
    hour: u32,
    minute: u32,
    /// Written with a leading zero ("09:05"): a 24-hour time.
    padded: bool,
}

/// "14:30", "9:05", "09:05".
fn parse_clock(text: &str) -> Option<Clock> {
    let (h, m) = text.split_once(':')?;
    if !(1..=2).contains(&h.len()) || m.len() != 2 || !all_digits(h) || !all_digits(m) {
        return None;
    }
    let (hour, minute) = (h.parse().ok()?, m.parse().ok()?);
    (hour <= 23 && minute <= 59).then_some(Clock {
        hour,
        minute,
        padded: h.len() == 2 && h.starts_with('0'),
    })
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Date {
    year: Option<u32>,
    month: u32,
    day: Option<u32>,
}

/// Year first, one separator: "2026-11-21", "2026/11/21", "2026.11.21".
fn iso_date(text: &str) -> Option<Date> {
    let separator = text.chars().find(|c| !c.is_ascii_digit())?;
    if !matches!(separator, '-' | '/' | '.') {
        return None;
    }
    let fields: Vec<&str> = text.split(separator).collect();
    let [year, month, day] = fields[..] else {
        return None;
    };
    let short = |f: &str| (1..=2).contains(&f.len());
    if year.len() != 4 || !short(month) || !short(day) {
        return None;
    }
    parse_date(text, Some(DateOrder::Ymd))
}

/// Two or three numeric fields separated by `- / .` or spaces, in `order` when given. Without
/// it: a four-digit first field is the year; else day first when the first field is over 12 or
/// dots separate the fields (European), month first otherwise.
fn parse_date(text: &str, order: Option<DateOrder>) -> Option<Date> {
    let fields: Vec<&str> = text
        .split(['-', '/', '.', ' '])
        .filter(|f| !f.is_empty())
        .collect();
    if !(2..=3).contains(&fields.len()) || fields.iter().any(|f| f.len() > 4 || !all_digits(f)) {
        return None;
    }
    let number = |i: usize| fields.get(i).and_then(|f| f.parse::<u32>().ok());
    let year = |i: usize| {
        let field = fields.get(i)?;
        let y: u32 = field.parse().ok()?;
        match field.len() {
            2 if y < 70 => Some(2000 + y),
            2 => Some(1900 + y),
            4 => Some(y),
            _ => None,
        }
    };
    let year_first = fields.first().is_some_and(|f| f.len() == 4);
    let order = match order {
        Some(order) => order,
        None if year_first && fields.len() == 2 => {
            return checked(Some(year(0)?), number(1)?, None);
        }
        None if year_first => DateOrder::Ymd,
        None if fields.len() == 2 && number(0)? > 12 => DateOrder::Dm,
        None if fields.len() == 2 => DateOrder::Md,
        None if text.contains('.') || number(0)? > 12 => DateOrder::Dmy,
        None => DateOrder::Mdy,
    };
    match (order, fields.len()) {
        (DateOrder::Mdy, 3) => checked(Some(year(2)?), number(0)?, Some(number(1)?)),
        (DateOrder::Dmy, 3) => checked(Some(year(2)?), number(1)?, Some(number(0)?)),
        (DateOrder::Ymd, 3) => checked(Some(year(0)?), number(1)?, Some(number(2)?)),
        (DateOrder::Md, 2) => checked(None, number(0)?, Some(number(1)?)),
        (DateOrder::Dm, 2) => checked(None, number(1)?, Some(number(0)?)),
        _ => None,
    }
}

fn checked(year: Option<u32>, month: u32, day: Option<u32>) -> Option<Date> {
    let leap = |y: u32| y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400));
    let days = match month {
        1..=12 if month == 2 && year.is_none_or(leap) => 29,
        1..=12 if month == 2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return None,
    };
    day.is_none_or(|d| (1..=days).contains(&d))
        .then_some(Date { year, month, day })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn words(chunks: &[Chunk]) -> Vec<&str> {
        chunks
            .iter()
            .filter_map(|c| match c {
                Chunk::Words { text, .. } => Some(text.as_str()),
                Chunk::Pause(_) => None,
            })
            .collect()
    }

    #[test]
    fn a_plain_reply_becomes_sentences_of_words() {
        let prepared = prepare(
            "Your order #10023 shipped on 2026-11-21. It cost $12.50! Call 555-123-4567.",
            "en-US",
        )
        .expect("speakable");
        assert!(!prepared.truncated);
        // The first sentence is long, so it is cut at its first clause (the date's comma).
        assert_eq!(
            words(&prepared.chunks),
            [
                "Your order number one zero zero two three shipped on November twenty first,",
                "twenty twenty six.",
                "It cost twelve dollars and fifty cents!",
                "Call five five five, one two three, four five six seven."
            ]
        );
        assert!(
            prepared
                .chunks
                .iter()
                .all(|c| matches!(c, Chunk::Words { rate, .. } if *rate == 1.0))
        );
    }

    #[test]
    fn the_language_chooses_the_rules() {
        let zh = prepare("订单10023已发货，共¥12.50。", "zh-CN").expect("speakable");
        assert_eq!(words(&zh.chunks), ["订单一零零二三已发货，共十二元五角。"]);
        let cmn = prepare("42", "cmn-Hans").expect("speakable");
        assert_eq!(words(&cmn.chunks), ["四十二"]);
        let en = prepare("42", "EN").expect("speakable");
        assert_eq!(words(&en.chunks), ["forty two"]);
    }

    #[test]
    fn empty_and_unsayable_replies_are_errors() {
        assert_eq!(prepare(" \n\t ", "en"), Err(TextError::Empty));
        assert_eq!(prepare("😀🎉 ★ ™", "en"), Err(TextError::NothingToSay));
        assert_eq!(prepare("\u{7}\u{1b}", "zh"), Err(TextError::NothingToSay));
        assert_eq!(prepare("<speak> </speak>", "en"), Err(TextError::Empty));
        assert_eq!(
            prepare("<speak>🎉<break/></speak>", "en"),
            Err(TextError::NothingToSay)
        );
        let silence = prepare("<speak><break time=\"1s\"/></speak>", "en").expect("a pause");
        assert_eq!(silence.chunks, [Chunk::Pause(Duration::from_secs(1))]);
    }

    #[test]
    fn ssml_spans_join_into_sentences() {
        let prepared = prepare(
            "<speak>Order <say-as interpret-as=\"digits\">10023</say-as>, thanks. It ships \
             <prosody rate=\"slow\">tomorrow</prosody>.<break time=\"1s\"/> \
             <s>Bye</s></speak>",
            "en",
        )
        .expect("speakable");
        assert_eq!(
            prepared.chunks,
            [
                Chunk::Words {
                    text: "Order one zero zero two three, thanks.".into(),
                    rate: 1.0
                },
                Chunk::Words {
                    text: "It ships".into(),
                    rate: 1.0
                },
                Chunk::Words {
                    text: "tomorrow.".into(),
                    rate: 0.8
                },
                Chunk::Pause(Duration::from_secs(1)),
                Chunk::Words {
                    text: "Bye".into(),
                    rate: 1.0
                },
            ]
        );
        let zh = prepare(
            "<speak xml:lang=\"zh-CN\">您的订单<say-as interpret-as=\"digits\">10023</say-as>\
             已发货。<break/>谢谢！</speak>",
            "en",
        )
        .expect("speakable");
        assert_eq!(
            zh.chunks,
            [
                Chunk::Words {
                    text: "您的订单一零零二三已发货。".into(),
                    rate: 1.0
                },
                Chunk::Pause(Duration::from_millis(400)),
                Chunk::Words {
                    text: "谢谢！".into(),
                    rate: 1.0
                },
            ]
        );
    }

    #[test]
    fn a_blank_line_ends_a_sentence() {
        let prepared = prepare("Thanks for calling\n\nGoodbye", "en").expect("speakable");
        assert_eq!(words(&prepared.chunks), ["Thanks for calling", "Goodbye"]);
        let joined = prepare("Thanks for\ncalling", "en").expect("speakable");
        assert_eq!(words(&joined.chunks), ["Thanks for calling"]);
    }

    #[test]
    fn speakable_normalises_without_chunking() {
        assert_eq!(
            speakable("Call  555-123-4567. Bye", "en"),
            "Call five five five, one two three, four five six seven. Bye"
        );
        assert_eq!(speakable("１２３", "zh"), "一百二十三");
    }

    #[test]
    fn errors_read_well() {
        let error = TextError::Ssml {
            offset: 7,
            reason: "unsupported element <audio>".into(),
        };
        assert_eq!(
            error.to_string(),
            "SSML at byte 7: unsupported element <audio>"
        );
        assert!(
            TextError::UnknownSayAs("x".into())
                .to_string()
                .starts_with("say-as interpret-as \"x\"")
        );
    }

    #[test]
    fn numbers_amounts_and_dates_parse_strictly() {
        let n = parse_number("1,299.99").expect("grouped");
        assert_eq!(
            (n.int.as_str(), n.frac.as_deref(), n.grouped),
            ("1299", Some("99"), true)
        );
        for bad in ["1,29", "1,2999", "12.", "1.2.3", "-", "", "1a", "1,,000"] {
            assert_eq!(parse_number(bad), None, "{bad}");
        }
        assert_eq!(parse_amount("-$5").map(|a| a.number.negative), Some(true));
        assert_eq!(parse_amount("5€").map(|a| a.currency), Some(Currency::Euro));
        assert_eq!(parse_amount("$"), None);
        assert_eq!(parse_clock("24:00"), None);
        assert_eq!(parse_clock("9:5"), None);
        let date = |y, m, d| {
            Some(Date {
                year: y,
                month: m,
                day: d,
            })
        };
        assert_eq!(iso_date("2026-11-21"), date(Some(2026), 11, Some(21)));
        assert_eq!(iso_date("2026-02-30"), None);
        assert_eq!(
            parse_date("21/11/2026", None),
            date(Some(2026), 11, Some(21))
        );
        assert_eq!(
            parse_date("11/12/2026", None),
            date(Some(2026), 11, Some(12))
        );
        assert_eq!(
            parse_date("11.12.2026", None),
            date(Some(2026), 12, Some(11))
        );
        assert_eq!(
            parse_date("11/12/2026", Some(DateOrder::Dmy)),
            date(Some(2026), 12, Some(11))
        );
        assert_eq!(parse_date("2/29/2023", None), None);
        assert_eq!(parse_date("2/29", None), date(None, 2, Some(29)));
        assert_eq!(parse_date("2026-11", None), date(Some(2026), 11, None));
    }

    /// Checks what `prepare` promises for any input.
    fn check(input: &str, language: &str) -> Result<(), TestCaseError> {
        let Ok(prepared) = prepare(input, language) else {
            return Ok(());
        };
        let mut total = 0;
        for chunk in &prepared.chunks {
            match chunk {
                Chunk::Words { text, rate } => {
                    let chars = text.chars().count();
                    total += chars;
                    prop_assert!(text.chars().any(char::is_alphanumeric), "{text:?}");
                    prop_assert!(chars <= MAX_CHUNK_CHARS, "{chars} chars");
                    prop_assert_eq!(text.trim(), text.as_str());
                    prop_assert!(!text.contains("  "), "{:?}", text);
                    prop_assert!((0.5..=2.0).contains(rate), "rate {}", rate);
                }
                Chunk::Pause(pause) => prop_assert!(!pause.is_zero() && *pause <= MAX_PAUSE),
            }
        }
        prop_assert!(total <= MAX_TEXT_CHARS);
        Ok(())
    }

    const SSML_PIECES: &[&str] = &[
        "<s>",
        "</s>",
        "<p>",
        "</p>",
        "<break time=\"300ms\"/>",
        "<break strength=\"x-strong\"/>",
        "<break time=\"9s\"/>",
        "<prosody rate=\"slow\">",
        "<prosody rate=\"300%\">",
        "</prosody>",
        "<say-as interpret-as=\"digits\">",
        "<say-as interpret-as=\"date\" format=\"dmy\">",
        "<say-as interpret-as=\"telephone\">",
        "<say-as interpret-as=\"currency\">",
        "</say-as>",
        "<sub alias=\"World Wide Web\">",
        "</sub>",
        "&amp;",
        "&#x1F600;",
        "&#99999999;",
        "&bogus;",
        "<!-- note -->",
        "<![CDATA[a<b]]>",
        "<",
        ">",
        "&",
        "\"",
        "'",
        "=",
        "/",
        " ",
        "Dr.",
        "3.5",
        "$12.50",
        "¥12.05",
        "2026-11-21",
        "14:30",
        "+1 555-123-4567",
        "AB-1234",
        "。",
        "，",
        "订单",
        "10023",
        "🎉",
        "Hello",
        ", ",
        ". ",
        "e.g.",
        "#",
    ];

    proptest! {
        #[test]
        fn any_text_never_panics_and_chunks_fit(input in "\\PC{0,300}", zh in any::<bool>()) {
            check(&input, if zh { "zh" } else { "en" })?;
        }

        #[test]
        fn number_like_text_never_panics(input in "[0-9$€£¥#%:/.,+()\\- a-zA-Z。，！？一元年月日]{0,120}", zh in any::<bool>()) {
            check(&input, if zh { "zh" } else { "en" })?;
        }

        #[test]
        fn ssml_ish_text_never_panics(
            pieces in proptest::collection::vec(proptest::sample::select(SSML_PIECES), 0..40),
            noise in "\\PC{0,20}",
            zh in any::<bool>(),
        ) {
            let input = format!("<speak>{}{noise}</speak>", pieces.concat());
            check(&input, if zh { "zh" } else { "en" })?;
            check(&pieces.concat(), "en")?;
        }

        #[test]
        fn long_words_are_cut_to_the_chunk_cap(word in "[a-z一-龥]{290,700}", zh in any::<bool>()) {
            check(&format!("{word} {word}. {word}"), if zh { "zh" } else { "en" })?;
        }
    }
}
