//! The audit log: one row per entry, its resource ids also in `audit_resources` so listing by
//! resource uses an index. It never touches the revision nor the change log.

use onramp_core::{AuditEntry, AuditFilter, Millis};
use onramp_store::StoreError;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, Row};

use crate::backend;

pub(crate) async fn append(
    conn: &mut AnyConnection,
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

/// A bound value of a filter.
enum Arg {
    Text(String),
    Int(i64),
}

/// The WHERE clause of `f` with `$n` placeholders, and the values they stand for.
fn filter(f: &AuditFilter) -> (String, Vec<Arg>) {
    let mut sql = String::from(" WHERE 1 = 1");
    let mut args = Vec::new();
    let mut add = |sql: &mut String, cond: &str, arg: Arg| {
        args.push(arg);
        *sql += &cond.replace("{}", &format!("${}", args.len()));
    };
    for (column, value) in [
        ("account_id", &f.account_id),
        ("key_id", &f.key_id),
        ("operation", &f.operation),
        ("dialect", &f.dialect),
    ] {
        if let Some(v) = value {
            add(
                &mut sql,
                &format!(" AND {column} = {{}}"),
                Arg::Text(v.clone()),
            );
        }
    }
    if let Some(r) = &f.resource_id {
        let cond = " AND seq IN (SELECT seq FROM audit_resources WHERE resource_id = {})";
        add(&mut sql, cond, Arg::Text(r.clone()));
    }
    if let Some(s) = f.since {
        add(&mut sql, " AND time >= {}", Arg::Int(s));
    }
    if let Some(u) = f.until {
        add(&mut sql, " AND time < {}", Arg::Int(u));
    }
    add(
        &mut sql,
        " ORDER BY time DESC, seq DESC LIMIT {}",
        Arg::Int(i64::from(f.effective_limit())),
    );
    (sql, args)
}

pub(crate) async fn list(pool: &AnyPool, f: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
    let (clause, args) = filter(f);
    let sql = format!(
        "SELECT time, account_id, key_id, dialect, operation, request_id, source, outcome, resource_ids, seq \
         FROM audit{clause}"
    );
    let mut q = sqlx::query(&sql);
    for a in args {
        q = match a {
            Arg::Text(s) => q.bind(s),
            Arg::Int(i) => q.bind(i),
        };
    }
    let rows = q.fetch_all(pool).await.map_err(backend)?;
    rows.iter().map(entry).collect()
}

fn entry(row: &AnyRow) -> Result<AuditEntry, StoreError> {
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
            id: row.get::<i64, _>(9).to_string(),
            reason: e.to_string(),
        })?,
    })
}

pub(crate) async fn prune(conn: &mut AnyConnection, before: Millis) -> Result<u64, StoreError> {
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
