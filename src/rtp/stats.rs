//! Receive statistics of one remote source, as RFC 3550 Appendix A computes them: sequence
//! validation with probation (A.1), expected and lost packets (A.3) and interarrival jitter (A.8).
//!
//! Deviation from A.1: the packets seen during probation are counted as received and the base
//! sequence is the first of them, so a clean stream of N packets reports N received, 0 lost.

use std::time::{Duration, Instant};

const RTP_SEQ_MOD: u32 = 1 << 16;
/// Largest forward jump still taken as the same stream (A.1).
const MAX_DROPOUT: u16 = 3000;
/// Largest backward jump still taken as reordering (A.1).
const MAX_MISORDER: u16 = 100;
/// Sequential packets needed before a source is valid (A.1).
const MIN_SEQUENTIAL: u32 = 2;

/// What the loss part of a report block says, computed per A.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LossReport {
    /// Fraction lost since the previous report, in 1/256.
    pub fraction_lost: u8,
    /// Expected minus received since the start, clamped to 24 bits signed.
    pub cumulative_lost: i32,
    /// Cycles in the high 16 bits, highest sequence number in the low 16.
    pub extended_highest_seq: u32,
    /// Interarrival jitter in timestamp units.
    pub jitter: u32,
}

/// Receive statistics of one SSRC.
#[derive(Debug, Clone)]
pub struct ReceiveStats {
    /// Codec clock rate, to turn arrival times into timestamp units.
    clock_rate: u32,
    /// False until the first packet, which starts probation.
    started: bool,
    max_seq: u16,
    /// Sequence number wraps, times 65536.
    cycles: u32,
    base_seq: u32,
    /// The sequence number that would confirm a restart after a big jump.
    bad_seq: u32,
    /// Sequential packets still needed before the source is valid.
    probation: u32,
    received: u32,
    expected_prior: u32,
    received_prior: u32,
    /// Arrival time of the first packet: the origin of the arrival clock.
    epoch: Option<Instant>,
    /// Relative transit time of the previous packet (A.8).
    last_transit: Option<u32>,
    /// Jitter scaled by 16 (the integer form of A.8).
    jitter_q4: u64,
}

impl ReceiveStats {
    /// Statistics for a source whose media clock runs at `clock_rate` Hz (at least 1).
    pub fn new(clock_rate: u32) -> Self {
        ReceiveStats {
            clock_rate: clock_rate.max(1),
            started: false,
            max_seq: 0,
            cycles: 0,
            base_seq: 0,
            bad_seq: RTP_SEQ_MOD + 1,
            probation: MIN_SEQUENTIAL,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            epoch: None,
            last_transit: None,
            jitter_q4: 0,
        }
    }

    fn init_seq(&mut self, seq: u16) {
        self.base_seq = u32::from(seq);
        self.max_seq = seq;
        self.bad_seq = RTP_SEQ_MOD + 1;
        self.cycles = 0;
        self.received = 0;
        self.received_prior = 0;
        self.expected_prior = 0;
    }

    /// Feeds one sequence number (A.1 `update_seq`). Returns false while the source is on
    /// probation or when the packet is a big jump not yet confirmed; such packets should not
    /// be trusted as media of this source yet.
    pub fn update_seq(&mut self, seq: u16) -> bool {
        if !self.started {
            self.started = true;
            self.init_seq(seq);
            self.max_seq = seq.wrapping_sub(1);
            self.probation = MIN_SEQUENTIAL;
        }
        let udelta = seq.wrapping_sub(self.max_seq);
        if self.probation > 0 {
            if seq == self.max_seq.wrapping_add(1) {
                self.probation -= 1;
                self.max_seq = seq;
                if self.probation == 0 {
                    self.init_seq(seq);
                    // Deviation (see module docs): count the probation packets too.
                    let seen = MIN_SEQUENTIAL;
                    self.base_seq = u32::from(seq.wrapping_sub((seen - 1) as u16));
                    if u32::from(seq) < self.base_seq {
                        // The probation run crossed a wrap: keep extended numbers increasing.
                        self.cycles = RTP_SEQ_MOD;
                    }
                    self.received = seen;
                    return true;
                }
            } else {
                self.probation = MIN_SEQUENTIAL - 1;
                self.max_seq = seq;
            }
            return false;
        }
        if udelta < MAX_DROPOUT {
            if seq < self.max_seq {
                self.cycles = self.cycles.wrapping_add(RTP_SEQ_MOD);
            }
            self.max_seq = seq;
        } else if u32::from(udelta) <= RTP_SEQ_MOD - u32::from(MAX_MISORDER) {
            if u32::from(seq) == self.bad_seq {
                // Two sequential packets after a big jump: the source restarted.
                self.init_seq(seq);
            } else {
                self.bad_seq = (u32::from(seq) + 1) & (RTP_SEQ_MOD - 1);
                return false;
            }
        }
        // Otherwise a duplicate or reordered packet: counted, max_seq unchanged.
        self.received = self.received.wrapping_add(1);
        true
    }

    /// Feeds the arrival time and RTP timestamp of a packet (A.8). Call it only for packets of
    /// the stream's own clock (not telephone-event packets, which repeat one timestamp).
    pub fn update_jitter(&mut self, now: Instant, rtp_timestamp: u32) {
        let epoch = *self.epoch.get_or_insert(now);
        let elapsed = now.saturating_duration_since(epoch);
        // Arrival in timestamp units; truncating to u32 wraps like RTP timestamps do.
        let arrival = (elapsed.as_nanos() * u128::from(self.clock_rate) / 1_000_000_000) as u32;
        let transit = arrival.wrapping_sub(rtp_timestamp);
        if let Some(last) = self.last_transit {
            let d = u64::from((transit.wrapping_sub(last) as i32).unsigned_abs());
            // J += (|D| - J) / 16, with J kept scaled by 16.
            self.jitter_q4 = self.jitter_q4 + d - ((self.jitter_q4 + 8) >> 4);
        }
        self.last_transit = Some(transit);
    }

    fn extended_max(&self) -> u32 {
        self.cycles.wrapping_add(u32::from(self.max_seq))
    }

    fn expected(&self) -> u32 {
        if self.received == 0 {
            return 0;
        }
        self.extended_max()
            .wrapping_sub(self.base_seq)
            .wrapping_add(1)
    }

    /// Packets received from this source (duplicates included, as A.3 counts them).
    pub fn packets_received(&self) -> u32 {
        self.received
    }

    /// Packets expected from the sequence numbers seen.
    pub fn packets_expected(&self) -> u32 {
        self.expected()
    }

    /// Cumulative packets lost: expected minus received; negative when duplicates arrived.
    pub fn packets_lost(&self) -> i64 {
        i64::from(self.expected()) - i64::from(self.received)
    }

    /// Highest sequence number with the wrap count in the high 16 bits.
    pub fn extended_highest_seq(&self) -> u32 {
        self.extended_max()
    }

    /// Interarrival jitter in timestamp units.
    pub fn jitter(&self) -> u32 {
        u32::try_from(self.jitter_q4 >> 4).unwrap_or(u32::MAX)
    }

    /// Interarrival jitter as a duration.
    pub fn jitter_duration(&self) -> Duration {
        Duration::from_nanos(u64::from(self.jitter()) * 1_000_000_000 / u64::from(self.clock_rate))
    }

    /// Interarrival jitter in milliseconds.
    pub fn jitter_ms(&self) -> f64 {
        f64::from(self.jitter()) * 1000.0 / f64::from(self.clock_rate)
    }

    /// The loss and jitter fields of a report block (A.3). Moves the "prior" counters, so the
    /// next call's fraction covers the interval from now on.
    pub fn take_report(&mut self) -> LossReport {
        let expected = self.expected();
        let expected_interval = expected.wrapping_sub(self.expected_prior);
        self.expected_prior = expected;
        let received_interval = self.received.wrapping_sub(self.received_prior);
        self.received_prior = self.received;
        let lost_interval = i64::from(expected_interval) - i64::from(received_interval);
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / i64::from(expected_interval)).min(255) as u8
        };
        LossReport {
            fraction_lost,
            cumulative_lost: self.packets_lost().clamp(-0x80_0000, 0x7f_ffff) as i32,
            extended_highest_seq: self.extended_max(),
            jitter: self.jitter(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn feed(stats: &mut ReceiveStats, seqs: impl IntoIterator<Item = u16>) {
        for seq in seqs {
            stats.update_seq(seq);
        }
    }

    #[test]
    fn clean_stream_across_the_wrap() {
        let mut s = ReceiveStats::new(8000);
        assert!(!s.update_seq(65_530));
        assert!(s.update_seq(65_531));
        feed(&mut s, (65_532..=65_535).chain(0..10));
        assert_eq!(s.packets_received(), 16);
        assert_eq!(s.packets_expected(), 16);
        assert_eq!(s.packets_lost(), 0);
        assert_eq!(s.extended_highest_seq(), 0x0001_0009);
        assert_eq!(s.take_report().fraction_lost, 0);
    }

    #[test]
    fn probation_run_that_crosses_the_wrap() {
        let mut s = ReceiveStats::new(8000);
        feed(&mut s, [65_535, 0, 1]);
        assert_eq!(s.packets_received(), 3);
        assert_eq!(s.packets_lost(), 0);
        assert_eq!(s.extended_highest_seq(), 0x0001_0001);
    }

    #[test]
    fn loss_and_fraction_per_interval() {
        let mut s = ReceiveStats::new(8000);
        // 100..=199 with every 4th packet missing: 25 lost of 100.
        feed(&mut s, (100..200).filter(|q| q % 4 != 2));
        assert_eq!(s.packets_lost(), 25);
        let r = s.take_report();
        assert_eq!(r.fraction_lost, 64); // 25/100 * 256
        assert_eq!(r.cumulative_lost, 25);
        // A clean interval afterwards reports no new loss but keeps the total.
        feed(&mut s, 200..250);
        let r = s.take_report();
        assert_eq!(r.fraction_lost, 0);
        assert_eq!(r.cumulative_lost, 25);
    }

    #[test]
    fn duplicates_make_loss_negative_and_fraction_zero() {
        let mut s = ReceiveStats::new(8000);
        feed(&mut s, [1, 2, 3, 3, 3, 4]);
        assert_eq!(s.packets_lost(), -2);
        let r = s.take_report();
        assert_eq!(r.fraction_lost, 0);
        assert_eq!(r.cumulative_lost, -2);
    }

    #[test]
    fn big_jump_needs_two_sequential_packets() {
        let mut s = ReceiveStats::new(8000);
        feed(&mut s, 10..20);
        assert!(!s.update_seq(40_000));
        assert_eq!(s.extended_highest_seq(), 19);
        assert!(s.update_seq(40_001));
        assert_eq!(s.extended_highest_seq(), 40_001);
        assert_eq!(s.packets_received(), 1);
        assert_eq!(s.packets_lost(), 0);
    }

    #[test]
    fn jitter_is_zero_for_perfect_timing_and_grows_with_variation() {
        let t0 = Instant::now();
        let mut s = ReceiveStats::new(8000);
        for i in 0..50u32 {
            s.update_jitter(
                t0 + Duration::from_millis(20 * u64::from(i)),
                1000 + 160 * i,
            );
        }
        assert_eq!(s.jitter(), 0);
        // Alternate 10 ms early/late: |D| = 20 ms = 160 units, J converges towards 160.
        for i in 50..400u32 {
            let offset = if i % 2 == 0 { 10 } else { 30 };
            let at = t0 + Duration::from_millis(20 * u64::from(i) + offset - 10);
            s.update_jitter(at, 1000 + 160 * i);
        }
        assert!((150..=160).contains(&s.jitter()), "jitter {}", s.jitter());
        assert!((s.jitter_ms() - 20.0).abs() < 1.5);
        assert_eq!(s.jitter_duration().as_millis(), s.jitter_ms() as u128);
    }

    proptest! {
        #[test]
        fn any_sequence_never_panics(seqs in proptest::collection::vec(any::<u16>(), 0..300)) {
            let mut s = ReceiveStats::new(8000);
            feed(&mut s, seqs);
            let r = s.take_report();
            prop_assert!(r.cumulative_lost >= -0x80_0000 && r.cumulative_lost <= 0x7f_ffff);
        }
    }
}
