//! Hearing the caller and speaking back: the speech paths of a call, and the models they run on.
//!
//! ```text
//! 16 kHz frames ─► denoise (RNNoise, 48 kHz inside) ─► vad (earshot, + RNNoise's voice estimate)
//!               ─► endpoint (turns: start, partials, pause, end after silence) ─► asr (whisper,
//!                  on a worker pool; grammar-constrained) ─► grammar matcher ─► dialogue
//! ```
//!
//! Per-frame stages ([`denoise`], [`vad`], [`endpoint`], chained by [`listener`]) are
//! synchronous and sans-IO, fed by the call machine or by a file; decoding ([`asr`]) is heavy
//! and runs off the call task. The final decode of a turn starts when the caller pauses, not
//! at the endpoint, so its result is usually ready when the silence ends; when it makes a
//! whole answer ([`complete`]), the turn ends on a shorter silence. [`grammar`] reads
//! SRGS grammars; [`models`] installs, converts and checks whisper models; [`transcriber`] and
//! [`wer`] serve `kefu transcribe` and `kefu eval asr`. [`tts`] is the way back: reply text to
//! 16 kHz speech, sentence by sentence, for `say` nodes and `kefu say`.

pub mod asr;
pub mod complete;
pub mod denoise;
pub mod endpoint;
pub mod grammar;
pub mod listener;
pub mod models;
pub mod transcriber;
pub mod tts;
pub mod turn;
pub mod vad;
pub mod wer;
