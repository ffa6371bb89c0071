//! How the assistant says things so a voice reads them well: dates as weekdays or "November
//! 24", money with its unit, items by name (order numbers stay digits: the TTS front end reads
//! five digits or more one by one), and what counts as yes or no.

use jiff::civil::{Date, Weekday};

use crate::dialogue::understand::text::fold;
use crate::shop::{Lang, Money, Order, Shop};
use crate::speech::tts::text::english::MONTHS;

/// English or Chinese, whichever the caller speaks.
pub fn pick(lang: Lang, en: impl Into<String>, zh: impl Into<String>) -> String {
    match lang {
        Lang::En => en.into(),
        Lang::Zh => zh.into(),
    }
}

/// A day relative to `today`: "today", "yesterday", "on Tuesday" (this past week), "on
/// Monday, November 24".
pub fn day(lang: Lang, date: Date, today: Date) -> String {
    let days = (date - today).get_days();
    match lang {
        Lang::En => match days {
            0 => "today".into(),
            1 => "tomorrow".into(),
            -1 => "yesterday".into(),
            -6..=-2 => format!("on {}", weekday_en(date.weekday())),
            _ => format!(
                "on {}, {} {}",
                weekday_en(date.weekday()),
                MONTHS[date.month() as usize - 1],
                date.day()
            ),
        },
        Lang::Zh => match days {
            0 => "今天".into(),
            1 => "明天".into(),
            -1 => "昨天".into(),
            _ => format!(
                "{}月{}日，{}",
                date.month(),
                date.day(),
                weekday_zh(date.weekday())
            ),
        },
    }
}

fn weekday_en(day: Weekday) -> &'static str {
    match day {
        Weekday::Monday => "Monday",
        Weekday::Tuesday => "Tuesday",
        Weekday::Wednesday => "Wednesday",
        Weekday::Thursday => "Thursday",
        Weekday::Friday => "Friday",
        Weekday::Saturday => "Saturday",
        Weekday::Sunday => "Sunday",
    }
}

fn weekday_zh(day: Weekday) -> &'static str {
    match day {
        Weekday::Monday => "星期一",
        Weekday::Tuesday => "星期二",
        Weekday::Wednesday => "星期三",
        Weekday::Thursday => "星期四",
        Weekday::Friday => "星期五",
        Weekday::Saturday => "星期六",
        Weekday::Sunday => "星期日",
    }
}

/// "$39.90", "39.90 yuan" / "39.90元".
pub fn money(lang: Lang, amount: Money, currency: &str) -> String {
    match (lang, currency) {
        (Lang::En, "USD") => format!("${amount}"),
        (Lang::En, "CNY") => format!("{amount} yuan"),
        (Lang::En, other) => format!("{amount} {other}"),
        (Lang::Zh, "CNY") => format!("{amount}元"),
        (Lang::Zh, "USD") => format!("{amount}美元"),
        (Lang::Zh, other) => format!("{amount} {other}"),
    }
}

/// What an order holds: "an Electric Kettle, Blue", "a Toaster and 2 more items".
pub fn items(lang: Lang, order: &Order, shop: &Shop) -> String {
    let name = |sku: &str| {
        shop.product(sku)
            .map_or(sku.to_string(), |p| p.name.clone())
    };
    let first = order
        .items
        .first()
        .map(|i| name(&i.sku))
        .unwrap_or_default();
    let more = order.items.len().saturating_sub(1);
    match (lang, more) {
        (Lang::En, 0) => first,
        (Lang::En, 1) => format!("{first} and one more item"),
        (Lang::En, n) => format!("{first} and {n} more items"),
        (Lang::Zh, 0) => first,
        (Lang::Zh, n) => format!("{first}等{}件商品", n + 1),
    }
}

/// Whether a turn says yes (`Some(true)`), no (`Some(false)`), or neither.
pub fn yes_no(text: &str) -> Option<bool> {
    let folded = fold(text);
    let words: Vec<&str> = folded.split(' ').collect();
    let has = |list: &[&str]| words.iter().any(|w| list.contains(w));
    const NO_EN: [&str; 8] = [
        "no", "nope", "nah", "not", "dont", "wrong", "negative", "nothing",
    ];
    const YES_EN: [&str; 12] = [
        "yes",
        "yeah",
        "yep",
        "yup",
        "sure",
        "correct",
        "right",
        "ok",
        "okay",
        "please",
        "absolutely",
        "definitely",
    ];
    const NO_ZH: [&str; 7] = ["不是", "不对", "不用", "不要", "没有", "算了", "不"];
    const YES_ZH: [&str; 8] = ["是的", "是", "对", "好的", "好", "可以", "没错", "确认"];
    if has(&NO_EN) || NO_ZH.iter().any(|w| folded.starts_with(w)) {
        return Some(false);
    }
    if has(&YES_EN)
        || folded.contains("go ahead")
        || folded.contains("thats it")
        || folded.contains("thats the one")
        || YES_ZH.iter().any(|w| folded.starts_with(w))
    {
        return Some(true);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_said_relative_to_today() {
        let today = jiff::civil::date(2026, 11, 20);
        assert_eq!(day(Lang::En, today, today), "today");
        assert_eq!(
            day(Lang::En, jiff::civil::date(2026, 11, 17), today),
            "on Tuesday"
        );
        assert_eq!(
            day(Lang::En, jiff::civil::date(2026, 11, 24), today),
            "on Tuesday, November 24"
        );
        assert_eq!(
            day(Lang::Zh, jiff::civil::date(2026, 11, 24), today),
            "11月24日，星期二"
        );
    }

    #[test]
    fn yes_and_no() {
        assert_eq!(yes_no("yes please"), Some(true));
        assert_eq!(yes_no("Yeah, that's the one."), Some(true));
        assert_eq!(yes_no("no, it's a different order"), Some(false));
        assert_eq!(yes_no("是的"), Some(true));
        assert_eq!(yes_no("不是"), Some(false));
        assert_eq!(yes_no("where is my parcel"), None);
    }

    #[test]
    fn money_and_numbers() {
        assert_eq!(money(Lang::En, Money { cents: 3990 }, "USD"), "$39.90");
        assert_eq!(money(Lang::Zh, Money { cents: 12800 }, "CNY"), "128.00元");
    }
}
