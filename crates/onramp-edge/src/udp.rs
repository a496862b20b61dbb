//! UDP listeners: one flow per client address with its own connected upstream socket; replies go
//! back from the listener's socket. Flows expire when idle (the listener's persistence time, or
//! the edge default). A new flow needs room under three limits: the listener's (`MaxConnections`,
//! `--max-udp-flows`) and its source address's (`--udp-flows-per-source`), past which it is
//! refused, and the edge's descriptor budget, past which the listener sheds its idlest flow
//! for it (or refuses it when it holds none).

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use onramp_balancer::proxy_protocol::{v2_header, Transport};
use onramp_core::ClientIpMethod;
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

use crate::access_log::{AccessLog, End, Entry};
use crate::backend::{now_ms, Backend};
use crate::budget::{Reason, Units};
use crate::dgram;
use crate::flows::FlowMap;
use crate::listener::ListenerRt;
use crate::metrics::Counters;
use crate::{EdgeConfig, Shared};

struct Flow {
    upstream: Arc<UdpSocket>,
    backend: Arc<Backend>,
    last: Arc<AtomicU64>,
    task: JoinHandle<()>,
    /// The upstream socket's descriptor in the budget.
    _fd: Units,
    /// The flow's access-log record, only for a listener with an access log.
    log: Option<Arc<FlowLog>>,
}

/// What the access log says of a flow: written once, when the flow and its reply task are
/// gone, with the end its remover set (`closed` when the listener went).
struct FlowLog {
    sink: AccessLog,
    listener: Arc<str>,
    client: SocketAddr,
    endpoint: SocketAddr,
    started: std::time::Instant,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    end: std::sync::Mutex<End>,
}

impl Drop for FlowLog {
    fn drop(&mut self) {
        let end = *self.end.lock().unwrap_or_else(|p| p.into_inner());
        self.sink.send(Entry {
            listener: self.listener.clone(),
            protocol: "UDP",
            client: self.client,
            endpoint: Some(self.endpoint),
            bytes_in: self.bytes_in.load(Relaxed),
            bytes_out: self.bytes_out.load(Relaxed),
            started: self.started,
            end,
        });
    }
}

/// Record how flow `f` ends, for its access-log line.
fn ends(f: &Flow, end: End) {
    if let Some(l) = &f.log {
        *l.end.lock().unwrap_or_else(|p| p.into_inner()) = end;
    }
}

type Flows = FlowMap<Flow>;

/// Set in a flow's `last` by its reply task when the origin answers with ICMP port unreachable:
/// the next datagram of that client drops the flow and picks an origin again.
const BROKEN: u64 = 1 << 63;

/// A flow's last activity for idleness, a broken flow counting as idle since ever.
fn last_seen(f: &Flow) -> u64 {
    let v = f.last.load(Relaxed);
    if v & BROKEN != 0 {
        0
    } else {
        v
    }
}

impl Drop for Flow {
    fn drop(&mut self) {
        self.task.abort();
        self.backend.active.fetch_sub(1, Relaxed);
    }
}

/// A datagram that could not be sent at once: sent by its task once the socket can take it.
type Later = Vec<(Arc<UdpSocket>, Vec<u8>)>;

pub async fn serve(
    sock: Arc<UdpSocket>,
    rt: Arc<ArcSwap<ListenerRt>>,
    edge: Arc<Shared>,
    _fd: Units,
) {
    let mut flows = Flows::default();
    let mut later: Later = Vec::new();
    let mut sweep = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            r = sock.readable() => {
                let r = r.and_then(|()| dgram::with(|b| {
                    let k = b.recv(&sock, dgram::MAX)?;
                    for i in 0..k {
                        if let (Some(client), data) = b.get(i) {
                            datagram(&sock, &rt, &edge, &mut flows, client, data, &mut later);
                        }
                    }
                    Ok(())
                }));
                match r {
                    Err(e) if e.kind() != io::ErrorKind::WouldBlock => {
                        tracing::debug!(error = %e, "udp receive failed");
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    _ => {}
                }
                for (up, data) in later.drain(..) {
                    let _ = up.send(&data).await;
                }
            },
            _ = sweep.tick() => expire(&rt, &edge.cfg, &mut flows),
        }
    }
}

fn idle_ms(rt: &ListenerRt, cfg: &EdgeConfig) -> u64 {
    match rt.spec.persist_secs {
        0 => cfg.udp_idle_timeout.as_millis() as u64,
        s => u64::from(s) * 1000,
    }
}

fn expire(rt: &ArcSwap<ListenerRt>, cfg: &EdgeConfig, flows: &mut Flows) {
    let cur = rt.load();
    let idle = idle_ms(&cur, cfg);
    let now = now_ms();
    flows.retain(|f| {
        let killed = *f.backend.killed().borrow();
        let alive = now.saturating_sub(last_seen(f)) < idle && !killed;
        if !alive {
            ends(f, if killed { End::Killed } else { End::Idle });
        }
        alive
    });
    cur.counters.flows.store(flows.len() as u64, Relaxed);
}

/// Datagrams are policed, not queued: past this much debt in a bucket they are dropped.
const MAX_DEBT_NS: u64 = 20_000_000;

/// Whether the listener's and accelerator's bandwidth allows `n` more bytes now.
pub fn within_bandwidth(rt: &ListenerRt, n: usize) -> bool {
    let now = now_ms().saturating_mul(1_000_000);
    rt.bucket.try_take(n as u64, now, MAX_DEBT_NS)
        && rt.accel.bucket.try_take(n as u64, now, MAX_DEBT_NS)
}

/// Send now, or queue the datagram for its task when the socket's buffer is full.
fn send_now(up: &Arc<UdpSocket>, data: &[u8], later: &mut Later) -> io::Result<()> {
    match up.try_send(data) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
            later.push((up.clone(), data.to_vec()));
            Ok(())
        }
        Err(e) => Err(e),
    }
}

fn datagram(
    sock: &Arc<UdpSocket>,
    rt: &ArcSwap<ListenerRt>,
    edge: &Shared,
    flows: &mut Flows,
    client: SocketAddr,
    data: &[u8],
    later: &mut Later,
) {
    let cur = rt.load();
    if !within_bandwidth(&cur, data.len()) {
        return;
    }
    Counters::add(&cur.counters.packets_in, 1);
    Counters::add(&cur.counters.bytes_in, data.len() as u64);
    let now = now_ms();
    let broken = match flows.get(&client) {
        Some(f) if f.last.load(Relaxed) & BROKEN == 0 => {
            f.last.store(now, Relaxed);
            if let Some(l) = &f.log {
                l.bytes_in.fetch_add(data.len() as u64, Relaxed);
            }
            if send_now(&f.upstream, data, later).is_err() {
                ends(f, End::Error);
                flows.remove(&client);
            }
            return;
        }
        Some(_) => true,
        None => false,
    };
    if broken {
        // Its origin refused the flow (passively marked down): this datagram opens a new flow
        // on another origin, so a client keeping its source port fails over like a new one.
        if let Some(f) = flows.get(&client) {
            ends(f, End::Error);
        }
        flows.remove(&client);
    }
    // A source the listener's access control refuses gets no flow: its datagrams are dropped.
    if !cur.admits(client.ip()) {
        Counters::add(&cur.counters.acl_refused, 1);
        return;
    }
    if cur.spec.traffic_dial == 0 {
        Counters::add(&cur.counters.conns_refused, 1);
        return;
    }
    let Some(fd) = admit(&cur, edge, flows, client, now) else {
        Counters::add(&cur.counters.conns_refused, 1);
        return;
    };
    let cur = arc_swap::Guard::into_inner(cur);
    let Some(flow) = open_flow(sock, &cur, client, now, fd, edge.log.as_ref()) else {
        Counters::add(&cur.counters.conns_refused, 1);
        return;
    };
    let sent = match cur.spec.client_ip {
        ClientIpMethod::ProxyV1 | ClientIpMethod::ProxyV2 => {
            let local = sock.local_addr().unwrap_or(client);
            let mut d = v2_header(client, local, Transport::Datagram);
            d.extend_from_slice(data);
            send_now(&flow.upstream, &d, later)
        }
        ClientIpMethod::None | ClientIpMethod::Toa => send_now(&flow.upstream, data, later),
    };
    if let Some(l) = &flow.log {
        l.bytes_in.fetch_add(data.len() as u64, Relaxed);
    }
    if sent.is_err() {
        ends(&flow, End::Error);
    } else {
        flows.insert(client, flow, now);
        cur.counters.flows.store(flows.len() as u64, Relaxed);
        Counters::add(&cur.counters.flows_total, 1);
    }
}

/// Room for a new flow of `client`: refused past the listener's or the source's limit; past
/// the budget, the listener's idlest flow is shed for it (refused when the listener has none).
fn admit(
    rt: &ListenerRt,
    edge: &Shared,
    flows: &mut Flows,
    client: SocketAddr,
    now: u64,
) -> Option<Units> {
    let n = flows.len();
    let max = rt.spec.max_connections;
    if n >= edge.cfg.max_udp_flows || (max != 0 && n as u64 >= max) {
        edge.budget.refuse(Reason::Listener, now);
        return None;
    }
    let per_source = edge.cfg.udp_flows_per_source;
    if per_source != 0 && flows.flows_of(client.ip()) as usize >= per_source {
        edge.budget.refuse(Reason::Source, now);
        return None;
    }
    if let Some(fd) = edge.budget.take_flow(n) {
        return Some(fd);
    }
    if let Some(idlest) = flows.idlest(last_seen) {
        // Its descriptor goes back to the budget, for this flow.
        if let Some(f) = flows.get(&idlest) {
            ends(f, End::Shed);
        }
        flows.remove(&idlest);
        Counters::add(&rt.counters.flows_shed, 1);
        edge.budget.shed(now);
        if let Some(fd) = edge.budget.take(1) {
            return Some(fd);
        }
    }
    edge.budget.refuse(Reason::Budget, now);
    None
}

fn open_flow(
    sock: &Arc<UdpSocket>,
    rt: &Arc<ListenerRt>,
    client: SocketAddr,
    now: u64,
    fd: Units,
    sink: Option<&AccessLog>,
) -> Option<Flow> {
    let idx = rt.pick(client.ip(), &[])?;
    let backend = rt.backends[idx].clone();
    let mut addr = backend.pick_addr()?;
    if backend.spec.port == onramp_core::ANY_PORT {
        addr.set_port(sock.local_addr().ok()?.port());
    }
    let bind: SocketAddr = if addr.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    // A UDP connect only sets the default destination: nothing here waits on the network.
    let std_sock = std::net::UdpSocket::bind(bind).ok()?;
    if let Err(e) = std_sock.connect(addr) {
        tracing::debug!(%addr, error = %e, "udp upstream connect failed");
        backend.passive_failure();
        return None;
    }
    std_sock.set_nonblocking(true).ok()?;
    let upstream = Arc::new(UdpSocket::from_std(std_sock).ok()?);
    backend.active.fetch_add(1, Relaxed);
    let last = Arc::new(AtomicU64::new(now));
    let log = sink.filter(|l| l.covers(rt.spec.access_log)).map(|sink| {
        Arc::new(FlowLog {
            sink: sink.clone(),
            listener: rt.spec.id.as_str().into(),
            client,
            endpoint: addr,
            started: std::time::Instant::now(),
            bytes_in: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            end: std::sync::Mutex::new(End::Closed),
        })
    });
    let task = tokio::spawn(replies(
        upstream.clone(),
        sock.clone(),
        client,
        last.clone(),
        (rt.clone(), backend.clone(), log.clone()),
    ));
    Some(Flow {
        upstream,
        backend,
        last,
        task,
        _fd: fd,
        log,
    })
}

/// Replies taken per receive call on a flow's socket.
const REPLY_BATCH: usize = 16;

async fn replies(
    up: Arc<UdpSocket>,
    sock: Arc<UdpSocket>,
    client: SocketAddr,
    last: Arc<AtomicU64>,
    (rt, backend, log): (Arc<ListenerRt>, Arc<Backend>, Option<Arc<FlowLog>>),
) {
    let mut later: Vec<Vec<u8>> = Vec::new();
    loop {
        // `poll_recv_ready` keeps the waker in the socket's own slot (only this task receives
        // on it) instead of a waiter in every idle flow's future.
        let r = match std::future::poll_fn(|cx| up.poll_recv_ready(cx)).await {
            Ok(()) => dgram::with(|b| {
                let k = b.recv(&up, REPLY_BATCH)?;
                // Datagrams past the bandwidth limit are dropped (policing).
                let mut keep = [0usize; REPLY_BATCH];
                let mut n = 0;
                for i in 0..k {
                    let len = b.get(i).1.len();
                    if within_bandwidth(&rt, len) {
                        Counters::add(&rt.counters.packets_out, 1);
                        Counters::add(&rt.counters.bytes_out, len as u64);
                        if let Some(l) = &log {
                            l.bytes_out.fetch_add(len as u64, Relaxed);
                        }
                        keep[n] = i;
                        n += 1;
                    }
                }
                let kept = &keep[..n];
                let sent = b.send_to(&sock, client, kept)?;
                later.extend(kept[sent..].iter().map(|&i| b.get(i).1.to_vec()));
                if k > 0 {
                    last.store(now_ms(), Relaxed);
                }
                Ok(())
            }),
            Err(e) => Err(e),
        };
        match r {
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                // ICMP port unreachable: nothing listens at the origin. Out of rotation for the
                // passive period (an active check brings it back sooner), and the flow is broken
                // so its client's next datagram goes to another origin.
                backend.passive_failure();
                last.fetch_or(BROKEN, Relaxed);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(e) if e.kind() != io::ErrorKind::WouldBlock => {
                tracing::debug!(error = %e, "udp upstream receive error");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            _ => {}
        }
        if !later.is_empty() {
            // Boxed: an idle flow's future does not carry a send that is not happening.
            Box::pin(send_later(&sock, client, &mut later)).await;
        }
    }
}

async fn send_later(sock: &UdpSocket, client: SocketAddr, later: &mut Vec<Vec<u8>>) {
    for data in later.drain(..) {
        let _ = sock.send_to(&data, client).await;
    }
}

#[cfg(test)]
mod size_tests {
    use super::*;

    /// What one flow holds in user space, short of the kernel's socket buffers: its table entry
    /// (client address + `Flow`) with hash-map slack, its place in the shedding queue, its
    /// upstream socket (`Arc<UdpSocket>` and
    /// tokio's registration), the shared last-seen stamp, the per-source count, and its reply
    /// task (the future plus tokio's task header, trailer and scheduler link, ~`TASK_OVERHEAD`).
    #[tokio::test]
    async fn a_flow_stays_small() {
        const TASK_OVERHEAD: usize = 256;
        const REGISTRATION: usize = 128;
        let up = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let sock = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let spec = std::sync::Arc::new(onramp_core::snapshot::ListenerSpec {
            id: "listener-1".into(),
            accelerator_id: "link-1".into(),
            protocol: Default::default(),
            ports: Vec::new(),
            scheduler: Default::default(),
            affinity: false,
            persist_secs: 0,
            failover: false,
            client_ip: Default::default(),
            health: Default::default(),
            bandwidth_mbps: 0,
            max_connections: 0,
            traffic_dial: 100,
            groups: Vec::new(),
            backends: Vec::new(),
            access: None,
            access_log: false,
        });
        let rt = Arc::new(ListenerRt::build(
            spec,
            None,
            Default::default(),
            Arc::new(crate::listener::AccelRt::new(&Default::default())),
            Arc::new(onramp_balancer::bucket::TokenBucket::new(0, 0)),
        ));
        let client = sock.local_addr().unwrap();
        let backend = Arc::new(Backend::new(onramp_core::snapshot::BackendSpec {
            binding_id: "b".into(),
            origin_id: "rs-1".into(),
            address: "127.0.0.2".into(),
            kind: onramp_core::OriginKind::Ip,
            port: 9,
            weight: 1,
            role: Default::default(),
            banned: false,
            probe_port: None,
            group_id: String::new(),
        }));
        let future = replies(up, sock, client, Default::default(), (rt, backend, None));
        let task = std::mem::size_of_val(&future) + TASK_OVERHEAD;
        let entry = (std::mem::size_of::<(SocketAddr, Flow)>() + 1) * 8 / 7 * 2; // load ≥ 7/8 / 2
        let socket = 16 + std::mem::size_of::<UdpSocket>() + REGISTRATION;
        let last = 16 + std::mem::size_of::<AtomicU64>();
        let source = (std::mem::size_of::<(std::net::IpAddr, u32)>() + 1) * 2;
        let queue = std::mem::size_of::<(SocketAddr, u64)>() * 2;
        let total = task + entry + socket + last + source + queue;
        eprintln!("UDP flow: {total} bytes (task {task}, entry {entry}, socket {socket})");
        assert!(
            total <= 1_152,
            "a UDP flow grew to {total} bytes (task {task}, entry {entry}, socket {socket})"
        );
    }
}
