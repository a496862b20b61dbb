//! The edges a control node knows: who they are (name, region, addresses), what each applied,
//! when it was last heard from, and what it reports (listeners that could not open, health per
//! binding, per-minute traffic). In memory: every edge reports to every control node it knows,
//! so each node holds the whole picture first-hand.
//!
//! Rules, written once here:
//! - An edge is live while it reported within `lost_after`; a silent one is lost: it stops
//!   holding statuses back and is shown as lost, then is forgotten after `FORGET_AFTER` (an
//!   edge taken away for good). The in-process edge of `onramp serve` is always live.
//! - `applied_in(region)`: the lowest revision the live edges of `region` applied; with no live
//!   edge there, nothing holds statuses back (the committed revision).
//! - Health of a binding (`HealthSource`): known once any live edge has a result; abnormal when
//!   any live edge sees it down; the down addresses are the union over those edges; the RTT is
//!   the lowest measured. A listener failed when any live edge could not open it.
//! - Statistics: the per-minute traffic of a listener is the sum over every edge that reported
//!   it (a lost edge's past minutes still count); a binding's health in a minute is the lowest
//!   any edge saw.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use onramp_core::health::EdgeInfo as EdgeView;
use onramp_core::health::{minute_of, BindingHealth, BindingPoints, HealthSeries};
use onramp_core::health::{HealthSource, MinuteSample};

/// How long an edge may stay silent before it is lost, by default.
pub const LOST_AFTER: Duration = Duration::from_secs(10);

/// A lost edge is forgotten (and its region, when it was the last) after this long.
pub const FORGET_AFTER: Duration = Duration::from_secs(3600);

/// How much per-minute history a control node keeps of each edge.
const KEEP_SECS: i64 = 24 * 3600;

/// What an edge reports (every report carries everything but health and series, which come as
/// changes since the last report this node acknowledged).
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub applied: u64,
    /// Listeners it has open.
    pub listeners_open: usize,
    /// Listeners the edge could not open, with why (all of them).
    pub failures: Vec<(String, String)>,
    /// Health: `full` replaces what this node knows; otherwise `set` and `forget` patch it.
    pub health_full: bool,
    pub health: Vec<(String, BindingHealth)>,
    pub health_forget: Vec<String>,
    /// Per-minute traffic of listeners: each sample replaces the one of its minute.
    pub series: Vec<(String, Vec<MinuteSample>)>,
    /// Health series of bindings as change points (`HealthSeries`), each upserted.
    pub binding_changes: BindingPoints,
    /// When the edge process began its series (unix seconds): a new value is a restart.
    pub started: i64,
}

/// One edge as listed (admin endpoint, `onramp status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeInfo {
    pub name: String,
    pub region: String,
    pub addresses: Vec<String>,
    pub applied: u64,
    pub live: bool,
    /// Milliseconds since it was last heard from.
    pub silent_ms: u64,
    /// Listeners it could not open.
    pub failures: usize,
    /// The in-process edge of `onramp serve`.
    pub local: bool,
}

#[derive(Default)]
struct Reported {
    health: HashMap<String, BindingHealth>,
    series: HashMap<String, BTreeMap<i64, MinuteSample>>,
    binding_series: HashMap<String, HealthSeries>,
    /// The edge's `started` in its last report.
    started: i64,
    /// Unix seconds of its last report: its health series are known up to that minute.
    reported_at: i64,
    /// The minute of the last sweep of aged-out health series.
    swept: i64,
}

impl Reported {
    /// Fold in the health-series points of a report made at `now`. When the edge restarted
    /// (a new `started`), what it had told ends the minute after its last report (or where
    /// the new process began, if sooner): the minutes it was away are not known.
    fn binding_changes(&mut self, started: i64, points: BindingPoints, now: i64) {
        if started != self.started && self.reported_at > 0 {
            let end = (minute_of(self.reported_at) + 60).min(minute_of(started));
            for s in self.binding_series.values_mut() {
                s.cut(end);
            }
        }
        self.started = started;
        self.reported_at = now;
        for (id, pts) in points {
            let s = self.binding_series.entry(id).or_default();
            for (m, v) in pts {
                s.upsert(m, v);
            }
        }
        if self.swept != minute_of(now) {
            self.swept = minute_of(now);
            self.binding_series.retain(|_, s| !s.prune(now - KEEP_SECS));
        }
    }

    /// A binding's minutes in `[from, to)` as this edge told them: within the last day and
    /// no later than its last report.
    fn binding_minutes(&self, id: &str, from: i64, to: i64, now: i64) -> Vec<(i64, f64)> {
        let to = to.min(minute_of(self.reported_at) + 60);
        self.binding_series
            .get(id)
            .map(|s| s.minutes(from.max(now - KEEP_SECS), to))
            .unwrap_or_default()
    }
}

struct Entry {
    region: String,
    addresses: Vec<String>,
    applied: u64,
    seen: Instant,
    listeners_open: usize,
    failures: BTreeMap<String, String>,
    /// The in-process edge: its status is read where it lives.
    local: Option<Arc<dyn HealthSource>>,
    reported: Reported,
}

impl Entry {
    fn live(&self, now: Instant, lost_after: Duration) -> bool {
        self.local.is_some() || now.duration_since(self.seen) < lost_after
    }
}

/// The edges of this control node's view.
pub struct Edges {
    lost_after: RwLock<Duration>,
    inner: RwLock<BTreeMap<String, Entry>>,
}

impl Default for Edges {
    fn default() -> Self {
        Self {
            lost_after: RwLock::new(LOST_AFTER),
            inner: RwLock::default(),
        }
    }
}

fn lock<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|p| p.into_inner())
}

fn lock_mut<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|p| p.into_inner())
}

impl Edges {
    pub fn set_lost_after(&self, d: Duration) {
        *lock_mut(&self.lost_after) = d;
    }

    pub fn lost_after(&self) -> Duration {
        *lock(&self.lost_after)
    }

    /// An edge (re)registers: it is live from now, at revision `applied`. A new region or new
    /// addresses replace the old ones; its reported health is kept (it is the same edge).
    pub fn register(&self, name: &str, region: &str, addresses: Vec<String>, applied: u64) {
        let mut m = lock_mut(&self.inner);
        let e = m.entry(name.to_string()).or_insert_with(|| Entry {
            region: region.to_string(),
            addresses: Vec::new(),
            applied,
            seen: Instant::now(),
            listeners_open: 0,
            failures: BTreeMap::new(),
            local: None,
            reported: Reported::default(),
        });
        e.region = region.to_string();
        e.addresses = addresses;
        e.applied = applied;
        e.seen = Instant::now();
    }

    /// The in-process edge of `onramp serve`, at revision `applied`: always live; health is
    /// read from `status`.
    pub fn attach_local(
        &self,
        name: &str,
        region: &str,
        addresses: Vec<String>,
        applied: u64,
        status: Arc<dyn HealthSource>,
    ) {
        self.register(name, region, addresses, applied);
        if let Some(e) = lock_mut(&self.inner).get_mut(name) {
            e.local = Some(status);
        }
    }

    /// The region of edge `name`, if it is registered with this node.
    pub fn region_of(&self, name: &str) -> Option<String> {
        lock(&self.inner).get(name).map(|e| e.region.clone())
    }

    /// A report from edge `name`; `false` when the edge is not registered here (it must
    /// register first).
    pub fn report(&self, name: &str, r: Report) -> bool {
        let mut m = lock_mut(&self.inner);
        m.retain(|_, e| e.local.is_some() || e.seen.elapsed() < FORGET_AFTER);
        let Some(e) = m.get_mut(name) else {
            return false;
        };
        e.seen = Instant::now();
        e.applied = r.applied;
        e.listeners_open = r.listeners_open;
        e.failures = r.failures.into_iter().collect();
        let rep = &mut e.reported;
        if r.health_full {
            rep.health.clear();
        }
        for id in r.health_forget {
            rep.health.remove(&id);
        }
        rep.health.extend(r.health);
        let now = crate::audit::now_millis() / 1000;
        let oldest = now - KEEP_SECS;
        for (id, samples) in r.series {
            let s = rep.series.entry(id).or_default();
            s.extend(samples.into_iter().map(|m| (m.minute, m)));
            while s.first_key_value().is_some_and(|(m, _)| *m < oldest) {
                s.pop_first();
            }
        }
        rep.binding_changes(r.started, r.binding_changes, now);
        true
    }

    /// An edge of the in-process kind applied `revision` (and these listeners failed).
    pub fn applied_local(&self, name: &str, revision: u64, failures: Vec<(String, String)>) {
        if let Some(e) = lock_mut(&self.inner).get_mut(name) {
            e.applied = revision;
            e.seen = Instant::now();
            e.failures = failures.into_iter().collect();
        }
    }

    /// Forget edge `name` (removed by the operator).
    pub fn remove(&self, name: &str) -> bool {
        lock_mut(&self.inner).remove(name).is_some()
    }

    fn fold_live<T>(&self, region: Option<&str>, init: T, f: impl Fn(T, &Entry) -> T) -> T {
        let now = Instant::now();
        let lost_after = self.lost_after();
        lock(&self.inner)
            .values()
            .filter(|e| region.is_none_or(|r| e.region == r) && e.live(now, lost_after))
            .fold(init, f)
    }

    /// The lowest revision applied by the live edges of `region` (of every region: `None`);
    /// `committed` when there is none.
    pub fn applied_in(&self, region: Option<&str>, committed: u64) -> u64 {
        self.fold_live(region, None, |low: Option<u64>, e| {
            Some(low.map_or(e.applied, |l| l.min(e.applied)))
        })
        .unwrap_or(committed)
    }

    /// Every edge, by name.
    pub fn list(&self) -> Vec<EdgeInfo> {
        let now = Instant::now();
        let lost_after = self.lost_after();
        lock(&self.inner)
            .iter()
            .map(|(name, e)| EdgeInfo {
                name: name.clone(),
                region: e.region.clone(),
                addresses: e.addresses.clone(),
                applied: e.applied,
                live: e.live(now, lost_after),
                silent_ms: now.duration_since(e.seen).as_millis() as u64,
                failures: e.failures.len(),
                local: e.local.is_some(),
            })
            .collect()
    }

    /// The regions edges registered in, with the addresses of their live edges (of all its
    /// edges when none is live: that is still where its listeners are).
    pub fn regions(&self) -> BTreeMap<String, Vec<String>> {
        let now = Instant::now();
        let lost_after = self.lost_after();
        let mut out: BTreeMap<String, (Vec<String>, Vec<String>)> = BTreeMap::new();
        for e in lock(&self.inner).values() {
            let (live, all) = out.entry(e.region.clone()).or_default();
            all.extend(e.addresses.iter().cloned());
            if e.live(now, lost_after) {
                live.extend(e.addresses.iter().cloned());
            }
        }
        out.into_iter()
            .map(|(r, (live, all))| (r, if live.is_empty() { all } else { live }))
            .collect()
    }
}

fn merge_health(acc: Option<BindingHealth>, h: BindingHealth) -> Option<BindingHealth> {
    let Some(mut a) = acc else {
        return Some(h);
    };
    a.healthy &= h.healthy;
    a.resolve_failed |= h.resolve_failed;
    a.rtt_micros = match (a.rtt_micros, h.rtt_micros) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    };
    for d in h.down {
        if !a.down.contains(&d) {
            a.down.push(d);
        }
    }
    a.down.sort();
    Some(a)
}

impl HealthSource for Edges {
    fn edges(&self) -> Vec<EdgeView> {
        let now_ms = crate::audit::now_millis();
        let list = self.list();
        let m = lock(&self.inner);
        list.into_iter()
            .map(|i| {
                let local = m
                    .get(&i.name)
                    .and_then(|e| e.local.as_ref())
                    .map(|s| s.edges());
                let open = match local.as_ref().and_then(|v| v.first()) {
                    Some(l) => l.listeners_open,
                    None => m.get(&i.name).map_or(0, |e| e.listeners_open),
                };
                EdgeView {
                    last_seen_ms: now_ms - i.silent_ms as i64,
                    name: i.name,
                    region: i.region,
                    applied_revision: i.applied,
                    live: i.live,
                    listeners_open: open,
                    listeners_failed: i.failures,
                }
            })
            .collect()
    }

    fn binding_by_edge(&self, binding_id: &str) -> Vec<(String, BindingHealth)> {
        let now = Instant::now();
        let lost_after = self.lost_after();
        lock(&self.inner)
            .iter()
            .filter(|(_, e)| e.live(now, lost_after))
            .filter_map(|(name, e)| {
                let h = match &e.local {
                    Some(src) => src.binding(binding_id),
                    None => e.reported.health.get(binding_id).cloned(),
                }?;
                Some((name.clone(), h))
            })
            .collect()
    }

    fn binding(&self, binding_id: &str) -> Option<BindingHealth> {
        self.fold_live(None, None, |acc, e| {
            let h = match &e.local {
                Some(src) => src.binding(binding_id),
                None => e.reported.health.get(binding_id).cloned(),
            };
            match h {
                Some(h) => merge_health(acc, h),
                None => acc,
            }
        })
    }

    fn listener_failure(&self, listener_id: &str) -> Option<String> {
        let m = lock(&self.inner);
        let now = Instant::now();
        let lost_after = self.lost_after();
        m.iter()
            .filter(|(_, e)| e.live(now, lost_after))
            .find_map(|(name, e)| {
                let why = match &e.local {
                    Some(src) => src.listener_failure(listener_id),
                    None => e.failures.get(listener_id).cloned(),
                }?;
                Some(match e.local {
                    Some(_) => why,
                    None => format!("edge {name}: {why}"),
                })
            })
    }

    fn listener_series(&self, listener_id: &str, from: i64, to: i64) -> Vec<MinuteSample> {
        let per_edge: Vec<Vec<MinuteSample>> = lock(&self.inner)
            .values()
            .map(|e| match &e.local {
                Some(src) => src.listener_series(listener_id, from, to),
                None => e
                    .reported
                    .series
                    .get(listener_id)
                    .map(|s| s.range(from..to).map(|(_, v)| *v).collect())
                    .unwrap_or_default(),
            })
            .collect();
        onramp_core::health::merge_minutes(per_edge)
    }

    fn binding_series(&self, binding_id: &str, from: i64, to: i64) -> Vec<(i64, f64)> {
        let mut low: BTreeMap<i64, f64> = BTreeMap::new();
        let now = crate::audit::now_millis() / 1000;
        for e in lock(&self.inner).values() {
            let points: Vec<(i64, f64)> = match &e.local {
                Some(src) => src.binding_series(binding_id, from, to),
                None => e.reported.binding_minutes(binding_id, from, to, now),
            };
            for (m, v) in points {
                let t = low.entry(m).or_insert(v);
                *t = t.min(v);
            }
        }
        low.into_iter().collect()
    }
}

#[cfg(test)]
mod tests;
