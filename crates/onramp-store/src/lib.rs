//! The storage contract.
//!
//! A store keeps every record of the model and a global revision. `commit` applies a batch of
//! writes atomically and durably (acknowledged means it survives `kill -9`), bumps the revision
//! once, and enforces the uniqueness rules itself, so two racing control nodes cannot both win:
//! - one listener per protocol and port on an accelerator (or group): `Constraint::ListenerPort`;
//! - one origin per address per project of an account: `Constraint::OriginAddress`.
//!
//! Beside the records, a store keeps the audit log: an append-only table that does not bump the
//! revision and is not loaded into `State`.
//!
//! `conformance` holds the suite every backend runs against itself; `sealed` is the decorator
//! that keeps API secret keys encrypted at rest under the master keys of `keyring`.
#![forbid(unsafe_code)]

pub mod conformance;
pub mod keyring;
pub mod sealed;

use async_trait::async_trait;
use onramp_core::{AuditEntry, AuditFilter, Millis, Op, Protocol, Record};

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

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Every record and the revision they are at.
    async fn load(&self) -> Result<Loaded, StoreError>;
    /// The current global revision (0 for an empty store).
    async fn revision(&self) -> Result<u64, StoreError>;
    /// Apply `ops` atomically; returns the new revision. Records are stored with that revision.
    /// On a uniqueness violation nothing is written and `StoreError::Conflict` is returned.
    async fn commit(&self, ops: &[Op]) -> Result<u64, StoreError>;
    /// A short name for logs ("sqlite", "postgres").
    fn backend(&self) -> &'static str;
    /// Append `entries` to the audit log in one transaction. The revision does not move.
    async fn append_audit(&self, entries: &[AuditEntry]) -> Result<(), StoreError>;
    /// The entries `filter` matches, newest first, at most `filter.effective_limit()`.
    async fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError>;
    /// Delete the entries older than `before` (retention); returns how many went.
    async fn prune_audit(&self, before: Millis) -> Result<u64, StoreError>;
}
