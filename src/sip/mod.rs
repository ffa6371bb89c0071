//! SIP signalling. The transaction and dialog layers are rsipstack's (pinned, used only from
//! here and `runtime/`); kefu adds the parts a call server needs around them:
//!
//! - [`guard`]: every UDP datagram, and every TCP message cut out by [`framing`], is checked
//!   before the stack sees it; a malformed request is answered 400 (RFC 3261 §8.2, §18.3) or
//!   513, garbage is dropped, both are counted.
//! - [`admission`]: the concurrent-call limit, drain on shutdown and a per-source INVITE rate
//!   limit, all answered 503 with Retry-After (RFC 3261 §21.5.4).
//! - [`sdp`]: SDP (RFC 8866) parsing and offer/answer (RFC 3264), codec-agnostic.
//! - [`request`]: what kefu reads out of an INVITE or an INFO (application/dtmf-relay).
//! - [`digest`], [`registrar`]: agent phones REGISTER with digest auth (RFC 3261 §10.3, §22.4).
//!
//! Deviations: TLS and WebSocket transports are not offered yet.

pub mod admission;
pub mod digest;
pub mod framing;
pub mod guard;
pub mod registrar;
pub mod request;
pub mod sdp;
