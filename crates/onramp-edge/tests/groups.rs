//! Endpoint groups in the data plane, through a real edge on loopback: a binding to `ANY_PORT`
//! is reached on the port the client connected to (every port of a listener's range), new
//! connections are split across a listener's groups by traffic dial, weight 0 takes none, and a
//! listener whose dials are all 0 takes no connection.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use onramp_core::snapshot::{AcceleratorSpec, BackendSpec, GroupSpec, ListenerSpec, Snapshot, Update};
use onramp_core::{HealthCheck, PortRange, Protocol, Scheduler, ANY_PORT};
use onramp_edge::{Edge, EdgeConfig, Reporter};
use tokio::sync::mpsc;

#[derive(Default)]
struct Applied(AtomicU64);

impl Reporter for Applied {
    fn applied(&self, revision: u64, failures: Vec<(String, String)>) {
        assert!(failures.is_empty(), "{failures:?}");
        self.0.store(revision, Relaxed);
    }
}

/// An origin that answers each connection's first line with its tag, for at most 30 s.
struct Origin {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Origin {
    fn start(addr: SocketAddr, tag: &'static str) -> Self {
        let l = TcpListener::bind(addr).expect("origin bind");
        l.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let end = Instant::now() + Duration::from_secs(30);
            while !flag.load(Relaxed) && Instant::now() < end {
                match l.accept() {
                    Ok((mut s, _)) => {
                        s.set_nonblocking(false).unwrap();
                        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                        let mut buf = [0u8; 64];
                        if s.read(&mut buf).unwrap_or(0) > 0 {
                            let _ = s.write_all(format!("{tag}\n").as_bytes());
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Self {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Origin {
    fn drop(&mut self) {
        self.stop.store(true, Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Two consecutive ports free on 127.0.0.1 (TCP), below the kernel's ephemeral range (where
/// busy clients would hold them) and below the conformance suite's 20000–29999; each call starts
/// further on, so tests running at once never get the same pair.
fn free_pair() -> u16 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let base =
        12_000 + (std::process::id() % 400) as u16 * 10 + NEXT.fetch_add(100, Relaxed) as u16;
    (base..base + 2_000)
        .step_by(2)
        .find(|&p| {
            TcpListener::bind(("127.0.0.1", p)).is_ok()
                && TcpListener::bind(("127.0.0.1", p + 1)).is_ok()
        })
        .expect("two free ports")
}

/// The tag the origin behind `port` answers, or `None` when the edge closes the connection.
fn ask(port: u16) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"hi\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let tag = out.trim().to_string();
    (!tag.is_empty()).then_some(tag)
}

fn backend(id: &str, group: &str, ip: &str, weight: u32) -> BackendSpec {
    BackendSpec {
        binding_id: id.into(),
        group_id: group.into(),
        origin_id: format!("rs-{id}"),
        address: ip.into(),
        kind: Default::default(),
        port: ANY_PORT,
        weight,
        role: Default::default(),
        banned: false,
        probe_port: None,
    }
}

fn group(id: &str, dial: u8) -> GroupSpec {
    GroupSpec {
        id: id.into(),
        traffic_dial: dial,
        health: HealthCheck {
            enabled: false,
            ..HealthCheck::default()
        },
        health_protocol: Protocol::Tcp,
    }
}

fn listener(ports: PortRange, groups: Vec<GroupSpec>, backends: Vec<BackendSpec>) -> ListenerSpec {
    ListenerSpec {
        id: "listener-1".into(),
        accelerator_id: "link-1".into(),
        protocol: Protocol::Tcp,
        ports: vec![ports],
        scheduler: Scheduler::Wrr,
        affinity: false,
        persist_secs: 0,
        failover: false,
        client_ip: Default::default(),
        health: HealthCheck {
            enabled: false,
            ..HealthCheck::default()
        },
        bandwidth_mbps: 0,
        max_connections: 0,
        traffic_dial: groups.iter().map(|g| g.traffic_dial).max().unwrap_or(100),
        groups,
        backends,
        access: None,
        access_log: false,
    }
}

/// An edge on 127.0.0.1 serving `spec` (revision 1) until dropped.
struct Running {
    edge: Option<Edge>,
    _tx: mpsc::Sender<Update>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(e) = self.edge.take() {
            e.shutdown();
        }
    }
}

fn serve(spec: ListenerSpec) -> Running {
    let mut snap = Snapshot {
        revision: 1,
        ..Default::default()
    };
    snap.accelerators.insert(
        "link-1".into(),
        AcceleratorSpec {
            id: "link-1".into(),
            ..Default::default()
        },
    );
    snap.listeners.insert(spec.id.clone(), Arc::new(spec));
    let (tx, rx) = mpsc::channel(4);
    tx.try_send(Update::Full(Arc::new(snap))).unwrap();
    let applied = Arc::new(Applied::default());
    let cfg = EdgeConfig {
        bind_address: [127, 0, 0, 1].into(),
        ..EdgeConfig::default()
    };
    let edge = Edge::start(cfg, rx, applied.clone()).expect("edge starts");
    let end = Instant::now() + Duration::from_secs(10);
    while applied.0.load(Relaxed) < 1 {
        assert!(Instant::now() < end, "the edge applied the snapshot");
        std::thread::sleep(Duration::from_millis(10));
    }
    Running {
        edge: Some(edge),
        _tx: tx,
    }
}

#[test]
fn any_port_bindings_get_the_port_the_client_connected_to() {
    let p = free_pair();
    let _a = Origin::start(SocketAddr::from(([127, 0, 0, 51], p)), "first");
    let _b = Origin::start(SocketAddr::from(([127, 0, 0, 51], p + 1)), "second");
    let spec = listener(
        PortRange { from: p, to: p + 1 },
        vec![group("g1", 100)],
        vec![backend("b1", "g1", "127.0.0.51", 1)],
    );
    let _edge = serve(spec);
    for _ in 0..3 {
        assert_eq!(ask(p).as_deref(), Some("first"));
        assert_eq!(ask(p + 1).as_deref(), Some("second"));
    }
}

#[test]
fn new_connections_split_across_groups_by_dial_and_weight_zero_takes_none() {
    let p = free_pair();
    let _a = Origin::start(SocketAddr::from(([127, 0, 0, 52], p)), "a");
    let _b = Origin::start(SocketAddr::from(([127, 0, 0, 53], p)), "b");
    let _c = Origin::start(SocketAddr::from(([127, 0, 0, 54], p)), "c");
    let spec = listener(
        PortRange::single(p),
        vec![group("g1", 25), group("g2", 75)],
        vec![
            backend("b1", "g1", "127.0.0.52", 1),
            backend("b2", "g2", "127.0.0.53", 1),
            backend("b3", "g2", "127.0.0.54", 0),
        ],
    );
    let _edge = serve(spec);
    let mut seen: HashMap<String, u32> = HashMap::new();
    for _ in 0..100 {
        let tag = ask(p).expect("every connection is forwarded");
        *seen.entry(tag).or_default() += 1;
    }
    assert_eq!(seen.get("a"), Some(&25), "{seen:?}");
    assert_eq!(seen.get("b"), Some(&75), "{seen:?}");
    assert_eq!(
        seen.get("c"),
        None,
        "weight 0 takes no new connection: {seen:?}"
    );
}

#[test]
fn a_listener_whose_dials_are_all_zero_takes_no_connection() {
    let p = free_pair();
    let _a = Origin::start(SocketAddr::from(([127, 0, 0, 55], p)), "a");
    let spec = listener(
        PortRange::single(p),
        vec![group("g1", 0), group("g2", 0)],
        vec![
            backend("b1", "g1", "127.0.0.55", 1),
            backend("b2", "g2", "127.0.0.55", 1),
        ],
    );
    let _edge = serve(spec);
    for _ in 0..3 {
        assert_eq!(ask(p), None);
    }
}
