//! A lock-free token bucket shared by every connection of a listener (or accelerator).
//!
//! The bucket is kept as one timestamp, the *theoretical arrival time* (`tat`) of the generic
//! cell rate algorithm: the instant at which everything charged so far has been paid for at
//! `rate`. Tokens available at `now` are `(now - tat) × rate`, capped at `burst`. Charging `n`
//! bytes moves `tat` forward by `n / rate` seconds with one compare-and-swap, so any number of
//! threads can call [`TokenBucket::take`] at once without a lock and without losing a charge.
//!
//! # Semantics: debt
//! `take` always charges the bytes. `Ok(())` means they fit in the bucket and may be sent now.
//! `Err(wait_ns)` means the bucket went into debt: the caller must sleep `wait_ns` and then send
//! them, without calling `take` again for the same bytes. A relay reads a chunk, calls `take`,
//! sleeps if told to, writes the chunk: over time the bytes sent converge to `rate × elapsed +
//! burst`, and concurrent connections queue fairly behind one another.
//!
//! A rate of 0 means unlimited: `take` always returns `Ok(())` and charges nothing.

use std::sync::atomic::{AtomicU64, Ordering};

/// Internal clock offset: `tat` is stored as `now_ns + EPOCH` so a new bucket starts full even
/// when the caller's clock starts at 0 (about 146 years of headroom either way).
const EPOCH: u64 = 1 << 62;
const NANOS_PER_SEC: u128 = 1_000_000_000;

/// Shared token bucket; see the module docs for the semantics.
#[derive(Debug)]
pub struct TokenBucket {
    rate: AtomicU64,
    burst: AtomicU64,
    tat: AtomicU64,
}

/// Bytes per second for a limit in megabits per second (1 Mbps = 125,000 bytes/s).
pub const fn bytes_per_sec_from_mbps(mbps: u64) -> u64 {
    mbps.saturating_mul(125_000)
}

/// Nanoseconds needed to pay for `bytes` at `rate` bytes per second (rounded up, saturating).
fn cost_ns(bytes: u64, rate: u64) -> u64 {
    if rate == 0 {
        return 0;
    }
    let num = u128::from(bytes) * NANOS_PER_SEC;
    let ns = num.div_ceil(u128::from(rate));
    u64::try_from(ns).unwrap_or(u64::MAX)
}

impl TokenBucket {
    /// A full bucket refilling at `rate_bytes_per_sec` (0 = unlimited) holding up to `burst_bytes`.
    pub fn new(rate_bytes_per_sec: u64, burst_bytes: u64) -> Self {
        Self {
            rate: AtomicU64::new(rate_bytes_per_sec),
            burst: AtomicU64::new(burst_bytes),
            tat: AtomicU64::new(0),
        }
    }

    /// Change the rate and burst live. Debt already charged is kept; new charges use the new rate.
    pub fn set_rate(&self, rate_bytes_per_sec: u64, burst_bytes: u64) {
        self.burst.store(burst_bytes, Ordering::Relaxed);
        self.rate.store(rate_bytes_per_sec, Ordering::Release);
    }

    /// Current rate in bytes per second (0 = unlimited).
    pub fn rate(&self) -> u64 {
        self.rate.load(Ordering::Acquire)
    }

    /// Current burst size in bytes.
    pub fn burst(&self) -> u64 {
        self.burst.load(Ordering::Relaxed)
    }

    /// Charge `bytes` at `now_ns` (any monotonic clock, the same for all callers).
    /// `Ok(())`: send now. `Err(wait_ns)`: the bytes are charged; sleep `wait_ns`, then send them.
    pub fn take(&self, bytes: u64, now_ns: u64) -> Result<(), u64> {
        match self.charge(bytes, now_ns, u64::MAX) {
            Some(0) | None => Ok(()),
            Some(wait) => Err(wait),
        }
    }

    /// Police instead of shaping: charge `bytes` only if that leaves at most `max_debt_ns` to
    /// wait; otherwise charge nothing and return `false` (the caller drops the datagram). Under
    /// sustained overload the bucket therefore keeps admitting its rate instead of sinking into
    /// unbounded debt.
    pub fn try_take(&self, bytes: u64, now_ns: u64, max_debt_ns: u64) -> bool {
        self.charge(bytes, now_ns, max_debt_ns).is_some()
    }

    /// One compare-and-swap loop for both: charge unless the wait would exceed `max_debt_ns`.
    /// Returns the wait in ns (0 = none), or `None` when nothing was charged.
    fn charge(&self, bytes: u64, now_ns: u64, max_debt_ns: u64) -> Option<u64> {
        let rate = self.rate();
        if rate == 0 {
            return Some(0);
        }
        let cost = cost_ns(bytes, rate);
        let tolerance = cost_ns(self.burst(), rate);
        let now = now_ns.saturating_add(EPOCH);
        let floor = now.saturating_sub(tolerance);
        let mut tat = self.tat.load(Ordering::Acquire);
        loop {
            let next = tat.max(floor).saturating_add(cost);
            if next > now.saturating_add(max_debt_ns) {
                return None;
            }
            match self
                .tat
                .compare_exchange_weak(tat, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Some(next.saturating_sub(now)),
                Err(actual) => tat = actual,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policing_admits_the_rate_under_overload() {
        // 1,000 bytes/s, burst 100: offering 3,000 bytes/s for 10 s admits about 10,100 bytes.
        let b = TokenBucket::new(1_000, 100);
        let mut admitted = 0u64;
        for i in 0..3_000u64 {
            let now = i * 10_000_000 / 3; // every 3.33 ms
            if b.try_take(10, now, 0) {
                admitted += 10;
            }
        }
        assert!((9_900..=10_200).contains(&admitted), "{admitted}");
    }

    #[test]
    fn unlimited_always_ok() {
        let b = TokenBucket::new(0, 0);
        assert_eq!(b.take(u64::MAX, 0), Ok(()));
        assert_eq!(b.take(u64::MAX, u64::MAX), Ok(()));
    }

    #[test]
    fn starts_full_then_charges_debt() {
        // 1,000 bytes/s: 1 ms per byte.
        let b = TokenBucket::new(1_000, 100);
        assert_eq!(b.take(100, 0), Ok(()));
        assert_eq!(b.take(10, 0), Err(10_000_000));
        // After the debt is paid and 50 ms more, 50 bytes fit again.
        assert_eq!(b.take(50, 60_000_000), Ok(()));
        assert_eq!(b.take(1, 60_000_000), Err(1_000_000));
    }

    #[test]
    fn burst_caps_idle_accumulation() {
        let b = TokenBucket::new(1_000, 100);
        assert_eq!(b.take(100, 1_000_000_000_000), Ok(()));
        assert!(b.take(1, 1_000_000_000_000).is_err());
    }

    #[test]
    fn set_rate_applies_to_new_charges() {
        let b = TokenBucket::new(1_000, 0);
        assert_eq!(b.take(1, 0), Err(1_000_000));
        b.set_rate(2_000, 0);
        assert_eq!(b.rate(), 2_000);
        assert_eq!(b.take(2, 0), Err(2_000_000));
        b.set_rate(0, 0);
        assert_eq!(b.take(1_000_000, 0), Ok(()));
    }

    #[test]
    fn extreme_values_do_not_panic() {
        let b = TokenBucket::new(1, u64::MAX);
        let _ = b.take(u64::MAX, u64::MAX);
        let _ = b.take(u64::MAX, 0);
        assert_eq!(bytes_per_sec_from_mbps(8), 1_000_000);
        assert_eq!(bytes_per_sec_from_mbps(u64::MAX), u64::MAX);
    }
}
