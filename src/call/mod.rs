//! The call: one caller leg, the flow that talks to it, and the agent leg kefu bridges in on a
//! transfer. [`call::Call`] is sans-IO; `runtime::call_task` is its async shell.

pub mod call;
pub mod leg;
