//! `collect`: a prompt, then a digit string into a variable.
//!
//! Digits typed during the prompt stop it and count. Input ends with the terminator, at
//! `max_digits`, or when `inter_digit_timeout` passes after a digit; it is accepted if it has at
//! least `min_digits`. Too short, a key that is not a digit, or no digit within
//! `first_digit_timeout` of the prompt's end costs an attempt, as in a menu.

use std::time::Instant;

use crate::config::flow::{CollectNode, PromptItem};
use crate::dialogue::action::{EndCause, FlowEvent};
use crate::dialogue::step::{Cx, NodeStep, Step};

pub(crate) struct CollectStep {
    node: CollectNode,
    /// Digits of the current attempt.
    typed: String,
    failures: u32,
}

enum Failure {
    Invalid,
    Timeout,
}

impl CollectStep {
    pub(crate) fn new(node: CollectNode) -> Self {
        CollectStep {
            node,
            typed: String::new(),
            failures: 0,
        }
    }

    /// Starts an attempt: `lead` then the prompt; the first-digit timeout starts once nothing
    /// plays.
    fn prompt(&mut self, now: Instant, cx: &mut Cx, lead: &[PromptItem]) -> Step {
        self.typed.clear();
        if !cx.play(&[lead, &self.node.prompt], true) {
            cx.set_timer(now, self.node.first_digit_timeout);
        }
        Step::Stay
    }

    fn key(&mut self, now: Instant, cx: &mut Cx, key: char) -> Step {
        cx.stop_playback();
        if Some(key) == self.node.terminator {
            return self.finish(now, cx);
        }
        if !key.is_ascii_digit() {
            return self.fail(now, cx, Failure::Invalid);
        }
        self.typed.push(key);
        if self.len() >= self.node.max_digits {
            return self.finish(now, cx);
        }
        cx.set_timer(now, self.node.inter_digit_timeout);
        Step::Stay
    }

    fn len(&self) -> u32 {
        // At most MAX_DIGITS_LIMIT digits are ever kept.
        u32::try_from(self.typed.len()).unwrap_or(u32::MAX)
    }

    fn finish(&mut self, now: Instant, cx: &mut Cx) -> Step {
        if self.len() < self.node.min_digits {
            return self.fail(now, cx, Failure::Invalid);
        }
        cx.clear_timer();
        cx.vars
            .insert(self.node.var.to_string(), std::mem::take(&mut self.typed));
        Step::Goto(self.node.next.clone())
    }

    fn fail(&mut self, now: Instant, cx: &mut Cx, failure: Failure) -> Step {
        cx.clear_timer();
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

impl NodeStep for CollectStep {
    fn enter(&mut self, now: Instant, cx: &mut Cx) -> Step {
        let typed = cx.take_typeahead();
        if typed.is_empty() {
            return self.prompt(now, cx, &[]);
        }
        // The caller is already typing: no prompt, the keys count as typed here.
        for key in typed.chars() {
            let step = self.key(now, cx, key);
            if step != Step::Stay {
                return step;
            }
        }
        Step::Stay
    }

    fn handle(&mut self, now: Instant, event: &FlowEvent, cx: &mut Cx) -> Step {
        match event {
            FlowEvent::Digit(key) => self.key(now, cx, *key),
            FlowEvent::PlaybackFinished => {
                if self.typed.is_empty() {
                    cx.set_timer(now, self.node.first_digit_timeout);
                }
                Step::Stay
            }
            FlowEvent::Tick if self.typed.is_empty() => self.fail(now, cx, Failure::Timeout),
            FlowEvent::Tick => self.finish(now, cx),
            _ => Step::Stay,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::dialogue::FlowAction::StopPlayback;
    use crate::dialogue::testkit::{Sim, entered, hangup, play};

    const COLLECT: &str = r#"
start = "ask"
[nodes.ask]
kind = "collect"
prompt = "order-ask"
var = "order"
min_digits = 4
max_digits = 6
first_digit_timeout_ms = 5000
inter_digit_timeout_ms = 3000
retries = 1
invalid_prompt = "invalid"
timeout_prompt = "no-input"
next = "done"
on_failure = "bye"
[nodes.done]
kind = "hangup"
cause = "flow.done"
[nodes.bye]
kind = "hangup"
cause = "flow.bye"
"#;

    fn order(sim: &Sim) -> Option<&str> {
        sim.run.vars().get("order").map(String::as_str)
    }

    #[test]
    fn digits_during_the_prompt_count_and_hash_ends() {
        let mut sim = Sim::new(COLLECT);
        assert_eq!(sim.start(), [entered("ask"), play(&["order-ask"], true)]);
        assert_eq!(sim.digit(1000, '1'), [StopPlayback]);
        assert_eq!(sim.timeout_ms(), Some(4000));
        sim.type_keys(1500, 500, "234");
        assert_eq!(sim.timeout_ms(), Some(5500));
        assert_eq!(sim.digit(3000, '#'), [entered("done"), hangup("flow.done")]);
        assert_eq!(order(&sim), Some("1234"));
        assert_eq!(sim.run.digits(), "1234#");
    }

    #[test]
    fn reaching_max_digits_ends_at_once() {
        let mut sim = Sim::new(COLLECT);
        sim.start();
        sim.played(2000);
        let actions = sim.type_keys(2500, 300, "123456");
        assert_eq!(actions, [entered("done"), hangup("flow.done")]);
        assert_eq!(order(&sim), Some("123456"));
    }

    #[test]
    fn inter_digit_timeout_ends_input_that_is_long_enough() {
        let mut sim = Sim::new(COLLECT);
        sim.start();
        sim.played(2000);
        assert_eq!(sim.timeout_ms(), Some(7000));
        sim.type_keys(3000, 1000, "98765");
        assert_eq!(sim.timeout_ms(), Some(10_000));
        assert_eq!(
            sim.run_until(10_000),
            [(10_000, entered("done")), (10_000, hangup("flow.done"))]
        );
        assert_eq!(order(&sim), Some("98765"));
    }

    #[test]
    fn too_short_input_retries_with_the_invalid_prompt() {
        let mut sim = Sim::new(COLLECT);
        sim.start();
        sim.played(2000);
        sim.type_keys(3000, 1000, "12");
        assert_eq!(
            sim.run_until(7000),
            [(7000, play(&["invalid", "order-ask"], true))]
        );
        // The new attempt starts empty: earlier digits do not count.
        sim.played(10_000);
        sim.type_keys(10_500, 100, "3456");
        assert_eq!(
            sim.digit(11_000, '#'),
            [entered("done"), hangup("flow.done")]
        );
        assert_eq!(order(&sim), Some("3456"));
    }

    #[test]
    fn terminator_before_min_digits_is_invalid() {
        let mut sim = Sim::new(COLLECT);
        sim.start();
        assert_eq!(
            sim.type_keys(500, 200, "12#"),
            [StopPlayback, play(&["invalid", "order-ask"], true)]
        );
        assert_eq!(sim.timeout_ms(), None);
    }

    #[test]
    fn a_key_that_is_not_a_digit_is_invalid() {
        let mut sim = Sim::new(COLLECT);
        sim.start();
        sim.played(2000);
        assert_eq!(
            sim.type_keys(2500, 200, "12*"),
            [play(&["invalid", "order-ask"], true)]
        );
    }

    #[test]
    fn first_digit_timeout_counts_from_the_end_of_the_prompt_then_fails() {
        let mut sim = Sim::new(COLLECT);
        sim.start();
        sim.played(2500);
        assert_eq!(
            sim.run_until(7500),
            [(7500, play(&["no-input", "order-ask"], true))]
        );
        sim.played(11_000);
        assert_eq!(sim.timeout_ms(), Some(16_000));
        assert_eq!(
            sim.run_until(16_000),
            [(16_000, entered("bye")), (16_000, hangup("flow.bye"))]
        );
        assert_eq!(order(&sim), None);
    }

    #[test]
    fn without_a_terminator_hash_is_an_invalid_key() {
        let text = COLLECT.replace("min_digits = 4", "min_digits = 4\nterminator = \"\"");
        let mut sim = Sim::new(&text);
        sim.start();
        sim.played(1000);
        assert_eq!(
            sim.type_keys(1500, 100, "1234#"),
            [play(&["invalid", "order-ask"], true)]
        );
    }

    #[test]
    fn running_out_of_attempts_without_on_failure_hangs_up() {
        let text = COLLECT
            .replace("on_failure = \"bye\"\n", "")
            .replace("retries = 1", "retries = 0");
        let mut sim = Sim::new(&text);
        sim.start();
        sim.played(1000);
        assert_eq!(sim.run_until(6000), [(6000, hangup("flow.no_input"))]);
    }
}
