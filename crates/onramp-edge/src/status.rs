//! What the edge publishes for the control plane and the admin endpoint: health per binding,
//! listener open failures, and counters. Shared memory only; written by the edge, read by others.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use std::sync::atomic::{AtomicI64, Ordering};

use onramp_core::health::{BindingHealth, EdgeInfo, HealthSource};

use crate::budget::Budget;
use crate::metrics::Counters;
use crate::seqlog::SeqLog;

/// What changed in the bindings' health since a follower's sequence number.
#[derive(Debug, Default, PartialEq)]
pub struct HealthChanges {
    /// Everything, in `changed` (a first report, or one further behind than the log).
    pub full: bool,
    pub changed: Vec<(String, BindingHealth)>,
    /// Bindings the edge no longer has.
    pub gone: Vec<String>,
    /// The number to ask from next time.
    pub next: u64,
}

/// Whether the health a control node is told changed (the RTT changes every check: it travels
/// with the other fields but does not make a change by itself).
fn told_differs(a: &BindingHealth, b: &BindingHealth) -> bool {
    a.healthy != b.healthy || a.down != b.down || a.resolve_failed != b.resolve_failed
}

pub struct EdgeStatus {
    health: RwLock<HashMap<String, BindingHealth>>,
    /// Bindings whose told health changed lately, numbered for reports. Taken after `health`
    /// (never the other way round).
    health_log: std::sync::Mutex<SeqLog<String>>,
    failures: RwLock<HashMap<String, String>>,
    /// Counters per listener, registered when the listener opens.
    pub(crate) counters: RwLock<HashMap<String, Arc<Counters>>>,
    /// Duration of the last snapshot application, microseconds.
    pub(crate) last_apply_micros: std::sync::atomic::AtomicU64,
    pub(crate) applied_revision: std::sync::atomic::AtomicU64,
    pub(crate) stats: crate::stats::Stats,
    /// The data plane's descriptor budget.
    pub(crate) budget: Arc<Budget>,
    /// Access-log lines dropped because the writer was behind.
    pub(crate) access_log_dropped: Arc<std::sync::atomic::AtomicU64>,
    /// The edge's runtime, for its task count.
    pub(crate) runtime: tokio::runtime::Handle,
    /// Name and region (`EdgeConfig`).
    pub(crate) identity: (String, String),
    /// Unix milliseconds of the last sampling tick: the edge's runtime is alive.
    last_seen_ms: AtomicI64,
    /// Unix seconds when this status began: its series start there.
    started: i64,
}

/// An edge whose runtime has not ticked for this long is shown as lost.
const LOST_AFTER_MS: i64 = 10_000;

impl EdgeStatus {
    pub(crate) fn new(budget: Arc<Budget>, runtime: tokio::runtime::Handle) -> Self {
        Self {
            health: Default::default(),
            health_log: Default::default(),
            failures: Default::default(),
            counters: Default::default(),
            last_apply_micros: Default::default(),
            applied_revision: Default::default(),
            stats: Default::default(),
            budget,
            access_log_dropped: Default::default(),
            runtime,
            identity: Default::default(),
            last_seen_ms: Default::default(),
            started: crate::stats::unix_now(),
        }
    }

    /// Unix seconds when this edge began keeping its series.
    pub fn started(&self) -> i64 {
        self.started
    }

    /// A check's result. A change of what control nodes are told goes into the health log,
    /// and a change of `healthy` (or a first result) into the binding's health series, at
    /// once; the key is copied only for a new binding (this runs after every check of every
    /// binding).
    pub(crate) fn set_health(&self, binding_id: &str, h: BindingHealth) {
        let mut m = self.health.write().unwrap_or_else(|p| p.into_inner());
        let healthy = h.healthy;
        let (told, flipped) = match m.get_mut(binding_id) {
            Some(old) => {
                let r = (told_differs(old, &h), old.healthy != healthy);
                *old = h;
                r
            }
            None => {
                m.insert(binding_id.to_string(), h);
                (true, true)
            }
        };
        if told {
            self.log_health(binding_id);
        }
        if flipped {
            let now = crate::stats::unix_now();
            self.stats.health_changed(binding_id, Some(healthy), now);
        }
    }

    pub(crate) fn forget_health(&self, binding_id: &str) {
        let mut m = self.health.write().unwrap_or_else(|p| p.into_inner());
        if m.remove(binding_id).is_some() {
            self.log_health(binding_id);
            let now = crate::stats::unix_now();
            self.stats.health_changed(binding_id, None, now);
        }
    }

    /// Callers hold the `health` write lock.
    fn log_health(&self, binding_id: &str) {
        self.health_log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(binding_id.to_string());
    }

    /// What changed in the health control nodes are told since sequence number `since`
    /// (`None`, or older than the log: everything). Costs what changed, not the number of
    /// bindings: at 100,000s of bindings per edge, a pass over all of them for each report to
    /// each control node was the edge's largest steady cost.
    pub fn health_since(&self, since: Option<u64>) -> HealthChanges {
        let now = self.health.read().unwrap_or_else(|p| p.into_inner());
        let log = self.health_log.lock().unwrap_or_else(|p| p.into_inner());
        let Some(fresh) = since.and_then(|s| log.since(s)) else {
            return HealthChanges {
                full: true,
                changed: now.iter().map(|(k, h)| (k.clone(), h.clone())).collect(),
                gone: Vec::new(),
                next: log.next(),
            };
        };
        let mut seen = std::collections::HashSet::new();
        let mut out = HealthChanges {
            next: log.next(),
            ..Default::default()
        };
        for id in fresh {
            if !seen.insert(id.as_str()) {
                continue;
            }
            match now.get(id) {
                Some(h) => out.changed.push((id.clone(), h.clone())),
                None => out.gone.push(id.clone()),
            }
        }
        out
    }

    pub(crate) fn set_failure(&self, listener_id: &str, error: Option<String>) {
        let mut f = self.failures.write().unwrap_or_else(|p| p.into_inner());
        match error {
            Some(e) => f.insert(listener_id.to_string(), e),
            None => f.remove(listener_id),
        };
    }

    /// Why a listener could not open, if it could not.
    pub fn failure(&self, listener_id: &str) -> Option<String> {
        self.failures
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(listener_id)
            .cloned()
    }

    /// Counters of a listener (connections, bytes, packets).
    pub fn counters(&self, listener_id: &str) -> Option<Arc<Counters>> {
        self.counters
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(listener_id)
            .cloned()
    }

    /// Fold the counters into the per-minute series (called every second by the edge). Health
    /// is not read: its series are written as it changes.
    pub(crate) fn sample(&self) {
        let counters = self
            .counters
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        self.stats.sample(&counters, crate::stats::unix_now());
        self.last_seen_ms
            .store(crate::stats::unix_now_ms(), Ordering::Release);
    }

    /// Whether any listener is open (each registers its counters when it opens).
    pub(crate) fn has_listeners(&self) -> bool {
        !self
            .counters
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty()
    }

    /// This edge as a status view shows it.
    pub fn info(&self) -> EdgeInfo {
        let last_seen_ms = self.last_seen_ms.load(Ordering::Acquire);
        EdgeInfo {
            name: self.identity.0.clone(),
            region: self.identity.1.clone(),
            applied_revision: self.applied_revision(),
            last_seen_ms,
            live: crate::stats::unix_now_ms() - last_seen_ms < LOST_AFTER_MS,
            listeners_open: self
                .counters
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .len(),
            listeners_failed: self
                .failures
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .len(),
        }
    }

    /// Every binding's health, sorted by binding ID.
    pub fn health_snapshot(&self) -> Vec<(String, BindingHealth)> {
        let mut v: Vec<(String, BindingHealth)> = self
            .health
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(k, h)| (k.clone(), h.clone()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// Per-minute traffic of every listener from minute `from` on (minutes without traffic
    /// left out), for the control plane.
    pub fn series_since(&self, from: i64) -> Vec<(String, Vec<onramp_core::health::MinuteSample>)> {
        self.stats.listeners_since(from)
    }

    /// The health-series points written from sequence number `since` on (`None`: all of
    /// them), for the control plane, and the number to ask from next time.
    pub fn binding_points_since(
        &self,
        since: Option<u64>,
    ) -> (onramp_core::health::BindingPoints, u64) {
        self.stats.binding_points(since)
    }

    pub fn applied_revision(&self) -> u64 {
        self.applied_revision
            .load(std::sync::atomic::Ordering::Acquire)
    }
}

impl HealthSource for EdgeStatus {
    fn binding(&self, binding_id: &str) -> Option<BindingHealth> {
        self.health
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(binding_id)
            .cloned()
    }
    fn listener_failure(&self, listener_id: &str) -> Option<String> {
        self.failure(listener_id)
    }
    fn binding_by_edge(&self, binding_id: &str) -> Vec<(String, BindingHealth)> {
        self.binding(binding_id)
            .map(|h| vec![(self.identity.0.clone(), h)])
            .unwrap_or_default()
    }
    fn edges(&self) -> Vec<EdgeInfo> {
        vec![self.info()]
    }
    fn listener_series(
        &self,
        listener_id: &str,
        from: i64,
        to: i64,
    ) -> Vec<onramp_core::health::MinuteSample> {
        let c = self.counters(listener_id);
        self.stats.listener(listener_id, c.as_deref(), from, to)
    }
    fn binding_series(&self, binding_id: &str, from: i64, to: i64) -> Vec<(i64, f64)> {
        self.stats
            .binding(binding_id, from, to, crate::stats::unix_now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up(healthy: bool, rtt: u64) -> BindingHealth {
        BindingHealth {
            healthy,
            rtt_micros: Some(rtt),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn health_changes_are_followed_by_sequence_number_not_by_a_pass() {
        let s = EdgeStatus::new(
            Arc::new(Budget::new(100)),
            tokio::runtime::Handle::current(),
        );
        s.set_health("a", up(true, 10));
        s.set_health("b", up(true, 10));
        let first = s.health_since(None);
        assert!(first.full);
        assert_eq!(first.changed.len(), 2);
        // The RTT alone is not a change.
        s.set_health("a", up(true, 20));
        let quiet = s.health_since(Some(first.next));
        assert_eq!((quiet.changed.len(), quiet.gone.len()), (0, 0));
        assert!(!quiet.full);
        s.set_health("a", up(false, 30));
        s.set_health("a", up(true, 40));
        s.forget_health("b");
        let c = s.health_since(Some(quiet.next));
        assert_eq!(
            c.changed,
            vec![("a".to_string(), up(true, 40))],
            "once, as it is now"
        );
        assert_eq!(c.gone, vec!["b".to_string()]);
        assert_eq!(
            s.health_since(Some(c.next)),
            HealthChanges {
                next: c.next,
                ..Default::default()
            }
        );
    }
}
