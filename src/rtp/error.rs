//! The one error type of `rtp/`: every way a packet from the network can be wrong.

use thiserror::Error;

/// What was wrong with an RTP, RTCP or telephone-event packet. Each variant names the first
/// violation found; the packet is dropped and counted by the caller.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RtpError {
    /// The datagram is shorter than the 12-byte RTP fixed header.
    #[error("RTP packet of {len} bytes is shorter than the 12-byte fixed header")]
    TooShort { len: usize },
    /// The version field is not 2 (RFC 3550 §5.1).
    #[error("RTP version {0} is not 2")]
    BadVersion(u8),
    /// The CSRC count claims more identifiers than the packet holds.
    #[error("CSRC count {count} needs {needed} bytes but the packet has {len}")]
    CsrcTruncated {
        count: u8,
        needed: usize,
        len: usize,
    },
    /// The X bit is set but the 4-byte extension header is missing.
    #[error("header extension flagged but its 4-byte header is missing")]
    ExtensionHeaderMissing,
    /// The header extension length runs past the end of the packet.
    #[error("header extension of {declared} bytes but only {available} remain")]
    ExtensionTruncated { declared: usize, available: usize },
    /// The P bit is set but the last octet (the padding count) is zero.
    #[error("padding flagged but the padding count is zero")]
    ZeroPadding,
    /// The padding count is larger than what follows the header.
    #[error("padding of {padding} bytes but only {available} follow the header")]
    PaddingOverrun { padding: usize, available: usize },

    /// An RTCP packet is shorter than its 4-byte common header, or its body is too short for
    /// its type.
    #[error("RTCP packet of type {packet_type} is truncated ({len} bytes)")]
    RtcpTruncated { packet_type: u8, len: usize },
    /// The compound RTCP datagram is empty.
    #[error("empty RTCP datagram")]
    RtcpEmpty,
    /// An RTCP header has a version other than 2.
    #[error("RTCP version {0} is not 2")]
    RtcpBadVersion(u8),
    /// An RTCP length field runs past the end of the datagram.
    #[error("RTCP packet declares {declared} bytes but only {available} remain")]
    RtcpLengthOverrun { declared: usize, available: usize },
    /// The report or source count does not fit in the packet's length.
    #[error("RTCP packet type {packet_type} counts {count} entries that do not fit its length")]
    RtcpCountOverrun { packet_type: u8, count: u8 },
    /// Padding is set on a packet that is not the last of the compound, or its count is invalid
    /// (RFC 3550 §6.4.1, A.2).
    #[error("invalid RTCP padding")]
    RtcpBadPadding,
    /// An SDES chunk or item runs past its packet, or a chunk is not terminated.
    #[error("malformed SDES chunk")]
    SdesMalformed,
    /// A BYE reason runs past the end of its packet.
    #[error("malformed BYE reason")]
    ByeMalformed,

    /// A telephone-event payload is shorter than 4 bytes (RFC 4733 §2.3).
    #[error("telephone-event payload of {len} bytes is shorter than 4")]
    TelephoneEventTooShort { len: usize },
}
