//! The async shells: sockets, tasks, timers. The one place that reads the clock and the only code
//! that awaits; everything it drives (`sip::guard`, `call::Call`, `dialogue::FlowRun`, the RTP
//! and media stages) takes `now` as an argument.

pub mod asr;
pub mod call_task;
pub mod dispatch;
pub mod live;
pub mod llm;
pub mod logging;
pub mod merchant;
pub mod ports;
pub mod prompts;
pub mod recorder;
pub mod registrar;
pub mod server;
pub mod shop;
pub mod sip_socket;
pub mod sip_stream;
pub mod speaker;
pub mod transfer;

pub use server::serve;
