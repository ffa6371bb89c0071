//! `say`: text spoken by a synthesised voice (with the call's variables), then the next node.

use std::time::Instant;

use crate::config::flow::SayNode;
use crate::dialogue::action::FlowEvent;
use crate::dialogue::step::{Cx, NodeStep, Step};

pub(crate) struct SayStep {
    node: SayNode,
}

impl SayStep {
    pub(crate) fn new(node: SayNode) -> Self {
        SayStep { node }
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
        cx.say(text, self.node.voice.clone(), self.node.barge_in);
        Step::Stay
    }

    fn handle(&mut self, _now: Instant, event: &FlowEvent, cx: &mut Cx) -> Step {
        match event {
            FlowEvent::PlaybackFinished => Step::Goto(self.node.next.clone()),
            FlowEvent::Digit(key) if self.node.barge_in && cx.is_playing() => {
                cx.stop_playback();
                cx.add_typeahead(*key);
                Step::Goto(self.node.next.clone())
            }
            _ => Step::Stay,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::dialogue::FlowAction::{Say, StopPlayback};
    use crate::dialogue::Vars;
    use crate::dialogue::testkit::{Sim, entered, hangup};

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
