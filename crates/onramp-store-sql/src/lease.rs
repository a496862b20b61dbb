//! Leases: a name held by one holder until it expires, for background work that must run once
//! across control nodes. One upsert takes a free or expired lease or renews the holder's own,
//! and changes nothing when another holder has it: the database decides, on its own clock, so
//! two racing holders (or nodes whose clocks differ) cannot both hold it.

use std::time::Duration;

use onramp_store::StoreError;
use sqlx::AnyConnection;

use crate::backend;
use crate::dialect::Dialect;

/// Take or renew `name` for `holder` until `ttl` from now; whether `holder` holds it.
pub(crate) async fn try_take(
    conn: &mut AnyConnection,
    dialect: &Dialect,
    name: &str,
    holder: &str,
    ttl: Duration,
) -> Result<bool, StoreError> {
    let now = dialect.now_ms;
    let sql = format!(
        "INSERT INTO leases (name, holder, expires) VALUES ($1, $2, {now} + $3) \
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires \
         WHERE leases.holder = excluded.holder OR leases.expires <= {now}"
    );
    let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2);
    let done = sqlx::query(&sql)
        .bind(name)
        .bind(holder)
        .bind(ttl_ms)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    Ok(done.rows_affected() == 1)
}
