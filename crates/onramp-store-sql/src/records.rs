//! Records and their uniqueness indices: each record is one JSON document keyed by (kind, id);
//! `listener_ports` (every port of every range) and `origin_addresses` hold the keys that must be
//! unique, under primary keys the database enforces.
//!
//! A put rewrites a record's index rows only when what they index changed (a listener renamed
//! keeps its 65,535 port rows), so a write costs what it changes, not what the record spans.

use futures_util::TryStreamExt;
use onramp_core::{Kind, Listener, Op, Origin, PortRange, Record};
use onramp_store::{Constraint, Loaded, StoreError};
use sqlx::{Any, AnyConnection, Row, Transaction};

use crate::{backend, is_unique};

/// Every record, read inside the caller's snapshot transaction.
pub(crate) async fn load(tx: &mut Transaction<'_, Any>) -> Result<Loaded, StoreError> {
    let revision = revision(tx).await?;
    let mut records = Vec::new();
    let mut rows = sqlx::query("SELECT kind, id, doc FROM records").fetch(&mut **tx);
    while let Some(row) = rows.try_next().await.map_err(backend)? {
        let doc: String = row.get(2);
        records.push(serde_json::from_str(&doc).map_err(|e| StoreError::Corrupt {
            kind: row.get(0),
            id: row.get(1),
            reason: e.to_string(),
        })?);
    }
    Ok(Loaded { revision, records })
}

pub(crate) async fn revision(conn: &mut AnyConnection) -> Result<u64, StoreError> {
    let row = sqlx::query("SELECT value FROM meta WHERE key = 'revision'")
        .fetch_one(&mut *conn)
        .await
        .map_err(backend)?;
    Ok(row.get::<i64, _>(0) as u64)
}

/// Apply one op of the batch that makes `rev` (records in `Put`s already carry it).
pub(crate) async fn apply(conn: &mut AnyConnection, op: &Op) -> Result<(), StoreError> {
    match op {
        Op::Put(r) => {
            let old = match r {
                Record::Listener(_) | Record::Origin(_) => stored(conn, r.kind(), r.id()).await?,
                _ => None,
            };
            if index_key(old.as_ref()) != index_key(Some(r)) {
                clear_indices(conn, r.kind(), r.id()).await?;
                add_indices(conn, r).await?;
            }
            let doc = serde_json::to_string(r).map_err(backend)?;
            sqlx::query(
                "INSERT INTO records (kind, id, account_id, revision, doc) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (kind, id) DO UPDATE SET account_id = excluded.account_id, \
                 revision = excluded.revision, doc = excluded.doc",
            )
            .bind(r.kind().as_str())
            .bind(r.id())
            .bind(r.account_id())
            .bind(r.revision() as i64)
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

/// What a record's index rows are made from: equal keys, equal rows.
#[derive(PartialEq)]
enum IndexKey<'a> {
    None,
    Listener(&'a str, &'a str, &'a [PortRange]),
    Origin(&'a str, i64, &'a str),
}

fn index_key(r: Option<&Record>) -> IndexKey<'_> {
    match r {
        Some(Record::Listener(l)) => IndexKey::Listener(l.owner.id(), l.protocol.lower(), &l.ports),
        Some(Record::Origin(o)) => IndexKey::Origin(&o.account_id, o.project_id, &o.address),
        _ => IndexKey::None,
    }
}

/// The stored record `kind`/`id`, if any.
async fn stored(
    conn: &mut AnyConnection,
    kind: Kind,
    id: &str,
) -> Result<Option<Record>, StoreError> {
    let row = sqlx::query("SELECT doc FROM records WHERE kind = $1 AND id = $2")
        .bind(kind.as_str())
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(backend)?;
    row.map(|row| {
        let doc: String = row.get(0);
        serde_json::from_str(&doc).map_err(|e| StoreError::Corrupt {
            kind: kind.as_str().into(),
            id: id.into(),
            reason: e.to_string(),
        })
    })
    .transpose()
}

async fn clear_indices(conn: &mut AnyConnection, kind: Kind, id: &str) -> Result<(), StoreError> {
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

async fn add_indices(conn: &mut AnyConnection, r: &Record) -> Result<(), StoreError> {
    match r {
        Record::Listener(l) => {
            for range in &l.ports {
                add_range(conn, l, range).await?;
            }
            Ok(())
        }
        Record::Origin(o) => add_origin(conn, o).await,
        _ => Ok(()),
    }
}

/// Insert every port of `range` in one statement. The taken port is looked for first, to name
/// it (writes hold the writer lock, so the look is exact); the primary key stays the backstop.
async fn add_range(
    conn: &mut AnyConnection,
    l: &Listener,
    range: &PortRange,
) -> Result<(), StoreError> {
    let conflict = |port: u16| {
        StoreError::Conflict(Constraint::ListenerPort {
            owner_id: l.owner.id().to_string(),
            protocol: l.protocol,
            port,
        })
    };
    let (from, to) = (i64::from(range.from), i64::from(range.to));
    let taken = sqlx::query(
        "SELECT port FROM listener_ports WHERE owner_id = $1 AND protocol = $2 \
         AND port BETWEEN $3 AND $4 ORDER BY port LIMIT 1",
    )
    .bind(l.owner.id())
    .bind(l.protocol.lower())
    .bind(from)
    .bind(to)
    .fetch_optional(&mut *conn)
    .await
    .map_err(backend)?;
    if let Some(row) = taken {
        return Err(conflict(row.get::<i64, _>(0) as u16));
    }
    let res = sqlx::query(
        "WITH RECURSIVE p(n) AS (SELECT CAST($3 AS INTEGER) UNION ALL SELECT n + 1 FROM p WHERE n < CAST($4 AS INTEGER)) \
         INSERT INTO listener_ports (owner_id, protocol, port, listener_id) SELECT $1, $2, n, $5 FROM p",
    )
    .bind(l.owner.id())
    .bind(l.protocol.lower())
    .bind(from)
    .bind(to)
    .bind(&l.id)
    .execute(&mut *conn)
    .await;
    match res {
        Ok(_) => Ok(()),
        Err(e) if is_unique(&e) => Err(conflict(range.from)),
        Err(e) => Err(backend(e)),
    }
}

async fn add_origin(conn: &mut AnyConnection, o: &Origin) -> Result<(), StoreError> {
    let res = sqlx::query(
        "INSERT INTO origin_addresses (account_id, project_id, address, origin_id) VALUES ($1, $2, $3, $4)",
    )
    .bind(&o.account_id)
    .bind(o.project_id)
    .bind(&o.address)
    .bind(&o.id)
    .execute(&mut *conn)
    .await;
    match res {
        Ok(_) => Ok(()),
        Err(e) if is_unique(&e) => Err(StoreError::Conflict(Constraint::OriginAddress {
            account_id: o.account_id.clone(),
            project_id: o.project_id,
            address: o.address.clone(),
        })),
        Err(e) => Err(backend(e)),
    }
}
