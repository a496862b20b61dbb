//! Control API load: C kept-alive HTTP/1.1 connections, each sending TC3-signed
//! `DescribeListenerRealServers` requests back to back (every request signed afresh, as an SDK
//! does) for D seconds. Reports requests/s, p50/p99 and the size of an answer.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use onramp_bench::gaap::{signed_head, Key};
use onramp_bench::http1::Conn;
use onramp_bench::stats::p50_p99;
use serde_json::json;

use crate::loopback;

#[derive(clap::Args)]
pub struct Args {
    /// API address, e.g. 127.0.0.1:7080.
    #[arg(long)]
    addr: SocketAddr,
    #[arg(long, env = "ONRAMP_BENCH_SECRET_ID")]
    secret_id: String,
    #[arg(long, env = "ONRAMP_BENCH_SECRET_KEY", hide_env_values = true)]
    secret_key: String,
    #[arg(long)]
    listener_id: String,
    #[arg(long, default_value_t = 16)]
    connections: usize,
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
}

#[derive(Default)]
struct Tally {
    ok: u64,
    errors: u64,
    bytes: u64,
    first_error: Option<String>,
    samples: Vec<u32>,
}

impl Tally {
    fn error(&mut self, what: String) {
        self.errors += 1;
        self.first_error.get_or_insert(what);
    }
}

async fn worker(key: Key, listener: String, deadline: Instant, t: Rc<RefCell<Tally>>) {
    let body = serde_json::to_vec(&json!({ "ListenerId": listener })).unwrap_or_default();
    let mut conn: Option<Conn> = None;
    while Instant::now() < deadline {
        if conn.is_none() {
            match Conn::connect(&key.host).await {
                Ok(c) => conn = Some(c),
                Err(e) => {
                    t.borrow_mut().error(format!("connect: {e}"));
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            }
        }
        let c = conn.as_mut().expect("connected above");
        let t0 = Instant::now();
        let head = signed_head(&key, "DescribeListenerRealServers", &body);
        let r = tokio::time::timeout(Duration::from_secs(30), c.round_trip(&head, &body)).await;
        // Microseconds: an answer of many megabytes can take seconds.
        let us = t0.elapsed().as_micros().min(u32::MAX as u128) as u32;
        let mut t = t.borrow_mut();
        match r {
            Ok(Ok(resp)) => {
                let start = &resp.body[..resp.body.len().min(512)];
                let is_error = start.windows(8).any(|w| w == b"\"Error\":");
                if resp.status != 200 || is_error {
                    let text = String::from_utf8_lossy(start).to_string();
                    t.error(format!("HTTP {}: {text}", resp.status));
                } else {
                    t.ok += 1;
                    t.bytes += resp.body.len() as u64;
                    t.samples.push(us);
                }
            }
            Ok(Err(e)) => {
                t.error(format!("io: {e}"));
                conn = None;
            }
            Err(_) => {
                t.error("timeout".to_string());
                conn = None;
            }
        }
    }
}

pub async fn run(a: Args) -> anyhow::Result<()> {
    loopback(&a.addr)?;
    let key = Key {
        host: a.addr.to_string(),
        secret_id: a.secret_id.clone(),
        secret_key: a.secret_key.clone(),
    };
    let tally = Rc::new(RefCell::new(Tally::default()));
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(a.seconds);
    let local = tokio::task::LocalSet::new();
    for _ in 0..a.connections.max(1) {
        local.spawn_local(worker(
            key.clone(),
            a.listener_id.clone(),
            deadline,
            tally.clone(),
        ));
    }
    local.await;
    let secs = start.elapsed().as_secs_f64();
    let mut t = tally.borrow_mut();
    let (p50, p99) = p50_p99(&mut t.samples);
    println!(
        "{}",
        json!({
            "requests": t.ok,
            "errors": t.errors,
            "first_error": t.first_error,
            "seconds": secs,
            "rps": t.ok as f64 / secs,
            "p50_ms": p50 / 1e3,
            "p99_ms": p99 / 1e3,
            "bytes_per_response": t.bytes.checked_div(t.ok).unwrap_or(0),
            "client_cpu_s": onramp_bench::procfs::self_cpu_seconds(),
        })
    );
    Ok(())
}
