//! The edge: the data plane that forwards TCP and UDP from listeners to healthy origins.
//!
//! The edge runs on its own tokio runtime (its own threads) and never awaits the control plane
//! or the store: it receives `Update`s (a full `Snapshot`, or a `Delta` naming only what
//! changed) through a channel, applies each as a diff (new listeners open, removed ones close,
//! changed ones update in place, the others are not touched), and reports
//! back through the `Reporter` (applied revision, listener failures) and `EdgeStatus` (health
//! per binding, counters), both of which are plain shared memory.
#![forbid(unsafe_code)]

pub mod access_log;
mod apply;
mod backend;
mod budget;
mod dgram;
mod flows;
mod health;
mod listener;
mod metrics;
mod relay;
mod runtime;
mod seqlog;
mod sockets;
mod splice;
mod stats;
mod status;
mod tcp;
mod udp;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use onramp_core::snapshot::Update;
use tokio::sync::{mpsc, watch};

pub use budget::{open_fds, raise_fd_limit};
pub use metrics::render_prometheus;
pub use status::{EdgeStatus, HealthChanges};

/// How the edge runs.
#[derive(Debug, Clone)]
pub struct EdgeConfig {
    /// The edge's name and region, as status views show them.
    pub name: String,
    pub region: String,
    /// Address listeners bind to.
    pub bind_address: IpAddr,
    /// Worker threads of the edge's runtime.
    pub worker_threads: usize,
    /// Spin instead of sleeping while there are listeners: the least delay per packet, for a
    /// whole core always busy (see `runtime`; needs one worker thread).
    pub busy_poll: bool,
    /// Close a TCP connection idle for this long.
    pub tcp_idle_timeout: Duration,
    /// UDP flow idle expiry when the listener sets no persistence time.
    pub udp_idle_timeout: Duration,
    /// Most UDP flows per listener port; new flows are refused past it.
    pub max_udp_flows: usize,
    /// Most UDP flows of one source address per listener port; 0 = no limit.
    pub udp_flows_per_source: usize,
    /// Descriptors kept for the API, the store and health checks [default: the larger of 256
    /// and a tenth of the limit].
    pub fd_reserve: Option<u64>,
    /// Cap of the data plane's descriptor budget (a TCP connection counts 2, a UDP flow 1).
    pub max_flows: Option<u64>,
    /// Connect timeout towards an origin.
    pub connect_timeout: Duration,
    /// How long connections to an unbound origin may continue.
    pub drain_timeout: Duration,
    /// Where listeners with a log tank write their access log; `None` = nowhere.
    pub access_log: Option<access_log::Sink>,
    /// Every listener writes the access log, not only those with a log tank.
    pub access_log_all: bool,
}

impl Default for EdgeConfig {
    fn default() -> Self {
        Self {
            name: "local".into(),
            region: "local".into(),
            bind_address: IpAddr::from([0, 0, 0, 0]),
            worker_threads: 1,
            busy_poll: false,
            tcp_idle_timeout: Duration::from_secs(900),
            udp_idle_timeout: Duration::from_secs(60),
            max_udp_flows: 65_536,
            udp_flows_per_source: 64,
            fd_reserve: None,
            max_flows: None,
            connect_timeout: Duration::from_secs(3),
            drain_timeout: Duration::from_secs(300),
            access_log: None,
            access_log_all: false,
        }
    }
}

/// What every listener of the edge shares: its config and its descriptor budget.
pub(crate) struct Shared {
    pub cfg: EdgeConfig,
    pub budget: Arc<budget::Budget>,
    /// The access-log sink, when one is configured.
    pub log: Option<access_log::AccessLog>,
}

/// What the edge tells the control plane.
pub trait Reporter: Send + Sync + 'static {
    /// Everything up to `revision` is applied; `failures` are the listeners that could not open
    /// (all of them, by ID, each with why). Called after every update and every retry.
    fn applied(&self, revision: u64, failures: Vec<(String, String)>);
}

/// A running edge. Dropping it does not stop it; call `shutdown`.
pub struct Edge {
    status: Arc<EdgeStatus>,
    stop: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Edge {
    /// Start the edge on its own runtime, applying `updates` in order (the first should be a
    /// full snapshot).
    pub fn start(
        cfg: EdgeConfig,
        updates: mpsc::Receiver<Update>,
        reporter: Arc<dyn Reporter>,
    ) -> std::io::Result<Self> {
        let rt = runtime::build(&cfg)?;
        let fd_limit = budget::fd_limit();
        let open = open_fds();
        let limit = budget::budget_limit(fd_limit, cfg.fd_reserve, open, cfg.max_flows);
        tracing::info!(
            descriptors = fd_limit,
            open,
            budget = limit,
            "data plane descriptor budget"
        );
        let dropped = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let log = match &cfg.access_log {
            Some(sink) => Some(access_log::AccessLog::start(
                sink,
                cfg.access_log_all,
                dropped.clone(),
            )?),
            None => None,
        };
        let shared = Arc::new(Shared {
            cfg,
            budget: Arc::new(budget::Budget::new(limit)),
            log,
        });
        let mut status = EdgeStatus::new(shared.budget.clone(), rt.handle().clone());
        status.identity = (shared.cfg.name.clone(), shared.cfg.region.clone());
        status.access_log_dropped = dropped;
        let status = Arc::new(status);
        let (stop, stop_rx) = watch::channel(false);
        let st = status.clone();
        let thread = std::thread::Builder::new()
            .name("onramp-edge".into())
            .spawn(move || {
                rt.block_on(async {
                    let reporter = runtime::start_spinning(&shared.cfg, &st, reporter);
                    apply::run(shared, updates, reporter, st, stop_rx).await
                });
                rt.shutdown_timeout(Duration::from_secs(1));
            })?;
        Ok(Self {
            status,
            stop,
            thread: Some(thread),
        })
    }

    pub fn status(&self) -> Arc<EdgeStatus> {
        self.status.clone()
    }

    /// Close every listener and stop the runtime.
    pub fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
