//! The run's context: paths, binaries, the orchestrator's own runtime, the mode (quick or
//! full) and the fixed loopback layout every system shares.

use std::cell::Cell;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Origins listen here (and on .4 … .7 for failover and convergence).
pub const ORIGIN_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
/// Every proxy listens here.
pub const PROXY_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);

/// iperf3 server (bulk origin).
pub const BULK_ORIGIN_PORT: u16 = 5201;
/// TCP and UDP echo origin.
pub const ECHO_ORIGIN_PORT: u16 = 7001;
pub const UDP_ORIGIN_PORT: u16 = 7002;
/// Proxy-side ports.
pub const BULK_PORT: u16 = 6201;
pub const ECHO_PORT: u16 = 6301;
pub const UDP_PORT: u16 = 6302;
pub const FAILOVER_PORT: u16 = 6401;
/// The bare splice relay of scenario 1's floor.
pub const FLOOR_PORT: u16 = 6202;
/// Failover origins: A is killed, B survives.
pub const FO_A: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 4), 7101);
pub const FO_B: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 5), 7102);

/// CPU of the proxy under test; the load generator, origins and this orchestrator use the other.
pub const PROXY_CPU: u32 = 1;
pub const LOAD_CPU: u32 = 0;

/// The root key given to every onramp this harness starts (a fresh store each time).
pub const SECRET_ID: &str = "AKIDonrampBenchmarkHarness0000000001";
pub const SECRET_KEY: &str = "onrampBenchmarkSecretKey00000001";

pub fn addr(ip: Ipv4Addr, port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(ip, port))
}

/// Durations and counts of one mode.
#[derive(Debug, Clone)]
pub struct Plan {
    pub quick: bool,
    pub reps: usize,
    pub bulk_seconds: u64,
    pub connrate_seconds: f64,
    pub pingpong_count: usize,
    pub udp_seconds: f64,
    pub idle_conns: usize,
    pub api_listeners: usize,
    pub api_origins: usize,
    pub api_seconds: f64,
    pub api_connections: usize,
    pub converge_trials: usize,
    pub failover_seconds: f64,
    pub failover_reps: usize,
}

impl Plan {
    pub fn new(quick: bool, reps: Option<usize>) -> Self {
        if quick {
            Self {
                quick,
                reps: reps.unwrap_or(2),
                bulk_seconds: 2,
                connrate_seconds: 2.0,
                pingpong_count: 10_000,
                udp_seconds: 2.0,
                idle_conns: 4_000,
                api_listeners: 1_000,
                api_origins: 10_000,
                api_seconds: 3.0,
                api_connections: 16,
                converge_trials: 20,
                failover_seconds: 4.0,
                failover_reps: 1,
            }
        } else {
            Self {
                quick,
                reps: reps.unwrap_or(5),
                bulk_seconds: 10,
                connrate_seconds: 10.0,
                pingpong_count: 100_000,
                udp_seconds: 10.0,
                idle_conns: 4_000,
                api_listeners: 10_000,
                api_origins: 100_000,
                api_seconds: 10.0,
                api_connections: 16,
                converge_trials: 100,
                failover_seconds: 12.0,
                failover_reps: 3,
            }
        }
    }
}

pub struct Ctx {
    /// `target/bench`.
    pub out: PathBuf,
    /// `target/bench/run`: configs, logs, data directories of this run.
    pub run_dir: PathBuf,
    /// Directory holding `onramp` and `onramp-load`.
    pub bin_dir: PathBuf,
    pub ticks: f64,
    pub plan: Plan,
    pub rt: tokio::runtime::Runtime,
    pub perf: Option<PathBuf>,
    seq: Cell<u32>,
}

impl Ctx {
    pub fn new(out: PathBuf, bin_dir: PathBuf, plan: Plan) -> anyhow::Result<Self> {
        let run_dir = out.join("run");
        if run_dir.exists() {
            std::fs::remove_dir_all(&run_dir)?;
        }
        std::fs::create_dir_all(&run_dir)?;
        // Absolute paths: nginx resolves relative ones against its prefix.
        let out = std::fs::canonicalize(&out)?;
        let run_dir = out.join("run");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(Self {
            out,
            run_dir,
            bin_dir,
            ticks: onramp_bench::procfs::clock_ticks(),
            plan,
            rt,
            perf: which("perf"),
            seq: Cell::new(0),
        })
    }

    /// A fresh number for file and directory names.
    pub fn next(&self) -> u32 {
        let n = self.seq.get() + 1;
        self.seq.set(n);
        n
    }

    pub fn bin(&self, name: &str) -> PathBuf {
        self.bin_dir.join(name)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.run_dir.join(name)
    }

    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }
}

/// Full path of a program on PATH (or in the sbin directories, where Debian puts daemons).
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"])
        .map(|d| Path::new(d).join(program))
        .find(|p| p.is_file());
    found
}

/// Sleep on the calling thread (the orchestrator is single-threaded between steps).
pub fn pause(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

/// A free TCP port on 127.0.0.1 for an API or admin listener.
pub fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}
