//! Learning of other processes' commits. Every follower reads the revision every
//! `Dialect::poll`; on PostgreSQL a `LISTEN` connection also hears the `NOTIFY` each commit sends
//! in its transaction, so followers wake at once. The listener starts with the first wait,
//! reconnects when its connection drops, and then reads the revision, so a commit whose
//! notification was lost is still found (by revision, never by the notification alone).

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::AnyPool;
use tokio::sync::watch;

/// How long the listener waits before connecting again after a failure.
const RETRY: Duration = Duration::from_secs(1);

/// Where the PostgreSQL listener connects and what it listens to.
#[derive(Debug, Clone)]
pub(crate) struct Listen {
    pub options: PgConnectOptions,
    pub channel: String,
}

/// The newest revision heard of, fed by the listener (PostgreSQL only).
pub(crate) struct Heard {
    listen: Option<Listen>,
    rx: std::sync::Mutex<Option<watch::Receiver<u64>>>,
}

impl Heard {
    pub(crate) fn new(listen: Option<Listen>) -> Self {
        Self {
            listen,
            rx: std::sync::Mutex::new(None),
        }
    }

    /// The revisions heard, starting the listener on first use; `None` without one.
    pub(crate) fn subscribe(&self, pool: &AnyPool) -> Option<watch::Receiver<u64>> {
        let listen = self.listen.as_ref()?;
        let mut rx = self.rx.lock().unwrap_or_else(|p| p.into_inner());
        if rx.is_none() {
            let (tx, new_rx) = watch::channel(0);
            tokio::spawn(run(listen.clone(), pool.clone(), tx));
            *rx = Some(new_rx);
        }
        rx.clone()
    }
}

/// Publish `rev` if it is newer than what was heard.
fn heard(tx: &watch::Sender<u64>, rev: u64) {
    tx.send_if_modified(|v| {
        let newer = rev > *v;
        if newer {
            *v = rev;
        }
        newer
    });
}

/// Read the revision (after connecting, or reconnecting: what was committed meanwhile).
async fn catch_up(pool: &AnyPool, tx: &watch::Sender<u64>) {
    match pool.acquire().await {
        Ok(mut conn) => match crate::records::revision(&mut conn).await {
            Ok(rev) => heard(tx, rev),
            Err(e) => tracing::debug!(error = %e, "reading the revision after LISTEN"),
        },
        Err(e) => tracing::debug!(error = %e, "reading the revision after LISTEN"),
    }
}

/// Listen until every receiver is gone (the store was dropped).
async fn run(listen: Listen, pool: AnyPool, tx: watch::Sender<u64>) {
    let pg = PgPoolOptions::new()
        .max_connections(1)
        .connect_lazy_with(listen.options.clone());
    loop {
        let connected = async {
            let mut l = PgListener::connect_with(&pg).await?;
            l.listen(&listen.channel).await?;
            Ok::<_, sqlx::Error>(l)
        };
        let mut listener = tokio::select! {
            _ = tx.closed() => return,
            r = connected => match r {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot LISTEN for other nodes' commits; polling the revision meanwhile");
                    tokio::select! { _ = tx.closed() => return, _ = tokio::time::sleep(RETRY) => continue }
                }
            },
        };
        catch_up(&pool, &tx).await;
        loop {
            tokio::select! {
                _ = tx.closed() => return,
                r = listener.try_recv() => match r {
                    Ok(Some(n)) => match n.payload().parse() {
                        Ok(rev) => heard(&tx, rev),
                        Err(_) => tracing::debug!(payload = n.payload(), "a notification that is not a revision"),
                    },
                    Ok(None) => {
                        // Reconnected (and listening again): what committed meanwhile is found by revision.
                        tracing::info!("the LISTEN connection dropped and was made again");
                        catch_up(&pool, &tx).await;
                    }
                    Err(e) => {
                        tracing::info!(error = %e, "the LISTEN connection failed; connecting again");
                        tokio::time::sleep(RETRY / 10).await;
                        break;
                    }
                },
            }
        }
    }
}
