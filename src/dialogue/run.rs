//! `FlowRun`: one call's walk through a flow.

use std::sync::Arc;
use std::time::Instant;

use jiff::civil::Date;

use crate::config::flow::{Flow, NodeName, is_dtmf_key};
use crate::dialogue::ConverseReport;
use crate::dialogue::action::{EndCause, FlowAction, FlowEvent, Vars};
use crate::dialogue::assistant::Knowledge;
use crate::dialogue::hearing::HeardEntry;
use crate::dialogue::step::{Cx, NodeStep, Step, step_for};

/// Nodes one input may pass through before the flow is judged to be going round in circles.
pub const LOOP_LIMIT: usize = 1000;

/// One call's walk through a flow. Sans-IO: the driver passes time and events in and carries
/// out the actions; nothing here reads a clock or blocks.
///
/// ```text
/// run.start(now);                         // then after every call below:
/// while let Some(a) = run.poll_action() { /* do it */ }
/// run.poll_timeout()                      // wake up then and call run.handle(t, FlowEvent::Tick)
/// run.handle(now, FlowEvent::Digit('1'));
/// ```
pub struct FlowRun {
    flow: Arc<Flow>,
    cx: Cx,
    /// The current node's step; `None` before `start` and after the end.
    step: Option<Box<dyn NodeStep>>,
    state: RunState,
    /// When `max_duration` runs out.
    deadline: Option<Instant>,
    path: Vec<NodeName>,
    digits: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum RunState {
    NotStarted,
    Running,
    Ended(EndCause),
}

impl FlowRun {
    pub fn new(flow: Arc<Flow>, vars: Vars) -> Self {
        FlowRun {
            flow,
            cx: Cx::new(vars),
            step: None,
            state: RunState::NotStarted,
            deadline: None,
            path: Vec::new(),
            digits: String::new(),
        }
    }

    /// Enters the start node. Only the first call does anything.
    pub fn start(&mut self, now: Instant) {
        if self.state != RunState::NotStarted {
            return;
        }
        self.state = RunState::Running;
        self.deadline = self.flow.max_duration.and_then(|d| now.checked_add(d));
        let start = self.flow.start.clone();
        self.enter(now, start);
    }

    /// Feeds one event. Ignored before `start` and after the end.
    pub fn handle(&mut self, now: Instant, event: FlowEvent) {
        if self.state != RunState::Running {
            return;
        }
        if self.deadline.is_some_and(|deadline| now >= deadline) {
            self.end(EndCause::MAX_DURATION);
            return;
        }
        let event = match event {
            FlowEvent::Digit(key) => {
                let key = key.to_ascii_uppercase();
                if !is_dtmf_key(key) {
                    return;
                }
                self.digits.push(key);
                FlowEvent::Digit(key)
            }
            FlowEvent::PlaybackFinished if !self.cx.playback_finished() => return,
            FlowEvent::RecordingFinished { .. } if !self.cx.recording_finished() => return,
            FlowEvent::SpeechStarted | FlowEvent::Heard(_) | FlowEvent::SpeechFailed { .. }
                if !self.cx.is_listening() =>
            {
                return;
            }
            FlowEvent::Tick => {
                if self.cx.timer().is_none_or(|at| now < at) {
                    return;
                }
                self.cx.clear_timer();
                FlowEvent::Tick
            }
            other => other,
        };
        let Some(step) = self.step.as_mut() else {
            return;
        };
        let next = step.handle(now, &event, &mut self.cx);
        self.follow(now, next);
    }

    /// The next thing to do, oldest first.
    pub fn poll_action(&mut self) -> Option<FlowAction> {
        self.cx.pop()
    }

    /// When to call `handle(t, FlowEvent::Tick)`, if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.state != RunState::Running {
            return None;
        }
        match (self.cx.timer(), self.deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn flow(&self) -> &Flow {
        &self.flow
    }

    pub fn vars(&self) -> &Vars {
        &self.cx.vars
    }

    /// Every node entered, in order (a node visited twice appears twice).
    pub fn path(&self) -> &[NodeName] {
        &self.path
    }

    /// Every key the caller pressed, in order. Speech is not in it, even where it filled a
    /// variable as if typed: see [`heard`](Self::heard).
    pub fn digits(&self) -> &str {
        &self.digits
    }

    /// Every turn recognised while a node listened (false starts aside), in order, with whether
    /// the node accepted it.
    pub fn heard(&self) -> &[HeardEntry] {
        self.cx.heard()
    }

    /// What the shop assistant answers from (`converse` nodes), and the day it is: set before
    /// `start`, and again whenever the shop changes. Without it a `converse` node fails over.
    pub fn set_knowledge(&mut self, knowledge: Arc<Knowledge>, today: Date) {
        self.cx.desk.set_knowledge(knowledge, today);
    }

    /// How the call's conversation with the assistant went, if it had one.
    pub fn conversation(&self) -> Option<ConverseReport> {
        self.cx.desk.report()
    }

    /// The end cause once the flow has hung up.
    pub fn end_cause(&self) -> Option<&EndCause> {
        match &self.state {
            RunState::Ended(cause) => Some(cause),
            _ => None,
        }
    }

    pub fn is_finished(&self) -> bool {
        matches!(self.state, RunState::Ended(_))
    }

    fn follow(&mut self, now: Instant, next: Step) {
        match next {
            Step::Stay => {}
            Step::Goto(node) => self.enter(now, node),
            Step::End(cause) => self.end(cause),
        }
    }

    /// Makes `node` current, then follows nodes that move on at once, up to `LOOP_LIMIT`.
    fn enter(&mut self, now: Instant, mut node: NodeName) {
        for _ in 0..LOOP_LIMIT {
            let Some(config) = self.flow.node(&node) else {
                self.end(EndCause::BROKEN);
                return;
            };
            let mut step = step_for(&config.kind, &self.flow);
            // The node being left may have listened; the next one asks again if it listens
            // (unless the last one handed its listening over to it).
            if !self.cx.take_hand_over() {
                self.cx.stop_listening();
            }
            self.path.push(node.clone());
            self.cx.clear_timer();
            self.cx.set_node(node.clone());
            self.cx.push(FlowAction::NodeEntered { name: node });
            match step.enter(now, &mut self.cx) {
                Step::Stay => {
                    // Keys typed ahead are for the node that takes keys; this one has used
                    // them or has no use for them.
                    self.cx.take_typeahead();
                    self.step = Some(step);
                    return;
                }
                Step::Goto(next) => node = next,
                Step::End(cause) => {
                    self.end(cause);
                    return;
                }
            }
        }
        self.end(EndCause::LOOP);
    }

    fn end(&mut self, cause: EndCause) {
        self.step = None;
        self.cx.clear_timer();
        self.cx.stop_listening();
        self.cx.push(FlowAction::Hangup {
            cause: cause.clone(),
        });
        self.state = RunState::Ended(cause);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use proptest::prelude::*;

    use super::*;
    use crate::config::flow::{Node, NodeKind, SetNode};
    use crate::dialogue::FlowAction::StopListening;
    use crate::dialogue::testkit::{Sim, entered, hangup, listen, play};
    use crate::dialogue::{Heard, TransferOutcome};

    const LOOP: &str = r#"
start = "a"
[nodes.a]
kind = "set"
vars = { x = "1" }
next = "b"
[nodes.b]
kind = "branch"
var = "x"
default = "a"
"#;

    #[test]
    fn a_loop_without_input_hangs_up_instead_of_spinning() {
        let mut sim = Sim::new(LOOP);
        let actions = sim.start();
        assert_eq!(actions.len(), LOOP_LIMIT + 1);
        assert_eq!(actions.last(), Some(&hangup("flow.loop")));
        assert_eq!(sim.run.path().len(), LOOP_LIMIT);
        assert!(sim.run.is_finished());
    }

    #[test]
    fn a_loop_through_a_prompt_is_not_a_loop() {
        let text = r#"
start = "hold"
[nodes.hold]
kind = "play"
prompt = "music"
next = "hold"
"#;
        let mut sim = Sim::new(text);
        sim.start();
        for i in 1..=2000 {
            assert_eq!(
                sim.played(i * 10),
                [entered("hold"), play(&["music"], false)]
            );
        }
        assert!(!sim.run.is_finished());
    }

    const TIMED: &str = r#"
max_duration_s = 10
start = "menu"
[nodes.menu]
kind = "menu"
prompt = "menu"
options = { "1" = "menu" }
timeout_ms = 4000
retries = 5
"#;

    #[test]
    fn max_duration_hangs_up_at_the_deadline() {
        let mut sim = Sim::new(TIMED);
        sim.start();
        assert_eq!(sim.timeout_ms(), Some(10_000));
        sim.played(3000);
        assert_eq!(sim.timeout_ms(), Some(7000));
        assert_eq!(sim.run_until(7000), [(7000, play(&["menu"], true))]);
        sim.played(9000);
        assert_eq!(
            sim.timeout_ms(),
            Some(10_000),
            "the deadline comes before 13 s"
        );
        assert_eq!(
            sim.run_until(20_000),
            [(10_000, hangup("flow.max_duration"))]
        );
        assert_eq!(sim.timeout_ms(), None);
        assert_eq!(sim.digit(10_500, '1'), [], "nothing after the end");
    }

    #[test]
    fn any_event_after_the_deadline_ends_the_call() {
        let mut sim = Sim::new(TIMED);
        sim.start();
        assert_eq!(sim.digit(10_001, '1'), [hangup("flow.max_duration")]);
        assert_eq!(sim.run.digits(), "", "the key came after the end");
    }

    #[test]
    fn events_before_start_early_ticks_and_stale_reports_are_ignored() {
        let mut sim = Sim::new(TIMED);
        assert_eq!(sim.digit(0, '1'), []);
        assert_eq!(sim.run.poll_timeout(), None);
        sim.start();
        sim.start();
        assert_eq!(sim.run.path().len(), 1, "a second start does nothing");
        sim.played(3000);
        assert_eq!(sim.played(3001), [], "no play is running");
        assert_eq!(sim.event(6999, FlowEvent::Tick), [], "the timer is not due");
        assert_eq!(
            sim.event(5000, FlowEvent::TransferEnded(TransferOutcome::Busy)),
            []
        );
        assert_eq!(
            sim.event(
                5000,
                FlowEvent::RecordingFinished {
                    path: "x.wav".to_string(),
                    seconds: 1.0
                }
            ),
            []
        );
        assert_eq!(sim.timeout_ms(), Some(7000));
    }

    #[test]
    fn speech_reports_while_nothing_listens_are_ignored() {
        let mut sim = Sim::new(TIMED);
        assert_eq!(sim.speech_started(0), [], "before start");
        sim.start();
        assert_eq!(sim.speech_started(500), [], "the menu takes no speech");
        assert_eq!(sim.heard(900, "one", Some("1"), 1.0), []);
        assert_eq!(sim.speech_failed(1000, "broken"), []);
        assert!(sim.run.heard().is_empty());
        assert_eq!(sim.run.path().len(), 1);
    }

    const LISTENING: &str = r#"
max_duration_s = 10
start = "ask"
[nodes.ask]
kind = "listen"
prompt = "ask"
speech = { grammar = "yes_no" }
var = "answer"
next = "again"
[nodes.again]
kind = "listen"
prompt = "again"
speech = { grammar = "yes_no" }
var = "again"
next = "ask"
"#;

    #[test]
    fn the_run_stops_listening_between_nodes_and_before_the_end() {
        let mut sim = Sim::new(LISTENING);
        sim.start();
        assert_eq!(
            sim.say(1000, 1500, "yes", Some("yes"), 0.9),
            [
                FlowAction::StopPlayback,
                StopListening,
                entered("again"),
                listen(Some("yes_no"), 500),
                play(&["again"], true)
            ]
        );
        assert_eq!(
            sim.run_until(10_000),
            [
                (10_000, StopListening),
                (10_000, hangup("flow.max_duration"))
            ]
        );
        let heard: Vec<_> = sim.run.heard().iter().map(|h| h.node.as_str()).collect();
        assert_eq!(heard, ["ask"]);
        assert_eq!(
            sim.run.heard()[0],
            HeardEntry {
                node: NodeName::new("ask").expect("valid"),
                text: "yes".to_string(),
                interpretation: Some("yes".to_string()),
                confidence: 0.9,
                accepted: true,
            }
        );
    }

    #[test]
    fn keys_are_normalised_and_unknown_ones_dropped() {
        let mut sim = Sim::new(TIMED);
        sim.start();
        sim.digit(100, 'x');
        sim.digit(200, 'b');
        sim.digit(300, '\0');
        assert_eq!(sim.run.digits(), "B");
    }

    #[test]
    fn path_records_every_visit() {
        let mut sim = Sim::new(TIMED);
        sim.start();
        sim.digit(500, '1');
        sim.digit(900, '1');
        let path: Vec<&str> = sim.run.path().iter().map(|n| n.as_str()).collect();
        assert_eq!(path, ["menu", "menu", "menu"]);
        assert_eq!(sim.run.flow().name, "test");
    }

    #[test]
    fn a_run_can_move_to_another_task() {
        fn assert_send<T: Send + 'static>() {}
        assert_send::<FlowRun>();
    }

    #[test]
    fn a_hand_built_flow_with_a_missing_node_ends_as_broken() {
        let start = NodeName::new("a").expect("valid");
        let node = Node {
            name: start.clone(),
            line: 1,
            kind: NodeKind::Set(SetNode {
                vars: BTreeMap::new(),
                next: NodeName::new("missing").expect("valid"),
            }),
        };
        let flow = Flow {
            name: "hand".to_string(),
            file: PathBuf::from("hand.toml"),
            language: "en".to_string(),
            record_calls: false,
            max_duration: None,
            start: start.clone(),
            nodes: BTreeMap::from([(start, node)]),
        };
        let mut run = FlowRun::new(Arc::new(flow), Vars::new());
        run.start(Instant::now());
        let actions: Vec<_> = std::iter::from_fn(|| run.poll_action()).collect();
        assert_eq!(actions, [entered("a"), hangup("flow.broken")]);
    }

    /// What a driver may report next, chosen by the property test.
    #[derive(Debug, Clone)]
    enum Input {
        Key(char),
        PlayEnds,
        Wait,
        Transfer(u8),
        RecordEnds,
        Speaks,
        Heard(usize),
        SpeechFails,
    }

    /// What the caller may be heard as: menu words, an order number, a key, low confidence,
    /// no match, a false start.
    const HEARD: &[(&str, Option<&str>, f32)] = &[
        ("order", Some("order"), 0.9),
        ("returns", Some("returns"), 0.8),
        ("a person please", Some("agent"), 0.7),
        ("one two three four five", Some("12345"), 0.9),
        ("one", Some("1"), 0.9),
        ("order", Some("order"), 0.2),
        ("what", None, 0.9),
        ("", None, 0.0),
    ];

    fn input() -> impl Strategy<Value = Input> {
        prop_oneof![
            proptest::sample::select("0123456789*#AD".chars().collect::<Vec<_>>())
                .prop_map(Input::Key),
            Just(Input::PlayEnds),
            Just(Input::Wait),
            (0u8..4).prop_map(Input::Transfer),
            Just(Input::RecordEnds),
            Just(Input::Speaks),
            (0..HEARD.len()).prop_map(Input::Heard),
            Just(Input::SpeechFails),
        ]
    }

    const HOTLINE: &str = include_str!("../../sip-config/flows/hotline.toml");

    proptest! {
        /// Against the demo hotline, any sequence of reports keeps the promises of the action
        /// contract: no play starts while one runs, `StopPlayback` only stops a running play,
        /// no `Listen` while listening, `StopListening` only while listening and always before
        /// the next node or the end, time never runs backwards, and nothing follows `Hangup`.
        #[test]
        fn the_action_contract_holds_for_any_caller(
            inputs in proptest::collection::vec((0u64..3000, input()), 0..80),
        ) {
            let mut sim = Sim::new(HOTLINE);
            let mut now = 0;
            let mut playing = false;
            let mut recording = false;
            let mut ended = false;
            let mut listening = false;
            let mut check = |actions: Vec<FlowAction>, playing: &mut bool, recording: &mut bool| -> Result<(), TestCaseError> {
                for action in actions {
                    prop_assert!(!ended, "action after hangup: {:?}", action);
                    match action {
                        FlowAction::Listen(_) => {
                            prop_assert!(!listening, "listen while listening");
                            listening = true;
                        }
                        FlowAction::StopListening => {
                            prop_assert!(listening, "stop listening without a listen");
                            listening = false;
                        }
                        // (A `say` node may hand its listening to the next; the hotline has none.)
                        FlowAction::NodeEntered { .. } => {
                            prop_assert!(!listening, "a node entered while the last one listens");
                        }
                        FlowAction::Play { .. } => {
                            prop_assert!(!*playing, "play over a running play");
                            *playing = true;
                        }
                        FlowAction::StopPlayback => {
                            prop_assert!(*playing, "stop without a play");
                            *playing = false;
                        }
                        FlowAction::StartRecording { .. } => {
                            prop_assert!(!*recording && !*playing, "recording over audio");
                            *recording = true;
                        }
                        FlowAction::Transfer { .. } => {
                            prop_assert!(!*playing, "transfer over a running play");
                        }
                        FlowAction::Hangup { .. } => {
                            prop_assert!(!listening, "hangup while listening");
                            ended = true;
                        }
                        _ => {}
                    }
                }
                Ok(())
            };
            let first = sim.start();
            check(first, &mut playing, &mut recording)?;
            for (gap, input) in inputs {
                now += gap;
                // A driver wakes the run at each due instant before reporting later events.
                let woken = sim.run_until(now).into_iter().map(|(_, a)| a).collect();
                check(woken, &mut playing, &mut recording)?;
                let actions = match input {
                    Input::Key(key) => sim.digit(now, key),
                    Input::PlayEnds if playing => {
                        playing = false;
                        sim.played(now)
                    }
                    Input::Wait => match sim.timeout_ms() {
                        Some(at) => {
                            now = at;
                            sim.run_until(now).into_iter().map(|(_, a)| a).collect()
                        }
                        None => vec![],
                    },
                    Input::Transfer(n) => {
                        let outcome = match n {
                            0 => TransferOutcome::Completed,
                            1 => TransferOutcome::Busy,
                            2 => TransferOutcome::NoAnswer,
                            _ => TransferOutcome::Failed("404".to_string()),
                        };
                        sim.event(now, FlowEvent::TransferEnded(outcome))
                    }
                    Input::RecordEnds if recording => {
                        recording = false;
                        sim.event(now, FlowEvent::RecordingFinished { path: "m.wav".to_string(), seconds: 3.0 })
                    }
                    Input::Speaks => sim.speech_started(now),
                    Input::Heard(i) => {
                        let (text, interpretation, confidence) = HEARD[i];
                        sim.event(now, FlowEvent::Heard(Heard {
                            text: text.to_string(),
                            interpretation: interpretation.map(str::to_string),
                            confidence,
                        }))
                    }
                    Input::SpeechFails => sim.speech_failed(now, "decode error"),
                    _ => vec![],
                };
                check(actions, &mut playing, &mut recording)?;
                if let Some(at) = sim.timeout_ms() {
                    prop_assert!(at > now, "wake-up at {} is not after {}", at, now);
                }
            }
            prop_assert_eq!(sim.run.is_finished(), ended);
        }
    }
}
