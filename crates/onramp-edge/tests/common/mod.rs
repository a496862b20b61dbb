//! What the edge's integration tests share: a reporter that records the applied revision, a
//! tagging origin on loopback, free ports, and spec builders.
#![allow(dead_code)] // each test file uses its part

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use onramp_core::snapshot::{
    AcceleratorSpec, BackendSpec, GroupSpec, ListenerSpec, Snapshot, Update,
};
use onramp_core::{HealthCheck, PortRange, Protocol, Scheduler, ANY_PORT};
use onramp_edge::{Edge, EdgeConfig, Reporter};
use tokio::sync::mpsc;

#[derive(Default)]
pub struct Applied {
    pub revision: AtomicU64,
    /// The listeners that could not open, as last reported.
    pub failures: std::sync::Mutex<Vec<(String, String)>>,
}

impl Reporter for Applied {
    fn applied(&self, revision: u64, failures: Vec<(String, String)>) {
        *self.failures.lock().unwrap() = failures;
        self.revision.store(revision, Relaxed);
    }
}

/// An origin that answers each connection's first line with its tag, for at most 30 s.
pub struct Origin {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Origin {
    pub fn start(addr: SocketAddr, tag: &'static str) -> Self {
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
pub fn free_pair() -> u16 {
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
pub fn ask(port: u16) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"hi\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let tag = out.trim().to_string();
    (!tag.is_empty()).then_some(tag)
}

pub fn backend(id: &str, group: &str, ip: &str, weight: u32) -> BackendSpec {
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

pub fn group(id: &str, dial: u8) -> GroupSpec {
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

pub fn listener(
    ports: PortRange,
    groups: Vec<GroupSpec>,
    backends: Vec<BackendSpec>,
) -> ListenerSpec {
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

/// A snapshot of accelerator `link-1` with `specs`, at `revision`.
pub fn snapshot(revision: u64, specs: Vec<ListenerSpec>) -> Snapshot {
    let mut snap = Snapshot {
        revision,
        ..Default::default()
    };
    snap.accelerators.insert(
        "link-1".into(),
        AcceleratorSpec {
            id: "link-1".into(),
            ..Default::default()
        },
    );
    for spec in specs {
        snap.listeners.insert(spec.id.clone(), Arc::new(spec));
    }
    snap
}

/// An edge on 127.0.0.1, fed through `tx`, until dropped.
pub struct Running {
    edge: Option<Edge>,
    tx: mpsc::Sender<Update>,
    pub applied: Arc<Applied>,
}

impl Running {
    /// Start with `snap` and wait until it is applied.
    pub fn start(snap: Snapshot) -> Self {
        let cfg = EdgeConfig {
            bind_address: [127, 0, 0, 1].into(),
            ..EdgeConfig::default()
        };
        Self::start_with(cfg, snap)
    }

    /// Same, with `cfg`.
    pub fn start_with(cfg: EdgeConfig, snap: Snapshot) -> Self {
        let rev = snap.revision;
        let (tx, rx) = mpsc::channel(4);
        tx.try_send(Update::Full(Arc::new(snap))).unwrap();
        let applied = Arc::new(Applied::default());
        let edge = Edge::start(cfg, rx, applied.clone()).expect("edge starts");
        let r = Self {
            edge: Some(edge),
            tx,
            applied,
        };
        r.wait_applied(rev);
        assert!(r.failures().is_empty(), "{:?}", r.failures());
        r
    }

    /// The listeners that could not open, as last reported.
    pub fn failures(&self) -> Vec<(String, String)> {
        self.applied.failures.lock().unwrap().clone()
    }

    /// Send `u` and wait until it is applied.
    pub fn send(&self, u: Update) {
        let rev = u.revision();
        self.tx.try_send(u).expect("the edge takes updates");
        self.wait_applied(rev);
    }

    /// Stop the edge; returns how long that took.
    pub fn shutdown(mut self) -> Duration {
        let t0 = Instant::now();
        if let Some(e) = self.edge.take() {
            e.shutdown();
        }
        t0.elapsed()
    }

    pub fn wait_applied(&self, rev: u64) {
        let end = Instant::now() + Duration::from_secs(10);
        while self.applied.revision.load(Relaxed) < rev {
            assert!(Instant::now() < end, "the edge applied revision {rev}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(e) = self.edge.take() {
            e.shutdown();
        }
    }
}
