//! `menu`: a prompt, then one key chooses the next node.
//!
//! A key during the prompt stops it and counts at once. The timeout runs from the end of the
//! prompt. A key with no option, or no key, costs an attempt: the invalid (or timeout) prompt
//! and the menu prompt play again; when `retries` more attempts have failed, `on_failure`.

use std::time::Instant;

use crate::config::flow::{MenuNode, PromptItem};
use crate::dialogue::action::{EndCause, FlowEvent};
use crate::dialogue::step::{Cx, NodeStep, Step};

pub(crate) struct MenuStep {
    node: MenuNode,
    failures: u32,
}

impl MenuStep {
    pub(crate) fn new(node: MenuNode) -> Self {
        MenuStep { node, failures: 0 }
    }

    /// Plays `lead` then the menu prompt; the timeout starts once nothing plays.
    fn prompt(&mut self, now: Instant, cx: &mut Cx, lead: &[PromptItem]) -> Step {
        if !cx.play(&[lead, &self.node.prompt], true) {
            cx.set_timer(now, self.node.timeout);
        }
        Step::Stay
    }

    fn choose(&mut self, now: Instant, cx: &mut Cx, key: char) -> Step {
        cx.stop_playback();
        cx.clear_timer();
        match self.node.options.get(&key) {
            Some(node) => Step::Goto(node.clone()),
            None => self.fail(now, cx, Failure::Invalid),
        }
    }

    fn fail(&mut self, now: Instant, cx: &mut Cx, failure: Failure) -> Step {
        self.failures += 1;
        if self.failures > self.node.retries {
            return Step::goto_or(&self.node.on_failure, EndCause::NO_INPUT);
        }
        let lead = match failure {
            Failure::Invalid => self.node.invalid_prompt.clone(),
            Failure::Timeout => self.node.timeout_prompt.clone(),
        };
        self.prompt(now, cx, &lead)
    }
}

enum Failure {
    Invalid,
    Timeout,
}

impl NodeStep for MenuStep {
    fn enter(&mut self, now: Instant, cx: &mut Cx) -> Step {
        let typed = cx.take_typeahead();
        match typed.chars().next() {
            Some(key) => self.choose(now, cx, key),
            None => self.prompt(now, cx, &[]),
        }
    }

    fn handle(&mut self, now: Instant, event: &FlowEvent, cx: &mut Cx) -> Step {
        match event {
            FlowEvent::Digit(key) => self.choose(now, cx, *key),
            FlowEvent::PlaybackFinished => {
                cx.set_timer(now, self.node.timeout);
                Step::Stay
            }
            FlowEvent::Tick => self.fail(now, cx, Failure::Timeout),
            _ => Step::Stay,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::dialogue::FlowAction::StopPlayback;
    use crate::dialogue::testkit::{Sim, entered, hangup, play};

    const MENU: &str = r#"
start = "menu"
[nodes.menu]
kind = "menu"
prompt = "main-menu"
options = { "1" = "order", "2" = "returns" }
timeout_ms = 5000
retries = 1
invalid_prompt = "invalid"
timeout_prompt = "no-input"
on_failure = "bye"
[nodes.order]
kind = "hangup"
prompt = "order"
[nodes.returns]
kind = "hangup"
[nodes.bye]
kind = "hangup"
cause = "flow.bye"
"#;

    #[test]
    fn key_during_the_prompt_stops_it_and_acts_at_once() {
        let mut sim = Sim::new(MENU);
        assert_eq!(sim.start(), [entered("menu"), play(&["main-menu"], true)]);
        assert_eq!(sim.timeout_ms(), None, "no timeout while the prompt plays");
        assert_eq!(
            sim.digit(1200, '1'),
            [StopPlayback, entered("order"), play(&["order"], false)]
        );
        assert_eq!(sim.run.path().len(), 2);
        assert_eq!(sim.run.digits(), "1");
    }

    #[test]
    fn timeout_counts_from_the_end_of_the_prompt() {
        let mut sim = Sim::new(MENU);
        sim.start();
        assert_eq!(sim.played(3000), []);
        assert_eq!(sim.timeout_ms(), Some(8000));
        assert_eq!(sim.run_until(7999), []);
        assert_eq!(
            sim.run_until(8000),
            [(8000, play(&["no-input", "main-menu"], true))]
        );
        assert_eq!(sim.timeout_ms(), None);
        // The second attempt's prompt ends at 14.5 s; its timeout is at 19.5 s, then on_failure.
        sim.played(14_500);
        assert_eq!(sim.timeout_ms(), Some(19_500));
        assert_eq!(
            sim.run_until(30_000),
            [(19_500, entered("bye")), (19_500, hangup("flow.bye"))]
        );
        assert_eq!(sim.timeout_ms(), None);
    }

    #[test]
    fn invalid_key_plays_the_invalid_prompt_then_the_menu_again() {
        let mut sim = Sim::new(MENU);
        sim.start();
        sim.played(3000);
        assert_eq!(
            sim.digit(4000, '7'),
            [play(&["invalid", "main-menu"], true)]
        );
        assert_eq!(sim.timeout_ms(), None);
        // A valid key during the retry prompt cuts it short.
        assert_eq!(
            sim.digit(4500, '2'),
            [StopPlayback, entered("returns"), hangup("flow.hangup")]
        );
        assert_eq!(sim.run.digits(), "72");
    }

    #[test]
    fn invalid_key_during_the_prompt_stops_it_before_the_retry() {
        let mut sim = Sim::new(MENU);
        sim.start();
        assert_eq!(
            sim.digit(500, '9'),
            [StopPlayback, play(&["invalid", "main-menu"], true)]
        );
    }

    #[test]
    fn retries_exhausted_without_on_failure_hang_up_with_no_input() {
        let mut sim = Sim::new(
            &MENU
                .replace("on_failure = \"bye\"\n", "")
                .replace("retries = 1", "retries = 0"),
        );
        sim.start();
        sim.played(3000);
        assert_eq!(sim.digit(3100, '5'), [hangup("flow.no_input")]);
        assert!(sim.run.is_finished());
        assert_eq!(
            sim.run.end_cause().map(|c| c.as_str()),
            Some("flow.no_input")
        );
    }

    #[test]
    fn mixed_failures_share_one_count() {
        let mut sim = Sim::new(MENU);
        sim.start();
        sim.played(3000);
        sim.run_until(8000);
        sim.played(9000);
        assert_eq!(sim.digit(9500, '#'), [entered("bye"), hangup("flow.bye")]);
    }

    #[test]
    fn without_retry_prompts_only_the_menu_plays_again() {
        let text = MENU
            .replace("invalid_prompt = \"invalid\"\n", "")
            .replace("timeout_prompt = \"no-input\"\n", "");
        let mut sim = Sim::new(&text);
        sim.start();
        sim.played(3000);
        assert_eq!(sim.run_until(8000), [(8000, play(&["main-menu"], true))]);
        assert_eq!(
            sim.digit(8100, '0'),
            [StopPlayback, entered("bye"), hangup("flow.bye")]
        );
    }
}
