//! The change log: one row per commit, its ops as JSON, keyed by revision. A commit appends its
//! row and drops the one that left the window, so the log stays `window` rows long and the
//! commit's cost does not grow with it.

use onramp_core::{Kind, Op, Record};
use onramp_store::{Batch, Changes, StoreError};
use serde::{Deserialize, Serialize};
use sqlx::{Any, AnyConnection, Row, Transaction};

use crate::backend;

/// One op as the log keeps it (owned, to read; short-lived, like `Op` itself).
#[allow(clippy::large_enum_variant)]
#[derive(Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum OpRow {
    Put { record: Record },
    Delete { kind: Kind, id: String },
}

/// One op as the log keeps it (borrowed, to write).
#[derive(Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum OpRef<'a> {
    Put { record: &'a Record },
    Delete { kind: Kind, id: &'a str },
}

fn encode(ops: &[Op]) -> Result<String, StoreError> {
    let rows: Vec<OpRef<'_>> = ops
        .iter()
        .map(|op| match op {
            Op::Put(record) => OpRef::Put { record },
            Op::Delete(kind, id) => OpRef::Delete { kind: *kind, id },
        })
        .collect();
    serde_json::to_string(&rows).map_err(backend)
}

fn decode(revision: i64, text: &str) -> Result<Vec<Op>, StoreError> {
    let rows: Vec<OpRow> = serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
        kind: "change".into(),
        id: revision.to_string(),
        reason: e.to_string(),
    })?;
    Ok(rows
        .into_iter()
        .map(|r| match r {
            OpRow::Put { record } => Op::Put(record),
            OpRow::Delete { kind, id } => Op::Delete(kind, id),
        })
        .collect())
}

/// Record the batch that made `rev`, keeping the newest `window` revisions.
pub(crate) async fn append(
    conn: &mut AnyConnection,
    rev: u64,
    ops: &[Op],
    window: u64,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO changes (revision, ops) VALUES ($1, $2)")
        .bind(rev as i64)
        .bind(encode(ops)?)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    if rev > window {
        forget(conn, rev - window).await?;
    }
    Ok(())
}

/// Drop the batches up to `through`.
pub(crate) async fn forget(conn: &mut AnyConnection, through: u64) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM changes WHERE revision <= $1")
        .bind(through as i64)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    Ok(())
}

/// The batches after `rev` (at most `page`), read inside the caller's snapshot transaction.
pub(crate) async fn since(
    tx: &mut Transaction<'_, Any>,
    rev: u64,
    page: usize,
) -> Result<Changes, StoreError> {
    let current = crate::records::revision(tx).await?;
    if rev == current {
        return Ok(Changes::Batches(Vec::new()));
    }
    if rev > current {
        // Ahead of the store (restored from an older backup): only a full load is right.
        return Ok(Changes::TooOld);
    }
    let oldest = sqlx::query("SELECT min(revision) FROM changes")
        .fetch_one(&mut **tx)
        .await
        .map_err(backend)?
        .get::<Option<i64>, _>(0);
    if oldest.is_none_or(|o| o as u64 > rev + 1) {
        return Ok(Changes::TooOld);
    }
    let rows = sqlx::query(
        "SELECT revision, ops FROM changes WHERE revision > $1 ORDER BY revision LIMIT $2",
    )
    .bind(rev as i64)
    .bind(page as i64)
    .fetch_all(&mut **tx)
    .await
    .map_err(backend)?;
    let mut batches = Vec::with_capacity(rows.len());
    for row in rows {
        let revision: i64 = row.get(0);
        let text: String = row.get(1);
        batches.push(Batch {
            revision: revision as u64,
            ops: decode(revision, &text)?,
        });
    }
    Ok(Changes::Batches(batches))
}
