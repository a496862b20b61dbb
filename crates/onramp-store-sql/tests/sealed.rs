//! `SealedStore` over the real SQLite store: the whole conformance suite through the decorator,
//! no plain secret in the database file, migration of plain secrets, master key rotation by
//! another handle on the same files, and clear errors for a wrong key.

use std::sync::Arc;

use onramp_core::{ApiKey, Op, Record};
use onramp_store::keyring::{self, Keyring, MasterKey};
use onramp_store::sealed::{sealed_key_ids, MasterKeys, SealedStore};
use onramp_store::{Changes, Store, StoreError};
use onramp_store_sql::SqlStore;

fn key(id: &str, secret: &str, previous: &str) -> Record {
    Record::Key(ApiKey {
        secret_id: id.into(),
        secret_key: secret.into(),
        account_id: "acct".into(),
        enabled: true,
        previous_secret_key: previous.into(),
        previous_valid_until: 5,
        ..Default::default()
    })
}

fn secret_of(records: &[Record], id: &str) -> (String, String) {
    records
        .iter()
        .find_map(|r| match r {
            Record::Key(k) if k.secret_id == id => {
                Some((k.secret_key.clone(), k.previous_secret_key.clone()))
            }
            _ => None,
        })
        .expect("key present")
}

/// Every byte of the database's files (main file, WAL, shared memory).
fn db_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("onramp.db")
        {
            all.extend(std::fs::read(p).unwrap());
        }
    }
    all
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn conformance_through_the_decorator() {
    let dir = tempfile::tempdir().unwrap();
    let inner = Arc::new(
        SqlStore::sqlite(&dir.path().join("onramp.db"))
            .await
            .unwrap(),
    );
    let keys = Arc::new(MasterKeys::in_memory(Keyring::generate()));
    let store = SealedStore::new(inner.clone(), keys);
    onramp_store::conformance::run_all(&store).await;
    // The suite's key record is sealed underneath.
    let raw = inner.load().await.unwrap();
    let (stored, _) = secret_of(&raw.records, "AKID1");
    assert!(stored.starts_with("sealed:v1:"), "{stored}");
}

#[tokio::test]
async fn the_database_files_hold_no_plain_secret() {
    let dir = tempfile::tempdir().unwrap();
    let inner = Arc::new(
        SqlStore::sqlite(&dir.path().join("onramp.db"))
            .await
            .unwrap(),
    );
    let store = SealedStore::new(
        inner.clone(),
        Arc::new(MasterKeys::in_memory(Keyring::generate())),
    );
    let (now, before) = (
        "CurrentSecretValue0123456789abcd",
        "PreviousSecretValue0123456789abc",
    );
    store
        .commit(&[Op::Put(key("AKIDfile", now, before))])
        .await
        .unwrap();
    let loaded = store.load().await.unwrap();
    assert_eq!(
        secret_of(&loaded.records, "AKIDfile"),
        (now.into(), before.into())
    );
    let bytes = db_bytes(dir.path());
    assert!(
        contains(&bytes, "AKIDfile"),
        "the test reads the right files"
    );
    assert!(!contains(&bytes, now) && !contains(&bytes, before));
}

#[tokio::test]
async fn plain_secrets_are_sealed_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let inner: Arc<dyn Store> = Arc::new(
        SqlStore::sqlite(&dir.path().join("onramp.db"))
            .await
            .unwrap(),
    );
    inner
        .commit(&[
            Op::Put(key("AKIDold", "plain-one", "")),
            Op::Put(key("AKIDold2", "plain-two", "plain-prev")),
        ])
        .await
        .unwrap();
    let store = SealedStore::new(
        inner.clone(),
        Arc::new(MasterKeys::in_memory(Keyring::generate())),
    );
    assert_eq!(store.seal_plain_secrets().await.unwrap(), 2);
    assert_eq!(
        store.seal_plain_secrets().await.unwrap(),
        0,
        "nothing left to seal"
    );
    let raw = inner.load().await.unwrap();
    assert_eq!(sealed_key_ids(&raw.records).len(), 1);
    assert!(!secret_of(&raw.records, "AKIDold2").1.contains("plain"));
    let opened = store.load().await.unwrap();
    assert_eq!(
        secret_of(&opened.records, "AKIDold2"),
        ("plain-two".into(), "plain-prev".into())
    );
}

#[tokio::test]
async fn a_rotation_by_another_process_is_followed_and_a_wrong_key_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("onramp.db");
    let key_file = dir.path().join("master.key");
    let (ring, _) = keyring::create_or_read(&key_file).unwrap();
    let inner = Arc::new(SqlStore::sqlite(&db).await.unwrap());
    let server = SealedStore::new(
        inner.clone(),
        Arc::new(MasterKeys::from_file(&key_file, ring.clone())),
    );
    server
        .commit(&[Op::Put(key("AKIDrot", "s1", ""))])
        .await
        .unwrap();

    // "Another process": its own handles on the same files, rotating the master key.
    let admin_inner = Arc::new(SqlStore::sqlite(&db).await.unwrap());
    let rotated = ring.rotated_to(MasterKey::generate());
    keyring::write(&key_file, &rotated).unwrap();
    let admin = SealedStore::new(
        admin_inner.clone(),
        Arc::new(MasterKeys::from_file(&key_file, rotated.clone())),
    );
    let all = admin.load().await.unwrap().records;
    admin
        .commit(
            &all.into_iter()
                .filter(|r| matches!(r, Record::Key(_)))
                .map(Op::Put)
                .collect::<Vec<_>>(),
        )
        .await
        .unwrap();
    keyring::write(&key_file, &rotated.current_only()).unwrap();
    let raw = admin_inner.load().await.unwrap();
    assert_eq!(
        sealed_key_ids(&raw.records).into_iter().collect::<Vec<_>>(),
        [rotated.current().id()]
    );

    // The server still holds only the old ring in memory: it reads the file again and opens.
    assert_eq!(server.keys().ring().current().id(), ring.current().id());
    let loaded = server.load().await.unwrap();
    assert_eq!(secret_of(&loaded.records, "AKIDrot").0, "s1");
    assert_eq!(server.keys().ring().current().id(), rotated.current().id());
    // And its next write seals with the new key.
    server
        .commit(&[Op::Put(key("AKIDrot2", "s2", ""))])
        .await
        .unwrap();
    let raw = inner.load().await.unwrap();
    assert_eq!(sealed_key_ids(&raw.records).len(), 1);

    // A key file that is not this store's: a clear error naming the file, never a panic.
    let wrong_file = dir.path().join("wrong.key");
    let (wrong, _) = keyring::create_or_read(&wrong_file).unwrap();
    let stranger = SealedStore::new(
        inner.clone(),
        Arc::new(MasterKeys::from_file(&wrong_file, wrong)),
    );
    match stranger.load().await {
        Err(StoreError::Secret(msg)) => {
            assert!(
                msg.contains("wrong.key") && msg.contains(rotated.current().id()),
                "{msg}"
            );
        }
        other => panic!("expected a secret error, got {other:?}"),
    }
}

fn key_ops(c: Changes) -> Vec<(u64, String)> {
    let Changes::Batches(batches) = c else {
        panic!("expected batches");
    };
    batches
        .iter()
        .flat_map(|b| {
            b.ops.iter().filter_map(move |op| match op {
                Op::Put(Record::Key(k)) => Some((b.revision, k.secret_key.clone())),
                _ => None,
            })
        })
        .collect()
}

#[tokio::test]
async fn the_change_log_holds_sealed_secrets_and_opens_them_for_followers() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("master.key");
    let (ring, _) = keyring::create_or_read(&key_file).unwrap();
    let inner: Arc<dyn Store> = Arc::new(
        SqlStore::sqlite(&dir.path().join("onramp.db"))
            .await
            .unwrap(),
    );
    let store = SealedStore::new(
        inner.clone(),
        Arc::new(MasterKeys::from_file(&key_file, ring.clone())),
    );
    store
        .commit(&[Op::Put(key("AKIDlog", "log-secret", ""))])
        .await
        .unwrap();
    assert_eq!(
        key_ops(store.changes_since(0).await.unwrap()),
        [(1, "log-secret".into())]
    );
    let [(_, raw)] = key_ops(inner.changes_since(0).await.unwrap())
        .try_into()
        .unwrap();
    assert!(raw.starts_with("sealed:v1:"), "{raw}");

    // The master key is rotated and the old one dropped: the old batch cannot open any more,
    // so a follower behind it is told to load (the records were sealed again).
    let rotated = ring.rotated_to(MasterKey::generate());
    keyring::write(&key_file, &rotated).unwrap();
    let all = store.load().await.unwrap().records;
    let keys: Vec<Op> = all
        .into_iter()
        .filter(|r| matches!(r, Record::Key(_)))
        .map(Op::Put)
        .collect();
    store.commit(&keys).await.unwrap();
    keyring::write(&key_file, &rotated.current_only()).unwrap();
    store.keys().reload().unwrap();
    assert_eq!(store.changes_since(0).await.unwrap(), Changes::TooOld);
    assert_eq!(
        key_ops(store.changes_since(1).await.unwrap()),
        [(2, "log-secret".into())]
    );
    assert_eq!(
        secret_of(&store.load().await.unwrap().records, "AKIDlog").0,
        "log-secret"
    );
}
