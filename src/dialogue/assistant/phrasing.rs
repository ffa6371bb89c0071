//! Rephrasing a reply with a language model (`[llm]`, off by default): what to ask it, and
//! whether its answer may be spoken.
//!
//! The assistant's reply is already built from the shop's records and FAQ, so it is the only
//! fact the model gets, and the check on what comes back is strict: every number, code and
//! capitalised name must be in the reply, the language must match, and it must stay short
//! and plain. Anything else, like a model that is slow or down, leaves the reply as it was.
//! Questions that wait for an answer (yes or no, a number) and replies that cancel, book,
//! hand over or hang up are never rephrased: their wording is part of what they do.

use super::{Action, Turn};
use crate::dialogue::understand::text::is_cjk;
use crate::shop::Lang;

/// What to ask the model for one reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhraseRequest {
    pub system: String,
    pub user: String,
    /// The reply as the assistant wrote it: the facts, and the fallback.
    pub reply: String,
    pub lang: Lang,
}

/// The request for `turn`'s reply, if it is one a model may rephrase.
pub fn request(turn: &Turn, said: &str) -> Option<PhraseRequest> {
    let plain = turn.actions.iter().all(|a| match a {
        Action::Say { .. } => true,
        Action::Ask { expect } => expect.is_none(),
        _ => false,
    });
    if !plain || turn.reply.trim().is_empty() {
        return None;
    }
    let language = match turn.lang {
        Lang::En => "English",
        Lang::Zh => "Chinese (Mandarin)",
    };
    let system = format!(
        "You are the voice of an online shop's telephone customer service. Rewrite the \
         assistant's reply so it sounds warm and natural when spoken on a phone call. Use only \
         the facts in the reply: add no fact, number, date, name, price, policy, promise or \
         offer. Keep every number, order number and name exactly as written. At most two short \
         sentences, no lists, no markdown, no links. Answer in {language}, with the rewritten \
         reply only."
    );
    let user = format!(
        "The caller said: {said}\nThe assistant's reply: {}",
        turn.reply
    );
    Some(PhraseRequest {
        system,
        user,
        reply: turn.reply.clone(),
        lang: turn.lang,
    })
}

/// Why a model's rephrasing was not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejected {
    Empty,
    TooLong,
    WrongLanguage,
    Markup,
    /// A number, code or name that the reply does not have.
    Invented(String),
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rejected::Empty => write!(f, "empty"),
            Rejected::TooLong => write!(f, "too long"),
            Rejected::WrongLanguage => write!(f, "in the wrong language"),
            Rejected::Markup => write!(f, "has markup or a link"),
            Rejected::Invented(what) => write!(f, "adds {what:?}, which the reply does not have"),
        }
    }
}

/// The model's `candidate` for `request`, if it may be spoken instead of the reply.
pub fn check(request: &PhraseRequest, candidate: &str) -> Result<String, Rejected> {
    let text = candidate.trim().trim_matches('"').trim();
    if text.is_empty() {
        return Err(Rejected::Empty);
    }
    let limit = request.reply.chars().count() * 2 + 80;
    if text.chars().count() > limit || text.lines().count() > 2 {
        return Err(Rejected::TooLong);
    }
    let cjk = text.chars().filter(|&c| is_cjk(c)).count();
    let right_language = match request.lang {
        Lang::Zh => cjk > 0,
        Lang::En => cjk == 0,
    };
    if !right_language {
        return Err(Rejected::WrongLanguage);
    }
    if ["http", "www.", "*", "#", "`", "[", "@"]
        .iter()
        .any(|m| text.contains(m))
    {
        return Err(Rejected::Markup);
    }
    let known = numbers(&request.reply);
    let said = numbers(text).into_iter().chain(number_words(text));
    if let Some(n) = said.into_iter().find(|n| !known.contains(n)) {
        return Err(Rejected::Invented(n));
    }
    let reply = request.reply.to_lowercase();
    if let Some(name) = names(text)
        .into_iter()
        .find(|n| !reply.contains(n.as_str()))
    {
        return Err(Rejected::Invented(name));
    }
    Ok(text.to_owned())
}

/// The numbers in `text` as digit strings: separators inside a number dropped ("10,023" is
/// 10023, "25.00" is 2500), Chinese numerals read digit by digit (一零零二三 is 10023).
fn numbers(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut found = Vec::new();
    let mut run = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if let Some(d) = digit(c) {
            run.push(d);
            continue;
        }
        let inside = matches!(c, ',' | '.')
            && !run.is_empty()
            && chars.get(i + 1).copied().and_then(digit).is_some();
        if !inside && !run.is_empty() {
            found.push(std::mem::take(&mut run));
        }
    }
    if !run.is_empty() {
        found.push(run);
    }
    found
}

/// Numbers written as English words ("two days", "thirty"), as digit strings: a model must
/// not add them either. Compounds ("twenty-four") come out as their parts, which no reply
/// number matches, so they are refused rather than guessed at.
fn number_words(text: &str) -> Vec<String> {
    const WORDS: [(&str, u32); 28] = [
        ("zero", 0),
        ("one", 1),
        ("two", 2),
        ("three", 3),
        ("four", 4),
        ("five", 5),
        ("six", 6),
        ("seven", 7),
        ("eight", 8),
        ("nine", 9),
        ("ten", 10),
        ("eleven", 11),
        ("twelve", 12),
        ("thirteen", 13),
        ("fourteen", 14),
        ("fifteen", 15),
        ("sixteen", 16),
        ("seventeen", 17),
        ("eighteen", 18),
        ("nineteen", 19),
        ("twenty", 20),
        ("thirty", 30),
        ("forty", 40),
        ("fifty", 50),
        ("sixty", 60),
        ("seventy", 70),
        ("eighty", 80),
        ("ninety", 90),
    ];
    text.split(|c: char| !c.is_ascii_alphabetic())
        .filter_map(|w| {
            let w = w.to_ascii_lowercase();
            WORDS.iter().find(|(name, _)| *name == w)
        })
        .map(|(_, n)| n.to_string())
        .collect()
}

fn digit(c: char) -> Option<char> {
    match c {
        '0'..='9' => Some(c),
        '零' => Some('0'),
        '一' | '幺' => Some('1'),
        '二' | '两' => Some('2'),
        '三' => Some('3'),
        '四' => Some('4'),
        '五' => Some('5'),
        '六' => Some('6'),
        '七' => Some('7'),
        '八' => Some('8'),
        '九' => Some('9'),
        _ => None,
    }
}

/// The names in `text` (a person, a carrier, a product), lower-cased: words in capitals
/// anywhere ("UPS"), and capitalised words that do not start a sentence.
fn names(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut sentence_start = true;
    let mut word = String::new();
    for c in text.chars().chain([' ']) {
        if c.is_ascii_alphanumeric() || c == '\'' {
            word.push(c);
            continue;
        }
        if !word.is_empty() {
            let first_capital = word.starts_with(|c: char| c.is_ascii_uppercase());
            let letters = word.chars().filter(char::is_ascii_alphabetic).count();
            let capitals = word.chars().filter(char::is_ascii_uppercase).count();
            let all_capitals = letters > 1 && capitals == letters;
            let pronoun = matches!(word.as_str(), "I" | "I'm" | "I'll" | "I've" | "I'd" | "OK");
            if !pronoun && (all_capitals || (first_capital && !sentence_start)) {
                found.push(word.to_lowercase());
            }
            sentence_start = false;
            word.clear();
        }
        if matches!(c, '.' | '!' | '?' | ':' | '。' | '！' | '？' | '：') {
            sentence_start = true;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialogue::assistant::Conversation;
    use crate::dialogue::testkit::demo_knowledge;
    use crate::shop::demo;

    fn turn(said: &str) -> Turn {
        let k = demo_knowledge();
        let mut c = Conversation::new(&k, Lang::En, None);
        c.turn(&k, said, demo::ANCHOR)
    }

    #[test]
    fn only_plain_answers_are_rephrased() {
        let status = turn("where is order 10023");
        let request = request(&status, "where is order 10023").expect("an answer");
        assert!(request.user.contains(&status.reply));
        assert!(request.system.contains("English"));
        // A question waiting for yes or no, a handoff: their words are what they do.
        assert_eq!(self::request(&turn("where is my order"), "order"), None);
        assert_eq!(
            self::request(&turn("let me talk to a person"), "a person"),
            None
        );
    }

    fn reply(text: &str, lang: Lang) -> PhraseRequest {
        PhraseRequest {
            system: String::new(),
            user: String::new(),
            reply: text.into(),
            lang,
        }
    }

    #[test]
    fn a_rephrasing_may_only_say_what_the_reply_says() {
        let r = reply(
            "Order 10023 has shipped with UPS. It should arrive on Tuesday, November 24.",
            Lang::En,
        );
        let good = "Good news! Your order 10023 is on its way with UPS, due Tuesday, November 24.";
        assert_eq!(numbers(good), ["10023", "24"]);
        assert_eq!(names(good), ["ups", "tuesday", "november"]);
        assert_eq!(check(&r, good).as_deref(), Ok(good));
        assert_eq!(
            check(&r, "\"Your order 10,023 shipped with UPS.\"").as_deref(),
            Ok("Your order 10,023 shipped with UPS.")
        );
        for (bad, why) in [
            (
                "Order 10023 shipped with FedEx.",
                Rejected::Invented("fedex".into()),
            ),
            (
                "Order 10024 has shipped.",
                Rejected::Invented("10024".into()),
            ),
            ("It arrives November 25.", Rejected::Invented("25".into())),
            (
                "Thanks, Bob, it shipped with UPS.",
                Rejected::Invented("bob".into()),
            ),
            (
                "You also get 10% off next time.",
                Rejected::Invented("10".into()),
            ),
            ("", Rejected::Empty),
            ("Track it at http://ups.com", Rejected::Markup),
            ("您的订单10023已发货。", Rejected::WrongLanguage),
        ] {
            assert_eq!(check(&r, bad), Err(why), "{bad}");
        }
        assert_eq!(check(&r, &"word ".repeat(80)), Err(Rejected::TooLong));
    }

    #[test]
    fn chinese_numbers_are_the_same_numbers() {
        let r = reply("订单10023已经发货，承运商是UPS。", Lang::Zh);
        assert!(check(&r, "您的订单一零零二三已经由UPS发出了。").is_ok());
        assert_eq!(
            check(&r, "您的订单10023已发货，预计三天到。"),
            Err(Rejected::Invented("3".into()))
        );
        assert_eq!(
            check(&r, "Your order shipped."),
            Err(Rejected::WrongLanguage)
        );
    }
}
