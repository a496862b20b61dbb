//! The embedded store: one SQLite file in WAL mode with `synchronous=FULL`, so a commit that
//! returned has reached the disk and survives `kill -9` of the process.
//!
//! Writes run in `BEGIN IMMEDIATE` transactions on one connection at a time, so the revision
//! read-increment-write is serialised even against another process on the same file.
//! The audit log (`audit`) is written in its own `BEGIN IMMEDIATE` transactions and never
//! touches the revision.
#![forbid(unsafe_code)]

mod audit;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use onramp_core::{AuditEntry, AuditFilter, Kind, Millis, Op, Record};
use onramp_store::{Constraint, Loaded, Store, StoreError};
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, Sqlite, SqliteConnection, SqlitePool};
use tokio::sync::Mutex;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub struct SqliteStore {
    pool: SqlitePool,
    writer: Mutex<()>,
}

pub(crate) fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl SqliteStore {
    /// Open (creating if needed) the database at `path` and run migrations.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10));
        Self::with_options(opts).await
    }

    /// Open from a `sqlite://PATH` URL.
    pub async fn open_url(url: &str) -> Result<Self, StoreError> {
        let opts = SqliteConnectOptions::from_str(url)
            .map_err(backend)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10));
        Self::with_options(opts).await
    }

    async fn with_options(opts: SqliteConnectOptions) -> Result<Self, StoreError> {
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await
            .map_err(backend)?;
        MIGRATOR.run(&pool).await.map_err(backend)?;
        Ok(Self {
            pool,
            writer: Mutex::new(()),
        })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A connection inside a `BEGIN IMMEDIATE` transaction (callers hold the writer lock).
    async fn immediate(&self) -> Result<PoolConnection<Sqlite>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        exec(&mut conn, "BEGIN IMMEDIATE").await?;
        Ok(conn)
    }
}

async fn exec(conn: &mut SqliteConnection, sql: &str) -> Result<(), StoreError> {
    sqlx::query(sql)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    Ok(())
}

fn is_unique(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

async fn clear_indices(
    conn: &mut SqliteConnection,
    kind: Kind,
    id: &str,
) -> Result<(), StoreError> {
    let sql = match kind {
        Kind::Listener => "DELETE FROM listener_ports WHERE listener_id = ?",
        Kind::Origin => "DELETE FROM origin_addresses WHERE origin_id = ?",
        _ => return Ok(()),
    };
    sqlx::query(sql)
        .bind(id)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    Ok(())
}

async fn add_indices(conn: &mut SqliteConnection, r: &Record) -> Result<(), StoreError> {
    match r {
        Record::Listener(l) => {
            for range in &l.ports {
                for port in range.iter() {
                    let res = sqlx::query("INSERT INTO listener_ports (owner_id, protocol, port, listener_id) VALUES (?, ?, ?, ?)")
                        .bind(l.owner.id())
                        .bind(l.protocol.lower())
                        .bind(i64::from(port))
                        .bind(&l.id)
                        .execute(&mut *conn)
                        .await;
                    match res {
                        Err(e) if is_unique(&e) => {
                            return Err(StoreError::Conflict(Constraint::ListenerPort {
                                owner_id: l.owner.id().to_string(),
                                protocol: l.protocol,
                                port,
                            }))
                        }
                        other => other.map_err(backend)?,
                    };
                }
            }
        }
        Record::Origin(o) => {
            let res = sqlx::query("INSERT INTO origin_addresses (account_id, project_id, address, origin_id) VALUES (?, ?, ?, ?)")
                .bind(&o.account_id)
                .bind(o.project_id)
                .bind(&o.address)
                .bind(&o.id)
                .execute(&mut *conn)
                .await;
            match res {
                Err(e) if is_unique(&e) => {
                    return Err(StoreError::Conflict(Constraint::OriginAddress {
                        account_id: o.account_id.clone(),
                        project_id: o.project_id,
                        address: o.address.clone(),
                    }))
                }
                other => other.map_err(backend)?,
            };
        }
        _ => {}
    }
    Ok(())
}

async fn apply_op(conn: &mut SqliteConnection, op: &Op, rev: u64) -> Result<(), StoreError> {
    match op {
        Op::Put(r) => {
            let mut r = r.clone();
            r.set_revision(rev);
            clear_indices(conn, r.kind(), r.id()).await?;
            add_indices(conn, &r).await?;
            let doc = serde_json::to_string(&r).map_err(backend)?;
            sqlx::query("INSERT OR REPLACE INTO records (kind, id, account_id, revision, doc) VALUES (?, ?, ?, ?, ?)")
                .bind(r.kind().as_str())
                .bind(r.id())
                .bind(r.account_id())
                .bind(rev as i64)
                .bind(doc)
                .execute(&mut *conn)
                .await
                .map_err(backend)?;
        }
        Op::Delete(kind, id) => {
            clear_indices(conn, *kind, id).await?;
            sqlx::query("DELETE FROM records WHERE kind = ? AND id = ?")
                .bind(kind.as_str())
                .bind(id)
                .execute(&mut *conn)
                .await
                .map_err(backend)?;
        }
    }
    Ok(())
}

/// Commit the transaction when `r` is a success, else roll it back.
async fn finish<T>(conn: &mut SqliteConnection, r: Result<T, StoreError>) -> Result<T, StoreError> {
    match r {
        Ok(v) => {
            exec(conn, "COMMIT").await?;
            Ok(v)
        }
        Err(e) => {
            if let Err(rb) = exec(conn, "ROLLBACK").await {
                tracing::error!(error = %rb, "rollback failed");
            }
            Err(e)
        }
    }
}

async fn commit_in(conn: &mut SqliteConnection, ops: &[Op]) -> Result<u64, StoreError> {
    let row = sqlx::query("SELECT value FROM meta WHERE key = 'revision'")
        .fetch_one(&mut *conn)
        .await
        .map_err(backend)?;
    let rev = row.get::<i64, _>(0) as u64 + 1;
    for op in ops {
        apply_op(conn, op, rev).await?;
    }
    sqlx::query("UPDATE meta SET value = ? WHERE key = 'revision'")
        .bind(rev as i64)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    Ok(rev)
}

#[async_trait]
impl Store for SqliteStore {
    async fn load(&self) -> Result<Loaded, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        exec(&mut conn, "BEGIN").await?;
        let result = async {
            let rev: i64 = sqlx::query("SELECT value FROM meta WHERE key = 'revision'")
                .fetch_one(&mut *conn)
                .await
                .map_err(backend)?
                .get(0);
            let rows = sqlx::query("SELECT kind, id, doc FROM records ORDER BY kind, id")
                .fetch_all(&mut *conn)
                .await
                .map_err(backend)?;
            let mut records = Vec::with_capacity(rows.len());
            for row in rows {
                let doc: String = row.get(2);
                let rec: Record = serde_json::from_str(&doc).map_err(|e| StoreError::Corrupt {
                    kind: row.get(0),
                    id: row.get(1),
                    reason: e.to_string(),
                })?;
                records.push(rec);
            }
            Ok(Loaded {
                revision: rev as u64,
                records,
            })
        }
        .await;
        exec(&mut conn, "COMMIT").await?;
        result
    }

    async fn revision(&self) -> Result<u64, StoreError> {
        let row = sqlx::query("SELECT value FROM meta WHERE key = 'revision'")
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
        Ok(row.get::<i64, _>(0) as u64)
    }

    async fn commit(&self, ops: &[Op]) -> Result<u64, StoreError> {
        let _guard = self.writer.lock().await;
        let mut conn = self.immediate().await?;
        let r = commit_in(&mut conn, ops).await;
        finish(&mut conn, r).await
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn append_audit(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let _guard = self.writer.lock().await;
        let mut conn = self.immediate().await?;
        let r = audit::append(&mut conn, entries).await;
        finish(&mut conn, r).await
    }

    async fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        audit::list(&self.pool, filter).await
    }

    async fn prune_audit(&self, before: Millis) -> Result<u64, StoreError> {
        let _guard = self.writer.lock().await;
        let mut conn = self.immediate().await?;
        let r = audit::prune(&mut conn, before).await;
        finish(&mut conn, r).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn conformance() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("onramp.db"))
            .await
            .unwrap();
        onramp_store::conformance::run_all(&store).await;
    }

    #[tokio::test]
    async fn survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("onramp.db");
        {
            let store = SqliteStore::open(&path).await.unwrap();
            onramp_store::conformance::roundtrip_and_revisions(&store).await;
            store.close().await;
        }
        let store = SqliteStore::open(&path).await.unwrap();
        let loaded = store.load().await.unwrap();
        assert_eq!(loaded.revision, 2);
        assert_eq!(loaded.records.len(), 9);
    }
}
