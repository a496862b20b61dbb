//! `onramp serve`: open the store, load the control plane, create the root key on first start,
//! and serve the API (plain or TLS) until SIGTERM/SIGINT, then shut down gracefully.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use axum::routing::get;
use axum::Router;
use onramp_api::{Api, ApiConfig, Region};
use onramp_control::reconcile;
use onramp_control::Control;
use onramp_edge::{render_prometheus, Edge, EdgeConfig, EdgeStatus, Reporter};
use onramp_store::Store;
use onramp_store_sql::SqlStore;

use crate::bootstrap;
use crate::config::{HttpLimits, ServeArgs, ServeConfig};
use crate::httpd::{self, ConnLimits, Endpoint, Timeouts};

pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let cfg = ServeConfig::resolve(args)?;
    match onramp_edge::raise_fd_limit() {
        Ok(limit) => tracing::info!(limit, "descriptor limit"),
        Err(e) => tracing::warn!(error = %e, "cannot read the descriptor limit"),
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
    if bootstrap::ensure_root(&control, &cfg.data_dir, onramp_api::now_millis()).await? {
        println!(
            "onramp: created the root account; its key is in {}",
            cfg.data_dir.join("credentials.json").display()
        );
    }
    let api_cfg = ApiConfig {
        rate_limit: cfg.rate_limit,
        max_body: cfg.max_body,
        regions: vec![Region {
            id: cfg.region.clone(),
            name: cfg.region.clone(),
        }],
        bind_address: cfg.bind_address.to_string(),
        ..ApiConfig::default()
    };
    tokio::spawn(control.clone().follow_store(Duration::from_secs(1)));
    let edge = start_edge(&control, &cfg)?;
    let status = edge.status();
    let api = Api::new(control.clone(), status.clone(), api_cfg);
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
    let admin_app = admin_router(
        status,
        api.clone(),
        vec![api_limits.clone(), admin_limits.clone()],
    )
    .merge(crate::status::admin_routes(api.clone(), "serve"));
    let admin = endpoint(admin_socket, None, admin_app, admin_limits, &cfg.http);
    let admin_stopped = stopped.clone();
    tokio::spawn(async move {
        if let Err(e) = httpd::run(admin, admin_stopped).await {
            tracing::error!(error = %e, "admin endpoint failed");
        }
    });
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!(
        "onramp: API listening on {scheme}://{} (region {}, store {})",
        cfg.api_listen,
        cfg.region,
        store_kind(&cfg.store)
    );
    let app = api_app(api, tls.is_some());
    let api_ep = endpoint(api_socket, tls, app, api_limits, &cfg.http);
    httpd::run(api_ep, stopped)
        .await
        .context("serving the API")?;
    control.flush_audit().await;
    tokio::task::spawn_blocking(move || edge.shutdown()).await?;
    println!("onramp: stopped");
    Ok(())
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
fn bind(addr: SocketAddr, what: &str) -> anyhow::Result<socket2::Socket> {
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

fn listen(sock: socket2::Socket) -> anyhow::Result<TcpListener> {
    sock.listen(1024)?;
    sock.set_nonblocking(true)?;
    Ok(sock.into())
}

fn endpoint(
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

async fn shutdown_on_signal(stop: tokio::sync::watch::Sender<bool>) {
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

/// The local edge, following the reconciler's snapshots of this region.
fn start_edge(control: &Arc<Control>, cfg: &ServeConfig) -> anyhow::Result<Edge> {
    let (tx, rx) = tokio::sync::watch::channel(reconcile::snapshot(control, &cfg.region));
    control.attach_edge();
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
    tokio::spawn(reconcile::run(control.clone(), cfg.region.clone(), tx));
    Ok(edge)
}

struct ControlReporter(Arc<Control>);

impl Reporter for ControlReporter {
    fn applied(&self, revision: u64, failures: Vec<(String, String)>) {
        for (listener, error) in failures {
            tracing::warn!(listener, error, "listener not serving");
        }
        self.0.set_applied(revision);
    }
}

/// The audit writer's counters in Prometheus text.
fn render_audit(control: &Control) -> String {
    let c = control.audit_counts();
    format!(
        "# HELP onramp_audit_entries_total Audit log entries by what became of them (written, dropped: queue full, failed: refused by the store).\n\
         # TYPE onramp_audit_entries_total counter\n\
         onramp_audit_entries_total{{result=\"written\"}} {}\n\
         onramp_audit_entries_total{{result=\"dropped\"}} {}\n\
         onramp_audit_entries_total{{result=\"failed\"}} {}\n",
        c.written, c.dropped, c.failed
    )
}

/// `/healthz`, `/readyz` and `/metrics` (the edge's counters, the status gauges and the HTTP
/// endpoints').
fn admin_router(status: Arc<EdgeStatus>, api: Arc<Api>, endpoints: Vec<Arc<ConnLimits>>) -> Router {
    let metrics = move || {
        let status = status.clone();
        let endpoints = endpoints.clone();
        let api = api.clone();
        async move {
            let mut text = render_prometheus(&status);
            text.push_str(&render_audit(&api.control));
            crate::status::render_metrics(&api, &mut text);
            text.push_str(httpd::METRIC_HEADERS);
            for e in &endpoints {
                e.render(&mut text);
            }
            (
                [(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                text,
            )
        }
    };
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(|| async { "ready\n" }))
        .route("/metrics", get(metrics))
}
