//! One caller's conversation: the turn logic.
//!
//! A turn is understood (intent, slots, sentiment), then answered: first as the reply to a
//! question the assistant asked (pending), else by its intent. Irreversible things (cancel,
//! return) are confirmed first; an unknown order number is asked for again once, then a person
//! is offered; two intents that score alike get a clarifying question instead of a guess;
//! abuse, a rising frustration or a request for a person hand the call over with a one-line
//! summary for the agent.

use jiff::civil::Date;

use super::orders::{self, Next};
use super::wording::{day, items, money, pick, yes_no};
use super::{Action, Knowledge, Outcome, Turn, skill_for};
use crate::dialogue::understand::faq::{ANSWER_THRESHOLD, FALLBACK_THRESHOLD};
use crate::dialogue::understand::intent::{Intent, Scored};
use crate::dialogue::understand::sentiment::{self, Mood};
use crate::dialogue::understand::slots::{self, Slots};
use crate::dialogue::understand::text::language_of;
use crate::shop::{Lang, Order, OrderStatus};

/// Below this the classifier's best guess is no guess.
const MIN_CONFIDENCE: f32 = 0.3;
/// Two intents closer than this are asked about, not guessed between.
const CLARIFY_MARGIN: f32 = 0.02;

/// A question the assistant asked and waits for the answer to.
#[derive(Debug, Clone, PartialEq)]
enum Pending {
    /// "I see an order from Tuesday for a blue kettle. Is that the one?"
    ThisOrder {
        intent: Intent,
        order: String,
    },
    /// "What is your order number?" (`tries`: unknown numbers heard so far).
    OrderNumber {
        intent: Intent,
        tries: u32,
    },
    ConfirmCancel {
        order: String,
    },
    Reason {
        order: String,
    },
    ConfirmReturn {
        order: String,
        reason: String,
    },
    AssetId {
        tries: u32,
    },
    Product,
    Clarify {
        first: Intent,
        second: Intent,
    },
    /// "Would you like me to connect you with a person?"
    OfferPerson {
        skill: &'static str,
    },
}

impl Pending {
    fn expects(&self) -> Option<&'static str> {
        match self {
            Pending::OrderNumber { .. } => Some("order_number"),
            Pending::ThisOrder { .. }
            | Pending::ConfirmCancel { .. }
            | Pending::ConfirmReturn { .. }
            | Pending::OfferPerson { .. } => Some("yes_no"),
            Pending::AssetId { .. } => Some("asset_id"),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Conversation {
    lang: Lang,
    customer: Option<String>,
    /// The order being discussed: "and when will it arrive?" is about it.
    focus: Option<String>,
    pending: Option<Pending>,
    mood: Mood,
    /// Turns in a row the assistant did not understand.
    misses: u32,
    last_reply: String,
    /// The last thing the caller wanted (for the queue and the summary).
    topic: Option<Intent>,
    outcome: Option<Outcome>,
    answered: bool,
}

/// What one answer produced, before the common bookkeeping.
struct Reply {
    text: String,
    actions: Vec<Action>,
    /// The assistant could not do what was asked (a miss, a number it cannot find).
    failed: bool,
}

impl Reply {
    fn say(text: String) -> Reply {
        Reply {
            text,
            actions: Vec::new(),
            failed: false,
        }
    }

    fn failed(text: String) -> Reply {
        Reply {
            failed: true,
            ..Reply::say(text)
        }
    }
}

impl Conversation {
    /// A conversation in `lang` (until the caller speaks another) with the caller's number,
    /// which identifies them when it matches a customer.
    pub fn new(knowledge: &Knowledge, lang: Lang, caller: Option<&str>) -> Conversation {
        let customer = caller
            .and_then(|number| knowledge.shop.customer_by_phone(number))
            .map(|c| c.id.clone());
        Conversation {
            lang,
            customer,
            focus: None,
            pending: None,
            mood: Mood::default(),
            misses: 0,
            last_reply: String::new(),
            topic: None,
            outcome: None,
            answered: false,
        }
    }

    /// The customer the caller's number matched.
    pub fn customer(&self) -> Option<&str> {
        self.customer.as_deref()
    }

    /// A greeting that uses the caller's name when their number is known.
    pub fn greeting(&mut self, knowledge: &Knowledge) -> String {
        let name = self
            .customer
            .as_deref()
            .and_then(|id| knowledge.shop.customer(id))
            .map(|c| c.name.clone());
        let text = match name {
            Some(name) => pick(
                self.lang,
                format!("Hello {name}. How can I help you today?"),
                format!("{name}您好，请问有什么可以帮您？"),
            ),
            None => pick(
                self.lang,
                "Hello. How can I help you today?",
                "您好，请问有什么可以帮您？",
            ),
        };
        self.last_reply = text.clone();
        text
    }

    /// What the question just asked wants (`order_number`, `yes_no`, `asset_id`), if any.
    pub fn expects(&self) -> Option<&'static str> {
        self.pending.as_ref().and_then(Pending::expects)
    }

    /// The language the caller speaks (the last turn's).
    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// Back from elsewhere in the flow (a transfer nobody answered): the conversation goes on.
    pub fn anything_else(&mut self) -> String {
        self.remember(pick(
            self.lang,
            "Is there anything else I can help you with?",
            "还有什么可以帮您的吗？",
        ))
    }

    /// The caller has said nothing since the last reply.
    pub fn still_there(&mut self) -> String {
        self.remember(pick(
            self.lang,
            "Are you still there? Tell me what you need, or press 0 for a person.",
            "您还在吗？请告诉我您需要什么，或按0转人工。",
        ))
    }

    /// The caller's turn could not be recognised (a decoder failure, not a misunderstanding).
    pub fn not_heard(&mut self) -> String {
        self.remember(pick(
            self.lang,
            "Sorry, I didn't catch that. Could you say it again?",
            "抱歉，我没听清楚，能再说一遍吗？",
        ))
    }

    fn remember(&mut self, text: String) -> String {
        self.last_reply = text.clone();
        text
    }

    /// How the conversation ended (so far): handed over, resolved, or not yet either.
    pub fn outcome(&self) -> Outcome {
        self.outcome.unwrap_or(if self.answered {
            Outcome::Resolved
        } else {
            Outcome::Abandoned
        })
    }

    pub fn average_sentiment(&self) -> f32 {
        self.mood.average()
    }

    /// The driver could not carry out an action (the store refused a cancel): say so and
    /// offer a person.
    pub fn action_failed(&mut self) -> String {
        self.pending = Some(Pending::OfferPerson {
            skill: skill_for(self.topic),
        });
        let text = pick(
            self.lang,
            "I'm sorry, something went wrong on our side and I could not finish that. Would you like me to connect you with a person?",
            "抱歉，我们这边出了问题，没能办好。需要为您转接人工客服吗？",
        );
        self.last_reply = text.clone();
        text
    }

    /// Handles one caller turn.
    pub fn turn(&mut self, k: &Knowledge, said: &str, today: Date) -> Turn {
        self.respond(k, said, today, false)
    }

    /// Handles a turn whose records the merchant's system could not give (see
    /// [`Knowledge::lookup_for`]): what the caller wants is understood, then they hear an
    /// apology and go to a person, who is told the order system did not answer.
    pub fn turn_without_records(&mut self, k: &Knowledge, said: &str, today: Date) -> Turn {
        self.respond(k, said, today, true)
    }

    fn respond(&mut self, k: &Knowledge, said: &str, today: Date, unreachable: bool) -> Turn {
        if said.chars().any(crate::dialogue::understand::text::is_cjk) {
            self.lang = Lang::Zh;
        } else if said.chars().any(|c| c.is_ascii_alphabetic()) {
            self.lang = language_of(said);
        }
        let feeling = sentiment::score(said);
        let slots = slots::extract(said, &k.shop);
        let scores = k.classifier.classify(said);
        let (top, second) = (scores[0], scores[1]);
        // A turn the classifier cannot place but that names an asset or an order is about it.
        let mut intent = if top.score >= MIN_CONFIDENCE {
            top.intent
        } else if slots.asset_id.is_some() {
            Intent::AssetOwnership
        } else if slots.order_number.is_some() && self.pending.is_none() {
            Intent::OrderStatus
        } else {
            Intent::Unknown
        };
        let mut faq = None;

        let reply = if unreachable {
            if intent != Intent::Unknown {
                self.topic = Some(intent);
            }
            if let Some(number) = &slots.order_number {
                self.focus = Some(number.clone());
            }
            let mut reply = self.hand_over(
                pick(
                    self.lang,
                    "I'm sorry, I can't reach our order system right now. I'm connecting you with a colleague who can look it up.",
                    "抱歉，订单系统暂时无法访问。我现在为您转接同事帮您查询。",
                ),
                k,
            );
            for action in &mut reply.actions {
                if let Action::Transfer { summary, .. } = action {
                    summary.push_str(" The order system did not answer.");
                }
            }
            reply
        } else if feeling.abusive {
            self.topic.get_or_insert(Intent::Complaint);
            self.hand_over(
                pick(
                    self.lang,
                    "I understand you're upset. I'm connecting you with a colleague who can help.",
                    "理解您很着急。我现在为您转接同事处理。",
                ),
                k,
            )
        } else if let Some(reply) = self
            .pending
            .take()
            .and_then(|p| self.answer_pending(p, k, said, &slots, &scores, &mut intent, today))
        {
            reply
        } else if intent != Intent::Unknown
            && second.score >= MIN_CONFIDENCE
            && top.score - second.score < CLARIFY_MARGIN
            && !Self::same_answer(top.intent, second.intent)
        {
            self.pending = Some(Pending::Clarify {
                first: top.intent,
                second: second.intent,
            });
            Reply::say(pick(
                self.lang,
                format!(
                    "Just to be sure: do you want to {}, or {}?",
                    describe(top.intent, Lang::En),
                    describe(second.intent, Lang::En)
                ),
                format!(
                    "想确认一下：您是想{}，还是{}？",
                    describe(top.intent, Lang::Zh),
                    describe(second.intent, Lang::Zh)
                ),
            ))
        } else {
            self.by_intent(intent, k, said, &slots, today, &mut faq)
        };

        self.mood.add(feeling, reply.failed);
        self.misses = if reply.failed { self.misses + 1 } else { 0 };
        let mut reply = reply;
        let handing_over = reply
            .actions
            .iter()
            .any(|a| matches!(a, Action::Transfer { .. }));
        if !handing_over && (self.mood.wants_person() || self.misses >= 3) {
            let text = pick(
                self.lang,
                "I'm sorry this is taking so long. I'm connecting you with a colleague now.",
                "抱歉让您久等了，我现在为您转接人工客服。",
            );
            reply = self.hand_over(text, k);
        }
        if !reply.failed
            && !matches!(
                intent,
                Intent::Unknown | Intent::Help | Intent::Repeat | Intent::HumanAgent
            )
        {
            self.answered = true;
        }
        let mut actions = vec![Action::Say {
            text: reply.text.clone(),
        }];
        actions.extend(reply.actions);
        if self.outcome.is_none() && !actions.contains(&Action::Hangup) {
            actions.push(Action::Ask {
                expect: self.pending.as_ref().and_then(Pending::expects),
            });
        }
        self.last_reply = reply.text.clone();
        Turn {
            reply: reply.text,
            confidence: if intent == top.intent { top.score } else { 1.0 },
            intent,
            slots,
            actions,
            sentiment: feeling.score,
            lang: self.lang,
            scores: scores.into_iter().take(3).collect(),
            faq,
            frustration: self.mood.frustration,
        }
    }

    /// Intents that lead to the same answer need no clarifying question between them.
    fn same_answer(a: Intent, b: Intent) -> bool {
        let order_info = |i| matches!(i, Intent::OrderStatus | Intent::ShippingStatus);
        (order_info(a) && order_info(b)) || (a == Intent::Complaint || b == Intent::Complaint)
    }

    /// The reply to a question the assistant asked; `None` when the caller moved on to
    /// something else (the turn is then handled by its own intent).
    #[allow(clippy::too_many_arguments)]
    fn answer_pending(
        &mut self,
        pending: Pending,
        k: &Knowledge,
        said: &str,
        slots: &Slots,
        scores: &[Scored],
        intent: &mut Intent,
        today: Date,
    ) -> Option<Reply> {
        let answer = yes_no(said);
        // A confident new request wins over an answer that is neither yes nor no.
        let moved_on = answer.is_none() && scores[0].score >= 0.45 && slots.order_number.is_none();
        match pending {
            Pending::ThisOrder {
                intent: asked,
                order,
            } => match answer {
                Some(true) => {
                    *intent = asked;
                    Some(self.order_answer(asked, &order, k, slots, today))
                }
                Some(false) => {
                    *intent = asked;
                    if let Some(number) = &slots.order_number {
                        return Some(self.with_number(asked, number, 0, k, slots, today));
                    }
                    self.pending = Some(Pending::OrderNumber {
                        intent: asked,
                        tries: 0,
                    });
                    Some(Reply::say(pick(
                        self.lang,
                        "No problem. What is the order number?",
                        "好的，请告诉我订单号。",
                    )))
                }
                None => match &slots.order_number {
                    Some(number) => {
                        *intent = asked;
                        Some(self.with_number(asked, number, 0, k, slots, today))
                    }
                    None if moved_on => None,
                    None => {
                        self.pending = Some(Pending::ThisOrder {
                            intent: asked,
                            order,
                        });
                        Some(Reply::say(pick(
                            self.lang,
                            "Sorry, is that the order? Please say yes or no.",
                            "请问是这个订单吗？请说是或者不是。",
                        )))
                    }
                },
            },
            Pending::OrderNumber {
                intent: asked,
                tries,
            } => match &slots.order_number {
                Some(number) => {
                    *intent = asked;
                    Some(self.with_number(asked, number, tries, k, slots, today))
                }
                None if moved_on => None,
                None => {
                    *intent = asked;
                    if tries >= 1 {
                        return Some(self.offer_person(asked));
                    }
                    self.pending = Some(Pending::OrderNumber {
                        intent: asked,
                        tries: tries + 1,
                    });
                    Some(Reply::failed(pick(
                        self.lang,
                        "Sorry, I didn't catch the order number. It has five digits, like 1 0 0 2 3. What is it?",
                        "抱歉，没听清订单号。订单号是五位数字，比如一零零二三。请再说一遍。",
                    )))
                }
            },
            Pending::ConfirmCancel { order } => match answer {
                Some(true) => {
                    *intent = Intent::CancelOrder;
                    let refund_days = k.shop.refund_days(self.lang);
                    let mut reply = Reply::say(pick(
                        self.lang,
                        format!(
                            "Done. Order {order} is cancelled. Your refund goes back to your original payment method within {refund_days} business days. Is there anything else?"
                        ),
                        format!(
                            "好的，订单{order}已取消，退款会在{refund_days}个工作日内退回原支付方式。还有其他需要吗？"
                        ),
                    ));
                    reply.actions.push(Action::CancelOrder { order });
                    Some(reply)
                }
                Some(false) => Some(Reply::say(pick(
                    self.lang,
                    format!("All right, order {order} stays as it is. Anything else?"),
                    format!("好的，订单{order}保持不变。还有其他需要吗？"),
                ))),
                None if moved_on => None,
                None => {
                    self.pending = Some(Pending::ConfirmCancel { order });
                    Some(Reply::say(pick(
                        self.lang,
                        "Shall I cancel it? Please say yes or no.",
                        "要取消吗？请说是或者不是。",
                    )))
                }
            },
            Pending::Reason { order } => {
                *intent = Intent::ReturnRequest;
                if answer == Some(false) && slots.reason.is_none() {
                    return Some(Reply::say(pick(
                        self.lang,
                        "All right, no return then. Anything else?",
                        "好的，不退了。还有其他需要吗？",
                    )));
                }
                let reason = slots
                    .reason
                    .clone()
                    .unwrap_or_else(|| said.trim().chars().take(120).collect());
                self.pending = Some(Pending::ConfirmReturn {
                    order: order.clone(),
                    reason: reason.clone(),
                });
                Some(Reply::say(pick(
                    self.lang,
                    format!(
                        "Thank you. I'll book a return for order {order}, reason: {reason}. Shall I go ahead? Please say yes or no."
                    ),
                    format!(
                        "谢谢。我将为订单{order}办理退货，原因：{reason}。确认办理吗？请说是或者不是。"
                    ),
                )))
            }
            Pending::ConfirmReturn { order, reason } => match answer {
                Some(true) => {
                    *intent = Intent::ReturnRequest;
                    let mut reply = Reply::say(pick(
                        self.lang,
                        format!(
                            "Your return for order {order} is booked. We'll email you a free return label. Once the item reaches us, the refund takes up to {} business days. Anything else?",
                            k.shop.refund_days(self.lang)
                        ),
                        format!(
                            "订单{order}的退货已经登记，我们会把免费退货面单发到您的邮箱。收到商品后{}个工作日内退款。还有其他需要吗？",
                            k.shop.refund_days(self.lang)
                        ),
                    ));
                    reply.actions.push(Action::CreateReturn { order, reason });
                    Some(reply)
                }
                Some(false) => Some(Reply::say(pick(
                    self.lang,
                    "All right, I won't book it. Anything else?",
                    "好的，不办理。还有其他需要吗？",
                ))),
                None if moved_on => None,
                None => {
                    self.pending = Some(Pending::ConfirmReturn { order, reason });
                    Some(Reply::say(pick(
                        self.lang,
                        "Shall I book the return? Please say yes or no.",
                        "要办理退货吗？请说是或者不是。",
                    )))
                }
            },
            Pending::AssetId { tries } => match &slots.asset_id {
                Some(_) => {
                    *intent = Intent::AssetOwnership;
                    Some(self.asset(k, slots, tries, today))
                }
                None if moved_on => None,
                None => {
                    *intent = Intent::AssetOwnership;
                    if tries >= 1 {
                        return Some(self.offer_person(Intent::AssetOwnership));
                    }
                    self.pending = Some(Pending::AssetId { tries: tries + 1 });
                    Some(Reply::failed(pick(
                        self.lang,
                        "Sorry, I didn't catch the asset id. It looks like A R T, then four digits.",
                        "抱歉，没听清藏品编号。编号是ART加四位数字。",
                    )))
                }
            },
            Pending::Product => {
                if slots.product.is_some() {
                    *intent = Intent::ProductQuestion;
                    return Some(self.product(k, slots));
                }
                None
            }
            Pending::Clarify { first, second } => {
                let pick_one = scores
                    .iter()
                    .find(|s| s.intent == first || s.intent == second)
                    .map(|s| s.intent);
                let folded = crate::dialogue::understand::text::fold(said);
                let chosen = if folded.contains("first") || folded.contains("第一") {
                    Some(first)
                } else if folded.contains("second") || folded.contains("第二") {
                    Some(second)
                } else {
                    pick_one.filter(|_| scores[0].score >= MIN_CONFIDENCE)
                }?;
                *intent = chosen;
                let mut faq = None;
                Some(self.by_intent(chosen, k, said, slots, today, &mut faq))
            }
            Pending::OfferPerson { skill } => match answer {
                Some(true) => Some(
                    self.hand_over(
                        pick(
                            self.lang,
                            "Connecting you with a colleague now. Please hold.",
                            "现在为您转接人工客服，请稍候。",
                        ),
                        k,
                    )
                    .with_skill(skill),
                ),
                Some(false) => Some(Reply::say(pick(
                    self.lang,
                    "All right. What else can I help you with?",
                    "好的。还有什么可以帮您？",
                ))),
                None => None,
            },
        }
    }

    fn by_intent(
        &mut self,
        intent: Intent,
        k: &Knowledge,
        said: &str,
        slots: &Slots,
        today: Date,
        faq: &mut Option<(String, f32)>,
    ) -> Reply {
        // Asking for a person keeps what the caller wanted: the agent's queue and summary
        // are about that.
        let keeps_topic = intent == Intent::HumanAgent && self.topic.is_some();
        if intent != Intent::Unknown
            && !keeps_topic
            && !matches!(intent, Intent::Repeat | Intent::Help | Intent::Goodbye)
        {
            self.topic = Some(intent);
        }
        match intent {
            i if i.needs_order() => self.order_intent(i, k, slots, today),
            Intent::ProductQuestion => {
                if slots.product.is_some() {
                    return self.product(k, slots);
                }
                if let Some(reply) = self.answer_from_faq(k, said, ANSWER_THRESHOLD, faq) {
                    return reply;
                }
                self.pending = Some(Pending::Product);
                Reply::say(pick(
                    self.lang,
                    "Which product are you asking about?",
                    "请问您想了解哪件商品？",
                ))
            }
            Intent::Promotions => self.promotions(k, today),
            Intent::AssetOwnership => self.asset(k, slots, 0, today),
            Intent::Complaint => {
                self.pending = Some(Pending::OfferPerson {
                    skill: skill_for(self.topic),
                });
                Reply::say(pick(
                    self.lang,
                    "I'm sorry to hear that. Would you like me to connect you with a person who can put it right?",
                    "非常抱歉给您带来不便。需要为您转接人工客服处理吗？",
                ))
            }
            Intent::HumanAgent => self.hand_over(
                pick(
                    self.lang,
                    "Of course. I'm connecting you with a colleague now.",
                    "好的，现在为您转接人工客服。",
                ),
                k,
            ),
            Intent::Repeat => {
                let text = if self.last_reply.is_empty() {
                    pick(self.lang, "How can I help you?", "请问有什么可以帮您？")
                } else {
                    self.last_reply.clone()
                };
                Reply::say(text)
            }
            Intent::Help => Reply::say(pick(
                self.lang,
                "I can tell you where your order is, track a delivery, cancel an order, book a return, check a refund, answer questions about our products and policies, and check who owns a digital collectible. What would you like to do?",
                "我可以帮您查订单、查物流、取消订单、办理退货、查询退款，解答商品和政策问题，还可以核实数字藏品的归属。请问您需要什么？",
            )),
            Intent::Goodbye => {
                self.outcome.get_or_insert(if self.answered {
                    Outcome::Resolved
                } else {
                    Outcome::Abandoned
                });
                let mut reply = Reply::say(pick(
                    self.lang,
                    "Thank you for calling. Goodbye!",
                    "感谢您的来电，再见！",
                ));
                reply.actions.push(Action::Hangup);
                reply
            }
            Intent::Faq => self
                .answer_from_faq(k, said, ANSWER_THRESHOLD, faq)
                .unwrap_or_else(|| self.no_answer()),
            _ => {
                if let Some(reply) = self.answer_from_faq(k, said, FALLBACK_THRESHOLD, faq) {
                    return reply;
                }
                if self.misses >= 1 {
                    self.pending = Some(Pending::OfferPerson {
                        skill: skill_for(self.topic),
                    });
                    return Reply::failed(pick(
                        self.lang,
                        "Sorry, I still didn't understand. Would you like me to connect you with a person?",
                        "抱歉，我还是没听明白。需要为您转接人工客服吗？",
                    ));
                }
                Reply::failed(pick(
                    self.lang,
                    "Sorry, I didn't understand that. You can ask me about an order, a delivery, a return or a refund.",
                    "抱歉，我没听明白。您可以问我订单、物流、退货或者退款的问题。",
                ))
            }
        }
    }

    fn answer_from_faq(
        &mut self,
        k: &Knowledge,
        said: &str,
        threshold: f32,
        faq: &mut Option<(String, f32)>,
    ) -> Option<Reply> {
        let hit = *k.faq.search(said, 1).first()?;
        let entry = &k.shop.faq()[hit.entry];
        *faq = Some((entry.id.clone(), hit.score));
        (hit.score >= threshold).then(|| Reply::say(entry.answer.clone()))
    }

    /// No FAQ entry answers it: say so, never guess at policy.
    fn no_answer(&mut self) -> Reply {
        self.pending = Some(Pending::OfferPerson { skill: "general" });
        Reply::failed(pick(
            self.lang,
            "I'm sorry, I don't have an answer to that, and I don't want to guess. Would you like me to connect you with a person?",
            "抱歉，这个问题我没有确切的答案，不想误导您。需要为您转接人工客服吗？",
        ))
    }

    fn order_intent(&mut self, intent: Intent, k: &Knowledge, slots: &Slots, today: Date) -> Reply {
        if let Some(number) = &slots.order_number {
            return self.with_number(intent, number, 0, k, slots, today);
        }
        if let Some(order) = self.focus.clone() {
            return self.order_answer(intent, &order, k, slots, today);
        }
        if let Some(customer) = &self.customer
            && let Some(order) = likely_order(intent, k.shop.orders_of(customer))
        {
            let text = pick(
                self.lang,
                format!(
                    "I see an order from {} for {}. Is that the one?",
                    day(self.lang, order.placed_at, today).trim_start_matches("on "),
                    items(self.lang, order, &k.shop)
                ),
                format!(
                    "我看到您{}下的订单，{}。是这个订单吗？",
                    day(self.lang, order.placed_at, today),
                    items(self.lang, order, &k.shop)
                ),
            );
            self.pending = Some(Pending::ThisOrder {
                intent,
                order: order.number.clone(),
            });
            return Reply::say(text);
        }
        self.pending = Some(Pending::OrderNumber { intent, tries: 0 });
        Reply::say(pick(
            self.lang,
            "Sure. What is your order number?",
            "好的，请告诉我您的订单号。",
        ))
    }

    /// An order number the caller said: answer about it, or ask again once, then offer a
    /// person.
    fn with_number(
        &mut self,
        intent: Intent,
        number: &str,
        tries: u32,
        k: &Knowledge,
        slots: &Slots,
        today: Date,
    ) -> Reply {
        if k.shop.order(number).is_some() {
            return self.order_answer(intent, number, k, slots, today);
        }
        if tries >= 1 {
            self.pending = Some(Pending::OfferPerson {
                skill: skill_for(Some(intent)),
            });
            return Reply::failed(pick(
                self.lang,
                format!(
                    "I still can't find order {number}. Would you like me to connect you with a person who can look it up?"
                ),
                format!("还是查不到订单{number}。需要为您转接人工客服查询吗？"),
            ));
        }
        self.pending = Some(Pending::OrderNumber {
            intent,
            tries: tries + 1,
        });
        Reply::failed(pick(
            self.lang,
            format!("I can't find order {number}. Could you say the order number again?"),
            format!("没有查到订单{number}。请再说一遍订单号好吗？"),
        ))
    }

    fn order_answer(
        &mut self,
        intent: Intent,
        number: &str,
        k: &Knowledge,
        slots: &Slots,
        today: Date,
    ) -> Reply {
        let Some(order) = k.shop.order(number) else {
            return self.with_number(intent, number, 0, k, slots, today);
        };
        self.focus = Some(number.to_string());
        self.topic = Some(intent);
        let answer = orders::about(
            intent,
            order,
            slots.reason.as_deref(),
            &k.shop,
            self.lang,
            today,
        );
        let mut reply = Reply::say(answer.text);
        match answer.next {
            Next::Done => {}
            Next::ConfirmCancel => {
                self.pending = Some(Pending::ConfirmCancel {
                    order: number.into(),
                })
            }
            Next::AskReason => {
                self.pending = Some(Pending::Reason {
                    order: number.into(),
                })
            }
            Next::ConfirmReturn(reason) => {
                self.pending = Some(Pending::ConfirmReturn {
                    order: number.into(),
                    reason,
                })
            }
            Next::OfferPerson(skill) => self.pending = Some(Pending::OfferPerson { skill }),
            Next::Transfer(skill) => {
                let text = reply.text.clone();
                reply = self.hand_over(text, k).with_skill(skill);
            }
        }
        reply
    }

    fn product(&mut self, k: &Knowledge, slots: &Slots) -> Reply {
        let Some(p) = slots.product.as_deref().and_then(|sku| k.shop.product(sku)) else {
            return Reply::failed(pick(
                self.lang,
                "Sorry, I don't know that product.",
                "抱歉，没有找到这件商品。",
            ));
        };
        let details: Vec<String> = p
            .attributes
            .iter()
            .take(3)
            .map(|(name, value)| {
                pick(
                    self.lang,
                    format!("{name}: {value}"),
                    format!("{name}{value}"),
                )
            })
            .collect();
        let price = money(self.lang, p.price, &p.currency);
        let stock = match (self.lang, p.stock) {
            (Lang::En, 0) => "It is out of stock right now.".to_string(),
            (Lang::En, n) => format!("We have {n} in stock."),
            (Lang::Zh, 0) => "目前缺货。".to_string(),
            (Lang::Zh, n) => format!("现有库存{n}件。"),
        };
        Reply::say(pick(
            self.lang,
            format!(
                "The {} costs {price}. {stock} {}.",
                p.name,
                details.join(", ")
            ),
            format!("{}售价{price}。{stock}{}。", p.name, details.join("，")),
        ))
    }

    fn promotions(&mut self, k: &Knowledge, today: Date) -> Reply {
        let current: Vec<_> = k
            .shop
            .promotions()
            .iter()
            .filter(|p| p.starts <= today && today <= p.ends && p.language == self.lang)
            .take(2)
            .collect();
        if current.is_empty() {
            return Reply::say(pick(
                self.lang,
                "There are no promotions running right now.",
                "目前没有正在进行的优惠活动。",
            ));
        }
        let lines: Vec<String> = current
            .iter()
            .map(|p| {
                pick(
                    self.lang,
                    format!(
                        "{}: {} Use code {} until {}.",
                        p.title,
                        p.description,
                        p.code,
                        day(self.lang, p.ends, today).trim_start_matches("on ")
                    ),
                    format!(
                        "{}：{}优惠码{}，有效期到{}。",
                        p.title,
                        p.description,
                        p.code,
                        day(self.lang, p.ends, today)
                    ),
                )
            })
            .collect();
        Reply::say(lines.join(" "))
    }

    fn asset(&mut self, k: &Knowledge, slots: &Slots, tries: u32, today: Date) -> Reply {
        let Some(id) = &slots.asset_id else {
            self.pending = Some(Pending::AssetId { tries });
            return Reply::say(pick(
                self.lang,
                "Sure. What is the asset id? It starts with A R T, then four digits.",
                "好的，请告诉我藏品编号，是ART加四位数字。",
            ));
        };
        let Some(asset) = k.shop.collectible(id) else {
            if tries >= 1 {
                return self.offer_person(Intent::AssetOwnership);
            }
            self.pending = Some(Pending::AssetId { tries: tries + 1 });
            return Reply::failed(pick(
                self.lang,
                format!("I can't find an asset with the id {id}. Could you read it to me again?"),
                format!("没有找到编号为{id}的藏品，请再说一遍编号好吗？"),
            ));
        };
        let since = asset
            .transfers
            .last()
            .map(|t| {
                day(self.lang, t.at, today)
                    .trim_start_matches("on ")
                    .to_string()
            })
            .unwrap_or_default();
        let yours = self.customer.as_deref() == Some(asset.owner_customer_id.as_str());
        let owner = match (self.lang, yours) {
            (Lang::En, true) => format!("It is registered to you since {since}."),
            (Lang::En, false) => format!(
                "It is registered to another customer since {since}; for their privacy I can't say who."
            ),
            (Lang::Zh, true) => format!("它登记在您名下，自{since}起。"),
            (Lang::Zh, false) => {
                format!("它自{since}起登记在另一位顾客名下，出于隐私不能透露是谁。")
            }
        };
        let resale = match (self.lang, asset.resale_allowed) {
            (Lang::En, true) => format!(
                "Resale is allowed, with a {} percent royalty to the artist.",
                asset.royalty_percent
            ),
            (Lang::En, false) => "Its licence does not allow resale.".to_string(),
            (Lang::Zh, true) => format!(
                "允许转售，需向艺术家支付百分之{}的版税。",
                asset.royalty_percent
            ),
            (Lang::Zh, false) => "它的授权不允许转售。".to_string(),
        };
        let hands = asset.transfers.len().saturating_sub(1);
        Reply::say(pick(
            self.lang,
            format!(
                "{}, asset {}, is genuine. {owner} It has changed hands {hands} times since it was minted. {resale}",
                asset.name, asset.asset_id
            ),
            format!(
                "{}，编号{}，是正品。{owner}铸造以来转手{hands}次。{resale}",
                asset.name, asset.asset_id
            ),
        ))
    }

    fn offer_person(&mut self, topic: Intent) -> Reply {
        self.pending = Some(Pending::OfferPerson {
            skill: skill_for(Some(topic)),
        });
        Reply::failed(pick(
            self.lang,
            "I'm sorry, I couldn't find it. Would you like me to connect you with a person?",
            "抱歉，没有查到。需要为您转接人工客服吗？",
        ))
    }

    /// Hands the call over with a summary for the agent.
    fn hand_over(&mut self, text: String, k: &Knowledge) -> Reply {
        let skill = skill_for(self.topic);
        let summary = self.summary(k);
        self.outcome = Some(Outcome::HandedOver);
        self.pending = None;
        Reply {
            text,
            actions: vec![Action::Transfer { skill, summary }],
            failed: false,
        }
    }

    /// One sentence for the agent: "Caller wants to return order 10023; frustrated."
    pub fn summary(&self, k: &Knowledge) -> String {
        let who = self
            .customer
            .as_deref()
            .and_then(|id| k.shop.customer(id))
            .map_or("Caller".to_string(), |c| c.name.clone());
        let mut wants = match self.topic {
            Some(topic) => describe(topic, Lang::En),
            None => "speak to a person".to_string(),
        };
        if let Some(n) = &self.focus {
            wants = wants.replace("an order", &format!("order {n}"));
        }
        let mood = self
            .mood
            .describe()
            .map(|m| format!("; {m}"))
            .unwrap_or_default();
        let lang = if self.lang == Lang::Zh {
            "; speaks Chinese"
        } else {
            ""
        };
        format!("{who} wants to {wants}{mood}{lang}.")
    }
}

impl Reply {
    fn with_skill(mut self, skill: &'static str) -> Reply {
        for action in &mut self.actions {
            if let Action::Transfer { skill: s, .. } = action {
                *s = skill;
            }
        }
        self
    }
}

/// The order a customer most likely means: for a cancel, the newest not yet shipped; for a
/// return, the newest delivered; else the newest.
fn likely_order<'a>(intent: Intent, orders: impl Iterator<Item = &'a Order>) -> Option<&'a Order> {
    let orders: Vec<&Order> = orders.collect();
    let fits = |o: &&&Order| match intent {
        Intent::CancelOrder | Intent::ChangeAddress => o.status.before_shipping(),
        Intent::ReturnRequest => o.status == OrderStatus::Delivered,
        _ => true,
    };
    orders.iter().find(fits).or(orders.first()).copied()
}

/// What an intent asks for, as words after "wants to" / "想".
fn describe(intent: Intent, lang: Lang) -> String {
    let (en, zh) = match intent {
        Intent::OrderStatus => ("know the status of an order", "查订单状态"),
        Intent::ShippingStatus => ("track the delivery of an order", "查物流"),
        Intent::ChangeAddress => ("change the address of an order", "改收货地址"),
        Intent::CancelOrder => ("cancel an order", "取消订单"),
        Intent::ReturnRequest => ("return an order", "退货"),
        Intent::RefundStatus => ("check the refund for an order", "查退款"),
        Intent::ProductQuestion => ("ask about a product", "咨询商品"),
        Intent::Promotions => ("hear about promotions", "了解优惠活动"),
        Intent::AssetOwnership => ("verify a digital collectible", "核实数字藏品"),
        Intent::Complaint => ("make a complaint", "投诉"),
        Intent::HumanAgent => ("speak to a person", "转人工"),
        Intent::Faq => ("ask a question about our policies", "咨询政策问题"),
        Intent::Repeat | Intent::Help | Intent::Goodbye | Intent::Unknown => {
            ("get help", "寻求帮助")
        }
    };
    pick(lang, en, zh)
}
