//! TCP listeners: accept, enforce limits (the edge's descriptor budget: two units per
//! connection, client and origin sockets; the listener's and accelerator's `MaxConnections`),
//! pick an origin, connect with a timeout and retry another
//! origin on failure (the client never sees an origin that a retry could hide), send the PROXY
//! header if configured, then relay.

use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use arc_swap::ArcSwap;
use onramp_balancer::proxy_protocol::{v1_header, v2_header, Transport};
use onramp_core::ClientIpMethod;
use tokio::net::{TcpListener, TcpStream};
use tracing::Instrument;

use crate::access_log::{End, Entry};
use crate::backend::now_ms;
use crate::budget::{Reason, Units};
use crate::listener::ListenerRt;
use crate::metrics::Counters;
use crate::relay::{relay, Limits};
use crate::{EdgeConfig, Shared};

/// Attempts per connection: the first pick plus retries on other origins.
const MAX_ATTEMPTS: usize = 3;

pub async fn accept_loop(
    listener: TcpListener,
    rt: Arc<ArcSwap<ListenerRt>>,
    shared: Arc<Shared>,
    _fd: Units,
) {
    loop {
        match listener.accept().await {
            Ok((sock, peer)) => {
                let current = rt.load_full();
                // Access control: a refused client is closed here, before any task, budget
                // unit or origin.
                if !current.admits(peer.ip()) {
                    Counters::add(&current.counters.acl_refused, 1);
                    drop(sock);
                    Logged::new(&current, &shared, peer).done(None, End::Refused);
                    continue;
                }
                let span =
                    tracing::debug_span!("conn", listener = %current.spec.id, client = %peer);
                tokio::spawn(handle(sock, peer, current, shared.clone()).instrument(span));
            }
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
    }
}

/// Decrements a counter when dropped.
struct Held<'a>(&'a std::sync::atomic::AtomicU64);

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}

/// Take one slot of `counter` if it stays within `max` (0 = unlimited).
fn admit(counter: &std::sync::atomic::AtomicU64, max: u64) -> Option<Held<'_>> {
    let n = counter.fetch_add(1, Relaxed) + 1;
    let held = Held(counter);
    if max != 0 && n > max {
        return None;
    }
    Some(held)
}

/// The access-log side of one connection: only a listener with an access log keeps one.
struct Logged<'a> {
    log: Option<&'a crate::access_log::AccessLog>,
    rt: &'a ListenerRt,
    peer: SocketAddr,
    started: std::time::Instant,
    bytes: [std::sync::atomic::AtomicU64; 2],
}

impl<'a> Logged<'a> {
    fn new(rt: &'a ListenerRt, shared: &'a Shared, peer: SocketAddr) -> Self {
        Self {
            log: shared.log.as_ref().filter(|l| l.covers(rt.spec.access_log)),
            rt,
            peer,
            started: std::time::Instant::now(),
            bytes: Default::default(),
        }
    }

    /// This connection's byte counter of direction `i` (0 in, 1 out), if it is logged.
    fn counter(&self, i: usize) -> Option<&std::sync::atomic::AtomicU64> {
        self.log.map(|_| &self.bytes[i])
    }

    fn done(&self, endpoint: Option<SocketAddr>, end: End) {
        if let Some(log) = self.log {
            log.send(Entry {
                listener: self.rt.spec.id.as_str().into(),
                protocol: "TCP",
                client: self.peer,
                endpoint,
                bytes_in: self.bytes[0].load(Relaxed),
                bytes_out: self.bytes[1].load(Relaxed),
                started: self.started,
                end,
            });
        }
    }
}

async fn handle(client: TcpStream, peer: SocketAddr, rt: Arc<ListenerRt>, shared: Arc<Shared>) {
    let logged = Logged::new(&rt, &shared, peer);
    let (endpoint, end) = forward(client, peer, &rt, &shared, &logged).await;
    logged.done(endpoint, end);
}

async fn forward(
    client: TcpStream,
    peer: SocketAddr,
    rt: &Arc<ListenerRt>,
    shared: &Arc<Shared>,
    logged: &Logged<'_>,
) -> (Option<SocketAddr>, End) {
    let c = &rt.counters;
    Counters::add(&c.conns_total, 1);
    // Refused connections are closed at once (dropped here), before any origin is contacted.
    let Some(fds) = shared.budget.take(2) else {
        Counters::add(&c.conns_refused, 1);
        shared.budget.refuse(Reason::Budget, now_ms());
        return (None, End::Refused);
    };
    let (Some(_l), Some(_a)) = (
        admit(&c.conns_open, rt.spec.max_connections),
        admit(&rt.accel.conns, rt.accel.max_conns.load(Relaxed)),
    ) else {
        Counters::add(&c.conns_refused, 1);
        shared.budget.refuse(Reason::Listener, now_ms());
        return (None, End::Refused);
    };
    let cfg = &shared.cfg;
    if rt.spec.traffic_dial == 0 {
        Counters::add(&c.conns_refused, 1);
        return (None, End::Refused);
    }
    let local_port = client.local_addr().map(|a| a.port()).unwrap_or(0);
    let Some((origin, idx)) = Box::pin(connect(rt, peer, local_port, cfg)).await else {
        Counters::add(&c.conns_refused, 1);
        return (None, End::Refused);
    };
    let endpoint = origin.peer_addr().ok();
    let backend = rt.backends[idx].clone();
    backend.active.fetch_add(1, Relaxed);
    let _active = Held32(&backend.active);
    let _ = origin.set_nodelay(true);
    // The header is built first, so a listener without one has no write future at all.
    let sent = match proxy_header(rt, peer, &client) {
        Ok(Some(header)) => Box::pin(crate::relay::write_all(&origin, &header)).await,
        Ok(None) => Ok(()),
        Err(e) => Err(e),
    };
    if let Err(e) = sent {
        tracing::debug!(error = %e, "PROXY header write failed");
        return (endpoint, End::Error);
    }
    let up = Limits {
        buckets: [&rt.bucket, &rt.accel.bucket],
        counter: &c.bytes_in,
        conn: logged.counter(0),
    };
    let down = Limits {
        buckets: [&rt.bucket, &rt.accel.bucket],
        counter: &c.bytes_out,
        conn: logged.counter(1),
    };
    let end = relay(
        &client,
        &origin,
        up,
        down,
        cfg.tcp_idle_timeout,
        backend.killed(),
        &shared.budget,
    )
    .await;
    drop(fds);
    (endpoint, end)
}

struct Held32<'a>(&'a std::sync::atomic::AtomicU32);

impl Drop for Held32<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}

/// Connect to a picked origin, retrying other origins on failure. A binding to `ANY_PORT` is
/// reached on `local_port`, the port the client connected to.
async fn connect(
    rt: &ListenerRt,
    peer: SocketAddr,
    local_port: u16,
    cfg: &EdgeConfig,
) -> Option<(TcpStream, usize)> {
    let mut tried = [0usize; MAX_ATTEMPTS];
    for attempt in 0..MAX_ATTEMPTS.min(rt.backends.len().max(1)) {
        let idx = rt.pick(peer.ip(), &tried[..attempt])?;
        tried[attempt] = idx;
        if attempt > 0 {
            Counters::add(&rt.counters.retries, 1);
        }
        let backend = &rt.backends[idx];
        let Some(mut addr) = backend.pick_addr() else {
            continue;
        };
        if backend.spec.port == onramp_core::ANY_PORT {
            addr.set_port(local_port);
        }
        match tokio::time::timeout(cfg.connect_timeout, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => return Some((s, idx)),
            Ok(Err(e)) => tracing::debug!(%addr, error = %e, "origin connect failed"),
            Err(_) => tracing::debug!(%addr, "origin connect timed out"),
        }
        Counters::add(&rt.counters.connect_failures, 1);
        backend.passive_failure();
    }
    None
}

/// The PROXY header the listener sends its origin first, if any.
fn proxy_header(
    rt: &ListenerRt,
    peer: SocketAddr,
    client: &TcpStream,
) -> std::io::Result<Option<Vec<u8>>> {
    Ok(match rt.spec.client_ip {
        ClientIpMethod::ProxyV1 => Some(v1_header(peer, client.local_addr()?)),
        ClientIpMethod::ProxyV2 => Some(v2_header(peer, client.local_addr()?, Transport::Stream)),
        ClientIpMethod::None | ClientIpMethod::Toa => None,
    })
}
