//! The dialogue core: runs an IVR flow (`config::flow`) for one call.
//!
//! [`FlowRun`] is sans-IO, in the manner of str0m and quinn-proto: the driver (the call task)
//! feeds it [`FlowEvent`]s with the time they happened (`handle(now, event)`), carries out the
//! [`FlowAction`]s it queues (`poll_action()`), and calls `handle(t, FlowEvent::Tick)` once the
//! instant from `poll_timeout()` has come. Nothing here reads a clock, so a ten-minute call is
//! tested in microseconds with exact instants. DTMF comes from RFC 4733 events (or in-band
//! detection) upstream; this module only sees keys.
//!
//! Speech works the same way. Recognition (denoise, endpointing, whisper, SRGS matching) is the
//! driver's; a node that takes speech (`menu` or `collect` with a `speech` table, `listen`)
//! sends `Listen(ListenRequest)` with its first prompt and gets `SpeechStarted` when the caller
//! begins a turn, then `Heard(Heard)` (text, interpretation, confidence) or `SpeechFailed`. The
//! contract, like `Play`'s: never two `Listen`s without a `StopListening` between, and the run
//! sends `StopListening` before it enters another node or hangs up; after it, the driver drops
//! the turn in progress, and speech reports that still come are ignored. Speech stops the
//! node's prompt at once (barge-in) and holds its no-input timer until the turn is judged
//! (`hearing.rs`). A failed recognition goes to the call timeline as
//! `Note { kind: "speech_failed", detail }` and is treated as no match. [`FlowRun::heard`] keeps
//! every recognised turn for the call record; [`FlowRun::digits`] stays keys only.
//!
//! Each node kind is a `NodeStep` (`step.rs`), one file per kind: `enter` when the node
//! becomes current, `handle` for each event while it is, both returning `Stay`, `Goto(node)` or
//! `End(cause)`, and both acting only through a small context (variables, the action queue, one
//! timer, listening, the record of what was heard). [`FlowRun`] owns what is common: the path,
//! the digits, type-ahead, stale-report filtering, stopping a node's listening when it is left,
//! the loop guard and the flow's maximum duration.
//!
//! Adding a node kind (`say`, `converse`...), as `listen` was added:
//! 1. `config::flow`: a `NodeKind` variant with its typed struct and its prompts in
//!    `NodeKind::prompt_items` (and `NodeKind::speech` if it listens); in
//!    `config/flow/parse.rs` a `*Spec` implementing `NodeSpec` and its line in `parse_node`;
//! 2. here: a file with a step implementing `NodeStep`, and its arm in `step::step_for`; a
//!    step that listens keeps an `Ears` (`hearing.rs`) for barge-in, judging and fallback;
//! 3. any new input (`SayFinished`) becomes a `FlowEvent` variant and any new request
//!    (`Say { text }`) a `FlowAction` variant, as `SpeechStarted`/`Heard`/`SpeechFailed` and
//!    `Listen`/`StopListening`/`Note` did. Existing steps ignore events they have no use for,
//!    so nothing else changes.

pub mod action;
pub mod assistant;
pub mod run;
pub mod understand;

mod branch;
mod collect;
mod converse;
mod hangup;
mod hearing;
mod listen;
mod menu;
mod play;
mod record;
mod say;
mod set;
pub(crate) mod step;
mod transfer;

#[cfg(test)]
mod scenarios;
#[cfg(test)]
mod testkit;

pub use crate::config::flow::{NodeName, PromptRef, TransferTarget};
pub use action::Conversed;
pub use action::{
    EndCause, FlowAction, FlowEvent, Heard, ListenRequest, NOTE_SPEECH_FAILED, TransferOutcome,
    Vars,
};
pub use converse::{ConverseReport, NOTE_HANDOFF, VAR_SPEECH};
pub use hearing::HeardEntry;
pub use run::{FlowRun, LOOP_LIMIT};
