//! Mandarin normalisation: digits become Chinese numerals, amounts, dates and times are read as
//! a Mandarin voice says them, Latin letters are spelled.
//!
//! Chinese puts no spaces between words, so the text is scanned character by character. A run
//! that starts at a digit (or at ¥ $ € £ # + - just before one) is read as a whole, with a look
//! at the character after it (元, 年, a measure word); a run of Latin letters is spelled letter
//! by letter. Digit runs of five or more (order and phone numbers) are read digit by digit,
//! with 一 for 1 (never 幺); shorter numbers are numerals (42 → 四十二, 2000 → 两千); years
//! digit by digit; 2 before a measure word is 两.

use super::{
    Amount, Clock, Currency, Date, Number, SayAs, all_digits, is_sayable, iso_date, parse_amount,
    parse_clock, parse_date, parse_number,
};

const DIGITS: [char; 10] = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];
/// After these, 2 is 两: 两个, 两件, 两天, 两点.
const MEASURE_WORDS: &str = "个件位台天次只本张条双瓶盒箱包种份年点分周小";

pub(super) fn normalise(text: &str) -> String {
    let mut said = String::with_capacity(text.len() * 2);
    let mut at = 0;
    let mut before: Option<char> = None;
    while let Some(c) = text.get(at..).and_then(|rest| rest.chars().next()) {
        let after = text[at + c.len_utf8()..].chars().next();
        let digit_after = after.is_some_and(|a| a.is_ascii_digit());
        let signed = matches!(c, '+' | '-') && !before.is_some_and(|b| b.is_ascii_alphanumeric());
        let end = if c.is_ascii_digit()
            || (digit_after && (signed || matches!(c, '¥' | '$' | '€' | '£' | '#')))
        {
            let (end, words) = number(text, at);
            said.push_str(&words);
            end
        } else if c.is_ascii_alphabetic() {
            let (end, words) = latin(text, at);
            said.push(' ');
            said.push_str(&words);
            said.push(' ');
            end
        } else {
            match c {
                '&' => said.push('和'),
                '+' => said.push('加'),
                '=' => said.push_str("等于"),
                '@' => said.push_str("艾特"),
                c if is_sayable(c) => said.push(c),
                c if c.is_ascii_punctuation() => said.push(' '),
                _ => {}
            }
            at + c.len_utf8()
        };
        before = text[..end].chars().next_back();
        at = end;
    }
    tidy(&said)
}

/// Drops the spaces put around spelled letters where they touch Chinese punctuation.
fn tidy(said: &str) -> String {
    const TIGHT: &str = "，。！？；：、（）《》「」『』“”";
    let mut out = String::with_capacity(said.len());
    let mut chars = said.chars().peekable();
    while let Some(c) = chars.next() {
        let next_tight = chars.peek().is_some_and(|&n| TIGHT.contains(n));
        let last_tight = out.chars().next_back().is_some_and(|l| TIGHT.contains(l));
        if !(c == ' ' && (next_tight || last_tight)) {
            out.push(c);
        }
    }
    out
}

/// A `<say-as>` text read as `kind`; `None` when it does not fit (read as plain text then).
pub(super) fn say_as(kind: SayAs, text: &str) -> Option<String> {
    let text = text.trim();
    let said = match kind {
        SayAs::Digits | SayAs::Characters => spell(text),
        SayAs::Telephone => telephone(text)?,
        SayAs::Date(order) => date(&parse_date(text, order)?),
        SayAs::Currency => match parse_amount(text) {
            Some(a) => amount(&a),
            None => yuan(&parse_number(text.strip_suffix('元').unwrap_or(text))?),
        },
        SayAs::Cardinal => decimal(&parse_number(text)?),
        SayAs::Ordinal => {
            let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
            format!(
                "第{}",
                cardinal(digits.parse().ok().filter(|_| all_digits(digits))?)
            )
        }
        SayAs::Time => clock(parse_clock(text)?),
    };
    (!said.is_empty()).then_some(said)
}

/// `n` as a numeral: 42 → 四十二, 105 → 一百零五, 12000 → 一万两千.
pub(super) fn cardinal(n: u64) -> String {
    const SECTIONS: [(u64, &str); 4] = [
        (1_000_000_000_000, "万亿"),
        (100_000_000, "亿"),
        (10_000, "万"),
        (1, ""),
    ];
    if n == 0 {
        return "零".to_owned();
    }
    if n >= 10_000_000_000_000_000 {
        return digits(&n.to_string());
    }
    let mut said = String::new();
    let mut gap = false;
    for (scale, name) in SECTIONS {
        let section = n / scale % 10_000;
        if section == 0 {
            gap |= !said.is_empty();
            continue;
        }
        // 一万零五: a zero where a section (or its thousands) is missing.
        if !said.is_empty() && (gap || section < 1000) {
            said.push('零');
        }
        gap = false;
        if section == 2 && !name.is_empty() {
            said.push('两');
        } else {
            let leading = said.is_empty();
            four_digits(section, leading, &mut said);
        }
        said.push_str(name);
    }
    said
}

/// 1..=9999: 十二 (not 一十二) at the start, 两千 and 两百 at the front, one 零 per gap.
fn four_digits(n: u64, leading: bool, said: &mut String) {
    const PLACES: [(u64, &str); 4] = [(1000, "千"), (100, "百"), (10, "十"), (1, "")];
    let mut started = false;
    let mut zero = false;
    for (place, name) in PLACES {
        let digit = (n / place % 10) as usize;
        if digit == 0 {
            zero |= started;
            continue;
        }
        if std::mem::take(&mut zero) {
            said.push('零');
        }
        let first = !started;
        started = true;
        match (digit, place) {
            (1, 10) if first && leading => {}
            (2, 1000) => said.push('两'),
            (2, 100) if first => said.push('两'),
            _ => said.push(DIGITS[digit]),
        }
        said.push_str(name);
    }
}

/// Every ASCII digit as a Chinese digit: "10023" → 一零零二三.
fn digits(text: &str) -> String {
    text.bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| DIGITS[usize::from(b - b'0')])
        .collect()
}

/// A number as a quantity: 负三点五, 十二.
fn decimal(n: &Number) -> String {
    let mut said = String::from(if n.negative { "负" } else { "" });
    said.push_str(&n.whole().map_or_else(|| digits(&n.int), cardinal));
    if let Some(frac) = &n.frac {
        said.push('点');
        said.push_str(&digits(frac));
    }
    said
}

/// A number standing on its own: identifiers digit by digit, quantities as numerals.
fn plain(n: &Number) -> String {
    match (n.is_identifier(), n.negative) {
        (true, true) => format!("负{}", digits(&n.int)),
        (true, false) => digits(&n.int),
        (false, _) => decimal(n),
    }
}

/// Yuan with jiao and fen: 十二元五角, 十二元零五分, 五角.
fn yuan(n: &Number) -> String {
    let digit = |b: Option<&u8>| b.map_or(0, |b| usize::from(b.wrapping_sub(b'0')).min(9));
    let fraction = match n.frac.as_deref() {
        None => Some((0, 0)),
        Some(f) if f.len() <= 2 => Some((digit(f.as_bytes().first()), digit(f.as_bytes().get(1)))),
        Some(_) => None,
    };
    let (Some(whole), Some((jiao, fen))) = (n.whole(), fraction) else {
        return format!("{}元", decimal(n));
    };
    let mut said = String::from(if n.negative { "负" } else { "" });
    if whole > 0 || (jiao == 0 && fen == 0) {
        said.push_str(&if whole == 2 {
            "两".to_owned()
        } else {
            cardinal(whole)
        });
        said.push('元');
    }
    if jiao > 0 {
        said.push(if jiao == 2 { '两' } else { DIGITS[jiao] });
        said.push('角');
    }
    if fen > 0 {
        if jiao == 0 && whole > 0 {
            said.push('零');
        }
        said.push(DIGITS[fen]);
        said.push('分');
    }
    said
}

fn amount(a: &Amount) -> String {
    let name = match a.currency {
        Currency::Yuan => return yuan(&a.number),
        Currency::Dollar => "美元",
        Currency::Euro => "欧元",
        Currency::Pound => "英镑",
        Currency::Yen => "日元",
    };
    // 12.50 美元 is 十二点五美元.
    let mut number = a.number.clone();
    number.frac = number
        .frac
        .map(|f| f.trim_end_matches('0').to_owned())
        .filter(|f| !f.is_empty());
    format!("{}{name}", decimal(&number))
}

fn currency_sign(c: char) -> Option<Currency> {
    Some(match c {
        '¥' => Currency::Yuan,
        '$' => Currency::Dollar,
        '€' => Currency::Euro,
        '£' => Currency::Pound,
        _ => return None,
    })
}

/// 二零二六年十一月二十一日.
fn date(d: &Date) -> String {
    let mut said = String::new();
    if let Some(year) = d.year {
        said.push_str(&digits(&year.to_string()));
        said.push('年');
    }
    said.push_str(&cardinal(d.month.into()));
    said.push('月');
    if let Some(day) = d.day {
        said.push_str(&cardinal(day.into()));
        said.push('日');
    }
    said
}

/// 十四点三十分, 九点零五分, 两点.
fn clock(time: Clock) -> String {
    let mut said = if time.hour == 2 {
        "两".to_owned()
    } else {
        cardinal(time.hour.into())
    };
    said.push('点');
    if (1..=9).contains(&time.minute) {
        said.push('零');
    }
    if time.minute > 0 {
        said.push_str(&cardinal(time.minute.into()));
        said.push('分');
    }
    said
}

/// Groups of digits with a pause between them: 一三八，零零一三，八零零零.
fn phone(body: &str, plus: bool) -> Option<String> {
    let groups: Vec<&str> = body.split(['-', ' ']).filter(|g| !g.is_empty()).collect();
    let count: usize = groups.iter().map(|g| g.len()).sum();
    if !groups.iter().all(|g| all_digits(g)) || !(7..=15).contains(&count) {
        return None;
    }
    if !plus && (groups.len() < 2 || groups.iter().any(|g| g.len() > 4)) {
        return None;
    }
    let said = groups
        .iter()
        .map(|g| digits(g))
        .collect::<Vec<_>>()
        .join("，");
    Some(if plus { format!("加{said}") } else { said })
}

/// `<say-as interpret-as="telephone">`: groups as written; a mobile number as 3-4-4.
fn telephone(text: &str) -> Option<String> {
    let (plus, body) = match text.strip_prefix('+') {
        Some(body) => (true, body),
        None => (false, text),
    };
    let groups: Vec<&str> = body
        .split(|c: char| !c.is_ascii_digit())
        .filter(|g| !g.is_empty())
        .collect();
    let groups = match groups[..] {
        [] => return None,
        [one] if !plus && one.len() == 11 => vec![&one[..3], &one[3..7], &one[7..]],
        _ => groups,
    };
    let said = groups
        .iter()
        .map(|g| digits(g))
        .collect::<Vec<_>>()
        .join("，");
    Some(if plus { format!("加{said}") } else { said })
}

fn unit_name(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "kg" => "千克",
        "g" => "克",
        "mg" => "毫克",
        "km" => "公里",
        "m" => "米",
        "cm" => "厘米",
        "mm" => "毫米",
        "ml" | "mL" => "毫升",
        "l" | "L" => "升",
        "lb" | "lbs" => "磅",
        "oz" => "盎司",
        _ => return None,
    })
}

/// Letters as capitals one by one, digits one by one: "AB-12" → "A B 一二".
fn spell(text: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut run = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            run.push_str(&digits(c.encode_utf8(&mut [0; 4])));
            continue;
        }
        if !run.is_empty() {
            parts.push(std::mem::take(&mut run));
        }
        match c {
            c if c.is_alphabetic() => parts.push(c.to_uppercase().collect()),
            '.' => parts.push("点".to_owned()),
            '@' => parts.push("艾特".to_owned()),
            _ => {}
        }
    }
    if !run.is_empty() {
        parts.push(run);
    }
    parts.join(" ")
}

/// Latin letters (with digits and `. - _ @ /` between them) from `start`: spelled.
fn latin(text: &str, start: usize) -> (usize, String) {
    let bytes = text.as_bytes();
    let mut end = start;
    while let Some(&b) = bytes.get(end) {
        let joins = bytes.get(end + 1).is_some_and(u8::is_ascii_alphanumeric);
        if b.is_ascii_alphanumeric() || (matches!(b, b'.' | b'-' | b'_' | b'@' | b'/') && joins) {
            end += 1;
        } else {
            break;
        }
    }
    (end, spell(&text[start..end]))
}

/// A number run from `start` (a digit, or a sign before one); where it ends, and its words.
fn number(text: &str, start: usize) -> (usize, String) {
    let bytes = text.as_bytes();
    let first = text[start..].chars().next().unwrap_or('0');
    let sign = (!first.is_ascii_digit()).then_some(first);
    let body_start = start + sign.map_or(0, char::len_utf8);
    let mut end = body_start;
    while let Some(&b) = bytes.get(end) {
        let next = bytes.get(end + 1);
        let digit_next = next.is_some_and(u8::is_ascii_digit);
        match b {
            b if b.is_ascii_alphanumeric() => end += 1,
            b'.' | b',' | b':' | b'/' | b'~' if digit_next => end += 1,
            b'-' if next.is_some_and(u8::is_ascii_alphanumeric) => end += 1,
            // "+86 138 0013 8000"
            b' ' if sign == Some('+') && digit_next => end += 1,
            b'%' => {
                end += 1;
                break;
            }
            _ => break,
        }
    }
    let body = &text[body_start..end];
    let after = text[end..].chars().next();
    let (said, used) = read_number(sign, body, after);
    (end + used, said)
}

/// Reads a number run; how many bytes of the text after it the reading took (元, €).
fn read_number(sign: Option<char>, body: &str, after: Option<char>) -> (String, usize) {
    let negative = sign == Some('-');
    let plus = if sign == Some('+') { "加" } else { "" };
    if sign == Some('#') {
        return (spell(body), 0);
    }
    if let Some(currency) = sign.and_then(currency_sign)
        && let Some(number) = parse_number(body)
    {
        return (amount(&Amount { currency, number }), 0);
    }
    if let Some(percent) = body.strip_suffix('%')
        && let Some(number) = parse_number(percent)
    {
        let sign = if negative { "负" } else { "" };
        return (format!("{sign}百分之{}", decimal(&number)), 0);
    }
    if let Some(d) = iso_date(body) {
        return (date(&d), 0);
    }
    if let Some(time) = parse_clock(body) {
        return (clock(time), 0);
    }
    if let Some(said) = phone(body, sign == Some('+')) {
        return (said, 0);
    }
    if let Some(mut number) = parse_number(body) {
        number.negative = negative;
        let said = match after {
            Some('元') => return (format!("{plus}{}", yuan(&number)), '元'.len_utf8()),
            Some(c) if currency_sign(c).is_some() => {
                let currency = currency_sign(c).unwrap_or(Currency::Yuan);
                return (amount(&Amount { currency, number }), c.len_utf8());
            }
            Some('年') if body.len() == 4 && all_digits(body) => digits(body),
            Some(c) if body == "2" && !negative && MEASURE_WORDS.contains(c) => "两".to_owned(),
            _ => plain(&number),
        };
        return (format!("{plus}{said}"), 0);
    }
    if let Some(at) = body.find(|c: char| c.is_ascii_alphabetic())
        && let Some(number) = parse_number(&body[..at])
        && let Some(unit) = unit_name(&body[at..])
    {
        return (format!("{}{unit}", decimal(&number)), 0);
    }
    if let Some((from, to)) = body.split_once(['-', '~']) {
        if let (Some(from), Some(to)) = (parse_number(from), parse_number(to)) {
            return (format!("{}到{}", plain(&from), plain(&to)), 0);
        }
        if let (Some(from), Some(to)) = (parse_clock(from), parse_clock(to)) {
            return (format!("{}到{}", clock(from), clock(to)), 0);
        }
    }
    if body.bytes().any(|b| b.is_ascii_alphabetic()) {
        return (format!(" {} ", spell(body)), 0);
    }
    // Anything else ("1.2.3", "3,4"): the numbers one by one.
    let mut said = String::new();
    for piece in body.split_inclusive(['.', ',', ':', '/', '~', '-', ' ']) {
        let (number, mark) = match piece.char_indices().next_back() {
            Some((at, c)) if !c.is_ascii_digit() => (&piece[..at], Some(c)),
            _ => (piece, None),
        };
        said.push_str(&parse_number(number).map_or_else(|| digits(number), |n| plain(&n)));
        match mark {
            Some('.') => said.push('点'),
            Some(',') => said.push('，'),
            Some('~' | '-') => said.push('到'),
            Some(_) => said.push(' '),
            None => {}
        }
    }
    (said, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::speech::tts::text::speakable;

    fn check(cases: &[(&str, &str)]) {
        for &(text, expected) in cases {
            assert_eq!(speakable(text, "zh"), expected, "{text:?}");
        }
    }

    #[test]
    fn numerals() {
        let cases = [
            (0, "零"),
            (2, "二"),
            (10, "十"),
            (12, "十二"),
            (20, "二十"),
            (42, "四十二"),
            (105, "一百零五"),
            (110, "一百一十"),
            (200, "两百"),
            (1050, "一千零五十"),
            (1200, "一千二百"),
            (2000, "两千"),
            (10_005, "一万零五"),
            (12_000, "一万两千"),
            (20_000, "两万"),
            (100_012, "十万零一十二"),
            (100_000_000, "一亿"),
            (100_010_000, "一亿零一万"),
        ];
        for (n, expected) in cases {
            assert_eq!(cardinal(n), expected, "{n}");
        }
        assert_eq!(cardinal(u64::MAX), digits(&u64::MAX.to_string()));
    }

    #[test]
    fn numbers() {
        check(&[
            ("订单10023", "订单一零零二三"),
            ("13800138000", "一三八零零一三八零零零"),
            ("42", "四十二"),
            ("105", "一百零五"),
            ("2000", "两千"),
            ("12", "十二"),
            ("共3件", "共三件"),
            ("2个", "两个"),
            ("2月", "二月"),
            ("1,299", "一千二百九十九"),
            ("3.5", "三点五"),
            ("-3", "负三"),
            ("#10023", "一零零二三"),
            ("15%", "百分之十五"),
            ("3-5天", "三到五天"),
            ("2.5kg", "二点五千克"),
            ("500ml水", "五百毫升水"),
            ("１２３", "一百二十三"),
        ]);
    }

    #[test]
    fn amounts() {
        check(&[
            ("¥199", "一百九十九元"),
            ("199元", "一百九十九元"),
            ("¥12.50", "十二元五角"),
            ("¥12.05", "十二元零五分"),
            ("¥0.5", "五角"),
            ("12.55元", "十二元五角五分"),
            ("￥1,299.99", "一千二百九十九元九角九分"),
            ("2元", "两元"),
            ("$5", "五美元"),
            ("$12.50", "十二点五美元"),
            ("€3", "三欧元"),
            ("5€", "五欧元"),
        ]);
    }

    #[test]
    fn dates_and_times() {
        check(&[
            ("2026-11-21", "二零二六年十一月二十一日"),
            ("2026/11/21", "二零二六年十一月二十一日"),
            ("11月21日", "十一月二十一日"),
            ("2026年11月21日", "二零二六年十一月二十一日"),
            ("2年", "两年"),
            ("14:30", "十四点三十分"),
            ("9:05", "九点零五分"),
            ("14:00", "十四点"),
            ("2:15", "两点十五分"),
            ("营业时间9:00-21:00。", "营业时间九点到二十一点。"),
        ]);
    }

    #[test]
    fn phones_codes_and_letters() {
        check(&[
            ("138-0013-8000", "一三八，零零一三，八零零零"),
            ("+86 138 0013 8000", "加八六，一三八，零零一三，八零零零"),
            ("订单AB-1234已发货", "订单 A B 一二三四 已发货"),
            ("SKU77", "S K U 七七"),
            ("123AB", "一二三 A B"),
            ("OK，好的", "O K，好的"),
            (
                "单号SF1234567890，请查收",
                "单号 S F 一二三四五六七八九零，请查收",
            ),
            ("邮箱help@kefu.io", "邮箱 H E L P 艾特 K E F U 点 I O"),
        ]);
    }

    #[test]
    fn punctuation_and_symbols() {
        check(&[
            ("你好😀！", "你好！"),
            ("好的。谢谢！", "好的。谢谢！"),
            ("质量★★★好", "质量好"),
            ("A&B", "A 和 B"),
            ("1.2.3", "一点二点三"),
        ]);
    }

    #[test]
    fn say_as_readings() {
        assert_eq!(
            say_as(SayAs::Digits, "10023").as_deref(),
            Some("一零零二三")
        );
        assert_eq!(
            say_as(SayAs::Characters, "ab12").as_deref(),
            Some("A B 一二")
        );
        assert_eq!(
            say_as(SayAs::Telephone, "13800138000").as_deref(),
            Some("一三八，零零一三，八零零零")
        );
        assert_eq!(
            say_as(SayAs::Date(None), "2026-11-21").as_deref(),
            Some("二零二六年十一月二十一日")
        );
        assert_eq!(
            say_as(SayAs::Currency, "12.05").as_deref(),
            Some("十二元零五分")
        );
        assert_eq!(
            say_as(SayAs::Cardinal, "10023").as_deref(),
            Some("一万零二十三")
        );
        assert_eq!(say_as(SayAs::Ordinal, "3").as_deref(), Some("第三"));
        assert_eq!(say_as(SayAs::Time, "9:05").as_deref(), Some("九点零五分"));
        assert_eq!(say_as(SayAs::Time, "明天"), None);
    }
}
