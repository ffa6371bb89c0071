//! The call: one caller leg, the flow that talks to it, and the agent leg kefu bridges in on a
//! transfer. [`Call`] is sans-IO; `runtime::call_task` is its async shell.

pub mod barge_in;
mod latency;
pub mod leg;
pub mod machine;
mod utterance;

pub use leg::{Leg, LegMedia};
pub use machine::{Call, CallOutput, CallSettings, LegId, Recognition};
pub use utterance::SpeechId;
