//! Convergence across edges: a `BindListenerRealServers` on one control node, timed until the
//! first answer of the newly bound origin through each edge that serves the listener. One
//! prober per (edge, listener) opens a connection, sends a byte and reads the origin's tag,
//! back to back; the time of a trial on an edge is from the request being sent to the first
//! answer tagged with the new origin there.

use std::cell::Cell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use onramp_bench::gaap::Client;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// An origin that answers every byte with its tag.
async fn origin(l: TcpListener, tag: u8) {
    loop {
        let Ok((mut s, _)) = l.accept().await else {
            continue;
        };
        tokio::task::spawn_local(async move {
            let mut b = [0u8; 64];
            while let Ok(n) = s.read(&mut b).await {
                if n == 0 || s.write_all(&[tag]).await.is_err() {
                    return;
                }
            }
        });
    }
}

/// What one prober saw: the tag it waits for, and when it first got it.
#[derive(Default)]
struct Watch {
    want: Cell<u8>,
    first: Cell<Option<Instant>>,
}

async fn probe(target: SocketAddr, w: Rc<Watch>, stop: Rc<Cell<bool>>) {
    let deadline = Instant::now() + Duration::from_secs(1800);
    while !stop.get() && Instant::now() < deadline {
        let once = async {
            let mut s = TcpStream::connect(target).await?;
            s.write_all(b"x").await?;
            let mut b = [0u8; 1];
            s.read_exact(&mut b).await?;
            std::io::Result::Ok(b[0])
        };
        match tokio::time::timeout(Duration::from_secs(2), once).await {
            Ok(Ok(tag)) if tag == w.want.get() && w.first.get().is_none() => {
                w.first.set(Some(Instant::now()))
            }
            Ok(Ok(_)) => tokio::task::yield_now().await,
            _ => tokio::time::sleep(Duration::from_millis(1)).await,
        }
    }
}

/// A listener to switch between two origins, and the edges (ip:port) that serve it.
pub struct Target {
    pub listener: String,
    pub edges: Vec<SocketAddr>,
    /// (origin id, ip, port, tag) of origins C and D.
    pub origins: [(String, String, u16, u8); 2],
}

/// Bind `o` alone, at `weight`. Each trial gives its own weight (1–100): two identical writes
/// signed in the same second are one request (docs/api.md, "Replay"), and a trial that binds
/// back the origin of a bind less than a second before would otherwise change nothing.
async fn bind(
    api: &mut Client,
    listener: &str,
    o: &(String, String, u16, u8),
    weight: usize,
) -> anyhow::Result<()> {
    api.call(
        "BindListenerRealServers",
        json!({"ListenerId": listener, "RealServerBindSet": [{"RealServerId": o.0,
               "RealServerIP": o.1, "RealServerPort": o.2, "RealServerWeight": weight}]}),
    )
    .await?;
    Ok(())
}

/// What the trials measured, in milliseconds: per (trial, edge) the bind until the new
/// origin's first answer there; per trial the bind's own answer (the write acknowledged).
pub struct Timings {
    pub first_byte: Vec<f64>,
    pub acked: Vec<f64>,
    /// Per trial in order: unix milliseconds at its start, then its first-byte times by edge
    /// (to line a slow trial up with the nodes' logs).
    pub by_trial: Vec<(u128, Vec<f64>)>,
}

/// `trials` switches (alternating targets and origins), timed per edge.
pub async fn trials(
    api: &mut Client,
    targets: &[Target],
    trials: usize,
) -> anyhow::Result<Timings> {
    for o in &targets[0].origins {
        let l = TcpListener::bind((o.1.as_str(), o.2)).await?;
        tokio::task::spawn_local(origin(l, o.3));
    }
    let stop = Rc::new(Cell::new(false));
    let mut watches = Vec::new();
    for t in targets {
        bind(api, &t.listener, &t.origins[0], 100).await?;
        let ws: Vec<Rc<Watch>> = t.edges.iter().map(|_| Rc::new(Watch::default())).collect();
        for (e, w) in t.edges.iter().zip(&ws) {
            w.want.set(t.origins[0].3);
            tokio::task::spawn_local(probe(*e, w.clone(), stop.clone()));
        }
        watches.push(ws);
    }
    // Every edge serves the first origin before the first trial.
    settle(&watches, Duration::from_secs(60)).await?;
    let mut out = Vec::new();
    let mut acked = Vec::new();
    let mut by_trial = Vec::new();
    for i in 0..trials {
        let (t, ws) = (&targets[i % targets.len()], &watches[i % targets.len()]);
        let o = &t.origins[(i / targets.len() + 1) % 2];
        for w in ws {
            w.want.set(o.3);
            w.first.set(None);
        }
        let t0 = Instant::now();
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        bind(api, &t.listener, o, 1 + i % 99).await?;
        acked.push(t0.elapsed().as_secs_f64() * 1e3);
        settle(std::slice::from_ref(ws), Duration::from_secs(15))
            .await
            .map_err(|e| anyhow!("trial {i}: {e}"))?;
        let ms: Vec<f64> = ws
            .iter()
            .filter_map(|w| w.first.get())
            .map(|f| f.duration_since(t0).as_secs_f64() * 1e3)
            .collect();
        out.extend(&ms);
        by_trial.push((wall, ms));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.set(true);
    Ok(Timings {
        first_byte: out,
        acked,
        by_trial,
    })
}

async fn settle(watches: &[Vec<Rc<Watch>>], limit: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    while watches.iter().flatten().any(|w| w.first.get().is_none()) {
        if Instant::now() > deadline {
            bail!("the new origin did not answer through every edge within {limit:?}");
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    Ok(())
}
