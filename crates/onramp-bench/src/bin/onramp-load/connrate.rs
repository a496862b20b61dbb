//! New connections per second: N concurrent clients, each in a loop of connect, send 64 bytes,
//! receive the 64 bytes back, close; for D seconds. Failures (refused, reset, timeout, short
//! or wrong answer) are counted by kind, with the time each failed connection was begun (the
//! first 10,000; `start_unix_ms` puts them on the wall clock).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::loopback;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    addr: SocketAddr,
    #[arg(long, default_value_t = 64)]
    clients: usize,
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    #[arg(long, default_value_t = 64)]
    size: usize,
    /// Per-connection timeout (connect to close), milliseconds.
    #[arg(long, default_value_t = 2000)]
    timeout_ms: u64,
}

#[derive(Default)]
struct Tally {
    ok: u64,
    failures: u64,
    kinds: BTreeMap<String, u64>,
    /// When each failed connection was begun, ms after the start (the first 10,000).
    failure_ms: Vec<f64>,
}

async fn one(addr: SocketAddr, msg: &[u8], buf: &mut [u8]) -> io::Result<()> {
    let mut s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    s.write_all(msg).await?;
    s.read_exact(buf).await?;
    if buf != msg {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "wrong echo"));
    }
    Ok(())
}

async fn client(a: std::sync::Arc<Args>, start: Instant, deadline: Instant, t: Rc<RefCell<Tally>>) {
    let msg: Vec<u8> = (0..a.size).map(|i| (i % 251) as u8).collect();
    let mut buf = vec![0u8; a.size];
    let limit = Duration::from_millis(a.timeout_ms);
    while Instant::now() < deadline {
        let begun = start.elapsed().as_secs_f64() * 1e3;
        let r = match tokio::time::timeout(limit, one(a.addr, &msg, &mut buf)).await {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(format!("{:?}", e.kind())),
            Err(_) => Some("Timeout".to_string()),
        };
        let Some(kind) = r else {
            t.borrow_mut().ok += 1;
            continue;
        };
        {
            let mut t = t.borrow_mut();
            t.failures += 1;
            *t.kinds.entry(kind).or_default() += 1;
            if t.failure_ms.len() < 10_000 {
                t.failure_ms.push(begun);
            }
        }
        // Do not spin on an instantly failing connect.
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

pub async fn run(a: Args) -> anyhow::Result<()> {
    loopback(&a.addr)?;
    let a = std::sync::Arc::new(a);
    let tally = Rc::new(RefCell::new(Tally::default()));
    let start = Instant::now();
    let start_unix_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1e3);
    let deadline = start + Duration::from_secs_f64(a.seconds);
    let local = tokio::task::LocalSet::new();
    for _ in 0..a.clients {
        local.spawn_local(client(a.clone(), start, deadline, tally.clone()));
    }
    local.await;
    let secs = start.elapsed().as_secs_f64();
    let t = tally.borrow();
    println!(
        "{}",
        json!({
            "connections": t.ok,
            "failures": t.failures,
            "failure_kinds": t.kinds,
            "failure_ms": t.failure_ms,
            "start_unix_ms": start_unix_ms,
            "seconds": secs,
            "rate": t.ok as f64 / secs,
            "client_cpu_s": onramp_bench::procfs::self_cpu_seconds(),
        })
    );
    Ok(())
}
