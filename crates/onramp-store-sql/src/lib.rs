//! The SQL store: one implementation of `Store` for SQLite (embedded, one file in WAL mode with
//! `synchronous=FULL`) and PostgreSQL (several control nodes over one database). The statements
//! are one text for both; what differs (transaction starts, the revision lock, the clock, NOTIFY,
//! connection settings, migrations) is the `Dialect` table in `dialect`.
//!
//! A write (`begin`) takes the writer lock first: SQLite `BEGIN IMMEDIATE` (the file's write
//! lock, so another process such as `onramp admin` waits), PostgreSQL the revision row
//! `FOR UPDATE` (so commits of every node queue, and commit order is revision order). The commit
//! then writes the records and their uniqueness rows (`records`), the change log row (`changes`)
//! and, on PostgreSQL, a `NOTIFY` that wakes the other nodes (`follow`). Whatever fails before
//! the final `COMMIT` rolls everything back. The audit log (`audit`) and leases (`lease`) are
//! written in transactions of their own and never move the revision.
#![forbid(unsafe_code)]

mod audit;
mod changes;
pub mod dialect;
mod follow;
mod lease;
mod records;
#[cfg(feature = "testing")]
pub mod testing;

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use onramp_core::{AuditEntry, AuditFilter, Millis, Op};
use onramp_store::{Changes, Loaded, Store, StoreError, WriteTx, CHANGES_PAGE, CHANGE_WINDOW};
use sqlx::any::AnyPoolOptions;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, ConnectOptions, Executor, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};

pub use dialect::Dialect;

pub(crate) fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

pub(crate) fn is_unique(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

pub struct SqlStore {
    pool: AnyPool,
    dialect: &'static Dialect,
    /// SQLite: this process's writers take turns (see `Dialect::local_writer`).
    turn: Arc<Mutex<()>>,
    window: u64,
    page: usize,
    poll: Duration,
    /// NOTIFY channel (PostgreSQL): one per schema, so stores in other schemas stay quiet.
    channel: String,
    heard: follow::Heard,
}

impl SqlStore {
    /// Open (SQLite: creating if needed) the store at `url` (`sqlite://PATH` or
    /// `postgres://…`) and bring its schema up to date.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let dialect = dialect::of_url(url).ok_or_else(|| {
            StoreError::Backend(format!("'{url}' must start with sqlite:// or postgres://"))
        })?;
        let (any_url, listen) = urls(url, dialect)?;
        let pool = connect(&any_url, dialect).await?;
        dialect.migrator.run(&pool).await.map_err(backend)?;
        let channel = match listen {
            Some(_) => channel_of(&pool).await?,
            None => String::new(),
        };
        let listen = listen.map(|options| follow::Listen {
            options,
            channel: channel.clone(),
        });
        Ok(Self {
            pool,
            dialect,
            turn: Arc::new(Mutex::new(())),
            window: CHANGE_WINDOW,
            page: CHANGES_PAGE,
            poll: dialect.poll,
            channel,
            heard: follow::Heard::new(listen),
        })
    }

    /// Open (creating if needed) the SQLite store in the file `path`.
    pub async fn sqlite(path: &std::path::Path) -> Result<Self, StoreError> {
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true);
        Self::open(options.to_url_lossy().as_str()).await
    }

    /// Keep `revisions` batches in the change log (default `CHANGE_WINDOW`).
    pub fn with_window(mut self, revisions: u64) -> Self {
        self.window = revisions.max(1);
        self
    }

    /// Return at most `batches` from one `changes_since` (default `CHANGES_PAGE`).
    pub fn with_page(mut self, batches: usize) -> Self {
        self.page = batches.max(1);
        self
    }

    /// Read the revision every `every` while waiting (default: the dialect's).
    pub fn with_poll(mut self, every: Duration) -> Self {
        self.poll = every;
        self
    }

    pub fn dialect(&self) -> &'static Dialect {
        self.dialect
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Wait for this process's turn to write (SQLite), then start a write transaction.
    async fn write_tx(
        &self,
    ) -> Result<(Option<OwnedMutexGuard<()>>, Transaction<'static, Any>), StoreError> {
        let turn = match self.dialect.local_writer {
            true => Some(self.turn.clone().lock_owned().await),
            false => None,
        };
        let tx = self
            .pool
            .begin_with(self.dialect.begin_write)
            .await
            .map_err(backend)?;
        Ok((turn, tx))
    }

    async fn read_tx(&self) -> Result<Transaction<'static, Any>, StoreError> {
        self.pool
            .begin_with(self.dialect.begin_read)
            .await
            .map_err(backend)
    }

    async fn conn(&self) -> Result<PoolConnection<Any>, StoreError> {
        self.pool.acquire().await.map_err(backend)
    }
}

/// The URL the pool connects to (SQLite: the file made if missing) and, on PostgreSQL, the
/// options of the LISTEN connection, named after the pool's so an operator tells them apart.
fn urls(
    url: &str,
    dialect: &Dialect,
) -> Result<(String, Option<sqlx::postgres::PgConnectOptions>), StoreError> {
    if dialect.notify.is_none() {
        let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)
            .map_err(backend)?
            .create_if_missing(true);
        return Ok((options.to_url_lossy().to_string(), None));
    }
    let options = sqlx::postgres::PgConnectOptions::from_str(url).map_err(backend)?;
    let name = format!(
        "{}-listen",
        options.get_application_name().unwrap_or("onramp")
    );
    Ok((url.to_string(), Some(options.application_name(&name))))
}

/// The pool; every new connection runs the dialect's settings first.
async fn connect(url: &str, dialect: &'static Dialect) -> Result<AnyPool, StoreError> {
    sqlx::any::install_default_drivers();
    AnyPoolOptions::new()
        .max_connections(dialect.max_connections)
        .after_connect(move |conn, _| {
            Box::pin(async move {
                for sql in dialect.on_connect {
                    conn.execute(*sql).await?;
                }
                Ok(())
            })
        })
        .connect(url)
        .await
        .map_err(backend)
}

/// The NOTIFY channel of the schema the store lives in.
async fn channel_of(pool: &AnyPool) -> Result<String, StoreError> {
    let schema: String = sqlx::query_scalar("SELECT CAST(current_schema() AS TEXT)")
        .fetch_one(pool)
        .await
        .map_err(backend)?;
    Ok(format!("onramp_revision_{schema}"))
}

/// A write holding the writer lock; dropped, it rolls back.
struct SqlTx {
    tx: Transaction<'static, Any>,
    _turn: Option<OwnedMutexGuard<()>>,
    base: u64,
    dialect: &'static Dialect,
    window: u64,
    channel: String,
}

#[async_trait]
impl WriteTx for SqlTx {
    fn base(&self) -> u64 {
        self.base
    }

    async fn commit(mut self: Box<Self>, ops: &[Op]) -> Result<u64, StoreError> {
        let rev = self.base + 1;
        let ops: Vec<Op> = ops.iter().cloned().map(|op| op.at_revision(rev)).collect();
        for op in &ops {
            records::apply(&mut self.tx, op).await?;
        }
        changes::append(&mut self.tx, rev, &ops, self.window).await?;
        sqlx::query("UPDATE meta SET value = $1 WHERE key = 'revision'")
            .bind(rev as i64)
            .execute(&mut *self.tx)
            .await
            .map_err(backend)?;
        if let Some(notify) = self.dialect.notify {
            sqlx::query(notify)
                .bind(&self.channel)
                .bind(rev.to_string())
                .execute(&mut *self.tx)
                .await
                .map_err(backend)?;
        }
        self.tx.commit().await.map_err(backend)?;
        Ok(rev)
    }

    async fn rollback(self: Box<Self>) {
        if let Err(e) = self.tx.rollback().await {
            tracing::warn!(error = %e, "rolling back a write");
        }
    }
}

#[async_trait]
impl Store for SqlStore {
    async fn load(&self) -> Result<Loaded, StoreError> {
        let mut tx = self.read_tx().await?;
        let loaded = records::load(&mut tx).await?;
        tx.commit().await.map_err(backend)?;
        Ok(loaded)
    }

    async fn revision(&self) -> Result<u64, StoreError> {
        records::revision(&mut *self.conn().await?).await
    }

    async fn begin(&self) -> Result<Box<dyn WriteTx>, StoreError> {
        let (turn, mut tx) = self.write_tx().await?;
        let base: i64 = sqlx::query_scalar(self.dialect.lock_revision)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        Ok(Box::new(SqlTx {
            tx,
            _turn: turn,
            base: base as u64,
            dialect: self.dialect,
            window: self.window,
            channel: self.channel.clone(),
        }))
    }

    async fn changes_since(&self, rev: u64) -> Result<Changes, StoreError> {
        let mut tx = self.read_tx().await?;
        let changes = changes::since(&mut tx, rev, self.page).await?;
        tx.commit().await.map_err(backend)?;
        Ok(changes)
    }

    async fn wait_revision(&self, after: u64, max: Duration) -> Result<u64, StoreError> {
        let deadline = Instant::now() + max;
        let mut heard = self.heard.subscribe(&self.pool);
        loop {
            let current = self.revision().await?;
            let left = deadline.saturating_duration_since(Instant::now());
            if current > after || left.is_zero() {
                return Ok(current);
            }
            let nap = tokio::time::sleep(left.min(self.poll));
            match heard.as_mut() {
                Some(rx) => tokio::select! {
                    r = rx.wait_for(|r| *r > after) => if let Ok(r) = r { return Ok(*r) },
                    _ = nap => {}
                },
                None => nap.await,
            }
        }
    }

    async fn forget_changes(&self, through: u64) -> Result<(), StoreError> {
        let (_turn, mut tx) = self.write_tx().await?;
        changes::forget(&mut tx, through).await?;
        tx.commit().await.map_err(backend)
    }

    async fn try_lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        let (_turn, mut tx) = self.write_tx().await?;
        let held = lease::try_take(&mut tx, self.dialect, name, holder, ttl).await?;
        tx.commit().await.map_err(backend)?;
        Ok(held)
    }

    fn backend(&self) -> &'static str {
        self.dialect.name
    }

    async fn append_audit(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let (_turn, mut tx) = self.write_tx().await?;
        audit::append(&mut tx, entries).await?;
        tx.commit().await.map_err(backend)
    }

    async fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        audit::list(&self.pool, filter).await
    }

    async fn prune_audit(&self, before: Millis) -> Result<u64, StoreError> {
        let (_turn, mut tx) = self.write_tx().await?;
        let n = audit::prune(&mut tx, before).await?;
        tx.commit().await.map_err(backend)?;
        Ok(n)
    }
}
