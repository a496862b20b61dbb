//! The data plane's descriptor budget: one atomic count of the descriptors the edge holds for
//! traffic (listener sockets, both sockets of a proxied TCP connection, a UDP flow's upstream
//! socket, splice pipes in flight), against one limit computed at start from the process's
//! descriptor limit less a reserve that only the API, the store and health checks use.
//!
//! Taking a unit is one `fetch_add` (and a `fetch_sub` when it does not fit); a refusal is
//! counted per reason and logged at most once per reason every `LOG_EVERY_MS`, with the number
//! of refusals since the last line. Everything here takes `now`; nothing waits.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

/// At most one log line per reason this often.
pub const LOG_EVERY_MS: u64 = 5_000;
/// A UDP listener holding fewer flows than this may use the budget's headroom.
pub const QUIET_FLOWS: usize = 16;

/// Why a new connection or flow was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The edge-wide descriptor budget is full.
    Budget = 0,
    /// A listener (or accelerator) limit: `MaxConnections`, `--max-udp-flows`.
    Listener = 1,
    /// One source address holds `--udp-flows-per-source` flows already.
    Source = 2,
}

impl Reason {
    pub const ALL: [Reason; 3] = [Reason::Budget, Reason::Listener, Reason::Source];

    pub fn label(self) -> &'static str {
        match self {
            Reason::Budget => "budget",
            Reason::Listener => "listener",
            Reason::Source => "source",
        }
    }
}

/// Rate limit of one log line: counts events and says when to write the line.
#[derive(Debug)]
pub struct RateLog {
    /// When the last line was written; `u64::MAX` = never.
    last_ms: AtomicU64,
    pending: AtomicU64,
}

impl Default for RateLog {
    fn default() -> Self {
        Self {
            last_ms: AtomicU64::new(u64::MAX),
            pending: AtomicU64::new(0),
        }
    }
}

impl RateLog {
    /// Count one event at `now_ms`; `Some(n)` when a line is due, `n` events since the last one.
    pub fn note(&self, now_ms: u64, every_ms: u64) -> Option<u64> {
        self.pending.fetch_add(1, Relaxed);
        let last = self.last_ms.load(Relaxed);
        if last != u64::MAX && now_ms.saturating_sub(last) < every_ms {
            return None;
        }
        self.last_ms
            .compare_exchange(last, now_ms, Relaxed, Relaxed)
            .ok()
            .map(|_| self.pending.swap(0, Relaxed))
    }
}

/// The edge-wide descriptor budget and its refusal counters.
#[derive(Debug)]
pub struct Budget {
    in_use: AtomicU64,
    limit: u64,
    /// UDP flows of a busy listener stop this far below `limit` (they shed their own idlest
    /// instead), so TCP connections and quiet listeners still find room during a flood.
    headroom: u64,
    refused: [AtomicU64; 3],
    logs: [RateLog; 3],
    shed_log: RateLog,
}

impl Default for Budget {
    /// No limit: for an edge started without one.
    fn default() -> Self {
        Self::new(u64::MAX / 2)
    }
}

impl Budget {
    pub fn new(limit: u64) -> Self {
        Self {
            in_use: AtomicU64::new(0),
            limit,
            headroom: (limit / 16).max(16).min(limit / 2),
            refused: Default::default(),
            logs: Default::default(),
            shed_log: RateLog::default(),
        }
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    pub fn in_use(&self) -> u64 {
        self.in_use.load(Relaxed)
    }

    pub fn refused(&self, reason: Reason) -> u64 {
        self.refused[reason as usize].load(Relaxed)
    }

    /// Take `n` units if the count stays within `ceiling`.
    fn take_within(&self, n: u64, ceiling: u64) -> bool {
        let now = self.in_use.fetch_add(n, Relaxed) + n;
        if now > ceiling {
            self.in_use.fetch_sub(n, Relaxed);
            return false;
        }
        true
    }

    /// `n` units, anywhere in the budget.
    pub fn take(self: &Arc<Self>, n: u64) -> Option<Units> {
        self.take_within(n, self.limit).then(|| Units {
            budget: self.clone(),
            n,
        })
    }

    /// One unit for a new UDP flow of a listener holding `flows` flows: a busy listener stops
    /// `headroom` below the limit.
    pub fn take_flow(self: &Arc<Self>, flows: usize) -> Option<Units> {
        let ceiling = match flows < QUIET_FLOWS {
            true => self.limit,
            false => self.limit.saturating_sub(self.headroom),
        };
        self.take_within(1, ceiling).then(|| Units {
            budget: self.clone(),
            n: 1,
        })
    }

    /// Count a refusal at `now_ms`, and log it if no line for `reason` was written lately.
    pub fn refuse(&self, reason: Reason, now_ms: u64) {
        self.refused[reason as usize].fetch_add(1, Relaxed);
        if let Some(n) = self.logs[reason as usize].note(now_ms, LOG_EVERY_MS) {
            tracing::warn!(
                reason = reason.label(),
                refused = n,
                in_use = self.in_use(),
                limit = self.limit,
                "edge limit reached: new connections or UDP flows refused"
            );
        }
    }
}

impl Budget {
    /// Log, at most once every `LOG_EVERY_MS`, that idle UDP flows are being shed.
    pub fn shed(&self, now_ms: u64) {
        if let Some(n) = self.shed_log.note(now_ms, LOG_EVERY_MS) {
            tracing::warn!(
                shed = n,
                in_use = self.in_use(),
                limit = self.limit,
                "edge descriptor budget full: idlest UDP flows shed for new ones"
            );
        }
    }
}

/// Units of the budget, given back when dropped.
#[derive(Debug)]
pub struct Units {
    budget: Arc<Budget>,
    n: u64,
}

impl Drop for Units {
    fn drop(&mut self) {
        self.budget.in_use.fetch_sub(self.n, Relaxed);
    }
}

/// The budget for a process whose descriptor limit is `fd_limit` with `in_use` open now:
/// the limit less the reserve (default: the larger of 256 and a tenth of the limit) and what
/// is open, capped by `max` when given.
pub fn budget_limit(fd_limit: u64, reserve: Option<u64>, in_use: u64, max: Option<u64>) -> u64 {
    let reserve = reserve.unwrap_or((fd_limit / 10).max(256));
    let free = fd_limit.saturating_sub(reserve).saturating_sub(in_use);
    max.map_or(free, |m| m.min(free))
}

/// Raise the soft descriptor limit to the hard one; the soft limit in force afterwards.
pub fn raise_fd_limit() -> std::io::Result<u64> {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
        return Ok(hard);
    }
    Ok(soft)
}

/// The soft descriptor limit now.
pub fn fd_limit() -> u64 {
    nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .map(|(soft, _)| soft)
        .unwrap_or(1024)
}

/// Descriptors the process has open (0 when `/proc` cannot say).
pub fn open_fds() -> u64 {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_leaves_the_reserve_and_what_is_open() {
        assert_eq!(budget_limit(1024, None, 24, None), 1024 - 256 - 24);
        assert_eq!(budget_limit(20_000, None, 100, None), 20_000 - 2_000 - 100);
        assert_eq!(budget_limit(20_000, Some(500), 100, Some(5_000)), 5_000);
        assert_eq!(budget_limit(20_000, Some(500), 100, None), 19_400);
        assert_eq!(budget_limit(100, None, 50, None), 0);
    }

    #[test]
    fn units_are_taken_within_the_limit_and_given_back() {
        let b = Arc::new(Budget::new(5));
        let a = b.take(2).unwrap();
        let c = b.take(3).unwrap();
        assert_eq!(b.in_use(), 5);
        assert!(b.take(1).is_none());
        assert_eq!(b.in_use(), 5, "a refused take leaves the count as it was");
        drop(a);
        assert_eq!(b.in_use(), 3);
        assert!(b.take(2).is_some_and(|u| u.n == 2));
        drop(c);
        assert_eq!(b.in_use(), 0);
    }

    #[test]
    fn a_busy_udp_listener_stops_below_the_headroom() {
        let b = Arc::new(Budget::new(320)); // headroom 20
        let mut held = Vec::new();
        while let Some(u) = b.take_flow(QUIET_FLOWS) {
            held.push(u);
        }
        assert_eq!(held.len(), 300);
        // A quiet listener and a TCP connection still find room.
        let quiet = b.take_flow(0).unwrap();
        let tcp = b.take(2).unwrap();
        assert_eq!(b.in_use(), 303);
        while let Some(u) = b.take(1) {
            held.push(u);
        }
        assert_eq!(b.in_use(), 320);
        assert!(b.take_flow(0).is_none());
        drop((quiet, tcp));
        assert_eq!(b.in_use(), 317);
    }

    #[test]
    fn the_log_line_is_rate_limited_and_counts_what_it_skipped() {
        let l = RateLog::default();
        assert_eq!(
            l.note(0, 5_000),
            Some(1),
            "the first event is logged at once"
        );
        assert_eq!(l.note(10, 5_000), None);
        assert_eq!(l.note(4_999, 5_000), None);
        assert_eq!(l.note(5_000, 5_000), Some(3));
        assert_eq!(l.note(5_001, 5_000), None);
        assert_eq!(l.note(20_000, 5_000), Some(2));
    }

    #[test]
    fn refusals_are_counted_per_reason() {
        let b = Budget::new(10);
        b.refuse(Reason::Source, 1);
        b.refuse(Reason::Source, 2);
        b.refuse(Reason::Budget, 3);
        assert_eq!(b.refused(Reason::Source), 2);
        assert_eq!(b.refused(Reason::Budget), 1);
        assert_eq!(b.refused(Reason::Listener), 0);
    }

    #[test]
    fn raising_the_limit_never_lowers_it() {
        let before = fd_limit();
        let after = raise_fd_limit().unwrap();
        assert!(after >= before, "{after} < {before}");
        assert!(open_fds() > 0);
    }
}
