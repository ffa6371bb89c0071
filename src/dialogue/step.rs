//! The one interface every node kind implements while it is the current node, and the context
//! it works through.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::config::flow::{Flow, NodeKind, NodeName, PromptItem, PromptRef};
use crate::dialogue::action::{EndCause, FlowAction, FlowEvent, Heard, ListenRequest, Vars};
use crate::dialogue::hearing::HeardEntry;
use crate::dialogue::{
    branch::BranchStep, collect::CollectStep, converse::ConverseStep, converse::Desk,
    hangup::HangupStep, listen::ListenStep, menu::MenuStep, play::PlayStep, record::RecordStep,
    say::SayStep, set::SetStep, transfer::TransferStep,
};

/// A node kind's behaviour while its node is current. The run creates one per visit, so
/// per-visit state (attempts, digits so far) lives in the step and starts fresh each time.
pub(crate) trait NodeStep: Send {
    /// The node became current: queue its first actions, maybe set a timer.
    fn enter(&mut self, now: Instant, cx: &mut Cx) -> Step;

    /// An event while the node is current. `Tick` arrives only when this node's timer is due
    /// (and the timer is already cleared); `PlaybackFinished` only for a play still running.
    /// Events a kind has no use for return `Step::Stay`.
    fn handle(&mut self, now: Instant, event: &FlowEvent, cx: &mut Cx) -> Step;
}

/// What the run does after a step has acted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// Keep this node current and wait for events.
    Stay,
    /// Make this node current.
    Goto(NodeName),
    /// End the call.
    End(EndCause),
}

impl Step {
    /// `Goto(node)`, or hang up with `cause` when the flow names no node.
    pub(crate) fn goto_or(node: &Option<NodeName>, cause: EndCause) -> Step {
        node.clone().map_or(Step::End(cause), Step::Goto)
    }
}

/// The step for one visit of a node of `flow`.
pub(crate) fn step_for(kind: &NodeKind, flow: &Flow) -> Box<dyn NodeStep> {
    match kind {
        NodeKind::Play(node) => Box::new(PlayStep::new(node.clone())),
        NodeKind::Say(node) => {
            // A reply listens as the node after it will, so a caller may answer over it.
            let next = flow.node(&node.next).and_then(|n| n.kind.speech());
            Box::new(SayStep::new(node.clone(), next.cloned()))
        }
        NodeKind::Menu(node) => Box::new(MenuStep::new(node.clone())),
        NodeKind::Collect(node) => Box::new(CollectStep::new(node.clone())),
        NodeKind::Listen(node) => Box::new(ListenStep::new(node.clone())),
        NodeKind::Converse(node) => Box::new(ConverseStep::new(node.clone(), &flow.language)),
        NodeKind::Set(node) => Box::new(SetStep::new(node.clone())),
        NodeKind::Branch(node) => Box::new(BranchStep::new(node.clone())),
        NodeKind::Transfer(node) => Box::new(TransferStep::new(node.clone())),
        NodeKind::Record(node) => Box::new(RecordStep::new(node.clone())),
        NodeKind::Hangup(node) => Box::new(HangupStep::new(node.clone())),
    }
}

/// What a step may read and change: the variables, the action queue, the node's one timer, the
/// record of what was heard, and what the driver is doing right now (so that plays and listens
/// never overlap and stale reports are dropped).
#[derive(Debug, Default)]
pub(crate) struct Cx {
    pub(crate) vars: Vars,
    actions: VecDeque<FlowAction>,
    timer: Option<Instant>,
    playing: bool,
    recording: bool,
    /// A `Listen` was sent and no `StopListening` since.
    listening: bool,
    /// Listening goes on into the next node (see [`Cx::hand_over_listening`]).
    hand_over: bool,
    /// The current node, for the record of what was heard.
    node: Option<NodeName>,
    heard: Vec<HeardEntry>,
    /// Keys that cut a barge-in prompt short, kept for the next menu or collect node. Cleared
    /// when a node that does not take keys becomes current.
    typeahead: String,
    /// The shop assistant's side of the call, for `converse` nodes.
    pub(crate) desk: Desk,
}

impl Cx {
    pub(crate) fn new(vars: Vars) -> Self {
        Cx {
            vars,
            ..Cx::default()
        }
    }

    pub(crate) fn push(&mut self, action: FlowAction) {
        self.actions.push_back(action);
    }

    pub(crate) fn pop(&mut self) -> Option<FlowAction> {
        self.actions.pop_front()
    }

    /// Plays the prompt lists one after the other, stopping any running play first. Returns
    /// false, playing nothing, when they expand to no prompt at all (a read-back of an empty
    /// variable): the caller then carries on as if the play had finished.
    pub(crate) fn play(&mut self, lists: &[&[PromptItem]], interruptible: bool) -> bool {
        let prompts: Vec<PromptRef> = lists
            .iter()
            .flat_map(|list| list.iter())
            .flat_map(|item| self.expand(item))
            .collect();
        if prompts.is_empty() {
            return false;
        }
        self.stop_playback();
        self.playing = true;
        self.push(FlowAction::Play {
            prompts,
            interruptible,
        });
        true
    }

    /// Speaks `text`, stopping any running play first; the driver reports `PlaybackFinished`.
    /// `language`: the reply's language when it is not the flow's (`None`: the flow's).
    pub(crate) fn say(
        &mut self,
        text: String,
        voice: Option<String>,
        language: Option<String>,
        interruptible: bool,
    ) {
        self.stop_playback();
        self.playing = true;
        self.push(FlowAction::Say {
            text,
            voice,
            language,
            interruptible,
        });
    }

    /// The prompts of one item; a read-back skips characters that have no prompt.
    pub(crate) fn expand(&self, item: &PromptItem) -> Vec<PromptRef> {
        match item {
            PromptItem::Prompt(name) => vec![name.clone()],
            PromptItem::Text(text) => vec![text.name()],
            PromptItem::Digits(var) => self
                .vars
                .get(var.as_str())
                .map(|value| value.chars().filter_map(PromptRef::for_key).collect())
                .unwrap_or_default(),
        }
    }

    /// Stops the running play, if any.
    pub(crate) fn stop_playback(&mut self) {
        if self.playing {
            self.playing = false;
            self.push(FlowAction::StopPlayback);
        }
    }

    pub(crate) fn is_playing(&self) -> bool {
        self.playing
    }

    /// The driver reported the end of the play; false if no play was running (a stale report).
    pub(crate) fn playback_finished(&mut self) -> bool {
        std::mem::replace(&mut self.playing, false)
    }

    /// Asks the driver to listen; nothing if it already does (one listen at a time).
    pub(crate) fn listen(&mut self, request: ListenRequest) {
        if !self.listening {
            self.listening = true;
            self.push(FlowAction::Listen(request));
        }
    }

    /// Stops listening, if the driver listens.
    pub(crate) fn stop_listening(&mut self) {
        if self.listening {
            self.listening = false;
            self.push(FlowAction::StopListening);
        }
    }

    /// Keeps listening into the next node, which listens for the same (a `say` node and the
    /// node after it): a turn the caller began over the reply is that node's.
    pub(crate) fn hand_over_listening(&mut self) {
        self.hand_over = self.listening;
    }

    /// Whether the node being left handed its listening over (once).
    pub(crate) fn take_hand_over(&mut self) -> bool {
        std::mem::take(&mut self.hand_over)
    }

    pub(crate) fn is_listening(&self) -> bool {
        self.listening
    }

    pub(crate) fn set_node(&mut self, node: NodeName) {
        self.node = Some(node);
    }

    /// Adds a recognised turn to the record, under the current node.
    pub(crate) fn record_heard(&mut self, heard: &Heard, accepted: bool) {
        if let Some(node) = &self.node {
            self.heard.push(HeardEntry {
                node: node.clone(),
                text: heard.text.clone(),
                interpretation: heard.interpretation.clone(),
                confidence: heard.confidence,
                accepted,
            });
        }
    }

    pub(crate) fn heard(&self) -> &[HeardEntry] {
        &self.heard
    }

    pub(crate) fn start_recording(
        &mut self,
        max_seconds: u32,
        silence_seconds: Option<u32>,
        beep: bool,
    ) {
        self.recording = true;
        self.push(FlowAction::StartRecording {
            max_seconds,
            silence_seconds,
            beep,
        });
    }

    /// The driver reported the end of the recording; false if none was running.
    pub(crate) fn recording_finished(&mut self) -> bool {
        std::mem::replace(&mut self.recording, false)
    }

    /// Wakes the node with `Tick` at `now + after`, replacing any earlier timer.
    pub(crate) fn set_timer(&mut self, now: Instant, after: Duration) {
        // An instant too far to represent never comes: no timer.
        self.timer = now.checked_add(after);
    }

    pub(crate) fn clear_timer(&mut self) {
        self.timer = None;
    }

    pub(crate) fn timer(&self) -> Option<Instant> {
        self.timer
    }

    pub(crate) fn add_typeahead(&mut self, key: char) {
        self.typeahead.push(key);
    }

    pub(crate) fn has_typeahead(&self) -> bool {
        !self.typeahead.is_empty()
    }

    pub(crate) fn take_typeahead(&mut self) -> String {
        std::mem::take(&mut self.typeahead)
    }
}
