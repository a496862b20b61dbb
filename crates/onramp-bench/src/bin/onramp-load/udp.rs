//! UDP request/response: F flows (one connected socket each), each sending a 64-byte datagram
//! carrying a sequence number and waiting for its echo before the next; for D seconds. A
//! reply that does not come within the timeout counts as lost and the flow moves on.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use onramp_bench::stats::p50_p99;
use serde_json::json;
use tokio::net::UdpSocket;

use crate::loopback;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    addr: SocketAddr,
    #[arg(long, default_value_t = 64)]
    flows: usize,
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    #[arg(long, default_value_t = 64)]
    size: usize,
    #[arg(long, default_value_t = 200)]
    timeout_ms: u64,
}

#[derive(Default)]
struct Tally {
    exchanges: u64,
    lost: u64,
    errors: u64,
    samples: Vec<u32>,
}

/// Most latency samples kept (a uniform prefix is enough for p99).
const MAX_SAMPLES: usize = 4_000_000;

async fn flow(a: Rc<Args>, deadline: Instant, t: Rc<RefCell<Tally>>) -> std::io::Result<()> {
    let sock = UdpSocket::bind("127.0.0.1:0").await?;
    sock.connect(a.addr).await?;
    let size = a.size.max(8);
    let mut msg = vec![0x5au8; size];
    let mut buf = vec![0u8; 2048];
    let limit = Duration::from_millis(a.timeout_ms);
    let mut seq: u64 = 0;
    while Instant::now() < deadline {
        seq += 1;
        msg[..8].copy_from_slice(&seq.to_be_bytes());
        let t0 = Instant::now();
        if sock.send(&msg).await.is_err() {
            t.borrow_mut().errors += 1;
            tokio::time::sleep(Duration::from_millis(1)).await;
            continue;
        }
        let got = tokio::time::timeout(limit, async {
            loop {
                match sock.recv(&mut buf).await {
                    Ok(n) if n == size && buf[..8] == msg[..8] => return true,
                    Ok(_) => continue, // a late answer to an earlier datagram
                    Err(_) => return false,
                }
            }
        })
        .await;
        let mut t = t.borrow_mut();
        match got {
            Ok(true) => {
                t.exchanges += 1;
                if t.samples.len() < MAX_SAMPLES {
                    t.samples
                        .push(t0.elapsed().as_nanos().min(u32::MAX as u128) as u32);
                }
            }
            Ok(false) => t.errors += 1,
            Err(_) => t.lost += 1,
        }
    }
    Ok(())
}

pub async fn run(a: Args) -> anyhow::Result<()> {
    loopback(&a.addr)?;
    let a = Rc::new(a);
    let tally = Rc::new(RefCell::new(Tally::default()));
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(a.seconds);
    let local = tokio::task::LocalSet::new();
    for _ in 0..a.flows {
        let (a, t) = (a.clone(), tally.clone());
        local.spawn_local(async move {
            if flow(a, deadline, t.clone()).await.is_err() {
                t.borrow_mut().errors += 1;
            }
        });
    }
    local.await;
    let secs = start.elapsed().as_secs_f64();
    let mut t = tally.borrow_mut();
    let (p50, p99) = p50_p99(&mut t.samples);
    println!(
        "{}",
        json!({
            "exchanges": t.exchanges,
            "lost": t.lost,
            "errors": t.errors,
            "seconds": secs,
            "rate": t.exchanges as f64 / secs,
            "p50_us": p50 / 1000.0,
            "p99_us": p99 / 1000.0,
            "client_cpu_s": onramp_bench::procfs::self_cpu_seconds(),
        })
    );
    Ok(())
}
