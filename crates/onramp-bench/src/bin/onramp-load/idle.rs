//! Idle connections: open N connections (at most C opening at once), make one 64-byte echo
//! through each so it is proxied end to end, print how many opened, then hold them all until
//! stdin reaches end of file (or a line arrives, or the deadline passes) and close them.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::loopback;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    addr: SocketAddr,
    #[arg(long, default_value_t = 4000)]
    count: usize,
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Hold at most this long before closing on its own.
    #[arg(long, default_value_t = 120)]
    hold_seconds: u64,
}

async fn open(addr: SocketAddr) -> std::io::Result<TcpStream> {
    let mut s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    let msg = [0x42u8; 64];
    let mut buf = [0u8; 64];
    s.write_all(&msg).await?;
    s.read_exact(&mut buf).await?;
    Ok(s)
}

pub async fn run(a: Args) -> anyhow::Result<()> {
    loopback(&a.addr)?;
    let start = Instant::now();
    let held: Rc<RefCell<Vec<TcpStream>>> = Rc::new(RefCell::new(Vec::with_capacity(a.count)));
    let failures = Rc::new(RefCell::new(0u64));
    let next = Rc::new(RefCell::new(0usize));
    let local = tokio::task::LocalSet::new();
    for _ in 0..a.concurrency.max(1) {
        let (held, failures, next, addr, count) = (
            held.clone(),
            failures.clone(),
            next.clone(),
            a.addr,
            a.count,
        );
        local.spawn_local(async move {
            loop {
                {
                    let mut n = next.borrow_mut();
                    if *n >= count {
                        return;
                    }
                    *n += 1;
                }
                match tokio::time::timeout(Duration::from_secs(3), open(addr)).await {
                    Ok(Ok(s)) => held.borrow_mut().push(s),
                    _ => *failures.borrow_mut() += 1,
                }
            }
        });
    }
    local.await;
    let opened = held.borrow().len();
    println!(
        "{}",
        json!({
            "opened": opened,
            "failures": *failures.borrow(),
            "seconds": start.elapsed().as_secs_f64(),
        })
    );
    let mut line = String::new();
    let mut stdin = BufReader::new(tokio::io::stdin());
    let _ = tokio::time::timeout(
        Duration::from_secs(a.hold_seconds),
        stdin.read_line(&mut line),
    )
    .await;
    // Still open at the end = none was closed by the proxy while idle.
    let mut still_open = 0usize;
    for s in held.borrow().iter() {
        let mut probe = [0u8; 1];
        if matches!(s.try_read(&mut probe), Err(ref e) if e.kind() == std::io::ErrorKind::WouldBlock)
        {
            still_open += 1;
        }
    }
    held.borrow_mut().clear();
    println!("{}", json!({ "still_open": still_open }));
    Ok(())
}
