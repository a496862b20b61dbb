//! The storage contract.
//!
//! A store keeps every record of the model and a global revision. A write is one batch of ops,
//! applied atomically and durably (acknowledged means it survives `kill -9`); it bumps the
//! revision by exactly one, and commit order is revision order, across every process on the
//! store. The store enforces the uniqueness rules itself, so two racing control nodes cannot
//! both win:
//! - one listener per protocol and port on an accelerator (or group): `Constraint::ListenerPort`;
//! - one origin per address per project of an account: `Constraint::OriginAddress`.
//!
//! A write starts with `begin`, which takes the store's writer lock (nothing else commits until
//! the transaction ends) and says the revision it will follow, so a writer can first catch up
//! with what others committed, validate against that, and commit: writes across nodes are
//! serialisable, not only unique.
//!
//! The change feed: every commit also records its ops in a change log, kept for a bounded window
//! (`CHANGE_WINDOW` revisions). `changes_since(rev)` returns the batches after `rev` in order, or
//! `Changes::TooOld` when the log no longer holds them all (load the whole store instead).
//! `wait_revision` waits for another process's commit (PostgreSQL: `LISTEN/NOTIFY`, with polling
//! of the revision as the fallback; SQLite: polling).
//!
//! Beside the records, a store keeps the audit log (an append-only table that does not bump the
//! revision and is not loaded into `State`) and leases (`try_lease`: background work that must
//! run once across control nodes).
//!
//! `conformance` holds the suite every backend runs against itself; `sealed` is the decorator
//! that keeps API secret keys encrypted at rest under the master keys of `keyring`.
#![forbid(unsafe_code)]

pub mod conformance;
pub mod keyring;
pub mod sealed;

use std::time::Duration;

use async_trait::async_trait;
use onramp_core::{AuditEntry, AuditFilter, Millis, Op, Protocol, Record};

/// Revisions the change log keeps: a node further behind loads the whole store.
pub const CHANGE_WINDOW: u64 = 10_000;
/// Batches one `changes_since` returns at most (ask again from the last one).
pub const CHANGES_PAGE: usize = 512;

/// What a uniqueness violation collided with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Constraint {
    ListenerPort {
        owner_id: String,
        protocol: Protocol,
        port: u16,
    },
    OriginAddress {
        account_id: String,
        project_id: i64,
        address: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("uniqueness violated: {0:?}")]
    Conflict(Constraint),
    #[error("stored record {kind}/{id} cannot be read: {reason}")]
    Corrupt {
        kind: String,
        id: String,
        reason: String,
    },
    #[error("store backend: {0}")]
    Backend(String),

    /// A sealed secret cannot be opened (unknown or wrong master key, tampered data).
    #[error("{0}")]
    Secret(String),
}

/// Everything a store holds, at one revision.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub revision: u64,
    pub records: Vec<Record>,
}

/// One committed batch: the ops of the commit that made `revision`.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub revision: u64,
    /// As committed; records in `Put`s carry `revision`.
    pub ops: Vec<Op>,
}

/// What the change log holds after a revision.
#[derive(Debug, Clone, PartialEq)]
pub enum Changes {
    /// The batches after the revision asked, in revision order (empty when there is none); at
    /// most `CHANGES_PAGE` of them: ask again from the last to get the rest.
    Batches(Vec<Batch>),
    /// The log no longer holds every batch after that revision: load the whole store.
    TooOld,
}

/// A write in progress: the store's writer lock is held (no other process or node commits)
/// until it commits or is dropped. Dropping it writes nothing.
#[async_trait]
pub trait WriteTx: Send {
    /// The revision the store is at; the commit will make `base() + 1`.
    fn base(&self) -> u64;
    /// Apply `ops` atomically as revision `base() + 1` and record them in the change log;
    /// returns that revision. Records are stored with it. On a uniqueness violation (or any
    /// other failure) nothing is written; `StoreError::Conflict` names the violated rule.
    async fn commit(self: Box<Self>, ops: &[Op]) -> Result<u64, StoreError>;
    /// Write nothing and free the lock now (dropping also does, a moment later).
    async fn rollback(self: Box<Self>);
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Every record and the revision they are at.
    async fn load(&self) -> Result<Loaded, StoreError>;
    /// The current global revision (0 for an empty store).
    async fn revision(&self) -> Result<u64, StoreError>;
    /// Take the writer lock and start a write (see `WriteTx`).
    async fn begin(&self) -> Result<Box<dyn WriteTx>, StoreError>;
    /// Apply `ops` atomically on top of whatever is committed; returns the new revision.
    async fn commit(&self, ops: &[Op]) -> Result<u64, StoreError> {
        self.begin().await?.commit(ops).await
    }
    /// The batches committed after `rev`, in order, or `Changes::TooOld`.
    async fn changes_since(&self, rev: u64) -> Result<Changes, StoreError>;
    /// Wait until the revision is above `after` (another process committed) or `max` passed;
    /// returns the revision then known (`<= after` on a timeout).
    async fn wait_revision(&self, after: u64, max: Duration) -> Result<u64, StoreError>;
    /// Drop the change log's batches up to `through` (after a master key rotation, so no old
    /// seal of a secret is left): a follower behind `through` loads the whole store.
    async fn forget_changes(&self, through: u64) -> Result<(), StoreError>;
    /// Take or renew the lease `name` for `holder` until `ttl` from now (the database's clock).
    /// True when `holder` holds it: it was free, expired, or already `holder`'s.
    async fn try_lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool, StoreError>;
    /// A short name for logs ("sqlite", "postgres").
    fn backend(&self) -> &'static str;
    /// Append `entries` to the audit log in one transaction. The revision does not move.
    async fn append_audit(&self, entries: &[AuditEntry]) -> Result<(), StoreError>;
    /// The entries `filter` matches, newest first, at most `filter.effective_limit()`.
    async fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError>;
    /// Delete the entries older than `before` (retention); returns how many went.
    async fn prune_audit(&self, before: Millis) -> Result<u64, StoreError>;
}
