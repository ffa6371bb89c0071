//! `play`: prompts, then the next node.

use std::time::Instant;

use crate::config::flow::PlayNode;
use crate::dialogue::action::FlowEvent;
use crate::dialogue::step::{Cx, NodeStep, Step};

pub(crate) struct PlayStep {
    node: PlayNode,
}

impl PlayStep {
    pub(crate) fn new(node: PlayNode) -> Self {
        PlayStep { node }
    }
}

impl NodeStep for PlayStep {
    fn enter(&mut self, _now: Instant, cx: &mut Cx) -> Step {
        // A key already pressed skips every barge-in prompt until a node takes it.
        if self.node.barge_in && cx.has_typeahead() {
            return Step::Goto(self.node.next.clone());
        }
        if cx.play(&[&self.node.prompt], self.node.barge_in) {
            Step::Stay
        } else {
            Step::Goto(self.node.next.clone())
        }
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
    use crate::dialogue::FlowAction::StopPlayback;
    use crate::dialogue::testkit::{Sim, entered, hangup, play};

    const FLOW: &str = r#"
start = "hello"
[nodes.hello]
kind = "play"
prompt = ["hello", "welcome"]
barge_in = true
next = "notice"
[nodes.notice]
kind = "play"
prompt = "notice"
barge_in = true
next = "menu"
[nodes.menu]
kind = "menu"
prompt = "menu"
options = { "1" = "one", "2" = "two" }
[nodes.one]
kind = "hangup"
cause = "flow.one"
[nodes.two]
kind = "collect"
prompt = "ask"
var = "n"
next = "one"
"#;

    #[test]
    fn plays_then_goes_on() {
        let mut sim = Sim::new(FLOW);
        assert_eq!(
            sim.start(),
            [entered("hello"), play(&["hello", "welcome"], true)]
        );
        assert_eq!(
            sim.played(2000),
            [entered("notice"), play(&["notice"], true)]
        );
    }

    #[test]
    fn a_key_skips_barge_in_prompts_and_reaches_the_menu() {
        let mut sim = Sim::new(FLOW);
        sim.start();
        assert_eq!(
            sim.digit(800, '1'),
            [
                StopPlayback,
                entered("notice"),
                entered("menu"),
                entered("one"),
                hangup("flow.one")
            ]
        );
        assert_eq!(sim.run.digits(), "1");
    }

    #[test]
    fn typed_ahead_digits_fill_a_collect() {
        let mut sim = Sim::new(FLOW);
        sim.start();
        sim.digit(800, '2');
        // The menu used the 2; the collect starts with nothing typed and plays its prompt.
        assert_eq!(sim.run.path().last().map(|n| n.as_str()), Some("two"));
        assert_eq!(sim.digit(900, '5'), [StopPlayback]);
    }

    #[test]
    fn a_prompt_that_cannot_be_skipped_drops_typed_ahead_keys() {
        let mut sim = Sim::new(
            &FLOW
                .replacen("barge_in = true", "barge_in = false", 2)
                .replacen("barge_in = false", "barge_in = true", 1),
        );
        sim.start();
        assert_eq!(
            sim.digit(800, '1'),
            [StopPlayback, entered("notice"), play(&["notice"], false)]
        );
        assert_eq!(sim.played(3000), [entered("menu"), play(&["menu"], true)]);
    }

    #[test]
    fn without_barge_in_keys_are_kept_only_in_digits() {
        let mut sim = Sim::new(&FLOW.replace("barge_in = true", "barge_in = false"));
        sim.start();
        assert_eq!(sim.digit(800, '1'), []);
        assert_eq!(
            sim.played(2000),
            [entered("notice"), play(&["notice"], false)]
        );
        assert_eq!(sim.played(3000), [entered("menu"), play(&["menu"], true)]);
        assert_eq!(sim.run.digits(), "1");
    }

    #[test]
    fn a_read_back_of_an_empty_variable_plays_nothing() {
        let text = r#"
start = "back"
[nodes.back]
kind = "play"
prompt = { digits = "n" }
next = "end"
[nodes.end]
kind = "hangup"
"#;
        let mut sim = Sim::new(text);
        assert_eq!(
            sim.start(),
            [entered("back"), entered("end"), hangup("flow.hangup")]
        );
        let mut vars = crate::dialogue::Vars::new();
        vars.insert("n".to_string(), "4*0#x".to_string());
        let mut sim = Sim::with_vars(text, vars);
        assert_eq!(
            sim.start(),
            [
                entered("back"),
                play(&["digit-4", "star", "digit-0", "hash"], false)
            ]
        );
    }
}
