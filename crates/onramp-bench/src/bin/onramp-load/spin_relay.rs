//! `spin-relay`: the floor of latency for a relay that never sleeps, not a product. One thread
//! that never blocks: each turn is one `poll(2)` with a zero timeout over every socket, then it
//! moves whatever is ready (TCP: read, write on; UDP: one connected upstream socket per client,
//! replies sent back from the listening socket). No limits, no health, no accounting, no timers.
//! Pinned to the proxy CPU like a proxy, what its ping-pong still takes is the client's and the
//! origin's own wake-ups and the kernel's path: no proxy that spins can go below it here (see
//! BENCHMARKS.md, "Latency mode").

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use clap::Args as ClapArgs;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

#[derive(ClapArgs)]
pub struct Args {
    /// TCP address to accept on (127.0.0.0/8).
    #[arg(long)]
    tcp_listen: SocketAddr,
    /// TCP origin (127.0.0.0/8).
    #[arg(long)]
    tcp_to: SocketAddr,
    /// UDP address to receive on (127.0.0.0/8).
    #[arg(long)]
    udp_listen: SocketAddr,
    /// UDP origin (127.0.0.0/8).
    #[arg(long)]
    udp_to: SocketAddr,
    /// Stop after this many seconds.
    #[arg(long, default_value_t = 600.0)]
    seconds: f64,
}

/// What the relay holds: its two listening sockets, TCP connection pairs, UDP flows.
struct Relay {
    tcp: TcpListener,
    udp: UdpSocket,
    tcp_to: SocketAddr,
    udp_to: SocketAddr,
    pairs: Vec<[TcpStream; 2]>,
    flows: Vec<(SocketAddr, UdpSocket)>,
    by_client: HashMap<SocketAddr, usize>,
    buf: Vec<u8>,
}

/// Write all of `data` to a non-blocking socket, spinning while it is full.
fn write_all(to: &mut TcpStream, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        match to.write(data) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

impl Relay {
    /// Which sockets are ready, in the order: TCP listener, UDP listener, pairs, flows.
    fn ready(&self) -> io::Result<Vec<bool>> {
        let mut fds = vec![
            PollFd::new(self.tcp.as_fd(), PollFlags::POLLIN),
            PollFd::new(self.udp.as_fd(), PollFlags::POLLIN),
        ];
        for p in &self.pairs {
            fds.push(PollFd::new(p[0].as_fd(), PollFlags::POLLIN));
            fds.push(PollFd::new(p[1].as_fd(), PollFlags::POLLIN));
        }
        for (_, f) in &self.flows {
            fds.push(PollFd::new(f.as_fd(), PollFlags::POLLIN));
        }
        poll(&mut fds, PollTimeout::ZERO)?;
        Ok(fds
            .iter()
            .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
            .collect())
    }

    fn accept(&mut self) -> io::Result<()> {
        let (client, _) = match self.tcp.accept() {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(e),
        };
        let origin = TcpStream::connect_timeout(&self.tcp_to, Duration::from_secs(3))?;
        for s in [&client, &origin] {
            s.set_nodelay(true)?;
            s.set_nonblocking(true)?;
        }
        self.pairs.push([client, origin]);
        Ok(())
    }

    /// Move what `pairs[i][from]` holds to the other side; false when the pair is done.
    fn pump(&mut self, i: usize, from: usize) -> bool {
        let [a, b] = &mut self.pairs[i];
        let (src, dst) = if from == 0 { (a, b) } else { (b, a) };
        match src.read(&mut self.buf) {
            Ok(0) => false,
            Ok(n) => write_all(dst, &self.buf[..n]).is_ok(),
            Err(e) => e.kind() == io::ErrorKind::WouldBlock,
        }
    }

    fn datagram_in(&mut self) -> io::Result<()> {
        let (n, client) = match self.udp.recv_from(&mut self.buf) {
            Ok(x) => x,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(e),
        };
        let i = match self.by_client.get(&client) {
            Some(i) => *i,
            None => {
                let up = UdpSocket::bind("127.0.0.1:0")?;
                up.connect(self.udp_to)?;
                up.set_nonblocking(true)?;
                self.flows.push((client, up));
                self.by_client.insert(client, self.flows.len() - 1);
                self.flows.len() - 1
            }
        };
        let _ = self.flows[i].1.send(&self.buf[..n]);
        Ok(())
    }

    fn reply_in(&mut self, i: usize) {
        let (client, up) = &self.flows[i];
        if let Ok(n) = up.recv(&mut self.buf) {
            let _ = self.udp.send_to(&self.buf[..n], *client);
        }
    }

    /// One turn: what was ready at the poll, for the sockets of that moment (new connections and
    /// flows join the next turn).
    fn turn(&mut self) -> io::Result<()> {
        let ready = self.ready()?;
        let (pairs, flows) = (self.pairs.len(), self.flows.len());
        let mut done = vec![false; pairs];
        for (i, d) in done.iter_mut().enumerate() {
            for side in 0..2 {
                if ready[2 + 2 * i + side] && !self.pump(i, side) {
                    *d = true;
                }
            }
        }
        for i in 0..flows {
            if ready[2 + 2 * pairs + i] {
                self.reply_in(i);
            }
        }
        let mut it = done.into_iter();
        self.pairs.retain(|_| !it.next().unwrap_or(false));
        if ready[0] {
            self.accept()?;
        }
        if ready[1] {
            self.datagram_in()?;
        }
        Ok(())
    }
}

pub fn run(a: Args) -> anyhow::Result<()> {
    for addr in [&a.tcp_listen, &a.tcp_to, &a.udp_listen, &a.udp_to] {
        crate::loopback(addr)?;
    }
    let tcp = TcpListener::bind(a.tcp_listen)?;
    tcp.set_nonblocking(true)?;
    let udp = UdpSocket::bind(a.udp_listen)?;
    udp.set_nonblocking(true)?;
    let mut relay = Relay {
        tcp,
        udp,
        tcp_to: a.tcp_to,
        udp_to: a.udp_to,
        pairs: Vec::new(),
        flows: Vec::new(),
        by_client: HashMap::new(),
        buf: vec![0u8; 65_536],
    };
    println!(
        "{}",
        serde_json::json!({ "listening": a.tcp_listen.to_string() })
    );
    let deadline = Instant::now() + Duration::from_secs_f64(a.seconds);
    let mut turns: u64 = 0;
    loop {
        relay.turn()?;
        turns += 1;
        if turns % 65_536 == 0 && Instant::now() > deadline {
            return Ok(());
        }
    }
}
