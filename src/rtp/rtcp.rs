//! RTCP (RFC 3550 §6): writing compound SR/RR + SDES(CNAME) (+ BYE) reports, and a validating,
//! zero-copy reader of compound packets from the peer.
//!
//! Validation follows RFC 3550 A.2 except that the first packet of a compound need not be an SR
//! or RR (reduced-size RTCP, RFC 5506, is tolerated). Unknown packet types are skipped.

use std::time::Duration;

use crate::rtp::error::RtpError;
use crate::rtp::packet::{RTP_VERSION, Ssrc};

/// RTCP packet type of a sender report.
pub const PT_SR: u8 = 200;
/// RTCP packet type of a receiver report.
pub const PT_RR: u8 = 201;
/// RTCP packet type of source description.
pub const PT_SDES: u8 = 202;
/// RTCP packet type of goodbye.
pub const PT_BYE: u8 = 203;
/// SDES item type of the canonical name.
pub const SDES_CNAME: u8 = 1;
/// Most report blocks one SR/RR can carry (the 5-bit count).
pub const MAX_REPORT_BLOCKS: usize = 31;
/// Size of one report block on the wire.
pub const REPORT_BLOCK_LEN: usize = 24;

/// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
const NTP_UNIX_OFFSET_SECS: u64 = 2_208_988_800;

/// A 64-bit NTP timestamp: seconds since 1900 in the high word, fraction in the low word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct NtpTimestamp(pub u64);

impl NtpTimestamp {
    /// The NTP time of a Unix time (e.g. `SystemTime::now().duration_since(UNIX_EPOCH)`, read by
    /// the runtime, never inside a core).
    pub fn from_unix(since_unix_epoch: Duration) -> Self {
        let secs = since_unix_epoch
            .as_secs()
            .wrapping_add(NTP_UNIX_OFFSET_SECS);
        NtpTimestamp((secs << 32) | fraction_of(since_unix_epoch.subsec_nanos()))
    }

    /// This timestamp moved forward by `d`.
    pub fn after(self, d: Duration) -> Self {
        let frac = fraction_of(d.subsec_nanos());
        NtpTimestamp(self.0.wrapping_add(d.as_secs() << 32).wrapping_add(frac))
    }

    /// The middle 32 bits, the form used by LSR and DLSR (RFC 3550 §6.4.1).
    pub fn middle32(self) -> u32 {
        (self.0 >> 16) as u32
    }
}

fn fraction_of(nanos: u32) -> u64 {
    (u64::from(nanos) << 32) / 1_000_000_000
}

/// A duration in the 1/65536 s units of DLSR and round-trip computations.
pub fn to_ntp_short(d: Duration) -> u32 {
    let units = d.as_nanos() * 65_536 / 1_000_000_000;
    u32::try_from(units).unwrap_or(u32::MAX)
}

/// A 1/65536 s quantity as a duration.
pub fn from_ntp_short(units: u32) -> Duration {
    Duration::from_nanos(u64::from(units) * 1_000_000_000 / 65_536)
}

/// The sender information of an SR (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderInfo {
    /// Wall-clock time of this report.
    pub ntp: NtpTimestamp,
    /// The RTP timestamp that corresponds to `ntp`.
    pub rtp_timestamp: u32,
    /// Packets sent since the start of the stream (wrapping).
    pub packet_count: u32,
    /// Payload octets sent since the start of the stream (wrapping).
    pub octet_count: u32,
}

/// One reception report block (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportBlock {
    /// The source this block is about.
    pub ssrc: Ssrc,
    /// Fraction of packets lost since the previous report, in 1/256.
    pub fraction_lost: u8,
    /// Cumulative packets lost, a signed 24-bit value.
    pub cumulative_lost: i32,
    /// Cycles (high 16 bits) and highest sequence number received.
    pub extended_highest_seq: u32,
    /// Interarrival jitter in timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the NTP time of the last SR from that source, 0 if none.
    pub last_sr: u32,
    /// Delay since that SR in 1/65536 s, 0 if none.
    pub delay_since_last_sr: u32,
}

impl ReportBlock {
    fn read(b: &[u8; REPORT_BLOCK_LEN]) -> Self {
        let word = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        // Sign-extend the 24-bit cumulative loss.
        let lost = (i32::from_be_bytes([b[5], b[6], b[7], 0])) >> 8;
        ReportBlock {
            ssrc: Ssrc(word(0)),
            fraction_lost: b[4],
            cumulative_lost: lost,
            extended_highest_seq: word(8),
            jitter: word(12),
            last_sr: word(16),
            delay_since_last_sr: word(20),
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.ssrc.0.to_be_bytes());
        out.push(self.fraction_lost);
        let lost = self.cumulative_lost.clamp(-0x80_0000, 0x7f_ffff);
        out.extend_from_slice(&lost.to_be_bytes()[1..]);
        out.extend_from_slice(&self.extended_highest_seq.to_be_bytes());
        out.extend_from_slice(&self.jitter.to_be_bytes());
        out.extend_from_slice(&self.last_sr.to_be_bytes());
        out.extend_from_slice(&self.delay_since_last_sr.to_be_bytes());
    }
}

/// Appends an SR (when `sender` is given) or an RR, then an SDES with our CNAME. At most
/// [`MAX_REPORT_BLOCKS`] blocks are written; the rest are left out (RFC 3550 §6.4 allows
/// spreading them over reports, a SIP leg never has that many sources).
pub fn write_report(
    ssrc: Ssrc,
    sender: Option<&SenderInfo>,
    blocks: &[ReportBlock],
    cname: &str,
    out: &mut Vec<u8>,
) {
    let blocks = &blocks[..blocks.len().min(MAX_REPORT_BLOCKS)];
    let count = blocks.len() as u8; // at most 31
    let (packet_type, body_len) = match sender {
        Some(_) => (PT_SR, 24 + REPORT_BLOCK_LEN * blocks.len()),
        None => (PT_RR, 4 + REPORT_BLOCK_LEN * blocks.len()),
    };
    write_common_header(count, packet_type, body_len, out);
    out.extend_from_slice(&ssrc.0.to_be_bytes());
    if let Some(info) = sender {
        out.extend_from_slice(&info.ntp.0.to_be_bytes());
        out.extend_from_slice(&info.rtp_timestamp.to_be_bytes());
        out.extend_from_slice(&info.packet_count.to_be_bytes());
        out.extend_from_slice(&info.octet_count.to_be_bytes());
    }
    for block in blocks {
        block.write(out);
    }
    write_sdes_cname(ssrc, cname, out);
}

/// Appends an SDES packet with one chunk holding our CNAME (truncated to 255 bytes).
pub fn write_sdes_cname(ssrc: Ssrc, cname: &str, out: &mut Vec<u8>) {
    let text = &cname.as_bytes()[..cname.len().min(255)];
    // SSRC + type + length + text + at least one terminating zero, padded to 32 bits.
    let chunk_len = (4 + 2 + text.len() + 1).next_multiple_of(4);
    write_common_header(1, PT_SDES, chunk_len, out);
    let start = out.len();
    out.extend_from_slice(&ssrc.0.to_be_bytes());
    out.push(SDES_CNAME);
    out.push(text.len() as u8); // at most 255
    out.extend_from_slice(text);
    out.resize(start + chunk_len, 0);
}

/// Appends a BYE for our source, with an optional reason (truncated to 255 bytes).
pub fn write_bye(ssrc: Ssrc, reason: Option<&str>, out: &mut Vec<u8>) {
    let reason = reason.map(|r| &r.as_bytes()[..r.len().min(255)]);
    let body_len = 4 + reason.map_or(0, |r| (1 + r.len()).next_multiple_of(4));
    write_common_header(1, PT_BYE, body_len, out);
    let start = out.len();
    out.extend_from_slice(&ssrc.0.to_be_bytes());
    if let Some(r) = reason {
        out.push(r.len() as u8); // at most 255
        out.extend_from_slice(r);
    }
    out.resize(start + body_len, 0);
}

/// Writes V=2, no padding, `count`, `packet_type` and the length in 32-bit words minus one of a
/// packet whose body (after this header) is `body_len` bytes, a multiple of 4.
fn write_common_header(count: u8, packet_type: u8, body_len: usize, out: &mut Vec<u8>) {
    out.push(RTP_VERSION << 6 | (count & 0x1f));
    out.push(packet_type);
    let words = (body_len / 4) as u16; // bodies here are far below 256 KiB
    out.extend_from_slice(&words.to_be_bytes());
}

/// One packet of a validated compound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtcpPacket<'a> {
    /// A sender report.
    SenderReport {
        ssrc: Ssrc,
        info: SenderInfo,
        blocks: ReportBlocks<'a>,
    },
    /// A receiver report.
    ReceiverReport {
        ssrc: Ssrc,
        blocks: ReportBlocks<'a>,
    },
    /// Source descriptions.
    SourceDescription(SdesChunks<'a>),
    /// Sources leaving, with an optional reason.
    Goodbye {
        sources: SsrcList<'a>,
        reason: Option<&'a [u8]>,
    },
    /// Any other packet type (APP, feedback, XR…), skipped by this module.
    Other {
        packet_type: u8,
        count: u8,
        body: &'a [u8],
    },
}

/// The report blocks of an SR or RR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportBlocks<'a>(&'a [u8]);

impl<'a> ReportBlocks<'a> {
    /// Number of blocks.
    pub fn len(&self) -> usize {
        self.0.len() / REPORT_BLOCK_LEN
    }

    /// True when the report has no blocks.
    pub fn is_empty(&self) -> bool {
        self.0.len() < REPORT_BLOCK_LEN
    }

    /// The blocks, in order.
    pub fn iter(&self) -> impl Iterator<Item = ReportBlock> + 'a {
        self.0
            .chunks_exact(REPORT_BLOCK_LEN)
            .filter_map(|c| c.first_chunk::<REPORT_BLOCK_LEN>().map(ReportBlock::read))
    }
}

/// The SSRCs of a BYE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SsrcList<'a>(&'a [u8]);

impl<'a> SsrcList<'a> {
    /// The sources, in order.
    pub fn iter(&self) -> impl Iterator<Item = Ssrc> + 'a {
        self.0
            .chunks_exact(4)
            .map(|c| Ssrc(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
    }
}

/// The chunks of an SDES packet, validated on parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdesChunks<'a> {
    count: u8,
    body: &'a [u8],
}

/// One SDES chunk: a source and its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdesChunk<'a> {
    /// The described source.
    pub ssrc: Ssrc,
    items: &'a [u8],
}

impl<'a> SdesChunk<'a> {
    /// The items as (type, text) pairs, up to the terminating null item.
    pub fn items(&self) -> impl Iterator<Item = (u8, &'a [u8])> + 'a {
        let mut rest = self.items;
        std::iter::from_fn(move || {
            let (&kind, tail) = rest.split_first()?;
            if kind == 0 {
                return None;
            }
            let (&len, tail) = tail.split_first()?;
            let text = tail.get(..usize::from(len))?;
            rest = &tail[usize::from(len)..];
            Some((kind, text))
        })
    }

    /// The CNAME item, if present.
    pub fn cname(&self) -> Option<&'a [u8]> {
        self.items()
            .find(|&(kind, _)| kind == SDES_CNAME)
            .map(|(_, text)| text)
    }
}

impl<'a> SdesChunks<'a> {
    /// The chunks, in order.
    pub fn iter(&self) -> impl Iterator<Item = SdesChunk<'a>> + 'a {
        let mut rest = self.body;
        let mut left = self.count;
        std::iter::from_fn(move || {
            if left == 0 {
                return None;
            }
            left -= 1;
            let (chunk, tail) = split_sdes_chunk(rest).ok()?;
            rest = tail;
            Some(chunk)
        })
    }
}

/// Splits one SDES chunk off the front of `body`, checking every item length.
fn split_sdes_chunk(body: &[u8]) -> Result<(SdesChunk<'_>, &[u8]), RtpError> {
    let ssrc_bytes = body.first_chunk::<4>().ok_or(RtpError::SdesMalformed)?;
    let ssrc = Ssrc(u32::from_be_bytes(*ssrc_bytes));
    let mut pos = 4;
    loop {
        let kind = *body.get(pos).ok_or(RtpError::SdesMalformed)?;
        if kind == 0 {
            // The null item, then zeros up to the next 32-bit boundary.
            let end = (pos + 1).next_multiple_of(4);
            if end > body.len() {
                return Err(RtpError::SdesMalformed);
            }
            let chunk = SdesChunk {
                ssrc,
                items: &body[4..pos + 1],
            };
            return Ok((chunk, &body[end..]));
        }
        let len = *body.get(pos + 1).ok_or(RtpError::SdesMalformed)?;
        pos += 2 + usize::from(len);
    }
}

/// A compound RTCP datagram whose every packet has been validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtcpCompound<'a>(&'a [u8]);

impl<'a> RtcpCompound<'a> {
    /// Validates every packet of a compound datagram (version, lengths, counts, padding only on
    /// the last packet, SDES and BYE structure) and that the packets exactly fill it.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, RtpError> {
        if bytes.is_empty() {
            return Err(RtpError::RtcpEmpty);
        }
        let mut rest = bytes;
        while !rest.is_empty() {
            let (_, tail) = split_packet(rest)?;
            rest = tail;
        }
        Ok(RtcpCompound(bytes))
    }

    /// The packets in order.
    pub fn packets(&self) -> impl Iterator<Item = RtcpPacket<'a>> + 'a {
        let mut rest = self.0;
        std::iter::from_fn(move || {
            if rest.is_empty() {
                return None;
            }
            // Validated in `parse`; an error here only ends the iteration.
            let (packet, tail) = split_packet(rest).ok()?;
            rest = tail;
            Some(packet)
        })
    }
}

/// Splits and decodes the first packet of `bytes`.
fn split_packet(bytes: &[u8]) -> Result<(RtcpPacket<'_>, &[u8]), RtpError> {
    let Some(&[b0, packet_type, l0, l1]) = bytes.first_chunk::<4>() else {
        return Err(RtpError::RtcpTruncated {
            packet_type: bytes.get(1).copied().unwrap_or(0),
            len: bytes.len(),
        });
    };
    let version = b0 >> 6;
    if version != RTP_VERSION {
        return Err(RtpError::RtcpBadVersion(version));
    }
    let count = b0 & 0x1f;
    let total = 4 * (usize::from(u16::from_be_bytes([l0, l1])) + 1);
    if total > bytes.len() {
        return Err(RtpError::RtcpLengthOverrun {
            declared: total,
            available: bytes.len(),
        });
    }
    let (packet, tail) = bytes.split_at(total);
    let mut body = &packet[4..];
    if b0 & 0x20 != 0 {
        // Only the last packet of a compound may be padded (RFC 3550 §6.4.1).
        let padding = usize::from(*body.last().ok_or(RtpError::RtcpBadPadding)?);
        if !tail.is_empty() || padding == 0 || padding > body.len() {
            return Err(RtpError::RtcpBadPadding);
        }
        body = &body[..body.len() - padding];
    }
    let truncated = RtpError::RtcpTruncated {
        packet_type,
        len: total,
    };
    let overrun = RtpError::RtcpCountOverrun { packet_type, count };
    let decoded = match packet_type {
        PT_SR => {
            let fixed = body.first_chunk::<24>().ok_or(truncated)?;
            let word =
                |i: usize| u32::from_be_bytes([fixed[i], fixed[i + 1], fixed[i + 2], fixed[i + 3]]);
            let blocks = report_blocks(&body[24..], count).ok_or(overrun)?;
            RtcpPacket::SenderReport {
                ssrc: Ssrc(word(0)),
                info: SenderInfo {
                    ntp: NtpTimestamp(u64::from(word(4)) << 32 | u64::from(word(8))),
                    rtp_timestamp: word(12),
                    packet_count: word(16),
                    octet_count: word(20),
                },
                blocks,
            }
        }
        PT_RR => {
            let fixed = body.first_chunk::<4>().ok_or(truncated)?;
            let blocks = report_blocks(&body[4..], count).ok_or(overrun)?;
            RtcpPacket::ReceiverReport {
                ssrc: Ssrc(u32::from_be_bytes(*fixed)),
                blocks,
            }
        }
        PT_SDES => {
            let mut rest = body;
            for _ in 0..count {
                rest = split_sdes_chunk(rest)?.1;
            }
            RtcpPacket::SourceDescription(SdesChunks { count, body })
        }
        PT_BYE => {
            let list_len = 4 * usize::from(count);
            let list = body.get(..list_len).ok_or(overrun)?;
            let reason = match body.get(list_len) {
                None => None,
                Some(&len) => {
                    let text = body
                        .get(list_len + 1..list_len + 1 + usize::from(len))
                        .ok_or(RtpError::ByeMalformed)?;
                    Some(text)
                }
            };
            RtcpPacket::Goodbye {
                sources: SsrcList(list),
                reason,
            }
        }
        _ => RtcpPacket::Other {
            packet_type,
            count,
            body,
        },
    };
    Ok((decoded, tail))
}

fn report_blocks(after_fixed: &[u8], count: u8) -> Option<ReportBlocks<'_>> {
    after_fixed
        .get(..REPORT_BLOCK_LEN * usize::from(count))
        .map(ReportBlocks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn block(ssrc: u32) -> ReportBlock {
        ReportBlock {
            ssrc: Ssrc(ssrc),
            fraction_lost: 25,
            cumulative_lost: -3,
            extended_highest_seq: 0x0001_0005,
            jitter: 42,
            last_sr: 0x1234_5678,
            delay_since_last_sr: 65_536,
        }
    }

    #[test]
    fn sr_with_sdes_round_trips() {
        let info = SenderInfo {
            ntp: NtpTimestamp(0xe000_0000_8000_0000),
            rtp_timestamp: 160,
            packet_count: 10,
            octet_count: 1600,
        };
        let mut out = Vec::new();
        write_report(
            Ssrc(7),
            Some(&info),
            &[block(9), block(10)],
            "kefu@host",
            &mut out,
        );
        assert_eq!(out.len() % 4, 0);
        let compound = RtcpCompound::parse(&out).unwrap();
        let packets: Vec<_> = compound.packets().collect();
        assert_eq!(packets.len(), 2);
        let RtcpPacket::SenderReport {
            ssrc,
            info: got,
            blocks,
        } = packets[0]
        else {
            panic!("expected an SR, got {:?}", packets[0]);
        };
        assert_eq!(ssrc, Ssrc(7));
        assert_eq!(got, info);
        assert_eq!(blocks.iter().collect::<Vec<_>>(), [block(9), block(10)]);
        let RtcpPacket::SourceDescription(chunks) = packets[1] else {
            panic!("expected SDES");
        };
        let chunk = chunks.iter().next().unwrap();
        assert_eq!(chunk.ssrc, Ssrc(7));
        assert_eq!(chunk.cname(), Some(&b"kefu@host"[..]));
    }

    #[test]
    fn rr_bye_and_unknown_types() {
        let mut out = Vec::new();
        write_report(Ssrc(1), None, &[block(2)], "abc", &mut out);
        out.extend_from_slice(&[0x80, 204, 0, 2, 0, 0, 0, 1, b'n', b'a', b'm', b'e']); // APP
        write_bye(Ssrc(1), Some("hangup"), &mut out);
        let compound = RtcpCompound::parse(&out).unwrap();
        let kinds: Vec<_> = compound.packets().collect();
        assert!(
            matches!(kinds[0], RtcpPacket::ReceiverReport { ssrc: Ssrc(1), blocks } if blocks.len() == 1)
        );
        assert!(matches!(kinds[1], RtcpPacket::SourceDescription(_)));
        assert!(matches!(
            kinds[2],
            RtcpPacket::Other {
                packet_type: 204,
                ..
            }
        ));
        let RtcpPacket::Goodbye { sources, reason } = kinds[3] else {
            panic!("expected BYE");
        };
        assert_eq!(sources.iter().collect::<Vec<_>>(), [Ssrc(1)]);
        assert_eq!(reason, Some(&b"hangup"[..]));
    }

    #[test]
    fn rejects_malformed_compounds() {
        let mut rr = Vec::new();
        write_report(Ssrc(1), None, &[block(2)], "x", &mut rr);
        assert_eq!(RtcpCompound::parse(&[]), Err(RtpError::RtcpEmpty));
        assert!(matches!(
            RtcpCompound::parse(&rr[..rr.len() - 1]),
            Err(RtpError::RtcpLengthOverrun { .. }) | Err(RtpError::RtcpTruncated { .. })
        ));
        let mut v1 = rr.clone();
        v1[0] = 0x41;
        assert_eq!(RtcpCompound::parse(&v1), Err(RtpError::RtcpBadVersion(1)));
        // RR claiming two blocks with room for one.
        let mut two = rr.clone();
        two[0] = 0x82;
        assert_eq!(
            RtcpCompound::parse(&two),
            Err(RtpError::RtcpCountOverrun {
                packet_type: PT_RR,
                count: 2
            })
        );
        // Padding on the first packet of a compound.
        let mut padded = rr.clone();
        padded[0] |= 0x20;
        assert_eq!(RtcpCompound::parse(&padded), Err(RtpError::RtcpBadPadding));
        // SDES item running past its packet.
        let sdes = [0x81, PT_SDES, 0, 2, 0, 0, 0, 1, SDES_CNAME, 200, b'a', b'b'];
        assert_eq!(RtcpCompound::parse(&sdes), Err(RtpError::SdesMalformed));
        // BYE reason running past its packet.
        let bye = [0x81, PT_BYE, 0, 2, 0, 0, 0, 1, 9, b'a', b'b', b'c'];
        assert_eq!(RtcpCompound::parse(&bye), Err(RtpError::ByeMalformed));
    }

    #[test]
    fn ntp_conversions() {
        let t = NtpTimestamp::from_unix(Duration::from_millis(1_500));
        assert_eq!(t.0 >> 32, NTP_UNIX_OFFSET_SECS + 1);
        assert_eq!(t.0 & 0xffff_ffff, 0x8000_0000);
        assert_eq!(
            t.after(Duration::from_millis(500)).0,
            (NTP_UNIX_OFFSET_SECS + 2) << 32
        );
        assert_eq!(to_ntp_short(Duration::from_millis(250)), 16_384);
        assert_eq!(from_ntp_short(32_768), Duration::from_millis(500));
        assert_eq!(
            t.middle32(),
            ((NTP_UNIX_OFFSET_SECS as u32 + 1) << 16) | 0x8000
        );
    }

    #[test]
    fn negative_cumulative_loss_round_trips_as_24_bits() {
        let mut out = Vec::new();
        let mut b = block(5);
        b.cumulative_lost = -0x90_0000; // below the 24-bit range: clamped
        write_report(Ssrc(1), None, &[b], "x", &mut out);
        let compound = RtcpCompound::parse(&out).unwrap();
        let Some(RtcpPacket::ReceiverReport { blocks, .. }) = compound.packets().next() else {
            panic!("expected RR");
        };
        assert_eq!(blocks.iter().next().unwrap().cumulative_lost, -0x80_0000);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(c) = RtcpCompound::parse(&bytes) {
                for p in c.packets() {
                    match p {
                        RtcpPacket::SenderReport { blocks, .. } | RtcpPacket::ReceiverReport { blocks, .. } => {
                            let _ = blocks.iter().count();
                        }
                        RtcpPacket::SourceDescription(chunks) => {
                            for chunk in chunks.iter() {
                                let _ = chunk.items().count();
                            }
                        }
                        RtcpPacket::Goodbye { sources, .. } => { let _ = sources.iter().count(); }
                        RtcpPacket::Other { .. } => {}
                    }
                }
            }
        }

        #[test]
        fn framed_garbage_never_panics(count in 0u8..32, pt in 192u8..=210, body in proptest::collection::vec(any::<u8>(), 0..120)) {
            // A valid common header around random bodies reaches the per-type decoders.
            let padded = body.len().next_multiple_of(4);
            let mut bytes = vec![0x80 | count, pt];
            bytes.extend_from_slice(&((padded / 4) as u16).to_be_bytes());
            bytes.extend_from_slice(&body);
            bytes.resize(4 + padded, 0);
            if let Ok(c) = RtcpCompound::parse(&bytes) {
                prop_assert_eq!(c.packets().count(), 1);
            }
        }
    }
}
