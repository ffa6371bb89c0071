//! The shop assistant: turns in, replies and actions out, the same over a call (`converse`
//! node) and over text (`kefu chat`).
//!
//! [`Knowledge`] is what every conversation shares: a shop snapshot, its FAQ index and the
//! intent classifier. A [`Conversation`] is one caller's state: who they are (from their
//! number), the order being discussed, a question waiting for its answer (is this the order?
//! shall I cancel it?), their mood. `turn(knowledge, text, today)` is sans-IO: it reads no
//! clock and writes nothing; the driver carries out the [`Action`]s (cancel in the store,
//! transfer the call) and reports a failure back with [`Conversation::action_failed`].

mod conversation;
mod orders;
pub mod phrasing;
#[cfg(test)]
mod tests;
pub mod wording;

use std::sync::Arc;

use serde::Serialize;

use crate::dialogue::understand::faq::FaqIndex;
use crate::dialogue::understand::intent::{Classifier, Intent, Scored};
use crate::dialogue::understand::slots::{self, Slots};
use crate::shop::{Lang, Shop, ShopData, phone_key};

pub use conversation::Conversation;

/// What every conversation reads: the shop and the models built from it.
pub struct Knowledge {
    pub shop: Arc<Shop>,
    pub faq: Arc<FaqIndex>,
    pub classifier: Arc<Classifier>,
    /// What the driver can fetch from the merchant's live system.
    pub lookups: Lookups,
    /// The driver can have plain answers rephrased by a language model (`phrasing`).
    pub phrasing: bool,
}

/// What a driver can ask the merchant's live system (`runtime::merchant`) for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lookups {
    /// Orders by number.
    pub orders: bool,
    /// Customers, with their orders, by phone number.
    pub customers: bool,
}

/// Records a driver should fetch (and lay over the shop with [`Knowledge::with_records`])
/// before the turn or greeting that needs them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lookup {
    pub orders: Vec<String>,
    pub phone: Option<String>,
}

impl Knowledge {
    pub fn new(shop: Arc<Shop>, classifier: Arc<Classifier>) -> Knowledge {
        Knowledge {
            faq: Arc::new(FaqIndex::build(shop.faq())),
            shop,
            classifier,
            lookups: Lookups::default(),
            phrasing: false,
        }
    }

    /// The same knowledge with records from the merchant's live system laid over the shop
    /// (the FAQ index and classifier are shared, not rebuilt).
    pub fn with_records(&self, live: &ShopData) -> Knowledge {
        Knowledge {
            shop: Arc::new(self.shop.with_records(live)),
            faq: self.faq.clone(),
            classifier: self.classifier.clone(),
            lookups: self.lookups,
            phrasing: self.phrasing,
        }
    }

    /// The caller to look up before greeting them: a number no local customer has.
    pub fn lookup_caller(&self, caller: Option<&str>) -> Option<Lookup> {
        let caller = caller?;
        let known = self.shop.customer_by_phone(caller).is_some();
        (self.lookups.customers && !known && phone_key(caller).len() >= 7).then(|| Lookup {
            orders: Vec::new(),
            phone: Some(caller.to_owned()),
        })
    }

    /// The order a turn names that the local shop does not hold, to look up before the turn.
    pub fn lookup_for(&self, said: &str) -> Option<Lookup> {
        if !self.lookups.orders {
            return None;
        }
        let number = slots::extract(said, &self.shop).order_number?;
        self.shop.order(&number).is_none().then(|| Lookup {
            orders: vec![number],
            phone: None,
        })
    }
}

/// What the driver does after a turn, in order. The reply itself is always the first `Say`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    /// Speak (or print) this.
    Say {
        text: String,
    },
    /// Listen for the caller's next turn; `expect` names what the question wants
    /// (`order_number`, `yes_no`, `asset_id`) so a call can listen with that grammar.
    Ask {
        #[serde(skip_serializing_if = "Option::is_none")]
        expect: Option<&'static str>,
    },
    /// Hand the call to a person in the queue for `skill`; `summary` is spoken to them first.
    Transfer {
        skill: &'static str,
        summary: String,
    },
    CancelOrder {
        order: String,
    },
    CreateReturn {
        order: String,
        reason: String,
    },
    Hangup,
}

/// How a conversation ended, for the call record and `kefu report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The bot answered or did what was asked.
    Resolved,
    /// Handed to a person.
    HandedOver,
    /// The caller left before anything was resolved.
    Abandoned,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Resolved => "resolved",
            Outcome::HandedOver => "handed_over",
            Outcome::Abandoned => "abandoned",
        }
    }
}

/// One turn: what was understood and what to do.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Turn {
    pub reply: String,
    pub intent: Intent,
    /// The classifier's score for `intent` (0..1).
    pub confidence: f32,
    pub slots: Slots,
    pub actions: Vec<Action>,
    /// This turn's sentiment, -1 .. 1.
    pub sentiment: f32,
    pub lang: Lang,
    /// For `--debug`: the best three intents, and the FAQ entry used, with its score.
    #[serde(skip)]
    pub scores: Vec<Scored>,
    #[serde(skip)]
    pub faq: Option<(String, f32)>,
    #[serde(skip)]
    pub frustration: f32,
}

impl Turn {
    pub fn transfer(&self) -> Option<(&'static str, &str)> {
        self.actions.iter().find_map(|a| match a {
            Action::Transfer { skill, summary } => Some((*skill, summary.as_str())),
            _ => None,
        })
    }

    pub fn hangs_up(&self) -> bool {
        self.actions.contains(&Action::Hangup)
    }
}

/// The queue a topic goes to.
pub fn skill_for(topic: Option<Intent>) -> &'static str {
    match topic {
        Some(Intent::ReturnRequest | Intent::RefundStatus) => "returns",
        Some(
            Intent::OrderStatus
            | Intent::ShippingStatus
            | Intent::ChangeAddress
            | Intent::CancelOrder,
        ) => "orders",
        Some(Intent::AssetOwnership) => "collectibles",
        Some(Intent::ProductQuestion | Intent::Promotions) => "sales",
        _ => "general",
    }
}
