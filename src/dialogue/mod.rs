//! The dialogue core: runs an IVR flow (`config::flow`) for one call.
//!
//! [`FlowRun`] is sans-IO, in the manner of str0m and quinn-proto: the driver (the call task)
//! feeds it [`FlowEvent`]s with the time they happened (`handle(now, event)`), carries out the
//! [`FlowAction`]s it queues (`poll_action()`), and calls `handle(t, FlowEvent::Tick)` once the
//! instant from `poll_timeout()` has come. Nothing here reads a clock, so a ten-minute call is
//! tested in microseconds with exact instants. DTMF comes from RFC 4733 events (or in-band
//! detection) upstream; this module only sees keys.
//!
//! Each node kind is a `NodeStep` (`step.rs`), one file per kind: `enter` when the node
//! becomes current, `handle` for each event while it is, both returning `Stay`, `Goto(node)` or
//! `End(cause)`, and both acting only through a small context (variables, the action queue, one
//! timer). [`FlowRun`] owns what is common: the path, the digits, type-ahead, stale-report
//! filtering, the loop guard and the flow's maximum duration.
//!
//! Adding a node kind (`listen`, `say`, `converse`...):
//! 1. `config::flow`: a `NodeKind` variant with its typed struct and its prompts in
//!    `NodeKind::prompt_items`; in `config/flow/parse.rs` a `*Spec` implementing `NodeSpec` and
//!    its line in `parse_node`;
//! 2. here: a file with a step implementing `NodeStep`, and its arm in `step::step_for`;
//! 3. any new input (`Speech { text, final }`, `SayFinished`) becomes a `FlowEvent` variant and
//!    any new request (`Listen { grammar }`, `Say { text }`) a `FlowAction` variant. Existing
//!    steps ignore events they have no use for, so nothing else changes.

pub mod action;
pub mod run;

mod branch;
mod collect;
mod hangup;
mod menu;
mod play;
mod record;
mod set;
pub(crate) mod step;
mod transfer;

#[cfg(test)]
mod scenarios;
#[cfg(test)]
mod testkit;

pub use crate::config::flow::{NodeName, PromptRef, TransferTarget};
pub use action::{EndCause, FlowAction, FlowEvent, TransferOutcome, Vars};
pub use run::{FlowRun, LOOP_LIMIT};
