//! Everything that differs between the SQL backends, in one table. The rest of the crate is one
//! text for both: `$n` parameters (SQLite reads `$1` as parameter 1), `ON CONFLICT` upserts,
//! `RETURNING`, recursive CTEs and `CAST`.
//!
//! The migrations differ too (column types, identity columns), so each backend has its own
//! directory; a store written by an older version opens because those files never change.

use std::time::Duration;

use sqlx::migrate::Migrator;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// One backend's SQL and behaviour.
#[derive(Debug)]
pub struct Dialect {
    /// The name in logs ("sqlite", "postgres").
    pub name: &'static str,
    /// Starts a write transaction.
    pub begin_write: &'static str,
    /// Reads the revision and takes the writer lock (inside `begin_write`'s transaction).
    pub lock_revision: &'static str,
    /// Starts a read-only transaction that sees one snapshot.
    pub begin_read: &'static str,
    /// The database clock in milliseconds since the epoch, as an SQL expression.
    pub now_ms: &'static str,
    /// Run in the commit's transaction with (channel, revision): wakes the other nodes.
    pub notify: Option<&'static str>,
    /// Run by every new connection.
    pub on_connect: &'static [&'static str],
    /// This process's writers take turns before the database lock (SQLite: one file lock, so
    /// they would only busy-wait on each other).
    pub local_writer: bool,
    /// Pooled connections at most.
    pub max_connections: u32,
    /// How often a follower reads the revision when nothing woke it earlier.
    pub poll: Duration,
    pub migrator: &'static Migrator,
}

pub static SQLITE: Dialect = Dialect {
    name: "sqlite",
    // The write lock is taken at once (waiting up to busy_timeout for another process), so the
    // revision read-increment-write is serialised across processes on the file.
    begin_write: "BEGIN IMMEDIATE",
    lock_revision: "SELECT value FROM meta WHERE key = 'revision'",
    // In WAL mode a read transaction sees one snapshot and never blocks the writer.
    begin_read: "BEGIN",
    now_ms: "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)",
    notify: None,
    on_connect: &[
        "PRAGMA busy_timeout = 10000",
        "PRAGMA journal_mode = WAL",
        // An acknowledged commit has reached the disk: it survives kill -9 and power loss.
        "PRAGMA synchronous = FULL",
    ],
    local_writer: true,
    max_connections: 4,
    poll: Duration::from_millis(250),
    migrator: &SQLITE_MIGRATIONS,
};

pub static POSTGRES: Dialect = Dialect {
    name: "postgres",
    begin_write: "BEGIN",
    // Commits from every node queue on this row lock: commit order is revision order.
    lock_revision: "SELECT value FROM meta WHERE key = 'revision' FOR UPDATE",
    begin_read: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    now_ms: "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
    notify: Some("SELECT pg_notify($1, $2)"),
    on_connect: &[
        // A node that stops in the middle of a write (hung, cut off) frees the writer lock.
        "SET idle_in_transaction_session_timeout = '60s'",
    ],
    local_writer: false,
    max_connections: 8,
    poll: Duration::from_secs(1),
    migrator: &POSTGRES_MIGRATIONS,
};

/// The dialect of a store URL, if it names one.
pub fn of_url(url: &str) -> Option<&'static Dialect> {
    if url.starts_with("sqlite:") {
        Some(&SQLITE)
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Some(&POSTGRES)
    } else {
        None
    }
}
