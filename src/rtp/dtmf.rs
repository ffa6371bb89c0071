//! DTMF as RTP telephone events (RFC 4733 §2.3, §2.5): the 4-byte payload, a receiver that
//! turns a stream of event packets into each digit exactly once, and a sender that produces
//! the packets of one digit tick by tick.
//!
//! Only events 0..=15 (`0-9 * # A-D`) are digits; other events are parsed and ignored.
//! The receiver reports a digit on the first packet of an event, whichever it is (start,
//! update or end), so lost start or end packets do not lose or repeat digits.

use std::time::Duration;

use crate::rtp::error::RtpError;

/// A DTMF key, stored as its RFC 4733 event code 0..=15. The one key type of kefu: RTP events,
/// in-band tones (`media::tone`) and SIP INFO all produce it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DtmfDigit(u8);

impl DtmfDigit {
    const CHARS: [char; 16] = [
        '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#', 'A', 'B', 'C', 'D',
    ];

    /// All sixteen keys in event-code order (RFC 4733 §3.2).
    pub const ALL: [DtmfDigit; 16] = {
        let mut all = [DtmfDigit(0); 16];
        let mut i = 0;
        while i < 16 {
            all[i] = DtmfDigit(i as u8);
            i += 1;
        }
        all
    };

    /// The digit of an event code, if it is one (0..=15).
    pub fn from_event(event: u8) -> Option<Self> {
        (event < 16).then_some(DtmfDigit(event))
    }

    /// The digit of a key character (`0-9 * # A-D`, letters in either case).
    pub fn from_char(c: char) -> Option<Self> {
        let upper = c.to_ascii_uppercase();
        Self::CHARS
            .iter()
            .position(|&k| k == upper)
            .map(|i| DtmfDigit(i as u8)) // i < 16
    }

    /// The event code, 0..=15.
    pub fn event(self) -> u8 {
        self.0
    }

    /// The key character.
    pub fn as_char(self) -> char {
        Self::CHARS[usize::from(self.0 & 0x0f)]
    }
}

impl std::fmt::Display for DtmfDigit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.as_char())
    }
}

/// One telephone-event payload (RFC 4733 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// Event code (0..=15 are DTMF digits).
    pub event: u8,
    /// E bit: this packet ends the event.
    pub end: bool,
    /// Power level in -dBm0, 0..=63.
    pub volume: u8,
    /// Duration so far, in timestamp units.
    pub duration: u16,
}

impl TelephoneEvent {
    /// Parses the first 4 bytes; longer payloads (redundant events) keep only the first.
    pub fn parse(payload: &[u8]) -> Result<Self, RtpError> {
        let Some(&[event, flags, d0, d1]) = payload.first_chunk::<4>() else {
            return Err(RtpError::TelephoneEventTooShort { len: payload.len() });
        };
        Ok(TelephoneEvent {
            event,
            end: flags & 0x80 != 0,
            volume: flags & 0x3f,
            duration: u16::from_be_bytes([d0, d1]),
        })
    }

    /// The wire form (reserved bit zero).
    pub fn to_bytes(self) -> [u8; 4] {
        let [d0, d1] = self.duration.to_be_bytes();
        [
            self.event,
            u8::from(self.end) << 7 | (self.volume & 0x3f),
            d0,
            d1,
        ]
    }
}

/// Timestamps further back than this from the current event are not stale copies of an old
/// event but a restarted stream.
const STALE_WINDOW: u32 = 1 << 20;

#[derive(Debug, Clone, Copy)]
struct CurrentEvent {
    timestamp: u32,
    event: u8,
    ended: bool,
    duration: u16,
}

/// Turns received telephone-event packets into digits, each exactly once.
///
/// An event is identified by its RTP timestamp (RFC 4733 §2.5.2.1): the first packet with a new
/// timestamp (or a new event code on the same timestamp) reports the digit; repeats, updates and
/// the three end packets are absorbed. Copies of an earlier event arriving late are ignored, and
/// so is the continuation segment of a long event (timestamp = previous timestamp + duration,
/// RFC 4733 §2.5.1.3).
#[derive(Debug, Clone, Default)]
pub struct DtmfReceiver {
    current: Option<CurrentEvent>,
}

impl DtmfReceiver {
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets the current event (call it when the source changes).
    pub fn reset(&mut self) {
        self.current = None;
    }

    /// Feeds one telephone-event packet: its RTP timestamp and payload. Returns the digit when
    /// this packet is the first seen of a new DTMF event.
    pub fn handle(
        &mut self,
        timestamp: u32,
        payload: &[u8],
    ) -> Result<Option<DtmfDigit>, RtpError> {
        let ev = TelephoneEvent::parse(payload)?;
        if let Some(cur) = &mut self.current {
            if cur.timestamp == timestamp && cur.event == ev.event {
                cur.ended |= ev.end;
                cur.duration = cur.duration.max(ev.duration);
                return Ok(None);
            }
            let back = cur.timestamp.wrapping_sub(timestamp);
            if back != 0 && back < STALE_WINDOW {
                return Ok(None);
            }
            let continuation = !cur.ended
                && cur.event == ev.event
                && timestamp == cur.timestamp.wrapping_add(u32::from(cur.duration));
            if continuation {
                *cur = CurrentEvent {
                    timestamp,
                    event: ev.event,
                    ended: ev.end,
                    duration: ev.duration,
                };
                return Ok(None);
            }
        }
        self.current = Some(CurrentEvent {
            timestamp,
            event: ev.event,
            ended: ev.end,
            duration: ev.duration,
        });
        Ok(DtmfDigit::from_event(ev.event))
    }
}

/// How the sender shapes one digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfSenderConfig {
    /// Tone length (default 100 ms); at most 0xFFFF timestamp units.
    pub tone: Duration,
    /// One packet per this period (default 20 ms, the caller's tick).
    pub packet_duration: Duration,
    /// Clock rate of the telephone-event payload type (default 8000).
    pub clock_rate: u32,
    /// Power level in -dBm0 (default 10).
    pub volume: u8,
    /// Copies of the end packet (default 3, RFC 4733 §2.5.1.4).
    pub end_repeats: u8,
}

impl Default for DtmfSenderConfig {
    fn default() -> Self {
        DtmfSenderConfig {
            tone: Duration::from_millis(100),
            packet_duration: Duration::from_millis(20),
            clock_rate: 8000,
            volume: 10,
            end_repeats: 3,
        }
    }
}

/// One packet to send: payload, marker bit and the RTP timestamp of the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfPacket {
    pub payload: [u8; 4],
    pub marker: bool,
    pub timestamp: u32,
}

#[derive(Debug, Clone, Copy)]
struct Sending {
    digit: DtmfDigit,
    timestamp: u32,
    /// Packets produced so far.
    sent: u32,
}

/// Produces the packets of one digit, one per tick: the first with the marker, the duration
/// growing by one packet each tick, then the end packet repeated, all with the timestamp of
/// the event's start.
#[derive(Debug, Clone)]
pub struct DtmfSender {
    config: DtmfSenderConfig,
    /// Timestamp units per packet.
    step: u32,
    /// Packets before the end packets (at least 1, counting the one the end packets repeat).
    tone_packets: u32,
    sending: Option<Sending>,
}

impl DtmfSender {
    pub fn new(config: DtmfSenderConfig) -> Self {
        let units =
            |d: Duration| (d.as_nanos() * u128::from(config.clock_rate) / 1_000_000_000) as u64;
        let step = units(config.packet_duration).clamp(1, 0xffff) as u32;
        let tone = units(config.tone).clamp(1, 0xffff) as u32;
        DtmfSender {
            config,
            step,
            tone_packets: tone.div_ceil(step),
            sending: None,
        }
    }

    /// True while a digit is being sent.
    pub fn is_active(&self) -> bool {
        self.sending.is_some()
    }

    /// Starts sending `digit` as an event beginning at RTP `timestamp` (the stream's current
    /// timestamp). Returns false, changing nothing, while the previous digit is unfinished.
    #[must_use]
    pub fn start(&mut self, digit: DtmfDigit, timestamp: u32) -> bool {
        if self.sending.is_some() {
            return false;
        }
        self.sending = Some(Sending {
            digit,
            timestamp,
            sent: 0,
        });
        true
    }

    /// The packet for this tick, or None when no digit is being sent.
    pub fn next_packet(&mut self) -> Option<DtmfPacket> {
        let s = self.sending.as_mut()?;
        let index = s.sent;
        s.sent += 1;
        let total = self.tone_packets - 1 + u32::from(self.config.end_repeats.max(1));
        let end = index + 1 >= self.tone_packets;
        let ticks = (index + 1).min(self.tone_packets);
        let duration = (ticks * self.step).min(0xffff) as u16;
        let packet = DtmfPacket {
            payload: TelephoneEvent {
                event: s.digit.event(),
                end,
                volume: self.config.volume,
                duration,
            }
            .to_bytes(),
            marker: index == 0,
            timestamp: s.timestamp,
        };
        if s.sent >= total {
            self.sending = None;
        }
        Some(packet)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn packet(event: u8, end: bool, duration: u16) -> [u8; 4] {
        TelephoneEvent {
            event,
            end,
            volume: 10,
            duration,
        }
        .to_bytes()
    }

    #[test]
    fn digits_and_chars() {
        let all: String = (0..16)
            .map(|e| DtmfDigit::from_event(e).unwrap().as_char())
            .collect();
        assert_eq!(all, "0123456789*#ABCD");
        assert_eq!(DtmfDigit::from_event(16), None);
        assert_eq!(DtmfDigit::from_char('#').unwrap().event(), 11);
        assert_eq!(DtmfDigit::from_char('d').unwrap().event(), 15);
        assert_eq!(DtmfDigit::from_char('x'), None);
    }

    #[test]
    fn payload_round_trips_and_rejects_short() {
        let ev = TelephoneEvent {
            event: 11,
            end: true,
            volume: 63,
            duration: 800,
        };
        assert_eq!(ev.to_bytes(), [11, 0xbf, 0x03, 0x20]);
        assert_eq!(TelephoneEvent::parse(&ev.to_bytes()), Ok(ev));
        assert_eq!(
            TelephoneEvent::parse(&[1, 2, 3]),
            Err(RtpError::TelephoneEventTooShort { len: 3 })
        );
    }

    fn digits(rx: &mut DtmfReceiver, packets: &[(u32, [u8; 4])]) -> String {
        packets
            .iter()
            .filter_map(|(ts, p)| rx.handle(*ts, p).unwrap())
            .map(DtmfDigit::as_char)
            .collect()
    }

    #[test]
    fn a_full_event_gives_one_digit() {
        let mut rx = DtmfReceiver::new();
        let stream = [
            (1000, packet(5, false, 160)),
            (1000, packet(5, false, 320)),
            (1000, packet(5, false, 480)),
            (1000, packet(5, true, 640)),
            (1000, packet(5, true, 640)),
            (1000, packet(5, true, 640)),
        ];
        assert_eq!(digits(&mut rx, &stream), "5");
    }

    #[test]
    fn lost_start_lost_end_and_no_end_before_the_next() {
        let mut rx = DtmfReceiver::new();
        let stream = [
            // '1' whose start was lost.
            (1000, packet(1, false, 320)),
            (1000, packet(1, true, 800)),
            // '2' whose end packets were all lost.
            (3000, packet(2, false, 160)),
            (3000, packet(2, false, 320)),
            // '2' again straight away, without an end of the previous one.
            (4000, packet(2, false, 160)),
            // Only the end packets of '#'.
            (6000, packet(11, true, 800)),
            (6000, packet(11, true, 800)),
            // A late copy of the '1' end: ignored.
            (1000, packet(1, true, 800)),
            // Event 16 (flash) is not a digit.
            (8000, packet(16, false, 160)),
            (9000, packet(0, false, 160)),
        ];
        assert_eq!(digits(&mut rx, &stream), "122#0");
    }

    #[test]
    fn same_timestamp_new_event_code_is_a_new_digit() {
        let mut rx = DtmfReceiver::new();
        let stream = [(500, packet(3, true, 800)), (500, packet(4, false, 160))];
        assert_eq!(digits(&mut rx, &stream), "34");
    }

    #[test]
    fn long_event_continuation_segment_is_not_a_new_digit() {
        let mut rx = DtmfReceiver::new();
        let stream = [
            (10_000, packet(7, false, 0xffff)),
            (10_000 + 0xffff, packet(7, false, 160)),
            (10_000 + 0xffff, packet(7, true, 1600)),
        ];
        assert_eq!(digits(&mut rx, &stream), "7");
    }

    #[test]
    fn a_restarted_stream_far_back_is_new() {
        let mut rx = DtmfReceiver::new();
        let stream = [
            (4_000_000_000, packet(1, true, 800)),
            (5, packet(1, false, 160)),
        ];
        assert_eq!(digits(&mut rx, &stream), "11");
    }

    #[test]
    fn sender_produces_the_rfc_4733_sequence() {
        let mut tx = DtmfSender::new(DtmfSenderConfig::default());
        assert!(tx.start(DtmfDigit::from_char('9').unwrap(), 4242));
        assert!(!tx.start(DtmfDigit::from_char('1').unwrap(), 9999));
        let mut packets = Vec::new();
        while let Some(p) = tx.next_packet() {
            packets.push(p);
        }
        assert!(!tx.is_active());
        let summary: Vec<_> = packets
            .iter()
            .map(|p| {
                let ev = TelephoneEvent::parse(&p.payload).unwrap();
                assert_eq!((ev.event, ev.volume, p.timestamp), (9, 10, 4242));
                (p.marker, ev.end, ev.duration)
            })
            .collect();
        assert_eq!(
            summary,
            [
                (true, false, 160),
                (false, false, 320),
                (false, false, 480),
                (false, false, 640),
                (false, true, 800),
                (false, true, 800),
                (false, true, 800),
            ]
        );
        // The receiver sees exactly one digit in it.
        let mut rx = DtmfReceiver::new();
        let got: Vec<_> = packets
            .iter()
            .filter_map(|p| rx.handle(p.timestamp, &p.payload).unwrap())
            .collect();
        assert_eq!(got, [DtmfDigit::from_char('9').unwrap()]);
    }

    #[test]
    fn sender_config_for_a_wideband_clock() {
        let mut tx = DtmfSender::new(DtmfSenderConfig {
            tone: Duration::from_millis(50),
            clock_rate: 16_000,
            end_repeats: 1,
            ..DtmfSenderConfig::default()
        });
        assert!(tx.start(DtmfDigit::from_char('*').unwrap(), 0));
        let durations: Vec<_> = std::iter::from_fn(|| tx.next_packet())
            .map(|p| TelephoneEvent::parse(&p.payload).unwrap())
            .map(|ev| (ev.end, ev.duration))
            .collect();
        // 50 ms is 2.5 packets: rounded up to 3, the last one being the end.
        assert_eq!(durations, [(false, 320), (false, 640), (true, 960)]);
    }

    proptest! {
        #[test]
        fn arbitrary_payloads_never_panic(packets in proptest::collection::vec((any::<u32>(), proptest::collection::vec(any::<u8>(), 0..8)), 0..100)) {
            let mut rx = DtmfReceiver::new();
            for (ts, payload) in packets {
                let _ = rx.handle(ts, &payload);
            }
        }

        #[test]
        fn each_sent_digit_is_received_once_despite_loss(
            keys in proptest::collection::vec(0u8..16, 1..20),
            drop_mask in proptest::collection::vec(any::<bool>(), 200),
        ) {
            let mut tx = DtmfSender::new(DtmfSenderConfig::default());
            let mut rx = DtmfReceiver::new();
            let mut received = Vec::new();
            let mut timestamp = 1000u32;
            let mut n = 0;
            for &key in &keys {
                let digit = DtmfDigit::from_event(key).unwrap();
                prop_assert!(tx.start(digit, timestamp));
                let mut delivered_any = false;
                let mut packets = Vec::new();
                while let Some(p) = tx.next_packet() {
                    packets.push(p);
                }
                for (i, p) in packets.iter().enumerate() {
                    // Never drop every packet of an event: then nothing could be heard.
                    let must_deliver = i + 1 == packets.len() && !delivered_any;
                    let drop = drop_mask[n % drop_mask.len()] && !must_deliver;
                    n += 1;
                    if drop {
                        continue;
                    }
                    delivered_any = true;
                    if let Some(d) = rx.handle(p.timestamp, &p.payload).unwrap() {
                        received.push(d.event());
                    }
                }
                timestamp = timestamp.wrapping_add(160 * 10);
            }
            prop_assert_eq!(received, keys);
        }
    }
}
