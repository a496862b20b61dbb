//! Active health checks of one backend: TCP connect, TCP send/expect, UDP port probe
//! (send/expect) and ping, with the payload bytes the operations decoded when the check was
//! written (`HealthCheck::send_bytes`/`expect_bytes`); domain origins are re-resolved and each address has its own state.
//! Results flip the backend's health through the sans-IO rise/fall machine and are published to
//! `EdgeStatus`; the RTT of successful checks feeds `lrtt`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use onramp_balancer::health::{jittered_interval_ms, HealthMachine};
use onramp_core::{HealthCheck, OriginKind, Protocol, UdpCheck};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use crate::backend::Backend;
use crate::status::EdgeStatus;

/// Re-resolve domain origins this often.
const RESOLVE_EVERY: Duration = Duration::from_secs(30);

/// What a check does, decided once per listener config.
#[derive(Clone)]
pub struct Probe {
    pub protocol: Protocol,
    pub check: HealthCheck,
    /// The port probed when neither the binding nor the check names one and the binding takes
    /// the client's port (`ANY_PORT`): the listener's first port.
    pub fallback_port: u16,
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

async fn tcp_probe(addr: SocketAddr, p: &Probe) -> bool {
    let Ok(mut s) = TcpStream::connect(addr).await else {
        return false;
    };
    if !p.check.custom {
        return true;
    }
    let (send, expect) = (&p.check.send_bytes, &p.check.expect_bytes);
    if !send.is_empty() && s.write_all(send).await.is_err() {
        return false;
    }
    if expect.is_empty() {
        return true;
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while got.len() < 64 * 1024 {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
        if contains(&got, expect) {
            return true;
        }
    }
    false
}

async fn udp_probe(addr: SocketAddr, p: &Probe) -> bool {
    if p.check.udp_check == UdpCheck::Ping {
        return crate::health::ping(addr).await;
    }
    let bind: SocketAddr = if addr.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let Ok(s) = UdpSocket::bind(bind).await else {
        return false;
    };
    if s.connect(addr).await.is_err() {
        return false;
    }
    if s.send(&p.check.send_bytes).await.is_err() {
        return false;
    }
    let expect = &p.check.expect_bytes;
    let mut buf = vec![0u8; 65_536];
    loop {
        match s.recv(&mut buf).await {
            Ok(n) if contains(&buf[..n], expect) => return true,
            Ok(_) => continue,
            Err(_) => return false,
        }
    }
}

/// ICMP echo is not available to an unprivileged user-space relay everywhere; reachability of
/// the address is approximated by a UDP send that must not draw an ICMP error. Documented in
/// ARCHITECTURE.md.
pub async fn ping(addr: SocketAddr) -> bool {
    let bind: SocketAddr = if addr.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let Ok(s) = UdpSocket::bind(bind).await else {
        return false;
    };
    if s.connect(addr).await.is_err() || s.send(&[]).await.is_err() {
        return false;
    }
    let mut buf = [0u8; 16];
    // Silence (or a reply) means reachable; an ICMP error surfaces as a receive error.
    !matches!(
        tokio::time::timeout(Duration::from_millis(200), s.recv(&mut buf)).await,
        Ok(Err(_))
    )
}

async fn probe_once(addr: SocketAddr, p: &Probe) -> Option<Duration> {
    let start = Instant::now();
    let timeout = Duration::from_secs(u64::from(p.check.timeout_secs.max(1)));
    let ok = match p.protocol {
        Protocol::Tcp => tokio::time::timeout(timeout, tcp_probe(addr, p))
            .await
            .unwrap_or(false),
        Protocol::Udp => tokio::time::timeout(timeout, udp_probe(addr, p))
            .await
            .unwrap_or(false),
    };
    ok.then(|| start.elapsed())
}

async fn resolve(b: &Backend) -> Option<Vec<SocketAddr>> {
    let host = b.spec.address.as_str();
    let found: Vec<SocketAddr> = tokio::net::lookup_host((host, b.spec.port))
        .await
        .ok()?
        .collect();
    (!found.is_empty()).then_some(found)
}

/// Resolve domain backends that have no address yet, so a listener reported as applied can
/// forward at once (bounded: 2 s per name).
pub async fn resolve_new(backends: &[Arc<Backend>]) {
    for b in backends
        .iter()
        .filter(|b| b.spec.kind == OriginKind::Domain && b.addrs().is_empty())
    {
        match tokio::time::timeout(Duration::from_secs(2), resolve(b)).await {
            Ok(Some(addrs)) => b.set_addrs(addrs),
            _ => b.resolve_failed.store(true, Relaxed),
        }
    }
}

fn check_addr(b: &Backend, p: &Probe, a: SocketAddr) -> SocketAddr {
    let port = match b.spec.probe_port.or(p.check.port).unwrap_or(a.port()) {
        onramp_core::ANY_PORT => p.fallback_port,
        port => port,
    };
    SocketAddr::new(a.ip(), port)
}

/// Whether `b` needs a task of its own: a check to run, or a domain to re-resolve. An IP
/// origin without a check has nothing to do after its health is published once (`publish`):
/// at 100,000s of bindings per edge, a task waking every interval for each of them was a
/// steady load on the data plane's thread, and memory.
pub fn needs_task(b: &Backend, p: &Probe) -> bool {
    p.check.enabled || b.spec.kind == OriginKind::Domain
}

/// The health of a backend that has no task: up while it has an address.
pub fn publish(b: &Backend, status: &EdgeStatus) {
    b.healthy.store(!b.addrs().is_empty(), Relaxed);
    status.set_health(&b.spec.binding_id, b.report());
}

/// Run checks for `b` until aborted.
pub async fn run(b: Arc<Backend>, p: Probe, status: Arc<EdgeStatus>, seed: u64) {
    let mut machines: HashMap<SocketAddr, HealthMachine> = HashMap::new();
    let mut resolved_at: Option<Instant> = None;
    loop {
        if b.spec.kind == OriginKind::Domain
            && resolved_at.is_none_or(|t| t.elapsed() >= RESOLVE_EVERY)
        {
            match resolve(&b).await {
                Some(addrs) => {
                    b.set_addrs(addrs);
                    b.resolve_failed.store(false, Relaxed);
                }
                None => b.resolve_failed.store(true, Relaxed),
            }
            resolved_at = Some(Instant::now());
        }
        if p.check.enabled {
            check_all(&b, &p, &mut machines).await;
            status.set_health(&b.spec.binding_id, b.report());
        } else {
            publish(&b, &status);
        }
        let interval = u64::from(p.check.interval_secs.max(1)) * 1000;
        tokio::time::sleep(Duration::from_millis(jittered_interval_ms(interval, seed))).await;
    }
}

async fn check_all(b: &Backend, p: &Probe, machines: &mut HashMap<SocketAddr, HealthMachine>) {
    let addrs = b.addrs();
    machines.retain(|a, _| addrs.iter().any(|(x, _)| x == a));
    let mut best: Option<Duration> = None;
    for (addr, _) in &addrs {
        let result = probe_once(check_addr(b, p, *addr), p).await;
        let m = machines.entry(*addr).or_insert_with(|| {
            HealthMachine::new(
                p.check.healthy_threshold.max(1),
                p.check.unhealthy_threshold.max(1),
                true,
            )
        });
        m.record(result.is_some());
        b.set_addr_up(*addr, m.healthy());
        if let Some(rtt) = result {
            best = Some(best.map_or(rtt, |x| x.min(rtt)));
        }
    }
    let healthy = machines.values().any(|m| m.healthy());
    if best.is_some() {
        b.clear_passive();
    }
    b.healthy.store(healthy, Relaxed);
    if let Some(rtt) = best {
        b.rtt_us.store((rtt.as_micros() as u64).max(1), Relaxed);
    }
}

#[cfg(test)]
#[path = "health_props.rs"]
mod props;
