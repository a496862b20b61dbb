//! Conformance of writes, the change feed and leases: a write holds the lock from `begin` and
//! commits as `base + 1` or writes nothing; every commit is in `changes_since` in order, as
//! committed, and nothing else is; waiting wakes on a commit; a lease has one holder at a time.

use std::time::{Duration, Instant};

use onramp_core::*;

use super::{listener, origin};
use crate::{Batch, Changes, Store};

/// Runs every check (any store; it commits on top of what is there).
pub async fn run_all(store: &dyn Store) {
    a_write_commits_as_base_plus_one_or_not_at_all(store).await;
    changes_since_returns_every_batch_in_order(store).await;
    forgotten_changes_are_too_old(store).await;
    waiting_wakes_on_a_commit(store).await;
    a_lease_has_one_holder(store).await;
    racing_holders_never_share_a_lease(store).await;
}

fn batches(c: Changes) -> Vec<Batch> {
    match c {
        Changes::Batches(b) => b,
        Changes::TooOld => panic!("expected batches, the log says too old"),
    }
}

/// `begin` names the revision it follows; a rolled-back or dropped write leaves no trace.
pub async fn a_write_commits_as_base_plus_one_or_not_at_all(store: &dyn Store) {
    let rev = store.revision().await.unwrap();
    let tx = store.begin().await.unwrap();
    assert_eq!(tx.base(), rev);
    tx.rollback().await;
    let tx = store.begin().await.unwrap();
    drop(tx);
    let tx = store.begin().await.unwrap();
    assert_eq!(tx.base(), rev, "nothing committed in between");
    let put = Op::Put(origin("rs-tx1", 3, "192.0.2.1"));
    assert_eq!(tx.commit(&[put]).await.unwrap(), rev + 1);
    assert_eq!(store.revision().await.unwrap(), rev + 1);
    let loaded = store.load().await.unwrap();
    assert!(loaded.records.iter().any(|r| r.id() == "rs-tx1"));
}

/// Each commit is one batch of the feed, ops as committed with the revision on their records;
/// a failed commit adds nothing.
pub async fn changes_since_returns_every_batch_in_order(store: &dyn Store) {
    let start = store.revision().await.unwrap();
    let first = vec![Op::Put(listener(
        "listener-feed1",
        Owner::Accelerator("link-feed0001".into()),
        Protocol::Tcp,
        vec![PortRange { from: 10, to: 12 }],
    ))];
    let second = vec![
        Op::Delete(Kind::Listener, "listener-feed1".into()),
        Op::Put(origin("rs-feed1", 4, "192.0.2.9")),
    ];
    store.commit(&first).await.unwrap();
    store.commit(&second).await.unwrap();
    let clash = [Op::Put(origin("rs-feed2", 4, "192.0.2.9"))];
    assert!(store.commit(&clash).await.is_err(), "same address twice");
    let got = batches(store.changes_since(start).await.unwrap());
    let stamp = |ops: &[Op], rev: u64| -> Vec<Op> {
        ops.iter().cloned().map(|op| op.at_revision(rev)).collect()
    };
    assert_eq!(
        got,
        vec![
            Batch {
                revision: start + 1,
                ops: stamp(&first, start + 1)
            },
            Batch {
                revision: start + 2,
                ops: stamp(&second, start + 2)
            },
        ]
    );
    let later = batches(store.changes_since(start + 1).await.unwrap());
    assert_eq!(
        later.iter().map(|b| b.revision).collect::<Vec<_>>(),
        [start + 2]
    );
    assert!(batches(store.changes_since(start + 2).await.unwrap()).is_empty());
    assert_eq!(
        store.changes_since(start + 10).await.unwrap(),
        Changes::TooOld,
        "a follower ahead of the store reloads"
    );
}

/// Forgotten batches are "too old"; the ones after stay.
pub async fn forgotten_changes_are_too_old(store: &dyn Store) {
    let before = store.revision().await.unwrap();
    store
        .commit(&[Op::Put(origin("rs-forget1", 5, "192.0.2.10"))])
        .await
        .unwrap();
    store
        .commit(&[Op::Delete(Kind::Origin, "rs-forget1".into())])
        .await
        .unwrap();
    store.forget_changes(before + 1).await.unwrap();
    assert_eq!(store.changes_since(before).await.unwrap(), Changes::TooOld);
    let kept = batches(store.changes_since(before + 1).await.unwrap());
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].revision, before + 2);
}

/// `wait_revision` returns at its deadline when nothing happens, and soon after a commit.
pub async fn waiting_wakes_on_a_commit(store: &dyn Store) {
    let rev = store.revision().await.unwrap();
    let t = Instant::now();
    assert_eq!(
        store
            .wait_revision(rev, Duration::from_millis(50))
            .await
            .unwrap(),
        rev
    );
    assert!(t.elapsed() >= Duration::from_millis(50));
    let commit = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        store
            .commit(&[Op::Put(origin("rs-wait1", 6, "192.0.2.11"))])
            .await
            .unwrap()
    };
    let t = Instant::now();
    let (seen, made) = tokio::join!(store.wait_revision(rev, Duration::from_secs(10)), commit);
    assert_eq!(seen.unwrap(), made);
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "woke {:?} after the wait began",
        t.elapsed()
    );
}

/// Taken, refused to another holder, renewed by its own, free again after it expires.
pub async fn a_lease_has_one_holder(store: &dyn Store) {
    let long = Duration::from_secs(30);
    let rev = store.revision().await.unwrap();
    assert!(store.try_lease("expiry", "node-a", long).await.unwrap());
    assert!(!store.try_lease("expiry", "node-b", long).await.unwrap());
    assert!(
        store.try_lease("expiry", "node-a", long).await.unwrap(),
        "renewed"
    );
    assert!(
        store.try_lease("liveness", "node-b", long).await.unwrap(),
        "names are apart"
    );
    let short = Duration::from_millis(200);
    assert!(store.try_lease("short", "node-a", short).await.unwrap());
    assert!(!store.try_lease("short", "node-b", short).await.unwrap());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if store.try_lease("short", "node-b", long).await.unwrap() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "an expired lease goes to another holder"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        !store.try_lease("short", "node-a", long).await.unwrap(),
        "and is b's now"
    );
    assert_eq!(
        store.revision().await.unwrap(),
        rev,
        "leases do not move the revision"
    );
}

/// Two holders asking at the same moment: exactly one gets each lease.
pub async fn racing_holders_never_share_a_lease(store: &dyn Store) {
    let ttl = Duration::from_secs(30);
    for i in 0..20 {
        let name = format!("race-{i}");
        let (a, b) = tokio::join!(
            store.try_lease(&name, "node-a", ttl),
            store.try_lease(&name, "node-b", ttl)
        );
        assert!(
            a.unwrap() ^ b.unwrap(),
            "lease {name}: exactly one of two racing holders"
        );
    }
}
