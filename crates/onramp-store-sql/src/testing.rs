//! Test support (feature `testing`): a PostgreSQL store in a private schema of
//! `ONRAMP_TEST_POSTGRES_URL` (or a visible skip without one), and a SQLite store in a
//! temporary directory.

use sqlx::PgPool;

use crate::SqlStore;

/// A private schema of the test database; dropped by `drop_schema`.
pub struct Pg {
    base: String,
    pub schema: String,
    pub admin: PgPool,
}

/// The test database, or `None` (with a message) when `ONRAMP_TEST_POSTGRES_URL` is not set.
pub async fn pg() -> Option<Pg> {
    let Ok(base) = std::env::var("ONRAMP_TEST_POSTGRES_URL") else {
        eprintln!(
            "SKIPPED: PostgreSQL store tests need ONRAMP_TEST_POSTGRES_URL \
             (e.g. postgres://postgres@127.0.0.1:5432/test)"
        );
        return None;
    };
    let admin = PgPool::connect(&base)
        .await
        .expect("connect to ONRAMP_TEST_POSTGRES_URL");
    let schema = format!("onramp_test_{}", rand::random::<u32>());
    Some(Pg {
        base,
        schema,
        admin,
    })
}

impl Pg {
    /// The store URL of this schema; its connections are named `onramp-test-<schema>`.
    pub fn url(&self) -> String {
        let sep = if self.base.contains('?') { '&' } else { '?' };
        format!(
            "{}{sep}options=-c%20search_path%3D{s}&application_name={}",
            self.base,
            self.app(),
            s = self.schema
        )
    }

    /// The application name this schema's connections carry (the listener adds `-listen`).
    pub fn app(&self) -> String {
        format!("onramp-test-{}", self.schema)
    }

    pub async fn create_schema(&self) {
        sqlx::query(&format!("CREATE SCHEMA {}", self.schema))
            .execute(&self.admin)
            .await
            .unwrap();
    }

    /// A new schema and a store in it.
    pub async fn store(&self) -> SqlStore {
        self.create_schema().await;
        self.open().await
    }

    /// Another store over the same schema (another control node).
    pub async fn open(&self) -> SqlStore {
        SqlStore::open(&self.url()).await.unwrap()
    }

    /// End every connection of this schema's stores (`listen`: only the LISTEN one, else the
    /// pool's); returns how many were ended.
    pub async fn terminate(&self, listen: bool) -> i64 {
        let name = match listen {
            true => format!("{}-listen", self.app()),
            false => self.app(),
        };
        sqlx::query_scalar(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
        )
        .bind(name)
        .fetch_one(&self.admin)
        .await
        .unwrap()
    }

    pub async fn drop_schema(&self) {
        sqlx::query(&format!("DROP SCHEMA {} CASCADE", self.schema))
            .execute(&self.admin)
            .await
            .unwrap();
    }
}

/// A SQLite store in a new temporary directory (kept alive by the returned guard).
pub async fn sqlite() -> (SqlStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqlStore::sqlite(&dir.path().join("onramp.db"))
        .await
        .unwrap();
    (store, dir)
}
