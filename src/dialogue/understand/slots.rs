//! The details a caller gives: `order_number`, `phone_number`, `product`, `reason`,
//! `asset_id`.
//!
//! Numbers are read the ways speech recognition writes them: digits ("10023", "10,023",
//! "1 0 0 2 3"), digit words ("one zero zero two three", "oh", "double two") and Chinese
//! digits ("一零零二三", "幺"). Products are found by the words of their names in the shop's
//! catalogue; asset ids by the shop's asset prefixes ("art 0007" = "ART-0007").

use std::collections::BTreeMap;

use serde::Serialize;

use super::text::{fold, is_cjk, stem};
use crate::shop::{Product, Shop, asset_key};

/// What a turn said, slot by slot.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Slots {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// The product's SKU.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asset_id: Option<String>,
}

impl Slots {
    /// Slot name to value, for records and `--json`.
    pub fn to_map(&self) -> BTreeMap<&'static str, String> {
        [
            ("order_number", &self.order_number),
            ("phone_number", &self.phone_number),
            ("product", &self.product),
            ("reason", &self.reason),
            ("asset_id", &self.asset_id),
        ]
        .into_iter()
        .filter_map(|(k, v)| Some((k, v.clone()?)))
        .collect()
    }
}

/// Finds every slot in `text`.
pub fn extract(text: &str, shop: &Shop) -> Slots {
    let folded = fold(text);
    let runs = number_runs(&folded);
    let mut slots = Slots {
        asset_id: asset_id(&folded, &runs, shop),
        ..Slots::default()
    };
    for run in &runs {
        if slots
            .asset_id
            .as_deref()
            .is_some_and(|a| asset_key(a).ends_with(&run.digits))
        {
            continue;
        }
        match run.digits.len() {
            // "+1 555 123 0001", "13800000001": phone numbers are long.
            10.. => {
                slots.phone_number.get_or_insert_with(|| run.digits.clone());
            }
            4..=9 => {
                slots.order_number.get_or_insert_with(|| run.digits.clone());
            }
            _ => {}
        }
    }
    slots.product = product(&folded, shop.products()).map(|p| p.sku.clone());
    slots.reason = reason(&folded).map(str::to_string);
    slots
}

/// A run of digits as said, and the word before it ("art" in "art 0007").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberRun {
    pub digits: String,
    pub before: String,
}

fn digit_word(word: &str) -> Option<&'static str> {
    Some(match word {
        "zero" | "oh" | "o" => "0",
        "one" => "1",
        "two" => "2",
        "three" => "3",
        "four" => "4",
        "five" => "5",
        "six" => "6",
        "seven" => "7",
        "eight" => "8",
        "nine" => "9",
        _ => return None,
    })
}

fn chinese_digit(c: char) -> Option<char> {
    Some(match c {
        '零' | '〇' | '洞' => '0',
        '一' | '幺' | '壹' => '1',
        '二' | '两' | '贰' => '2',
        '三' | '叁' => '3',
        '四' | '肆' => '4',
        '五' | '伍' => '5',
        '六' | '陆' => '6',
        '七' | '柒' => '7',
        '八' | '捌' => '8',
        '九' | '玖' => '9',
        _ => return None,
    })
}

/// The digit runs of a folded text. Digits, digit words and Chinese digits next to each other
/// join into one run; "double"/"triple" repeat the next digit. A run needs two digits, so
/// "one kettle" and 一个 are not numbers.
pub fn number_runs(folded: &str) -> Vec<NumberRun> {
    #[derive(Default)]
    struct Runs {
        done: Vec<NumberRun>,
        digits: String,
        before: String,
        previous_word: String,
    }
    impl Runs {
        fn push(&mut self, digits: &str, times: usize) {
            if self.digits.is_empty() {
                self.before = self.previous_word.clone();
            }
            for _ in 0..times {
                self.digits.push_str(digits);
            }
        }
        fn flush(&mut self) {
            if self.digits.len() >= 2 {
                self.done.push(NumberRun {
                    digits: std::mem::take(&mut self.digits),
                    before: std::mem::take(&mut self.before),
                });
            }
            self.digits.clear();
        }
    }
    let mut runs = Runs::default();
    let mut repeat = 1;
    for word in folded.split(' ').filter(|w| !w.is_empty()) {
        let digits = if word.chars().all(|c| c.is_ascii_digit()) {
            Some(word)
        } else {
            digit_word(word)
        };
        if let Some(digits) = digits {
            runs.push(digits, repeat);
            repeat = 1;
        } else if word == "double" || word == "triple" {
            repeat = if word == "double" { 2 } else { 3 };
        } else if word.chars().any(is_cjk) {
            // Digits inside a Chinese run: 订单号一零零二三.
            for c in word.chars() {
                match chinese_digit(c).or(c.is_ascii_digit().then_some(c)) {
                    Some(d) => runs.push(d.encode_utf8(&mut [0; 4]), 1),
                    None => runs.flush(),
                }
            }
        } else {
            runs.flush();
            runs.previous_word = word.to_string();
            repeat = 1;
        }
    }
    runs.flush();
    runs.done
}

/// `ART-0007` from "art 0007", "ART0007", "art zero zero zero seven": a word that is one of
/// the shop's asset prefixes, then digits.
fn asset_id(folded: &str, runs: &[NumberRun], shop: &Shop) -> Option<String> {
    let prefixes: Vec<String> = shop
        .collectibles()
        .iter()
        .filter_map(|c| {
            let prefix: String = c
                .asset_id
                .chars()
                .take_while(|ch| ch.is_ascii_alphabetic())
                .collect();
            (!prefix.is_empty()).then(|| prefix.to_ascii_lowercase())
        })
        .collect();
    let found = |prefix: &str, digits: &str| {
        shop.collectible(&format!("{prefix}{digits}"))
            .map(|c| c.asset_id.clone())
            .or_else(|| Some(format!("{}-{digits}", prefix.to_ascii_uppercase())))
    };
    for run in runs {
        if prefixes.contains(&run.before) {
            return found(&run.before, &run.digits);
        }
    }
    // Written together: "art0007".
    for word in folded.split(' ') {
        let letters: String = word
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect();
        let digits = &word[letters.len()..];
        if prefixes.contains(&letters)
            && digits.len() >= 2
            && digits.chars().all(|c| c.is_ascii_digit())
        {
            return found(&letters, digits);
        }
    }
    None
}

/// Words that describe a product without naming it.
const GENERIC: [&str; 8] = ["set", "of", "and", "the", "inch", "with", "pro", "litre"];

/// The catalogue product whose name the caller said most of: each name word heard scores by
/// its length (Chinese names by character pairs), and the best must beat the next.
fn product<'a>(folded: &str, products: &'a [Product]) -> Option<&'a Product> {
    let heard: Vec<&str> = folded.split(' ').map(stem).collect();
    let cjk: Vec<char> = folded.chars().filter(|&c| is_cjk(c)).collect();
    let mut scored: Vec<(usize, &Product)> = products
        .iter()
        .map(|p| {
            let name = fold(&p.name);
            let mut score = 0;
            for word in name.split(' ') {
                if word.chars().any(is_cjk) {
                    let chars: Vec<char> = word.chars().collect();
                    score += chars
                        .windows(2)
                        .filter(|pair| cjk.windows(2).any(|h| h == *pair))
                        .count()
                        * 2;
                } else if word.len() >= 3 && !GENERIC.contains(&word) && heard.contains(&stem(word))
                {
                    score += word.len();
                }
            }
            if heard.contains(&fold(&p.sku).replace(' ', "").as_str()) {
                score += 20;
            }
            (score, p)
        })
        .filter(|(s, _)| *s >= 4)
        .collect();
    scored.sort_by_key(|s| std::cmp::Reverse(s.0));
    match scored.as_slice() {
        [(best, p), (next, _), ..] if best > next => Some(p),
        [(_, p)] => Some(p),
        _ => None,
    }
}

/// Why the caller wants to send something back, in the shop's words for it.
fn reason(folded: &str) -> Option<&'static str> {
    const REASONS: [(&[&str], &str); 6] = [
        (
            &[
                "broken", "damaged", "cracked", "dented", "坏", "破", "裂", "损",
            ],
            "damaged",
        ),
        (
            &["wrong", "not what i ordered", "different", "发错", "不对"],
            "wrong item",
        ),
        (
            &[
                "doesnt work",
                "not working",
                "stopped working",
                "defective",
                "faulty",
                "不能用",
                "不工作",
                "故障",
                "质量",
            ],
            "defective",
        ),
        (
            &[
                "too small",
                "too big",
                "doesnt fit",
                "size",
                "尺寸",
                "太大",
                "太小",
            ],
            "wrong size",
        ),
        (
            &[
                "changed my mind",
                "dont need",
                "dont want",
                "no longer",
                "不想要",
                "不需要",
                "不要了",
            ],
            "changed mind",
        ),
        (&["late", "took too long", "太慢", "太晚"], "arrived late"),
    ];
    REASONS
        .iter()
        .find(|(words, _)| words.iter().any(|w| contains_phrase(folded, w)))
        .map(|(_, reason)| *reason)
}

/// `phrase` in `folded` as whole words (Chinese: anywhere).
fn contains_phrase(folded: &str, phrase: &str) -> bool {
    if phrase.chars().any(is_cjk) {
        return folded.contains(phrase);
    }
    let padded = format!(" {folded} ");
    padded.contains(&format!(" {phrase} "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shop::demo;

    fn shop() -> Shop {
        Shop::new(demo::data(demo::ANCHOR))
    }

    #[test]
    fn order_numbers_are_heard_however_they_are_said() {
        let shop = shop();
        for said in [
            "where is order 10023",
            "order number one zero zero two three please",
            "it's 1 0 0 2 3",
            "order one double oh two three",
            "订单号一零零二三",
            "我的订单10023到哪了",
        ] {
            assert_eq!(
                extract(said, &shop).order_number.as_deref(),
                Some("10023"),
                "{said}"
            );
        }
        assert_eq!(extract("I want one kettle", &shop).order_number, None);
    }

    #[test]
    fn long_numbers_are_phones() {
        let slots = extract("my number is 555 123 0001 and the order is 10023", &shop());
        assert_eq!(slots.phone_number.as_deref(), Some("5551230001"));
        assert_eq!(slots.order_number.as_deref(), Some("10023"));
    }

    #[test]
    fn products_are_found_by_their_names() {
        let shop = shop();
        let sku = |said: &str| extract(said, &shop).product;
        assert_eq!(
            sku("is the blue kettle in stock").as_deref(),
            Some("KET-BLUE")
        );
        assert_eq!(sku("how much is the toaster").as_deref(), Some("TOAST-2S"));
        assert_eq!(sku("电饭煲有货吗").as_deref(), Some("COOKER-3L"));
        // Both kettles fit: no guess.
        assert_eq!(sku("do you sell a kettle"), None);
    }

    #[test]
    fn asset_ids_and_reasons() {
        let shop = shop();
        assert_eq!(
            extract("who owns art zero zero zero seven", &shop)
                .asset_id
                .as_deref(),
            Some("ART-0007")
        );
        let slots = extract("who owns ART-0007", &shop);
        assert_eq!(slots.asset_id.as_deref(), Some("ART-0007"));
        assert_eq!(slots.order_number, None);
        assert_eq!(
            extract("it arrived broken", &shop).reason.as_deref(),
            Some("damaged")
        );
        assert_eq!(
            extract("杯子裂了", &shop).reason.as_deref(),
            Some("damaged")
        );
    }
}
