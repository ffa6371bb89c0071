//! RTP data packets (RFC 3550 §5.1, §5.3.1): a zero-copy parser, a writer, and the RFC 5761 §4
//! test that tells RTCP from RTP on a multiplexed port.

use crate::rtp::error::RtpError;

/// Length of the RTP fixed header.
pub const FIXED_HEADER_LEN: usize = 12;
/// The only RTP version there is.
pub const RTP_VERSION: u8 = 2;

/// Synchronisation source identifier (RFC 3550 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Ssrc(pub u32);

/// The header fields a voice leg uses. CSRCs and header extensions are parsed and skipped on
/// receive and never written: plain SIP legs do not mix or extend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader {
    /// Payload type, 0..=127.
    pub payload_type: u8,
    /// Marker bit: for audio, the first packet of a talk spurt (RFC 3551 §4.1).
    pub marker: bool,
    /// Sequence number, wrapping at 65535.
    pub seq: u16,
    /// Media timestamp in the codec's clock units.
    pub timestamp: u32,
    /// Source of the stream.
    pub ssrc: Ssrc,
}

/// A header extension (RFC 3550 §5.3.1), kept as raw bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderExtension<'a> {
    /// The profile-defined 16-bit identifier (0xBEDE for RFC 8285 one-byte headers).
    pub profile: u16,
    /// The extension body, a multiple of 4 bytes.
    pub data: &'a [u8],
}

/// A parsed RTP packet borrowing the datagram it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    /// The fixed header fields.
    pub header: RtpHeader,
    csrc: &'a [u8],
    extension: Option<HeaderExtension<'a>>,
    payload: &'a [u8],
    padding: u8,
}

impl<'a> RtpPacket<'a> {
    /// Parses and validates one RTP packet. Every length is checked against the datagram, so
    /// any byte string either parses or returns the first violation found.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, RtpError> {
        let len = bytes.len();
        let Some(fixed) = bytes.first_chunk::<FIXED_HEADER_LEN>() else {
            return Err(RtpError::TooShort { len });
        };
        let version = fixed[0] >> 6;
        if version != RTP_VERSION {
            return Err(RtpError::BadVersion(version));
        }
        let has_padding = fixed[0] & 0x20 != 0;
        let has_extension = fixed[0] & 0x10 != 0;
        let csrc_count = fixed[0] & 0x0f;
        let header = RtpHeader {
            marker: fixed[1] & 0x80 != 0,
            payload_type: fixed[1] & 0x7f,
            seq: u16::from_be_bytes([fixed[2], fixed[3]]),
            timestamp: u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]),
            ssrc: Ssrc(u32::from_be_bytes([
                fixed[8], fixed[9], fixed[10], fixed[11],
            ])),
        };

        let csrc_end = FIXED_HEADER_LEN + 4 * usize::from(csrc_count);
        let Some(csrc) = bytes.get(FIXED_HEADER_LEN..csrc_end) else {
            return Err(RtpError::CsrcTruncated {
                count: csrc_count,
                needed: csrc_end,
                len,
            });
        };

        let mut offset = csrc_end;
        let mut extension = None;
        if has_extension {
            let Some(ext_header) = bytes.get(offset..offset + 4) else {
                return Err(RtpError::ExtensionHeaderMissing);
            };
            let profile = u16::from_be_bytes([ext_header[0], ext_header[1]]);
            let declared = 4 * usize::from(u16::from_be_bytes([ext_header[2], ext_header[3]]));
            let start = offset + 4;
            let Some(data) = bytes.get(start..start + declared) else {
                return Err(RtpError::ExtensionTruncated {
                    declared,
                    available: len - start,
                });
            };
            extension = Some(HeaderExtension { profile, data });
            offset = start + declared;
        }

        let mut padding = 0u8;
        if has_padding {
            // `len >= 12`, so there is a last octet.
            padding = bytes[len - 1];
            if padding == 0 {
                return Err(RtpError::ZeroPadding);
            }
            let available = len - offset;
            if usize::from(padding) > available {
                return Err(RtpError::PaddingOverrun {
                    padding: usize::from(padding),
                    available,
                });
            }
        }
        let payload = &bytes[offset..len - usize::from(padding)];
        Ok(RtpPacket {
            header,
            csrc,
            extension,
            payload,
            padding,
        })
    }

    /// The media payload, without header, extension or padding.
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// Contributing sources, in order.
    pub fn csrcs(&self) -> impl Iterator<Item = Ssrc> + 'a {
        self.csrc
            .chunks_exact(4)
            .map(|c| Ssrc(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
    }

    /// The header extension, if the X bit was set.
    pub fn extension(&self) -> Option<HeaderExtension<'a>> {
        self.extension
    }

    /// Number of padding bytes that followed the payload.
    pub fn padding_len(&self) -> u8 {
        self.padding
    }
}

/// Writes `header` and `payload` as one RTP packet into `out`, replacing its contents. Reusing
/// `out` across packets avoids allocation once it has grown to the largest packet.
pub fn write_rtp(header: &RtpHeader, payload: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.reserve(FIXED_HEADER_LEN + payload.len());
    out.push(RTP_VERSION << 6);
    out.push(u8::from(header.marker) << 7 | (header.payload_type & 0x7f));
    out.extend_from_slice(&header.seq.to_be_bytes());
    out.extend_from_slice(&header.timestamp.to_be_bytes());
    out.extend_from_slice(&header.ssrc.0.to_be_bytes());
    out.extend_from_slice(payload);
}

/// True when a datagram on a multiplexed port is RTCP rather than RTP (RFC 5761 §4): its second
/// octet, read as an RTP marker bit and payload type, falls in 192..=223, i.e. payload types
/// 64..=95 with the marker set, which covers RTCP packet types 200..=204 (SR, RR, SDES, BYE,
/// APP) and the feedback types 205/206. Payload types 64..=95 must not be used for RTP on a
/// multiplexed port, so nothing else lands there.
pub fn is_rtcp(bytes: &[u8]) -> bool {
    match bytes {
        [first, second, ..] => first >> 6 == RTP_VERSION && (192..=223).contains(second),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn header() -> RtpHeader {
        RtpHeader {
            payload_type: 0,
            marker: true,
            seq: 65535,
            timestamp: 0xdead_beef,
            ssrc: Ssrc(0x1234_5678),
        }
    }

    #[test]
    fn write_then_parse_round_trips() {
        let mut out = Vec::new();
        write_rtp(&header(), &[1, 2, 3], &mut out);
        assert_eq!(
            out,
            [
                0x80, 0x80, 0xff, 0xff, 0xde, 0xad, 0xbe, 0xef, 0x12, 0x34, 0x56, 0x78, 1, 2, 3
            ]
        );
        let p = RtpPacket::parse(&out).unwrap();
        assert_eq!(p.header, header());
        assert_eq!(p.payload(), &[1, 2, 3]);
        assert_eq!(p.csrcs().count(), 0);
        assert_eq!(p.extension(), None);
    }

    #[test]
    fn parses_csrc_extension_and_padding() {
        let mut b = vec![0xb2, 0x08, 0, 1, 0, 0, 0, 160, 0, 0, 0, 9];
        b.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2]); // two CSRCs
        b.extend_from_slice(&[0xbe, 0xde, 0, 1, 0x10, 0xaa, 0, 0]); // one-word extension
        b.extend_from_slice(&[7, 7, 7]); // payload
        b.extend_from_slice(&[0, 0, 3]); // three bytes of padding
        let p = RtpPacket::parse(&b).unwrap();
        assert_eq!(p.header.payload_type, 8);
        assert!(!p.header.marker);
        assert_eq!(p.csrcs().collect::<Vec<_>>(), [Ssrc(1), Ssrc(2)]);
        let ext = p.extension().unwrap();
        assert_eq!(ext.profile, 0xbede);
        assert_eq!(ext.data, &[0x10, 0xaa, 0, 0]);
        assert_eq!(p.payload(), &[7, 7, 7]);
        assert_eq!(p.padding_len(), 3);
    }

    #[test]
    fn each_violation_has_its_error() {
        let ok = [0x80u8, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1];
        assert_eq!(
            RtpPacket::parse(&ok[..11]),
            Err(RtpError::TooShort { len: 11 })
        );
        let mut v1 = ok;
        v1[0] = 0x40;
        assert_eq!(RtpPacket::parse(&v1), Err(RtpError::BadVersion(1)));
        let mut cc = ok;
        cc[0] = 0x81;
        assert_eq!(
            RtpPacket::parse(&cc),
            Err(RtpError::CsrcTruncated {
                count: 1,
                needed: 16,
                len: 12
            })
        );
        let mut x = ok;
        x[0] = 0x90;
        assert_eq!(RtpPacket::parse(&x), Err(RtpError::ExtensionHeaderMissing));
        let mut x2 = ok.to_vec();
        x2[0] = 0x90;
        x2.extend_from_slice(&[0, 0, 0, 2, 1, 2, 3, 4]);
        assert_eq!(
            RtpPacket::parse(&x2),
            Err(RtpError::ExtensionTruncated {
                declared: 8,
                available: 4
            })
        );
        let mut p0 = ok.to_vec();
        p0[0] = 0xa0;
        p0.push(0);
        assert_eq!(RtpPacket::parse(&p0), Err(RtpError::ZeroPadding));
        let mut p9 = ok.to_vec();
        p9[0] = 0xa0;
        p9.extend_from_slice(&[1, 9]);
        assert_eq!(
            RtpPacket::parse(&p9),
            Err(RtpError::PaddingOverrun {
                padding: 9,
                available: 2
            })
        );
    }

    #[test]
    fn rtcp_demux_follows_rfc_5761() {
        assert!(is_rtcp(&[0x80, 200])); // SR
        assert!(is_rtcp(&[0x81, 201])); // RR
        assert!(is_rtcp(&[0x81, 206])); // PSFB
        assert!(!is_rtcp(&[0x80, 0])); // PCMU
        assert!(!is_rtcp(&[0x80, 0x80 | 101])); // telephone-event with marker
        assert!(!is_rtcp(&[0x80, 0x80 | 96])); // dynamic PT 96 with marker
        assert!(!is_rtcp(&[0x40, 200])); // wrong version
        assert!(!is_rtcp(&[0x80]));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(p) = RtpPacket::parse(&bytes) {
                prop_assert!(p.payload().len() <= bytes.len() - FIXED_HEADER_LEN);
                let _ = p.csrcs().count();
            }
            let _ = is_rtcp(&bytes);
        }

        #[test]
        fn written_packets_parse_back(pt in 0u8..128, marker: bool, seq: u16, ts: u32, ssrc: u32,
                                      payload in proptest::collection::vec(any::<u8>(), 0..300)) {
            let h = RtpHeader { payload_type: pt, marker, seq, timestamp: ts, ssrc: Ssrc(ssrc) };
            let mut out = Vec::new();
            write_rtp(&h, &payload, &mut out);
            let p = RtpPacket::parse(&out).unwrap();
            prop_assert_eq!(p.header, h);
            prop_assert_eq!(p.payload(), &payload[..]);
        }
    }
}
