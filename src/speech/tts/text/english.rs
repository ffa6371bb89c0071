//! English normalisation: whatever a voice might misread becomes words.
//!
//! Text is read word by word (split at whitespace). Leading quotes and brackets, and trailing
//! punctuation, are set aside; the rest is matched against the rules in [`single`], first
//! match wins, and the sentence marks are put back after the reading. A few rules look at the
//! next words too: phone numbers with spaces, "Nov 21, 2026", "12.50 USD", "2.5 kg",
//! "9:05 am", "No. 5". Numbers are said as US voices say them, without "and" ("one hundred
//! five"); identifiers (five digits or more, `#10023`, codes, addresses) digit by digit.

use super::{
    Amount, Clock, Currency, Date, Number, SayAs, all_digits, currency_code, iso_date,
    parse_amount, parse_clock, parse_date, parse_number,
};

const ONES: [&str; 20] = [
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
const TENS: [&str; 10] = [
    "", "ten", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];
const SCALES: [&str; 7] = [
    "",
    "thousand",
    "million",
    "billion",
    "trillion",
    "quadrillion",
    "quintillion",
];
/// Month names, January first (also how the assistant says dates).
pub(crate) const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
/// Set aside before a word is read, and not spoken.
const OPENERS: &[char] = &['(', '[', '{', '"', '\'', '“', '‘', '«', '¿', '¡', '*', '_'];
/// Set aside after a word; the sentence marks among them are put back.
const CLOSERS: &[char] = &[
    ')', ']', '}', '"', '\'', '”', '’', '»', '.', ',', ';', ':', '!', '?', '…', '*', '_',
];
/// Last labels that make "shop.example.com" an address rather than two words and a dot.
const DOMAINS: [&str; 24] = [
    "com", "net", "org", "io", "cn", "co", "uk", "de", "fr", "jp", "us", "info", "biz", "shop",
    "store", "app", "dev", "ai", "me", "tv", "hk", "tw", "edu", "gov",
];

pub(super) fn normalise(text: &str) -> String {
    let words: Vec<Word> = text.split_whitespace().map(Word::new).collect();
    let mut out = Out::default();
    let mut at = 0;
    while let Some(rest) = words.get(at..).filter(|rest| !rest.is_empty()) {
        at += read(rest, &mut out).max(1);
    }
    out.text
}

/// A `<say-as>` text read as `kind`; `None` when it does not fit (read as plain text then).
pub(super) fn say_as(kind: SayAs, text: &str) -> Option<String> {
    let text = text.trim();
    let said = match kind {
        SayAs::Digits | SayAs::Characters => spell(text),
        SayAs::Telephone => telephone(text)?,
        SayAs::Date(order) => date(&parse_date(text, order)?),
        SayAs::Currency => amount(&currency(text)?),
        SayAs::Cardinal => quantity(&parse_number(text)?),
        SayAs::Ordinal => match ordinal_word(text) {
            Some(said) => said,
            None if all_digits(text) => ordinal(text.parse().ok()?),
            None => return None,
        },
        SayAs::Time => match text.split_whitespace().collect::<Vec<_>>()[..] {
            [time] => time_word(time)?,
            [time, half] => clock_word(time, Some(half_of_day(half)?))?,
            _ => return None,
        },
    };
    (!said.is_empty()).then_some(said)
}

/// A whitespace-separated word: the part that is read, and the punctuation around it.
#[derive(Clone, Copy)]
struct Word<'a> {
    lead: &'a str,
    core: &'a str,
    trail: &'a str,
}

impl<'a> Word<'a> {
    fn new(raw: &'a str) -> Word<'a> {
        let rest = raw.trim_start_matches(OPENERS);
        let core = rest.trim_end_matches(CLOSERS);
        Word {
            lead: &raw[..raw.len() - rest.len()],
            core,
            trail: &rest[core.len()..],
        }
    }

    fn starts_upper(&self) -> bool {
        self.core.chars().next().is_some_and(char::is_uppercase)
    }
}

/// The words read so far, one space apart.
#[derive(Default)]
struct Out {
    text: String,
}

impl Out {
    fn word(&mut self, said: &str) {
        let said = said.trim();
        if said.is_empty() {
            return;
        }
        if !self.text.is_empty() {
            self.text.push(' ');
        }
        self.text.push_str(said);
    }

    /// Sentence marks after a word (ASCII: English engines read nothing else); quotes and
    /// brackets are not spoken. Kept even at the start: an SSML span may begin with the
    /// comma that follows a `<say-as>`.
    fn trail(&mut self, trail: &str) {
        for c in trail.chars() {
            match c {
                '.' | ',' | ';' | ':' | '!' | '?' => self.text.push(c),
                '…' => self.text.push_str("..."),
                _ => {}
            }
        }
    }
}

/// A reading that used `used` words, and the punctuation to put after it.
struct Reading<'a> {
    used: usize,
    said: String,
    trail: &'a str,
}

/// Reads the first word (and the next ones, when a rule needs them); how many were used.
fn read(words: &[Word<'_>], out: &mut Out) -> usize {
    let Some(word) = words.first() else {
        return 1;
    };
    if let Some(reading) = phone_words(words)
        .or_else(|| date_words(words))
        .or_else(|| pair(words))
    {
        out.word(&reading.said);
        out.trail(reading.trail);
        return reading.used;
    }
    if abbreviation(words, out) {
        return 1;
    }
    if matches!(word.core, "-" | "–" | "—" | "--") {
        out.trail(",");
    } else {
        out.word(&single(word.core));
    }
    out.trail(word.trail);
    1
}

/// One word on its own.
fn single(core: &str) -> String {
    if let Some(said) = symbol(core) {
        return said.to_owned();
    }
    let rules: [fn(&str) -> Option<String>; 15] = [
        address,
        |c| parse_amount(c).map(|a| amount(&a)),
        percent,
        ordinal_word,
        |c| iso_date(c).map(|d| date(&d)),
        numeric_date,
        time_word,
        phone_word,
        measure,
        |c| {
            Some(format!(
                "number {}",
                digits(c.strip_prefix('#').filter(|d| all_digits(d))?)
            ))
        },
        range,
        per,
        |c| parse_number(c).map(|n| plain(&n)),
        code,
        initialism,
    ];
    rules
        .iter()
        .find_map(|rule| rule(core))
        .unwrap_or_else(|| generic(core))
}

fn symbol(core: &str) -> Option<&'static str> {
    Some(match core {
        "&" => "and",
        "+" => "plus",
        "=" => "equals",
        "@" => "at",
        "#" => "number",
        "%" => "percent",
        "24/7" => "twenty four seven",
        _ => return None,
    })
}

/// `n` in words: 1299 → "one thousand two hundred ninety nine".
pub(super) fn cardinal(n: u64) -> String {
    if n == 0 {
        return ONES[0].to_owned();
    }
    let mut groups = Vec::new();
    let mut rest = n;
    while rest > 0 {
        groups.push(rest % 1000);
        rest /= 1000;
    }
    let mut words: Vec<&str> = Vec::new();
    for (scale, &group) in groups.iter().enumerate().rev() {
        if group == 0 {
            continue;
        }
        let (hundreds, rest) = ((group / 100) as usize, (group % 100) as usize);
        if hundreds > 0 {
            words.extend([ONES[hundreds], "hundred"]);
        }
        match rest {
            0 => {}
            1..=19 => words.push(ONES[rest]),
            _ => {
                words.push(TENS[rest / 10]);
                if rest % 10 > 0 {
                    words.push(ONES[rest % 10]);
                }
            }
        }
        if let Some(&name) = SCALES.get(scale).filter(|name| !name.is_empty()) {
            words.push(name);
        }
    }
    words.join(" ")
}

/// 22 → "twenty second".
pub(super) fn ordinal(n: u64) -> String {
    let words = cardinal(n);
    let (head, last) = match words.rsplit_once(' ') {
        Some((head, last)) => (Some(head), last),
        None => (None, words.as_str()),
    };
    let last = match last {
        "one" => "first".to_owned(),
        "two" => "second".to_owned(),
        "three" => "third".to_owned(),
        "five" => "fifth".to_owned(),
        "eight" => "eighth".to_owned(),
        "nine" => "ninth".to_owned(),
        "twelve" => "twelfth".to_owned(),
        word => match word.strip_suffix('y') {
            Some(stem) => format!("{stem}ieth"),
            None => format!("{word}th"),
        },
    };
    match head {
        Some(head) => format!("{head} {last}"),
        None => last,
    }
}

/// 2026 → "twenty twenty six", 1905 → "nineteen oh five", 2005 → "two thousand five".
fn year(n: u64) -> String {
    if !(1000..10_000).contains(&n) || (2000..2010).contains(&n) || n.is_multiple_of(1000) {
        return cardinal(n);
    }
    let (high, low) = (cardinal(n / 100), n % 100);
    match low {
        0 => format!("{high} hundred"),
        1..=9 => format!("{high} oh {}", ONES[low as usize]),
        _ => format!("{high} {}", cardinal(low)),
    }
}

/// Every ASCII digit as a word: "10023" → "one zero zero two three".
fn digits(text: &str) -> String {
    text.bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| ONES[usize::from(b - b'0')])
        .collect::<Vec<_>>()
        .join(" ")
}

/// A number as a quantity: "minus three point five", "ten thousand twenty three".
fn quantity(n: &Number) -> String {
    let mut said = String::new();
    if n.negative {
        said.push_str("minus ");
    }
    match n.whole() {
        Some(whole) => said.push_str(&cardinal(whole)),
        None => said.push_str(&digits(&n.int)),
    }
    if let Some(frac) = &n.frac {
        said.push_str(" point ");
        said.push_str(&digits(frac));
    }
    said
}

/// A number standing on its own: identifiers digit by digit, quantities as quantities.
fn plain(n: &Number) -> String {
    match (n.is_identifier(), n.negative) {
        (true, true) => format!("minus {}", digits(&n.int)),
        (true, false) => digits(&n.int),
        (false, _) => quantity(n),
    }
}

/// Digits in words of any length: identifiers digit by digit, up to four digits as a number.
fn digit_run(run: &str) -> String {
    parse_number(run).map_or_else(|| digits(run), |n| plain(&n))
}

fn amount(a: &Amount) -> String {
    let (one, many, cent, cents) = match a.currency {
        Currency::Dollar => ("dollar", "dollars", "cent", "cents"),
        Currency::Euro => ("euro", "euros", "cent", "cents"),
        Currency::Pound => ("pound", "pounds", "penny", "pence"),
        Currency::Yuan => ("yuan", "yuan", "fen", "fen"),
        Currency::Yen => ("yen", "yen", "", ""),
    };
    let n = &a.number;
    let fraction = match n.frac.as_deref() {
        None => Some(0),
        Some(f) if f.len() == 1 && !cent.is_empty() => f.parse::<u64>().ok().map(|v| v * 10),
        Some(f) if f.len() == 2 && !cent.is_empty() => f.parse().ok(),
        Some(_) => None,
    };
    let (Some(whole), Some(fraction)) = (n.whole(), fraction) else {
        return format!("{} {many}", quantity(n));
    };
    let sign = if n.negative { "minus " } else { "" };
    let main = format!(
        "{} {}",
        cardinal(whole),
        if whole == 1 { one } else { many }
    );
    let sub = format!(
        "{} {}",
        cardinal(fraction),
        if fraction == 1 { cent } else { cents }
    );
    match (whole, fraction) {
        (_, 0) => format!("{sign}{main}"),
        (0, _) => format!("{sign}{sub}"),
        _ => format!("{sign}{main} and {sub}"),
    }
}

/// "$12.50", "12.50 USD", "USD 12.50", or a bare number (dollars).
fn currency(text: &str) -> Option<Amount> {
    if let Some(amount) = parse_amount(text) {
        return Some(amount);
    }
    let (number, currency) = match text.split_whitespace().collect::<Vec<_>>()[..] {
        [number] => (number, Currency::Dollar),
        [number, code] if currency_code(code).is_some() => (number, currency_code(code)?),
        [code, number] => (number, currency_code(code)?),
        _ => return None,
    };
    Some(Amount {
        currency,
        number: parse_number(number)?,
    })
}

/// "November twenty first, twenty twenty six".
fn date(d: &Date) -> String {
    let month = (d.month as usize)
        .checked_sub(1)
        .and_then(|m| MONTHS.get(m));
    let mut said = month.copied().unwrap_or_default().to_owned();
    if let Some(day) = d.day {
        said.push(' ');
        said.push_str(&ordinal(day.into()));
    }
    if let Some(y) = d.year {
        if d.day.is_some() {
            said.push(',');
        }
        said.push(' ');
        said.push_str(&year(y.into()));
    }
    said
}

fn month_name(core: &str) -> Option<&'static str> {
    if core.len() > 9 || !core.starts_with(|c: char| c.is_ascii_uppercase()) {
        return None;
    }
    let short =
        |m: &&str| core.len() == 3 && m.get(..3).is_some_and(|p| p.eq_ignore_ascii_case(core));
    let found = MONTHS
        .iter()
        .find(|m| m.eq_ignore_ascii_case(core) || short(m));
    found
        .copied()
        .or(core.eq_ignore_ascii_case("sept").then_some("September"))
}

/// A day of the month: "21", "21st".
fn day_number(core: &str) -> Option<u64> {
    let end = core
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(core.len());
    let (number, suffix) = core.split_at(end);
    let suffix_ok = suffix.is_empty()
        || ["st", "nd", "rd", "th"]
            .iter()
            .any(|s| s.eq_ignore_ascii_case(suffix));
    let day: u64 = number.parse().ok()?;
    (number.len() <= 2 && suffix_ok && (1..=31).contains(&day)).then_some(day)
}

fn year_number(core: &str) -> Option<u64> {
    let year: u64 = core.parse().ok()?;
    (core.len() == 4 && all_digits(core) && (1000..3000).contains(&year)).then_some(year)
}

/// "Nov 21", "November 21, 2026", "November 2026", "21 November 2026".
fn date_words<'a>(words: &[Word<'a>]) -> Option<Reading<'a>> {
    let [a, b, rest @ ..] = words else {
        return None;
    };
    if !b.lead.is_empty() {
        return None;
    }
    // An abbreviation may carry its dot ("Nov."); a full name with a dot ends a sentence.
    let month_ok = |w: &Word| w.trail.is_empty() || (w.trail == "." && !MONTHS.contains(&w.core));
    let with_year = |said: String, last: &Word<'a>| match rest.first() {
        Some(c) if matches!(last.trail, "" | ",") && c.lead.is_empty() => match year_number(c.core)
        {
            Some(y) => Reading {
                used: 3,
                said: format!("{said}, {}", year(y)),
                trail: c.trail,
            },
            None => Reading {
                used: 2,
                said,
                trail: last.trail,
            },
        },
        _ => Reading {
            used: 2,
            said,
            trail: last.trail,
        },
    };
    if let Some(month) = month_name(a.core).filter(|_| month_ok(a)) {
        if let Some(day) = day_number(b.core) {
            return Some(with_year(format!("{month} {}", ordinal(day)), b));
        }
        let y = year_number(b.core).filter(|_| a.trail.is_empty())?;
        return Some(Reading {
            used: 2,
            said: format!("{month} {}", year(y)),
            trail: b.trail,
        });
    }
    let day = day_number(a.core).filter(|_| a.trail.is_empty())?;
    let month = month_name(b.core).filter(|_| month_ok(b) || b.trail == ",")?;
    Some(with_year(format!("{month} {}", ordinal(day)), b))
}

#[derive(Clone, Copy)]
enum Half {
    Am,
    Pm,
}

fn half_of_day(word: &str) -> Option<Half> {
    if word.len() > 4 {
        return None;
    }
    match word.replace('.', "").to_ascii_lowercase().as_str() {
        "am" => Some(Half::Am),
        "pm" => Some(Half::Pm),
        _ => None,
    }
}

/// "two thirty PM", "nine oh five AM", "nine o'clock".
fn clock(time: Clock, half: Option<Half>) -> String {
    let Clock {
        hour,
        minute,
        padded,
    } = time;
    let (hour, half) = match (half, hour) {
        (Some(_), 13..) => (hour - 12, Some(Half::Pm)),
        (Some(half), 0) => (12, Some(half)),
        (Some(half), _) => (hour, Some(half)),
        (None, 0) => (12, Some(Half::Am)),
        (None, 12) => (12, Some(Half::Pm)),
        (None, 13..) => (hour - 12, Some(Half::Pm)),
        (None, _) if padded => (hour, Some(Half::Am)),
        (None, _) => (hour, None),
    };
    let mut said = cardinal(hour.into());
    match minute {
        0 if half.is_none() => said.push_str(" o'clock"),
        0 => {}
        1..=9 => {
            said.push_str(" oh ");
            said.push_str(ONES[minute as usize]);
        }
        _ => {
            said.push(' ');
            said.push_str(&cardinal(minute.into()));
        }
    }
    match half {
        Some(Half::Am) => said.push_str(" AM"),
        Some(Half::Pm) => said.push_str(" PM"),
        None => {}
    }
    said
}

/// "9:05" or, with am/pm, a bare hour "9".
fn clock_word(text: &str, half: Option<Half>) -> Option<String> {
    if let Some(time) = parse_clock(text) {
        return Some(clock(time, half));
    }
    let hour: u32 = text
        .parse()
        .ok()
        .filter(|_| text.len() <= 2 && all_digits(text))?;
    let time = Clock {
        hour,
        minute: 0,
        padded: false,
    };
    (half.is_some() && (1..=12).contains(&hour)).then(|| clock(time, half))
}

/// "14:30", "9:05am", "9pm".
fn time_word(core: &str) -> Option<String> {
    if let Some(time) = parse_clock(core) {
        return Some(clock(time, None));
    }
    if core.len() > 10 {
        return None;
    }
    let lower = core.to_ascii_lowercase();
    let (time, half) = [
        ("a.m", Half::Am),
        ("p.m", Half::Pm),
        ("am", Half::Am),
        ("pm", Half::Pm),
    ]
    .into_iter()
    .find_map(|(suffix, half)| Some((lower.strip_suffix(suffix)?, half)))?;
    clock_word(time, Some(half))
}

/// "plus one, five five five, one two three, four five six seven": a comma makes the pause.
fn phone(country: Option<&str>, groups: &[&str]) -> String {
    let country = country.map(|c| format!("plus {}", digits(c)));
    let groups = groups.iter().map(|g| digits(g));
    country
        .into_iter()
        .chain(groups)
        .collect::<Vec<_>>()
        .join(", ")
}

fn digit_groups(core: &str) -> Option<Vec<&str>> {
    let groups: Vec<&str> = core
        .split(['-', '.', '(', ')'])
        .filter(|g| !g.is_empty())
        .collect();
    (!groups.is_empty() && groups.iter().all(|g| g.len() <= 4 && all_digits(g))).then_some(groups)
}

/// A phone number over several words: "+1 555-123-4567", "(555) 123-4567", "555 123 4567".
fn phone_words<'a>(words: &[Word<'a>]) -> Option<Reading<'a>> {
    let first = words.first()?;
    let mut country = None;
    let mut used = 0;
    if let Some(code) = first.core.strip_prefix('+')
        && first.lead.is_empty()
        && first.trail.is_empty()
        && code.len() <= 3
        && all_digits(code)
    {
        country = Some(code);
        used = 1;
    }
    let parens = words
        .get(used)
        .is_some_and(|w| w.lead == "(" && w.trail.starts_with(')'));
    let mut groups: Vec<&str> = Vec::new();
    let mut trail = "";
    for word in words.get(used..).unwrap_or_default() {
        let count: usize = groups.iter().map(|g| g.len()).sum();
        if count >= 10 || !(word.lead.is_empty() || (groups.is_empty() && word.lead == "(")) {
            break;
        }
        let Some(found) = digit_groups(word.core) else {
            break;
        };
        groups.extend(found);
        used += 1;
        trail = word.trail.trim_start_matches(')');
        if !trail.is_empty() {
            break;
        }
    }
    let count: usize = groups.iter().map(|g| g.len()).sum::<usize>() + country.map_or(0, str::len);
    let lengths: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    let shaped = country.is_some() || parens || lengths == [3, 3, 4];
    (used >= 2 && shaped && (7..=15).contains(&count)).then(|| Reading {
        used,
        said: phone(country, &groups),
        trail,
    })
}

/// A phone number in one word: "555-123-4567", "+1-555-123-4567", "555.123.4567".
fn phone_word(core: &str) -> Option<String> {
    let (plus, body) = match core.strip_prefix('+') {
        Some(body) => (true, body),
        None => (false, core),
    };
    let groups: Vec<&str> = body
        .split(['-', '.', '(', ')'])
        .filter(|g| !g.is_empty())
        .collect();
    let count: usize = groups.iter().map(|g| g.len()).sum();
    if !groups.iter().all(|g| all_digits(g)) || !(7..=15).contains(&count) {
        return None;
    }
    match groups.split_first() {
        Some((country, rest)) if plus && !rest.is_empty() => Some(phone(Some(country), rest)),
        _ if plus => Some(format!("plus {}", digits(body))),
        _ => {
            let least = if body.contains('.') { 3 } else { 2 };
            let shaped = groups.len() >= least && groups.iter().all(|g| g.len() <= 4);
            shaped.then(|| phone(None, &groups))
        }
    }
}

/// `<say-as interpret-as="telephone">`: groups as written; ten digits as 3-3-4.
fn telephone(text: &str) -> Option<String> {
    let text = text.trim();
    let (plus, body) = match text.strip_prefix('+') {
        Some(body) => (true, body),
        None => (false, text),
    };
    let groups: Vec<&str> = body
        .split(|c: char| !c.is_ascii_digit())
        .filter(|g| !g.is_empty())
        .collect();
    match (plus, groups.split_first()) {
        (_, None) => None,
        (true, Some((country, []))) => Some(format!("plus {}", digits(country))),
        (true, Some((country, rest))) => Some(phone(Some(country), rest)),
        (false, Some((one, []))) if one.len() == 10 => {
            Some(phone(None, &[&one[..3], &one[3..6], &one[6..]]))
        }
        (false, _) => Some(phone(None, &groups)),
    }
}

/// Letters one by one (as capitals), digits as words, anything else dropped.
fn spell(text: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            parts.push(digits(c.encode_utf8(&mut [0; 4])));
        } else if c.is_alphabetic() {
            parts.push(c.to_uppercase().collect());
        }
    }
    parts.join(" ")
}

fn percent(core: &str) -> Option<String> {
    let n = parse_number(core.strip_suffix('%')?)?;
    Some(format!("{} percent", quantity(&n)))
}

/// "1st", "22nd", "3RD".
fn ordinal_word(core: &str) -> Option<String> {
    let end = core.find(|c: char| !c.is_ascii_digit())?;
    let (number, suffix) = core.split_at(end);
    let known = ["st", "nd", "rd", "th"]
        .iter()
        .any(|s| s.eq_ignore_ascii_case(suffix));
    (known && !number.is_empty() && number.len() <= 18)
        .then(|| ordinal(number.parse().unwrap_or(0)))
}

/// "21/11/2026", "11/21/26", "21.11.2026" (see the module docs of `text` for the order).
fn numeric_date(core: &str) -> Option<String> {
    let separator = if core.contains('/') { '/' } else { '.' };
    let fields: Vec<&str> = core.split(separator).collect();
    let [first, second, year] = fields[..] else {
        return None;
    };
    let short = |f: &str| (1..=2).contains(&f.len());
    let year_ok = year.len() == 4 || (separator == '/' && year.len() == 2);
    if !(short(first) && short(second) && year_ok) {
        return None;
    }
    parse_date(core, None).map(|d| date(&d))
}

fn unit_name(unit: &str, one: bool) -> Option<String> {
    let name = match unit {
        "kg" => "kilogram",
        "g" => "gram",
        "mg" => "milligram",
        "km" => "kilometer",
        "m" => "meter",
        "cm" => "centimeter",
        "mm" => "millimeter",
        "ml" | "mL" => "milliliter",
        "l" | "L" => "liter",
        "lb" | "lbs" => "pound",
        "oz" => "ounce",
        _ => return None,
    };
    Some(if one {
        name.to_owned()
    } else {
        format!("{name}s")
    })
}

/// "2.5kg", "500ml".
fn measure(core: &str) -> Option<String> {
    let at = core.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = core.split_at(at);
    let n = parse_number(number)?;
    Some(format!("{} {}", quantity(&n), unit_name(unit, n.is_one())?))
}

/// "9-5" → "nine to five", "8am-9pm" → "eight AM to nine PM", "$5-$10".
fn range(core: &str) -> Option<String> {
    let (from, to) = core.split_once(['-', '–'])?;
    let short = |s: &str| s.len() <= 4 && all_digits(s);
    if short(from) && short(to) {
        return Some(format!("{} to {}", digit_run(from), digit_run(to)));
    }
    let read = |s: &str| time_word(s).or_else(|| parse_amount(s).map(|a| amount(&a)));
    Some(format!("{} to {}", read(from)?, read(to)?))
}

/// "$5/month" → "five dollars per month", "2kg/bag" → "two kilograms per bag".
fn per(core: &str) -> Option<String> {
    let (amount_part, unit) = core.split_once('/')?;
    if unit.is_empty() || !unit.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    let said = parse_amount(amount_part)
        .map(|a| amount(&a))
        .or_else(|| measure(amount_part))
        .or_else(|| parse_number(amount_part).map(|n| quantity(&n)))?;
    Some(format!("{said} per {unit}"))
}

/// Product codes and tracking numbers, letters and digits mixed: spelled, hyphens dropped
/// ("AB-1234" → "A B one two three four"). Lower-case words joined to numbers by hyphens
/// ("24-hour", "3rd-party") are read as words instead.
/// Two to five capitals are letters to spell: flite reads "UPS" as "ups" and "DHL" as a word.
fn initialism(core: &str) -> Option<String> {
    let n = core.len();
    let capitals = core.bytes().all(|b| b.is_ascii_uppercase());
    ((2..=5).contains(&n) && capitals && core != "OK").then(|| spell(core))
}

fn code(core: &str) -> Option<String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/');
    let has_letter = core.bytes().any(|b| b.is_ascii_alphabetic());
    let has_digit = core.bytes().any(|b| b.is_ascii_digit());
    if !core.chars().all(allowed) || !has_letter || !has_digit {
        return None;
    }
    let parts: Vec<&str> = core
        .split(['-', '_', '/'])
        .filter(|p| !p.is_empty())
        .collect();
    let mixed = |p: &&str| {
        let letters = p.bytes().any(|b| b.is_ascii_alphabetic());
        let capitals = letters && !p.bytes().any(|b| b.is_ascii_lowercase());
        let mixed = letters && p.bytes().any(|b| b.is_ascii_digit()) && ordinal_word(p).is_none();
        mixed || capitals
    };
    if parts.iter().any(mixed) {
        return Some(spell(core));
    }
    let words = parts.iter().map(|p| {
        ordinal_word(p).unwrap_or_else(|| {
            if all_digits(p) {
                digit_run(p)
            } else {
                (*p).to_owned()
            }
        })
    });
    Some(words.collect::<Vec<_>>().join(" "))
}

/// E-mail and web addresses: "help at kefu dot io", "shop dot example dot com slash orders".
fn address(core: &str) -> Option<String> {
    if let Some((local, domain)) = core.split_once('@') {
        let local_ok = local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c));
        return (!local.is_empty() && local_ok && host_like(domain))
            .then(|| format!("{} at {}", address_part(local), host(domain)));
    }
    let scheme = ["https://", "http://"].iter().find(|s| {
        core.get(..s.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(s))
    });
    let rest = core
        .get(scheme.map_or(0, |s| s.len())..)
        .unwrap_or_default();
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (host_part, path) = rest.split_at(end);
    let www = host_part
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("www."));
    let known = host_part
        .rsplit('.')
        .next()
        .is_some_and(|last| DOMAINS.iter().any(|d| d.eq_ignore_ascii_case(last)));
    if !host_like(host_part) || !(scheme.is_some() || www || known) {
        return None;
    }
    let mut said = host(host_part);
    let path = path.split(['?', '#']).next().unwrap_or_default();
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        said.push_str(" slash ");
        said.push_str(&address_part(segment));
    }
    Some(said)
}

fn host_like(host: &str) -> bool {
    let labels: Vec<&str> = host.split('.').collect();
    let label_ok =
        |l: &&str| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    labels.len() >= 2
        && labels.iter().all(label_ok)
        && labels
            .last()
            .is_some_and(|l| l.len() >= 2 && l.bytes().all(|b| b.is_ascii_alphabetic()))
}

fn host(host: &str) -> String {
    host.split('.')
        .map(address_part)
        .collect::<Vec<_>>()
        .join(" dot ")
}

/// A piece of an address: words as they are, digits one by one, marks by name.
fn address_part(part: &str) -> String {
    let mut said = String::new();
    let mut chars = part.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_ascii_alphabetic() => {
                let mut word = String::from(c);
                while let Some(next) = chars.next_if(char::is_ascii_alphabetic) {
                    word.push(next);
                }
                if word.eq_ignore_ascii_case("www") {
                    word = "W W W".to_owned();
                }
                said.push_str(&format!(" {word} "));
            }
            c if c.is_ascii_digit() => {
                said.push_str(&format!(" {} ", digits(c.encode_utf8(&mut [0; 4]))))
            }
            '.' => said.push_str(" dot "),
            '-' => said.push_str(" dash "),
            '_' => said.push_str(" underscore "),
            '+' => said.push_str(" plus "),
            _ => said.push(' '),
        }
    }
    said.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A title or abbreviation with its dot; whether one was read.
fn abbreviation(words: &[Word<'_>], out: &mut Out) -> bool {
    let Some(word) = words.first() else {
        return false;
    };
    let next = words.get(1);
    let next_upper = next.is_some_and(Word::starts_upper);
    let dotted = word.trail.starts_with('.');
    let after_dot = word.trail.get(1..).unwrap_or_default();
    let title = match word.core {
        "Mr" => "Mister",
        "Mrs" => "Missus",
        "Ms" => "Miz",
        "Dr" => "Doctor",
        "Prof" => "Professor",
        _ => "",
    };
    if !title.is_empty() && (dotted || (word.trail.is_empty() && next_upper)) {
        out.word(title);
        out.trail(if dotted { after_dot } else { word.trail });
        return true;
    }
    if !dotted {
        return false;
    }
    let number_follows =
        next.is_some_and(|n| n.lead.is_empty() && n.core.starts_with(|c: char| c.is_ascii_digit()));
    // Words that may end a sentence keep their dot when the next word starts one.
    let (said, may_end) = match word.core {
        "St" => ("Street", true),
        "etc" => ("et cetera", true),
        "vs" => ("versus", false),
        "approx" => ("approximately", false),
        "e.g" | "E.g" => ("for example", false),
        "i.e" | "I.e" => ("that is", false),
        "No" | "no" if number_follows => ("number", false),
        _ => return false,
    };
    out.word(said);
    let ends = may_end && (next.is_none() || next_upper);
    out.trail(if ends { word.trail } else { after_dot });
    true
}

/// Two-word readings: "12.50 USD", "USD 12.50", "2.5 kg", "9:05 am".
fn pair<'a>(words: &[Word<'a>]) -> Option<Reading<'a>> {
    let [a, b, rest @ ..] = words else {
        return None;
    };
    if !a.trail.is_empty() || !b.lead.is_empty() {
        return None;
    }
    if let Some(half) = half_of_day(b.core) {
        let said = clock_word(a.core, Some(half))?;
        // "a.m." keeps its last dot only where a sentence ends.
        let ends = rest.first().is_none_or(Word::starts_upper);
        let dotted = b.core.contains('.') && !ends;
        let trail = if dotted {
            b.trail.get(1..).unwrap_or_default()
        } else {
            b.trail
        };
        return Some(Reading {
            used: 2,
            said,
            trail,
        });
    }
    let said = match (parse_number(a.core), parse_number(b.core)) {
        (Some(number), _) if currency_code(b.core).is_some() => amount(&Amount {
            currency: currency_code(b.core)?,
            number,
        }),
        (_, Some(number)) if currency_code(a.core).is_some() => amount(&Amount {
            currency: currency_code(a.core)?,
            number,
        }),
        (Some(number), _) => {
            format!(
                "{} {}",
                quantity(&number),
                unit_name(b.core, number.is_one())?
            )
        }
        _ => return None,
    };
    Some(Reading {
        used: 2,
        said,
        trail: b.trail,
    })
}

/// Any other word: letters kept, digit runs read, symbols named or dropped.
fn generic(core: &str) -> String {
    let chars: Vec<char> = core.chars().collect();
    let mut said = String::with_capacity(core.len());
    let mut at = 0;
    while let Some(&c) = chars.get(at) {
        if c.is_ascii_digit() {
            let end = chars[at..]
                .iter()
                .position(|c| !c.is_ascii_digit())
                .map_or(chars.len(), |n| at + n);
            let run: String = chars[at..end].iter().collect();
            said.push_str(&format!(" {} ", digit_run(&run)));
            at = end;
            continue;
        }
        let before = at.checked_sub(1).and_then(|i| chars.get(i)).copied();
        let after = chars.get(at + 1).copied();
        let between = |test: fn(&char) -> bool| {
            before.as_ref().is_some_and(test) && after.as_ref().is_some_and(test)
        };
        match c {
            c if c.is_alphabetic() => said.push(c),
            '\'' | '’' => said.push('\''),
            '-' | '.' if between(|c| c.is_alphabetic()) => said.push(c),
            '.' if between(char::is_ascii_digit) => said.push_str(" point "),
            '&' => said.push_str(" and "),
            '+' => said.push_str(" plus "),
            '=' => said.push_str(" equals "),
            '@' => said.push_str(" at "),
            '%' => said.push_str(" percent "),
            ',' | ';' | ':' | '!' | '?' => {
                said.push(c);
                said.push(' ');
            }
            // Emoji, symbols, controls, brackets: nothing to say.
            _ => said.push(' '),
        }
        at += 1;
    }
    said
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::speech::tts::text::speakable;

    fn say(text: &str) -> String {
        speakable(text, "en")
    }

    fn check(cases: &[(&str, &str)]) {
        for &(text, expected) in cases {
            assert_eq!(say(text), expected, "{text:?}");
        }
    }

    #[test]
    fn number_words() {
        assert_eq!(cardinal(0), "zero");
        assert_eq!(cardinal(15), "fifteen");
        assert_eq!(cardinal(40), "forty");
        assert_eq!(cardinal(105), "one hundred five");
        assert_eq!(cardinal(1_000_001), "one million one");
        assert_eq!(
            cardinal(2_000_340_000),
            "two billion three hundred forty thousand"
        );
        assert!(cardinal(u64::MAX).starts_with("eighteen quintillion"));
        assert_eq!(ordinal(1), "first");
        assert_eq!(ordinal(12), "twelfth");
        assert_eq!(ordinal(20), "twentieth");
        assert_eq!(ordinal(23), "twenty third");
        assert_eq!(ordinal(101), "one hundred first");
        assert_eq!(year(2026), "twenty twenty six");
        assert_eq!(year(1999), "nineteen ninety nine");
        assert_eq!(year(1905), "nineteen oh five");
        assert_eq!(year(2005), "two thousand five");
        assert_eq!(year(1900), "nineteen hundred");
        assert_eq!(year(2000), "two thousand");
    }

    #[test]
    fn initialisms_are_spelled() {
        check(&[
            ("It is on its way with UPS.", "It is on its way with U P S."),
            ("Shipped by DHL, not USPS", "Shipped by D H L, not U S P S"),
            ("OK, I see it.", "OK, I see it."),
            ("A Kettle", "A Kettle"),
        ]);
    }

    #[test]
    fn numbers() {
        check(&[
            (
                "Order 10023 shipped",
                "Order one zero zero two three shipped",
            ),
            ("Order #10023", "Order number one zero zero two three"),
            ("# 42", "number forty two"),
            ("42", "forty two"),
            ("2026", "two thousand twenty six"),
            ("0", "zero"),
            ("007", "zero zero seven"),
            ("1,000,000 users", "one million users"),
            ("-3", "minus three"),
            ("3.14", "three point one four"),
            ("9-5", "nine to five"),
            ("open 8am-9pm", "open eight AM to nine PM"),
            ("$5-$10", "five dollars to ten dollars"),
            ("$5/month", "five dollars per month"),
            ("2kg/bag", "two kilograms per bag"),
            ("1st 22nd 3rd 11th", "first twenty second third eleventh"),
            ("15% off", "fifteen percent off"),
            ("2.5%", "two point five percent"),
            ("3.5.2", "three point five point two"),
        ]);
    }

    #[test]
    fn amounts_and_measures() {
        check(&[
            ("$12.50", "twelve dollars and fifty cents"),
            ("$1", "one dollar"),
            ("$0.01", "one cent"),
            ("$12.5", "twelve dollars and fifty cents"),
            ("€3.05", "three euros and five cents"),
            ("£20", "twenty pounds"),
            ("£1.01", "one pound and one penny"),
            ("¥199", "one hundred ninety nine yuan"),
            ("12.50 USD", "twelve dollars and fifty cents"),
            ("EUR 7", "seven euros"),
            ("-$5", "minus five dollars"),
            (
                "$1,299.99.",
                "one thousand two hundred ninety nine dollars and ninety nine cents.",
            ),
            ("$0.125", "zero point one two five dollars"),
            ("2.5 kg", "two point five kilograms"),
            ("1 kg", "one kilogram"),
            ("500ml", "five hundred milliliters"),
            ("10cm,", "ten centimeters,"),
        ]);
    }

    #[test]
    fn dates_and_times() {
        check(&[
            ("2026-11-21", "November twenty first, twenty twenty six"),
            ("on Nov 21.", "on November twenty first."),
            (
                "November 21, 2026",
                "November twenty first, twenty twenty six",
            ),
            ("Nov. 3rd", "November third"),
            (
                "21 November 2026",
                "November twenty first, twenty twenty six",
            ),
            ("in November 2026", "in November twenty twenty six"),
            ("21/11/2026", "November twenty first, twenty twenty six"),
            ("11/21/2026", "November twenty first, twenty twenty six"),
            ("3/4/2026", "March fourth, twenty twenty six"),
            ("21.11.2026", "November twenty first, twenty twenty six"),
            ("13/13/2026", "thirteen thirteen two thousand twenty six"),
            ("14:30", "two thirty PM"),
            ("9:05 am", "nine oh five AM"),
            ("9:05", "nine oh five"),
            ("09:05", "nine oh five AM"),
            ("0:15", "twelve fifteen AM"),
            ("9:00", "nine o'clock"),
            ("9am", "nine AM"),
            ("12 PM", "twelve PM"),
            ("at 9 a.m. today", "at nine AM today"),
            ("open until 5 p.m.", "open until five PM."),
            ("I am here", "I am here"),
        ]);
    }

    #[test]
    fn phone_numbers() {
        check(&[
            (
                "+1 555-123-4567",
                "plus one, five five five, one two three, four five six seven",
            ),
            (
                "(555) 123-4567",
                "five five five, one two three, four five six seven",
            ),
            (
                "555-123-4567",
                "five five five, one two three, four five six seven",
            ),
            (
                "call 555 123 4567.",
                "call five five five, one two three, four five six seven.",
            ),
            (
                "+1 (555) 123-4567",
                "plus one, five five five, one two three, four five six seven",
            ),
            (
                "+86 138 0013 8000",
                "plus eight six, one three eight, zero zero one three, eight zero zero zero",
            ),
            (
                "1-800-555-1234",
                "one, eight zero zero, five five five, one two three four",
            ),
            (
                "555.123.4567",
                "five five five, one two three, four five six seven",
            ),
            (
                "+15551234567",
                "plus one five five five one two three four five six seven",
            ),
        ]);
    }

    #[test]
    fn codes() {
        check(&[
            ("AB-1234", "A B one two three four"),
            ("1Z999AA1", "one Z nine nine nine A A one"),
            ("SKU-77", "S K U seven seven"),
            ("ab12", "A B one two"),
            ("24-hour", "twenty four hour"),
            ("3rd-party", "third party"),
        ]);
    }

    #[test]
    fn symbols_and_abbreviations() {
        check(&[
            ("A & B", "A and B"),
            ("R&D", "R and D"),
            ("Mr. Smith", "Mister Smith"),
            ("Mrs. Chen and Dr. Lee", "Missus Chen and Doctor Lee"),
            ("Dr Who", "Doctor Who"),
            ("Main St.", "Main Street."),
            ("Main St. is closed", "Main Street is closed"),
            ("No. 5", "number five"),
            ("No. Thanks.", "No. Thanks."),
            ("fruit, e.g. apples", "fruit, for example apples"),
            ("apples, pears, etc.", "apples, pears, et cetera."),
            ("we're open 24/7", "we're open twenty four seven"),
            ("wait - what", "wait, what"),
            ("“Hello,” she said…", "Hello, she said..."),
            ("(really)", "really"),
        ]);
    }

    #[test]
    fn unsayable_characters_are_dropped() {
        check(&[
            ("Thanks 😀!", "Thanks!"),
            ("Kefu™ ©2026 ★★★★★", "Kefu two thousand twenty six"),
            ("┌──┐ box", "box"),
            ("a\u{7}b", "a b"),
            ("👍🏽 great", "great"),
            ("café", "café"),
        ]);
    }

    #[test]
    fn addresses() {
        check(&[
            ("shop.example.com", "shop dot example dot com"),
            ("help@kefu.io", "help at kefu dot io"),
            ("Visit www.kefu.io.", "Visit W W W dot kefu dot io."),
            (
                "https://shop.example.com/orders/10023?x=1",
                "shop dot example dot com slash orders slash one zero zero two three",
            ),
            (
                "john.doe_2@mail.example.cn",
                "john dot doe underscore two at mail dot example dot cn",
            ),
            ("Node.js", "Node.js"),
        ]);
    }

    #[test]
    fn say_as_readings() {
        let read = |kind, text| say_as(kind, text);
        assert_eq!(
            read(SayAs::Digits, "10023").as_deref(),
            Some("one zero zero two three")
        );
        assert_eq!(
            read(SayAs::Characters, "ab-12").as_deref(),
            Some("A B one two")
        );
        assert_eq!(
            read(SayAs::Telephone, "5551234567").as_deref(),
            Some("five five five, one two three, four five six seven")
        );
        assert_eq!(
            read(SayAs::Telephone, "+44 20 7946 0958").as_deref(),
            Some("plus four four, two zero, seven nine four six, zero nine five eight")
        );
        let dmy = SayAs::Date(Some(super::super::DateOrder::Dmy));
        assert_eq!(
            read(dmy, "01/02/2026").as_deref(),
            Some("February first, twenty twenty six")
        );
        assert_eq!(
            read(SayAs::Date(None), "01/02/2026").as_deref(),
            Some("January second, twenty twenty six")
        );
        assert_eq!(read(SayAs::Date(None), "tomorrow"), None);
        assert_eq!(
            read(SayAs::Currency, "12.50").as_deref(),
            Some("twelve dollars and fifty cents")
        );
        assert_eq!(
            read(SayAs::Currency, "3 EUR").as_deref(),
            Some("three euros")
        );
        assert_eq!(
            read(SayAs::Cardinal, "10023").as_deref(),
            Some("ten thousand twenty three")
        );
        assert_eq!(read(SayAs::Ordinal, "3").as_deref(), Some("third"));
        assert_eq!(
            read(SayAs::Ordinal, "21st").as_deref(),
            Some("twenty first")
        );
        assert_eq!(
            read(SayAs::Time, "9:05 pm").as_deref(),
            Some("nine oh five PM")
        );
        assert_eq!(read(SayAs::Digits, "🎉"), None);
    }
}
