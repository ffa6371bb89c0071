//! Sans-IO RTP and RTCP for plain SIP call legs.
//!
//! - [`packet`]: RTP packets (RFC 3550 §5.1), zero-copy parse and write, RTCP demultiplexing on
//!   a shared port (RFC 5761 §4).
//! - [`rtcp`]: compound SR/RR + SDES(CNAME) reports and BYE (RFC 3550 §6.4–6.6), validated
//!   parsing of the peer's compounds (RFC 3550 A.2, but reduced-size compounds are accepted).
//! - [`stats`]: receive statistics per RFC 3550 A.1 (probation), A.3 (loss), A.8 (jitter);
//!   deviation: probation packets count as received.
//! - [`jitter`]: a fixed-delay jitter buffer over a preallocated ring, pulled every 20 ms.
//! - [`dtmf`]: RFC 4733 telephone events: payload, a receiver that reports each digit once, a
//!   sender; only events 0..=15 (DTMF) are handled.
//! - [`session`]: one leg's state: outbound numbering, symmetric-RTP latching, statistics and
//!   periodic RTCP (RFC 3550 §6.3 interval without reconsideration).
//!
//! Every function takes `now` as an argument and returns bytes to send; nothing here reads a
//! clock, touches a socket or panics on input from the network. After warm-up nothing allocates
//! per packet, except the RTCP report (one `Vec` every few seconds). SRTP is not handled here.

pub mod dtmf;
pub mod error;
pub mod jitter;
pub mod packet;
pub mod rtcp;
pub mod session;
pub mod stats;

pub use dtmf::{DtmfDigit, DtmfReceiver, DtmfSender, DtmfSenderConfig, TelephoneEvent};
pub use error::RtpError;
pub use jitter::{JitterBuffer, JitterConfig, JitterOutput};
pub use packet::{RtpHeader, RtpPacket, Ssrc, is_rtcp, write_rtp};
pub use rtcp::{NtpTimestamp, ReportBlock, RtcpCompound, RtcpPacket};
pub use session::{Incoming, RtpSession, RtpSessionConfig};
pub use stats::ReceiveStats;
