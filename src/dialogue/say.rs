//! `say`: text spoken by a synthesised voice (with the call's variables), then the next node.

use std::time::Instant;

use crate::config::flow::{SayNode, SpeechInput};
use crate::dialogue::action::FlowEvent;
use crate::dialogue::hearing;
use crate::dialogue::step::{Cx, NodeStep, Step};

pub(crate) struct SayStep {
    node: SayNode,
    /// How the next node listens, if it does: an interruptible reply listens the same way, and
    /// the caller's speech stops it and goes on to that node with the turn.
    next_speech: Option<SpeechInput>,
}

impl SayStep {
    pub(crate) fn new(node: SayNode, next_speech: Option<SpeechInput>) -> Self {
        SayStep { node, next_speech }
    }

    fn next(&self, cx: &mut Cx) -> Step {
        cx.hand_over_listening();
        Step::Goto(self.node.next.clone())
    }
}

impl NodeStep for SayStep {
    fn enter(&mut self, _now: Instant, cx: &mut Cx) -> Step {
        // A key already pressed skips an interruptible reply, as it skips a prompt.
        if self.node.barge_in && cx.has_typeahead() {
            return Step::Goto(self.node.next.clone());
        }
        let text = self.node.text.render(&cx.vars);
        if text.trim().is_empty() {
            return Step::Goto(self.node.next.clone());
        }
        cx.say(text, self.node.voice.clone(), None, self.node.barge_in);
        if let Some(speech) = self.next_speech.as_ref().filter(|_| self.node.barge_in) {
            cx.listen(hearing::request(speech));
        }
        Step::Stay
    }

    fn handle(&mut self, _now: Instant, event: &FlowEvent, cx: &mut Cx) -> Step {
        match event {
            FlowEvent::PlaybackFinished => self.next(cx),
            FlowEvent::Digit(key) if self.node.barge_in && cx.is_playing() => {
                cx.stop_playback();
                cx.add_typeahead(*key);
                self.next(cx)
            }
            // The caller talks over the reply: it stops, and their turn is the next node's.
            FlowEvent::SpeechStarted if self.node.barge_in => {
                cx.stop_playback();
                self.next(cx)
            }
            _ => Step::Stay,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::dialogue::FlowAction::{Listen, Say, StopListening, StopPlayback};
    use crate::dialogue::Vars;
    use crate::dialogue::testkit::{Sim, entered, hangup, listen};

    const FLOW: &str = r#"
start = "status"
[nodes.status]
kind = "say"
text = "Your order {order_number} has shipped."
next = "notice"
[nodes.notice]
kind = "say"
text = "Calls are recorded."
voice = "awb"
barge_in = false
next = "bye"
[nodes.bye]
kind = "hangup"
cause = "flow.bye"
"#;

    fn say(text: &str, voice: Option<&str>, interruptible: bool) -> crate::dialogue::FlowAction {
        Say {
            text: text.into(),
            voice: voice.map(str::to_owned),
            language: None,
            interruptible,
        }
    }

    #[test]
    fn speaks_with_the_calls_variables_then_goes_on() {
        let vars: Vars = [("order_number".to_string(), "10023".to_string())].into();
        let mut sim = Sim::with_vars(FLOW, vars);
        assert_eq!(
            sim.start(),
            [
                entered("status"),
                say("Your order 10023 has shipped.", None, true)
            ]
        );
        assert_eq!(
            sim.played(1800),
            [
                entered("notice"),
                say("Calls are recorded.", Some("awb"), false)
            ]
        );
        assert_eq!(sim.played(3000), [entered("bye"), hangup("flow.bye")]);
    }

    const ANSWER_FLOW: &str = r#"
start = "answer"
[nodes.answer]
kind = "say"
text = "Your order has shipped."
next = "ask"
[nodes.ask]
kind = "listen"
speech = { end_silence_ms = 700 }
var = "said"
next = "bye"
[nodes.bye]
kind = "hangup"
cause = "flow.bye"
"#;

    #[test]
    fn a_reply_listens_as_the_next_node_and_hands_it_the_callers_turn() {
        let mut sim = Sim::new(ANSWER_FLOW);
        assert_eq!(
            sim.start(),
            [
                entered("answer"),
                say("Your order has shipped.", None, true),
                listen(None, 700),
            ]
        );
        // The caller talks over it: the reply stops and the listen node has the turn, with no
        // second Listen and no StopListening between them.
        assert_eq!(sim.speech_started(900), [StopPlayback, entered("ask")]);
        let after = sim.heard(1800, "where is it", None, 0.9);
        assert_eq!(after[0], StopListening, "{after:?}");
        assert_eq!(
            sim.heard_log(),
            [("ask".to_string(), "where is it".to_string(), true)]
        );
    }

    #[test]
    fn a_reply_that_ends_hands_on_its_listening_too() {
        let mut sim = Sim::new(ANSWER_FLOW);
        sim.start();
        assert_eq!(sim.played(1500), [entered("ask")]);
        assert_eq!(sim.speech_started(1600), []);
    }

    #[test]
    fn a_notice_or_a_reply_before_a_node_that_does_not_listen_does_not_listen() {
        let mut sim = Sim::new(FLOW);
        let actions = sim.start();
        assert!(
            !actions.iter().any(|a| matches!(a, Listen(_))),
            "{actions:?}"
        );
    }

    #[test]
    fn a_key_cuts_an_interruptible_reply_but_not_a_notice() {
        let mut sim = Sim::new(FLOW);
        sim.start();
        assert_eq!(
            sim.digit(500, '5'),
            [
                StopPlayback,
                entered("notice"),
                say("Calls are recorded.", Some("awb"), false)
            ]
        );
        assert_eq!(sim.digit(700, '6'), [], "the notice plays on");
    }
}
