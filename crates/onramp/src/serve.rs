//! `onramp serve`: open the store, load the control plane, create the root key on first start,
//! and serve the API (plain or TLS) until SIGTERM/SIGINT, then shut down gracefully.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use axum::Router;
use onramp_api::{Api, ApiConfig, Region};
use onramp_control::{Control, LOCAL_EDGE};
use onramp_edge::{Edge, EdgeConfig, Reporter};
use onramp_store::Store;
use onramp_store_sql::SqlStore;
use onramp_sync::follow::{follow, LocalSource};
use onramp_sync::server::EdgeApi;

use crate::admin_http;
use crate::bootstrap;
use crate::config::{HttpLimits, ServeArgs, ServeConfig};
use crate::httpd::{self, ConnLimits, Endpoint, Timeouts};

pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    node(ServeConfig::resolve(args)?, Role::Serve).await
}

/// `onramp control`: the APIs and the reconciler over a shared store, no data plane.
pub async fn control(args: ServeArgs) -> anyhow::Result<()> {
    if let Some(flag) = args.edge_flag_given() {
        bail!("{flag} is a flag of the roles with an edge (`onramp serve`, `onramp edge`), not of `onramp control`");
    }
    let cfg = ServeConfig::resolve(args)?;
    if cfg.edge_token.is_none() {
        tracing::warn!("no edge token (ONRAMP_EDGE_TOKEN or --edge-token-file): no edge can join this control node");
    }
    node(cfg, Role::Control).await
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    /// API, reconciler and an in-process edge.
    Serve,
    /// API and reconciler only.
    Control,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Serve => "serve",
            Role::Control => "control",
        }
    }
}

async fn node(cfg: ServeConfig, role: Role) -> anyhow::Result<()> {
    if role == Role::Serve {
        match onramp_edge::raise_fd_limit() {
            Ok(limit) => tracing::info!(limit, "descriptor limit"),
            Err(e) => tracing::warn!(error = %e, "cannot read the descriptor limit"),
        }
    }
    prepare_data_dir(&cfg.data_dir)?;
    let api_socket = bind(cfg.api_listen, "API")?;
    let admin_socket = bind(cfg.admin_listen, "admin")?;
    let tls_files = match &cfg.tls {
        Some((cert, key)) => Some(httpd::TlsFiles::load(cert, key)?),
        None => None,
    };
    let tls = tls_files.as_ref().map(httpd::TlsFiles::acceptor);
    tokio::spawn(httpd::reload_on_sighup(tls_files));
    let store = crate::secrets::open_store(&cfg.store, &cfg.master_key).await?;
    let control = Control::open(store).await.context("loading the store")?;
    control.set_quotas(cfg.quotas);
    control.edges().set_lost_after(cfg.edge_lost_after);
    if bootstrap::ensure_root(&control, &cfg.data_dir, onramp_api::now_millis()).await? {
        println!(
            "onramp: created the root account; its key is in {}",
            cfg.data_dir.join("credentials.json").display()
        );
    }
    let api_cfg = ApiConfig {
        rate_limit: cfg.rate_limit,
        max_body: cfg.max_body,
        regions: match role {
            Role::Serve => vec![Region {
                id: cfg.region.clone(),
                name: cfg.region.clone(),
            }],
            Role::Control => Vec::new(),
        },
        bind_address: cfg.bind_address.to_string(),
        ..ApiConfig::default()
    };
    tokio::spawn(control.clone().follow_store(Duration::from_secs(1)));
    let edge = match role {
        Role::Serve => Some(start_edge(&control, &cfg)?),
        Role::Control => None,
    };
    let status = edge.as_ref().map(|e| e.status());
    let api = Api::new(control.clone(), control.edges().clone(), api_cfg);
    let (api_socket, admin_socket) = (listen(api_socket)?, listen(admin_socket)?);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(shutdown_on_signal(stop));
    let api_limits = ConnLimits::new(
        "api",
        cfg.http.max_conns_per_source,
        cfg.http.max_connections,
    );
    let admin_limits = ConnLimits::new(
        "admin",
        cfg.http.max_conns_per_source,
        cfg.http.max_connections,
    );
    let admin_app = admin_http::node_router(
        status,
        api.clone(),
        vec![api_limits.clone(), admin_limits.clone()],
    )
    .merge(crate::status::admin_routes(api.clone(), role.name()));
    spawn_endpoint(
        endpoint(admin_socket, None, admin_app, admin_limits, &cfg.http),
        &stopped,
        "admin",
    );
    let scheme = if tls.is_some() { "https" } else { "http" };
    let what = match role {
        Role::Serve => format!("region {}", cfg.region),
        Role::Control => "control node".to_string(),
    };
    println!(
        "onramp: API listening on {scheme}://{} ({what}, store {})",
        cfg.api_listen,
        store_kind(&cfg.store)
    );
    let edges = EdgeApi::new(control.clone(), cfg.edge_token.clone().map(|t| t.0));
    let app = api_app(api, tls.is_some()).merge(onramp_sync::server::router(edges));
    let api_ep = endpoint(api_socket, tls, app, api_limits, &cfg.http);
    httpd::run(api_ep, stopped)
        .await
        .context("serving the API")?;
    control.flush_audit().await;
    if let Some(edge) = edge {
        tokio::task::spawn_blocking(move || edge.shutdown()).await?;
    }
    println!("onramp: stopped");
    Ok(())
}

/// Serve `ep` in the background until `stopped`.
pub fn spawn_endpoint(
    ep: Endpoint,
    stopped: &tokio::sync::watch::Receiver<bool>,
    what: &'static str,
) {
    let stopped = stopped.clone();
    tokio::spawn(async move {
        if let Err(e) = httpd::run(ep, stopped).await {
            tracing::error!(error = %e, "{what} endpoint failed");
        }
    });
}

/// Everything the API listener serves: every dialect and the console (`/console/`, with
/// `Secure` cookies over TLS).
pub fn api_app(api: Arc<Api>, tls: bool) -> Router {
    let console = onramp_console::ConsoleConfig {
        secure_cookies: tls,
        ..Default::default()
    };
    onramp_api::router(api.clone()).merge(onramp_console::router(api, console))
}

/// A store URL without its password.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…{}", &url[..s], &url[at..]),
        _ => url.to_string(),
    }
}

fn store_kind(url: &str) -> &str {
    url.split(':').next().unwrap_or("")
}

fn prepare_data_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create data directory {}", dir.display()))?;
    let probe = dir.join(".onramp-write-test");
    std::fs::write(&probe, b"")
        .with_context(|| format!("data directory {} is not writable", dir.display()))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

/// Claim `addr` now (a taken port is a clear start-up error) without accepting yet: clients
/// are refused until `listen`, so an accepted connection means the server is ready.
pub fn bind(addr: SocketAddr, what: &str) -> anyhow::Result<socket2::Socket> {
    let sock = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        None,
    )?;
    sock.set_reuse_address(true)?;
    sock.bind(&addr.into())
        .with_context(|| format!("cannot listen for the {what} on {addr} (is the port in use?)"))?;
    Ok(sock)
}

pub fn listen(sock: socket2::Socket) -> anyhow::Result<TcpListener> {
    sock.listen(1024)?;
    sock.set_nonblocking(true)?;
    Ok(sock.into())
}

pub fn endpoint(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    app: Router,
    limits: Arc<ConnLimits>,
    http: &HttpLimits,
) -> Endpoint {
    Endpoint {
        listener,
        tls,
        app,
        limits,
        timeouts: Timeouts {
            header: http.header_timeout,
            idle: http.idle_timeout,
        },
    }
}

/// The backend at `url`, as it is on disk (secrets sealed): `secrets::open_store` wraps it.
pub async fn open_backend(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    if onramp_store_sql::dialect::of_url(url).is_none() {
        bail!("--store '{url}' must start with sqlite:// or postgres://");
    }
    let s = SqlStore::open(url)
        .await
        .with_context(|| format!("cannot open store {}", redact(url)))?;
    Ok(Arc::new(s))
}

pub async fn shutdown_on_signal(stop: tokio::sync::watch::Sender<bool>) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
    // The endpoints stop accepting and give open connections up to 10 s to finish.
    let _ = stop.send(true);
}

/// The local edge, following the reconciler's updates of this region.
fn start_edge(control: &Arc<Control>, cfg: &ServeConfig) -> anyhow::Result<Edge> {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let edge_cfg = EdgeConfig {
        region: cfg.region.clone(),
        bind_address: cfg.bind_address,
        worker_threads: cfg.edge_threads,
        busy_poll: cfg.busy_poll,
        fd_reserve: cfg.fd_reserve,
        max_flows: cfg.max_flows,
        max_udp_flows: cfg.max_udp_flows,
        udp_flows_per_source: cfg.udp_flows_per_source,
        access_log: Some(onramp_edge::access_log::Sink::parse(&cfg.access_log)),
        access_log_all: cfg.access_log_all,
        ..EdgeConfig::default()
    };
    let edge = Edge::start(edge_cfg, rx, Arc::new(ControlReporter(control.clone())))
        .context("starting the edge")?;
    control.edges().attach_local(
        LOCAL_EDGE,
        &cfg.region,
        vec![cfg.bind_address.to_string()],
        0,
        edge.status(),
    );
    let source = LocalSource {
        control: control.clone(),
        region: cfg.region.clone(),
    };
    tokio::spawn(follow(source, None, tx, None));
    Ok(edge)
}

struct ControlReporter(Arc<Control>);

impl Reporter for ControlReporter {
    fn applied(&self, revision: u64, failures: Vec<(String, String)>) {
        self.0.edges().applied_local(LOCAL_EDGE, revision, failures);
    }
}
