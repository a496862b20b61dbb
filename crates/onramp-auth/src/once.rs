//! Execute-once memory for signed writes, per account.
//!
//! TC3 and Huawei signatures carry no nonce: the same signed bytes stay valid for the whole
//! timestamp window, so a captured write could be sent again. The API remembers each signed
//! write by (account, signature) until its timestamp leaves the window; a repeat gets the first
//! answer back instead of running again. Memory is bounded per account, so one tenant's flood
//! evicts only its own entries.
//!
//! Sans-IO: callers pass `now` (unix seconds) and keep whatever value stands for "the first
//! answer" (`V`: typically a channel that is filled when the first execution finishes).

use std::collections::{BTreeSet, HashMap};

/// Default bound on remembered signed writes per account.
pub const DEFAULT_PER_ACCOUNT: usize = 20_000;

/// What to do with a signed write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen<V> {
    /// Not seen inside the window: run it (the value given was remembered).
    First,
    /// Seen before: answer with what the first execution left.
    Repeat(V),
}

#[derive(Debug)]
struct AccountMemory<V> {
    /// (expiry, signature), so expired entries leave from the front.
    by_expiry: BTreeSet<(i64, String)>,
    entries: HashMap<String, (i64, V)>,
}

/// Signed writes seen within the window, per account.
#[derive(Debug)]
pub struct OnceCache<V> {
    window: i64,
    per_account: usize,
    accounts: HashMap<String, AccountMemory<V>>,
    /// Checks since the last sweep of every account.
    since_sweep: u32,
}

/// Every this many checks, accounts other than the caller's are swept too.
const SWEEP_EVERY: u32 = 4096;

impl<V: Clone> OnceCache<V> {
    /// Remember writes whose timestamp is within `window_secs` of now.
    pub fn new(window_secs: i64) -> Self {
        Self::with_limit(window_secs, DEFAULT_PER_ACCOUNT)
    }

    /// Like [`OnceCache::new`], remembering at most `per_account` writes per account (at least 1).
    pub fn with_limit(window_secs: i64, per_account: usize) -> Self {
        Self {
            window: window_secs.max(0),
            per_account: per_account.max(1),
            accounts: HashMap::new(),
            since_sweep: 0,
        }
    }

    /// Look up `(account, signature)` of a request signed at `timestamp` (already checked to be
    /// inside the window); remember `value` for it when it is the first.
    pub fn check(
        &mut self,
        account: &str,
        signature: &str,
        timestamp: i64,
        now: i64,
        value: impl FnOnce() -> V,
    ) -> Seen<V> {
        self.since_sweep += 1;
        if self.since_sweep >= SWEEP_EVERY {
            self.since_sweep = 0;
            self.accounts.retain(|_, mem| {
                mem.prune(now);
                !mem.entries.is_empty()
            });
        }
        let mem = self.accounts.entry(account.to_string()).or_default();
        mem.prune(now);
        if let Some((_, v)) = mem.entries.get(signature) {
            return Seen::Repeat(v.clone());
        }
        // The signature stays acceptable until its timestamp is `window` behind the clock.
        let expiry = timestamp.saturating_add(self.window).max(now);
        mem.by_expiry.insert((expiry, signature.to_string()));
        mem.entries.insert(signature.to_string(), (expiry, value()));
        while mem.entries.len() > self.per_account {
            let Some((_, sig)) = mem.by_expiry.pop_first() else {
                break;
            };
            mem.entries.remove(&sig);
        }
        Seen::First
    }

    /// Forget `(account, signature)`: the first execution ended without an answer to keep.
    pub fn forget(&mut self, account: &str, signature: &str) {
        if let Some(mem) = self.accounts.get_mut(account) {
            if let Some((expiry, _)) = mem.entries.remove(signature) {
                mem.by_expiry.remove(&(expiry, signature.to_string()));
            }
        }
    }

    /// Remembered writes of `account`.
    pub fn len(&self, account: &str) -> usize {
        self.accounts.get(account).map_or(0, |m| m.entries.len())
    }
}

impl<V> Default for AccountMemory<V> {
    fn default() -> Self {
        Self {
            by_expiry: BTreeSet::new(),
            entries: HashMap::new(),
        }
    }
}

impl<V> AccountMemory<V> {
    fn prune(&mut self, now: i64) {
        while let Some((expiry, _)) = self.by_expiry.first() {
            if *expiry >= now {
                break;
            }
            if let Some((_, sig)) = self.by_expiry.pop_first() {
                self.entries.remove(&sig);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeat_gets_the_first_value() {
        let mut c = OnceCache::new(300);
        assert_eq!(c.check("a", "sig1", 1000, 1000, || 1), Seen::First);
        assert_eq!(c.check("a", "sig1", 1000, 1100, || 2), Seen::Repeat(1));
        // Another account's identical signature is its own request.
        assert_eq!(c.check("b", "sig1", 1000, 1100, || 3), Seen::First);
        assert_eq!(c.check("a", "sig2", 1000, 1100, || 4), Seen::First);
    }

    #[test]
    fn entries_leave_with_the_window() {
        let mut c = OnceCache::new(300);
        assert_eq!(c.check("a", "s", 1000, 1000, || 1), Seen::First);
        assert_eq!(c.check("a", "s", 1000, 1300, || 2), Seen::Repeat(1));
        // At 1301 the timestamp 1000 is outside the window: the caller refuses it as expired
        // before asking, and the memory is gone.
        assert_eq!(c.check("a", "other", 1301, 1301, || 9), Seen::First);
        assert_eq!(c.len("a"), 1);
    }

    #[test]
    fn a_future_timestamp_is_remembered_until_it_expires() {
        let mut c = OnceCache::new(300);
        assert_eq!(c.check("a", "s", 1300, 1000, || 1), Seen::First);
        assert_eq!(c.check("a", "s", 1300, 1590, || 2), Seen::Repeat(1));
    }

    #[test]
    fn one_tenant_cannot_evict_another() {
        let mut c = OnceCache::with_limit(300, 10);
        assert_eq!(c.check("victim", "v", 1000, 1000, || 7), Seen::First);
        for i in 0..1000 {
            c.check("flooder", &format!("f{i}"), 1000, 1000, || 0);
        }
        assert_eq!(c.len("flooder"), 10);
        assert_eq!(c.check("victim", "v", 1000, 1001, || 8), Seen::Repeat(7));
    }

    #[test]
    fn forget_lets_the_request_run_again() {
        let mut c = OnceCache::new(300);
        assert_eq!(c.check("a", "s", 1000, 1000, || 1), Seen::First);
        c.forget("a", "s");
        assert_eq!(c.check("a", "s", 1000, 1000, || 2), Seen::First);
        assert_eq!(c.check("a", "s", 1000, 1000, || 3), Seen::Repeat(2));
    }

    #[test]
    fn extreme_timestamps_do_not_panic() {
        let mut c = OnceCache::new(i64::MAX);
        assert_eq!(c.check("a", "s", i64::MAX, i64::MIN, || 1), Seen::First);
        assert_eq!(c.check("a", "t", i64::MIN, i64::MAX, || 1), Seen::First);
    }
}
