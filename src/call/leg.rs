//! One media leg of a call (the caller, or an agent kefu bridged in): RTP in and out, the jitter
//! buffer, the codec, and keypad digits from RFC 4733 or in-band tones. Frames leave and enter a
//! leg as 16 kHz [`Frame`]s whatever the codec.

use std::net::SocketAddr;
use std::time::Instant;

use std::time::Duration;

use crate::media::codec::{CodecKind, Decoder, Encoder};
use crate::media::frame::{FRAME_SAMPLES, Frame};
use crate::media::tone::DtmfDetector;
use crate::rtp::dtmf::{DtmfDigit, DtmfReceiver, DtmfSender, DtmfSenderConfig};
use crate::rtp::jitter::{JitterBuffer, JitterConfig, JitterOutput};
use crate::rtp::packet::Ssrc;
use crate::rtp::rtcp::NtpTimestamp;
use crate::rtp::session::{Incoming, RtpSession, RtpSessionConfig};

/// What SDP negotiation settled for a leg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegMedia {
    pub codec: CodecKind,
    /// Payload type of the codec as the peer numbered it.
    pub payload_type: u8,
    /// Payload type of telephone-event, if the peer offered it.
    pub telephone_event: Option<u8>,
    /// Where the peer's SDP says to send RTP (until symmetric RTP latches).
    pub remote: SocketAddr,
    /// RTCP shares the RTP port (RFC 5761).
    pub rtcp_mux: bool,
}

/// Counters a leg keeps for metrics and the call record.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LegCounters {
    pub packets_in: u64,
    pub packets_out: u64,
    pub bad_packets: u64,
    pub decode_errors: u64,
}

pub struct Leg {
    media: LegMedia,
    session: RtpSession,
    jitter: JitterBuffer,
    decoder: Decoder,
    encoder: Encoder,
    dtmf_in: DtmfReceiver,
    dtmf_out: DtmfSender,
    inband: Option<DtmfDetector>,
    /// Decoded 16 kHz samples not yet cut into frames (packets need not be 20 ms).
    pcm: Vec<i16>,
    payload: Vec<u8>,
    digits: Vec<char>,
    counters: LegCounters,
}

impl Leg {
    /// A leg whose RTP starts now. `ntp_now` is the wall clock for RTCP sender reports;
    /// `jitter_packets` the jitter buffer's target delay in 20 ms packets.
    pub fn new(
        media: LegMedia,
        now: Instant,
        ntp_now: NtpTimestamp,
        jitter_packets: u16,
        seed: u64,
    ) -> Result<Leg, crate::media::codec::CodecError> {
        let decoder = Decoder::new(media.codec)?;
        let encoder = Encoder::new(media.codec)?;
        let inband = media.telephone_event.is_none().then(DtmfDetector::new);
        let session = RtpSession::new(
            RtpSessionConfig {
                ssrc: Ssrc(seed as u32),
                initial_seq: (seed >> 32) as u16,
                initial_timestamp: (seed >> 16) as u32,
                rng_seed: seed,
                clock_rate: media.codec.rtp_clock_rate(),
                remote: media.remote,
                rtcp_mux: media.rtcp_mux,
                telephone_event_pt: media.telephone_event,
                cname: format!("kefu-{:08x}", seed as u32),
                rtcp_interval: Duration::from_secs(5),
                relatch_after: 5,
            },
            now,
            ntp_now,
        );
        let jitter = JitterBuffer::new(JitterConfig {
            target_packets: jitter_packets,
            ..Default::default()
        });
        Ok(Leg {
            jitter,
            media,
            session,
            decoder,
            encoder,
            dtmf_in: DtmfReceiver::new(),
            dtmf_out: DtmfSender::new(DtmfSenderConfig::default()),
            inband,
            pcm: Vec::with_capacity(FRAME_SAMPLES * 8),
            payload: Vec::with_capacity(1500),
            digits: Vec::new(),
            counters: LegCounters::default(),
        })
    }

    pub fn media(&self) -> &LegMedia {
        &self.media
    }

    pub fn counters(&self) -> LegCounters {
        self.counters
    }

    /// Where RTP goes now (the latched source once the peer has sent).
    pub fn remote(&self) -> SocketAddr {
        self.session.remote_addr()
    }

    /// Where RTCP goes: the RTP port + 1, or the RTP port itself with rtcp-mux.
    pub fn remote_rtcp(&self) -> SocketAddr {
        self.session.remote_rtcp_addr()
    }

    /// When the last valid packet arrived (None before the first).
    pub fn last_received(&self) -> Option<Instant> {
        self.session.last_received()
    }

    /// The peer changed its media (re-INVITE): new address, maybe a new codec.
    pub fn update_remote(&mut self, remote: SocketAddr) {
        self.media.remote = remote;
        self.session.set_remote(remote);
    }

    /// One datagram from the RTP socket. Bad packets are counted and dropped.
    pub fn handle_rtp(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) {
        let (packet, new_source) = match self.session.handle_incoming(now, from, bytes) {
            Ok(Incoming::Rtp { packet, new_source }) => (packet, new_source),
            Ok(Incoming::Rtcp(_) | Incoming::Foreign { .. }) => return,
            Err(_) => {
                self.counters.bad_packets += 1;
                metrics::counter!("kefu_rtp_bad_packets_total").increment(1);
                return;
            }
        };
        if new_source {
            self.jitter.reset();
            self.dtmf_in.reset();
        }
        self.counters.packets_in += 1;
        let header = packet.header;
        if Some(header.payload_type) == self.media.telephone_event {
            if let Ok(Some(digit)) = self.dtmf_in.handle(header.timestamp, packet.payload()) {
                self.digits.push(digit.as_char());
            }
        } else if header.payload_type == self.media.payload_type {
            self.jitter.push(
                now,
                header.seq,
                header.timestamp,
                header.marker,
                packet.payload(),
            );
        }
        // Anything else (comfort noise, SIPp's filler PT 97, ...) is ignored on purpose.
    }

    /// The next 20 ms of what the peer said; silence while nothing has arrived.
    pub fn pull_frame(&mut self, now: Instant) -> Frame {
        while self.pcm.len() < FRAME_SAMPLES {
            match self.jitter.pop(now) {
                JitterOutput::Packet { payload, .. } => {
                    if self.decoder.decode(payload, &mut self.pcm).is_err() {
                        self.counters.decode_errors += 1;
                        self.decoder.conceal(&mut self.pcm);
                    }
                }
                JitterOutput::Lost { .. } => self.decoder.conceal(&mut self.pcm),
                JitterOutput::Empty => break,
            }
        }
        let mut frame = Frame::SILENCE;
        if self.pcm.len() < FRAME_SAMPLES {
            // An underrun is no audio at all, not silence the caller made: the in-band detector
            // must not take it for the gap between two presses of one key.
            return frame;
        }
        frame.0.copy_from_slice(&self.pcm[..FRAME_SAMPLES]);
        self.pcm.drain(..FRAME_SAMPLES);
        if let Some(detector) = &mut self.inband
            && let Some(digit) = detector.process(&frame)
        {
            self.digits.push(digit.as_char());
        }
        frame
    }

    /// A digit the peer pressed, oldest first.
    pub fn poll_digit(&mut self) -> Option<char> {
        if self.digits.is_empty() {
            None
        } else {
            Some(self.digits.remove(0))
        }
    }

    /// Sends `digit` to the peer as RFC 4733 events (in place of audio while it lasts). False if
    /// the peer did not negotiate telephone-event.
    pub fn send_digit(&mut self, digit: char) -> bool {
        let Some(digit) = DtmfDigit::from_char(digit) else {
            return false;
        };
        if self.media.telephone_event.is_none() {
            return false;
        }
        self.dtmf_out.start(digit, self.session.next_timestamp())
    }

    /// Encodes one outgoing frame as an RTP packet into `out`; returns where to send it.
    pub fn push_frame(&mut self, now: Instant, frame: &Frame, out: &mut Vec<u8>) -> SocketAddr {
        out.clear();
        let step = self.media.codec.timestamp_step();
        if let Some(pt) = self.media.telephone_event
            && let Some(event) = self.dtmf_out.next_packet()
        {
            self.session
                .build_telephone_event(now, pt, &event, step, out);
            self.counters.packets_out += 1;
            return self.session.remote_addr();
        }
        if self.encoder.encode(frame, &mut self.payload).is_ok() {
            self.session.build_outgoing(
                now,
                self.media.payload_type,
                &self.payload,
                step,
                false,
                out,
            );
            self.counters.packets_out += 1;
        }
        self.session.remote_addr()
    }

    /// An RTCP report when one is due.
    pub fn poll_rtcp(&mut self, now: Instant) -> Option<Vec<u8>> {
        self.session.poll_rtcp(now)
    }

    pub fn handle_rtcp(&mut self, now: Instant, bytes: &[u8]) {
        // A broken report is counted inside the session; nothing else to do with it.
        let _ = self.session.handle_rtcp(now, bytes);
    }

    /// Packets lost and interarrival jitter (ms) on what the peer sent, for metrics.
    pub fn receive_quality(&self) -> (i64, f64) {
        self.session
            .stats()
            .map_or((0, 0.0), |s| (s.packets_lost(), s.jitter_ms()))
    }
}
