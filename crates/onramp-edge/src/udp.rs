//! UDP listeners: one flow per client address with its own connected upstream socket; replies go
//! back from the listener's socket. Flows expire when idle (the listener's persistence time, or
//! the edge default) and the table is bounded: past the limit new flows are shed.

use std::collections::HashMap;
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

use crate::backend::{now_ms, Backend};
use crate::dgram;
use crate::listener::ListenerRt;
use crate::metrics::Counters;
use crate::EdgeConfig;

struct Flow {
    upstream: Arc<UdpSocket>,
    backend: Arc<Backend>,
    last: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl Drop for Flow {
    fn drop(&mut self) {
        self.task.abort();
        self.backend.active.fetch_sub(1, Relaxed);
    }
}

/// A datagram that could not be sent at once: sent by its task once the socket can take it.
type Later = Vec<(Arc<UdpSocket>, Vec<u8>)>;

pub async fn serve(sock: Arc<UdpSocket>, rt: Arc<ArcSwap<ListenerRt>>, cfg: Arc<EdgeConfig>) {
    let mut flows: HashMap<SocketAddr, Flow> = HashMap::new();
    let mut later: Later = Vec::new();
    let mut sweep = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            r = sock.readable() => {
                let r = r.and_then(|()| dgram::with(|b| {
                    let k = b.recv(&sock, dgram::MAX)?;
                    for i in 0..k {
                        if let (Some(client), data) = b.get(i) {
                            datagram(&sock, &rt, &cfg, &mut flows, client, data, &mut later);
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
            _ = sweep.tick() => expire(&rt, &cfg, &mut flows),
        }
    }
}

fn idle_ms(rt: &ListenerRt, cfg: &EdgeConfig) -> u64 {
    match rt.spec.persist_secs {
        0 => cfg.udp_idle_timeout.as_millis() as u64,
        s => u64::from(s) * 1000,
    }
}

fn expire(rt: &ArcSwap<ListenerRt>, cfg: &EdgeConfig, flows: &mut HashMap<SocketAddr, Flow>) {
    let cur = rt.load();
    let idle = idle_ms(&cur, cfg);
    let now = now_ms();
    flows.retain(|_, f| {
        let alive =
            now.saturating_sub(f.last.load(Relaxed)) < idle && !*f.backend.killed().borrow();
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
    cfg: &EdgeConfig,
    flows: &mut HashMap<SocketAddr, Flow>,
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
    if let Some(f) = flows.get(&client) {
        f.last.store(now, Relaxed);
        if send_now(&f.upstream, data, later).is_err() {
            flows.remove(&client);
        }
        return;
    }
    let listener_full =
        cur.spec.max_connections != 0 && flows.len() as u64 >= cur.spec.max_connections;
    if flows.len() >= cfg.max_udp_flows || listener_full || cur.spec.traffic_dial == 0 {
        Counters::add(&cur.counters.flows_shed, 1);
        return;
    }
    let cur = arc_swap::Guard::into_inner(cur);
    let Some(flow) = open_flow(sock, &cur, client, now) else {
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
    if sent.is_ok() {
        flows.insert(client, flow);
        cur.counters.flows.store(flows.len() as u64, Relaxed);
    }
}

fn open_flow(
    sock: &Arc<UdpSocket>,
    rt: &Arc<ListenerRt>,
    client: SocketAddr,
    now: u64,
) -> Option<Flow> {
    let idx = rt.pick(client.ip(), &[])?;
    let backend = rt.backends[idx].clone();
    let addr = backend.pick_addr()?;
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
    let task = tokio::spawn(replies(
        upstream.clone(),
        sock.clone(),
        client,
        last.clone(),
        rt.clone(),
    ));
    Some(Flow {
        upstream,
        backend,
        last,
        task,
    })
}

/// Replies taken per receive call on a flow's socket.
const REPLY_BATCH: usize = 16;

async fn replies(
    up: Arc<UdpSocket>,
    sock: Arc<UdpSocket>,
    client: SocketAddr,
    last: Arc<AtomicU64>,
    rt: Arc<ListenerRt>,
) {
    let mut later: Vec<Vec<u8>> = Vec::new();
    loop {
        let r = match up.readable().await {
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
            Err(e) if e.kind() != io::ErrorKind::WouldBlock => {
                // ICMP port unreachable from the origin: keep the flow, the health check decides.
                tracing::debug!(error = %e, "udp upstream receive error");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            _ => {}
        }
        for data in later.drain(..) {
            let _ = sock.send_to(&data, client).await;
        }
    }
}
