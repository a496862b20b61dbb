//! The audit log on PostgreSQL: one row per entry, its resource ids also in `audit_resources`.

use onramp_core::{AuditEntry, AuditFilter, Millis};
use onramp_store::StoreError;
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder, Row};

use crate::backend;

pub(crate) async fn append(
    conn: &mut PgConnection,
    entries: &[AuditEntry],
) -> Result<(), StoreError> {
    for e in entries {
        let ids = serde_json::to_string(&e.resource_ids).map_err(backend)?;
        let seq: i64 = sqlx::query(
            "INSERT INTO audit (time, account_id, key_id, dialect, operation, request_id, source, outcome, resource_ids) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING seq",
        )
        .bind(e.time)
        .bind(&e.account_id)
        .bind(&e.key_id)
        .bind(&e.dialect)
        .bind(&e.operation)
        .bind(&e.request_id)
        .bind(&e.source)
        .bind(&e.outcome)
        .bind(ids)
        .fetch_one(&mut *conn)
        .await
        .map_err(backend)?
        .get(0);
        for r in &e.resource_ids {
            sqlx::query("INSERT INTO audit_resources (resource_id, seq) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(r)
                .bind(seq)
                .execute(&mut *conn)
                .await
                .map_err(backend)?;
        }
    }
    Ok(())
}

pub(crate) async fn list(pool: &PgPool, f: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
    let mut q = QueryBuilder::<Postgres>::new(
        "SELECT time, account_id, key_id, dialect, operation, request_id, source, outcome, resource_ids \
         FROM audit WHERE 1 = 1",
    );
    for (column, value) in [
        ("account_id", &f.account_id),
        ("key_id", &f.key_id),
        ("operation", &f.operation),
        ("dialect", &f.dialect),
    ] {
        if let Some(v) = value {
            q.push(format_args!(" AND {column} = "))
                .push_bind(v.clone());
        }
    }
    if let Some(r) = &f.resource_id {
        q.push(" AND seq IN (SELECT seq FROM audit_resources WHERE resource_id = ")
            .push_bind(r.clone())
            .push(")");
    }
    if let Some(s) = f.since {
        q.push(" AND time >= ").push_bind(s);
    }
    if let Some(u) = f.until {
        q.push(" AND time < ").push_bind(u);
    }
    q.push(" ORDER BY time DESC, seq DESC LIMIT ")
        .push_bind(i64::from(f.effective_limit()));
    let rows = q.build().fetch_all(pool).await.map_err(backend)?;
    rows.into_iter()
        .map(|row| {
            let ids: String = row.get(8);
            Ok(AuditEntry {
                time: row.get(0),
                account_id: row.get(1),
                key_id: row.get(2),
                dialect: row.get(3),
                operation: row.get(4),
                request_id: row.get(5),
                source: row.get(6),
                outcome: row.get(7),
                resource_ids: serde_json::from_str(&ids).map_err(|e| StoreError::Corrupt {
                    kind: "audit".into(),
                    id: row.get::<i64, _>(0).to_string(),
                    reason: e.to_string(),
                })?,
            })
        })
        .collect()
}

pub(crate) async fn prune(conn: &mut PgConnection, before: Millis) -> Result<u64, StoreError> {
    sqlx::query("DELETE FROM audit_resources WHERE seq IN (SELECT seq FROM audit WHERE time < $1)")
        .bind(before)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    let done = sqlx::query("DELETE FROM audit WHERE time < $1")
        .bind(before)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    Ok(done.rows_affected())
}
