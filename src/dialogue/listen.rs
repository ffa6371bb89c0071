//! `listen`: a prompt, then what the caller says into a variable; with `keys`, digits ended by
//! `#` answer too.
//!
//! The node listens from its prompt on until it is left (see `hearing`). A turn is accepted if
//! it is sure enough and has a value: the grammar's interpretation, or without a grammar the
//! text. It sets `var` to the value, `<var>_text` to the text and `<var>_confidence` to the
//! confidence with two decimals. Keys set `var` alone (and clear the other two, so nothing of an
//! earlier visit remains). No match, a failed recognition, bad keys (`#` alone, `*`, `A`-`D`)
//! or `timeout` without speech or a key after the prompt each cost one of the node's attempts;
//! after `retries` more, `on_failure`. The timeout also ends a digit entry without `#`.

use std::time::Instant;

use crate::config::flow::{ListenNode, MAX_DIGITS_LIMIT, PromptItem};
use crate::dialogue::action::{EndCause, FlowEvent, Heard};
use crate::dialogue::hearing::{Ears, Judged};
use crate::dialogue::step::{Cx, NodeStep, Step};

pub(crate) struct ListenStep {
    node: ListenNode,
    ears: Ears,
    /// Keys of the current attempt.
    typed: String,
    failures: u32,
}

enum Failure {
    Invalid,
    Timeout,
}

impl ListenStep {
    pub(crate) fn new(node: ListenNode) -> Self {
        let ears = Ears::always(node.speech.clone());
        ListenStep {
            node,
            ears,
            typed: String::new(),
            failures: 0,
        }
    }

    /// Starts an attempt: listen (if not yet), `lead` then the prompt; the timeout starts once
    /// nothing plays.
    fn prompt(&mut self, now: Instant, cx: &mut Cx, lead: &[PromptItem]) -> Step {
        self.typed.clear();
        self.ears.open(cx);
        if !cx.play(&[lead, &self.node.prompt], true) {
            cx.set_timer(now, self.node.timeout);
        }
        Step::Stay
    }

    fn key(&mut self, now: Instant, cx: &mut Cx, key: char) -> Step {
        cx.stop_playback();
        if key == '#' {
            return self.keys_done(now, cx);
        }
        if !key.is_ascii_digit() {
            return self.fail(now, cx, Failure::Invalid);
        }
        self.typed.push(key);
        if self.typed.len() >= MAX_DIGITS_LIMIT as usize {
            return self.keys_done(now, cx);
        }
        cx.set_timer(now, self.node.timeout);
        Step::Stay
    }

    fn keys_done(&mut self, now: Instant, cx: &mut Cx) -> Step {
        if self.typed.is_empty() {
            return self.fail(now, cx, Failure::Invalid);
        }
        cx.clear_timer();
        let var = self.node.var.as_str();
        cx.vars.remove(&format!("{var}_text"));
        cx.vars.remove(&format!("{var}_confidence"));
        cx.vars
            .insert(var.to_string(), std::mem::take(&mut self.typed));
        Step::Goto(self.node.next.clone())
    }

    fn heard(&mut self, now: Instant, cx: &mut Cx, heard: &Heard) -> Step {
        let judged = self.ears.judge(heard, cx, |said| {
            (!said.is_empty()).then(|| said.to_string())
        });
        match judged {
            Judged::Accepted(value) => {
                cx.clear_timer();
                let var = self.node.var.as_str();
                cx.vars.insert(var.to_string(), value);
                cx.vars.insert(format!("{var}_text"), heard.text.clone());
                cx.vars.insert(
                    format!("{var}_confidence"),
                    format!("{:.2}", heard.confidence.clamp(0.0, 1.0)),
                );
                Step::Goto(self.node.next.clone())
            }
            Judged::Rejected => self.fail(now, cx, Failure::Invalid),
            Judged::FalseStart => {
                if !cx.is_playing() {
                    cx.set_timer(now, self.node.timeout);
                }
                Step::Stay
            }
        }
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

impl NodeStep for ListenStep {
    fn enter(&mut self, now: Instant, cx: &mut Cx) -> Step {
        let typed = cx.take_typeahead();
        if !self.node.keys || typed.is_empty() {
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
            FlowEvent::Digit(key) if self.node.keys => self.key(now, cx, *key),
            FlowEvent::PlaybackFinished => {
                if self.typed.is_empty() && !self.ears.talking() {
                    cx.set_timer(now, self.node.timeout);
                }
                Step::Stay
            }
            FlowEvent::Tick if self.typed.is_empty() => self.fail(now, cx, Failure::Timeout),
            FlowEvent::Tick => self.keys_done(now, cx),
            FlowEvent::SpeechStarted => {
                self.ears.started(cx);
                Step::Stay
            }
            FlowEvent::Heard(heard) => self.heard(now, cx, heard),
            FlowEvent::SpeechFailed { reason } => {
                self.ears.failed(reason, cx);
                self.fail(now, cx, Failure::Invalid)
            }
            _ => Step::Stay,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::dialogue::FlowAction::{self, StopListening, StopPlayback};
    use crate::dialogue::testkit::{Sim, entered, hangup, play, speech_failed_note};
    use crate::dialogue::{ListenRequest, Vars};

    const LISTEN: &str = r#"
start = "name"
[nodes.name]
kind = "listen"
prompt = "say-name"
speech = { hints = "Kefu", min_confidence = 0.6, end_silence_ms = 700, denoise = false }
var = "name"
timeout_ms = 4000
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

    /// The `Listen` of LISTEN.
    fn request() -> FlowAction {
        FlowAction::Listen(ListenRequest {
            grammar: None,
            hints: Some("Kefu".to_string()),
            end_silence: Duration::from_millis(700),
            denoise: false,
        })
    }

    fn listening(text: &str) -> Sim {
        let mut sim = Sim::new(text);
        let actions = sim.start();
        assert_eq!(actions[0], entered("name"));
        assert!(matches!(actions[1], FlowAction::Listen(_)), "{actions:?}");
        assert_eq!(actions[2..], [play(&["say-name"], true)]);
        sim
    }

    fn var<'a>(sim: &'a Sim, name: &str) -> Option<&'a str> {
        sim.run.vars().get(name).map(String::as_str)
    }

    #[test]
    fn without_a_prompt_it_listens_and_times_out_at_once() {
        let text = LISTEN.replace("prompt = \"say-name\"\n", "");
        let mut sim = Sim::new(&text);
        assert_eq!(sim.start(), [entered("name"), request()], "no play");
        assert_eq!(sim.run.poll_timeout(), Some(sim.at(4000)));
    }

    #[test]
    fn the_request_carries_the_speech_table() {
        let mut sim = Sim::new(LISTEN);
        assert_eq!(sim.start()[1], request());
    }

    #[test]
    fn without_a_grammar_the_text_fills_the_variables() {
        let mut sim = listening(LISTEN);
        assert_eq!(sim.speech_started(1800), [StopPlayback]);
        assert_eq!(
            sim.heard(3100, " Ada Lovelace ", None, 0.876),
            [StopListening, entered("done"), hangup("flow.done")]
        );
        assert_eq!(var(&sim, "name"), Some("Ada Lovelace"));
        assert_eq!(var(&sim, "name_text"), Some(" Ada Lovelace "));
        assert_eq!(var(&sim, "name_confidence"), Some("0.88"));
        assert_eq!(
            sim.heard_log(),
            [("name".to_string(), " Ada Lovelace ".to_string(), true)]
        );
    }

    #[test]
    fn with_a_grammar_the_interpretation_fills_the_variable() {
        let text = LISTEN.replace("hints = \"Kefu\"", "grammar = \"yes_no\"");
        let mut sim = listening(&text);
        sim.played(2000);
        assert_eq!(
            sim.say(2500, 3000, "yes please", Some("yes"), 0.95),
            [StopListening, entered("done"), hangup("flow.done")]
        );
        assert_eq!(var(&sim, "name"), Some("yes"));
        assert_eq!(var(&sim, "name_text"), Some("yes please"));
        assert_eq!(var(&sim, "name_confidence"), Some("0.95"));
    }

    #[test]
    fn no_match_or_low_confidence_costs_an_attempt_then_on_failure() {
        let text = LISTEN.replace("hints = \"Kefu\"", "grammar = \"yes_no\"");
        let mut sim = listening(&text);
        sim.played(2000);
        assert_eq!(
            sim.say(2500, 3000, "maybe", None, 0.9),
            [play(&["invalid", "say-name"], true)]
        );
        assert_eq!(
            sim.say(3500, 4000, "yes", Some("yes"), 0.5),
            [
                StopPlayback,
                StopListening,
                entered("bye"),
                hangup("flow.bye")
            ]
        );
        assert_eq!(var(&sim, "name"), None);
        assert_eq!(
            sim.heard_log(),
            [
                ("name".to_string(), "maybe".to_string(), false),
                ("name".to_string(), "yes".to_string(), false)
            ]
        );
    }

    #[test]
    fn silence_after_the_prompt_times_out_but_not_while_the_caller_talks() {
        let mut sim = listening(LISTEN);
        sim.played(2000);
        assert_eq!(sim.timeout_ms(), Some(6000));
        assert_eq!(
            sim.run_until(6000),
            [(6000, play(&["no-input", "say-name"], true))]
        );
        sim.played(9000);
        sim.speech_started(12_900);
        assert_eq!(sim.run_until(60_000), []);
        assert_eq!(
            sim.heard(60_000, "I am still thinking", None, 0.9),
            [StopListening, entered("done"), hangup("flow.done")]
        );
    }

    #[test]
    fn digits_ended_by_hash_fill_the_variable_alone() {
        let mut vars = Vars::new();
        vars.insert("name_text".to_string(), "stale".to_string());
        vars.insert("name_confidence".to_string(), "0.99".to_string());
        let mut sim = Sim::with_vars(LISTEN, vars);
        sim.start();
        assert_eq!(sim.type_keys(1000, 300, "42"), [StopPlayback]);
        assert_eq!(
            sim.timeout_ms(),
            Some(5300),
            "the timeout runs from the last key"
        );
        assert_eq!(
            sim.digit(1800, '#'),
            [StopListening, entered("done"), hangup("flow.done")]
        );
        assert_eq!(var(&sim, "name"), Some("42"));
        assert_eq!(var(&sim, "name_text"), None);
        assert_eq!(var(&sim, "name_confidence"), None);
    }

    #[test]
    fn the_timeout_ends_a_digit_entry_and_bad_keys_cost_an_attempt() {
        let mut sim = listening(LISTEN);
        sim.played(2000);
        sim.digit(2500, '7');
        assert_eq!(
            sim.run_until(6500),
            [
                (6500, StopListening),
                (6500, entered("done")),
                (6500, hangup("flow.done"))
            ]
        );
        assert_eq!(var(&sim, "name"), Some("7"));
        let mut sim = listening(LISTEN);
        assert_eq!(
            sim.digit(500, '#'),
            [StopPlayback, play(&["invalid", "say-name"], true)]
        );
        assert_eq!(
            sim.digit(900, '*'),
            [
                StopPlayback,
                StopListening,
                entered("bye"),
                hangup("flow.bye")
            ]
        );
    }

    #[test]
    fn without_keys_a_key_changes_nothing() {
        let text = LISTEN.replace("on_failure = \"bye\"", "on_failure = \"bye\"\nkeys = false");
        let mut sim = listening(&text);
        assert_eq!(sim.type_keys(500, 100, "12#"), []);
        assert_eq!(sim.run.digits(), "12#");
        sim.played(2000);
        assert_eq!(sim.timeout_ms(), Some(6000));
    }

    #[test]
    fn a_failed_recognition_is_noted_and_costs_an_attempt() {
        let mut sim = listening(LISTEN);
        sim.speech_started(1000);
        assert_eq!(
            sim.speech_failed(2000, "whisper: out of memory"),
            [
                speech_failed_note("whisper: out of memory"),
                play(&["invalid", "say-name"], true)
            ]
        );
        sim.played(5000);
        assert_eq!(
            sim.speech_failed(5500, "whisper: out of memory"),
            [
                speech_failed_note("whisper: out of memory"),
                StopListening,
                entered("bye"),
                hangup("flow.bye")
            ]
        );
        assert!(sim.run.heard().is_empty());
    }

    #[test]
    fn keys_typed_ahead_are_taken_without_the_prompt() {
        let text = format!(
            "start = \"hello\"\n[nodes.hello]\nkind = \"play\"\nprompt = \"hello\"\nbarge_in = true\nnext = \"name\"\n{}",
            LISTEN.replace("start = \"name\"\n", "")
        );
        let mut sim = Sim::new(&text);
        sim.start();
        assert_eq!(
            sim.digit(700, '5'),
            [StopPlayback, entered("name"), request()]
        );
        assert_eq!(sim.timeout_ms(), Some(4700));
        assert_eq!(
            sim.digit(900, '#'),
            [StopListening, entered("done"), hangup("flow.done")]
        );
        assert_eq!(var(&sim, "name"), Some("5"));
    }
}
