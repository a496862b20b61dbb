//! The HTTP server of the API and admin endpoints: our own accept loop over hyper, so that
//! every connection is admitted against per-source and total caps, held to a header and an
//! idle timeout (TLS handshake included in the first), served with half-close support, and
//! drained on shutdown. Requests reach the axum router with `ConnectInfo<SocketAddr>`.

mod conn;
mod limits;
mod tls;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;

pub use conn::Timeouts;
pub use limits::{ConnLimits, METRIC_HEADERS};
pub use tls::{reload_on_sighup, TlsFiles};

/// How long connections may take to finish after shutdown is signalled.
const GRACE: Duration = Duration::from_secs(10);
/// Pause after a failed accept (e.g. out of descriptors), so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// One listening endpoint.
pub struct Endpoint {
    pub listener: std::net::TcpListener,
    pub tls: Option<TlsAcceptor>,
    pub app: Router,
    pub limits: Arc<ConnLimits>,
    pub timeouts: Timeouts,
}

/// Accept and serve until `shutdown` turns true (or its sender is dropped), then let open
/// connections finish their request for up to `GRACE`.
pub async fn run(ep: Endpoint, mut shutdown: watch::Receiver<bool>) -> io::Result<()> {
    let listener = TcpListener::from_std(ep.listener)?;
    let ep = Arc::new(Shared {
        tls: ep.tls,
        app: ep.app,
        limits: ep.limits,
        timeouts: ep.timeouts,
    });
    let mut tasks = JoinSet::new();
    let mut last_error_log: Option<Instant> = None;
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    let Ok(guard) = ep.limits.admit(peer.ip()) else {
                        continue; // dropping `tcp` closes it at once
                    };
                    let ep = ep.clone();
                    let shutdown = shutdown.clone();
                    tasks.spawn(async move {
                        ep.connection(tcp, peer, shutdown).await;
                        drop(guard);
                    });
                }
                Err(e) => {
                    if last_error_log.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
                        tracing::warn!(error = %e, "accept failed; retrying");
                        last_error_log = Some(Instant::now());
                    }
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            _ = shutdown.changed() => break,
        }
    }
    drop(listener);
    let drained =
        tokio::time::timeout(GRACE, async { while tasks.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(
            left = tasks.len(),
            "closing connections still open after the grace period"
        );
        tasks.abort_all();
    }
    Ok(())
}

struct Shared {
    tls: Option<TlsAcceptor>,
    app: Router,
    limits: Arc<ConnLimits>,
    timeouts: Timeouts,
}

impl Shared {
    async fn connection(&self, tcp: TcpStream, peer: SocketAddr, shutdown: watch::Receiver<bool>) {
        let accepted = Instant::now();
        let _ = tcp.set_nodelay(true);
        let clock = conn::Clock::new(accepted);
        let (app, t, stats) = (self.app.clone(), self.timeouts, &self.limits.stats);
        match &self.tls {
            None => conn::serve(tcp, peer, app, clock, t, stats, shutdown).await,
            Some(acceptor) => {
                let handshake = acceptor.accept(tcp);
                match tokio::time::timeout_at(accepted + t.header, handshake).await {
                    Ok(Ok(tls)) => conn::serve(tls, peer, app, clock, t, stats, shutdown).await,
                    Ok(Err(e)) => {
                        stats.tls_failed();
                        tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    }
                    Err(_) => {
                        stats.tls_failed();
                        stats.expired(limits::Expiry::Header);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::ConnectInfo;
    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn requests_carry_the_client_address_and_shutdown_ends_the_loop() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new().route(
            "/",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }),
        );
        let ep = Endpoint {
            listener,
            tls: None,
            app,
            limits: ConnLimits::new("api", 4, 16),
            timeouts: Timeouts {
                header: Duration::from_secs(5),
                idle: Duration::from_secs(5),
            },
        };
        let (stop, stopped) = watch::channel(false);
        let server = tokio::spawn(run(ep, stopped));
        let mut s = TcpStream::connect(addr).await.unwrap();
        let me = s.local_addr().unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with(&me.to_string()), "{answer}");
        stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .expect("the loop ends on shutdown")
            .unwrap()
            .unwrap();
        assert!(TcpStream::connect(addr).await.is_err(), "still accepting");
    }
}
