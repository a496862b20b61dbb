//! Replay protection: the request timestamp window and detection of a
//! reused `(SecretId, Nonce, Timestamp)` within that window, with bounded
//! memory and caller-supplied time.

use std::collections::BTreeSet;

/// Default bound on remembered nonces.
pub const DEFAULT_MAX_ENTRIES: usize = 200_000;

/// Why a request was rejected as a replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// The timestamp is further than the window from the current time.
    #[error("request timestamp outside the allowed window")]
    Expired,
    /// The same (secret id, nonce, timestamp) was already seen.
    #[error("nonce already used")]
    Reused,
}

/// Whether `|now - timestamp| <= window` (a negative window counts as 0).
pub fn timestamp_ok(timestamp: i64, now: i64, window: i64) -> bool {
    let window = u64::try_from(window).unwrap_or(0);
    now.abs_diff(timestamp) <= window
}

/// Remembers `(timestamp, secret_id, nonce)` triples seen within the
/// window. Ordered by timestamp so expired entries are pruned cheaply.
///
/// Call [`NonceCache::check`] only after the signature has been verified,
/// so unauthenticated clients cannot fill the cache.
#[derive(Debug, Clone)]
pub struct NonceCache {
    window: i64,
    max_entries: usize,
    seen: BTreeSet<(i64, String, u64)>,
}

impl NonceCache {
    /// A cache accepting timestamps within `window_secs` of now.
    pub fn new(window_secs: i64) -> Self {
        Self::with_max_entries(window_secs, DEFAULT_MAX_ENTRIES)
    }

    /// Like [`NonceCache::new`] with an explicit bound on remembered nonces
    /// (at least 1). When full, the oldest entry is forgotten.
    pub fn with_max_entries(window_secs: i64, max_entries: usize) -> Self {
        Self {
            window: window_secs.max(0),
            max_entries: max_entries.max(1),
            seen: BTreeSet::new(),
        }
    }

    /// The configured window, seconds.
    pub fn window(&self) -> i64 {
        self.window
    }

    /// Number of remembered nonces.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Accept a request once: `Expired` outside the window, `Reused` when
    /// the same triple was seen, otherwise remember it.
    pub fn check(
        &mut self,
        secret_id: &str,
        nonce: u64,
        timestamp: i64,
        now: i64,
    ) -> Result<(), ReplayError> {
        if !timestamp_ok(timestamp, now, self.window) {
            return Err(ReplayError::Expired);
        }
        self.prune(now);
        let entry = (timestamp, secret_id.to_string(), nonce);
        if self.seen.contains(&entry) {
            return Err(ReplayError::Reused);
        }
        self.seen.insert(entry);
        while self.seen.len() > self.max_entries {
            self.seen.pop_first();
        }
        Ok(())
    }

    /// Forget entries whose timestamp can no longer pass the window check.
    fn prune(&mut self, now: i64) {
        let oldest_ok = now.saturating_sub(self.window);
        while let Some(first) = self.seen.first() {
            if first.0 >= oldest_ok {
                break;
            }
            self.seen.pop_first();
        }
    }
}

/// Default bound on remembered nonces per account.
pub const DEFAULT_PER_ACCOUNT: usize = 100_000;

/// Nonce memory per account: each account has its own bounded [`NonceCache`], so one tenant's
/// flood of signed requests forgets only that tenant's nonces.
#[derive(Debug, Clone)]
pub struct AccountNonces {
    window: i64,
    per_account: usize,
    accounts: std::collections::HashMap<String, NonceCache>,
}

impl AccountNonces {
    pub fn new(window_secs: i64) -> Self {
        Self::with_limit(window_secs, DEFAULT_PER_ACCOUNT)
    }

    pub fn with_limit(window_secs: i64, per_account: usize) -> Self {
        Self {
            window: window_secs,
            per_account,
            accounts: std::collections::HashMap::new(),
        }
    }

    /// [`NonceCache::check`] in `account`'s own memory.
    pub fn check(
        &mut self,
        account: &str,
        secret_id: &str,
        nonce: u64,
        timestamp: i64,
        now: i64,
    ) -> Result<(), ReplayError> {
        let (window, limit) = (self.window, self.per_account);
        let cache = self
            .accounts
            .entry(account.to_string())
            .or_insert_with(|| NonceCache::with_max_entries(window, limit));
        let r = cache.check(secret_id, nonce, timestamp, now);
        if cache.is_empty() {
            self.accounts.remove(account);
        }
        r
    }

    /// Remembered nonces of `account`.
    pub fn len(&self, account: &str) -> usize {
        self.accounts.get(account).map_or(0, NonceCache::len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_check() {
        assert!(timestamp_ok(1000, 1000, 300));
        assert!(timestamp_ok(700, 1000, 300));
        assert!(timestamp_ok(1300, 1000, 300));
        assert!(!timestamp_ok(699, 1000, 300));
        assert!(!timestamp_ok(1301, 1000, 300));
        assert!(!timestamp_ok(i64::MIN, i64::MAX, i64::MAX));
        assert!(timestamp_ok(5, 5, -1));
        assert!(!timestamp_ok(5, 6, -1));
    }

    #[test]
    fn expired_and_reused() {
        let mut c = NonceCache::new(300);
        assert_eq!(c.check("AK", 1, 1000, 2000), Err(ReplayError::Expired));
        assert_eq!(c.check("AK", 1, 1000, 1000), Ok(()));
        assert_eq!(c.check("AK", 1, 1000, 1100), Err(ReplayError::Reused));
        // Different secret, nonce or timestamp is a different request.
        assert_eq!(c.check("AK2", 1, 1000, 1100), Ok(()));
        assert_eq!(c.check("AK", 2, 1000, 1100), Ok(()));
        assert_eq!(c.check("AK", 1, 1001, 1100), Ok(()));
        // Once outside the window the old request is Expired, not Reused.
        assert_eq!(c.check("AK", 1, 1000, 1301), Err(ReplayError::Expired));
    }

    #[test]
    fn prunes_old_entries() {
        let mut c = NonceCache::new(10);
        for i in 0..100 {
            assert_eq!(c.check("AK", 7, i, i), Ok(()));
            assert!(c.len() <= 11, "len {}", c.len());
        }
        assert_eq!(c.check("AK", 7, 1000, 1000), Ok(()));
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn bounded_by_max_entries() {
        let mut c = NonceCache::with_max_entries(1000, 3);
        for n in 0..10 {
            assert_eq!(c.check("AK", n, 50 + n as i64, 60), Ok(()));
            assert!(c.len() <= 3);
        }
        assert_eq!(c.check("AK", 9, 59, 60), Err(ReplayError::Reused));
    }

    #[test]
    fn one_account_cannot_evict_another() {
        let mut n = AccountNonces::with_limit(300, 5);
        assert_eq!(n.check("victim", "AKv", 1, 1000, 1000), Ok(()));
        for i in 0..500 {
            assert_eq!(n.check("flooder", "AKf", i, 1000, 1000), Ok(()));
        }
        assert_eq!(n.len("flooder"), 5);
        assert_eq!(
            n.check("victim", "AKv", 1, 1000, 1001),
            Err(ReplayError::Reused)
        );
    }

    #[test]
    fn extreme_values_do_not_panic() {
        let mut c = NonceCache::new(i64::MAX);
        assert_eq!(c.check("", u64::MAX, i64::MIN, i64::MIN), Ok(()));
        assert_eq!(c.check("", u64::MAX, i64::MAX, i64::MAX), Ok(()));
        assert_eq!(c.window(), i64::MAX);
    }
}
