//! One media leg of a call (the caller, or an agent kefu bridged in): RTP in and out, the jitter
//! buffer, the codec, and keypad digits from RFC 4733 or in-band tones. Frames leave and enter a
//! leg as 16 kHz [`Frame`]s whatever the codec.

use std::net::SocketAddr;
use std::time::Instant;

use crate::media::codec::{CodecKind, Decoder, Encoder};
use crate::media::frame::{FRAME_SAMPLES, Frame};
use crate::media::tone::DtmfDetector;
use crate::rtp::dtmf::{DtmfReceiver, DtmfSender};
use crate::rtp::jitter::{JitterBuffer, JitterOutput};
use crate::rtp::session::RtpSession;

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
    dtmf_out: Option<DtmfSender>,
    inband: Option<DtmfDetector>,
    /// Decoded 16 kHz samples not yet cut into frames (packets need not be 20 ms).
    pcm: Vec<i16>,
    payload: Vec<u8>,
    digits: Vec<char>,
    counters: LegCounters,
}

impl Leg {
    pub fn new(media: LegMedia, session: RtpSession, jitter_packets: usize) -> Result<Leg, crate::media::codec::CodecError> {
        let decoder = Decoder::new(media.codec)?;
        let encoder = Encoder::new(media.codec)?;
        let inband = media.telephone_event.is_none().then(DtmfDetector::new);
        Ok(Leg {
            jitter: JitterBuffer::new(jitter_packets),
            media,
            session,
            decoder,
            encoder,
            dtmf_in: DtmfReceiver::new(),
            dtmf_out: None,
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
        self.session.remote()
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
        let packet = match self.session.handle_incoming(now, from, bytes) {
            Ok(p) => p,
            Err(_) => {
                self.counters.bad_packets += 1;
                metrics::counter!("kefu_rtp_bad_packets_total").increment(1);
                return;
            }
        };
        self.counters.packets_in += 1;
        let header = packet.header;
        if Some(header.payload_type) == self.media.telephone_event {
            if let Some(digit) = self.dtmf_in.handle(header.timestamp, packet.payload()) {
                self.digits.push(digit);
            }
        } else if header.payload_type == self.media.payload_type {
            self.jitter.push(now, header.seq, header.timestamp, header.marker, packet.payload());
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
                JitterOutput::Lost => self.decoder.conceal(&mut self.pcm),
                JitterOutput::Empty => break,
            }
        }
        let mut frame = Frame::SILENCE;
        if self.pcm.len() >= FRAME_SAMPLES {
            frame.0.copy_from_slice(&self.pcm[..FRAME_SAMPLES]);
            self.pcm.drain(..FRAME_SAMPLES);
        }
        if let Some(detector) = &mut self.inband {
            if let Some(digit) = detector.process(&frame) {
                self.digits.push(digit);
            }
        }
        frame
    }

    /// A digit the peer pressed, oldest first.
    pub fn poll_digit(&mut self) -> Option<char> {
        if self.digits.is_empty() { None } else { Some(self.digits.remove(0)) }
    }

    /// Sends `digit` to the peer as RFC 4733 events (in place of audio while it lasts). False if
    /// the peer did not negotiate telephone-event.
    pub fn send_digit(&mut self, digit: char) -> bool {
        if self.media.telephone_event.is_none() {
            return false;
        }
        self.dtmf_out = DtmfSender::new(digit, self.session.next_timestamp());
        self.dtmf_out.is_some()
    }

    /// Encodes one outgoing frame as an RTP packet into `out`; returns where to send it.
    pub fn push_frame(&mut self, frame: &Frame, out: &mut Vec<u8>) -> SocketAddr {
        out.clear();
        let step = self.media.codec.timestamp_step();
        if let (Some(pt), Some(sender)) = (self.media.telephone_event, self.dtmf_out.as_mut()) {
            match sender.next_packet() {
                Some(event) => {
                    self.session.build_event(pt, &event, step, out);
                    self.counters.packets_out += 1;
                    return self.session.remote();
                }
                None => self.dtmf_out = None,
            }
        }
        if self.encoder.encode(frame, &mut self.payload).is_ok() {
            self.session.build_outgoing(self.media.payload_type, &self.payload, step, false, out);
            self.counters.packets_out += 1;
        }
        self.session.remote()
    }

    /// An RTCP report when one is due.
    pub fn poll_rtcp(&mut self, now: Instant) -> Option<Vec<u8>> {
        self.session.poll_rtcp(now)
    }

    pub fn handle_rtcp(&mut self, now: Instant, bytes: &[u8]) {
        self.session.handle_rtcp(now, bytes);
    }

    /// Loss and jitter seen on what the peer sent, for metrics.
    pub fn receive_quality(&self) -> (u64, f64) {
        self.session.loss_and_jitter_ms()
    }
}
