//! The control plane core.
//!
//! `Control` owns the desired configuration: an in-memory `State` loaded from the store and
//! patched after every commit. Writes are serialised: a writer sees the latest state, computes a
//! batch of ops, the store commits it (enforcing uniqueness and durability), then the state is
//! patched. Readers never touch the database.
//!
//! Two revisions matter: `committed` (the store's) and `applied` (the lowest revision the live
//! edges have applied, over every region or in one: see `edges`). A resource whose revision is
//! above `applied` is still being created/changed. With no live edge, commits count as applied
//! at once.
//!
//! Writes are also recorded in the audit log through `audit` (see the `audit` module): handed to a
//! background writer, never awaited by the request.
#![forbid(unsafe_code)]

pub mod audit;
pub mod edges;
pub mod reconcile;

use std::sync::{Arc, RwLock, RwLockReadGuard};

use onramp_core::{AuditEntry, Op, State};
use onramp_store::{Store, StoreError};
use tokio::sync::{watch, Mutex};

/// A write refused by the writer's own validation (`Rejected`) or by the store.
#[derive(Debug, thiserror::Error)]
pub enum WriteError<E> {
    #[error("rejected")]
    Rejected(E),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct Control {
    store: Arc<dyn Store>,
    state: RwLock<State>,
    writer: Mutex<()>,
    committed: watch::Sender<u64>,
    edges: Arc<edges::Edges>,
    audit: audit::AuditLog,
    quotas: std::sync::RwLock<onramp_core::Quotas>,
}

impl Control {
    /// Load the whole state from the store.
    pub async fn open(store: Arc<dyn Store>) -> Result<Arc<Self>, StoreError> {
        let loaded = store.load().await?;
        let state = State::from_records(loaded.revision, loaded.records);
        let (committed, _) = watch::channel(loaded.revision);
        Ok(Arc::new(Self {
            audit: audit::AuditLog::start(store.clone()),
            store,
            state: RwLock::new(state),
            writer: Mutex::new(()),
            committed,
            edges: Arc::default(),
            quotas: std::sync::RwLock::new(onramp_core::Quotas::default()),
        }))
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Record a write in the audit log. Never blocks: the entry is queued for the background
    /// writer, or dropped (counted, logged) when the queue is full.
    pub fn audit(&self, entry: AuditEntry) {
        self.audit.record(entry);
    }

    /// Wait until every entry queued before this call is in the store (shutdown, tests).
    pub async fn flush_audit(&self) {
        self.audit.flush().await;
    }

    /// Entries written, dropped and lost by the audit writer since start.
    pub fn audit_counts(&self) -> audit::AuditCounts {
        self.audit.counts()
    }

    /// The operator's quotas every operation enforces.
    pub fn quotas(&self) -> onramp_core::Quotas {
        *self.quotas.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Set the quotas (`onramp serve --quota-*`).
    pub fn set_quotas(&self, q: onramp_core::Quotas) {
        *self.quotas.write().unwrap_or_else(|p| p.into_inner()) = q;
    }

    /// Read the state. Keep the guard short: never hold it across an await.
    pub fn state(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Compute a batch from the current state and commit it. `f` returns the ops and a value
    /// for the caller; an empty batch commits nothing and returns the current revision.
    pub async fn write<R, E>(
        &self,
        f: impl FnOnce(&State) -> Result<(Vec<Op>, R), E>,
    ) -> Result<(u64, R), WriteError<E>> {
        let _w = self.writer.lock().await;
        // Another process (an admin command, another control node) may have written: validate
        // against the latest state.
        self.reload_if_behind().await?;
        let (ops, out) = {
            let s = self.state();
            f(&s).map_err(WriteError::Rejected)?
        };
        if ops.is_empty() {
            return Ok((self.committed_revision(), out));
        }
        let rev = self.store.commit(&ops).await?;
        {
            let mut s = self.state.write().unwrap_or_else(|p| p.into_inner());
            s.apply(rev, &ops);
        }
        self.committed.send_replace(rev);
        Ok((rev, out))
    }

    /// Reload the state if the store moved past what this node knows (others wrote to it).
    /// Returns whether it reloaded.
    pub async fn refresh(&self) -> Result<bool, StoreError> {
        if self.store.revision().await? <= self.committed_revision() {
            return Ok(false);
        }
        let _w = self.writer.lock().await;
        self.reload_if_behind().await
    }

    /// Callers hold the writer lock.
    async fn reload_if_behind(&self) -> Result<bool, StoreError> {
        if self.store.revision().await? <= self.committed_revision() {
            return Ok(false);
        }
        let loaded = self.store.load().await?;
        let rev = loaded.revision;
        *self.state.write().unwrap_or_else(|p| p.into_inner()) =
            State::from_records(rev, loaded.records);
        self.committed.send_replace(rev);
        tracing::info!(
            revision = rev,
            "reloaded the state written by another process"
        );
        Ok(true)
    }

    /// Follow writes made by other processes, checking every `every`.
    pub async fn follow_store(self: Arc<Self>, every: std::time::Duration) {
        loop {
            tokio::time::sleep(every).await;
            if let Err(e) = self.refresh().await {
                tracing::warn!(error = %e, "cannot read the store revision");
            }
        }
    }

    pub fn committed_revision(&self) -> u64 {
        *self.committed.borrow()
    }

    /// Watch committed revisions (the reconciler follows this).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.committed.subscribe()
    }

    /// The edges this node knows and what they report.
    pub fn edges(&self) -> &Arc<edges::Edges> {
        &self.edges
    }

    /// The lowest revision every live edge (of every region) has applied.
    pub fn applied_revision(&self) -> u64 {
        self.edges.applied_in(None, self.committed_revision())
    }

    /// The lowest revision the live edges of `region` have applied.
    pub fn applied_in(&self, region: &str) -> u64 {
        self.edges
            .applied_in(Some(region), self.committed_revision())
    }

    /// An in-process edge named `local` in region `local`, at the committed revision (tests).
    pub fn attach_edge(&self) {
        let none = Arc::new(onramp_core::health::NoHealth);
        let rev = self.committed_revision();
        self.edges
            .attach_local(LOCAL_EDGE, "local", Vec::new(), rev, none);
    }

    /// The in-process edge of `attach_edge` applied everything up to `rev`.
    pub fn set_applied(&self, rev: u64) {
        self.edges.applied_local(LOCAL_EDGE, rev, Vec::new());
    }

    /// Whether a record written at `revision` has been applied by the edges.
    pub fn is_applied(&self, revision: u64) -> bool {
        revision <= self.applied_revision()
    }
}

/// The name of `attach_edge`'s edge.
pub const LOCAL_EDGE: &str = "local";

#[cfg(test)]
mod tests {
    use super::*;
    use onramp_core::{Account, Record};
    use onramp_store_sqlite::SqliteStore;

    fn account(id: &str) -> Op {
        Op::Put(Record::Account(Account {
            id: id.into(),
            ..Default::default()
        }))
    }

    #[tokio::test]
    async fn writes_patch_state_and_revisions() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(&dir.path().join("db")).await.unwrap());
        let c = Control::open(store.clone()).await.unwrap();
        let (rev, n) = c
            .write(|s| Ok::<_, ()>((vec![account("a")], s.accounts.len())))
            .await
            .unwrap();
        assert_eq!((rev, n), (1, 0));
        assert!(c.state().accounts.contains_key("a"));
        assert!(c.is_applied(1));
        let r = c.write(|_| Err::<(Vec<Op>, ()), _>("no")).await;
        assert!(matches!(r, Err(WriteError::Rejected("no"))));

        c.attach_edge();
        let (rev, _) = c
            .write(|_| Ok::<_, ()>((vec![account("b")], ())))
            .await
            .unwrap();
        assert!(
            !c.is_applied(rev),
            "with an edge attached, applied waits for it"
        );
        c.set_applied(rev);
        assert!(c.is_applied(rev));

        let reopened = Control::open(store.clone()).await.unwrap();
        assert_eq!(reopened.state().accounts.len(), 2);
        assert_eq!(reopened.committed_revision(), 2);

        // A write by another node is picked up by refresh, and before any local write.
        let other = Control::open(store).await.unwrap();
        other
            .write(|_| Ok::<_, ()>((vec![account("c")], ())))
            .await
            .unwrap();
        assert!(reopened.refresh().await.unwrap());
        assert!(reopened.state().accounts.contains_key("c"));
        c.write(|s| {
            assert!(
                s.accounts.contains_key("c"),
                "writers validate against the latest state"
            );
            Ok::<_, ()>((vec![account("d")], ()))
        })
        .await
        .unwrap();
    }

    fn entry(i: i64) -> AuditEntry {
        // Recent: the writer prunes entries older than the retention.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        AuditEntry {
            time: now + i,
            account_id: "a".into(),
            dialect: "gaap".into(),
            operation: format!("Op{i}"),
            outcome: "ok".into(),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn audit_entries_reach_the_store_in_batches_without_moving_the_revision() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(&dir.path().join("db")).await.unwrap());
        let ancient = AuditEntry {
            time: 5,
            operation: "Ancient".into(),
            ..Default::default()
        };
        store.append_audit(&[ancient]).await.unwrap();
        let c = Control::open(store.clone()).await.unwrap();
        let started = std::time::Instant::now();
        for i in 0..600 {
            c.audit(entry(i));
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(1),
            "queuing never waits for the store"
        );
        c.flush_audit().await;
        let counts = c.audit_counts();
        assert_eq!((counts.written, counts.dropped, counts.failed), (600, 0, 0));
        let f = onramp_core::AuditFilter {
            limit: Some(10_000),
            ..Default::default()
        };
        let got = store.audit(&f).await.unwrap();
        assert_eq!(got.len(), 600, "and the entry past retention was pruned");
        assert_eq!(got[0].operation, "Op599");
        assert_eq!(store.revision().await.unwrap(), 0);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_full_audit_queue_drops_and_counts() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(&dir.path().join("db")).await.unwrap());
        let c = Control::open(store.clone()).await.unwrap();
        // On a current-thread runtime the writer cannot run until this test yields: the queue
        // fills and the rest is dropped, without blocking.
        let extra = 10;
        for i in 0..(audit::AUDIT_QUEUE as i64 + extra) {
            c.audit(entry(i));
        }
        assert_eq!(c.audit_counts().dropped, extra as u64);
        c.flush_audit().await;
        assert_eq!(c.audit_counts().written, audit::AUDIT_QUEUE as u64);
    }
}
