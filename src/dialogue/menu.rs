//! `menu`: a prompt, then one key (or, with `speech`, a spoken choice) chooses the next node.
//!
//! A key during the prompt stops it and counts at once. The timeout runs from the end of the
//! prompt. A key with no option, or no key, costs an attempt: the invalid (or timeout) prompt
//! and the menu prompt play again; when `retries` more attempts have failed, `on_failure`.
//!
//! With `speech` the menu listens from its first prompt on (see `hearing`): the caller's
//! speech stops the prompt and holds the timeout until the turn is judged. An interpretation
//! found in `speech_options`, or equal to an option's key, chooses; anything else (or a
//! `SpeechFailed`) costs a speech attempt, not a key attempt, and plays the invalid prompt and
//! the menu again. After `speech.retries` such failures the menu stops listening and goes on
//! with keys only. Keys work all along.

use std::time::Instant;

use crate::config::flow::{MenuNode, NodeName, PromptItem};
use crate::dialogue::action::{EndCause, FlowEvent};
use crate::dialogue::hearing::{Ears, Judged};
use crate::dialogue::step::{Cx, NodeStep, Step};

pub(crate) struct MenuStep {
    node: MenuNode,
    failures: u32,
    ears: Ears,
}

impl MenuStep {
    pub(crate) fn new(node: MenuNode) -> Self {
        let ears = Ears::with_fallback(node.speech.clone());
        MenuStep {
            node,
            failures: 0,
            ears,
        }
    }

    /// Plays `lead` then the menu prompt, listening if the menu still takes speech; the timeout
    /// starts once nothing plays.
    fn prompt(&mut self, now: Instant, cx: &mut Cx, lead: &[PromptItem]) -> Step {
        self.ears.open(cx);
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

    /// A spoken answer that chose nothing: the invalid prompt and the menu again, without
    /// costing a key attempt (the speech attempt is already counted).
    fn speech_missed(&mut self, now: Instant, cx: &mut Cx) -> Step {
        cx.clear_timer();
        let lead = self.node.invalid_prompt.clone();
        self.prompt(now, cx, &lead)
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

/// The node a spoken interpretation chooses: a speech option, else a key's own option.
fn spoken(node: &MenuNode, said: &str) -> Option<NodeName> {
    if let Some(to) = node.speech_options.get(said) {
        return Some(to.clone());
    }
    let mut chars = said.chars();
    match (chars.next(), chars.next()) {
        (Some(key), None) => node.options.get(&key).cloned(),
        _ => None,
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
                if !self.ears.talking() {
                    cx.set_timer(now, self.node.timeout);
                }
                Step::Stay
            }
            FlowEvent::Tick => self.fail(now, cx, Failure::Timeout),
            FlowEvent::SpeechStarted => {
                self.ears.started(cx);
                Step::Stay
            }
            FlowEvent::Heard(heard) => {
                match self.ears.judge(heard, cx, |said| spoken(&self.node, said)) {
                    Judged::Accepted(node) => Step::Goto(node),
                    Judged::Rejected => self.speech_missed(now, cx),
                    Judged::FalseStart => {
                        if !cx.is_playing() {
                            cx.set_timer(now, self.node.timeout);
                        }
                        Step::Stay
                    }
                }
            }
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

    /// MENU that also listens: two failed speech attempts, then keys only.
    fn speech_menu() -> String {
        MENU.replace(
            "on_failure = \"bye\"\n",
            "on_failure = \"bye\"\nspeech = { grammar = \"menu\", min_confidence = 0.6, retries = 2 }\nspeech_options = { order = \"order\", returns = \"returns\" }\n",
        )
    }

    /// Started at t=0: listening, the prompt playing.
    fn listening() -> Sim {
        let mut sim = Sim::new(&speech_menu());
        assert_eq!(
            sim.start(),
            [
                entered("menu"),
                listen(Some("menu"), 500),
                play(&["main-menu"], true)
            ]
        );
        sim
    }

    #[test]
    fn speech_during_the_prompt_stops_it_at_once_and_chooses() {
        let mut sim = listening();
        assert_eq!(sim.speech_started(1200), [StopPlayback]);
        assert_eq!(sim.timeout_ms(), None);
        assert_eq!(
            sim.heard(2100, "I want to check my order", Some("order"), 0.9),
            [StopListening, entered("order"), play(&["order"], false)]
        );
        assert_eq!(
            sim.heard_log(),
            [("menu".to_string(), "order".to_string(), true)]
        );
        assert_eq!(sim.run.digits(), "", "speech is not keys");
    }

    #[test]
    fn an_interpretation_equal_to_a_key_chooses_that_option() {
        let mut sim = listening();
        sim.played(3000);
        assert_eq!(
            sim.say(3500, 4200, "two", Some("2"), 0.7),
            [StopListening, entered("returns"), hangup("flow.hangup")]
        );
    }

    #[test]
    fn low_confidence_or_no_match_costs_a_speech_attempt_and_prompts_again() {
        let mut sim = listening();
        sim.played(3000);
        assert_eq!(sim.timeout_ms(), Some(8000));
        assert_eq!(sim.speech_started(4000), []);
        assert_eq!(sim.timeout_ms(), None, "no timeout while the caller talks");
        assert_eq!(
            sim.heard(5000, "order", Some("order"), 0.4),
            [play(&["invalid", "main-menu"], true)]
        );
        assert_eq!(sim.timeout_ms(), None, "the menu plays again");
        sim.played(9000);
        assert_eq!(sim.timeout_ms(), Some(14_000));
        assert_eq!(
            sim.heard_log(),
            [("menu".to_string(), "order".to_string(), false)]
        );
        // The second and last speech attempt: a grammar miss.
        assert_eq!(
            sim.say(10_000, 11_000, "what about my parcel", None, 0.9),
            [StopListening, play(&["invalid", "main-menu"], true)]
        );
        assert_eq!(sim.heard_log().len(), 2);
    }

    #[test]
    fn after_its_speech_retries_the_menu_takes_keys_only_with_its_key_attempts_intact() {
        let mut sim = listening();
        sim.say(1000, 2000, "banana", Some("banana"), 0.9);
        assert_eq!(
            sim.say(3000, 4000, "bananas", Some("banana"), 0.9),
            [
                StopPlayback,
                StopListening,
                play(&["invalid", "main-menu"], true)
            ]
        );
        assert_eq!(sim.speech_started(4500), [], "no longer listening");
        assert_eq!(sim.heard(5000, "order", Some("order"), 0.9), []);
        assert_eq!(sim.heard_log().len(), 2);
        sim.played(7000);
        // Both key attempts are left: a timeout retries, the second ends the menu.
        assert_eq!(
            sim.run_until(12_000),
            [(12_000, play(&["no-input", "main-menu"], true))]
        );
        sim.played(15_000);
        assert_eq!(
            sim.run_until(20_000),
            [(20_000, entered("bye")), (20_000, hangup("flow.bye"))]
        );
    }

    #[test]
    fn keys_work_while_listening_even_while_the_caller_talks() {
        let mut sim = listening();
        assert_eq!(
            sim.digit(800, '1'),
            [
                StopPlayback,
                StopListening,
                entered("order"),
                play(&["order"], false)
            ]
        );
        let mut sim = listening();
        sim.speech_started(900);
        assert_eq!(
            sim.digit(1500, '2'),
            [StopListening, entered("returns"), hangup("flow.hangup")]
        );
        assert_eq!(sim.heard(1600, "order", Some("order"), 0.9), [], "too late");
    }

    #[test]
    fn an_invalid_key_replays_the_menu_and_listening_goes_on() {
        let mut sim = listening();
        assert_eq!(
            sim.digit(800, '7'),
            [StopPlayback, play(&["invalid", "main-menu"], true)]
        );
        assert_eq!(
            sim.say(1000, 2000, "returns", Some("returns"), 0.8),
            [
                StopPlayback,
                StopListening,
                entered("returns"),
                hangup("flow.hangup")
            ]
        );
    }

    #[test]
    fn the_timeout_waits_while_the_caller_talks_and_restarts_after_a_false_start() {
        let mut sim = listening();
        sim.played(3000);
        assert_eq!(sim.speech_started(7900), []);
        assert_eq!(sim.run_until(30_000), [], "a long turn is never timed out");
        assert_eq!(
            sim.heard(30_000, " ", None, 0.0),
            [],
            "a cough: nothing said"
        );
        assert!(sim.run.heard().is_empty(), "false starts are not recorded");
        assert_eq!(
            sim.timeout_ms(),
            Some(35_000),
            "a fresh timeout from the cough's end"
        );
        assert_eq!(
            sim.run_until(35_000),
            [(35_000, play(&["no-input", "main-menu"], true))]
        );
    }

    #[test]
    fn a_false_start_during_the_prompt_lets_it_play_on() {
        let mut sim = listening();
        assert_eq!(sim.heard(1000, "", None, 0.2), []);
        assert_eq!(sim.timeout_ms(), None);
        sim.played(3000);
        assert_eq!(sim.timeout_ms(), Some(8000));
    }

    #[test]
    fn a_failed_recognition_is_noted_and_prompts_again() {
        let mut sim = listening();
        assert_eq!(sim.speech_started(1000), [StopPlayback]);
        assert_eq!(
            sim.speech_failed(2500, "asr: worker pool full"),
            [
                speech_failed_note("asr: worker pool full"),
                play(&["invalid", "main-menu"], true)
            ]
        );
        assert!(sim.run.heard().is_empty());
        assert_eq!(
            sim.speech_failed(3000, "asr: worker pool full"),
            [
                speech_failed_note("asr: worker pool full"),
                StopListening,
                StopPlayback,
                play(&["invalid", "main-menu"], true)
            ],
            "the second failure was the last speech attempt"
        );
    }

    #[test]
    fn running_out_of_attempts_while_listening_stops_listening_before_hanging_up() {
        let text = speech_menu()
            .replace("on_failure = \"bye\"\n", "")
            .replace("retries = 1\n", "retries = 0\n");
        let mut sim = Sim::new(&text);
        sim.start();
        sim.played(3000);
        assert_eq!(
            sim.run_until(8000),
            [(8000, StopListening), (8000, hangup("flow.no_input"))]
        );
    }
}
