//! The control plane core.
//!
//! `Control` owns the desired configuration: an in-memory `State` loaded from the store and
//! patched after every commit. Writes are serialised: a writer sees the latest state, computes a
//! batch of ops, the store commits it (enforcing uniqueness and durability), then the state is
//! patched. Readers never touch the database.
//!
//! Two revisions matter: `committed` (the store's) and `applied` (the lowest revision every edge
//! has applied). A resource whose revision is above `applied` is still being created/changed.
//! Until an edge attaches (`attach_edge`), commits count as applied at once.
#![forbid(unsafe_code)]

pub mod reconcile;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard};

use onramp_core::{Op, State};
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
    applied: AtomicU64,
    edge_attached: AtomicBool,
}

impl Control {
    /// Load the whole state from the store.
    pub async fn open(store: Arc<dyn Store>) -> Result<Arc<Self>, StoreError> {
        let loaded = store.load().await?;
        let state = State::from_records(loaded.revision, loaded.records);
        let (committed, _) = watch::channel(loaded.revision);
        Ok(Arc::new(Self {
            store,
            applied: AtomicU64::new(loaded.revision),
            state: RwLock::new(state),
            writer: Mutex::new(()),
            committed,
            edge_attached: AtomicBool::new(false),
        }))
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
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
        if !self.edge_attached.load(Ordering::Acquire) {
            self.applied.fetch_max(rev, Ordering::AcqRel);
        }
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
        if !self.edge_attached.load(Ordering::Acquire) {
            self.applied.fetch_max(rev, Ordering::AcqRel);
        }
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

    /// The revision every edge has applied.
    pub fn applied_revision(&self) -> u64 {
        self.applied.load(Ordering::Acquire)
    }

    /// From now on, `applied` only moves when an edge reports it.
    pub fn attach_edge(&self) {
        self.edge_attached.store(true, Ordering::Release);
    }

    /// An edge applied everything up to `rev`.
    pub fn set_applied(&self, rev: u64) {
        self.applied.fetch_max(rev, Ordering::AcqRel);
    }

    /// Whether a record written at `revision` has been applied by the edges.
    pub fn is_applied(&self, revision: u64) -> bool {
        revision <= self.applied_revision()
    }
}

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
}
