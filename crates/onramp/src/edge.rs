//! `onramp edge`: a data-plane node only. It never opens the store: it registers with the
//! control nodes of `--control`, follows one of them for its region's configuration (a full
//! snapshot, then changes only; another node at once when that one fails), keeps a copy in
//! `--state-dir` (served at start, before any control node answers), and reports to every
//! control node. Flags also from `ONRAMP_*` and `--config` (flag > environment > file >
//! default).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use onramp_core::snapshot::Update;
use onramp_edge::{Edge, EdgeConfig};
use onramp_sync::client::{tls_config, ControlClient};
use onramp_sync::follow::follow;
use onramp_sync::remote::RemoteSource;
use onramp_sync::report::{self, Applied, Identity};
use onramp_sync::state_dir::{self, StateWriter};
use serde::Deserialize;
use serde_json::json;

use crate::admin_http;
use crate::config::{self, EdgeToken, HttpLimits};
use crate::httpd::ConnLimits;

#[derive(Args, Debug, Default)]
pub struct EdgeArgs {
    /// Control node URLs, comma-separated (http:// or https://); the edge follows one and reports to all
    #[arg(long, env = "ONRAMP_CONTROL", value_delimiter = ',')]
    pub control: Vec<String>,
    /// This edge's name, unique among the edges
    #[arg(long, env = "ONRAMP_NAME")]
    pub name: Option<String>,
    /// The region this edge serves (= GAAP access region)
    #[arg(long, env = "ONRAMP_REGION")]
    pub region: Option<String>,
    /// IP address listeners open on [default: 0.0.0.0]
    #[arg(long, env = "ONRAMP_BIND_ADDRESS")]
    pub bind_address: Option<String>,
    /// Addresses clients reach this edge on, comma-separated [default: --bind-address]
    #[arg(long, env = "ONRAMP_ADVERTISE_ADDRESS", value_delimiter = ',')]
    pub advertise_address: Vec<String>,
    /// Address of the admin endpoint (/metrics, /healthz, /readyz, /status) [default: 127.0.0.1:7082]
    #[arg(long, env = "ONRAMP_ADMIN_LISTEN")]
    pub admin_listen: Option<String>,
    /// Directory keeping the last configuration, served after a restart [default: ./onramp-edge-state]
    #[arg(long, env = "ONRAMP_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// File holding the shared edge token [default: the ONRAMP_EDGE_TOKEN environment variable]
    #[arg(long, env = "ONRAMP_EDGE_TOKEN_FILE")]
    pub edge_token_file: Option<PathBuf>,
    /// PEM file of the CA that signed the control nodes' certificates [default: the system's roots]
    #[arg(long, env = "ONRAMP_CONTROL_CA")]
    pub control_ca: Option<PathBuf>,
    /// TOML file with the same keys (snake_case); flags and environment win over it
    #[arg(long, env = "ONRAMP_CONFIG")]
    pub config: Option<PathBuf>,
    /// Worker threads of the data plane [default: 1]
    #[arg(long, env = "ONRAMP_EDGE_THREADS")]
    pub edge_threads: Option<usize>,
    /// Busy polling: the edge thread spins instead of sleeping while there are listeners (least
    /// delay per packet, for a whole core always busy; needs --edge-threads 1) [default: false]
    #[arg(long, env = "ONRAMP_BUSY_POLL", num_args = 0..=1, default_missing_value = "true",
          value_parser = clap::builder::BoolishValueParser::new())]
    pub busy_poll: Option<bool>,
    /// Descriptors kept for the admin endpoint, the control connections and health checks [default: max(256, limit/10)]
    #[arg(long, env = "ONRAMP_FD_RESERVE")]
    pub fd_reserve: Option<u64>,
    /// Cap of the data plane's descriptor budget [default: limit - reserve - open]
    #[arg(long, env = "ONRAMP_MAX_FLOWS")]
    pub max_flows: Option<u64>,
    /// Most UDP flows per listener port [default: 65536]
    #[arg(long, env = "ONRAMP_MAX_UDP_FLOWS")]
    pub max_udp_flows: Option<usize>,
    /// Most UDP flows of one source address per listener port; 0 = no limit [default: 64]
    #[arg(long, env = "ONRAMP_UDP_FLOWS_PER_SOURCE")]
    pub udp_flows_per_source: Option<usize>,
    /// Access log of every listener (one JSON line per closed connection or expired UDP flow), `-`
    /// for stdout; without it only listeners with a log tank log, into STATE_DIR/access.log
    #[arg(long, env = "ONRAMP_ACCESS_LOG")]
    pub access_log: Option<String>,
}

/// The same keys in a file.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct EdgeFile {
    control: Option<Vec<String>>,
    name: Option<String>,
    region: Option<String>,
    bind_address: Option<String>,
    advertise_address: Option<Vec<String>>,
    admin_listen: Option<String>,
    state_dir: Option<PathBuf>,
    edge_token_file: Option<PathBuf>,
    control_ca: Option<PathBuf>,
    edge_threads: Option<usize>,
    busy_poll: Option<bool>,
    fd_reserve: Option<u64>,
    max_flows: Option<u64>,
    max_udp_flows: Option<usize>,
    udp_flows_per_source: Option<usize>,
    access_log: Option<String>,
}

/// Validated configuration of `onramp edge`.
#[derive(Debug, Clone)]
pub struct EdgeNodeConfig {
    pub control: Vec<String>,
    pub me: Identity,
    pub admin_listen: SocketAddr,
    pub state_dir: PathBuf,
    pub token: EdgeToken,
    pub control_ca: Option<PathBuf>,
    pub data_plane: EdgeConfig,
}

fn nonempty(v: Vec<String>) -> Option<Vec<String>> {
    let v: Vec<String> = v.into_iter().filter(|s| !s.trim().is_empty()).collect();
    (!v.is_empty()).then_some(v)
}

impl EdgeNodeConfig {
    pub fn resolve(a: EdgeArgs) -> anyhow::Result<Self> {
        let f: EdgeFile = match &a.config {
            Some(p) => config::read_file(p)?,
            None => EdgeFile::default(),
        };
        let control = nonempty(a.control)
            .or(f.control)
            .context("--control URL[,URL…] is needed: the control nodes to follow")?;
        let name = a
            .name
            .or(f.name)
            .context("--name is needed: this edge's name")?;
        if name.is_empty() || name.len() > 64 || name.chars().any(|c| c.is_control() || c == ' ') {
            bail!("--name '{name}' must be 1-64 characters without spaces");
        }
        let region = config::region(a.region.or(f.region).context("--region is needed")?)?;
        let bind_text = a
            .bind_address
            .or(f.bind_address)
            .unwrap_or_else(|| "0.0.0.0".into());
        let bind_address: IpAddr = bind_text
            .parse()
            .with_context(|| format!("--bind-address '{bind_text}' is not an IP address"))?;
        let addresses = nonempty(a.advertise_address)
            .or(f.advertise_address)
            .unwrap_or_else(|| vec![bind_address.to_string()]);
        for addr in &addresses {
            addr.parse::<IpAddr>()
                .with_context(|| format!("--advertise-address '{addr}' is not an IP address"))?;
        }
        let admin_listen = config::addr(
            "admin-listen",
            &a.admin_listen
                .or(f.admin_listen)
                .unwrap_or_else(|| "127.0.0.1:7082".into()),
        )?;
        let state_dir = a
            .state_dir
            .or(f.state_dir)
            .unwrap_or_else(|| PathBuf::from("./onramp-edge-state"));
        let token = config::edge_token(a.edge_token_file.or(f.edge_token_file).as_deref())?
            .context("the edge token is needed: set ONRAMP_EDGE_TOKEN or --edge-token-file")?;
        // As in `serve`: a named `--access-log` logs every listener; without one, only the
        // listeners whose dialect asks for it (a log tank) log, into the state directory.
        let named_log = a.access_log.or(f.access_log).filter(|s| !s.is_empty());
        let access_log_all = named_log.is_some();
        let access_log = named_log
            .unwrap_or_else(|| state_dir.join("access.log").to_string_lossy().into_owned());
        let worker_threads = a.edge_threads.or(f.edge_threads).unwrap_or(1).clamp(1, 256);
        let data_plane = EdgeConfig {
            name: name.clone(),
            region: region.clone(),
            bind_address,
            worker_threads,
            busy_poll: config::busy_poll(a.busy_poll, f.busy_poll, worker_threads)?,
            fd_reserve: a.fd_reserve.or(f.fd_reserve),
            max_flows: a.max_flows.or(f.max_flows),
            max_udp_flows: a.max_udp_flows.or(f.max_udp_flows).unwrap_or(65_536),
            udp_flows_per_source: a
                .udp_flows_per_source
                .or(f.udp_flows_per_source)
                .unwrap_or(64),
            access_log: Some(onramp_edge::access_log::Sink::parse(&access_log)),
            access_log_all,
            ..EdgeConfig::default()
        };
        Ok(Self {
            control,
            me: Identity {
                name,
                region,
                addresses,
            },
            admin_listen,
            state_dir,
            token,
            control_ca: a.control_ca.or(f.control_ca),
            data_plane,
        })
    }
}

/// Limits of the edge's admin endpoint.
const ADMIN_LIMITS: HttpLimits = HttpLimits {
    header_timeout: Duration::from_secs(10),
    idle_timeout: Duration::from_secs(60),
    max_conns_per_source: 128,
    max_connections: 1024,
};

pub async fn run(args: EdgeArgs) -> anyhow::Result<()> {
    let cfg = EdgeNodeConfig::resolve(args)?;
    match onramp_edge::raise_fd_limit() {
        Ok(limit) => tracing::info!(limit, "descriptor limit"),
        Err(e) => tracing::warn!(error = %e, "cannot read the descriptor limit"),
    }
    let admin_socket = crate::serve::bind(cfg.admin_listen, "admin")?;
    let tls = tls_config(cfg.control_ca.as_deref())?;
    let clients = |_| -> anyhow::Result<Vec<Arc<ControlClient>>> {
        cfg.control
            .iter()
            .map(|u| Ok(Arc::new(ControlClient::new(u, &cfg.token.0, tls.clone())?)))
            .collect()
    };
    let (pollers, reporters) = (clients(())?, clients(())?);
    let kept = state_dir::load(&cfg.state_dir)
        .with_context(|| format!("reading --state-dir {}", cfg.state_dir.display()))?;
    let writer = StateWriter::start(&cfg.state_dir, kept.clone())?;
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let at = kept.map(|snap| {
        tracing::info!(
            revision = snap.revision,
            listeners = snap.listeners.len(),
            "serving the configuration kept in the state directory"
        );
        let rev = snap.revision;
        let _ = tx.try_send(Update::Full(Arc::new(snap)));
        rev
    });
    let applied = Arc::new(Applied::default());
    let edge =
        Edge::start(cfg.data_plane.clone(), rx, applied.clone()).context("starting the edge")?;
    let status = edge.status();
    let source = RemoteSource::new(cfg.me.clone(), pollers);
    tokio::spawn(follow(source, at, tx, Some(writer)));
    for c in reporters {
        let every = onramp_sync::server::REPORT_EVERY;
        tokio::spawn(report::run(
            c,
            cfg.me.clone(),
            status.clone(),
            applied.clone(),
            every,
        ));
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(crate::serve::shutdown_on_signal(stop));
    // The edge serves no TLS of its own: a SIGHUP (sent to every onramp on a machine when the
    // control node's certificate rotates) is logged and ignored instead of ending the process.
    tokio::spawn(crate::httpd::reload_on_sighup(None));
    let limits = ConnLimits::new(
        "admin",
        ADMIN_LIMITS.max_conns_per_source,
        ADMIN_LIMITS.max_connections,
    );
    let shown = json!({
        "role": "edge",
        "name": cfg.me.name,
        "region": cfg.me.region,
        "addresses": cfg.me.addresses,
        "control": cfg.control,
        "state_dir": cfg.state_dir,
    });
    let a = applied.clone();
    let view = Arc::new(move || {
        let (rev, failures) = a.get();
        let mut v = shown.clone();
        v["applied_revision"] = json!(rev);
        v["failed_listeners"] = json!(failures.len());
        v
    });
    let app = admin_http::edge_router(status, vec![limits.clone()], view);
    let admin = crate::serve::endpoint(
        crate::serve::listen(admin_socket)?,
        None,
        app,
        limits,
        &ADMIN_LIMITS,
    );
    println!(
        "onramp: edge {} (region {}) on {}, following {}",
        cfg.me.name,
        cfg.me.region,
        cfg.data_plane.bind_address,
        cfg.control.join(",")
    );
    crate::httpd::run(admin, stopped)
        .await
        .context("serving the admin endpoint")?;
    tokio::task::spawn_blocking(move || edge.shutdown()).await?;
    println!("onramp: stopped");
    Ok(())
}
