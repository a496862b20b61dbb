//! Stores written by the code before the one SQL store (main at 6aa659e, two crates) open and
//! work: records (with a sealed key) as they were, uniqueness rows still enforced, the audit log
//! readable, and the change log starting at the first new commit. `fixtures/main-6aa659e.*` were
//! made by that code: a SQLite file (WAL checkpointed) and a `pg_dump --inserts` of a schema.

use std::sync::Arc;

use onramp_core::*;
use onramp_store::keyring;
use onramp_store::sealed::{MasterKeys, SealedStore};
use onramp_store::{Changes, Constraint, Store, StoreError};
use onramp_store_sql::SqlStore;

const FIXTURE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn sealed(inner: Arc<SqlStore>) -> SealedStore {
    let path = std::path::Path::new(FIXTURE_DIR).join("main-6aa659e.master.key");
    let ring = keyring::read(&path).unwrap();
    SealedStore::new(inner, Arc::new(MasterKeys::in_memory(ring)))
}

fn find<'a>(records: &'a [Record], kind: Kind, id: &str) -> &'a Record {
    records
        .iter()
        .find(|r| r.kind() == kind && r.id() == id)
        .unwrap_or_else(|| panic!("{kind:?}/{id} in the fixture"))
}

/// What the fixture holds, and that the store keeps working on it.
async fn check(store: &SealedStore) {
    let loaded = store.load().await.unwrap();
    assert_eq!(loaded.revision, 3);
    assert_eq!(loaded.records.len(), 6, "{:?}", loaded.records);
    let Record::Listener(l) = find(&loaded.records, Kind::Listener, "listener-fixture1") else {
        unreachable!()
    };
    assert_eq!(
        l.ports,
        vec![
            PortRange {
                from: 8000,
                to: 8009
            },
            PortRange::single(9000)
        ]
    );
    assert_eq!(l.revision, 1);
    let Record::Key(k) = find(&loaded.records, Kind::Key, "AKIDfixture") else {
        unreachable!()
    };
    assert_eq!(
        k.secret_key, "fixture-secret-key",
        "the sealed secret opens"
    );
    assert!(matches!(
        find(&loaded.records, Kind::Binding, "b-fixture1"),
        Record::Binding(b) if b.port == 8080 && b.weight == 10
    ));
    assert!(
        !loaded.records.iter().any(|r| r.kind() == Kind::Task),
        "deleted at 3"
    );
    let audit = store.audit(&AuditFilter::default()).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].resource_ids, ["link-fixture1"]);
    let by_resource = AuditFilter {
        resource_id: Some("link-fixture1".into()),
        ..Default::default()
    };
    assert_eq!(store.audit(&by_resource).await.unwrap().len(), 1);

    // The old uniqueness rows are enforced.
    let clash = Listener {
        id: "listener-new".into(),
        account_id: "acct".into(),
        owner: Owner::Accelerator("link-fixture1".into()),
        ports: vec![PortRange::single(8005)],
        ..Default::default()
    };
    match store
        .commit(&[Op::Put(Record::Listener(clash.clone()))])
        .await
    {
        Err(StoreError::Conflict(Constraint::ListenerPort { port: 8005, .. })) => {}
        other => panic!("port 8005 is the fixture listener's: {other:?}"),
    }
    let twin = Origin {
        id: "rs-twin".into(),
        account_id: "acct".into(),
        address: "127.0.0.2".into(),
        ..Default::default()
    };
    assert!(matches!(
        store.commit(&[Op::Put(Record::Origin(twin))]).await,
        Err(StoreError::Conflict(Constraint::OriginAddress { .. }))
    ));
    // The change log begins with the first commit after the upgrade.
    assert_eq!(store.changes_since(2).await.unwrap(), Changes::TooOld);
    assert_eq!(
        store.changes_since(3).await.unwrap(),
        Changes::Batches(vec![])
    );
    let freed = [
        Op::Delete(Kind::Listener, "listener-fixture1".into()),
        Op::Put(Record::Listener(clash)),
    ];
    assert_eq!(
        store.commit(&freed).await.unwrap(),
        4,
        "deleting frees the old rows"
    );
    let Changes::Batches(b) = store.changes_since(3).await.unwrap() else {
        panic!("revision 4 is in the log");
    };
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].revision, 4);
}

#[tokio::test]
async fn a_sqlite_store_made_before_opens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("onramp.db");
    std::fs::copy(format!("{FIXTURE_DIR}/main-6aa659e.db"), &path).unwrap();
    let store = sealed(Arc::new(SqlStore::sqlite(&path).await.unwrap()));
    check(&store).await;
}

#[tokio::test]
async fn a_postgres_store_made_before_opens() {
    let Some(pg) = onramp_store_sql::testing::pg().await else {
        return;
    };
    let dump = std::fs::read_to_string(format!("{FIXTURE_DIR}/main-6aa659e.pg.sql")).unwrap();
    // The dump sets its own search_path: run it on a connection of its own.
    let mut conn = pg.admin.acquire().await.unwrap().detach();
    sqlx::raw_sql(&dump.replace("onramp_fixture", &pg.schema))
        .execute(&mut conn)
        .await
        .unwrap();
    let store = sealed(Arc::new(pg.open().await));
    check(&store).await;
    pg.drop_schema().await;
}
