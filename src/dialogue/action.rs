//! What goes into a running flow (events) and what comes out of it (actions).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use crate::config::flow::{NodeName, PromptRef, TransferTarget};
use crate::dialogue::assistant;

/// A flow's variables: name to value. Digits collected, recording paths and whatever the
/// caller of `FlowRun::new` put in (caller number, account...).
pub type Vars = BTreeMap<String, String>;

/// Something the driver reports to a running flow.
#[derive(Debug, Clone, PartialEq)]
pub enum FlowEvent {
    /// The caller pressed a key (`0`-`9`, `*`, `#`, `A`-`D`; other characters are ignored).
    Digit(char),
    /// The last `Play` ran to its end. Not sent for a play that the flow stopped.
    PlaybackFinished,
    /// The last `Transfer` is over.
    TransferEnded(TransferOutcome),
    /// The last `StartRecording` is over and its file is complete.
    RecordingFinished { path: String, seconds: f32 },
    /// While listening: the caller began a turn. Exactly one `Heard` or `SpeechFailed` follows
    /// for it, unless `StopListening` comes first.
    SpeechStarted,
    /// While listening: the caller's turn, recognised. A turn with nothing in it (a cough, a
    /// click) may be reported as a `Heard` with empty text: a false start that costs nothing.
    Heard(Heard),
    /// While listening: the caller's turn could not be recognised (decoder error, overload).
    /// The node treats it as no match; the reason goes to the call record as a `Note`.
    SpeechFailed { reason: String },
    /// The last `ChangeShop` is done (`ok`) or failed (the store refused it).
    ShopChanged { ok: bool },
    /// The last `LookUp` is answered (`ok`: the records, if the merchant has them, are in the
    /// knowledge given with `set_knowledge`) or failed (the merchant's system did not answer).
    LookedUp { ok: bool },
    /// The last `Phrase` is answered: the words to say, or `None` for the reply as written.
    Phrased { text: Option<String> },
    /// The instant from `poll_timeout()` has been reached.
    Tick,
}

/// How a transfer ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferOutcome {
    /// An agent answered, talked, and the agent side has since hung up.
    Completed,
    Busy,
    NoAnswer,
    /// Unreachable, rejected, no agent in the queue...: the reason is for the call record.
    Failed(String),
}

/// Something a running flow asks the driver to do, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum FlowAction {
    /// The flow moved to this node (the call record keeps the path).
    NodeEntered { name: NodeName },
    /// Play these prompts one after the other, then report `PlaybackFinished`. Never sent while
    /// another play is running. `interruptible`: the caller may cut it short. The flow itself
    /// handles keys and, while it listens, `SpeechStarted` (it sends `StopPlayback`); the flag
    /// tells a driver that detects speech when nothing listens whether it may stop the play.
    Play {
        prompts: Vec<PromptRef>,
        interruptible: bool,
    },
    /// Speak `text` (plain or `<speak>` SSML) with `voice` (voices.toml; `None`: the default
    /// voice of `language`, or of the flow's language), then report `PlaybackFinished`: to the
    /// flow a spoken reply is a play like any other, stopped by `StopPlayback`. The same rules
    /// as `Play` apply.
    Say {
        text: String,
        voice: Option<String>,
        language: Option<String>,
        interruptible: bool,
    },
    /// Stop the running play at once; no `PlaybackFinished` follows.
    StopPlayback,
    /// Record the caller (after a tone if `beep`) until `StopRecording`, `max_seconds`, or
    /// `silence_seconds` of silence, then report `RecordingFinished`.
    StartRecording {
        max_seconds: u32,
        silence_seconds: Option<u32>,
        beep: bool,
    },
    /// Finish the running recording; `RecordingFinished` follows.
    StopRecording,
    /// From now on recognise the caller's turns and report them (`SpeechStarted`, then `Heard`
    /// or `SpeechFailed`), also while a play runs, until `StopListening`. Never sent while
    /// listening; the flow always sends `StopListening` before it enters another node or hangs
    /// up, but for one case: an interruptible `say` listens as the node after it will and
    /// hands its listening (and a turn the caller began over the reply) on to that node.
    Listen(ListenRequest),
    /// Stop recognising. Drop any turn in progress: no speech report for it may follow.
    StopListening,
    /// Something for the call's timeline that is no request: `kind` is a stable word, `detail`
    /// free text. Sent as `speech_failed` with the driver's reason after `SpeechFailed`.
    Note { kind: &'static str, detail: String },
    /// Play `announce` to the caller, then ring `target` for up to `timeout_ms` and bridge the
    /// call if answered (or, with `refer`, ask the caller's side to call `target` itself);
    /// report `TransferEnded` once that is over. `brief` is said to the agent alone when they
    /// answer, before the caller is connected.
    Transfer {
        target: TransferTarget,
        timeout_ms: u32,
        announce: Vec<PromptRef>,
        brief: Option<String>,
        refer: bool,
    },
    /// The shop assistant answered a caller's turn: for the call record and the live view.
    Conversed(Box<Conversed>),
    /// Change the shop as the assistant decided (cancel an order, book a return), then report
    /// `ShopChanged`. The assistant's reply waits for it.
    ChangeShop(assistant::Action),
    /// Fetch these records from the merchant's live system and lay them over the call's
    /// knowledge, then report `LookedUp`. The greeting or turn that needs them waits for it.
    LookUp(assistant::Lookup),
    /// Have a language model rephrase this reply, then report `Phrased`; the reply waits.
    Phrase(assistant::phrasing::PhraseRequest),
    /// End the call (stopping whatever plays or records). The flow is finished.
    Hangup { cause: EndCause },
}

/// One turn of the caller with the shop assistant.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversed {
    /// What the caller said (or typed: digits for a number).
    pub said: String,
    pub turn: assistant::Turn,
}

/// How to recognise the caller's turns, from the node's `speech` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenRequest {
    /// Grammar name, e.g. `order_number`: `grammars/<flow language>/<name>.grxml`. Without one
    /// the text is reported as heard, with no interpretation.
    pub grammar: Option<String>,
    /// Words the recogniser should expect.
    pub hints: Option<String>,
    /// Silence that ends the caller's turn.
    pub end_silence: Duration,
    /// Suppress noise before recognition.
    pub denoise: bool,
}

/// One recognised turn of the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct Heard {
    /// What was said, as recognised.
    pub text: String,
    /// The grammar's semantic result (SISR `out`) as a string, e.g. `10023`, `order`, `yes`;
    /// `None` without a grammar or when the text does not match it.
    pub interpretation: Option<String>,
    /// 0 to 1.
    pub confidence: f32,
}

/// The `Note` kind for a `SpeechFailed` report.
pub const NOTE_SPEECH_FAILED: &str = "speech_failed";

/// A stable end-cause code for the call record, such as `flow.hangup`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EndCause(Cow<'static, str>);

impl EndCause {
    /// A `hangup` node without its own cause.
    pub const HANGUP: EndCause = EndCause(Cow::Borrowed("flow.hangup"));
    /// A menu or collect ran out of attempts and has no `on_failure`.
    pub const NO_INPUT: EndCause = EndCause(Cow::Borrowed("flow.no_input"));
    /// Too many nodes in a row without any event: the flow goes round in circles.
    pub const LOOP: EndCause = EndCause(Cow::Borrowed("flow.loop"));
    /// The flow's `max_duration_s` was reached.
    pub const MAX_DURATION: EndCause = EndCause(Cow::Borrowed("flow.max_duration"));
    /// A transfer failed and its node has no `on_failure`.
    pub const TRANSFER_FAILED: EndCause = EndCause(Cow::Borrowed("flow.transfer_failed"));
    /// A transferred call ended and its node has no `next`.
    pub const TRANSFER_ENDED: EndCause = EndCause(Cow::Borrowed("flow.transfer_ended"));
    /// The flow refers to a node it does not have (only possible for a hand-built `Flow`).
    pub const BROKEN: EndCause = EndCause(Cow::Borrowed("flow.broken"));

    /// A cause written in a flow file (already checked to be `flow.<word>`).
    pub fn from_flow(code: &str) -> Self {
        EndCause(Cow::Owned(code.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An end cause is read as the code it is (`&cause` where a `&str` is wanted).
impl std::ops::Deref for EndCause {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EndCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
