//! UDP flood: F flows, each from its own loopback source address (127.1.0.1, 127.1.0.2, …,
//! skipping .0 and .255 of every /24), started at R new flows per second. A flow is one
//! socket bound to its address, D datagrams sent to the target, then closed at once, so the
//! tool holds one descriptor at a time whatever F is. Bounded by F and, as a safety net, by
//! twice the time F flows should take.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::{loopback, ErrorCount};

#[derive(clap::Args)]
pub struct Args {
    /// Target listener.
    #[arg(long)]
    addr: SocketAddr,
    #[arg(long, default_value_t = 25_000)]
    flows: u32,
    /// New flows per second.
    #[arg(long, default_value_t = 1000.0)]
    rate: f64,
    /// Datagrams per flow.
    #[arg(long, default_value_t = 1)]
    datagrams: u32,
    #[arg(long, default_value_t = 64)]
    size: usize,
    /// The flows' sources start after this address (a /16 of 127.0.0.0/8 holds 65,024 flows).
    #[arg(long, default_value = "127.1.0.0")]
    source_net: Ipv4Addr,
}

/// Source address of flow `i`: 254 usable hosts per /24 after `base`.
fn source(base: Ipv4Addr, i: u32) -> Option<Ipv4Addr> {
    let n = u32::from(base)
        .checked_add((i / 254) * 256)?
        .checked_add(i % 254 + 1)?;
    let ip = Ipv4Addr::from(n);
    ip.is_loopback().then_some(ip)
}

fn one_flow(src: Ipv4Addr, to: SocketAddr, msg: &[u8], datagrams: u32) -> std::io::Result<u32> {
    let sock = UdpSocket::bind(SocketAddrV4::new(src, 0))?;
    let mut sent = 0;
    for _ in 0..datagrams {
        sock.send_to(msg, to)?;
        sent += 1;
    }
    Ok(sent)
}

pub async fn run(a: Args) -> anyhow::Result<()> {
    loopback(&a.addr)?;
    if source(a.source_net, a.flows.saturating_sub(1)).is_none() {
        anyhow::bail!(
            "{} flows do not fit in 127.0.0.0/8 after {}",
            a.flows,
            a.source_net
        );
    }
    let rate = a.rate.max(1.0);
    let msg = vec![0x46u8; a.size.max(1)];
    let start = Instant::now();
    let limit = start + Duration::from_secs_f64(2.0 * f64::from(a.flows) / rate + 5.0);
    let (mut flows, mut datagrams, mut errors) = (0u64, 0u64, ErrorCount::default());
    for i in 0..a.flows {
        let at = start + Duration::from_secs_f64(f64::from(i) / rate);
        if at > limit || Instant::now() > limit {
            break;
        }
        tokio::time::sleep_until(at.into()).await;
        let Some(src) = source(a.source_net, i) else {
            break;
        };
        match one_flow(src, a.addr, &msg, a.datagrams) {
            Ok(n) => {
                flows += 1;
                datagrams += u64::from(n);
            }
            Err(e) => errors.add(format!("{:?}", e.kind())),
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({
            "flows": flows,
            "datagrams": datagrams,
            "errors": errors.count,
            "error_kinds": errors.kinds,
            "seconds": secs,
            "flows_per_second": flows as f64 / secs,
            "last_source": source(a.source_net, a.flows.saturating_sub(1)).map(|s| s.to_string()),
        })
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_skip_network_and_broadcast_and_stay_in_loopback() {
        let base = Ipv4Addr::new(127, 1, 0, 0);
        assert_eq!(source(base, 0), Some(Ipv4Addr::new(127, 1, 0, 1)));
        assert_eq!(source(base, 253), Some(Ipv4Addr::new(127, 1, 0, 254)));
        assert_eq!(source(base, 254), Some(Ipv4Addr::new(127, 1, 1, 1)));
        assert_eq!(source(base, 24_999), Some(Ipv4Addr::new(127, 1, 98, 108)));
        assert_eq!(source(Ipv4Addr::new(127, 255, 255, 0), 300), None);
    }
}
