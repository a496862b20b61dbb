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
//! Every committed batch, this node's or another node's, is also kept for a while in a bounded
//! window (`changes_since`, see `changes`), so the rest of the process follows changes by
//! revision at a cost that follows the change, not the store.
//!
//! Writes are also recorded in the audit log through `audit` (see the `audit` module): handed to a
//! background writer, never awaited by the request.
#![forbid(unsafe_code)]

pub mod audit;
pub mod changes;
pub mod edges;
mod follow;
mod placement;
pub mod reconcile;

pub use changes::Change;

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
    placement: placement::Placement,
    audit: audit::AuditLog,
    quotas: std::sync::RwLock<onramp_core::Quotas>,
    window: std::sync::Mutex<changes::Window>,
    node: String,
}

impl Control {
    /// Load the whole state from the store.
    pub async fn open(store: Arc<dyn Store>) -> Result<Arc<Self>, StoreError> {
        let loaded = store.load().await?;
        let state = State::from_records(loaded.revision, loaded.records);
        let placement = placement::Placement::default();
        placement.rebuild(&state);
        let (committed, _) = watch::channel(loaded.revision);
        let node = format!("node-{:016x}", rand::random::<u64>());
        Ok(Arc::new(Self {
            audit: audit::AuditLog::start(store.clone(), node.clone()),
            store,
            state: RwLock::new(state),
            writer: Mutex::new(()),
            committed,
            edges: Arc::default(),
            placement,
            quotas: std::sync::RwLock::new(onramp_core::Quotas::default()),
            window: std::sync::Mutex::new(changes::Window::new(loaded.revision)),
            node,
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

    /// Compute a batch from the latest state and commit it. `f` returns the ops and a value
    /// for the caller; an empty batch commits nothing and returns the current revision.
    ///
    /// The store's writer lock is taken first and this node catches up with what other
    /// processes committed before `f` runs, so `f` decides on the state the commit lands on:
    /// writes are serialisable across control nodes, not only unique.
    pub async fn write<R, E>(
        &self,
        f: impl FnOnce(&State) -> Result<(Vec<Op>, R), E>,
    ) -> Result<(u64, R), WriteError<E>> {
        let _w = self.writer.lock().await;
        let tx = self.begin_current().await?;
        let decided = {
            let s = self.state();
            f(&s)
        };
        let (ops, out) = match decided {
            Ok((ops, out)) if !ops.is_empty() => (ops, out),
            Ok((_, out)) => {
                tx.rollback().await;
                return Ok((self.committed_revision(), out));
            }
            Err(e) => {
                tx.rollback().await;
                return Err(WriteError::Rejected(e));
            }
        };
        let rev = tx.commit(&ops).await?;
        self.publish(rev, ops);
        Ok((rev, out))
    }

    /// Make the batch committed at `rev` seen: patch the state, keep it in the window, then
    /// wake the subscribers. Callers hold the writer lock, so batches arrive in order.
    fn publish(&self, rev: u64, ops: Vec<Op>) {
        let ops: Arc<[Op]> = ops.into_iter().map(|op| op.at_revision(rev)).collect();
        {
            let mut st = self.state.write().unwrap_or_else(|p| p.into_inner());
            st.apply(rev, &ops);
            self.placement.update(&st, &ops);
        }
        self.window().push(Change { revision: rev, ops });
        self.advance(rev);
    }

    /// The committed revision moved to `rev`: tell the subscribers.
    fn advance(&self, rev: u64) {
        self.committed.send_replace(rev);
    }

    fn window(&self) -> std::sync::MutexGuard<'_, changes::Window> {
        self.window.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The batches after `rev`, in revision order, while they are still held in memory
    /// (a bounded window); `None` when `rev` is older than the window (take a full snapshot).
    pub fn changes_since(&self, rev: u64) -> Option<Vec<Change>> {
        self.window().since(rev)
    }

    /// This node's name as a lease holder (random per process).
    pub fn node_id(&self) -> &str {
        &self.node
    }

    /// Take or renew the store's lease `name` for this node for `ttl`: whether this node holds
    /// it (background work that must run once across control nodes runs only then).
    pub async fn try_lease(
        &self,
        name: &str,
        ttl: std::time::Duration,
    ) -> Result<bool, StoreError> {
        self.store.try_lease(name, &self.node, ttl).await
    }

    pub fn committed_revision(&self) -> u64 {
        *self.committed.borrow()
    }

    /// Watch committed revisions (the reconciler follows this). It moves on every batch this
    /// node commits or follows, after the batch is in the state and in `changes_since`.
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

    /// The lowest revision the live edges serving `owner` (an accelerator or a group: the
    /// edges of its regions) have applied; of every edge when it is unknown.
    pub fn applied_for(&self, owner: &str) -> u64 {
        let regions = self.placement.regions_of(owner);
        match regions.is_empty() {
            true => self.applied_revision(),
            false => regions
                .iter()
                .map(|r| self.applied_in(r))
                .min()
                .unwrap_or(0),
        }
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
    use onramp_core::{Account, Kind, Record};
    use onramp_store_sql::SqlStore;

    fn account(id: &str) -> Op {
        Op::Put(Record::Account(Account {
            id: id.into(),
            ..Default::default()
        }))
    }

    #[tokio::test]
    async fn writes_patch_state_and_revisions() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqlStore::sqlite(&dir.path().join("db")).await.unwrap());
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

    #[tokio::test]
    async fn every_committed_batch_is_in_the_window_before_the_watch_fires() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqlStore::sqlite(&dir.path().join("db")).await.unwrap());
        let c = Control::open(store.clone()).await.unwrap();
        let mut watch = c.subscribe();
        c.write(|_| Ok::<_, ()>((vec![account("a")], ())))
            .await
            .unwrap();
        c.write(|_| {
            Ok::<_, ()>((
                vec![account("b"), Op::Delete(Kind::Account, "a".into())],
                (),
            ))
        })
        .await
        .unwrap();
        watch.changed().await.unwrap();
        assert_eq!(*watch.borrow_and_update(), 2);
        let got = c
            .changes_since(0)
            .expect("the window starts at the open revision");
        assert_eq!(got.iter().map(|c| c.revision).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(got[1].ops.len(), 2);
        match &got[1].ops[0] {
            Op::Put(r) => assert_eq!(r.revision(), 2, "records carry their revision"),
            other => panic!("{other:?}"),
        }
        assert_eq!(c.changes_since(2).unwrap().len(), 0);

        // Another process writes; this node applies its batch.
        let other = Control::open(store).await.unwrap();
        assert!(
            other.changes_since(1).is_none(),
            "opened at 2: nothing before"
        );
        other
            .write(|_| Ok::<_, ()>((vec![account("c")], ())))
            .await
            .unwrap();
        c.refresh().await.unwrap();
        assert_eq!(*watch.borrow_and_update(), 3);
        assert!(c.state().accounts.contains_key("c"));
        let followed = c.changes_since(2);
        assert!(
            followed
                .as_ref()
                .is_none_or(|v| v.len() == 1 && v[0].revision == 3),
            "a consumer at 2 gets revision 3 or is told to take a snapshot: {followed:?}"
        );
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
        let store = Arc::new(SqlStore::sqlite(&dir.path().join("db")).await.unwrap());
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
        let store = Arc::new(SqlStore::sqlite(&dir.path().join("db")).await.unwrap());
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
