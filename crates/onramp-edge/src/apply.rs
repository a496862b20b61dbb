//! Applying updates: the edge's main loop. A full snapshot is diffed against what is open; a
//! delta names only the listeners and accelerators that changed. Either way new listeners bind
//! and start, removed ones stop accepting and drain, changed ones get a new config swapped in
//! (reusing backends with the same identity), and only a change of protocol or ports rebinds
//! sockets. Listeners an update does not name are not touched at all. A listener that could not
//! open (its port is taken) is retried every `RETRY` until it opens or goes away.

use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use onramp_balancer::bucket::TokenBucket;
use onramp_core::snapshot::{AcceleratorSpec, Delta, ListenerSpec, Snapshot, Update};
use onramp_core::Protocol;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::backend::{identity, Backend};
use crate::health::{self, Probe};
use crate::listener::{AccelRt, ListenerRt};
use crate::metrics::Counters;
use crate::sockets::{bind_all, start};
use crate::status::EdgeStatus;
use crate::{EdgeConfig, Reporter, Shared};

/// How often listeners that could not open are tried again.
const RETRY: Duration = Duration::from_secs(5);

struct Open {
    rt: Arc<ArcSwap<ListenerRt>>,
    sockets: Vec<JoinHandle<()>>,
    checkers: HashMap<(String, String, u16), JoinHandle<()>>,
}

struct EdgeState {
    shared: Arc<Shared>,
    status: Arc<EdgeStatus>,
    listeners: HashMap<String, Open>,
    accels: HashMap<String, Arc<AccelRt>>,
    /// Listeners that could not open, with why; retried every `RETRY`.
    failed: HashMap<String, (Arc<ListenerSpec>, String)>,
    revision: u64,
}

pub async fn run(
    shared: Arc<Shared>,
    mut updates: mpsc::Receiver<Update>,
    reporter: Arc<dyn Reporter>,
    status: Arc<EdgeStatus>,
    mut stop: watch::Receiver<bool>,
) {
    let sampler = tokio::spawn(sample_every_second(status.clone()));
    let mut edge = EdgeState {
        shared,
        status: status.clone(),
        listeners: HashMap::new(),
        accels: HashMap::new(),
        failed: HashMap::new(),
        revision: 0,
    };
    let mut retry = tokio::time::interval(RETRY);
    retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            u = updates.recv() => match u {
                Some(u) => {
                    let t0 = Instant::now();
                    edge.apply(&u).await;
                    let took = t0.elapsed();
                    tracing::debug!(
                        revision = u.revision(),
                        kind = match &u { Update::Full(_) => "full", Update::Delta(_) => "delta" },
                        micros = took.as_micros() as u64,
                        "applied an update"
                    );
                    status.last_apply_micros.store(took.as_micros() as u64, Relaxed);
                    status.applied_revision.store(edge.revision, Relaxed);
                }
                None => break,
            },
            _ = retry.tick(), if !edge.failed.is_empty() => edge.retry_failed().await,
            _ = stop.changed() => break,
        }
        reporter.applied(edge.revision, edge.failures());
    }
    sampler.abort();
    for (_, open) in edge.listeners.drain() {
        close(open, &edge.shared.cfg, &edge.status, false);
    }
}

async fn sample_every_second(status: Arc<EdgeStatus>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tick.tick().await;
        // Off the data plane's thread: at 100,000s of bindings a sample takes milliseconds, which
        // would hold every connection of a one-thread edge for as long.
        let s = status.clone();
        let _ = tokio::task::spawn_blocking(move || s.sample()).await;
    }
}

/// Stop accepting; drain (then kill) the listener's backends unless `keep_backends`.
fn close(open: Open, cfg: &EdgeConfig, status: &EdgeStatus, keep_backends: bool) {
    for t in open.sockets {
        t.abort();
    }
    for (_, t) in open.checkers {
        t.abort();
    }
    if !keep_backends {
        let rt = open.rt.load_full();
        for b in &rt.backends {
            status.forget_health(&b.spec.binding_id);
        }
        drain(rt.backends.clone(), cfg);
    }
}

fn drain(backends: Vec<Arc<Backend>>, cfg: &EdgeConfig) {
    if backends.is_empty() {
        return;
    }
    for b in &backends {
        b.drain();
    }
    // Nothing open: nothing to wait for. Otherwise watch the connections and flows end (checked
    // every second), and cut what is left at the drain timeout; so a drained backend set holds a
    // task only while something of it is still open.
    let idle = |bs: &[Arc<Backend>]| {
        bs.iter()
            .all(|b| b.active.load(std::sync::atomic::Ordering::Relaxed) == 0)
    };
    if idle(&backends) {
        // A connection that picked one of them just before the drain flag sees the kill.
        backends.iter().for_each(|b| b.kill());
        return;
    }
    let deadline = tokio::time::Instant::now() + cfg.drain_timeout;
    tokio::spawn(async move {
        while tokio::time::Instant::now() < deadline && !idle(&backends) {
            tokio::time::sleep(DRAIN_POLL.min(deadline - tokio::time::Instant::now())).await;
        }
        for b in backends {
            b.kill();
        }
    });
}

/// How often a drain looks whether its connections have ended.
const DRAIN_POLL: std::time::Duration = std::time::Duration::from_secs(1);

impl EdgeState {
    async fn apply(&mut self, u: &Update) {
        match u {
            // A full snapshot may be older than what the edge had (a store restored from a
            // backup): it is the truth all the same.
            Update::Full(snap) => {
                self.apply_full(snap).await;
                self.revision = snap.revision;
            }
            Update::Delta(d) => {
                self.apply_delta(d).await;
                self.revision = self.revision.max(d.revision);
            }
        }
    }

    async fn apply_full(&mut self, snap: &Snapshot) {
        for spec in snap.accelerators.values() {
            self.upsert_accel(spec);
        }
        self.accels
            .retain(|id, _| snap.accelerators.contains_key(id));
        let gone: Vec<String> = (self.listeners.keys().chain(self.failed.keys()))
            .filter(|id| !snap.listeners.contains_key(*id))
            .cloned()
            .collect();
        for id in gone {
            self.remove_listener(&id);
        }
        for spec in snap.listeners.values() {
            self.upsert_or_fail(spec).await;
        }
    }

    async fn apply_delta(&mut self, d: &Delta) {
        for spec in &d.accelerators {
            self.upsert_accel(spec);
        }
        for id in &d.removed_listeners {
            self.remove_listener(id);
        }
        for spec in &d.listeners {
            self.upsert_or_fail(spec).await;
        }
        for id in &d.removed_accelerators {
            self.accels.remove(id);
        }
    }

    fn upsert_accel(&mut self, spec: &AcceleratorSpec) {
        match self.accels.get(&spec.id) {
            Some(a) => a.update(spec),
            None => {
                self.accels
                    .insert(spec.id.clone(), Arc::new(AccelRt::new(spec)));
            }
        }
    }

    fn remove_listener(&mut self, id: &str) {
        self.failed.remove(id);
        if let Some(open) = self.listeners.remove(id) {
            close(open, &self.shared.cfg, &self.status, false);
            self.status
                .counters
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .remove(id);
        }
        self.status.set_failure(id, None);
    }

    async fn upsert_or_fail(&mut self, spec: &Arc<ListenerSpec>) {
        match self.upsert(spec).await {
            Ok(()) => {
                if self.failed.remove(&spec.id).is_some() {
                    tracing::info!(listener = %spec.id, "listener open");
                }
                self.status.set_failure(&spec.id, None);
            }
            Err(e) => {
                if self.failed.get(&spec.id).is_none_or(|(_, was)| *was != e) {
                    tracing::warn!(listener = %spec.id, error = %e, "listener could not open");
                }
                self.status.set_failure(&spec.id, Some(e.clone()));
                self.failed.insert(spec.id.clone(), (spec.clone(), e));
            }
        }
    }

    async fn retry_failed(&mut self) {
        let specs: Vec<Arc<ListenerSpec>> = self.failed.values().map(|(s, _)| s.clone()).collect();
        for spec in specs {
            self.upsert_or_fail(&spec).await;
        }
    }

    /// The listeners that could not open, with why, by ID.
    fn failures(&self) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = self
            .failed
            .iter()
            .map(|(id, (_, e))| (id.clone(), e.clone()))
            .collect();
        v.sort();
        v
    }

    fn accel(&mut self, id: &str) -> Arc<AccelRt> {
        self.accels
            .entry(id.to_string())
            .or_insert_with(|| Arc::new(AccelRt::new(&Default::default())))
            .clone()
    }

    async fn upsert(&mut self, spec: &Arc<ListenerSpec>) -> Result<(), String> {
        let accel = self.accel(&spec.accelerator_id);
        let Some(open) = self.listeners.get_mut(&spec.id) else {
            return self.open_new(spec, accel).await;
        };
        let prev = open.rt.load_full();
        if (Arc::ptr_eq(&prev.spec, spec) || prev.spec == *spec) && Arc::ptr_eq(&prev.accel, &accel)
        {
            return Ok(());
        }
        let rt = Arc::new(ListenerRt::build(
            spec.clone(),
            Some(&prev),
            prev.counters.clone(),
            accel,
            prev.bucket.clone(),
        ));
        health::resolve_new(&rt.backends).await;
        let removed = rt.removed_from(&prev);
        for b in &removed {
            self.status.forget_health(&b.spec.binding_id);
        }
        drain(removed.clone(), &self.shared.cfg);
        if spec.needs_rebind(&prev.spec) {
            let sockets = bind_all(spec, &self.shared).await?;
            for t in open.sockets.drain(..) {
                t.abort();
            }
            open.rt.store(rt.clone());
            open.sockets = start(sockets, open.rt.clone(), &self.shared);
        } else {
            open.rt.store(rt.clone());
        }
        let health_changed = prev.spec.health != spec.health
            || prev.spec.protocol != spec.protocol
            || checks(&prev.spec).ne(checks(spec));
        sync_checkers(open, &rt, health_changed, &removed, &self.status);
        Ok(())
    }

    async fn open_new(
        &mut self,
        spec: &Arc<ListenerSpec>,
        accel: Arc<AccelRt>,
    ) -> Result<(), String> {
        let sockets = bind_all(spec, &self.shared).await?;
        if spec.client_ip == onramp_core::ClientIpMethod::Toa {
            tracing::warn!(
                listener = %spec.id,
                "client IP method TOA needs a kernel module on the edge and the origin; onramp forwards \
                 without the client address (use ClientIPMethod 1 or 2 for PROXY protocol)"
            );
        }
        let counters = Arc::new(Counters::default());
        self.status
            .counters
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(spec.id.clone(), counters.clone());
        let rt = Arc::new(ListenerRt::build(
            spec.clone(),
            None,
            counters,
            accel,
            Arc::new(TokenBucket::new(0, 0)),
        ));
        health::resolve_new(&rt.backends).await;
        let shared = Arc::new(ArcSwap::from(rt.clone()));
        let mut open = Open {
            sockets: start(sockets, shared.clone(), &self.shared),
            rt: shared,
            checkers: HashMap::new(),
        };
        sync_checkers(&mut open, &rt, false, &[], &self.status);
        self.listeners.insert(spec.id.clone(), open);
        Ok(())
    }
}

/// The checks of a listener's endpoint groups, in order.
fn checks(
    spec: &ListenerSpec,
) -> impl Iterator<Item = (&str, &onramp_core::HealthCheck, Protocol)> {
    spec.groups
        .iter()
        .map(|g| (g.id.as_str(), &g.health, g.health_protocol))
}

/// Start checkers for new backends, stop those of removed ones (all, when the check changed).
/// A backend `replaced` by one of the same identity (its probe port changed, say) gets a new
/// checker: the old one checks the old backend.
fn sync_checkers(
    open: &mut Open,
    rt: &ListenerRt,
    restart_all: bool,
    replaced: &[Arc<Backend>],
    status: &Arc<EdgeStatus>,
) {
    let keep: Vec<_> = rt.backends.iter().map(|b| identity(&b.spec)).collect();
    let stale: Vec<_> = replaced.iter().map(|b| identity(&b.spec)).collect();
    open.checkers.retain(|k, t| {
        let ok = !restart_all && keep.contains(k) && !stale.contains(k);
        if !ok {
            t.abort();
        }
        ok
    });
    if restart_all {
        // A new check reports `INITIAL` until its first result, not what the old one said.
        for b in &rt.backends {
            status.forget_health(&b.spec.binding_id);
        }
    }
    for (i, b) in rt.backends.iter().enumerate() {
        let key = identity(&b.spec);
        if open.checkers.contains_key(&key) {
            continue;
        }
        let group = rt.spec.groups.iter().find(|g| g.id == b.spec.group_id);
        let probe = Probe {
            protocol: group.map_or(rt.spec.protocol, |g| g.health_protocol),
            check: group.map_or_else(|| rt.spec.health.clone(), |g| g.health.clone()),
            fallback_port: rt.spec.ports.first().map_or(0, |r| r.from),
        };
        if !health::needs_task(b, &probe) {
            health::publish(b, status);
            continue;
        }
        let seed = (i as u64) ^ b.spec.port as u64 ^ b.spec.binding_id.len() as u64;
        let task = tokio::spawn(health::run(b.clone(), probe, status.clone(), seed));
        open.checkers.insert(key, task);
    }
}
