//! Busy polling through a real edge on loopback: without listeners the edge's thread sleeps;
//! with them it never sleeps (TCP and UDP round trips do not wake it: its voluntary context
//! switches stay flat, where an edge that sleeps wakes once a round trip); forwarding, a change
//! of origins with a connection draining, the removal of every listener and shutdown all work
//! while it spins. One test, so that no other edge's thread is counted.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use onramp_core::snapshot::{BackendSpec, ListenerSpec, Update};
use onramp_core::{HealthCheck, PortRange, Protocol, Scheduler};
use onramp_edge::EdgeConfig;

mod common;
use common::{snapshot, Running};

/// Echo origins at one address, TCP and UDP, each answer prefixed with the origin's tag; they
/// stop when dropped (and after 60 s at most).
struct Origin {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Origin {
    fn start(addr: SocketAddr, tag: &'static str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let tcp = TcpListener::bind(addr).expect("origin bind");
        tcp.set_nonblocking(true).unwrap();
        let udp = UdpSocket::bind(addr).expect("origin udp bind");
        udp.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let end = Instant::now() + Duration::from_secs(60);
        let flag = stop.clone();
        let tcp_thread = std::thread::spawn(move || {
            while !flag.load(Relaxed) && Instant::now() < end {
                match tcp.accept() {
                    Ok((s, _)) => {
                        std::thread::spawn(move || echo_tcp(s, tag));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        let flag = stop.clone();
        let udp_thread = std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while !flag.load(Relaxed) && Instant::now() < end {
                if let Ok((n, from)) = udp.recv_from(&mut buf) {
                    let mut out = tag.as_bytes().to_vec();
                    out.extend_from_slice(&buf[..n]);
                    let _ = udp.send_to(&out, from);
                }
            }
        });
        Self {
            stop,
            threads: vec![tcp_thread, udp_thread],
        }
    }
}

fn echo_tcp(mut s: TcpStream, tag: &str) {
    s.set_nonblocking(false).unwrap();
    let _ = s.set_nodelay(true);
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut buf = [0u8; 2048];
    while let Ok(n @ 1..) = s.read(&mut buf) {
        let mut out = tag.as_bytes().to_vec();
        out.extend_from_slice(&buf[..n]);
        if s.write_all(&out).is_err() {
            return;
        }
    }
}

impl Drop for Origin {
    fn drop(&mut self) {
        self.stop.store(true, Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// A port free for TCP and UDP on 127.0.0.1, outside the kernel's ephemeral range and the other
/// tests' ranges.
fn free_port() -> u16 {
    let base = 31_000 + (std::process::id() % 400) as u16 * 2;
    (base..32_000)
        .find(|&p| {
            TcpListener::bind(("127.0.0.1", p)).is_ok() && UdpSocket::bind(("127.0.0.1", p)).is_ok()
        })
        .expect("a free port")
}

fn listener(id: &str, protocol: Protocol, port: u16, origin: SocketAddr) -> ListenerSpec {
    let off = HealthCheck {
        enabled: false,
        ..HealthCheck::default()
    };
    ListenerSpec {
        id: id.into(),
        accelerator_id: "link-1".into(),
        protocol,
        ports: vec![PortRange::single(port)],
        scheduler: Scheduler::Rr,
        affinity: false,
        persist_secs: 0,
        failover: false,
        client_ip: Default::default(),
        health: off,
        bandwidth_mbps: 0,
        max_connections: 0,
        traffic_dial: 100,
        groups: Vec::new(),
        backends: vec![BackendSpec {
            binding_id: format!("{id}-{}", origin.ip()),
            group_id: String::new(),
            origin_id: format!("rs-{}", origin.ip()),
            address: origin.ip().to_string(),
            kind: Default::default(),
            port: origin.port(),
            weight: 1,
            role: Default::default(),
            banned: false,
            probe_port: None,
        }],
        access: None,
        access_log: false,
    }
}

/// An edge on 127.0.0.1 with no listener yet.
fn start(busy_poll: bool) -> Running {
    let cfg = EdgeConfig {
        bind_address: [127, 0, 0, 1].into(),
        busy_poll,
        ..EdgeConfig::default()
    };
    Running::start_with(cfg, snapshot(1, vec![]))
}

/// Apply the full snapshot `revision` with `listeners`.
fn apply(edge: &Running, revision: u64, listeners: Vec<ListenerSpec>) {
    edge.send(Update::Full(Arc::new(snapshot(revision, listeners))));
}

/// Shut the edge down, failing if that takes more than 5 s.
fn shutdown_promptly(edge: Running) {
    let took = edge.shutdown();
    assert!(took < Duration::from_secs(5), "shutdown took {took:?}");
}

/// (CPU seconds, voluntary context switches) of this process's edge threads ("onramp-edge").
fn edge_threads() -> (f64, u64) {
    let mut cpu = 0.0;
    let mut switches = 0;
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let dir = task.path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if comm.trim() != "onramp-edge" {
            continue;
        }
        let stat = std::fs::read_to_string(dir.join("stat")).unwrap_or_default();
        let fields: Vec<f64> = stat
            .rsplit_once(')')
            .map(|(_, r)| {
                r.split_whitespace()
                    .filter_map(|x| x.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        // utime and stime are fields 14 and 15 of stat; after the name, fields 3.. (state is
        // not a number, so it is skipped: utime lands at index 10).
        cpu += (fields.get(10).unwrap_or(&0.0) + fields.get(11).unwrap_or(&0.0)) / 100.0;
        let status = std::fs::read_to_string(dir.join("status")).unwrap_or_default();
        switches += status
            .lines()
            .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0);
    }
    (cpu, switches)
}

/// Share of one core the edge threads used over `window`.
fn edge_cpu_share(window: Duration) -> f64 {
    let (c0, _) = edge_threads();
    std::thread::sleep(window);
    let share = (edge_threads().0 - c0) / window.as_secs_f64();
    eprintln!("edge threads: {share:.2} of a core over {window:?}");
    share
}

/// `n` round trips on one TCP connection and `n` on one UDP socket through the edge, a pause after
/// each pair; returns the edge threads' voluntary context switches meanwhile.
fn round_trips(tcp: &mut TcpStream, udp: &UdpSocket, tag: &str, n: usize) -> u64 {
    let (_, s0) = edge_threads();
    let mut buf = [0u8; 256];
    for i in 0..n {
        let msg = format!("m{i:05}");
        let want = format!("{tag}{msg}");
        tcp.write_all(msg.as_bytes()).unwrap();
        let mut got = 0;
        while got < want.len() {
            got += tcp.read(&mut buf[got..]).expect("TCP answer");
        }
        assert_eq!(&buf[..got], want.as_bytes());
        udp.send(msg.as_bytes()).unwrap();
        let k = udp.recv(&mut buf).expect("UDP answer");
        assert_eq!(&buf[..k], want.as_bytes());
        // A pause between round trips, as a real client has: an edge that sleeps surely does.
        std::thread::sleep(Duration::from_micros(200));
    }
    let woke = edge_threads().1 - s0;
    eprintln!("{n} TCP + {n} UDP round trips: the edge went to sleep {woke} times");
    woke
}

fn clients(tcp_port: u16, udp_port: u16) -> (TcpStream, UdpSocket) {
    let tcp = TcpStream::connect(("127.0.0.1", tcp_port)).unwrap();
    tcp.set_nodelay(true).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.connect(("127.0.0.1", udp_port)).unwrap();
    udp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    (tcp, udp)
}

#[test]
fn a_busy_polling_edge_spins_only_while_it_has_listeners_and_still_applies_and_stops() {
    let (tp, up) = (free_port(), free_port() + 1);
    let a_addr = SocketAddr::from(([127, 0, 0, 61], 7_301));
    let b_addr = SocketAddr::from(([127, 0, 0, 62], 7_301));
    let (_a, _b) = (Origin::start(a_addr, "a:"), Origin::start(b_addr, "b:"));
    let both = |origin| {
        vec![
            listener("listener-t", Protocol::Tcp, tp, origin),
            listener("listener-u", Protocol::Udp, up, origin),
        ]
    };

    // The default edge sleeps between packets: it wakes about once a round trip.
    let lab = start(false);
    apply(&lab, 2, both(a_addr));
    let (mut tcp, udp) = clients(tp, up);
    let woke = round_trips(&mut tcp, &udp, "a:", 200);
    assert!(
        woke >= 40,
        "an edge that sleeps woke only {woke} times in 200 round trips"
    );
    drop((tcp, udp));
    shutdown_promptly(lab);

    // Busy polling, no listener yet: the spinner sleeps too.
    let lab = start(true);
    let idle = edge_cpu_share(Duration::from_millis(300));
    assert!(
        idle < 0.5,
        "without listeners the edge used {idle:.2} of a core"
    );

    // With listeners it never sleeps: round trips do not wake it.
    apply(&lab, 2, both(a_addr));
    let (mut tcp, udp) = clients(tp, up);
    let woke = round_trips(&mut tcp, &udp, "a:", 200);
    assert!(
        woke < 20,
        "a spinning edge went to sleep {woke} times in 200 round trips"
    );

    // A change of origins while spinning: the open connection drains on A, new traffic goes to B.
    apply(&lab, 3, both(b_addr));
    let (mut tcp_b, udp_b) = clients(tp, up);
    let woke = round_trips(&mut tcp_b, &udp_b, "b:", 50);
    assert!(
        woke < 20,
        "after a change the edge went to sleep {woke} times"
    );
    tcp.write_all(b"still").unwrap();
    let mut buf = [0u8; 16];
    let mut got = 0;
    while got < 7 {
        got += tcp
            .read(&mut buf[got..])
            .expect("the drained connection still answers");
    }
    assert_eq!(&buf[..got], b"a:still");

    // Every listener gone: the spinner goes back to sleep.
    apply(&lab, 4, vec![]);
    let idle = edge_cpu_share(Duration::from_millis(300));
    assert!(
        idle < 0.5,
        "with no listener left the edge used {idle:.2} of a core"
    );

    // Spinning again, with connections open: shutdown is prompt.
    apply(&lab, 5, both(b_addr));
    let (mut tcp_c, udp_c) = clients(tp, up);
    round_trips(&mut tcp_c, &udp_c, "b:", 10);
    shutdown_promptly(lab);
}
