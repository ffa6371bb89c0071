//! `record`: an optional prompt, then a message from the caller into a file.

use std::time::Instant;

use crate::config::flow::RecordNode;
use crate::dialogue::action::{FlowAction, FlowEvent};
use crate::dialogue::step::{Cx, NodeStep, Step};

pub(crate) struct RecordStep {
    node: RecordNode,
    phase: Phase,
}

/// What the step waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The prompt to end (a key skips it).
    Prompt,
    /// A key (stop) or the recording's own end (max length, silence).
    Recording,
    /// `RecordingFinished` after `StopRecording`.
    Stopping,
}

impl RecordStep {
    pub(crate) fn new(node: RecordNode) -> Self {
        RecordStep {
            node,
            phase: Phase::Prompt,
        }
    }

    fn begin(&mut self, cx: &mut Cx) -> Step {
        self.phase = Phase::Recording;
        cx.start_recording(
            self.node.max_seconds,
            self.node.silence_seconds,
            self.node.beep,
        );
        Step::Stay
    }
}

impl NodeStep for RecordStep {
    fn enter(&mut self, _now: Instant, cx: &mut Cx) -> Step {
        if cx.play(&[&self.node.prompt], true) {
            Step::Stay
        } else {
            self.begin(cx)
        }
    }

    fn handle(&mut self, _now: Instant, event: &FlowEvent, cx: &mut Cx) -> Step {
        match (self.phase, event) {
            (Phase::Prompt, FlowEvent::PlaybackFinished) => self.begin(cx),
            (Phase::Prompt, FlowEvent::Digit(_)) => {
                cx.stop_playback();
                self.begin(cx)
            }
            (Phase::Recording, FlowEvent::Digit(_)) => {
                self.phase = Phase::Stopping;
                cx.push(FlowAction::StopRecording);
                Step::Stay
            }
            (Phase::Recording | Phase::Stopping, FlowEvent::RecordingFinished { path, .. }) => {
                if let Some(var) = &self.node.var {
                    cx.vars.insert(var.to_string(), path.clone());
                }
                Step::Goto(self.node.next.clone())
            }
            _ => Step::Stay,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::dialogue::FlowAction::{StartRecording, StopPlayback, StopRecording};
    use crate::dialogue::testkit::{Sim, entered, hangup, play};
    use crate::dialogue::{FlowAction, FlowEvent};

    const FLOW: &str = r#"
start = "rec"
[nodes.rec]
kind = "record"
prompt = "leave-message"
max_seconds = 60
silence_seconds = 4
var = "message"
next = "end"
[nodes.end]
kind = "hangup"
"#;

    fn start_recording() -> FlowAction {
        StartRecording {
            max_seconds: 60,
            silence_seconds: Some(4),
            beep: true,
        }
    }

    fn finished(sim: &mut Sim, ms: u64) -> Vec<FlowAction> {
        sim.event(
            ms,
            FlowEvent::RecordingFinished {
                path: "data/recordings/m1.wav".to_string(),
                seconds: 7.2,
            },
        )
    }

    #[test]
    fn records_after_the_prompt_and_keeps_the_path() {
        let mut sim = Sim::new(FLOW);
        assert_eq!(
            sim.start(),
            [entered("rec"), play(&["leave-message"], true)]
        );
        assert_eq!(sim.played(3000), [start_recording()]);
        assert_eq!(sim.timeout_ms(), None);
        assert_eq!(
            finished(&mut sim, 10_000),
            [entered("end"), hangup("flow.hangup")]
        );
        assert_eq!(sim.run.vars()["message"], "data/recordings/m1.wav");
    }

    #[test]
    fn a_key_skips_the_prompt_and_another_ends_the_recording() {
        let mut sim = Sim::new(FLOW);
        sim.start();
        assert_eq!(sim.digit(1000, '#'), [StopPlayback, start_recording()]);
        assert_eq!(sim.digit(5000, '#'), [StopRecording]);
        assert_eq!(sim.digit(5100, '#'), []);
        assert_eq!(
            finished(&mut sim, 5200),
            [entered("end"), hangup("flow.hangup")]
        );
    }

    #[test]
    fn without_a_prompt_recording_starts_at_once_and_stale_reports_are_ignored() {
        let mut sim = Sim::new(&FLOW.replace("prompt = \"leave-message\"\n", ""));
        assert_eq!(sim.start(), [entered("rec"), start_recording()]);
        assert_eq!(sim.played(100), [], "no play is running");
        assert_eq!(
            finished(&mut sim, 9000),
            [entered("end"), hangup("flow.hangup")]
        );
    }

    #[test]
    fn a_recording_report_before_any_recording_is_ignored() {
        let mut sim = Sim::new(FLOW);
        sim.start();
        assert_eq!(finished(&mut sim, 500), []);
        assert!(!sim.run.vars().contains_key("message"));
    }
}
