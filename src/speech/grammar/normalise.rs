//! Text normalisation shared by grammar tokens and transcripts, so both sides compare the same
//! way: case and punctuation are dropped, apostrophes vanish inside words (`that's` = `thats`),
//! digits stand alone (`123` = `1 2 3`), and digit words in English and Chinese become digits
//! (`one` = `1` = `一` = `幺`). CJK text is compared character by character.
//!
//! Only single digits have words: "ten", "twelve", "twenty-three", 十 and 二十三 are words,
//! not numbers, so a grammar wanting them lists them.

/// One unit of comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unit {
    /// A decimal digit, however it was written (`7`, `seven`, `七`, `７`).
    Digit(u8),
    /// A word of letters: `key` is lower case without apostrophes; `surface` is as written.
    Word { key: String, surface: String },
    /// One CJK character that is not a digit.
    Cjk(char),
    /// A DTMF key: 0-9, `*`, `#`, A-D (upper case).
    Key(char),
}

/// English digit words, by value; the first is the canonical spelling.
const EN_DIGITS: [&[&str]; 10] = [
    &["zero"],
    &["one"],
    &["two"],
    &["three"],
    &["four"],
    &["five"],
    &["six"],
    &["seven"],
    &["eight"],
    &["nine"],
];

/// Chinese digit characters, by value; the first is the canonical one. 幺 is how 1 is read in
/// phone numbers, 两 is 2 before a measure word, 〇 is the written zero.
const ZH_DIGITS: [&[char]; 10] = [
    &['零', '〇'],
    &['一', '幺'],
    &['二', '两'],
    &['三'],
    &['四'],
    &['五'],
    &['六'],
    &['七'],
    &['八'],
    &['九'],
];

/// Words a caller says for a digit that are not its name ("oh" for zero): no penalty.
const EN_DIGIT_ALIASES: [(&str, u8); 2] = [("oh", 0), ("o", 0)];

/// Words an English recogniser writes when it hears a digit: matched with a penalty.
const EN_HOMOPHONES: [(&str, u8); 7] = [
    ("won", 1),
    ("to", 2),
    ("too", 2),
    ("tree", 3),
    ("for", 4),
    ("fore", 4),
    ("ate", 8),
];

/// Hesitations and politeness that a caller adds around an answer; the matcher may skip them.
const EN_FILLERS: [&str; 12] = [
    "um", "uh", "umm", "uhm", "er", "erm", "ah", "hmm", "mm", "oh", "well", "please",
];
const ZH_FILLERS: [char; 10] = ['嗯', '呃', '啊', '哦', '呀', '吧', '呢', '嘛', '了', '请'];

/// Whether `c` is a CJK character (Han, kana, hangul) that counts as a unit of its own.
pub fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3007}'
        | '\u{3040}'..='\u{30FF}'
        | '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{AC00}'..='\u{D7AF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{2FA1F}')
}

/// The value of a digit character: ASCII, full-width or Chinese.
pub fn digit_value(c: char) -> Option<u8> {
    if let Some(d) = c.to_digit(10).filter(|_| c.is_ascii_digit()) {
        return u8::try_from(d).ok();
    }
    if ('０'..='９').contains(&c) {
        return u8::try_from(u32::from(c) - u32::from('０')).ok();
    }
    ZH_DIGITS
        .iter()
        .position(|chars| chars.contains(&c))
        .and_then(|d| u8::try_from(d).ok())
}

/// English spellings of digit `d` (canonical first), for the whisper grammar.
pub fn en_digit_words(d: u8) -> &'static [&'static str] {
    EN_DIGITS.get(usize::from(d)).copied().unwrap_or(&[])
}

/// Chinese characters for digit `d` (canonical first), for the whisper grammar.
pub fn zh_digit_chars(d: u8) -> &'static [char] {
    ZH_DIGITS.get(usize::from(d)).copied().unwrap_or(&[])
}

fn is_apostrophe(c: char) -> bool {
    c == '\'' || c == '\u{2019}'
}

/// Splits SRGS bare text into tokens (SRGS 2.1): whitespace separates tokens, a double-quoted
/// run is one token, and each CJK character is a token of its own (Chinese is written without
/// spaces). Returns the unterminated quote as an error.
pub fn split_tokens(text: &str) -> Result<Vec<String>, String> {
    let mut tokens = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(|c: char| !c.is_whitespace()) {
        rest = &rest[start..];
        if let Some(quoted) = rest.strip_prefix('"') {
            let Some(end) = quoted.find('"') else {
                return Err(format!("unterminated quote in {text:?}"));
            };
            let token = collapse_whitespace(&quoted[..end]);
            if !token.is_empty() {
                tokens.push(token);
            }
            rest = &quoted[end + 1..];
            continue;
        }
        let end = rest
            .find(|c: char| c.is_whitespace() || c == '"')
            .unwrap_or(rest.len());
        split_cjk(&rest[..end], &mut tokens);
        rest = &rest[end..];
    }
    Ok(tokens)
}

/// Pushes `word`, with every CJK character as a separate token.
fn split_cjk(word: &str, tokens: &mut Vec<String>) {
    let mut run = String::new();
    for c in word.chars() {
        if is_cjk(c) {
            if !run.is_empty() {
                tokens.push(std::mem::take(&mut run));
            }
            tokens.push(c.to_string());
        } else {
            run.push(c);
        }
    }
    if !run.is_empty() {
        tokens.push(run);
    }
}

/// Collapses runs of whitespace into one space and trims (SRGS 2.1 token normalisation).
pub fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The units of voice text (a grammar token or a transcript).
pub fn voice_units(text: &str) -> Vec<Unit> {
    let mut units = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if let Some(d) = digit_value(c) {
            flush_word(&mut word, &mut units);
            units.push(Unit::Digit(d));
        } else if is_cjk(c) {
            flush_word(&mut word, &mut units);
            units.push(Unit::Cjk(c));
        } else if c.is_alphanumeric() || (is_apostrophe(c) && !word.is_empty()) {
            word.push(c);
        } else {
            flush_word(&mut word, &mut units);
        }
    }
    flush_word(&mut word, &mut units);
    units
}

fn flush_word(word: &mut String, units: &mut Vec<Unit>) {
    if word.is_empty() {
        return;
    }
    let surface = std::mem::take(word);
    let key: String = surface
        .chars()
        .filter(|c| !is_apostrophe(*c))
        .flat_map(char::to_lowercase)
        .collect();
    if key.is_empty() {
        return;
    }
    match EN_DIGITS
        .iter()
        .position(|names| names.contains(&key.as_str()))
    {
        Some(d) => units.push(Unit::Digit(u8::try_from(d).expect("ten digit names"))),
        None => units.push(Unit::Word { key, surface }),
    }
}

/// The units of a transcript: [`voice_units`], then "double 5" / "triple 5" spelled out.
pub fn transcript_units(text: &str) -> Vec<Unit> {
    let raw = voice_units(text);
    let mut units = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let times = match &raw[i] {
            Unit::Word { key, .. } if key == "double" => 2,
            Unit::Word { key, .. } if key == "triple" => 3,
            _ => 1,
        };
        if times > 1
            && let Some(Unit::Digit(d)) = raw.get(i + 1)
        {
            units.extend(std::iter::repeat_n(Unit::Digit(*d), times));
            i += 2;
            continue;
        }
        units.push(raw[i].clone());
        i += 1;
    }
    units
}

/// The keys of DTMF text (upper case): every non-space character must be a key. Returns the
/// first character that is not.
pub fn dtmf_keys(text: &str) -> Result<Vec<char>, char> {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c.to_ascii_uppercase() {
            k @ ('0'..='9' | '*' | '#' | 'A'..='D') => Ok(k),
            _ => Err(c),
        })
        .collect()
}

/// How a transcript unit compares with a grammar unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Likeness {
    /// The same unit (or an agreed spelling of it, like "oh" for 0).
    Exact,
    /// A word a recogniser writes for this digit ("to" for 2).
    Homophone,
    /// A word one edit away (two for long words): a likely misrecognition.
    NearMiss,
}

/// Compares a grammar unit with a transcript unit.
pub fn compare(grammar: &Unit, heard: &Unit) -> Option<Likeness> {
    match (grammar, heard) {
        (Unit::Digit(a), Unit::Digit(b)) if a == b => Some(Likeness::Exact),
        (Unit::Digit(d), Unit::Word { key, .. }) => {
            if EN_DIGIT_ALIASES.iter().any(|(w, v)| w == key && v == d) {
                Some(Likeness::Exact)
            } else if EN_HOMOPHONES.iter().any(|(w, v)| w == key && v == d) {
                Some(Likeness::Homophone)
            } else {
                None
            }
        }
        (Unit::Word { key: a, .. }, Unit::Word { key: b, .. }) => {
            if a == b {
                Some(Likeness::Exact)
            } else if near(a, b) {
                Some(Likeness::NearMiss)
            } else {
                None
            }
        }
        (Unit::Cjk(a), Unit::Cjk(b)) if a == b => Some(Likeness::Exact),
        (Unit::Key(a), Unit::Key(b)) if a == b => Some(Likeness::Exact),
        _ => None,
    }
}

/// Whether a transcript unit is a hesitation or politeness word the matcher may skip.
pub fn is_filler(unit: &Unit) -> bool {
    match unit {
        Unit::Word { key, .. } => EN_FILLERS.contains(&key.as_str()),
        Unit::Cjk(c) => ZH_FILLERS.contains(c),
        Unit::Digit(_) | Unit::Key(_) => false,
    }
}

/// One edit apart for words of four letters or more, two for eight or more; short words must
/// match exactly ("no" and "so" are different answers).
fn near(grammar: &str, heard: &str) -> bool {
    let len = grammar.chars().count();
    let allowed = match len {
        0..=3 => return false,
        4..=7 => 1,
        _ => 2,
    };
    len <= 64 && heard.chars().count() <= 64 && edit_distance(grammar, heard) <= allowed
}

/// Levenshtein distance over characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(key: &str) -> Unit {
        Unit::Word {
            key: key.into(),
            surface: key.into(),
        }
    }

    #[test]
    fn digits_in_every_spelling_are_the_same_units() {
        let expected = vec![Unit::Digit(1), Unit::Digit(2), Unit::Digit(3)];
        for text in [
            "123",
            "1 2 3",
            "one two three",
            "One, two, three.",
            "一二三",
            "幺两三",
            "１２３",
        ] {
            assert_eq!(voice_units(text), expected, "{text}");
        }
    }

    #[test]
    fn words_lose_case_punctuation_and_apostrophes() {
        let units = voice_units(" That's right!");
        assert_eq!(
            units,
            vec![
                Unit::Word {
                    key: "thats".into(),
                    surface: "That's".into()
                },
                Unit::Word {
                    key: "right".into(),
                    surface: "right".into()
                }
            ]
        );
    }

    #[test]
    fn cjk_text_is_split_per_character() {
        assert_eq!(voice_units("五分。"), vec![Unit::Digit(5), Unit::Cjk('分')]);
        assert_eq!(
            split_tokens("五分 very  good").unwrap(),
            vec!["五", "分", "very", "good"]
        );
        assert_eq!(
            split_tokens("\"New   York\" city").unwrap(),
            vec!["New York", "city"]
        );
        assert!(split_tokens("\"open").is_err());
    }

    #[test]
    fn double_and_triple_repeat_the_next_digit() {
        assert_eq!(
            transcript_units("double 5 triple oh"),
            vec![Unit::Digit(5), Unit::Digit(5), word("triple"), word("oh")]
        );
        assert_eq!(transcript_units("triple nine").len(), 3);
    }

    #[test]
    fn dtmf_keys_are_checked() {
        assert_eq!(dtmf_keys("1 0#*a"), Ok(vec!['1', '0', '#', '*', 'A']));
        assert_eq!(dtmf_keys("12x"), Err('x'));
    }

    #[test]
    fn comparisons_grade_the_likeness() {
        assert_eq!(
            compare(&Unit::Digit(2), &word("to")),
            Some(Likeness::Homophone)
        );
        assert_eq!(compare(&Unit::Digit(0), &word("oh")), Some(Likeness::Exact));
        assert_eq!(
            compare(&word("agent"), &word("agents")),
            Some(Likeness::NearMiss)
        );
        assert_eq!(
            compare(&word("representative"), &word("representive")),
            Some(Likeness::NearMiss)
        );
        assert_eq!(compare(&word("no"), &word("so")), None);
        assert_eq!(compare(&Unit::Digit(3), &word("to")), None);
        assert!(
            is_filler(&word("um")) && is_filler(&Unit::Cjk('嗯')) && !is_filler(&Unit::Digit(1))
        );
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
