//! Echo origins: every TCP connection gets its bytes back (half-close aware), every UDP
//! datagram is sent back to its sender. Used as the origin of every scenario but bulk
//! throughput (iperf3 has its own server).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream, UdpSocket};

use crate::loopback;

#[derive(clap::Args)]
pub struct Args {
    /// TCP echo address (repeatable).
    #[arg(long)]
    tcp: Vec<SocketAddr>,
    /// UDP echo address (repeatable).
    #[arg(long)]
    udp: Vec<SocketAddr>,
    /// Stop after this many seconds (a safety bound; the orchestrator kills it earlier).
    #[arg(long, default_value_t = 7200)]
    seconds: u64,
}

pub async fn run(a: Args) -> anyhow::Result<()> {
    for addr in a.tcp.iter().chain(&a.udp) {
        loopback(addr)?;
    }
    for addr in a.tcp {
        let sock = TcpSocket::new_v4()?;
        sock.set_reuseaddr(true)?;
        sock.bind(addr)?;
        let listener = sock.listen(4096)?;
        tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((s, _)) => {
                        tokio::spawn(echo_tcp(s));
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
                }
            }
        });
    }
    for addr in a.udp {
        let sock = UdpSocket::bind(addr).await?;
        tokio::spawn(echo_udp(sock));
    }
    println!("{{\"ready\":true}}");
    tokio::time::sleep(Duration::from_secs(a.seconds)).await;
    Ok(())
}

async fn echo_tcp(mut s: TcpStream) {
    let _ = s.set_nodelay(true);
    let mut buf = vec![0u8; 4096];
    loop {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if s.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
    let _ = s.shutdown().await;
}

async fn echo_udp(sock: UdpSocket) {
    let mut buf = vec![0u8; 65536];
    loop {
        if let Ok((n, peer)) = sock.recv_from(&mut buf).await {
            let _ = sock.send_to(&buf[..n], peer).await;
        }
    }
}
