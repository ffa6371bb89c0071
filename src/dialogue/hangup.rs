//! `hangup`: an optional last prompt, then the end of the call.

use std::time::Instant;

use crate::config::flow::HangupNode;
use crate::dialogue::action::{EndCause, FlowEvent};
use crate::dialogue::step::{Cx, NodeStep, Step};

pub(crate) struct HangupStep {
    node: HangupNode,
}

impl HangupStep {
    pub(crate) fn new(node: HangupNode) -> Self {
        HangupStep { node }
    }

    fn end(&self) -> Step {
        Step::End(EndCause::from_flow(&self.node.cause))
    }
}

impl NodeStep for HangupStep {
    fn enter(&mut self, _now: Instant, cx: &mut Cx) -> Step {
        // The goodbye is heard in full: keys do not cut it short.
        if cx.play(&[&self.node.prompt], false) {
            Step::Stay
        } else {
            self.end()
        }
    }

    fn handle(&mut self, _now: Instant, event: &FlowEvent, _cx: &mut Cx) -> Step {
        match event {
            FlowEvent::PlaybackFinished => self.end(),
            _ => Step::Stay,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::dialogue::testkit::{Sim, entered, hangup, play};

    #[test]
    fn plays_the_goodbye_in_full_then_hangs_up_with_its_cause() {
        let mut sim = Sim::new(
            "start = \"bye\"\n[nodes.bye]\nkind = \"hangup\"\nprompt = \"goodbye\"\ncause = \"flow.goodbye\"\n",
        );
        assert_eq!(sim.start(), [entered("bye"), play(&["goodbye"], false)]);
        assert_eq!(sim.digit(500, '1'), []);
        assert!(!sim.run.is_finished());
        assert_eq!(sim.played(2000), [hangup("flow.goodbye")]);
        assert_eq!(
            sim.run.end_cause().map(|c| c.as_str()),
            Some("flow.goodbye")
        );
        assert_eq!(sim.timeout_ms(), None);
    }
}
