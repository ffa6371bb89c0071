//! `converse`: the caller talks with the shop assistant (`dialogue::assistant`) until it has
//! answered, hands over, or says goodbye.
//!
//! The node listens from its greeting on, for free speech. Each turn the caller finishes goes
//! to the call's [`Conversation`]; its reply is spoken (interruptible, unless it hands over or
//! says goodbye), and the turn goes to the call record (`Conversed`). A change to the shop
//! (cancel, return) is asked of the driver first (`ChangeShop`); the reply waits for
//! `ShopChanged`, and a refusal is answered with an apology and an offer of a person.
//!
//! With the merchant's live system (`[merchant]`), an order number the shop lacks, or a caller
//! number no customer has, is looked up first (`LookUp`, answered by `LookedUp`); a system that
//! does not answer gets the caller an apology and a person. With `[llm]`, a plain answer may be
//! rephrased first (`Phrase`, answered by `Phrased`). The node never waits on the driver longer
//! than `DRIVER_PATIENCE`, and what the caller says meanwhile is not taken as a new turn.
//!
//! Keys still work. While the assistant asks for an order number, digits type it (ended by `#`
//! or a pause); otherwise a key in `keys` leaves for its node. A caller who stays silent after
//! a reply is asked whether they are still there, `retries` times, then `on_failure`.
//!
//! The conversation outlives the node's visit: back from a transfer nobody answered, the
//! assistant still knows the order and the caller's mood.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::civil::Date;

use crate::config::flow::ConverseNode;
use crate::dialogue::action::{Conversed, EndCause, FlowAction, FlowEvent};
use crate::dialogue::assistant::{Action, Conversation, Knowledge, Outcome, Turn, phrasing};
use crate::dialogue::hearing;
use crate::dialogue::step::{Cx, NodeStep, Step};
use crate::shop::Lang;

/// A pause that ends a number typed without `#`.
const TYPING_PAUSE: Duration = Duration::from_secs(3);

/// How long a lookup or a rephrasing may take before the node stops waiting for the driver
/// (whose own timeouts, `[merchant]` and `[llm] timeout_ms`, are at most 10 s) and goes on
/// without it.
const DRIVER_PATIENCE: Duration = Duration::from_secs(12);

/// The variable a driver sets to `off` when it cannot recognise speech: the node then goes to
/// `on_failure` at once, as a caller could only press keys.
pub const VAR_SPEECH: &str = "speech";

/// The `Note` kind of a handoff; detail is the summary for the agent.
pub const NOTE_HANDOFF: &str = "handoff";

/// The `Note` kind of a lookup the merchant's system did not answer.
pub const NOTE_LOOKUP_FAILED: &str = "lookup_failed";

/// The `Note` kind of a reply a language model rephrased; detail is what was said.
pub const NOTE_PHRASED: &str = "phrased";

/// The assistant's side of one call: what it knows (given by the driver) and the conversation.
#[derive(Default)]
pub(crate) struct Desk {
    knowledge: Option<(Arc<Knowledge>, Date)>,
    conversation: Option<Conversation>,
    handoff: Option<(&'static str, String)>,
    turns: u32,
}

impl fmt::Debug for Desk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Desk")
            .field("knowledge", &self.knowledge.as_ref().map(|(_, day)| day))
            .field("turns", &self.turns)
            .field("handoff", &self.handoff)
            .finish()
    }
}

impl Desk {
    pub(crate) fn set_knowledge(&mut self, knowledge: Arc<Knowledge>, today: Date) {
        self.knowledge = Some((knowledge, today));
    }

    /// How the conversation went, once there was one.
    pub(crate) fn report(&self) -> Option<ConverseReport> {
        let conversation = self.conversation.as_ref()?;
        Some(ConverseReport {
            outcome: conversation.outcome(),
            skill: self.handoff.as_ref().map(|(skill, _)| *skill),
            summary: self.handoff.as_ref().map(|(_, summary)| summary.clone()),
            sentiment: conversation.average_sentiment(),
            turns: self.turns,
        })
    }
}

/// How a call's conversation with the assistant went, for the call record and `kefu report`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConverseReport {
    pub outcome: Outcome,
    /// The queue the call was handed to.
    pub skill: Option<&'static str>,
    /// The sentence spoken to the agent.
    pub summary: Option<String>,
    /// Mean sentiment of the caller's turns, -1 .. 1.
    pub sentiment: f32,
    pub turns: u32,
}

/// What a lookup in the merchant's system was for.
enum AfterLookup {
    Greeting,
    Turn(String),
}

pub(crate) struct ConverseStep {
    node: ConverseNode,
    lang: Lang,
    /// Digits typed for a number the assistant asked for.
    typed: String,
    /// Reminders since the caller last spoke.
    silences: u32,
    /// A turn whose reply waits for the driver's `ShopChanged`.
    waiting: Option<Turn>,
    /// What waits for the driver's `LookedUp`.
    looking_up: Option<AfterLookup>,
    /// A reply that waits for the driver's `Phrased`.
    phrasing: Option<Turn>,
    /// Where to go once the reply now playing has been said (a person, goodbye).
    after_reply: Option<Step>,
}

impl ConverseStep {
    pub(crate) fn new(node: ConverseNode, flow_language: &str) -> Self {
        ConverseStep {
            node,
            lang: Lang::parse(flow_language).unwrap_or(Lang::En),
            typed: String::new(),
            silences: 0,
            waiting: None,
            looking_up: None,
            phrasing: None,
            after_reply: None,
        }
    }

    /// Speaks in the caller's language: the flow's with the node's voice, another with that
    /// language's default voice.
    fn speak(&self, cx: &mut Cx, text: String, lang: Lang) {
        let (voice, language) = if lang == self.lang {
            (self.node.voice.clone(), None)
        } else {
            (None, Some(lang.code().to_owned()))
        };
        let interruptible = self.after_reply.is_none();
        cx.say(text, voice, language, interruptible);
    }

    /// A line of the assistant's own (a reminder, a greeting), in the caller's language.
    fn speak_line(&self, cx: &mut Cx, line: impl FnOnce(&mut Conversation) -> String) {
        let Some(conversation) = cx.desk.conversation.as_mut() else {
            return;
        };
        let lang = conversation.lang();
        let text = line(conversation);
        self.speak(cx, text, lang);
    }

    /// Whether a change, a lookup or a rephrasing is under way.
    fn waits_for_driver(&self) -> bool {
        self.waiting.is_some() || self.looking_up.is_some() || self.phrasing.is_some()
    }

    /// One turn of the caller, spoken or typed: first the records it needs from the
    /// merchant's system, if the shop lacks them.
    fn turn(&mut self, now: Instant, cx: &mut Cx, said: &str) -> Step {
        self.silences = 0;
        self.typed.clear();
        cx.clear_timer();
        let Some((knowledge, _)) = &cx.desk.knowledge else {
            return self.unavailable(cx, "no shop loaded for this call");
        };
        if let Some(lookup) = knowledge.lookup_for(said) {
            cx.stop_playback();
            cx.push(FlowAction::LookUp(lookup));
            cx.set_timer(now, DRIVER_PATIENCE);
            self.looking_up = Some(AfterLookup::Turn(said.to_owned()));
            return Step::Stay;
        }
        self.answer(now, cx, said, true)
    }

    /// Answers a turn; `records` is false when the merchant's system failed to give the
    /// records it needs.
    fn answer(&mut self, now: Instant, cx: &mut Cx, said: &str, records: bool) -> Step {
        let (Some((knowledge, today)), Some(conversation)) =
            (cx.desk.knowledge.clone(), cx.desk.conversation.as_mut())
        else {
            return self.unavailable(cx, "no shop loaded for this call");
        };
        let turn = if records {
            conversation.turn(&knowledge, said, today)
        } else {
            conversation.turn_without_records(&knowledge, said, today)
        };
        cx.desk.turns += 1;
        cx.push(FlowAction::Conversed(Box::new(Conversed {
            said: said.to_owned(),
            turn: turn.clone(),
        })));
        if let Some((skill, summary)) = turn.transfer() {
            cx.vars.insert("handoff_skill".into(), skill.to_owned());
            cx.vars.insert("handoff_summary".into(), summary.to_owned());
            cx.push(FlowAction::Note {
                kind: NOTE_HANDOFF,
                detail: format!("{skill}: {summary}"),
            });
            cx.desk.handoff = Some((skill, summary.to_owned()));
            let to = self.node.skills.get(skill).unwrap_or(&self.node.handoff);
            self.after_reply = Some(Step::Goto(to.clone()));
        } else if turn.hangs_up() {
            self.after_reply = Some(Step::goto_or(&self.node.next, EndCause::HANGUP));
        }
        let change = turn
            .actions
            .iter()
            .find(|a| matches!(a, Action::CancelOrder { .. } | Action::CreateReturn { .. }));
        if let Some(change) = change {
            cx.stop_playback();
            cx.push(FlowAction::ChangeShop(change.clone()));
            self.waiting = Some(turn);
            return Step::Stay;
        }
        if knowledge.phrasing
            && let Some(request) = phrasing::request(&turn, said)
        {
            cx.stop_playback();
            cx.push(FlowAction::Phrase(request));
            cx.set_timer(now, DRIVER_PATIENCE);
            self.phrasing = Some(turn);
            return Step::Stay;
        }
        self.speak(cx, turn.reply, turn.lang);
        Step::Stay
    }

    /// A rephrased reply (or, without one, the reply as written) is said.
    fn phrased(&mut self, cx: &mut Cx, text: Option<String>) -> Step {
        cx.clear_timer();
        let Some(turn) = self.phrasing.take() else {
            return Step::Stay;
        };
        let text = match text {
            Some(text) => {
                cx.push(FlowAction::Note {
                    kind: NOTE_PHRASED,
                    detail: text.clone(),
                });
                text
            }
            None => turn.reply,
        };
        self.speak(cx, text, turn.lang);
        Step::Stay
    }

    /// The assistant cannot work on this call: `on_failure`, with the reason in the record.
    fn unavailable(&self, cx: &mut Cx, why: &str) -> Step {
        cx.push(FlowAction::Note {
            kind: "assistant_unavailable",
            detail: why.into(),
        });
        Step::goto_or(&self.node.on_failure, EndCause::NO_INPUT)
    }

    fn key(&mut self, now: Instant, cx: &mut Cx, key: char) -> Step {
        let asks_number = cx
            .desk
            .conversation
            .as_ref()
            .is_some_and(|c| c.expects() == Some("order_number"));
        if asks_number || !self.typed.is_empty() {
            if key == '#' {
                let typed = std::mem::take(&mut self.typed);
                return self.turn(now, cx, &typed);
            }
            if key.is_ascii_digit() {
                cx.stop_playback();
                self.typed.push(key);
                cx.set_timer(now, TYPING_PAUSE);
            }
            return Step::Stay;
        }
        match self.node.keys.get(&key) {
            Some(to) => {
                cx.stop_playback();
                Step::Goto(to.clone())
            }
            None => Step::Stay,
        }
    }

    fn silence(&mut self, now: Instant, cx: &mut Cx) -> Step {
        if self.looking_up.is_some() {
            return self.looked_up(now, cx, false);
        }
        if self.phrasing.is_some() {
            return self.phrased(cx, None);
        }
        if !self.typed.is_empty() {
            let typed = std::mem::take(&mut self.typed);
            return self.turn(now, cx, &typed);
        }
        self.silences += 1;
        if self.silences > self.node.retries {
            return Step::goto_or(&self.node.on_failure, EndCause::NO_INPUT);
        }
        self.speak_line(cx, Conversation::still_there);
        Step::Stay
    }

    /// The greeting or turn that waited for a lookup goes on. A failed caller lookup only
    /// costs the greeting its name; a failed order lookup is apologised for and handed over.
    fn looked_up(&mut self, now: Instant, cx: &mut Cx, ok: bool) -> Step {
        cx.clear_timer();
        if !ok {
            cx.push(FlowAction::Note {
                kind: NOTE_LOOKUP_FAILED,
                detail: "the merchant's system did not answer".into(),
            });
        }
        match self.looking_up.take() {
            Some(AfterLookup::Greeting) => self.greet(cx),
            Some(AfterLookup::Turn(said)) => self.answer(now, cx, &said, ok),
            None => Step::Stay,
        }
    }

    /// The first words of the conversation: the caller's name if their number is known.
    fn greet(&mut self, cx: &mut Cx) -> Step {
        let Some((knowledge, _)) = cx.desk.knowledge.clone() else {
            return self.unavailable(cx, "no shop loaded for this call");
        };
        let caller = cx.vars.get("caller").cloned();
        let mut conversation = Conversation::new(&knowledge, self.lang, caller.as_deref());
        let mut text = conversation.greeting(&knowledge);
        if let Some(intro) = &self.node.intro {
            text.push(' ');
            text.push_str(&intro.render(&cx.vars));
        }
        cx.desk.conversation = Some(conversation);
        self.speak(cx, text, self.lang);
        Step::Stay
    }
}

impl NodeStep for ConverseStep {
    fn enter(&mut self, now: Instant, cx: &mut Cx) -> Step {
        let typed = cx.take_typeahead();
        if let Some(to) = typed.chars().next().and_then(|k| self.node.keys.get(&k)) {
            return Step::Goto(to.clone());
        }
        // Without speech recognition the caller could only be greeted, never heard: keys.
        if cx.vars.get(VAR_SPEECH).is_some_and(|v| v == "off") {
            return self.unavailable(cx, "no speech recognition (no model installed)");
        }
        let Some((knowledge, _)) = cx.desk.knowledge.clone() else {
            return self.unavailable(cx, "no shop loaded for this call");
        };
        cx.listen(hearing::request(&self.node.speech));
        if cx.desk.conversation.is_some() {
            self.speak_line(cx, Conversation::anything_else);
            return Step::Stay;
        }
        if let Some(lookup) = knowledge.lookup_caller(cx.vars.get("caller").map(String::as_str)) {
            cx.push(FlowAction::LookUp(lookup));
            cx.set_timer(now, DRIVER_PATIENCE);
            self.looking_up = Some(AfterLookup::Greeting);
            return Step::Stay;
        }
        self.greet(cx)
    }

    fn handle(&mut self, now: Instant, event: &FlowEvent, cx: &mut Cx) -> Step {
        match event {
            FlowEvent::PlaybackFinished => {
                if let Some(step) = self.after_reply.take() {
                    return step;
                }
                if self.typed.is_empty() {
                    cx.set_timer(now, self.node.timeout);
                }
                Step::Stay
            }
            FlowEvent::Digit(key) if self.after_reply.is_none() && !self.waits_for_driver() => {
                self.key(now, cx, *key)
            }
            FlowEvent::Tick => self.silence(now, cx),
            FlowEvent::LookedUp { ok } if self.looking_up.is_some() => self.looked_up(now, cx, *ok),
            FlowEvent::Phrased { text } => self.phrased(cx, text.clone()),
            FlowEvent::SpeechStarted if self.after_reply.is_none() => {
                cx.stop_playback();
                // The timer that bounds a wait on the driver runs on.
                if !self.waits_for_driver() {
                    cx.clear_timer();
                }
                Step::Stay
            }
            FlowEvent::Heard(heard) if self.after_reply.is_none() && !self.waits_for_driver() => {
                if heard.text.trim().is_empty() {
                    if !cx.is_playing() {
                        cx.set_timer(now, self.node.timeout);
                    }
                    return Step::Stay;
                }
                cx.record_heard(heard, true);
                self.turn(now, cx, heard.text.trim())
            }
            FlowEvent::SpeechFailed { reason } if self.after_reply.is_none() => {
                cx.push(FlowAction::Note {
                    kind: crate::dialogue::NOTE_SPEECH_FAILED,
                    detail: reason.clone(),
                });
                self.speak_line(cx, Conversation::not_heard);
                Step::Stay
            }
            FlowEvent::ShopChanged { ok } => {
                let Some(turn) = self.waiting.take() else {
                    return Step::Stay;
                };
                if *ok {
                    self.speak(cx, turn.reply, turn.lang);
                } else {
                    // The reply promised a change that did not happen: no handoff or goodbye
                    // follows it, the apology offers a person instead.
                    self.after_reply = None;
                    self.speak_line(cx, Conversation::action_failed);
                }
                Step::Stay
            }
            _ => Step::Stay,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{NOTE_HANDOFF, NOTE_LOOKUP_FAILED, NOTE_PHRASED};
    use crate::dialogue::FlowAction::{
        self, ChangeShop, Conversed, LookUp, Phrase, Say, StopListening, StopPlayback,
    };
    use crate::dialogue::assistant::{Action, Knowledge, Lookup, Lookups, Outcome};
    use crate::dialogue::testkit::{Sim, demo_knowledge, entered, hangup, listen};
    use crate::dialogue::{FlowEvent, Vars};
    use crate::shop::{Shop, ShopData, demo, merchant};

    const FLOW: &str = r#"
start = "assistant"
[nodes.assistant]
kind = "converse"
intro = "Or press 1 for an order."
speech = { end_silence_ms = 700 }
keys = { "1" = "order", "0" = "agent" }
handoff = "agent"
skills = { returns = "returns-desk" }
timeout_ms = 6000
retries = 1
next = "bye"
on_failure = "menu"
[nodes.order]
kind = "hangup"
cause = "flow.order"
[nodes.menu]
kind = "hangup"
cause = "flow.menu"
[nodes.agent]
kind = "transfer"
target = "queue:agents"
on_failure = "assistant"
[nodes.returns-desk]
kind = "transfer"
target = "queue:returns"
[nodes.bye]
kind = "hangup"
cause = "flow.bye"
"#;

    /// A call from `caller` (a known customer's number, or none) with the demo shop.
    fn call(caller: Option<&str>) -> Sim {
        let vars: Vars = caller
            .map(|c| [("caller".to_string(), c.to_string())].into())
            .unwrap_or_default();
        let mut sim = Sim::with_vars(FLOW, vars);
        sim.with_demo_shop();
        sim
    }

    /// The text of the one `Say` among `actions`, with whether it may be interrupted.
    fn said(actions: &[FlowAction]) -> (String, bool, Option<String>) {
        let says: Vec<_> = actions
            .iter()
            .filter_map(|a| match a {
                Say {
                    text,
                    interruptible,
                    language,
                    ..
                } => Some((text.clone(), *interruptible, language.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(says.len(), 1, "{actions:?}");
        says[0].clone()
    }

    fn turn_of(actions: &[FlowAction]) -> &crate::dialogue::Conversed {
        actions
            .iter()
            .find_map(|a| match a {
                Conversed(c) => Some(c.as_ref()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no turn recorded: {actions:?}"))
    }

    #[test]
    fn greets_a_known_caller_by_name_then_answers_about_their_order() {
        let mut sim = call(Some("+15551230001"));
        let start = sim.start();
        assert_eq!(start[0], entered("assistant"));
        assert_eq!(start[1], listen(None, 700));
        let (greeting, interruptible, _) = said(&start);
        assert!(greeting.starts_with("Hello Alice"), "{greeting}");
        assert!(greeting.ends_with("Or press 1 for an order."), "{greeting}");
        assert!(interruptible);

        // The caller talks over the greeting: it stops, and the answer follows the turn.
        assert_eq!(sim.speech_started(1000), [StopPlayback]);
        let out = sim.heard(2500, "where is my order 10023", None, 0.9);
        let turn = turn_of(&out);
        assert_eq!(turn.said, "where is my order 10023");
        assert_eq!(turn.turn.intent.to_string(), "order_status");
        let (reply, ..) = said(&out);
        assert!(
            reply.contains("10023") && reply.contains("shipped"),
            "{reply}"
        );
        assert_eq!(
            sim.heard_log(),
            [(
                "assistant".to_string(),
                "where is my order 10023".to_string(),
                true
            )]
        );
        // The reply ends, the caller waits: the no-input timer runs.
        assert_eq!(sim.played(6000), []);
        assert_eq!(sim.timeout_ms(), Some(12_000));
        let report = sim.run.conversation().expect("a conversation");
        assert_eq!((report.outcome, report.turns), (Outcome::Resolved, 1));
    }

    #[test]
    fn keys_still_work_and_type_a_number_the_assistant_asked_for() {
        let mut sim = call(None);
        sim.start();
        assert_eq!(
            sim.digit(500, '1'),
            [
                StopPlayback,
                StopListening,
                entered("order"),
                hangup("flow.order")
            ]
        );

        let mut sim = call(None);
        sim.start();
        let out = sim.heard(2000, "what's the status of my order", None, 0.9);
        assert!(said(&out).0.contains("order number"), "{out:?}");
        // Digits now type the number; `0` is part of it, not the agent key.
        let typed = sim.type_keys(3000, 300, "10023#");
        let turn = turn_of(&typed);
        assert_eq!(turn.said, "10023");
        assert!(said(&typed).0.contains("10023"), "{typed:?}");
    }

    #[test]
    fn a_number_typed_without_hash_is_taken_after_a_pause() {
        let mut sim = call(None);
        sim.start();
        sim.heard(2000, "where is my order", None, 0.9);
        sim.type_keys(3000, 300, "10023");
        let out = sim.run_until(3000 + 1200 + 3000);
        let actions: Vec<FlowAction> = out.into_iter().map(|(_, a)| a).collect();
        assert_eq!(turn_of(&actions).said, "10023");
    }

    #[test]
    fn a_handoff_says_why_then_connects_the_skills_queue_with_a_summary() {
        let mut sim = call(Some("+15551230001"));
        sim.start();
        sim.heard(
            2000,
            "I want to return my order 10023, it arrived broken",
            None,
            0.9,
        );
        // Wherever the conversation went, "a person please" hands it over, to the queue for
        // what the caller wanted.
        let out = sim.heard(9000, "just let me talk to a real person", None, 0.9);
        let (_, interruptible, _) = said(&out);
        assert!(!interruptible, "a handoff is not cut short: {out:?}");
        assert!(
            out.iter().any(|a| matches!(
                a,
                FlowAction::Note {
                    kind: "handoff",
                    ..
                }
            )),
            "{out:?}"
        );
        assert_eq!(sim.speech_started(9500), [], "the caller cannot stop it");
        let next = sim.played(12_000);
        assert_eq!(
            next[..2],
            [StopListening, entered("returns-desk")],
            "{next:?}"
        );
        let summary = &sim.run.vars()["handoff_summary"];
        assert!(summary.contains("return order 10023"), "{summary}");
        let report = sim.run.conversation().expect("a conversation");
        assert_eq!(report.outcome, Outcome::HandedOver);
        assert_eq!(report.skill, Some("returns"));
    }

    fn open_order() -> String {
        let shop = Shop::new(demo::data(demo::ANCHOR));
        let open = shop
            .data()
            .orders
            .iter()
            .find(|o| o.status.before_shipping());
        open.expect("the demo shop has an open order")
            .number
            .clone()
    }

    #[test]
    fn a_change_waits_for_the_store_before_it_is_confirmed() {
        let open = open_order();
        let mut sim = call(None);
        sim.start();
        let out = sim.heard(2000, &format!("please cancel order {open}"), None, 0.9);
        assert!(said(&out).0.contains("yes or no"), "{out:?}");
        sim.played(5000);
        let out = sim.heard(6000, "yes", None, 0.9);
        assert!(
            out.contains(&ChangeShop(Action::CancelOrder {
                order: open.clone()
            })),
            "{out:?}"
        );
        assert!(!out.iter().any(|a| matches!(a, Say { .. })), "{out:?}");
        let out = sim.event(6010, FlowEvent::ShopChanged { ok: true });
        assert!(said(&out).0.contains(&open), "{out:?}");
    }

    #[test]
    fn a_refused_change_is_an_apology_and_an_offer_of_a_person() {
        let open = open_order();
        let mut sim = call(None);
        sim.start();
        sim.heard(2000, &format!("cancel order {open}"), None, 0.9);
        sim.heard(6000, "yes", None, 0.9);
        let out = sim.event(6010, FlowEvent::ShopChanged { ok: false });
        let (apology, ..) = said(&out);
        assert!(
            apology.contains("sorry") && apology.contains("person"),
            "{apology}"
        );
        let out = sim.heard(9000, "yes", None, 0.9);
        sim.played(12_000);
        assert!(turn_of(&out).turn.transfer().is_some(), "{out:?}");
    }

    #[test]
    fn silence_is_reminded_then_fails_over_to_the_menu() {
        let mut sim = call(None);
        sim.start();
        sim.played(3000);
        let out = sim.run_until(9000);
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(matches!(&out[0], (9000, Say { text, .. }) if text.contains("still there")));
        sim.played(12_000);
        let out = sim.run_until(18_000);
        let actions: Vec<FlowAction> = out.into_iter().map(|(_, a)| a).collect();
        assert!(actions.contains(&entered("menu")), "{actions:?}");
    }

    #[test]
    fn a_chinese_turn_is_answered_in_chinese_with_its_voice() {
        let mut sim = call(None);
        sim.start();
        let out = sim.heard(2000, "我的订单10023到哪里了", None, 0.9);
        let (reply, _, language) = said(&out);
        assert_eq!(language.as_deref(), Some("zh"), "{reply}");
        assert!(reply.contains("10023"), "{reply}");
    }

    #[test]
    fn without_a_shop_the_call_fails_over_at_once() {
        let mut sim = Sim::new(FLOW);
        let out = sim.start();
        assert!(out.contains(&entered("menu")), "{out:?}");
        assert!(
            out.iter().any(|a| matches!(
                a,
                FlowAction::Note {
                    kind: "assistant_unavailable",
                    ..
                }
            )),
            "{out:?}"
        );
    }

    #[test]
    fn without_speech_recognition_the_keys_menu_takes_over() {
        let vars: Vars = [("speech".to_string(), "off".to_string())].into();
        let mut sim = Sim::with_vars(FLOW, vars);
        sim.with_demo_shop();
        let out = sim.start();
        assert!(out.contains(&entered("menu")), "{out:?}");
        assert!(!out.iter().any(|a| matches!(a, Say { .. })), "{out:?}");
    }

    /// A call whose shop may look orders and callers up in the merchant's system.
    fn live_call(caller: Option<&str>) -> (Sim, Arc<Knowledge>) {
        let mut sim = call(caller);
        let mut knowledge = demo_knowledge();
        knowledge.lookups = Lookups {
            orders: true,
            customers: true,
        };
        let knowledge = sim.with_knowledge(knowledge);
        (sim, knowledge)
    }

    /// What the merchant's system holds that the local shop does not.
    fn merchant_records() -> ShopData {
        merchant::records(include_str!("../../tests/data/merchant-77001.json"))
            .expect("valid records")
    }

    fn notes(actions: &[FlowAction], kind: &str) -> usize {
        actions
            .iter()
            .filter(|a| matches!(a, FlowAction::Note { kind: k, .. } if *k == kind))
            .count()
    }

    #[test]
    fn an_order_the_shop_lacks_is_looked_up_before_the_turn_is_answered() {
        let (mut sim, knowledge) = live_call(None);
        sim.start();
        // A number the shop holds needs no lookup.
        let out = sim.heard(2000, "where is order 10023", None, 0.9);
        assert!(said(&out).0.contains("10023"), "{out:?}");

        let out = sim.heard(8000, "and where is order 77001", None, 0.9);
        assert_eq!(
            out,
            [
                StopPlayback,
                LookUp(Lookup {
                    orders: vec!["77001".into()],
                    phone: None
                })
            ]
        );
        // The caller waits in silence; what they say meanwhile is not a new turn.
        sim.speech_started(8200);
        assert_eq!(sim.heard(8500, "hello?", None, 0.9), []);
        assert!(sim.timeout_ms().is_some(), "the wait stays bounded");
        sim.with_knowledge(knowledge.with_records(&merchant_records()));
        let out = sim.event(9000, FlowEvent::LookedUp { ok: true });
        let (reply, interruptible, _) = said(&out);
        assert!(
            reply.contains("77001") && reply.contains("shipped"),
            "{reply}"
        );
        assert!(interruptible);
        assert_eq!(turn_of(&out).said, "and where is order 77001");
    }

    #[test]
    fn a_lookup_that_fails_is_an_apology_and_a_handoff_never_a_hang() {
        for answer in [Some(false), None] {
            let (mut sim, _) = live_call(None);
            sim.start();
            sim.heard(2000, "where is my order 77001", None, 0.9);
            let out = match answer {
                Some(ok) => sim.event(3000, FlowEvent::LookedUp { ok }),
                // The driver never answers: the node stops waiting on its own.
                None => {
                    let out = sim.run_until(2000 + 12_000);
                    out.into_iter().map(|(_, a)| a).collect()
                }
            };
            let (apology, interruptible, _) = said(&out);
            assert!(
                apology.contains("order system") && apology.contains("colleague"),
                "{apology}"
            );
            assert!(!interruptible, "{out:?}");
            assert_eq!(notes(&out, NOTE_LOOKUP_FAILED), 1, "{out:?}");
            assert_eq!(notes(&out, NOTE_HANDOFF), 1, "{out:?}");
            let summary = &sim.run.vars()["handoff_summary"];
            assert!(
                summary.contains("order 77001") && summary.contains("did not answer"),
                "{summary}"
            );
            let next = sim.played(20_000);
            assert_eq!(next[..2], [StopListening, entered("agent")], "{next:?}");
        }
    }

    #[test]
    fn a_caller_the_shop_does_not_know_is_looked_up_before_the_greeting() {
        let (mut sim, knowledge) = live_call(Some("sip:+15559990000@10.0.0.1"));
        let out = sim.start();
        assert!(
            out.contains(&LookUp(Lookup {
                orders: vec![],
                phone: Some("sip:+15559990000@10.0.0.1".into())
            })),
            "{out:?}"
        );
        assert!(!out.iter().any(|a| matches!(a, Say { .. })), "{out:?}");
        sim.with_knowledge(knowledge.with_records(&merchant_records()));
        let out = sim.event(600, FlowEvent::LookedUp { ok: true });
        assert!(said(&out).0.starts_with("Hello Zoe"), "{out:?}");
        // Their order is the one the assistant offers.
        let out = sim.heard(3000, "where is my order", None, 0.9);
        assert!(said(&out).0.contains("Kettle"), "{out:?}");

        // Unanswered, the greeting goes on without a name.
        let (mut sim, _) = live_call(Some("+15559990000"));
        sim.start();
        let out = sim.event(600, FlowEvent::LookedUp { ok: false });
        assert!(said(&out).0.starts_with("Hello."), "{out:?}");
    }

    #[test]
    fn a_plain_answer_waits_for_its_rephrasing_and_falls_back_to_its_own_words() {
        let phrased_call = || {
            let mut sim = call(None);
            let mut knowledge = demo_knowledge();
            knowledge.phrasing = true;
            sim.with_knowledge(knowledge);
            sim.start();
            sim
        };
        let mut sim = phrased_call();
        let out = sim.heard(2000, "where is order 10023", None, 0.9);
        let request = out
            .iter()
            .find_map(|a| match a {
                Phrase(r) => Some(r.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("a Phrase: {out:?}"));
        assert!(!out.iter().any(|a| matches!(a, Say { .. })), "{out:?}");
        assert_eq!(turn_of(&out).turn.reply, request.reply);
        let out = sim.event(
            2600,
            FlowEvent::Phrased {
                text: Some("Good news: order 10023 is on its way.".into()),
            },
        );
        assert_eq!(said(&out).0, "Good news: order 10023 is on its way.");
        assert_eq!(notes(&out, NOTE_PHRASED), 1, "{out:?}");

        // No rephrasing, or none in time: the reply as written.
        for answer in [Some(None), None] {
            let mut sim = phrased_call();
            sim.heard(2000, "where is order 10023", None, 0.9);
            let out = match answer {
                Some(text) => sim.event(2600, FlowEvent::Phrased { text }),
                None => sim
                    .run_until(2000 + 12_000)
                    .into_iter()
                    .map(|(_, a)| a)
                    .collect(),
            };
            assert_eq!(said(&out).0, request.reply, "{out:?}");
            assert_eq!(notes(&out, NOTE_PHRASED), 0, "{out:?}");
        }

        // A question that waits for a number keeps its words.
        let mut sim = phrased_call();
        let out = sim.heard(2000, "where is my order", None, 0.9);
        assert!(said(&out).0.contains("order number"), "{out:?}");
    }

    #[test]
    fn back_from_a_transfer_nobody_answered_the_conversation_goes_on() {
        let mut sim = call(None);
        sim.start();
        sim.heard(2000, "I want to speak to a human", None, 0.9);
        sim.played(4000);
        let out = sim.event(
            30_000,
            FlowEvent::TransferEnded(crate::dialogue::TransferOutcome::NoAnswer),
        );
        assert!(out.contains(&entered("assistant")), "{out:?}");
        assert!(said(&out).0.contains("anything else"), "{out:?}");
    }
}
