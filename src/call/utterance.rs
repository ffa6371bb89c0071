//! What kefu is saying right now, for the call timeline: every utterance (a recorded prompt
//! list or a synthesised reply), whether the caller cut it short, and where.

use std::time::{Duration, Instant};

/// The id of one synthesised reply, so late pieces of a stopped one are recognised.
pub type SpeechId = u32;

/// One utterance being played.
#[derive(Debug)]
pub(crate) struct Utterance {
    /// Prompt names or the reply's text.
    what: String,
    /// The flow's request.
    requested_at: Instant,
    /// `Playback::played()` when it started: what it has played is the difference.
    played_before: Duration,
    /// The caller may cut it short.
    pub(crate) interruptible: bool,
    /// Set for a synthesised reply.
    pub(crate) speech: Option<Synthesis>,
}

/// The synthesis behind a spoken reply.
#[derive(Debug)]
pub(crate) struct Synthesis {
    pub(crate) id: SpeechId,
    /// Every piece has arrived (or synthesis failed): when the queue runs dry, it is over.
    pub(crate) done: bool,
    pub(crate) first_audio: Option<Instant>,
}

/// How an utterance ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    Finished,
    /// Stopped by the caller (speech or a key) or by the flow.
    Interrupted,
    /// The call ended under it.
    HungUp,
}

impl Utterance {
    pub(crate) fn prompts(
        what: String,
        interruptible: bool,
        now: Instant,
        played_before: Duration,
    ) -> Utterance {
        Utterance {
            what,
            requested_at: now,
            played_before,
            interruptible,
            speech: None,
        }
    }

    pub(crate) fn spoken(
        text: String,
        interruptible: bool,
        id: SpeechId,
        now: Instant,
        played_before: Duration,
    ) -> Utterance {
        Utterance {
            speech: Some(Synthesis {
                id,
                done: false,
                first_audio: None,
            }),
            ..Utterance::prompts(text, interruptible, now, played_before)
        }
    }

    /// How much of it has been played, given `Playback::played()` now.
    pub(crate) fn elapsed(&self, played: Duration) -> Duration {
        played.saturating_sub(self.played_before)
    }

    /// Still waiting for synthesised audio: an empty queue is not the end.
    pub(crate) fn awaits_audio(&self) -> bool {
        self.speech.as_ref().is_some_and(|s| !s.done)
    }

    /// The timeline entry (`spoke`): what, how it ended, how much was heard, and for a
    /// synthesised reply how long the first audio took. Times in ms since `answered`.
    pub(crate) fn record(&self, ending: Ending, played: Duration, answered: Instant) -> String {
        let ms = |t: Instant| t.saturating_duration_since(answered).as_millis() as u64;
        let heard = self.elapsed(played);
        let mut detail = serde_json::json!({
            "what": self.what,
            "ended": match ending {
                Ending::Finished => "finished",
                Ending::Interrupted => "interrupted",
                Ending::HungUp => "hangup",
            },
            "started_ms": ms(self.requested_at),
            "played_ms": heard.as_millis() as u64,
        });
        if let Some(first) = self.speech.as_ref().and_then(|s| s.first_audio) {
            detail["first_audio_ms"] = ms(first).into();
        }
        detail.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_says_how_much_was_heard() {
        let t0 = Instant::now();
        let mut u = Utterance::spoken(
            "Hello there.".into(),
            true,
            1,
            t0 + Duration::from_millis(100),
            Duration::from_millis(400),
        );
        assert!(u.awaits_audio());
        if let Some(s) = &mut u.speech {
            s.first_audio = Some(t0 + Duration::from_millis(130));
            s.done = true;
        }
        assert!(!u.awaits_audio());
        let record: serde_json::Value =
            serde_json::from_str(&u.record(Ending::Interrupted, Duration::from_millis(1000), t0))
                .expect("json");
        assert_eq!(record["what"], "Hello there.");
        assert_eq!(record["ended"], "interrupted");
        assert_eq!(record["started_ms"], 100);
        assert_eq!(record["played_ms"], 600);
        assert_eq!(record["first_audio_ms"], 130);
    }
}
