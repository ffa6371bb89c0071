//! One RTP session per call leg: the outbound stream's numbering, symmetric-RTP latching of the
//! inbound source, per-source receive statistics and periodic RTCP (RFC 3550 §6.2, §6.4).
//!
//! Latching rule (symmetric RTP, RFC 4961, as NAT traversal needs it): media is sent to the SDP
//! address until the first valid RTP packet arrives; from then on it is sent to that packet's
//! source address, and only packets from there are media. A packet from any other address is
//! counted and reported as [`Incoming::Foreign`]. The session re-latches to another address
//! only when it sends `relatch_after` consecutive valid packets (default 5) with one SSRC that
//! differs from the latched SSRC and no packet from the latched address arrives in between (a
//! media server switching the stream to another box). A copy of the latched SSRC from elsewhere
//! never moves the latch. A new SDP address (re-INVITE) resets the latch:
//! [`RtpSession::set_remote`].
//!
//! RTCP: the first report goes out after half an interval, then every interval (default 5 s)
//! times a random factor in 0.5..1.5 (RFC 3550 §6.3.1). Deviations: no timer reconsideration
//! and no 1.21828 compensation, which matter only for large multicast groups. RTCP packets on the
//! RTP port are always demultiplexed (RFC 5761 §4), even when rtcp-mux was not negotiated.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::rtp::dtmf::DtmfPacket;
use crate::rtp::error::RtpError;
use crate::rtp::packet::{RtpHeader, RtpPacket, Ssrc, is_rtcp, write_rtp};
use crate::rtp::rtcp::{
    NtpTimestamp, ReportBlock, ReportBlocks, RtcpCompound, RtcpPacket, SenderInfo, from_ntp_short,
    to_ntp_short, write_bye, write_report,
};
use crate::rtp::stats::ReceiveStats;

/// Default RTCP report interval.
pub const DEFAULT_RTCP_INTERVAL: Duration = Duration::from_secs(5);
/// Default number of consecutive packets from a new source needed to re-latch.
pub const DEFAULT_RELATCH_AFTER: u32 = 5;
/// Remote sources tracked at once; the least recently heard is forgotten beyond this.
const MAX_SOURCES: usize = 4;

/// Settings of one session. The random values are arguments so that tests are deterministic;
/// the runtime draws them from a real random source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpSessionConfig {
    /// Our SSRC (random).
    pub ssrc: Ssrc,
    /// First sequence number we send (random).
    pub initial_seq: u16,
    /// First RTP timestamp we send (random).
    pub initial_timestamp: u32,
    /// Seed of the RTCP interval randomisation (random).
    pub rng_seed: u64,
    /// Clock rate of the negotiated audio codec's RTP timestamps.
    pub clock_rate: u32,
    /// The media address from the peer's SDP.
    pub remote: SocketAddr,
    /// Whether RTCP shares the RTP port (RFC 5761), else it goes to port + 1.
    pub rtcp_mux: bool,
    /// Payload type of telephone-event, excluded from jitter (its packets repeat timestamps).
    pub telephone_event_pt: Option<u8>,
    /// Our RTCP canonical name.
    pub cname: String,
    /// Mean RTCP report interval.
    pub rtcp_interval: Duration,
    /// Consecutive packets from another address and SSRC needed to re-latch.
    pub relatch_after: u32,
}

/// What an incoming datagram was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incoming<'a> {
    /// Media from the latched source.
    Rtp {
        packet: RtpPacket<'a>,
        /// The SSRC differs from the previous packet's: reset the jitter buffer and DTMF receiver.
        new_source: bool,
    },
    /// An RTCP compound (multiplexed on the RTP port), recorded.
    Rtcp(RtcpReceived),
    /// Valid RTP from an address that is not the latched one: counted and not played.
    Foreign { from: SocketAddr },
}

/// What an RTCP compound told us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RtcpReceived {
    /// It held a sender report.
    pub sender_report: bool,
    /// It held a report block about our stream.
    pub report_about_us: Option<ReportBlock>,
    /// A round-trip time measured from that block's LSR/DLSR.
    pub rtt: Option<Duration>,
    /// It held a BYE.
    pub bye: bool,
}

/// The latest reception report the peer sent about our stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteReport {
    pub block: ReportBlock,
    pub received_at: Instant,
}

/// Counters for monitoring.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionCounters {
    /// Valid RTP packets accepted as media.
    pub received: u64,
    /// Datagrams dropped because their RTP header was invalid.
    pub bad_headers: u64,
    /// Valid RTP packets from a non-latched address.
    pub foreign: u64,
    /// Times the latch moved to another address.
    pub relatches: u64,
    /// Valid RTCP compounds.
    pub rtcp_received: u64,
    /// Invalid RTCP compounds.
    pub bad_rtcp: u64,
    /// RTP packets built for sending.
    pub sent: u64,
    /// Payload bytes in them.
    pub sent_octets: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Latch {
    addr: SocketAddr,
    ssrc: Ssrc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Candidate {
    addr: SocketAddr,
    ssrc: Ssrc,
    count: u32,
}

#[derive(Debug, Clone)]
struct Source {
    ssrc: Ssrc,
    stats: ReceiveStats,
    last_heard: Instant,
    /// Included in the next report (RFC 3550 §6.4: only sources heard in the interval).
    heard_since_report: bool,
    /// Middle 32 bits of the NTP time of its last SR, and when it arrived.
    last_sr: Option<(u32, Instant)>,
}

/// The RTP/RTCP state of one call leg. Sans-IO: every input carries `now`, every output is
/// returned bytes; [`RtpSession::poll_timeout`] says when to call [`RtpSession::poll_rtcp`].
#[derive(Debug, Clone)]
pub struct RtpSession {
    config: RtpSessionConfig,
    seq: u16,
    timestamp: u32,
    /// When and with which timestamp the last media packet went out: maps wall time to RTP
    /// time for SRs.
    last_sent: Option<(Instant, u32)>,
    sent_since_report: bool,
    /// The session's start in both clocks, to compute NTP time from `now`.
    start: Instant,
    ntp_at_start: NtpTimestamp,
    latch: Option<Latch>,
    candidate: Option<Candidate>,
    sources: Vec<Source>,
    last_received: Option<Instant>,
    counters: SessionCounters,
    next_rtcp: Instant,
    rng: u64,
    rtt: Option<Duration>,
    remote_report: Option<RemoteReport>,
    bye_received: bool,
}

impl RtpSession {
    /// A session starting at `now`, when the wall clock reads `ntp_now`.
    pub fn new(config: RtpSessionConfig, now: Instant, ntp_now: NtpTimestamp) -> Self {
        let mut session = RtpSession {
            seq: config.initial_seq,
            timestamp: config.initial_timestamp,
            rng: config.rng_seed,
            config,
            last_sent: None,
            sent_since_report: false,
            start: now,
            ntp_at_start: ntp_now,
            latch: None,
            candidate: None,
            sources: Vec::with_capacity(MAX_SOURCES),
            last_received: None,
            counters: SessionCounters::default(),
            next_rtcp: now,
            rtt: None,
            remote_report: None,
            bye_received: false,
        };
        session.next_rtcp = now + session.randomized_interval() / 2;
        session
    }

    /// Our SSRC.
    pub fn ssrc(&self) -> Ssrc {
        self.config.ssrc
    }

    /// Where to send RTP: the latched address, or the SDP address before latching.
    pub fn remote_addr(&self) -> SocketAddr {
        self.latch.map_or(self.config.remote, |l| l.addr)
    }

    /// Where to send RTCP: the RTP address with rtcp-mux, else its port + 1 (RFC 3550 §11).
    pub fn remote_rtcp_addr(&self) -> SocketAddr {
        let mut addr = self.remote_addr();
        if !self.config.rtcp_mux {
            addr.set_port(addr.port().checked_add(1).unwrap_or(addr.port()));
        }
        addr
    }

    /// True once a source has been latched.
    pub fn is_latched(&self) -> bool {
        self.latch.is_some()
    }

    /// The SSRC of the latched source.
    pub fn remote_ssrc(&self) -> Option<Ssrc> {
        self.latch.map(|l| l.ssrc)
    }

    /// A new SDP address (re-INVITE, UPDATE): send there and latch afresh.
    pub fn set_remote(&mut self, remote: SocketAddr) {
        self.config.remote = remote;
        self.latch = None;
        self.candidate = None;
    }

    /// When the last media packet was accepted, for the caller's media timeout.
    pub fn last_received(&self) -> Option<Instant> {
        self.last_received
    }

    /// Counters since the start.
    pub fn counters(&self) -> SessionCounters {
        self.counters
    }

    /// Receive statistics of the latched source.
    pub fn stats(&self) -> Option<&ReceiveStats> {
        self.remote_ssrc().and_then(|ssrc| self.source_stats(ssrc))
    }

    /// Receive statistics of any tracked source.
    pub fn source_stats(&self, ssrc: Ssrc) -> Option<&ReceiveStats> {
        self.sources
            .iter()
            .find(|s| s.ssrc == ssrc)
            .map(|s| &s.stats)
    }

    /// Round-trip time from the peer's last report with LSR/DLSR about us.
    pub fn rtt(&self) -> Option<Duration> {
        self.rtt
    }

    /// The peer's last report about our stream (its view of our loss and jitter).
    pub fn remote_report(&self) -> Option<RemoteReport> {
        self.remote_report
    }

    /// True once the peer sent an RTCP BYE.
    pub fn bye_received(&self) -> bool {
        self.bye_received
    }

    /// The RTP timestamp the next packet will carry; a DTMF event starts here.
    pub fn next_timestamp(&self) -> u32 {
        self.timestamp
    }

    /// Advances the media clock without sending, for suppressed silence: the timestamp keeps
    /// counting real time so the peer's playout stays in step. Mark the next packet.
    pub fn advance_timestamp(&mut self, timestamp_step: u32) {
        self.timestamp = self.timestamp.wrapping_add(timestamp_step);
    }

    /// Writes the next media packet into `out` (replacing its contents) with the current
    /// sequence number and timestamp, then advances them by one and `timestamp_step`.
    pub fn build_outgoing(
        &mut self,
        now: Instant,
        payload_type: u8,
        payload: &[u8],
        timestamp_step: u32,
        marker: bool,
        out: &mut Vec<u8>,
    ) {
        let timestamp = self.timestamp;
        self.write(now, payload_type, marker, timestamp, payload, out);
        self.timestamp = self.timestamp.wrapping_add(timestamp_step);
    }

    /// Writes a telephone-event packet from a [`crate::rtp::dtmf::DtmfSender`] in place of this
    /// tick's audio: the event's own timestamp and marker, the next sequence number; the media
    /// clock still advances by `timestamp_step`.
    pub fn build_telephone_event(
        &mut self,
        now: Instant,
        payload_type: u8,
        packet: &DtmfPacket,
        timestamp_step: u32,
        out: &mut Vec<u8>,
    ) {
        let timestamp = packet.timestamp;
        self.write(
            now,
            payload_type,
            packet.marker,
            timestamp,
            &packet.payload,
            out,
        );
        self.timestamp = self.timestamp.wrapping_add(timestamp_step);
    }

    fn write(
        &mut self,
        now: Instant,
        payload_type: u8,
        marker: bool,
        timestamp: u32,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) {
        let header = RtpHeader {
            payload_type,
            marker,
            seq: self.seq,
            timestamp,
            ssrc: self.config.ssrc,
        };
        write_rtp(&header, payload, out);
        self.seq = self.seq.wrapping_add(1);
        self.last_sent = Some((now, self.timestamp));
        self.sent_since_report = true;
        self.counters.sent += 1;
        self.counters.sent_octets += payload.len() as u64;
    }

    /// Handles one datagram received on the RTP port.
    pub fn handle_incoming<'a>(
        &mut self,
        now: Instant,
        from: SocketAddr,
        bytes: &'a [u8],
    ) -> Result<Incoming<'a>, RtpError> {
        if is_rtcp(bytes) {
            return self.handle_rtcp(now, bytes).map(Incoming::Rtcp);
        }
        let packet = RtpPacket::parse(bytes).inspect_err(|_| self.counters.bad_headers += 1)?;
        let ssrc = packet.header.ssrc;
        let previous_ssrc = match self.latch {
            None => None,
            Some(latch) if latch.addr == from => {
                self.candidate = None;
                Some(latch.ssrc)
            }
            Some(latch) => {
                if !self.counts_towards_relatch(from, ssrc, latch.ssrc) {
                    self.counters.foreign += 1;
                    return Ok(Incoming::Foreign { from });
                }
                self.counters.relatches += 1;
                self.candidate = None;
                Some(latch.ssrc)
            }
        };
        self.latch = Some(Latch { addr: from, ssrc });
        let new_source = previous_ssrc != Some(ssrc);

        let measure_jitter = Some(packet.header.payload_type) != self.config.telephone_event_pt;
        let source = self.source_mut(ssrc, now);
        source.last_heard = now;
        source.heard_since_report = true;
        let valid = source.stats.update_seq(packet.header.seq);
        if valid && measure_jitter {
            source.stats.update_jitter(now, packet.header.timestamp);
        }
        self.counters.received += 1;
        self.last_received = Some(now);
        Ok(Incoming::Rtp { packet, new_source })
    }

    /// Advances the re-latch candidate; true when it has earned the latch.
    fn counts_towards_relatch(&mut self, from: SocketAddr, ssrc: Ssrc, latched: Ssrc) -> bool {
        if ssrc == latched {
            return false;
        }
        let count = match self.candidate {
            Some(c) if c.addr == from && c.ssrc == ssrc => c.count + 1,
            _ => 1,
        };
        self.candidate = Some(Candidate {
            addr: from,
            ssrc,
            count,
        });
        count >= self.config.relatch_after
    }

    fn source_mut(&mut self, ssrc: Ssrc, now: Instant) -> &mut Source {
        let index = match self.sources.iter().position(|s| s.ssrc == ssrc) {
            Some(i) => i,
            None => {
                let fresh = Source {
                    ssrc,
                    stats: ReceiveStats::new(self.config.clock_rate),
                    last_heard: now,
                    heard_since_report: false,
                    last_sr: None,
                };
                if self.sources.len() < MAX_SOURCES {
                    self.sources.push(fresh);
                    self.sources.len() - 1
                } else {
                    let oldest = (0..self.sources.len())
                        .min_by_key(|&i| self.sources[i].last_heard)
                        .unwrap_or(0);
                    self.sources[oldest] = fresh;
                    oldest
                }
            }
        };
        &mut self.sources[index]
    }

    /// Records an RTCP compound from the peer (on the RTCP port, or multiplexed).
    pub fn handle_rtcp(&mut self, now: Instant, bytes: &[u8]) -> Result<RtcpReceived, RtpError> {
        let compound = RtcpCompound::parse(bytes).inspect_err(|_| self.counters.bad_rtcp += 1)?;
        self.counters.rtcp_received += 1;
        let mut received = RtcpReceived::default();
        for packet in compound.packets() {
            match packet {
                RtcpPacket::SenderReport { ssrc, info, blocks } => {
                    received.sender_report = true;
                    if let Some(source) = self.sources.iter_mut().find(|s| s.ssrc == ssrc) {
                        source.last_sr = Some((info.ntp.middle32(), now));
                    }
                    self.record_blocks(now, blocks, &mut received);
                }
                RtcpPacket::ReceiverReport { blocks, .. } => {
                    self.record_blocks(now, blocks, &mut received);
                }
                RtcpPacket::Goodbye { .. } => {
                    received.bye = true;
                    self.bye_received = true;
                }
                RtcpPacket::SourceDescription(_) | RtcpPacket::Other { .. } => {}
            }
        }
        Ok(received)
    }

    fn record_blocks(
        &mut self,
        now: Instant,
        blocks: ReportBlocks<'_>,
        received: &mut RtcpReceived,
    ) {
        for block in blocks.iter().filter(|b| b.ssrc == self.config.ssrc) {
            received.report_about_us = Some(block);
            self.remote_report = Some(RemoteReport {
                block,
                received_at: now,
            });
            if block.last_sr != 0 {
                // RFC 3550 §6.4.1: RTT = A - LSR - DLSR, in 1/65536 s.
                let arrival = self.ntp(now).middle32();
                let units = arrival
                    .wrapping_sub(block.last_sr)
                    .wrapping_sub(block.delay_since_last_sr);
                if units < 1 << 31 {
                    let rtt = from_ntp_short(units);
                    self.rtt = Some(rtt);
                    received.rtt = Some(rtt);
                }
            }
        }
    }

    /// When [`RtpSession::poll_rtcp`] next has something to send.
    pub fn poll_timeout(&self) -> Instant {
        self.next_rtcp
    }

    /// The periodic report when due: an SR if we sent media since the last report, else an
    /// RR, each followed by our CNAME; to be sent to [`RtpSession::remote_rtcp_addr`].
    pub fn poll_rtcp(&mut self, now: Instant) -> Option<Vec<u8>> {
        if now < self.next_rtcp {
            return None;
        }
        let mut out = Vec::with_capacity(128);
        self.append_report(now, &mut out);
        self.next_rtcp = now + self.randomized_interval();
        Some(out)
    }

    /// A final report and BYE for hangup (RFC 3550 §6.6).
    pub fn build_bye(&mut self, now: Instant, reason: Option<&str>) -> Vec<u8> {
        let mut out = Vec::with_capacity(160);
        self.append_report(now, &mut out);
        write_bye(self.config.ssrc, reason, &mut out);
        out
    }

    fn append_report(&mut self, now: Instant, out: &mut Vec<u8>) {
        let mut blocks = [ReportBlock::default(); MAX_SOURCES];
        let mut count = 0;
        for source in self.sources.iter_mut().filter(|s| s.heard_since_report) {
            source.heard_since_report = false;
            let loss = source.stats.take_report();
            let (last_sr, delay) = source.last_sr.map_or((0, 0), |(lsr, at)| {
                (lsr, to_ntp_short(now.saturating_duration_since(at)))
            });
            blocks[count] = ReportBlock {
                ssrc: source.ssrc,
                fraction_lost: loss.fraction_lost,
                cumulative_lost: loss.cumulative_lost,
                extended_highest_seq: loss.extended_highest_seq,
                jitter: loss.jitter,
                last_sr,
                delay_since_last_sr: delay,
            };
            count += 1;
        }
        let sender = self.sent_since_report.then(|| SenderInfo {
            ntp: self.ntp(now),
            rtp_timestamp: self.rtp_timestamp_at(now),
            // RFC 3550 counts wrap at 32 bits.
            packet_count: self.counters.sent as u32,
            octet_count: self.counters.sent_octets as u32,
        });
        self.sent_since_report = false;
        write_report(
            self.config.ssrc,
            sender.as_ref(),
            &blocks[..count],
            &self.config.cname,
            out,
        );
    }

    fn ntp(&self, now: Instant) -> NtpTimestamp {
        self.ntp_at_start
            .after(now.saturating_duration_since(self.start))
    }

    /// The RTP timestamp matching `now`, extrapolated from the last packet sent.
    fn rtp_timestamp_at(&self, now: Instant) -> u32 {
        match self.last_sent {
            Some((at, timestamp)) => {
                let elapsed = now.saturating_duration_since(at);
                let units = elapsed.as_nanos() * u128::from(self.config.clock_rate) / 1_000_000_000;
                timestamp.wrapping_add(units as u32)
            }
            None => self.timestamp,
        }
    }

    /// The report interval times a factor in 0.5..1.5 (RFC 3550 §6.3.1), from a SplitMix64 draw.
    fn randomized_interval(&mut self) -> Duration {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        let unit = (z >> 11) as f64 / (1u64 << 53) as f64;
        self.config.rtcp_interval.mul_f64(0.5 + unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::dtmf::{DtmfDigit, DtmfSender, DtmfSenderConfig};
    use crate::rtp::rtcp::PT_SR;

    const PCMU: u8 = 0;
    const TE: u8 = 101;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn config(ssrc: u32, remote: &str) -> RtpSessionConfig {
        RtpSessionConfig {
            ssrc: Ssrc(ssrc),
            initial_seq: 65_534,
            initial_timestamp: 1_000,
            rng_seed: 7,
            clock_rate: 8000,
            remote: addr(remote),
            rtcp_mux: false,
            telephone_event_pt: Some(TE),
            cname: format!("leg-{ssrc}@kefu"),
            rtcp_interval: DEFAULT_RTCP_INTERVAL,
            relatch_after: DEFAULT_RELATCH_AFTER,
        }
    }

    /// The kind of an `Incoming`, detached from the datagram's lifetime.
    #[derive(Debug, PartialEq, Eq)]
    enum Got {
        Media { new_source: bool },
        Rtcp,
        Foreign,
    }

    fn deliver(s: &mut RtpSession, now: Instant, from: SocketAddr, bytes: &[u8]) -> Got {
        match s.handle_incoming(now, from, bytes).unwrap() {
            Incoming::Rtp { new_source, .. } => Got::Media { new_source },
            Incoming::Rtcp(_) => Got::Rtcp,
            Incoming::Foreign { from: f } => {
                assert_eq!(f, from);
                Got::Foreign
            }
        }
    }

    fn ntp0() -> NtpTimestamp {
        NtpTimestamp::from_unix(Duration::from_secs(1_800_000_000))
    }

    fn rtp(ssrc: u32, seq: u16, timestamp: u32) -> Vec<u8> {
        let mut out = Vec::new();
        let header = RtpHeader {
            payload_type: PCMU,
            marker: false,
            seq,
            timestamp,
            ssrc: Ssrc(ssrc),
        };
        write_rtp(&header, &[0xff; 160], &mut out);
        out
    }

    #[test]
    fn outgoing_numbering_wraps_and_keeps_time_across_silence_and_dtmf() {
        let t0 = Instant::now();
        let mut s = RtpSession::new(config(1, "10.0.0.2:4000"), t0, ntp0());
        let mut out = Vec::new();
        let mut headers = Vec::new();
        let header = |out: &[u8]| RtpPacket::parse(out).unwrap().header;
        s.build_outgoing(t0, PCMU, &[0; 160], 160, true, &mut out);
        headers.push(header(&out));
        s.build_outgoing(t0, PCMU, &[0; 160], 160, false, &mut out);
        headers.push(header(&out));
        // 3 packets of suppressed silence.
        s.advance_timestamp(3 * 160);
        s.build_outgoing(t0, PCMU, &[0; 160], 160, true, &mut out);
        headers.push(header(&out));
        // A DTMF event starting at the current media time.
        let mut tx = DtmfSender::new(DtmfSenderConfig::default());
        assert!(tx.start(DtmfDigit::from_char('5').unwrap(), s.next_timestamp()));
        while let Some(p) = tx.next_packet() {
            s.build_telephone_event(t0, TE, &p, 160, &mut out);
            headers.push(header(&out));
        }
        s.build_outgoing(t0, PCMU, &[0; 160], 160, false, &mut out);
        headers.push(header(&out));

        let seqs: Vec<_> = headers.iter().map(|h| h.seq).collect();
        assert_eq!(seqs, [65_534, 65_535, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
        let stamps: Vec<_> = headers.iter().map(|h| h.timestamp).collect();
        let event = 1_960;
        assert_eq!(
            stamps,
            [
                1_000,
                1_160,
                1_800,
                event,
                event,
                event,
                event,
                event,
                event,
                event,
                event + 160 * 7
            ]
        );
        let markers: Vec<_> = headers.iter().map(|h| h.marker).collect();
        assert_eq!(
            markers,
            [
                true, false, true, true, false, false, false, false, false, false, false
            ]
        );
        assert!(headers.iter().all(|h| h.ssrc == Ssrc(1)));
        assert_eq!(s.counters().sent, 11);
    }

    #[test]
    fn latches_to_the_first_source_and_ignores_copies_from_elsewhere() {
        let t0 = Instant::now();
        let mut s = RtpSession::new(config(1, "10.0.0.2:4000"), t0, ntp0());
        assert_eq!(s.remote_addr(), addr("10.0.0.2:4000"));
        assert_eq!(s.remote_rtcp_addr(), addr("10.0.0.2:4001"));
        let nat = addr("203.0.113.9:31000");
        let got = deliver(&mut s, t0, nat, &rtp(77, 10, 0));
        assert!(got == Got::Media { new_source: true });
        assert_eq!(s.remote_addr(), nat);
        assert_eq!(s.remote_ssrc(), Some(Ssrc(77)));
        // Same SSRC from another address, however often: never moves the latch.
        let other = addr("198.51.100.1:5000");
        for seq in 11..30 {
            let got = deliver(&mut s, t0, other, &rtp(77, seq, 0));
            assert_eq!(got, Got::Foreign);
        }
        assert_eq!(s.remote_addr(), nat);
        let got = deliver(&mut s, t0, nat, &rtp(77, 11, 160));
        assert!(got == Got::Media { new_source: false });
        assert_eq!(s.counters().foreign, 19);
        assert_eq!(s.last_received(), Some(t0));
    }

    #[test]
    fn relatches_after_consecutive_packets_of_a_new_source() {
        let t0 = Instant::now();
        let mut s = RtpSession::new(config(1, "10.0.0.2:4000"), t0, ntp0());
        let first = addr("10.0.0.2:4000");
        let second = addr("10.0.0.3:4002");
        s.handle_incoming(t0, first, &rtp(77, 1, 0)).unwrap();
        // Four from the new source, interrupted by the old one: the count restarts.
        for seq in 0..4 {
            let got = deliver(&mut s, t0, second, &rtp(88, seq, 0));
            assert!(got == Got::Foreign);
        }
        s.handle_incoming(t0, first, &rtp(77, 2, 160)).unwrap();
        for seq in 4..8 {
            let got = deliver(&mut s, t0, second, &rtp(88, seq, 0));
            assert!(got == Got::Foreign);
        }
        let got = deliver(&mut s, t0, second, &rtp(88, 8, 0));
        assert!(got == Got::Media { new_source: true });
        assert_eq!(s.remote_addr(), second);
        assert_eq!(s.remote_ssrc(), Some(Ssrc(88)));
        assert_eq!(s.counters().relatches, 1);
        // Back from the old address is now foreign.
        let got = deliver(&mut s, t0, first, &rtp(77, 3, 320));
        assert!(got == Got::Foreign);
        // A re-INVITE with a new address latches afresh.
        s.set_remote(addr("10.0.0.4:5000"));
        assert_eq!(s.remote_addr(), addr("10.0.0.4:5000"));
        assert!(!s.is_latched());
    }

    #[test]
    fn bad_headers_are_counted_and_rtcp_is_demultiplexed() {
        let t0 = Instant::now();
        let mut s = RtpSession::new(config(1, "10.0.0.2:4000"), t0, ntp0());
        let from = addr("10.0.0.2:4000");
        assert_eq!(
            s.handle_incoming(t0, from, &[0x80, 0, 0]),
            Err(RtpError::TooShort { len: 3 })
        );
        assert!(s.handle_incoming(t0, from, &[0x40; 20]).is_err());
        assert_eq!(s.counters().bad_headers, 2);
        let mut rr = Vec::new();
        write_report(Ssrc(9), None, &[], "peer", &mut rr);
        assert_eq!(deliver(&mut s, t0, from, &rr), Got::Rtcp);
        assert_eq!(s.counters().rtcp_received, 1);
        assert!(s.handle_incoming(t0, from, &[0x80, 201, 0, 9]).is_err());
        assert_eq!(s.counters().bad_rtcp, 1);
        assert!(!s.is_latched());
    }

    #[test]
    fn receive_statistics_of_the_latched_source() {
        let t0 = Instant::now();
        let mut s = RtpSession::new(config(1, "10.0.0.2:4000"), t0, ntp0());
        let from = addr("10.0.0.2:4000");
        for i in (0..100u16).filter(|i| i % 10 != 5) {
            let at = t0 + Duration::from_millis(20 * u64::from(i));
            s.handle_incoming(at, from, &rtp(5, 1000 + i, 160 * u32::from(i)))
                .unwrap();
        }
        let stats = s.stats().unwrap();
        assert_eq!(stats.packets_received(), 90);
        assert_eq!(stats.packets_lost(), 10);
        assert_eq!(stats.jitter(), 0);
        assert_eq!(stats.jitter_ms(), 0.0);
    }

    #[test]
    fn rtcp_schedule_is_randomized_around_the_interval_and_picks_sr_or_rr() {
        let t0 = Instant::now();
        let mut s = RtpSession::new(config(1, "10.0.0.2:4000"), t0, ntp0());
        let first = s.poll_timeout() - t0;
        assert!(first >= Duration::from_millis(1_250) && first < Duration::from_millis(3_750));
        assert_eq!(s.poll_rtcp(t0), None);

        let mut out = Vec::new();
        let mut sent_at = Vec::new();
        let mut kinds = Vec::new();
        let step = Duration::from_millis(20);
        for tick in 0..(60_000 / 20) {
            let now = t0 + step * tick;
            // Send media during the first 30 s only.
            if tick < 1_500 {
                s.build_outgoing(now, PCMU, &[0; 160], 160, false, &mut out);
            }
            if let Some(report) = s.poll_rtcp(now) {
                let compound = RtcpCompound::parse(&report).unwrap();
                kinds.push(matches!(
                    compound.packets().next(),
                    Some(RtcpPacket::SenderReport { .. })
                ));
                assert_eq!(report[1], if *kinds.last().unwrap() { PT_SR } else { 201 });
                sent_at.push(now);
            }
        }
        let gaps: Vec<_> = sent_at.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.len() >= 8, "{gaps:?}");
        assert!(
            gaps.iter()
                .all(|g| *g >= Duration::from_millis(2_500) && *g <= Duration::from_millis(7_520))
        );
        assert!(
            gaps.windows(2).any(|w| w[0] != w[1]),
            "intervals are randomized"
        );
        // SRs while sending, then RRs (the first report after sending stops still is an SR).
        let first_rr = kinds.iter().position(|sr| !sr).unwrap();
        assert!(kinds[..first_rr].iter().all(|&sr| sr));
        assert!(kinds[first_rr..].iter().all(|&sr| !sr));
        assert!(sent_at[first_rr] > t0 + Duration::from_secs(30));
    }

    /// Two sessions over a virtual network: 40 ms from A to B, 70 ms back. Datagrams in flight
    /// are delivered in time order before each 1 ms step.
    #[test]
    fn round_trip_time_from_lsr_and_dlsr() {
        let t0 = Instant::now();
        let a_to_b = Duration::from_millis(40);
        let b_to_a = Duration::from_millis(70);
        let a_addr = addr("10.0.0.1:4000");
        let b_addr = addr("10.0.0.2:5000");
        let mut a = RtpSession::new(config(1, "10.0.0.2:5000"), t0, ntp0());
        let mut b = RtpSession::new(
            RtpSessionConfig {
                rng_seed: 99,
                ..config(2, "10.0.0.1:4000")
            },
            t0,
            ntp0(),
        );
        // (arrival, to B?, datagram)
        let mut in_flight: Vec<(Instant, bool, Vec<u8>)> = Vec::new();
        let mut rtts = Vec::new();
        let mut out = Vec::new();
        for ms in 0..20_000u32 {
            let now = t0 + Duration::from_millis(u64::from(ms));
            in_flight.sort_by_key(|(at, _, _)| *at);
            while in_flight.first().is_some_and(|(at, _, _)| *at <= now) {
                let (at, to_b, bytes) = in_flight.remove(0);
                if to_b {
                    b.handle_incoming(at, a_addr, &bytes).unwrap();
                } else if let Incoming::Rtcp(got) = a.handle_incoming(at, b_addr, &bytes).unwrap() {
                    rtts.extend(got.rtt);
                }
            }
            if ms % 20 == 0 {
                a.build_outgoing(now, PCMU, &[0; 160], 160, false, &mut out);
                in_flight.push((now + a_to_b, true, out.clone()));
                b.build_outgoing(now, PCMU, &[0; 160], 160, false, &mut out);
                in_flight.push((now + b_to_a, false, out.clone()));
            }
            if let Some(report) = a.poll_rtcp(now) {
                in_flight.push((now + a_to_b, true, report));
            }
            if let Some(report) = b.poll_rtcp(now) {
                in_flight.push((now + b_to_a, false, report));
            }
        }
        assert!(rtts.len() >= 2, "{rtts:?}");
        for rtt in &rtts {
            let error = rtt.abs_diff(a_to_b + b_to_a);
            assert!(error < Duration::from_micros(100), "rtt {rtt:?}");
        }
        assert_eq!(a.rtt(), rtts.last().copied());
        let report = a.remote_report().unwrap().block;
        assert_eq!(report.cumulative_lost, 0);
        assert_eq!(report.fraction_lost, 0);
        assert!(b.stats().unwrap().packets_received() > 900);
    }

    #[test]
    fn bye_is_recorded() {
        let t0 = Instant::now();
        let mut a = RtpSession::new(config(1, "10.0.0.2:5000"), t0, ntp0());
        let mut b = RtpSession::new(config(2, "10.0.0.1:4000"), t0, ntp0());
        let bye = a.build_bye(t0, Some("hangup"));
        let got = b.handle_rtcp(t0, &bye).unwrap();
        assert!(got.bye);
        assert!(b.bye_received());
    }
}
