//! The audit log's writer: `Control::audit` hands an entry to a bounded channel and returns at
//! once; one background task appends what arrives in batches (one store transaction per batch,
//! at most 256 entries or 50 ms apart), so an API request never waits for a second transaction.
//! When the channel is full the entry is dropped, counted and logged (at most every 10 s).
//! The same task prunes entries older than the retention once an hour, on one control node at a
//! time: the one that holds the store's `audit-prune` lease.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use onramp_core::audit::AUDIT_RETENTION_MS;
use onramp_core::AuditEntry;
use onramp_store::Store;
use tokio::sync::{mpsc, oneshot};

/// Entries waiting for the writer at most.
pub const AUDIT_QUEUE: usize = 8192;
const BATCH: usize = 256;
const BATCH_WAIT: Duration = Duration::from_millis(50);
const WARN_EVERY: Duration = Duration::from_secs(10);
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
const RETRIES: u32 = 3;

enum Msg {
    Entry(AuditEntry),
    Flush(oneshot::Sender<()>),
}

#[derive(Default)]
struct Counters {
    written: AtomicU64,
    dropped: AtomicU64,
    failed: AtomicU64,
}

pub(crate) struct AuditLog {
    tx: mpsc::Sender<Msg>,
    counters: Arc<Counters>,
    last_warn: Mutex<Option<Instant>>,
}

/// What the audit writer has done since start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AuditCounts {
    /// Entries appended to the store.
    pub written: u64,
    /// Entries dropped because the queue was full.
    pub dropped: u64,
    /// Entries lost because the store refused them (after retries).
    pub failed: u64,
}

impl AuditLog {
    /// Start the writer task on the current runtime.
    pub(crate) fn start(store: Arc<dyn Store>, node: String) -> Self {
        let (tx, rx) = mpsc::channel(AUDIT_QUEUE);
        let counters = Arc::new(Counters::default());
        tokio::spawn(run(store, node, rx, counters.clone()));
        Self {
            tx,
            counters,
            last_warn: Mutex::new(None),
        }
    }

    pub(crate) fn record(&self, entry: AuditEntry) {
        if self.tx.try_send(Msg::Entry(entry)).is_ok() {
            return;
        }
        let dropped = self.counters.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        let mut last = self.last_warn.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_none_or(|t| t.elapsed() >= WARN_EVERY) {
            *last = Some(Instant::now());
            tracing::warn!(dropped_total = dropped, "audit queue full: entries dropped");
        }
    }

    pub(crate) async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Msg::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }

    pub(crate) fn counts(&self) -> AuditCounts {
        AuditCounts {
            written: self.counters.written.load(Ordering::Relaxed),
            dropped: self.counters.dropped.load(Ordering::Relaxed),
            failed: self.counters.failed.load(Ordering::Relaxed),
        }
    }
}

pub(crate) fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

async fn run(
    store: Arc<dyn Store>,
    node: String,
    mut rx: mpsc::Receiver<Msg>,
    counters: Arc<Counters>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut flushes = Vec::new();
    let mut next_prune = Instant::now();
    while let Some(first) = rx.recv().await {
        let deadline = tokio::time::Instant::now() + BATCH_WAIT;
        let mut next = Some(first);
        loop {
            match next.take() {
                Some(Msg::Entry(e)) => batch.push(e),
                Some(Msg::Flush(done)) => flushes.push(done),
                None => {}
            }
            if batch.len() >= BATCH || !flushes.is_empty() {
                break;
            }
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(m)) => next = Some(m),
                Ok(None) | Err(_) => break,
            }
        }
        write(&*store, &mut batch, &counters).await;
        for done in flushes.drain(..) {
            let _ = done.send(());
        }
        if Instant::now() >= next_prune {
            next_prune = Instant::now() + PRUNE_EVERY;
            prune(&*store, &node).await;
        }
    }
    write(&*store, &mut batch, &counters).await;
}

/// Prune, if this node holds the lease (held a little less than the period, so the node that
/// pruned last does not keep it forever when it is late).
async fn prune(store: &dyn Store, node: &str) {
    match store
        .try_lease("audit-prune", node, PRUNE_EVERY - PRUNE_EVERY / 10)
        .await
    {
        Ok(true) => {}
        Ok(false) => return,
        Err(e) => {
            tracing::warn!(error = %e, "cannot take the audit-prune lease");
            return;
        }
    }
    match store.prune_audit(now_millis() - AUDIT_RETENTION_MS).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(pruned = n, "audit entries past retention removed"),
        Err(e) => tracing::warn!(error = %e, "cannot prune the audit log"),
    }
}

async fn write(store: &dyn Store, batch: &mut Vec<AuditEntry>, counters: &Counters) {
    if batch.is_empty() {
        return;
    }
    let n = batch.len() as u64;
    for attempt in 1..=RETRIES {
        match store.append_audit(batch).await {
            Ok(()) => {
                counters.written.fetch_add(n, Ordering::Relaxed);
                batch.clear();
                return;
            }
            Err(e) if attempt == RETRIES => {
                tracing::error!(error = %e, entries = n, "audit entries lost: the store refused them");
            }
            Err(e) => {
                tracing::warn!(error = %e, attempt, "cannot append audit entries; retrying");
                tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
            }
        }
    }
    counters.failed.fetch_add(n, Ordering::Relaxed);
    batch.clear();
}
