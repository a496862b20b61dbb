//! Slow-header connections against an HTTP server: N connections from S consecutive source
//! addresses, opened over about a second; each sends the start of a request head, then one
//! more header byte every interval, and never ends the head. Held until the deadline; reported:
//! how many opened, how many the server closed (and after how long), how many it answered
//! (e.g. a 408) and how many were still open at the deadline.

use std::cell::RefCell;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::rc::Rc;
use std::time::{Duration, Instant};

use onramp_bench::stats::percentile_sorted;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::{loopback, ErrorCount};

#[derive(clap::Args)]
pub struct Args {
    /// The HTTP server (onramp's API).
    #[arg(long)]
    addr: SocketAddr,
    #[arg(long, default_value_t = 400)]
    connections: u32,
    /// First source address; connection i uses source + (i mod sources).
    #[arg(long, default_value = "127.0.2.1")]
    source: Ipv4Addr,
    #[arg(long, default_value_t = 1)]
    sources: u32,
    /// Milliseconds between two header bytes.
    #[arg(long, default_value_t = 3000)]
    interval_ms: u64,
    /// Hold for this long after the first connection opened.
    #[arg(long, default_value_t = 30.0)]
    seconds: f64,
}

#[derive(Default)]
struct Tally {
    opened: u64,
    connect_failed: ErrorCount,
    /// Seconds from open to the server's close, one per closed connection.
    closed_after: Vec<f64>,
    answered: u64,
    still_open: u64,
}

enum End {
    Closed { answered: bool },
    StillOpen,
}

async fn connect(src: Ipv4Addr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let s = TcpSocket::new_v4()?;
    s.bind(SocketAddr::V4(SocketAddrV4::new(src, 0)))?;
    s.connect(to).await
}

/// Trickle header bytes until the server closes or the deadline passes.
async fn hold(mut s: TcpStream, host: String, interval: Duration, deadline: Instant) -> End {
    let head =
        format!("POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nX-Slow: ");
    if s.write_all(head.as_bytes()).await.is_err() {
        return End::Closed { answered: false };
    }
    let mut answered = false;
    let mut buf = [0u8; 1024];
    let mut next = Instant::now() + interval;
    loop {
        let wake = next.min(deadline);
        tokio::select! {
            r = s.read(&mut buf) => match r {
                Ok(0) | Err(_) => return End::Closed { answered },
                Ok(_) => answered = true,
            },
            _ = tokio::time::sleep_until(wake.into()) => {
                if Instant::now() >= deadline {
                    return End::StillOpen;
                }
                if s.write_all(b"a").await.is_err() {
                    return End::Closed { answered };
                }
                next += interval;
            }
        }
    }
}

pub async fn run(a: Args) -> anyhow::Result<()> {
    loopback(&a.addr)?;
    let sources = a.sources.max(1);
    let last = u32::from(a.source)
        .checked_add(sources - 1)
        .map(Ipv4Addr::from);
    if !a.source.is_loopback() || !last.is_some_and(|l| l.is_loopback()) {
        anyhow::bail!("sources must lie in 127.0.0.0/8");
    }
    let tally = Rc::new(RefCell::new(Tally::default()));
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(a.seconds);
    let interval = Duration::from_millis(a.interval_ms.max(100));
    let local = tokio::task::LocalSet::new();
    let spread = Duration::from_secs(1) / a.connections.max(1);
    for i in 0..a.connections {
        let src = Ipv4Addr::from(u32::from(a.source) + i % sources);
        let (t, to, host) = (tally.clone(), a.addr, a.addr.to_string());
        local.spawn_local(async move {
            tokio::time::sleep(spread * i).await;
            let opened = Instant::now();
            let c = tokio::time::timeout(Duration::from_secs(5), connect(src, to)).await;
            let s = match c {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => return t.borrow_mut().connect_failed.add(format!("{:?}", e.kind())),
                Err(_) => return t.borrow_mut().connect_failed.add("Timeout".into()),
            };
            t.borrow_mut().opened += 1;
            let end = hold(s, host, interval, deadline).await;
            let mut t = t.borrow_mut();
            match end {
                End::Closed { answered } => {
                    t.closed_after.push(opened.elapsed().as_secs_f64());
                    t.answered += u64::from(answered);
                }
                End::StillOpen => t.still_open += 1,
            }
        });
    }
    local.await;
    let mut t = tally.borrow_mut();
    t.closed_after.sort_by(f64::total_cmp);
    let ms: Vec<u32> = t.closed_after.iter().map(|s| (s * 1e3) as u32).collect();
    println!(
        "{}",
        json!({
            "connections": a.connections,
            "sources": sources,
            "opened": t.opened,
            "connect_failed": t.connect_failed.count,
            "connect_failure_kinds": t.connect_failed.kinds,
            "closed_by_server": t.closed_after.len(),
            "answered": t.answered,
            "closed_after_p50_s": percentile_sorted(&ms, 50.0) / 1e3,
            "closed_after_max_s": percentile_sorted(&ms, 100.0) / 1e3,
            "still_open": t.still_open,
            "seconds": start.elapsed().as_secs_f64(),
        })
    );
    Ok(())
}
