//! The "normal client" of the hardening scenarios: at fixed rates, a TC3-signed GAAP
//! `DescribeProxies` on a fresh connection, a TCP round trip (connect, 64 bytes, the echo,
//! close) and a UDP round trip, all from one source address, apart from any attacker's. UDP
//! round trips go either each on a fresh socket (a new flow each) or, like a real client, over
//! a few kept flows used in turn and replaced now and then (`--udp-flows`, `--udp-reuse`), so
//! one source stays within a per-source flow limit. Every attempt has a deadline; successes
//! are latency samples, failures are counted by cause with the wall-clock time they began (the
//! first 20,000 per kind; a "flow busy" failure is dated when the round trip that held the flow
//! began, its cause). Bounded by --seconds.

use std::cell::RefCell;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use onramp_bench::gaap::{signed_head, Key};
use onramp_bench::http1::Conn;
use onramp_bench::stats::percentile_sorted;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream, UdpSocket};

use crate::{loopback, ErrorCount};

#[derive(clap::Args)]
pub struct Args {
    /// The GAAP API (DescribeProxies); needs the key in the environment.
    #[arg(long)]
    api: Option<SocketAddr>,
    #[arg(long, env = "ONRAMP_BENCH_SECRET_ID")]
    secret_id: Option<String>,
    #[arg(long, env = "ONRAMP_BENCH_SECRET_KEY", hide_env_values = true)]
    secret_key: Option<String>,
    /// A TCP echo listener.
    #[arg(long)]
    tcp: Option<SocketAddr>,
    /// A UDP echo listener.
    #[arg(long)]
    udp: Option<SocketAddr>,
    /// Attempts per second of each kind.
    #[arg(long, default_value_t = 10.0)]
    api_rate: f64,
    #[arg(long, default_value_t = 10.0)]
    tcp_rate: f64,
    #[arg(long, default_value_t = 10.0)]
    udp_rate: f64,
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Source address of every connection and datagram.
    #[arg(long, default_value = "127.0.0.1")]
    source: Ipv4Addr,
    /// Deadline of one attempt, milliseconds.
    #[arg(long, default_value_t = 2000)]
    timeout_ms: u64,
    /// UDP flows kept and used in turn (0: a fresh socket, so a new flow, per round trip).
    #[arg(long, default_value_t = 0)]
    udp_flows: usize,
    /// Round trips on a kept flow before it is replaced by a new one.
    #[arg(long, default_value_t = 50)]
    udp_reuse: u32,
}

/// Most failure times kept per kind.
const MAX_FAILURES: usize = 20_000;

#[derive(Default)]
struct Kind {
    attempts: u64,
    /// Latency of each success, µs.
    samples: Vec<u32>,
    errors: ErrorCount,
    /// When each failed attempt began, Unix ms.
    failed_at: Vec<f64>,
}

impl Kind {
    fn fail(&mut self, cause: String, began: f64) {
        self.errors.add(cause);
        if self.failed_at.len() < MAX_FAILURES {
            self.failed_at.push(began);
        }
    }

    fn report(&mut self) -> Value {
        self.samples.sort_unstable();
        let p = |q: f64| percentile_sorted(&self.samples, q) / 1e3;
        json!({
            "attempts": self.attempts, "ok": self.samples.len(), "failures": self.errors.count,
            "errors": self.errors.kinds, "p50_ms": p(50.0), "p99_ms": p(99.0), "max_ms": p(100.0),
            "failed_at_unix_ms": self.failed_at,
        })
    }
}

fn unix_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

fn io_kind(e: std::io::Error) -> String {
    format!("{:?}", e.kind())
}

async fn tcp_from(src: Ipv4Addr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let s = TcpSocket::new_v4()?;
    s.bind(SocketAddr::V4(SocketAddrV4::new(src, 0)))?;
    s.connect(to).await
}

async fn api_call(src: Ipv4Addr, key: &Key) -> Result<(), String> {
    let to: SocketAddr = key.host.parse().map_err(|_| "address".to_string())?;
    let s = tcp_from(src, to)
        .await
        .map_err(|e| format!("connect {}", io_kind(e)))?;
    let mut c = Conn::from_stream(s).map_err(io_kind)?;
    let body = b"{}";
    let head = signed_head(key, "DescribeProxies", body);
    let r = c.round_trip(&head, body).await.map_err(io_kind)?;
    if r.status != 200 {
        return Err(format!("HTTP {}", r.status));
    }
    let v: Value = serde_json::from_slice(&r.body).map_err(|_| "not JSON".to_string())?;
    match v["Response"]["Error"]["Code"].as_str() {
        Some(code) => Err(code.to_string()),
        None if v["Response"]["TotalCount"].is_u64() => Ok(()),
        None => Err("no TotalCount".into()),
    }
}

async fn tcp_round_trip(src: Ipv4Addr, to: SocketAddr) -> Result<(), String> {
    let mut s = tcp_from(src, to)
        .await
        .map_err(|e| format!("connect {}", io_kind(e)))?;
    s.set_nodelay(true).map_err(io_kind)?;
    let msg: Vec<u8> = (0..64u8).collect();
    let mut buf = [0u8; 64];
    s.write_all(&msg).await.map_err(io_kind)?;
    s.read_exact(&mut buf).await.map_err(io_kind)?;
    if buf[..] != msg[..] {
        return Err("wrong echo".into());
    }
    Ok(())
}

async fn udp_socket(src: Ipv4Addr, to: SocketAddr) -> Result<UdpSocket, String> {
    let s = UdpSocket::bind(SocketAddrV4::new(src, 0))
        .await
        .map_err(io_kind)?;
    s.connect(to).await.map_err(io_kind)?;
    Ok(s)
}

/// One datagram carrying `seq`, and its echo (late echoes of earlier ones are skipped).
async fn udp_exchange(s: &UdpSocket, seq: u64) -> Result<(), String> {
    let mut msg = [0x55u8; 64];
    msg[..8].copy_from_slice(&seq.to_be_bytes());
    s.send(&msg)
        .await
        .map_err(|e| format!("send {}", io_kind(e)))?;
    let mut buf = [0u8; 2048];
    loop {
        let n = s
            .recv(&mut buf)
            .await
            .map_err(|e| format!("recv {}", io_kind(e)))?;
        if buf[..n] == msg[..] {
            return Ok(());
        }
    }
}

/// `fut`, or "Timeout" past `limit`.
async fn within<F: std::future::Future<Output = Result<(), String>>>(
    limit: Duration,
    fut: F,
) -> Result<(), String> {
    tokio::time::timeout(limit, fut)
        .await
        .unwrap_or_else(|_| Err("Timeout".into()))
}

enum Slot {
    Empty,
    Ready(Rc<UdpSocket>, u32),
    /// A round trip on this flow, begun then (Unix ms), is still waiting.
    Busy(f64),
}

/// Kept UDP flows: round trip i uses flow i mod n; a flow is replaced after `reuse` round
/// trips, so new flows keep being made at a rate a per-source limit allows.
struct Flows {
    slots: Vec<Slot>,
    reuse: u32,
}

/// A UDP round trip begun at `began` (Unix ms): on a fresh socket without kept flows, else on
/// flow `seq mod n`. A failure carries its cause and its date: "flow busy" (the flow's previous
/// round trip is still waiting) is dated when that round trip began, the cause of both.
async fn udp_round_trip(
    src: Ipv4Addr,
    to: SocketAddr,
    seq: u64,
    flows: Option<Rc<RefCell<Flows>>>,
    limit: Duration,
    began: f64,
) -> Result<(), (String, f64)> {
    let Some(flows) = flows else {
        return within(limit, async {
            udp_exchange(&udp_socket(src, to).await?, seq).await
        })
        .await
        .map_err(|e| (e, began));
    };
    let j = (seq % flows.borrow().slots.len().max(1) as u64) as usize;
    let taken = std::mem::replace(&mut flows.borrow_mut().slots[j], Slot::Busy(began));
    let (sock, uses) = match taken {
        Slot::Busy(since) => {
            flows.borrow_mut().slots[j] = Slot::Busy(since);
            return Err(("flow busy".into(), since));
        }
        Slot::Ready(s, u) => (s, u),
        Slot::Empty => match udp_socket(src, to).await {
            Ok(s) => (Rc::new(s), 0),
            Err(e) => {
                flows.borrow_mut().slots[j] = Slot::Empty;
                return Err((e, began));
            }
        },
    };
    let r = within(limit, udp_exchange(&sock, seq))
        .await
        .map_err(|e| (e, began));
    let mut f = flows.borrow_mut();
    f.slots[j] = if uses + 1 >= f.reuse {
        Slot::Empty
    } else {
        Slot::Ready(sock, uses + 1)
    };
    r
}

#[derive(Clone, Copy)]
enum Probe {
    Api,
    Tcp(SocketAddr),
    Udp(SocketAddr),
}

/// Start attempts of one kind at `rate` per second until the deadline.
async fn pace(probe: Probe, rate: f64, a: Rc<Args>, key: Option<Key>, k: Rc<RefCell<Kind>>) {
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(a.seconds);
    let limit = Duration::from_millis(a.timeout_ms);
    let flows = (a.udp_flows > 0).then(|| {
        let slots = (0..a.udp_flows).map(|_| Slot::Empty).collect();
        Rc::new(RefCell::new(Flows {
            slots,
            reuse: a.udp_reuse.max(1),
        }))
    });
    for i in 0u64.. {
        let at = start + Duration::from_secs_f64(i as f64 / rate.max(0.01));
        if at >= deadline {
            break;
        }
        tokio::time::sleep_until(at.into()).await;
        let (k, key, src, flows) = (k.clone(), key.clone(), a.source, flows.clone());
        tokio::task::spawn_local(async move {
            let began = unix_ms();
            let t0 = Instant::now();
            let dated = |r: Result<(), String>| r.map_err(|e| (e, began));
            let r = match (probe, &key) {
                (Probe::Api, Some(key)) => dated(within(limit, api_call(src, key)).await),
                (Probe::Api, None) => dated(Err("no key".into())),
                (Probe::Tcp(to), _) => dated(within(limit, tcp_round_trip(src, to)).await),
                (Probe::Udp(to), _) => udp_round_trip(src, to, i, flows, limit, began).await,
            };
            let mut k = k.borrow_mut();
            k.attempts += 1;
            match r {
                Ok(()) => {
                    let us = t0.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
                    k.samples.push(us);
                }
                Err((e, at)) => k.fail(e, at),
            }
        });
    }
}

pub async fn run(a: Args) -> anyhow::Result<()> {
    for addr in [a.api, a.tcp, a.udp].into_iter().flatten() {
        loopback(&addr)?;
    }
    if !a.source.is_loopback() {
        bail!("--source must lie in 127.0.0.0/8");
    }
    let key = match (a.api, &a.secret_id, &a.secret_key) {
        (Some(api), Some(id), Some(secret)) => Some(Key {
            host: api.to_string(),
            secret_id: id.clone(),
            secret_key: secret.clone(),
        }),
        (Some(_), _, _) => bail!("--api needs ONRAMP_BENCH_SECRET_ID and ONRAMP_BENCH_SECRET_KEY"),
        _ => None,
    };
    let mut probes = Vec::new();
    if a.api.is_some() {
        probes.push(("api", Probe::Api, a.api_rate));
    }
    if let Some(t) = a.tcp {
        probes.push(("tcp", Probe::Tcp(t), a.tcp_rate));
    }
    if let Some(u) = a.udp {
        probes.push(("udp", Probe::Udp(u), a.udp_rate));
    }
    let a = Rc::new(a);
    let start_unix_ms = unix_ms();
    let start = Instant::now();
    let local = tokio::task::LocalSet::new();
    let mut kinds = Vec::new();
    for (name, probe, rate) in probes.into_iter().filter(|p| p.2 > 0.0) {
        let k = Rc::new(RefCell::new(Kind::default()));
        local.spawn_local(pace(probe, rate, a.clone(), key.clone(), k.clone()));
        kinds.push((name, k));
    }
    local.await;
    let mut out = serde_json::Map::new();
    for (name, k) in kinds {
        out.insert(name.into(), k.borrow_mut().report());
    }
    let v = json!({"start_unix_ms": start_unix_ms, "seconds": start.elapsed().as_secs_f64(),
                   "source": a.source.to_string(), "kinds": out});
    println!("{}", serde_json::to_string(&v).context("report")?);
    Ok(())
}
