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
#[cfg(test)]
mod tests;
pub mod wording;

use std::sync::Arc;

use serde::Serialize;

use crate::dialogue::understand::faq::FaqIndex;
use crate::dialogue::understand::intent::{Classifier, Intent, Scored};
use crate::dialogue::understand::slots::Slots;
use crate::shop::{Lang, Shop};

pub use conversation::Conversation;

/// What every conversation reads: the shop and the models built from it.
pub struct Knowledge {
    pub shop: Arc<Shop>,
    pub faq: FaqIndex,
    pub classifier: Arc<Classifier>,
}

impl Knowledge {
    pub fn new(shop: Arc<Shop>, classifier: Arc<Classifier>) -> Knowledge {
        Knowledge {
            faq: FaqIndex::build(shop.faq()),
            shop,
            classifier,
        }
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
