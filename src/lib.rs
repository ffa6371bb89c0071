//! # kefu — a voice customer-service server for e-commerce
//!
//! One binary answers a shop's hotline over SIP, runs its IVR flows, records every call and keeps
//! a record of it. This page is the map.
//!
//! ## The path of a call (module map)
//!
//! ```text
//! caller ─SIP─► sip/ (guard, admission, SDP) ─► runtime/dispatch ─► runtime/call_task
//!        ─RTP─► rtp/ (packets, jitter buffer, RFC 4733, RTCP) ─► media/ (codecs → 16 kHz frames)
//!                 └─► call/ (the per-call state machine) ◄─► dialogue/ (IVR flow engine)
//!                 │     └─► speech/ listener (denoise, VAD, endpointing) ─► runtime/asr pool
//!                 │         (whisper, grammar-constrained) ─► what was heard, back to the flow
//!                 └─► media/ prompts and tones, speech/tts replies (runtime/speaker: rendered
//!                     sentence by sentence off the call task) ─► encode ─► RTP out; recorder tap
//! store/ keeps call records (SQLite via sqlx); api/ serves them (gRPC, gRPC-web, /metrics).
//! shop/ is the merchant's data (orders, shipments, returns, FAQ, collectibles; imports and the
//! demo shop); dialogue/understand and dialogue/assistant answer a caller's turn from it, on a
//! call through the flow's `converse` node (runtime/shop keeps every call's copy of the shop
//! fresh, and makes the changes it decides; runtime/merchant asks the merchant's own order
//! system for what the shop lacks; runtime/llm may rephrase a reply), and by text in
//! `kefu chat`.
//! ```
//!
//! ## Run loop and time model
//!
//! Protocol and media cores are sans-IO: [`call::Call`], [`dialogue::FlowRun`],
//! [`sip::guard`], [`sip::admission::Admission`] and the RTP pieces take `now: Instant` as an
//! argument and return what to send and when to wake them. Only [`runtime`] owns sockets, spawns
//! tasks and reads the clock. Each live call is one task that, every 20 ms, feeds the call one
//! tick and drains its outputs; datagrams and SIP dialog events are fed as they arrive. Whisper
//! decodes run on a small pool of worker threads; a call task holds a handle to its decode and
//! is told the result like any other event, so a call never waits on speech recognition; speech
//! synthesis runs on blocking threads the same way, each rendered sentence an event. A call's
//! media never waits on disk or database: recordings go in 200 ms batches through a bounded
//! queue to one writer thread shared by all calls, call events to a per-call writer task.
//!
//! ## Panic policy
//!
//! Nothing from the network, a file or a user may panic: parsers return errors, the SIP guard
//! answers 400, bad RTP is counted and dropped. `expect` is used only for broken invariants, and
//! says which. A panic inside a call task ends that call, not the server.

pub mod api;
pub mod call;
pub mod cli;
pub mod config;
pub mod dialogue;
pub mod media;
pub mod rtp;
pub mod runtime;
pub mod shop;
pub mod sip;
pub mod speech;
pub mod store;
