//! Both backends against the conformance suite (PostgreSQL also through `SealedStore`), and what
//! only a real database shows: reopening, the change log's window and pages, racing commits.

use std::sync::Arc;

use onramp_core::{Kind, Listener, Op, Owner, PortRange, Record, Task};
use onramp_store::keyring::Keyring;
use onramp_store::sealed::{MasterKeys, SealedStore};
use onramp_store::{Changes, Store};
use onramp_store_sql::SqlStore;

#[tokio::test]
async fn sqlite_conformance() {
    let (store, _dir) = onramp_store_sql::testing::sqlite().await;
    onramp_store::conformance::run_all(&store).await;
}

#[tokio::test]
async fn sqlite_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("onramp.db");
    {
        let store = SqlStore::sqlite(&path).await.unwrap();
        onramp_store::conformance::roundtrip_and_revisions(&store).await;
        store.close().await;
    }
    let store = SqlStore::sqlite(&path).await.unwrap();
    let loaded = store.load().await.unwrap();
    assert_eq!(loaded.revision, 2);
    assert_eq!(loaded.records.len(), 9);
    let Changes::Batches(b) = store.changes_since(0).await.unwrap() else {
        panic!("the change log survives too");
    };
    assert_eq!(b.len(), 2);
}

#[tokio::test]
async fn sqlite_url_forms_open_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("with space.db");
    let a = SqlStore::sqlite(&path).await.unwrap();
    a.commit(&[task("t1")]).await.unwrap();
    a.close().await;
    let b = SqlStore::open(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    assert_eq!(b.revision().await.unwrap(), 1);
    assert!(SqlStore::open("mysql://x").await.is_err());
}

#[tokio::test]
async fn postgres_conformance() {
    let Some(pg) = onramp_store_sql::testing::pg().await else {
        return;
    };
    let store = pg.store().await;
    onramp_store::conformance::run_all(&store).await;
    store.close().await;
    pg.drop_schema().await;
}

#[tokio::test]
async fn postgres_conformance_sealed() {
    let Some(pg) = onramp_store_sql::testing::pg().await else {
        return;
    };
    let store = Arc::new(pg.store().await);
    let sealed = SealedStore::new(
        store.clone(),
        Arc::new(MasterKeys::in_memory(Keyring::generate())),
    );
    onramp_store::conformance::run_all(&sealed).await;
    // Nothing in the database holds the suite's plain secret: not the records, not the log.
    let plain: i64 = sqlx::query_scalar(&format!(
        "SELECT (SELECT count(*) FROM {s}.records WHERE kind = 'key' AND doc NOT LIKE '%sealed:v1:%') \
         + (SELECT count(*) FROM {s}.changes WHERE ops LIKE '%\"secret_key\":\"k\"%')",
        s = pg.schema
    ))
    .fetch_one(&pg.admin)
    .await
    .unwrap();
    assert_eq!(plain, 0);
    store.close().await;
    pg.drop_schema().await;
}

fn task(id: &str) -> Op {
    Op::Put(Record::Task(Task {
        id: id.into(),
        account_id: "a".into(),
        ..Default::default()
    }))
}

/// The log keeps `window` revisions and hands them out a page at a time.
async fn window_and_pages(store: SqlStore) {
    let store = store.with_window(4).with_page(2);
    for i in 0..6 {
        store.commit(&[task(&format!("t{i}"))]).await.unwrap();
    }
    assert_eq!(store.changes_since(1).await.unwrap(), Changes::TooOld);
    let revs = |c: Changes| match c {
        Changes::Batches(b) => b.iter().map(|b| b.revision).collect::<Vec<_>>(),
        Changes::TooOld => panic!("inside the window"),
    };
    assert_eq!(revs(store.changes_since(2).await.unwrap()), [3, 4]);
    assert_eq!(revs(store.changes_since(4).await.unwrap()), [5, 6]);
    assert_eq!(
        revs(store.changes_since(6).await.unwrap()),
        Vec::<u64>::new()
    );
    store.close().await;
}

#[tokio::test]
async fn sqlite_change_log_window_and_pages() {
    let (store, _dir) = onramp_store_sql::testing::sqlite().await;
    window_and_pages(store).await;
}

#[tokio::test]
async fn postgres_change_log_window_and_pages() {
    let Some(pg) = onramp_store_sql::testing::pg().await else {
        return;
    };
    window_and_pages(pg.store().await).await;
    pg.drop_schema().await;
}

#[tokio::test]
async fn racing_commits_never_share_a_revision_or_a_port() {
    let Some(pg) = onramp_store_sql::testing::pg().await else {
        return;
    };
    let store = Arc::new(pg.store().await);
    // Two stores over one database: two control nodes.
    let other = Arc::new(pg.open().await);
    let mut tasks = Vec::new();
    for i in 0..16u16 {
        let s = if i % 2 == 0 {
            store.clone()
        } else {
            other.clone()
        };
        tasks.push(tokio::spawn(async move {
            let l = Listener {
                id: format!("listener-race{i}"),
                account_id: "a".into(),
                owner: Owner::Accelerator("link-race".into()),
                ports: vec![PortRange::single(7000 + i % 4)],
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
    assert_eq!(
        ok,
        [1, 2, 3, 4],
        "one winner per port, revisions 1..=4 in commit order"
    );
    let Changes::Batches(b) = store.changes_since(0).await.unwrap() else {
        panic!("all in the log");
    };
    assert_eq!(
        b.iter().map(|b| b.revision).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    let listeners = store.load().await.unwrap().records;
    assert_eq!(
        listeners
            .iter()
            .filter(|r| r.kind() == Kind::Listener)
            .count(),
        4
    );
    store.close().await;
    other.close().await;
    pg.drop_schema().await;
}
