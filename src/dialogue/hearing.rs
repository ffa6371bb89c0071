//! What `menu`, `collect` and `listen` share when they take the caller's speech: asking for it,
//! barge-in, the paused no-input timer, judging a result, counting failed speech attempts and
//! the record of what was heard.
//!
//! Recognition is the driver's: a node asks with `Listen`, then gets `SpeechStarted` when the
//! caller begins a turn and `Heard` (or `SpeechFailed`) when it ends. The caller's speech stops
//! the prompt at once (every prompt of these nodes is interruptible) and the no-input timer
//! waits until the turn is judged: a caller who talks slowly is never timed out mid-sentence.

use crate::config::flow::{NodeName, SpeechInput};
use crate::dialogue::action::{FlowAction, Heard, ListenRequest, NOTE_SPEECH_FAILED};
use crate::dialogue::step::Cx;

/// What to ask the driver to listen for, for a node's `speech` table.
pub(crate) fn request(speech: &SpeechInput) -> ListenRequest {
    ListenRequest {
        grammar: speech.grammar.clone(),
        hints: speech.hints.clone(),
        end_silence: speech.end_silence,
        denoise: speech.denoise,
    }
}

/// One recognised turn, for the call record.
#[derive(Debug, Clone, PartialEq)]
pub struct HeardEntry {
    /// The node that was listening.
    pub node: NodeName,
    pub text: String,
    pub interpretation: Option<String>,
    pub confidence: f32,
    /// The node acted on it (chose an option, filled a variable); false for no match or a
    /// result below the node's `min_confidence`.
    pub accepted: bool,
}

/// What a recognised turn means to the node.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Judged<T> {
    /// Nothing was said after all (empty text): no attempt is spent; the node waits again.
    FalseStart,
    /// The node's answer; the prompt, if still playing, is stopped.
    Accepted(T),
    /// No match or too unsure: a speech attempt is spent (and listening stopped if it was the
    /// last one); the node plays its invalid prompt again.
    Rejected,
}

/// A listening node's ears, for one visit.
pub(crate) struct Ears {
    /// `None`: the node takes keys only.
    speech: Option<SpeechInput>,
    /// Failed speech attempts after which listening stops; `None` never stops (a `listen` node,
    /// whose own attempts end it).
    give_up_after: Option<u32>,
    failures: u32,
    /// Between `SpeechStarted` and the turn's result: the no-input timer waits.
    talking: bool,
}

impl Ears {
    /// For `menu` and `collect`: keys only after `speech.retries` failed speech attempts.
    pub(crate) fn with_fallback(speech: Option<SpeechInput>) -> Self {
        let give_up_after = speech.as_ref().map(|s| s.retries);
        Ears {
            speech,
            give_up_after,
            failures: 0,
            talking: false,
        }
    }

    /// For `listen`: listens as long as the node is current.
    pub(crate) fn always(speech: SpeechInput) -> Self {
        Ears {
            speech: Some(speech),
            give_up_after: None,
            failures: 0,
            talking: false,
        }
    }

    fn active(&self) -> bool {
        self.speech.is_some() && self.give_up_after.is_none_or(|n| self.failures < n)
    }

    /// Asks the driver to listen, unless it already does or the node is done with speech.
    pub(crate) fn open(&self, cx: &mut Cx) {
        if let Some(speech) = self.speech.as_ref().filter(|_| self.active()) {
            cx.listen(request(speech));
        }
    }

    /// True while the caller talks and the result is not in yet.
    pub(crate) fn talking(&self) -> bool {
        self.talking
    }

    /// The caller began to talk: barge-in stops the prompt, and the timer waits for the result.
    pub(crate) fn started(&mut self, cx: &mut Cx) {
        self.talking = true;
        cx.stop_playback();
        cx.clear_timer();
    }

    /// Judges a turn. Its value is the interpretation, or the text when the node has no grammar;
    /// `accept` maps a value the node can use to its answer. Every turn that is not a false start
    /// goes to the record.
    pub(crate) fn judge<T>(
        &mut self,
        heard: &Heard,
        cx: &mut Cx,
        accept: impl FnOnce(&str) -> Option<T>,
    ) -> Judged<T> {
        self.talking = false;
        let Some(speech) = &self.speech else {
            return Judged::FalseStart;
        };
        if heard.interpretation.is_none() && heard.text.trim().is_empty() {
            return Judged::FalseStart;
        }
        let value = match &heard.interpretation {
            Some(value) => Some(value.as_str()),
            None if speech.grammar.is_none() => Some(heard.text.trim()),
            None => None,
        };
        // NaN confidence compares false: not sure enough.
        let sure = heard.confidence >= speech.min_confidence;
        let answer = value.filter(|_| sure).and_then(accept);
        cx.record_heard(heard, answer.is_some());
        match answer {
            Some(answer) => {
                cx.stop_playback();
                Judged::Accepted(answer)
            }
            None => {
                self.fail(cx);
                Judged::Rejected
            }
        }
    }

    /// The driver could not recognise the turn: noted in the record, then a failed attempt.
    pub(crate) fn failed(&mut self, reason: &str, cx: &mut Cx) {
        self.talking = false;
        cx.push(FlowAction::Note {
            kind: NOTE_SPEECH_FAILED,
            detail: reason.to_string(),
        });
        self.fail(cx);
    }

    fn fail(&mut self, cx: &mut Cx) {
        self.failures = self.failures.saturating_add(1);
        if !self.active() {
            cx.stop_listening();
        }
    }
}
