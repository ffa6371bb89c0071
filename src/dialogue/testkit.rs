//! A virtual-time driver for flow tests: instants are milliseconds after the call started.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::flow::{NodeName, PromptRef, parse_flow};
use crate::dialogue::assistant::Knowledge;
use crate::dialogue::understand::intent::Classifier;
use crate::dialogue::{
    EndCause, FlowAction, FlowEvent, FlowRun, Heard, ListenRequest, NOTE_SPEECH_FAILED, Vars,
};
use crate::shop::{Shop, demo};

/// The demo shop's knowledge, as a server would load it.
pub(crate) fn demo_knowledge() -> Knowledge {
    let shop = Arc::new(Shop::new(demo::data(demo::ANCHOR)));
    Knowledge::new(shop, Arc::new(Classifier::shipped()))
}

pub(crate) struct Sim {
    pub(crate) run: FlowRun,
    t0: Instant,
}

impl Sim {
    pub(crate) fn new(flow_text: &str) -> Sim {
        Sim::with_vars(flow_text, Vars::new())
    }

    pub(crate) fn with_vars(flow_text: &str, vars: Vars) -> Sim {
        let flow = parse_flow("test", flow_text, Path::new("test.toml"))
            .unwrap_or_else(|e| panic!("test flow must parse: {e}"));
        Sim {
            run: FlowRun::new(Arc::new(flow), vars),
            t0: Instant::now(),
        }
    }

    /// Gives the run the demo shop, dated at its anchor day, for `converse` nodes.
    pub(crate) fn with_demo_shop(&mut self) {
        self.with_knowledge(demo_knowledge());
    }

    /// Gives the run this knowledge, dated at the demo shop's anchor day.
    pub(crate) fn with_knowledge(&mut self, knowledge: Knowledge) -> Arc<Knowledge> {
        let knowledge = Arc::new(knowledge);
        self.run.set_knowledge(knowledge.clone(), demo::ANCHOR);
        knowledge
    }

    pub(crate) fn at(&self, ms: u64) -> Instant {
        self.t0 + Duration::from_millis(ms)
    }

    /// Starts the run at t=0 and returns its first actions.
    pub(crate) fn start(&mut self) -> Vec<FlowAction> {
        self.run.start(self.t0);
        self.drain()
    }

    pub(crate) fn event(&mut self, ms: u64, event: FlowEvent) -> Vec<FlowAction> {
        self.run.handle(self.at(ms), event);
        self.drain()
    }

    pub(crate) fn digit(&mut self, ms: u64, key: char) -> Vec<FlowAction> {
        self.event(ms, FlowEvent::Digit(key))
    }

    pub(crate) fn played(&mut self, ms: u64) -> Vec<FlowAction> {
        self.event(ms, FlowEvent::PlaybackFinished)
    }

    /// The caller begins to talk.
    pub(crate) fn speech_started(&mut self, ms: u64) -> Vec<FlowAction> {
        self.event(ms, FlowEvent::SpeechStarted)
    }

    /// The caller's turn, recognised as `text` with this interpretation and confidence.
    pub(crate) fn heard(
        &mut self,
        ms: u64,
        text: &str,
        interpretation: Option<&str>,
        confidence: f32,
    ) -> Vec<FlowAction> {
        let heard = Heard {
            text: text.to_string(),
            interpretation: interpretation.map(str::to_string),
            confidence,
        };
        self.event(ms, FlowEvent::Heard(heard))
    }

    /// The caller talks from `from_ms` to `to_ms` and is heard at `to_ms`: both reports' actions.
    pub(crate) fn say(
        &mut self,
        from_ms: u64,
        to_ms: u64,
        text: &str,
        interpretation: Option<&str>,
        confidence: f32,
    ) -> Vec<FlowAction> {
        let mut out = self.speech_started(from_ms);
        out.extend(self.heard(to_ms, text, interpretation, confidence));
        out
    }

    pub(crate) fn speech_failed(&mut self, ms: u64, reason: &str) -> Vec<FlowAction> {
        self.event(
            ms,
            FlowEvent::SpeechFailed {
                reason: reason.to_string(),
            },
        )
    }

    /// What was heard, as `(node, interpretation or text, accepted)`.
    pub(crate) fn heard_log(&self) -> Vec<(String, String, bool)> {
        self.run
            .heard()
            .iter()
            .map(|h| {
                let said = h.interpretation.clone().unwrap_or_else(|| h.text.clone());
                (h.node.to_string(), said, h.accepted)
            })
            .collect()
    }

    /// Types `keys` one every `gap_ms`, starting at `ms`; returns every action.
    pub(crate) fn type_keys(&mut self, ms: u64, gap_ms: u64, keys: &str) -> Vec<FlowAction> {
        let mut out = Vec::new();
        for (i, key) in keys.chars().enumerate() {
            out.extend(self.digit(ms + gap_ms * i as u64, key));
        }
        out
    }

    /// The next wake-up, in ms after the start.
    pub(crate) fn timeout_ms(&self) -> Option<u64> {
        self.run
            .poll_timeout()
            .map(|t| u64::try_from((t - self.t0).as_millis()).expect("test times fit in u64"))
    }

    /// Ticks at every wake-up up to and including `ms`, as a driver would; returns the actions
    /// with the instant (ms) each came at.
    pub(crate) fn run_until(&mut self, ms: u64) -> Vec<(u64, FlowAction)> {
        let mut out = Vec::new();
        while let Some(at) = self.timeout_ms().filter(|&at| at <= ms) {
            self.run.handle(self.at(at), FlowEvent::Tick);
            out.extend(self.drain().into_iter().map(|a| (at, a)));
        }
        out
    }

    pub(crate) fn drain(&mut self) -> Vec<FlowAction> {
        std::iter::from_fn(|| self.run.poll_action()).collect()
    }
}

pub(crate) fn entered(name: &str) -> FlowAction {
    FlowAction::NodeEntered {
        name: NodeName::new(name).expect("test node names are valid"),
    }
}

pub(crate) fn play(prompts: &[&str], interruptible: bool) -> FlowAction {
    FlowAction::Play {
        prompts: prompts
            .iter()
            .map(|p| PromptRef::new(p).expect("test prompt names are valid"))
            .collect(),
        interruptible,
    }
}

/// `Listen` with the defaults of a `speech` table but for the grammar and end silence.
pub(crate) fn listen(grammar: Option<&str>, end_silence_ms: u64) -> FlowAction {
    FlowAction::Listen(ListenRequest {
        grammar: grammar.map(str::to_string),
        hints: None,
        end_silence: Duration::from_millis(end_silence_ms),
        denoise: true,
    })
}

pub(crate) fn speech_failed_note(reason: &str) -> FlowAction {
    FlowAction::Note {
        kind: NOTE_SPEECH_FAILED,
        detail: reason.to_string(),
    }
}

pub(crate) fn hangup(cause: &str) -> FlowAction {
    FlowAction::Hangup {
        cause: EndCause::from_flow(cause),
    }
}
