//! `collect`: a prompt, then a digit string into a variable.
//!
//! Digits typed during the prompt stop it and count. Input ends with the terminator, at
//! `max_digits`, or when `inter_digit_timeout` passes after a digit; it is accepted if it has at
//! least `min_digits`. Too short, a key that is not a digit, or no digit within
//! `first_digit_timeout` of the prompt's end costs an attempt, as in a menu.
//!
//! With `speech` the node listens too (see `hearing`): an interpretation that is a digit string
//! of `min_digits..=max_digits` fills the variable as if typed (the run's `digits()` keep only
//! real keys). Anything else costs a speech attempt and plays the invalid prompt again, and
//! after `speech.retries` of those the node takes keys only, as a menu does.

use std::time::Instant;

use crate::config::flow::{CollectNode, PromptItem};
use crate::dialogue::action::{EndCause, FlowEvent, Heard};
use crate::dialogue::hearing::{Ears, Judged};
use crate::dialogue::step::{Cx, NodeStep, Step};

pub(crate) struct CollectStep {
    node: CollectNode,
    /// Digits of the current attempt.
    typed: String,
    failures: u32,
    ears: Ears,
}

enum Failure {
    Invalid,
    Timeout,
}

impl CollectStep {
    pub(crate) fn new(node: CollectNode) -> Self {
        let ears = Ears::with_fallback(node.speech.clone());
        CollectStep {
            node,
            typed: String::new(),
            failures: 0,
            ears,
        }
    }

    /// Starts an attempt: `lead` then the prompt, listening if the node still takes speech; the
    /// first-digit timeout starts once nothing plays.
    fn prompt(&mut self, now: Instant, cx: &mut Cx, lead: &[PromptItem]) -> Step {
        self.typed.clear();
        self.ears.open(cx);
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

    /// Waits again after the prompt, a key, or a false start: for the first digit or the next.
    fn wait(&mut self, now: Instant, cx: &mut Cx) {
        if self.typed.is_empty() {
            cx.set_timer(now, self.node.first_digit_timeout);
        } else {
            cx.set_timer(now, self.node.inter_digit_timeout);
        }
    }

    fn heard(&mut self, now: Instant, cx: &mut Cx, heard: &Heard) -> Step {
        let (min, max) = (self.node.min_digits, self.node.max_digits);
        let fits = |said: &str| {
            let len = u32::try_from(said.len()).unwrap_or(u32::MAX);
            (min..=max).contains(&len) && said.bytes().all(|b| b.is_ascii_digit())
        };
        match self
            .ears
            .judge(heard, cx, |said| fits(said).then(|| said.to_string()))
        {
            Judged::Accepted(digits) => {
                cx.clear_timer();
                self.typed.clear();
                cx.vars.insert(self.node.var.to_string(), digits);
                Step::Goto(self.node.next.clone())
            }
            Judged::Rejected => self.speech_missed(now, cx),
            Judged::FalseStart => {
                if !cx.is_playing() {
                    self.wait(now, cx);
                }
                Step::Stay
            }
        }
    }

    /// A spoken answer that was no digit string of the right length: the invalid prompt and a
    /// fresh attempt, without costing a key attempt (the speech attempt is already counted).
    fn speech_missed(&mut self, now: Instant, cx: &mut Cx) -> Step {
        cx.clear_timer();
        let lead = self.node.invalid_prompt.clone();
        self.prompt(now, cx, &lead)
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
        self.ears.open(cx);
        Step::Stay
    }

    fn handle(&mut self, now: Instant, event: &FlowEvent, cx: &mut Cx) -> Step {
        match event {
            FlowEvent::Digit(key) => self.key(now, cx, *key),
            FlowEvent::PlaybackFinished => {
                if self.typed.is_empty() && !self.ears.talking() {
                    cx.set_timer(now, self.node.first_digit_timeout);
                }
                Step::Stay
            }
            FlowEvent::Tick if self.typed.is_empty() => self.fail(now, cx, Failure::Timeout),
            FlowEvent::Tick => self.finish(now, cx),
            FlowEvent::SpeechStarted => {
                self.ears.started(cx);
                Step::Stay
            }
            FlowEvent::Heard(heard) => self.heard(now, cx, heard),
            FlowEvent::SpeechFailed { reason } => {
                self.ears.failed(reason, cx);
                self.speech_missed(now, cx)
            }
            _ => Step::Stay,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::dialogue::FlowAction::{StopListening, StopPlayback};
    use crate::dialogue::testkit::{Sim, entered, hangup, listen, play, speech_failed_note};

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

    /// COLLECT that also listens, with one speech attempt (the default).
    fn listening() -> Sim {
        let text = COLLECT.replace(
            "on_failure = \"bye\"\n",
            "on_failure = \"bye\"\nspeech = { grammar = \"order_number\", end_silence_ms = 1000 }\n",
        );
        let mut sim = Sim::new(&text);
        assert_eq!(
            sim.start(),
            [
                entered("ask"),
                listen(Some("order_number"), 1000),
                play(&["order-ask"], true)
            ]
        );
        sim
    }

    #[test]
    fn a_spoken_number_fills_the_variable_but_not_the_keys() {
        let mut sim = listening();
        assert_eq!(sim.speech_started(1500), [StopPlayback]);
        assert_eq!(sim.timeout_ms(), None);
        assert_eq!(
            sim.heard(5200, "it's one two three four five", Some("12345"), 0.8),
            [StopListening, entered("done"), hangup("flow.done")]
        );
        assert_eq!(order(&sim), Some("12345"));
        assert_eq!(sim.run.digits(), "");
        assert_eq!(
            sim.heard_log(),
            [("ask".to_string(), "12345".to_string(), true)]
        );
    }

    #[test]
    fn a_spoken_number_of_the_wrong_length_is_invalid_then_keys_only() {
        let mut sim = listening();
        sim.played(2000);
        assert_eq!(
            sim.say(3000, 4000, "one two", Some("12"), 0.9),
            [StopListening, play(&["invalid", "order-ask"], true)]
        );
        assert_eq!(sim.speech_started(4500), [], "keys only now");
        sim.played(7000);
        assert_eq!(
            sim.timeout_ms(),
            Some(12_000),
            "a key attempt was not spent"
        );
        sim.type_keys(8000, 200, "4567");
        assert_eq!(sim.digit(9000, '#'), [entered("done"), hangup("flow.done")]);
        assert_eq!(order(&sim), Some("4567"));
    }

    #[test]
    fn speech_that_is_not_digits_or_too_unsure_is_no_match() {
        for (said, confidence) in [("12a45", 0.9), ("1234567", 0.9), ("12345", 0.3)] {
            let mut sim = listening();
            assert_eq!(
                sim.heard(1000, "something", Some(said), confidence),
                [
                    StopListening,
                    StopPlayback,
                    play(&["invalid", "order-ask"], true)
                ],
                "{said} at {confidence}"
            );
            assert_eq!(order(&sim), None);
        }
    }

    #[test]
    fn speech_after_some_keys_replaces_them_and_holds_the_digit_timer() {
        let mut sim = listening();
        assert_eq!(sim.type_keys(1000, 500, "98"), [StopPlayback]);
        assert_eq!(sim.timeout_ms(), Some(4500));
        sim.speech_started(2000);
        assert_eq!(sim.timeout_ms(), None);
        assert_eq!(
            sim.heard(6000, "four four four four", Some("4444"), 0.9),
            [StopListening, entered("done"), hangup("flow.done")]
        );
        assert_eq!(order(&sim), Some("4444"));
        assert_eq!(sim.run.digits(), "98");
    }

    #[test]
    fn a_false_start_restarts_the_timer_it_held() {
        let mut sim = listening();
        sim.played(2000);
        sim.speech_started(3000);
        assert_eq!(sim.heard(3400, "", None, 0.0), []);
        assert_eq!(sim.timeout_ms(), Some(8400), "first-digit timeout again");
        sim.digit(4000, '1');
        sim.speech_started(4500);
        assert_eq!(sim.heard(4800, "", None, 0.0), []);
        assert_eq!(sim.timeout_ms(), Some(7800), "inter-digit timeout again");
    }

    #[test]
    fn a_failed_recognition_is_noted_and_retried_with_keys() {
        let mut sim = listening();
        sim.speech_started(800);
        assert_eq!(
            sim.speech_failed(3000, "whisper: decode error"),
            [
                speech_failed_note("whisper: decode error"),
                StopListening,
                play(&["invalid", "order-ask"], true)
            ]
        );
    }
}
