//! The PostgreSQL store, for several stateless control nodes over one database.
//!
//! A commit locks the revision row (`SELECT … FOR UPDATE`), so commits from every node are
//! serialised and the revision counts each exactly once; uniqueness lives in index tables whose
//! primary keys PostgreSQL enforces, so two racing nodes cannot both win. Other nodes learn of a
//! commit by polling the revision (`Control::follow_store`).
//! The audit log (`audit`) is written in its own transactions and never touches the revision.
#![forbid(unsafe_code)]

mod audit;

use std::str::FromStr;

use async_trait::async_trait;
use onramp_core::{AuditEntry, AuditFilter, Kind, Millis, Op, Record};
use onramp_store::{Constraint, Loaded, Store, StoreError};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgConnection, PgPool, Row};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub struct PgStore {
    pool: PgPool,
}

pub(crate) fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn is_unique(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

impl PgStore {
    /// Connect to `url` and run migrations.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        Self::with_options(PgConnectOptions::from_str(url).map_err(backend)?).await
    }

    /// Connect with explicit options (tests set a private `search_path`).
    pub async fn with_options(opts: PgConnectOptions) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .connect_with(opts)
            .await
            .map_err(backend)?;
        MIGRATOR.run(&pool).await.map_err(backend)?;
        Ok(Self { pool })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

async fn clear_indices(conn: &mut PgConnection, kind: Kind, id: &str) -> Result<(), StoreError> {
    let sql = match kind {
        Kind::Listener => "DELETE FROM listener_ports WHERE listener_id = $1",
        Kind::Origin => "DELETE FROM origin_addresses WHERE origin_id = $1",
        _ => return Ok(()),
    };
    sqlx::query(sql)
        .bind(id)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    Ok(())
}

/// Insert every port of a range in one statement; on a collision, name the port.
async fn add_range(
    conn: &mut PgConnection,
    l: &onramp_core::Listener,
    from: u16,
    to: u16,
) -> Result<(), StoreError> {
    sqlx::query("SAVEPOINT ports")
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    let res = sqlx::query(
        "INSERT INTO listener_ports (owner_id, protocol, port, listener_id) SELECT $1, $2, p, $3 FROM generate_series($4::int, $5::int) AS p",
    )
    .bind(l.owner.id())
    .bind(l.protocol.lower())
    .bind(&l.id)
    .bind(i32::from(from))
    .bind(i32::from(to))
    .execute(&mut *conn)
    .await;
    match res {
        Ok(_) => Ok(()),
        Err(e) if is_unique(&e) => {
            sqlx::query("ROLLBACK TO SAVEPOINT ports")
                .execute(&mut *conn)
                .await
                .map_err(backend)?;
            let row = sqlx::query("SELECT min(port) FROM listener_ports WHERE owner_id = $1 AND protocol = $2 AND port BETWEEN $3 AND $4")
                .bind(l.owner.id())
                .bind(l.protocol.lower())
                .bind(i32::from(from))
                .bind(i32::from(to))
                .fetch_one(&mut *conn)
                .await
                .map_err(backend)?;
            let port = row.get::<Option<i32>, _>(0).unwrap_or(i32::from(from)) as u16;
            Err(StoreError::Conflict(Constraint::ListenerPort {
                owner_id: l.owner.id().to_string(),
                protocol: l.protocol,
                port,
            }))
        }
        Err(e) => Err(backend(e)),
    }
}

async fn add_indices(conn: &mut PgConnection, r: &Record) -> Result<(), StoreError> {
    match r {
        Record::Listener(l) => {
            for range in &l.ports {
                add_range(conn, l, range.from, range.to).await?;
            }
        }
        Record::Origin(o) => {
            let res = sqlx::query("INSERT INTO origin_addresses (account_id, project_id, address, origin_id) VALUES ($1, $2, $3, $4)")
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

async fn apply_op(conn: &mut PgConnection, op: &Op, rev: u64) -> Result<(), StoreError> {
    match op {
        Op::Put(r) => {
            let mut r = r.clone();
            r.set_revision(rev);
            clear_indices(conn, r.kind(), r.id()).await?;
            add_indices(conn, &r).await?;
            let doc = serde_json::to_string(&r).map_err(backend)?;
            sqlx::query(
                "INSERT INTO records (kind, id, account_id, revision, doc) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (kind, id) DO UPDATE SET account_id = EXCLUDED.account_id, revision = EXCLUDED.revision, doc = EXCLUDED.doc",
            )
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
            sqlx::query("DELETE FROM records WHERE kind = $1 AND id = $2")
                .bind(kind.as_str())
                .bind(id)
                .execute(&mut *conn)
                .await
                .map_err(backend)?;
        }
    }
    Ok(())
}

#[async_trait]
impl Store for PgStore {
    async fn load(&self) -> Result<Loaded, StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let rev: i64 = sqlx::query("SELECT value FROM meta WHERE key = 'revision'")
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?
            .get(0);
        let rows = sqlx::query("SELECT kind, id, doc FROM records ORDER BY kind, id")
            .fetch_all(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
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

    async fn revision(&self) -> Result<u64, StoreError> {
        let row = sqlx::query("SELECT value FROM meta WHERE key = 'revision'")
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
        Ok(row.get::<i64, _>(0) as u64)
    }

    async fn commit(&self, ops: &[Op]) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let row = sqlx::query("SELECT value FROM meta WHERE key = 'revision' FOR UPDATE")
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        let rev = row.get::<i64, _>(0) as u64 + 1;
        for op in ops {
            // On error the transaction is dropped, which rolls it back.
            apply_op(&mut tx, op, rev).await?;
        }
        sqlx::query("UPDATE meta SET value = $1 WHERE key = 'revision'")
            .bind(rev as i64)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(rev)
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn append_audit(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await.map_err(backend)?;
        audit::append(&mut tx, entries).await?;
        tx.commit().await.map_err(backend)
    }

    async fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        audit::list(&self.pool, filter).await
    }

    async fn prune_audit(&self, before: Millis) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let n = audit::prune(&mut tx, before).await?;
        tx.commit().await.map_err(backend)?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store in a fresh schema of the test database, or `None` (with a message) without one.
    async fn fresh() -> Option<(PgStore, PgPool, String)> {
        let Ok(url) = std::env::var("ONRAMP_TEST_POSTGRES_URL") else {
            eprintln!("SKIPPED: PostgreSQL store tests need ONRAMP_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/test)");
            return None;
        };
        let admin = PgPool::connect(&url)
            .await
            .expect("connect to ONRAMP_TEST_POSTGRES_URL");
        let schema = format!("onramp_test_{}", rand::random::<u32>());
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&admin)
            .await
            .unwrap();
        let opts = PgConnectOptions::from_str(&url)
            .unwrap()
            .options([("search_path", schema.as_str())]);
        Some((PgStore::with_options(opts).await.unwrap(), admin, schema))
    }

    async fn drop_schema(admin: &PgPool, schema: &str) {
        sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
            .execute(admin)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn conformance() {
        let Some((store, admin, schema)) = fresh().await else {
            return;
        };
        onramp_store::conformance::run_all(&store).await;
        store.close().await;
        drop_schema(&admin, &schema).await;
    }

    #[tokio::test]
    async fn conformance_sealed() {
        use onramp_store::keyring::Keyring;
        use onramp_store::sealed::{MasterKeys, SealedStore};
        let Some((store, admin, schema)) = fresh().await else {
            return;
        };
        let store = std::sync::Arc::new(store);
        let sealed = SealedStore::new(
            store.clone(),
            std::sync::Arc::new(MasterKeys::in_memory(Keyring::generate())),
        );
        onramp_store::conformance::run_all(&sealed).await;
        // Nothing in the database holds the suite's plain secret.
        let plain: i64 = sqlx::query(
            "SELECT count(*) FROM records WHERE kind = 'key' AND doc NOT LIKE '%sealed:v1:%'",
        )
        .fetch_one(&admin_pool_in(&admin, &schema).await)
        .await
        .unwrap()
        .get(0);
        assert_eq!(plain, 0);
        store.close().await;
        drop_schema(&admin, &schema).await;
    }

    async fn admin_pool_in(admin: &PgPool, schema: &str) -> PgPool {
        let opts = (*admin.connect_options())
            .clone()
            .options([("search_path", schema)]);
        PgPool::connect_with(opts).await.unwrap()
    }

    #[tokio::test]
    async fn racing_commits_never_share_a_revision_or_a_port() {
        let Some((store, admin, schema)) = fresh().await else {
            return;
        };
        let store = std::sync::Arc::new(store);
        let mut tasks = Vec::new();
        for i in 0..8u16 {
            let s = store.clone();
            tasks.push(tokio::spawn(async move {
                let l = onramp_core::Listener {
                    id: format!("listener-race{i}"),
                    account_id: "a".into(),
                    owner: onramp_core::Owner::Accelerator("link-race".into()),
                    ports: vec![onramp_core::PortRange::single(7000 + i % 2)],
                    ..Default::default()
                };
                s.commit(&[Op::Put(Record::Listener(l))]).await
            }));
        }
        let mut ok = Vec::new();
        for t in tasks {
            if let Ok(rev) = t.await.unwrap() {
                ok.push(rev);
            }
        }
        ok.sort();
        ok.dedup();
        assert_eq!(
            ok.len(),
            2,
            "exactly one winner per port, each with its own revision"
        );
        store.close().await;
        drop_schema(&admin, &schema).await;
    }
}
