//! Whether a new call may start: the concurrent-call limit, draining on shutdown, and a per-source
//! INVITE rate limit (a token bucket per IP), so one misbehaving trunk cannot starve the rest.
//! Refusals map to 503 Service Unavailable with Retry-After (RFC 3261 §21.5.4, §20.33).

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Limits, from `[limits]` in kefu.toml.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdmissionLimits {
    pub max_calls: usize,
    /// Sustained new INVITEs per second from one source address.
    pub invites_per_second: f64,
    /// Burst allowance above the sustained rate.
    pub invite_burst: f64,
}

impl Default for AdmissionLimits {
    fn default() -> Self {
        AdmissionLimits {
            max_calls: 1000,
            invites_per_second: 50.0,
            invite_burst: 100.0,
        }
    }
}

/// Why a call was refused; each is answered 503.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The configured number of concurrent calls is reached.
    AtCallLimit,
    /// kefu is draining for shutdown.
    ShuttingDown,
    /// This source sends INVITEs faster than its allowance.
    RateLimited,
}

impl Refusal {
    /// Stable end-cause code for the call record.
    pub fn end_cause(self) -> &'static str {
        match self {
            Refusal::AtCallLimit => "sip.503.call_limit",
            Refusal::ShuttingDown => "sip.503.shutdown",
            Refusal::RateLimited => "sip.503.rate_limit",
        }
    }

    /// Seconds the peer should wait before trying again.
    pub fn retry_after(self) -> u32 {
        match self {
            Refusal::AtCallLimit | Refusal::RateLimited => 5,
            Refusal::ShuttingDown => 60,
        }
    }
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

/// The admission state. Time comes in as an argument.
pub struct Admission {
    limits: AdmissionLimits,
    draining: bool,
    buckets: HashMap<IpAddr, Bucket>,
}

impl Admission {
    pub fn new(limits: AdmissionLimits) -> Self {
        Admission {
            limits,
            draining: false,
            buckets: HashMap::new(),
        }
    }

    /// From now on every new call is refused.
    pub fn start_draining(&mut self) {
        self.draining = true;
    }

    pub fn is_draining(&self) -> bool {
        self.draining
    }

    /// Decides on one new INVITE from `source` while `active_calls` are up.
    pub fn admit(
        &mut self,
        now: Instant,
        source: IpAddr,
        active_calls: usize,
    ) -> Result<(), Refusal> {
        if self.draining {
            return Err(Refusal::ShuttingDown);
        }
        if active_calls >= self.limits.max_calls {
            return Err(Refusal::AtCallLimit);
        }
        let AdmissionLimits {
            invites_per_second,
            invite_burst,
            ..
        } = self.limits;
        let bucket = self.buckets.entry(source).or_insert(Bucket {
            tokens: invite_burst,
            last: now,
        });
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * invites_per_second).min(invite_burst);
        bucket.last = now;
        if bucket.tokens < 1.0 {
            return Err(Refusal::RateLimited);
        }
        bucket.tokens -= 1.0;
        Ok(())
    }

    /// Forgets sources idle long enough to have a full bucket again; call now and then so the map
    /// does not grow with every address ever seen.
    pub fn forget_idle(&mut self, now: Instant) {
        let full_after = Duration::from_secs_f64(
            self.limits.invite_burst / self.limits.invites_per_second.max(f64::MIN_POSITIVE),
        );
        self.buckets
            .retain(|_, b| now.saturating_duration_since(b.last) < full_after);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn call_limit_and_draining_refuse() {
        let mut a = Admission::new(AdmissionLimits {
            max_calls: 2,
            ..Default::default()
        });
        let t = Instant::now();
        assert_eq!(a.admit(t, ip(1), 1), Ok(()));
        assert_eq!(a.admit(t, ip(1), 2), Err(Refusal::AtCallLimit));
        a.start_draining();
        assert_eq!(a.admit(t, ip(1), 0), Err(Refusal::ShuttingDown));
    }

    #[test]
    fn rate_limit_is_per_source_and_refills() {
        let limits = AdmissionLimits {
            max_calls: 100,
            invites_per_second: 10.0,
            invite_burst: 3.0,
        };
        let mut a = Admission::new(limits);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(a.admit(t0, ip(1), 0), Ok(()));
        }
        assert_eq!(a.admit(t0, ip(1), 0), Err(Refusal::RateLimited));
        assert_eq!(
            a.admit(t0, ip(2), 0),
            Ok(()),
            "another source has its own bucket"
        );
        let t1 = t0 + Duration::from_millis(100); // one token back at 10/s
        assert_eq!(a.admit(t1, ip(1), 0), Ok(()));
        assert_eq!(a.admit(t1, ip(1), 0), Err(Refusal::RateLimited));
    }

    #[test]
    fn idle_sources_are_forgotten() {
        let limits = AdmissionLimits {
            max_calls: 100,
            invites_per_second: 10.0,
            invite_burst: 3.0,
        };
        let mut a = Admission::new(limits);
        let t0 = Instant::now();
        a.admit(t0, ip(1), 0).expect("first call admitted");
        a.forget_idle(t0 + Duration::from_millis(100));
        assert_eq!(a.buckets.len(), 1);
        a.forget_idle(t0 + Duration::from_secs(1));
        assert!(a.buckets.is_empty());
    }
}
