//! Barge-in: when the caller's speech stops kefu's voice, and when it does not.
//!
//! A turn that starts while kefu speaks an interruptible utterance is a *candidate*; the flow
//! is not told of it yet. It pauses kefu's voice, at the frame the rule is met, once the caller
//! has spoken `min_speech` (default 300 ms, counting the endpointer's onset) in frames that
//! cannot be the echo of kefu's own voice: frames in the first [`ECHO_GUARD`] of an utterance,
//! or quieter than kefu's loudest frame of the last [`ECHO_WINDOW_FRAMES`] less
//! [`ECHO_MARGIN_DB`], do not count. The turn's result then decides: words go to the flow
//! (which stops the utterance for good); nothing, or only a backchannel ("mhm", "uh-huh"),
//! is a false interruption: a paused utterance resumes where it stopped, and a candidate that
//! never paused it (a cough, a click) is forgotten. A turn that starts while kefu is silent is
//! the flow's at once.

use std::time::Duration;

use crate::media::frame::FRAME_MS;
use crate::speech::listener::TurnId;

/// Speech that must be heard before kefu stops talking, unless configured.
pub const DEFAULT_MIN_SPEECH: Duration = Duration::from_millis(300);
/// The start of an utterance, when an echo canceller on the caller's side has not converged
/// yet: caller frames here never count toward a barge-in.
pub const ECHO_GUARD: Duration = Duration::from_millis(200);
/// How far back kefu's own voice is compared (an echo path is at most a couple of hundred ms).
pub const ECHO_WINDOW_FRAMES: usize = 10;
/// An echo comes back at least this much weaker than what was played (G.168's minimum echo
/// return loss is 6 dB); a caller talking over kefu is about as loud as kefu.
pub const ECHO_MARGIN_DB: f32 = 6.0;

/// Words that acknowledge without taking the turn.
const BACKCHANNELS: [&str; 16] = [
    "mhm", "mm", "mmm", "hmm", "hm", "uh", "um", "uhhuh", "huh", "ah", "oh", "er", "erm", "mmhmm",
    "ahh", "uhm",
];

/// What to do with a finished turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The turn was the flow's from its start: deliver the result as usual.
    Flow,
    /// Words over kefu's voice: tell the flow the caller spoke, then what they said.
    Interrupt,
    /// A false interruption that paused kefu: resume the utterance.
    Resume,
    /// A candidate that never paused kefu and said nothing: forget it.
    Ignore,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gate {
    Candidate { turn: TurnId, voiced: Duration },
    Paused { turn: TurnId },
}

/// The barge-in state of a call.
#[derive(Debug)]
pub(crate) struct BargeIn {
    min_speech: Duration,
    gate: Option<Gate>,
    /// RMS of the last frames kefu sent, newest at `next - 1`.
    played: [f32; ECHO_WINDOW_FRAMES],
    next: usize,
}

impl BargeIn {
    pub(crate) fn new(min_speech: Duration) -> BargeIn {
        BargeIn {
            min_speech,
            gate: None,
            played: [0.0; ECHO_WINDOW_FRAMES],
            next: 0,
        }
    }

    /// Every frame kefu sends to the caller, as the echo reference.
    pub(crate) fn played(&mut self, rms: f32) {
        self.played[self.next] = rms;
        self.next = (self.next + 1) % ECHO_WINDOW_FRAMES;
    }

    /// A turn opened while kefu speaks: it is a candidate. `onset` is the speech the
    /// endpointer heard before opening it.
    pub(crate) fn turn_started(&mut self, turn: TurnId, onset: Duration) {
        self.gate = Some(Gate::Candidate {
            turn,
            voiced: onset,
        });
    }

    /// One caller frame while a turn is open; `guarded`: kefu's utterance is in its first
    /// [`ECHO_GUARD`]. True when kefu's voice must pause now.
    pub(crate) fn heard(&mut self, rms: f32, guarded: bool) -> bool {
        let Some(Gate::Candidate { turn, voiced }) = self.gate else {
            return false;
        };
        let loudest = self.played.iter().copied().fold(0.0, f32::max);
        let echo_level = loudest * 10f32.powf(-ECHO_MARGIN_DB / 20.0);
        if guarded || rms < echo_level {
            return false;
        }
        let voiced = voiced + Duration::from_millis(u64::from(FRAME_MS));
        if voiced >= self.min_speech {
            self.gate = Some(Gate::Paused { turn });
            true
        } else {
            self.gate = Some(Gate::Candidate { turn, voiced });
            false
        }
    }

    /// Whether a turn is held back from the flow.
    pub(crate) fn holds(&self, turn: TurnId) -> bool {
        matches!(self.gate, Some(Gate::Candidate { turn: t, .. } | Gate::Paused { turn: t }) if t == turn)
    }

    /// kefu stopped speaking (the utterance ended): a candidate is the flow's from now on.
    /// Returns it, so the flow can be told the caller is speaking.
    pub(crate) fn release(&mut self) -> Option<TurnId> {
        match self.gate {
            Some(Gate::Candidate { turn, .. }) => {
                self.gate = None;
                Some(turn)
            }
            _ => None,
        }
    }

    /// The result of `turn` (`None`: it could not be recognised).
    pub(crate) fn judge(&mut self, turn: TurnId, text: Option<&str>) -> Verdict {
        if !self.holds(turn) {
            return Verdict::Flow;
        }
        let gate = self.gate.take();
        let words = text.is_some_and(|t| !is_backchannel(t));
        match (gate, words) {
            (_, true) => Verdict::Interrupt,
            (Some(Gate::Paused { .. }), false) => Verdict::Resume,
            _ => Verdict::Ignore,
        }
    }

    /// The flow stopped listening or the utterance: nothing is held any more.
    pub(crate) fn reset(&mut self) {
        self.gate = None;
    }
}

/// Nothing said, or only sounds that acknowledge ("Mhm.", "uh-huh", "Hmm, hmm").
pub(crate) fn is_backchannel(text: &str) -> bool {
    text.split_whitespace()
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric())
                .collect::<String>()
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .all(|w| BACKCHANNELS.contains(&w.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONSET: Duration = Duration::from_millis(120);

    fn speaking(rms: f32) -> BargeIn {
        let mut b = BargeIn::new(DEFAULT_MIN_SPEECH);
        for _ in 0..ECHO_WINDOW_FRAMES {
            b.played(rms);
        }
        b
    }

    #[test]
    fn pauses_once_the_caller_has_spoken_the_minimum() {
        let mut b = speaking(4000.0);
        b.turn_started(1, ONSET);
        // 120 ms at the onset, then 20 ms a frame: the ninth loud frame reaches 300 ms.
        let fired: Vec<bool> = (0..10).map(|_| b.heard(5000.0, false)).collect();
        assert_eq!(fired.iter().position(|&f| f), Some(8));
        assert!(b.holds(1));
        assert_eq!(b.judge(1, Some("Mhm.")), Verdict::Resume);
        assert!(!b.holds(1));
    }

    #[test]
    fn echo_and_the_guard_do_not_count() {
        let mut b = speaking(8000.0);
        b.turn_started(1, ONSET);
        // 8000 played: an echo 12 dB down (2000) and frames in the guard never fire.
        assert!((0..50).all(|_| !b.heard(2000.0, false)));
        assert!((0..50).all(|_| !b.heard(9000.0, true)));
        assert_eq!(b.judge(1, Some("")), Verdict::Ignore);
    }

    #[test]
    fn words_interrupt_and_unheld_turns_are_the_flows() {
        let mut b = speaking(1000.0);
        b.turn_started(3, ONSET);
        assert_eq!(b.judge(3, Some("I want to return it")), Verdict::Interrupt);
        assert_eq!(b.judge(4, Some("anything")), Verdict::Flow);
        b.turn_started(5, ONSET);
        assert_eq!(b.release(), Some(5));
        assert_eq!(b.judge(5, None), Verdict::Flow);
    }

    #[test]
    fn backchannels_are_recognised() {
        for t in ["Mhm.", "uh-huh", "Hmm, hmm.", "", "  ", "Um."] {
            assert!(is_backchannel(t), "{t:?}");
        }
        for t in ["No.", "mhm, agent", "order"] {
            assert!(!is_backchannel(t), "{t:?}");
        }
    }
}
