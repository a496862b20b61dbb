//! What the edge publishes for the control plane and the admin endpoint: health per binding,
//! listener open failures, and counters. Shared memory only; written by the edge, read by others.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use std::sync::atomic::{AtomicI64, Ordering};

use onramp_core::health::{BindingHealth, EdgeInfo, HealthSource};

use crate::budget::Budget;
use crate::metrics::Counters;

pub struct EdgeStatus {
    health: RwLock<HashMap<String, BindingHealth>>,
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

    /// A check's result. A change of `healthy` (or a first result) is written into the
    /// binding's health series at once; the key is copied only for a new binding (this runs
    /// after every check of every binding).
    pub(crate) fn set_health(&self, binding_id: &str, h: BindingHealth) {
        let mut m = self.health.write().unwrap_or_else(|p| p.into_inner());
        let healthy = h.healthy;
        let changed = match m.get_mut(binding_id) {
            Some(old) => {
                let changed = old.healthy != healthy;
                *old = h;
                changed
            }
            None => {
                m.insert(binding_id.to_string(), h);
                true
            }
        };
        if changed {
            let now = crate::stats::unix_now();
            self.stats.health_changed(binding_id, Some(healthy), now);
        }
    }

    pub(crate) fn forget_health(&self, binding_id: &str) {
        let mut m = self.health.write().unwrap_or_else(|p| p.into_inner());
        if m.remove(binding_id).is_some() {
            let now = crate::stats::unix_now();
            self.stats.health_changed(binding_id, None, now);
        }
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

    /// The bindings whose health differs from `acked` (by `same`; every binding when `full`),
    /// and the bindings of `acked` this edge no longer has. Read in place: only what changed is
    /// copied, so a report of a quiet edge with 100,000s of bindings costs one pass, no
    /// allocation per binding.
    pub fn health_changes(
        &self,
        acked: &HashMap<String, BindingHealth>,
        full: bool,
        same: impl Fn(&BindingHealth, &BindingHealth) -> bool,
    ) -> (Vec<(String, BindingHealth)>, Vec<String>) {
        let now = self.health.read().unwrap_or_else(|p| p.into_inner());
        let changed = now
            .iter()
            .filter(|(k, h)| full || acked.get(*k).is_none_or(|a| !same(a, h)))
            .map(|(k, h)| (k.clone(), h.clone()))
            .collect();
        let gone = match full {
            true => Vec::new(),
            false => acked
                .keys()
                .filter(|k| !now.contains_key(*k))
                .cloned()
                .collect(),
        };
        (changed, gone)
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
