//! A fixed-delay jitter buffer for one audio stream of fixed-duration packets (20 ms by
//! default), pulled by the caller once per packet duration.
//!
//! Storage is a ring of preallocated slots (payloads up to [`MAX_PAYLOAD`] bytes), so nothing is
//! allocated after construction. Sequence numbers are extended to 64 bits relative to the
//! playout point, which handles the wrap at 65535.
//!
//! Rules:
//! - Playout starts (and restarts after an underrun) once `target_packets` are held or the first
//!   held packet has waited the target delay.
//! - Until playout starts, packets up to `max_packets` before the first one may still arrive and
//!   move the start back (the first packets can be reordered too).
//! - A packet whose time has passed is dropped and counted as late (or duplicate if it was played).
//! - A jump the ring cannot hold, or more than `resync_jump` back, restarts the buffer at the new
//!   numbers once a second nearby packet confirms it (one stray packet cannot derail a stream);
//!   a marker packet after `resync_gap` of silence restarts at once (a new talk spurt or source).
//!   Either way no storm of `Lost` is emitted.
//! - After an underrun, a stream that resumes further ahead than the target moves the playout
//!   point to it: the missing packets' time has already been filled with `Empty`.
//! - When more than `max_packets` are held (sender clock drift, bursts), the oldest are dropped
//!   down to the target, so latency does not creep up.

use std::time::{Duration, Instant};

/// Largest payload a slot holds.
pub const MAX_PAYLOAD: usize = 1500;
/// Extended sequence numbers start here so that going back from a fresh start cannot underflow.
const EXT_BASE: u64 = 1 << 32;
/// A confirming packet must be within this many sequence numbers of the resync candidate.
const CONFIRM_WINDOW: u16 = 16;

/// Jitter buffer settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JitterConfig {
    /// Ring size in packets (4..=1024).
    pub slots: usize,
    /// Packets held before playout starts: the target delay in packets (default 2 = 40 ms).
    pub target_packets: u16,
    /// Above this many packets held, the oldest are dropped down to the target.
    pub max_packets: u16,
    /// Duration of one packet, the caller's pull period.
    pub packet_duration: Duration,
    /// Sequence jumps larger than this (backwards or beyond the ring) restart the buffer.
    pub resync_jump: u16,
    /// A marker packet after this much time without packets restarts the buffer.
    pub resync_gap: Duration,
}

impl Default for JitterConfig {
    fn default() -> Self {
        JitterConfig {
            slots: 32,
            target_packets: 2,
            max_packets: 8,
            packet_duration: Duration::from_millis(20),
            resync_jump: 100,
            resync_gap: Duration::from_millis(500),
        }
    }
}

/// What to play for this packet period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JitterOutput<'a> {
    /// The next packet in sequence; the payload borrows the buffer's slot.
    Packet {
        seq: u16,
        timestamp: u32,
        marker: bool,
        payload: &'a [u8],
    },
    /// The packet with this sequence number is missing while later ones are here: conceal it.
    Lost { seq: u16 },
    /// Nothing to play: not started, buffering, or underrun.
    Empty,
}

/// What [`JitterBuffer::push`] did with a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// Stored for playout.
    Stored,
    /// Stored as the first packet of a (re)started stream.
    Restarted,
    /// Already held or already played.
    Duplicate,
    /// Its playout time has passed.
    Late,
    /// A big jump, held back until a second packet confirms the new numbering.
    AwaitingResync,
    /// Larger than [`MAX_PAYLOAD`].
    TooLarge,
}

/// Counters for monitoring.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JitterCounters {
    /// Packets offered to `push`.
    pub pushed: u64,
    /// Packets handed out by `pop`.
    pub emitted: u64,
    /// `Lost` outputs.
    pub lost: u64,
    /// Packets that arrived after their playout time.
    pub late: u64,
    /// Packets that were already held or played.
    pub duplicate: u64,
    /// Packets discarded: too large, unconfirmed jumps, trimmed for latency, flushed by a restart.
    pub dropped: u64,
    /// Restarts on a big jump or a new talk spurt.
    pub resyncs: u64,
    /// Times playout ran dry.
    pub underruns: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Nothing received yet.
    Idle,
    /// Collecting packets; `since` is the arrival of the first one held.
    Buffering {
        since: Option<Instant>,
    },
    Playing,
}

#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    ext: u64,
    filled: bool,
    timestamp: u32,
    marker: bool,
    len: u16,
}

/// The jitter buffer of one stream.
#[derive(Debug, Clone)]
pub struct JitterBuffer {
    config: JitterConfig,
    slots: Vec<Slot>,
    /// `slots.len() * MAX_PAYLOAD` bytes, slot `i` owning `[i * MAX_PAYLOAD ..][.. MAX_PAYLOAD]`.
    data: Vec<u8>,
    state: State,
    /// Extended sequence number of the next packet to play.
    next: u64,
    /// Highest extended sequence number held; meaningful while `count > 0`.
    highest: u64,
    /// Filled slots.
    count: usize,
    /// Bit `i` set when `next - 1 - i` was played: tells duplicates from late packets.
    played: u64,
    last_push: Option<Instant>,
    /// First packet of an unconfirmed big jump.
    candidate: Option<u16>,
    /// Nothing played since the last (re)start: packets a little before `next` may still come
    /// first (reordering of the very first packets).
    fresh: bool,
    counters: JitterCounters,
}

impl JitterBuffer {
    /// A buffer with the given settings, clamped to sane ranges. Allocates all its storage.
    pub fn new(config: JitterConfig) -> Self {
        let mut config = config;
        config.slots = config.slots.clamp(4, 1024);
        let half = (config.slots / 2) as u16; // at most 512
        config.target_packets = config.target_packets.clamp(1, half);
        config.max_packets = config
            .max_packets
            .clamp(config.target_packets, config.slots as u16 - 1);
        JitterBuffer {
            slots: vec![Slot::default(); config.slots],
            data: vec![0; config.slots * MAX_PAYLOAD],
            config,
            state: State::Idle,
            next: EXT_BASE,
            highest: EXT_BASE,
            count: 0,
            played: 0,
            last_push: None,
            candidate: None,
            fresh: true,
            counters: JitterCounters::default(),
        }
    }

    /// The settings in force after clamping.
    pub fn config(&self) -> &JitterConfig {
        &self.config
    }

    /// Counters since creation.
    pub fn counters(&self) -> JitterCounters {
        self.counters
    }

    /// Packets currently held.
    pub fn buffered(&self) -> usize {
        self.count
    }

    /// Forgets the stream (e.g. the caller saw a new SSRC); counters are kept.
    pub fn reset(&mut self) {
        self.clear_slots();
        self.state = State::Idle;
        self.last_push = None;
        self.candidate = None;
    }

    /// Offers a received packet.
    pub fn push(
        &mut self,
        now: Instant,
        seq: u16,
        timestamp: u32,
        marker: bool,
        payload: &[u8],
    ) -> Pushed {
        self.counters.pushed += 1;
        if payload.len() > MAX_PAYLOAD {
            self.counters.dropped += 1;
            return Pushed::TooLarge;
        }
        let after_long_gap = self
            .last_push
            .is_some_and(|t| now.saturating_duration_since(t) >= self.config.resync_gap);
        self.last_push = Some(now);
        if self.state == State::Idle || (marker && after_long_gap) {
            self.restart(now, seq, timestamp, marker, payload);
            return Pushed::Restarted;
        }

        let ext = self.extend(seq);
        let delta = ext as i64 - self.next as i64;
        let jump = i64::from(self.config.resync_jump);
        if delta < 0 {
            let back = delta.unsigned_abs();
            if self.fresh
                && back <= u64::from(self.config.max_packets)
                && self.highest - ext < self.slots.len() as u64
            {
                // Reordered first packets: move the start back, nothing has been played yet.
                self.next = ext;
                return self.store(ext, timestamp, marker, payload);
            }
            if -delta > jump {
                return self.consider_resync(now, seq, timestamp, marker, payload);
            }
            if back <= 64 && (self.played >> (back - 1)) & 1 == 1 {
                self.counters.duplicate += 1;
                return Pushed::Duplicate;
            }
            self.counters.late += 1;
            return Pushed::Late;
        }
        if let State::Buffering { since } = self.state
            && self.count == 0
        {
            if delta > jump {
                return self.consider_resync(now, seq, timestamp, marker, payload);
            }
            if delta > i64::from(self.config.target_packets) {
                // Resuming after an outage: the missed packets' time has already passed.
                self.advance(delta.unsigned_abs(), false);
            }
            self.state = State::Buffering {
                since: since.or(Some(now)),
            };
            return self.store(ext, timestamp, marker, payload);
        }
        if delta.unsigned_abs() < self.slots.len() as u64 {
            return self.store(ext, timestamp, marker, payload);
        }
        self.consider_resync(now, seq, timestamp, marker, payload)
    }

    /// What to play now. Call once per packet duration.
    pub fn pop(&mut self, now: Instant) -> JitterOutput<'_> {
        match self.state {
            State::Idle => return JitterOutput::Empty,
            State::Buffering { since } => {
                let target = usize::from(self.config.target_packets);
                let waited = since.is_some_and(|t| {
                    now.saturating_duration_since(t)
                        >= self.config.packet_duration * u32::from(self.config.target_packets)
                });
                if self.count >= target || (self.count > 0 && waited) {
                    self.state = State::Playing;
                    self.fresh = false;
                } else {
                    return JitterOutput::Empty;
                }
            }
            State::Playing => {
                if self.count == 0 {
                    self.state = State::Buffering { since: None };
                    self.counters.underruns += 1;
                    return JitterOutput::Empty;
                }
            }
        }

        let span = self.highest.saturating_sub(self.next) + 1;
        if span > u64::from(self.config.max_packets) {
            for _ in 0..span - u64::from(self.config.target_packets) {
                self.drop_next();
            }
        }

        let index = self.index(self.next);
        let slot = self.slots[index];
        let seq = self.next as u16; // the low 16 bits are the wire sequence number
        if slot.filled && slot.ext == self.next {
            self.slots[index].filled = false;
            self.count -= 1;
            self.advance(1, true);
            self.counters.emitted += 1;
            let start = index * MAX_PAYLOAD;
            JitterOutput::Packet {
                seq,
                timestamp: slot.timestamp,
                marker: slot.marker,
                payload: &self.data[start..start + usize::from(slot.len)],
            }
        } else {
            self.advance(1, false);
            self.counters.lost += 1;
            JitterOutput::Lost { seq }
        }
    }

    /// The extended number of `seq`, taken as the nearest to the playout point.
    fn extend(&self, seq: u16) -> u64 {
        let delta = i64::from(seq.wrapping_sub(self.next as u16) as i16);
        self.next.saturating_add_signed(delta)
    }

    fn index(&self, ext: u64) -> usize {
        (ext % self.slots.len() as u64) as usize
    }

    /// Moves the playout point forward by `by`, recording whether the packet at the old point
    /// was played.
    fn advance(&mut self, by: u64, played: bool) {
        self.next += by;
        self.played = if by >= 64 { 0 } else { self.played << by };
        if played && by == 1 {
            self.played |= 1;
        }
    }

    fn drop_next(&mut self) {
        let index = self.index(self.next);
        if self.slots[index].filled && self.slots[index].ext == self.next {
            self.slots[index].filled = false;
            self.count -= 1;
            self.counters.dropped += 1;
        }
        self.advance(1, false);
    }

    fn store(&mut self, ext: u64, timestamp: u32, marker: bool, payload: &[u8]) -> Pushed {
        let index = self.index(ext);
        let slot = &mut self.slots[index];
        if slot.filled {
            if slot.ext == ext {
                self.counters.duplicate += 1;
                return Pushed::Duplicate;
            }
            // Unreachable while held packets stay within one ring of `next`; never corrupt.
            slot.filled = false;
            self.count -= 1;
            self.counters.dropped += 1;
        }
        *slot = Slot {
            ext,
            filled: true,
            timestamp,
            marker,
            len: payload.len() as u16, // at most MAX_PAYLOAD
        };
        let start = index * MAX_PAYLOAD;
        self.data[start..start + payload.len()].copy_from_slice(payload);
        if self.count == 0 || ext > self.highest {
            self.highest = ext;
        }
        self.count += 1;
        self.candidate = None;
        Pushed::Stored
    }

    fn consider_resync(
        &mut self,
        now: Instant,
        seq: u16,
        timestamp: u32,
        marker: bool,
        payload: &[u8],
    ) -> Pushed {
        if let Some(candidate) = self.candidate
            && seq != candidate
            && (seq.wrapping_sub(candidate) as i16).unsigned_abs() < CONFIRM_WINDOW
        {
            self.restart(now, seq, timestamp, marker, payload);
            return Pushed::Restarted;
        }
        self.candidate = Some(seq);
        self.counters.dropped += 1;
        Pushed::AwaitingResync
    }

    fn restart(&mut self, now: Instant, seq: u16, timestamp: u32, marker: bool, payload: &[u8]) {
        if self.state != State::Idle {
            self.counters.resyncs += 1;
            self.counters.dropped += self.count as u64;
        }
        self.clear_slots();
        self.next = EXT_BASE + u64::from(seq);
        self.state = State::Buffering { since: Some(now) };
        self.fresh = true;
        self.store(self.next, timestamp, marker, payload);
    }

    fn clear_slots(&mut self) {
        for slot in &mut self.slots {
            slot.filled = false;
        }
        self.count = 0;
        self.played = 0;
        self.candidate = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TICK: Duration = Duration::from_millis(20);

    /// A compact view of an output for assertions.
    #[derive(Debug, PartialEq, Eq)]
    enum Out {
        P(u16),
        L(u16),
        E,
    }

    fn view(o: JitterOutput<'_>) -> Out {
        match o {
            JitterOutput::Packet { seq, payload, .. } => {
                assert_eq!(payload, &seq.to_be_bytes(), "payload belongs to its seq");
                Out::P(seq)
            }
            JitterOutput::Lost { seq } => Out::L(seq),
            JitterOutput::Empty => Out::E,
        }
    }

    fn push(jb: &mut JitterBuffer, at: Instant, seq: u16) -> Pushed {
        jb.push(at, seq, u32::from(seq) * 160, false, &seq.to_be_bytes())
    }

    #[test]
    fn starts_after_target_and_plays_in_order() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(JitterConfig::default());
        assert_eq!(view(jb.pop(t0)), Out::E);
        assert_eq!(push(&mut jb, t0, 10), Pushed::Restarted);
        assert_eq!(view(jb.pop(t0 + Duration::from_millis(5))), Out::E);
        push(&mut jb, t0 + TICK, 11);
        assert_eq!(view(jb.pop(t0 + TICK)), Out::P(10));
        push(&mut jb, t0 + TICK * 2, 12);
        assert_eq!(view(jb.pop(t0 + TICK * 2)), Out::P(11));
        assert_eq!(view(jb.pop(t0 + TICK * 3)), Out::P(12));
        assert_eq!(view(jb.pop(t0 + TICK * 4)), Out::E);
        assert_eq!(jb.counters().underruns, 1);
    }

    #[test]
    fn a_lone_packet_plays_after_the_target_delay() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(JitterConfig::default());
        push(&mut jb, t0, 1);
        assert_eq!(view(jb.pop(t0 + TICK)), Out::E);
        assert_eq!(view(jb.pop(t0 + TICK * 2)), Out::P(1));
    }

    #[test]
    fn reorders_and_reports_gaps() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(JitterConfig::default());
        for seq in [3, 1, 2, 6, 5] {
            push(&mut jb, t0, seq);
        }
        let outs: Vec<_> = (0..6).map(|i| view(jb.pop(t0 + TICK * i))).collect();
        assert_eq!(
            outs,
            [
                Out::P(1),
                Out::P(2),
                Out::P(3),
                Out::L(4),
                Out::P(5),
                Out::P(6)
            ]
        );
        assert_eq!(jb.counters().lost, 1);
    }

    #[test]
    fn duplicates_and_late_packets_are_counted_and_dropped() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(JitterConfig::default());
        push(&mut jb, t0, 1);
        assert_eq!(push(&mut jb, t0, 1), Pushed::Duplicate);
        push(&mut jb, t0, 3);
        assert_eq!(view(jb.pop(t0)), Out::P(1));
        assert_eq!(view(jb.pop(t0 + TICK)), Out::L(2));
        assert_eq!(push(&mut jb, t0 + TICK, 1), Pushed::Duplicate); // already played
        assert_eq!(push(&mut jb, t0 + TICK, 2), Pushed::Late);
        assert_eq!(view(jb.pop(t0 + TICK * 2)), Out::P(3));
        let c = jb.counters();
        assert_eq!((c.duplicate, c.late, c.emitted), (2, 1, 2));
    }

    #[test]
    fn wraps_at_65535() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(JitterConfig::default());
        for seq in [65_534, 0, 65_535, 1] {
            push(&mut jb, t0, seq);
        }
        let outs: Vec<_> = (0..4).map(|i| view(jb.pop(t0 + TICK * i))).collect();
        assert_eq!(outs, [Out::P(65_534), Out::P(65_535), Out::P(0), Out::P(1)]);
    }

    #[test]
    fn big_jump_resyncs_without_a_storm_of_lost() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(JitterConfig::default());
        push(&mut jb, t0, 100);
        push(&mut jb, t0, 101);
        assert_eq!(view(jb.pop(t0)), Out::P(100));
        // A new source with unrelated numbering, 40 000 ahead.
        assert_eq!(push(&mut jb, t0 + TICK, 40_000), Pushed::AwaitingResync);
        assert_eq!(push(&mut jb, t0 + TICK, 40_001), Pushed::Restarted);
        push(&mut jb, t0 + TICK * 2, 40_002);
        let outs: Vec<_> = (2..5).map(|i| view(jb.pop(t0 + TICK * i))).collect();
        assert_eq!(outs, [Out::P(40_001), Out::P(40_002), Out::E]);
        assert_eq!(jb.counters().lost, 0);
        assert_eq!(jb.counters().resyncs, 1);
    }

    #[test]
    fn one_stray_packet_does_not_derail_the_stream() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(JitterConfig::default());
        push(&mut jb, t0, 500);
        push(&mut jb, t0, 501);
        assert_eq!(push(&mut jb, t0, 9), Pushed::AwaitingResync);
        push(&mut jb, t0, 502);
        assert_eq!(push(&mut jb, t0, 11), Pushed::AwaitingResync); // candidate cleared by 502
        let outs: Vec<_> = (0..3).map(|i| view(jb.pop(t0 + TICK * i))).collect();
        assert_eq!(outs, [Out::P(500), Out::P(501), Out::P(502)]);
    }

    #[test]
    fn marker_after_a_long_gap_restarts_at_once() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(JitterConfig::default());
        push(&mut jb, t0, 1000);
        push(&mut jb, t0, 1001);
        assert_eq!(view(jb.pop(t0)), Out::P(1000));
        assert_eq!(view(jb.pop(t0 + TICK)), Out::P(1001));
        let later = t0 + Duration::from_secs(2);
        // 60 back: neither a late packet nor a confirmed jump, but a new talk spurt.
        assert_eq!(
            jb.push(later, 941, 0, true, &941u16.to_be_bytes()),
            Pushed::Restarted
        );
        push(&mut jb, later, 942);
        assert_eq!(view(jb.pop(later)), Out::P(941));
        assert_eq!(view(jb.pop(later + TICK)), Out::P(942));
    }

    #[test]
    fn resuming_after_an_outage_skips_the_missed_time() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(JitterConfig::default());
        push(&mut jb, t0, 1);
        push(&mut jb, t0, 2);
        assert_eq!(view(jb.pop(t0)), Out::P(1));
        assert_eq!(view(jb.pop(t0 + TICK)), Out::P(2));
        assert_eq!(view(jb.pop(t0 + TICK * 2)), Out::E);
        // 20 packets lost in the network; the stream resumes at 23.
        let back = t0 + TICK * 22;
        push(&mut jb, back, 23);
        push(&mut jb, back + TICK, 24);
        assert_eq!(view(jb.pop(back + TICK)), Out::P(23));
        assert_eq!(view(jb.pop(back + TICK * 2)), Out::P(24));
        assert_eq!(jb.counters().lost, 0);
    }

    #[test]
    fn a_packet_just_behind_an_underrun_is_still_played() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(JitterConfig::default());
        push(&mut jb, t0, 1);
        push(&mut jb, t0, 2);
        assert_eq!(view(jb.pop(t0)), Out::P(1));
        assert_eq!(view(jb.pop(t0 + TICK)), Out::P(2));
        assert_eq!(view(jb.pop(t0 + TICK * 2)), Out::E);
        push(&mut jb, t0 + TICK * 2, 4); // 3 is only delayed
        push(&mut jb, t0 + TICK * 2, 3);
        assert_eq!(view(jb.pop(t0 + TICK * 3)), Out::P(3));
        assert_eq!(view(jb.pop(t0 + TICK * 4)), Out::P(4));
    }

    #[test]
    fn trims_latency_above_the_maximum() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(JitterConfig::default());
        for seq in 0..12 {
            push(&mut jb, t0, seq);
        }
        // 12 held > 8: drop down to the target of 2, then play.
        assert_eq!(view(jb.pop(t0)), Out::P(10));
        assert_eq!(view(jb.pop(t0 + TICK)), Out::P(11));
        assert_eq!(jb.counters().dropped, 10);
    }

    #[test]
    fn oversize_payloads_are_refused() {
        let mut jb = JitterBuffer::new(JitterConfig::default());
        let big = vec![0u8; MAX_PAYLOAD + 1];
        assert_eq!(jb.push(Instant::now(), 1, 0, false, &big), Pushed::TooLarge);
        assert_eq!(jb.buffered(), 0);
    }

    /// One packet's fate in a simulated network.
    #[derive(Debug, Clone)]
    struct Fate {
        lost: bool,
        copies: u8,
        delay_ms: u64,
    }

    fn fate() -> impl Strategy<Value = Fate> {
        (prop::bool::weighted(0.15), 1u8..=3, 0u64..300).prop_map(|(lost, copies, delay_ms)| {
            Fate {
                lost,
                // Most packets arrive once.
                copies: if copies == 3 { 2 } else { 1 },
                delay_ms,
            }
        })
    }

    proptest! {
        #[test]
        fn random_network_never_repeats_or_reorders(
            start: u16,
            fates in proptest::collection::vec(fate(), 1..400),
            phase_ms in 0u64..20,
        ) {
            let t0 = Instant::now();
            let mut arrivals: Vec<(u64, u16)> = Vec::new();
            for (i, f) in fates.iter().enumerate() {
                if f.lost {
                    continue;
                }
                for copy in 0..f.copies {
                    arrivals.push((20 * i as u64 + f.delay_ms + u64::from(copy) * 7, i as u16));
                }
            }
            arrivals.sort_by_key(|&(at, _)| at);

            let mut jb = JitterBuffer::new(JitterConfig::default());
            let mut last_index: Option<u16> = None;
            let mut seen = std::collections::HashSet::new();
            let mut pending = arrivals.iter().peekable();
            let end = 20 * fates.len() as u64 + 2_000;
            let mut tick = phase_ms;
            while tick < end {
                while let Some(&&(at, index)) = pending.peek() && at <= tick {
                    let seq = start.wrapping_add(index);
                    jb.push(t0 + Duration::from_millis(at), seq, u32::from(index) * 160, false, &index.to_be_bytes());
                    pending.next();
                }
                let (index, is_packet) = match jb.pop(t0 + Duration::from_millis(tick)) {
                    JitterOutput::Packet { seq, timestamp, payload, .. } => {
                        let index = seq.wrapping_sub(start);
                        prop_assert_eq!(payload, &index.to_be_bytes());
                        prop_assert_eq!(timestamp, u32::from(index) * 160);
                        (Some(index), true)
                    }
                    JitterOutput::Lost { seq } => (Some(seq.wrapping_sub(start)), false),
                    JitterOutput::Empty => (None, false),
                };
                if let Some(index) = index {
                    if let Some(last) = last_index {
                        prop_assert!(index > last, "{} after {}", index, last);
                    }
                    last_index = Some(index);
                    if is_packet {
                        prop_assert!(seen.insert(index), "{} emitted twice", index);
                    }
                }
                tick += 20;
            }
            let c = jb.counters();
            prop_assert_eq!(c.emitted as usize, seen.len());
            prop_assert_eq!(jb.buffered(), 0);
        }

        #[test]
        fn arbitrary_pushes_and_pops_never_panic(
            ops in proptest::collection::vec((any::<u16>(), any::<bool>(), 0u64..2_000, 0usize..40, any::<bool>()), 0..300)
        ) {
            let t0 = Instant::now();
            let mut jb = JitterBuffer::new(JitterConfig { slots: 8, ..JitterConfig::default() });
            let mut now = 0;
            for (seq, marker, dt, len, pop) in ops {
                now += dt;
                let at = t0 + Duration::from_millis(now);
                let payload = vec![0u8; len];
                jb.push(at, seq, 0, marker, &payload);
                if pop {
                    let _ = jb.pop(at);
                }
                prop_assert!(jb.buffered() <= 8);
            }
        }
    }
}
