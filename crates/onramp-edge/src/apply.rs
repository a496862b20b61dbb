//! Applying snapshots: the edge's main loop. Each new snapshot is diffed against what is open:
//! new listeners bind and start, removed ones stop accepting and drain, changed ones get a new
//! config swapped in (reusing backends with the same identity), and only a change of protocol or
//! ports rebinds sockets. Untouched listeners are not touched at all.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwap;
use onramp_balancer::bucket::TokenBucket;
use onramp_core::snapshot::{ListenerSpec, Snapshot};
use onramp_core::Protocol;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::backend::{identity, Backend};
use crate::budget::Units;
use crate::health::{self, Probe};
use crate::listener::{AccelRt, ListenerRt};
use crate::metrics::Counters;
use crate::status::EdgeStatus;
use crate::{EdgeConfig, Reporter, Shared};

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
}

pub async fn run(
    shared: Arc<Shared>,
    mut snaps: watch::Receiver<Arc<Snapshot>>,
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
    };
    loop {
        let snap = snaps.borrow_and_update().clone();
        let t0 = Instant::now();
        let failures = edge.apply(&snap).await;
        status
            .last_apply_micros
            .store(t0.elapsed().as_micros() as u64, Relaxed);
        status.applied_revision.store(snap.revision, Relaxed);
        reporter.applied(snap.revision, failures);
        tokio::select! {
            r = snaps.changed() => if r.is_err() { break },
            _ = stop.changed() => break,
        }
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
        status.sample();
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
    async fn apply(&mut self, snap: &Snapshot) -> Vec<(String, String)> {
        for (id, spec) in &snap.accelerators {
            match self.accels.get(id) {
                Some(a) => a.update(spec),
                None => {
                    self.accels.insert(id.clone(), Arc::new(AccelRt::new(spec)));
                }
            }
        }
        self.accels
            .retain(|id, _| snap.accelerators.contains_key(id));
        let gone: Vec<String> = self
            .listeners
            .keys()
            .filter(|id| !snap.listeners.contains_key(*id))
            .cloned()
            .collect();
        for id in gone {
            if let Some(open) = self.listeners.remove(&id) {
                close(open, &self.shared.cfg, &self.status, false);
                self.status.set_failure(&id, None);
                self.status
                    .counters
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&id);
            }
        }
        let mut failures = Vec::new();
        for (id, spec) in &snap.listeners {
            if let Err(e) = self.upsert(spec).await {
                tracing::warn!(listener = %id, error = %e, "listener could not open");
                self.status.set_failure(id, Some(e.clone()));
                failures.push((id.clone(), e));
            } else {
                self.status.set_failure(id, None);
            }
        }
        failures
    }

    fn accel(&mut self, id: &str) -> Arc<AccelRt> {
        self.accels
            .entry(id.to_string())
            .or_insert_with(|| Arc::new(AccelRt::new(&Default::default())))
            .clone()
    }

    async fn upsert(&mut self, spec: &ListenerSpec) -> Result<(), String> {
        let accel = self.accel(&spec.accelerator_id);
        let Some(open) = self.listeners.get_mut(&spec.id) else {
            return self.open_new(spec, accel).await;
        };
        let prev = open.rt.load_full();
        if prev.spec == *spec && Arc::ptr_eq(&prev.accel, &accel) {
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

    async fn open_new(&mut self, spec: &ListenerSpec, accel: Arc<AccelRt>) -> Result<(), String> {
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
        let seed = (i as u64) ^ b.spec.port as u64 ^ b.spec.binding_id.len() as u64;
        let task = tokio::spawn(health::run(b.clone(), probe, status.clone(), seed));
        open.checkers.insert(key, task);
    }
}

/// A bound listener socket with its descriptor in the budget.
enum Bound {
    Tcp(tokio::net::TcpListener, Units),
    Udp(tokio::net::UdpSocket, Units),
}

fn tcp_socket(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let s = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    s.set_reuse_address(true)?;
    // Accepted sockets inherit TCP_NODELAY on Linux: one setsockopt here instead of one per connection.
    s.set_nodelay(true)?;
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    s.listen(4096)?;
    tokio::net::TcpListener::from_std(s.into())
}

fn udp_socket(addr: SocketAddr) -> std::io::Result<tokio::net::UdpSocket> {
    let s = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )?;
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    tokio::net::UdpSocket::from_std(s.into())
}

/// Bind every port of every range; all or nothing. Each socket takes one unit of the budget.
async fn bind_all(spec: &ListenerSpec, shared: &Shared) -> Result<Vec<Bound>, String> {
    let mut out = Vec::new();
    for range in &spec.ports {
        for port in range.iter() {
            let addr = SocketAddr::new(shared.cfg.bind_address, port);
            let Some(fd) = shared.budget.take(1) else {
                return Err(format!(
                    "cannot bind {} {addr}: the edge's descriptor budget ({}) is in use",
                    spec.protocol.upper(),
                    shared.budget.limit()
                ));
            };
            let r = match spec.protocol {
                Protocol::Tcp => tcp_socket(addr).map(|l| Bound::Tcp(l, fd)),
                Protocol::Udp => udp_socket(addr).map(|u| Bound::Udp(u, fd)),
            };
            out.push(r.map_err(|e| format!("cannot bind {} {addr}: {e}", spec.protocol.upper()))?);
        }
    }
    Ok(out)
}

fn start(
    sockets: Vec<Bound>,
    rt: Arc<ArcSwap<ListenerRt>>,
    shared: &Arc<Shared>,
) -> Vec<JoinHandle<()>> {
    sockets
        .into_iter()
        .map(|s| match s {
            Bound::Tcp(l, fd) => {
                tokio::spawn(crate::tcp::accept_loop(l, rt.clone(), shared.clone(), fd))
            }
            Bound::Udp(u, fd) => tokio::spawn(crate::udp::serve(
                Arc::new(u),
                rt.clone(),
                shared.clone(),
                fd,
            )),
        })
        .collect()
}
