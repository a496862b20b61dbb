//! Request/response latency: M round trips of 64 bytes (after a warm-up) over one persistent TCP
//! connection, or with `--udp` over one connected UDP socket (one datagram out, its echo back),
//! with blocking sockets (and `TCP_NODELAY`) so the tool adds no scheduling delay of its own.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use onramp_bench::stats::p50_p99;
use serde_json::json;

use crate::loopback;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    addr: SocketAddr,
    #[arg(long, default_value_t = 100_000)]
    count: usize,
    #[arg(long, default_value_t = 1_000)]
    warmup: usize,
    #[arg(long, default_value_t = 64)]
    size: usize,
    /// Give up after this many seconds in total.
    #[arg(long, default_value_t = 120)]
    max_seconds: u64,
    /// UDP instead of TCP: each round trip is one datagram and its echo.
    #[arg(long)]
    udp: bool,
}

/// One round trip: send `msg`, fill `buf` with the answer.
trait Exchange {
    fn exchange(&mut self, msg: &[u8], buf: &mut [u8]) -> std::io::Result<()>;
}

impl Exchange for TcpStream {
    fn exchange(&mut self, msg: &[u8], buf: &mut [u8]) -> std::io::Result<()> {
        self.write_all(msg)?;
        self.read_exact(buf)
    }
}

impl Exchange for UdpSocket {
    fn exchange(&mut self, msg: &[u8], buf: &mut [u8]) -> std::io::Result<()> {
        self.send(msg)?;
        let n = self.recv(buf)?;
        if n != buf.len() {
            return Err(std::io::ErrorKind::InvalidData.into());
        }
        Ok(())
    }
}

fn connect(a: &Args) -> anyhow::Result<Box<dyn Exchange>> {
    let timeout = Some(Duration::from_secs(2));
    if a.udp {
        let s = UdpSocket::bind("127.0.0.1:0")?;
        s.connect(a.addr)?;
        s.set_read_timeout(timeout)?;
        return Ok(Box::new(s));
    }
    let s = TcpStream::connect_timeout(&a.addr, Duration::from_secs(3))?;
    s.set_nodelay(true)?;
    s.set_read_timeout(timeout)?;
    Ok(Box::new(s))
}

pub fn run(a: Args) -> anyhow::Result<()> {
    loopback(&a.addr)?;
    let mut s = connect(&a)?;
    let mut msg: Vec<u8> = (0..a.size.max(8)).map(|i| (i % 251) as u8).collect();
    let mut buf = vec![0u8; msg.len()];
    let mut samples: Vec<u32> = Vec::with_capacity(a.count);
    let deadline = Instant::now() + Duration::from_secs(a.max_seconds);
    for i in 0..a.warmup + a.count {
        if Instant::now() > deadline {
            break;
        }
        // A sequence number in front: a late or repeated answer cannot pass for this one.
        msg[..8].copy_from_slice(&(i as u64).to_be_bytes());
        let t0 = Instant::now();
        s.exchange(&msg, &mut buf)?;
        let ns = t0.elapsed().as_nanos().min(u32::MAX as u128) as u32;
        if buf != msg {
            anyhow::bail!("wrong echo at round trip {i}");
        }
        if i >= a.warmup {
            samples.push(ns);
        }
    }
    let n = samples.len();
    let mean = samples.iter().map(|x| *x as f64).sum::<f64>() / n.max(1) as f64;
    let (p50, p99) = p50_p99(&mut samples);
    println!(
        "{}",
        json!({
            "count": n,
            "p50_us": p50 / 1000.0,
            "p99_us": p99 / 1000.0,
            "mean_us": mean / 1000.0,
            "max_us": samples.last().copied().unwrap_or(0) as f64 / 1000.0,
            "client_cpu_s": onramp_bench::procfs::self_cpu_seconds(),
        })
    );
    Ok(())
}
