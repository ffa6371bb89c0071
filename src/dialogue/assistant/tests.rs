//! Conversations with the demo shop, turn by turn.

use std::sync::Arc;

use jiff::civil::Date;

use super::{Action, Conversation, Knowledge, Outcome};
use crate::dialogue::understand::intent::{Classifier, Intent};
use crate::shop::{Lang, Shop, demo};

const TODAY: Date = demo::ANCHOR;

fn knowledge() -> Knowledge {
    Knowledge::new(
        Arc::new(Shop::new(demo::data(TODAY))),
        Arc::new(Classifier::shipped()),
    )
}

struct Chat {
    k: Knowledge,
    c: Conversation,
}

impl Chat {
    fn new(lang: Lang, caller: Option<&str>) -> Chat {
        let k = knowledge();
        let c = Conversation::new(&k, lang, caller);
        Chat { k, c }
    }

    fn say(&mut self, text: &str) -> super::Turn {
        self.c.turn(&self.k, text, TODAY)
    }
}

#[test]
fn a_known_caller_is_offered_their_latest_order_and_follow_ups_use_it() {
    let mut chat = Chat::new(Lang::En, Some("sip:+15551230001@pbx"));
    let t = chat.say("where's my parcel?");
    assert_eq!(t.intent, Intent::ShippingStatus);
    assert!(
        t.reply.contains("Tuesday") && t.reply.contains("Kettle"),
        "{}",
        t.reply
    );
    assert!(t.actions.contains(&Action::Ask {
        expect: Some("yes_no")
    }));
    let t = chat.say("yes");
    assert!(
        t.reply.contains("10023") && t.reply.contains("UPS"),
        "{}",
        t.reply
    );
    assert!(t.reply.contains("arrive"), "{}", t.reply);
    let t = chat.say("and when will it arrive?");
    assert!(t.reply.contains("10023"), "{}", t.reply);
    assert_eq!(chat.c.outcome(), Outcome::Resolved);
}

#[test]
fn an_order_number_is_asked_for_and_an_unknown_one_asked_again_then_a_person_offered() {
    let mut chat = Chat::new(Lang::En, None);
    let t = chat.say("what's the status of my order");
    assert!(
        t.actions.contains(&Action::Ask {
            expect: Some("order_number")
        }),
        "{t:?}"
    );
    let t = chat.say("it's 99999");
    assert!(t.reply.contains("can't find order 99999"), "{}", t.reply);
    let t = chat.say("9 9 9 9 8");
    assert!(t.reply.contains("person"), "{}", t.reply);
    let t = chat.say("yes please");
    let (skill, summary) = t.transfer().expect("handed over");
    assert_eq!(skill, "orders");
    assert!(
        summary.starts_with("Caller wants to know the status"),
        "{summary}"
    );
    assert_eq!(chat.c.outcome(), Outcome::HandedOver);
}

#[test]
fn cancelling_is_confirmed_before_it_happens() {
    let shop = Shop::new(demo::data(TODAY));
    let open = shop
        .data()
        .orders
        .iter()
        .find(|o| o.status.before_shipping())
        .unwrap()
        .number
        .clone();
    let mut chat = Chat::new(Lang::En, None);
    let t = chat.say(&format!("please cancel order {open}"));
    assert_eq!(t.intent, Intent::CancelOrder);
    assert!(
        !t.actions
            .iter()
            .any(|a| matches!(a, Action::CancelOrder { .. }))
    );
    assert!(t.reply.contains("yes or no"), "{}", t.reply);
    let t = chat.say("yes");
    assert!(
        t.actions.contains(&Action::CancelOrder {
            order: open.clone()
        }),
        "{t:?}"
    );
}

#[test]
fn a_return_asks_the_reason_then_confirms() {
    let shop = Shop::new(demo::data(TODAY));
    let delivered = shop
        .data()
        .orders
        .iter()
        .filter(|o| {
            o.status == crate::shop::OrderStatus::Delivered
                && shop.returns_of(&o.number).next().is_none()
        })
        .filter(|o| {
            shop.data()
                .customers
                .iter()
                .any(|c| c.id == o.customer_id && c.language == Lang::En)
        })
        .max_by_key(|o| o.placed_at)
        .unwrap()
        .number
        .clone();
    let mut chat = Chat::new(Lang::En, None);
    let t = chat.say(&format!("I want to return order {delivered}"));
    assert_eq!(t.intent, Intent::ReturnRequest);
    assert!(t.reply.contains("reason"), "{}", t.reply);
    let t = chat.say("it arrived broken");
    assert!(
        t.reply.contains("damaged") && t.reply.contains("yes or no"),
        "{}",
        t.reply
    );
    let t = chat.say("yes");
    assert!(
        t.actions.contains(&Action::CreateReturn {
            order: delivered,
            reason: "damaged".into()
        }),
        "{t:?}"
    );
}

#[test]
fn faq_questions_are_answered_and_unknown_ones_are_not_invented() {
    let mut chat = Chat::new(Lang::En, None);
    let t = chat.say("how long does shipping usually take");
    assert!(t.reply.contains("business days"), "{}", t.reply);
    let t = chat.say("what is the meaning of life");
    assert!(
        t.reply.contains("person") || t.reply.contains("didn't understand"),
        "{}",
        t.reply
    );
}

#[test]
fn chinese_callers_get_chinese_answers() {
    let mut chat = Chat::new(Lang::Zh, Some("+8613800000001"));
    let t = chat.say("我的快递到哪了");
    assert_eq!(t.lang, Lang::Zh);
    assert!(t.reply.contains("是这个订单吗"), "{}", t.reply);
    let t = chat.say("是的");
    assert!(t.reply.contains("订单"), "{}", t.reply);
    let t = chat.say("发票怎么开");
    assert!(
        t.reply
            .chars()
            .any(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c)),
        "{}",
        t.reply
    );
}

#[test]
fn abuse_and_frustration_hand_over_with_a_summary() {
    let mut chat = Chat::new(Lang::En, None);
    let t = chat.say("you stupid useless machine");
    assert!(t.transfer().is_some(), "{t:?}");

    let mut chat = Chat::new(Lang::En, Some("+15551230001"));
    chat.say("I want to return my kettle");
    chat.say("this is ridiculous, I am so angry");
    let t = chat.say("this is the worst service ever, unacceptable");
    let (_, summary) = t.transfer().expect("frustration hands over");
    assert!(
        summary.contains("Alice Martin") && summary.contains("frustrated"),
        "{summary}"
    );
}

#[test]
fn asking_for_a_person_hands_over_at_once_and_goodbye_hangs_up() {
    let mut chat = Chat::new(Lang::En, None);
    assert!(
        chat.say("can I talk to a human please")
            .transfer()
            .is_some()
    );
    let mut chat = Chat::new(Lang::En, None);
    assert!(chat.say("that's all, thanks, bye").hangs_up());
}

#[test]
fn collectibles_are_verified_without_naming_other_owners() {
    let mut chat = Chat::new(Lang::En, Some("+15551230001"));
    let t = chat.say("can you verify who owns art 0007");
    assert_eq!(t.intent, Intent::AssetOwnership);
    assert!(t.reply.contains("registered to you"), "{}", t.reply);
    let mut chat = Chat::new(Lang::En, None);
    let t = chat.say("who owns ART-0007");
    assert!(t.reply.contains("another customer"), "{}", t.reply);
}
