//! Per (account, action) token-bucket rate limiting with caller-supplied
//! time and a bounded number of tracked buckets.

use std::collections::HashMap;

/// Default bound on the number of tracked buckets.
pub const DEFAULT_MAX_KEYS: usize = 10_000;

/// Token units per whole token: one token is `NANOS_PER_SEC` units so that
/// a refill of `rate` tokens per second is `rate` units per nanosecond.
const NANOS_PER_SEC: u64 = 1_000_000_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Available tokens, in units of 1e-9 token.
    units: u64,
    /// Time of the last refill, nanoseconds.
    last: u64,
}

/// Token buckets keyed by `(account, action)`: burst = `rate` requests,
/// refilled at `rate` requests per second. A rate of 0 disables limiting.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    rate: u64,
    max_keys: usize,
    buckets: HashMap<(String, String), Bucket>,
}

impl RateLimiter {
    /// A limiter allowing `rate_per_sec` requests per second per key.
    pub fn new(rate_per_sec: u32) -> Self {
        Self::with_max_keys(rate_per_sec, DEFAULT_MAX_KEYS)
    }

    /// Like [`RateLimiter::new`] with an explicit bound on tracked buckets
    /// (at least 1).
    pub fn with_max_keys(rate_per_sec: u32, max_keys: usize) -> Self {
        Self {
            rate: u64::from(rate_per_sec),
            max_keys: max_keys.max(1),
            buckets: HashMap::new(),
        }
    }

    /// Number of buckets currently tracked.
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    /// Whether no bucket is tracked.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    fn capacity(&self) -> u64 {
        self.rate.saturating_mul(NANOS_PER_SEC)
    }

    /// Take one token for `(account, action)` at time `now_nanos`.
    /// Returns `true` when the request is allowed.
    pub fn check(&mut self, account: &str, action: &str, now_nanos: u64) -> bool {
        if self.rate == 0 {
            return true;
        }
        let key = (account.to_string(), action.to_string());
        if !self.buckets.contains_key(&key) && self.buckets.len() >= self.max_keys {
            self.evict(now_nanos);
        }
        let (rate, capacity) = (self.rate, self.capacity());
        let bucket = self.buckets.entry(key).or_insert(Bucket {
            units: capacity,
            last: now_nanos,
        });
        refill(bucket, rate, capacity, now_nanos);
        if bucket.units >= NANOS_PER_SEC {
            bucket.units -= NANOS_PER_SEC;
            true
        } else {
            false
        }
    }

    /// Drop every bucket that is full at `now` (it behaves exactly like a
    /// fresh one); if none is, drop the least recently used one.
    fn evict(&mut self, now: u64) {
        let (rate, capacity) = (self.rate, self.capacity());
        self.buckets.retain(|_, b| {
            refill(b, rate, capacity, now);
            b.units < capacity
        });
        if self.buckets.len() >= self.max_keys {
            let oldest = self
                .buckets
                .iter()
                .min_by_key(|(_, b)| b.last)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                self.buckets.remove(&k);
            }
        }
    }
}

/// Add the tokens earned since `b.last`; time going backwards earns none.
fn refill(b: &mut Bucket, rate: u64, capacity: u64, now: u64) {
    let elapsed = now.saturating_sub(b.last);
    b.units = b
        .units
        .saturating_add(elapsed.saturating_mul(rate))
        .min(capacity);
    b.last = b.last.max(now);
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: u64 = 1_000_000_000;

    #[test]
    fn burst_then_refuse_then_refill() {
        let mut rl = RateLimiter::new(20);
        let t0 = 5 * SEC;
        for i in 0..20 {
            assert!(rl.check("acct", "Describe", t0 + i * 1000), "request {i}");
        }
        // The 21st inside the same second is refused.
        assert!(!rl.check("acct", "Describe", t0 + 20_000));
        assert!(!rl.check("acct", "Describe", t0 + SEC / 40));
        // 1/20 s after the burst exactly one more token is available.
        assert!(rl.check("acct", "Describe", t0 + SEC / 20));
        assert!(!rl.check("acct", "Describe", t0 + SEC / 20));
        // After a full second the burst is back.
        let t1 = t0 + 3 * SEC;
        for _ in 0..20 {
            assert!(rl.check("acct", "Describe", t1));
        }
        assert!(!rl.check("acct", "Describe", t1));
    }

    #[test]
    fn keys_are_independent() {
        let mut rl = RateLimiter::new(1);
        assert!(rl.check("a", "X", 0));
        assert!(!rl.check("a", "X", 0));
        assert!(rl.check("a", "Y", 0));
        assert!(rl.check("b", "X", 0));
        assert_eq!(rl.len(), 3);
    }

    #[test]
    fn zero_rate_is_unlimited() {
        let mut rl = RateLimiter::new(0);
        for _ in 0..1000 {
            assert!(rl.check("a", "X", 0));
        }
        assert!(rl.is_empty());
    }

    #[test]
    fn time_going_backwards_is_safe() {
        let mut rl = RateLimiter::new(1);
        assert!(rl.check("a", "X", 10 * SEC));
        assert!(!rl.check("a", "X", 0));
        assert!(!rl.check("a", "X", 10 * SEC));
        assert!(rl.check("a", "X", 11 * SEC));
        let mut big = RateLimiter::new(u32::MAX);
        assert!(big.check("a", "X", u64::MAX));
        assert!(big.check("a", "X", 0));
    }

    #[test]
    fn memory_stays_bounded() {
        let mut rl = RateLimiter::with_max_keys(5, 4);
        for i in 0..100u64 {
            // All within the same instant: nothing is full, LRU eviction.
            assert!(rl.check(&format!("acct{i}"), "X", 0));
            assert!(rl.len() <= 4);
        }
        // Later, idle buckets are full again and get pruned together.
        assert!(rl.check("fresh", "X", 10 * SEC));
        assert_eq!(rl.len(), 1);
    }
}
