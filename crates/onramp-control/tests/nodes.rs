//! Several `Control`s over one store, as control nodes (PostgreSQL) or `serve` + `onramp admin`
//! (SQLite) are: each follows the others' batches incrementally, falls back to a full load only
//! past the change log, and racing writes lose nothing, break no uniqueness and converge.
//! PostgreSQL also loses connections (`pg_terminate_backend`) and comes back.

use std::sync::Arc;
use std::time::{Duration, Instant};

use onramp_control::Control;
use onramp_core::{Listener, Op, Origin, Owner, PortRange, Protocol, Record, State, Task};
use onramp_store_sql::testing;
use onramp_store_sql::SqlStore;

fn counter(n: u64) -> Op {
    Op::Put(Record::Task(Task {
        id: "counter".into(),
        account_id: "acct".into(),
        number: n,
        ..Default::default()
    }))
}

/// Read-modify-write: lost unless writes are serialised across nodes.
async fn increment(c: &Control) {
    c.write(|s| {
        let n = s.tasks.get("counter").map_or(0, |t| t.number);
        Ok::<_, ()>((vec![counter(n + 1)], ()))
    })
    .await
    .unwrap();
}

/// Claim a port of one accelerator; refused when the state shows it taken.
async fn claim(c: &Control, id: String, port: u16) -> bool {
    let r = c
        .write(|s| {
            let range = PortRange::single(port);
            if s.port_taken("link-race", Protocol::Tcp, &range, None)
                .is_some()
            {
                return Err("taken");
            }
            let l = Listener {
                id,
                account_id: "acct".into(),
                owner: Owner::Accelerator("link-race".into()),
                ports: vec![range],
                ..Default::default()
            };
            Ok((vec![Op::Put(Record::Listener(l))], ()))
        })
        .await;
    r.is_ok()
}

fn same_state(a: &State, b: &State) {
    assert_eq!(a.revision, b.revision);
    assert_eq!(a.tasks, b.tasks);
    assert_eq!(a.listeners, b.listeners);
    assert_eq!(a.origins, b.origins);
    assert_eq!(a.accounts, b.accounts);
}

/// Every revision after `from` is in the node's window: it followed batch by batch.
fn followed_every_batch(c: &Control, from: u64) {
    let got = c.changes_since(from).expect("no full reload happened");
    let revs: Vec<u64> = got.iter().map(|c| c.revision).collect();
    let want: Vec<u64> = (from + 1..=c.committed_revision()).collect();
    assert_eq!(revs, want);
}

async fn wait_until(what: &str, within: Duration, ok: impl Fn() -> bool) {
    let deadline = Instant::now() + within;
    while !ok() {
        assert!(Instant::now() < deadline, "{what} within {within:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn race(a: &Arc<Control>, b: &Arc<Control>) {
    let mut tasks = Vec::new();
    for i in 0..40u16 {
        let c = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            increment(&c).await;
            claim(&c, format!("listener-r{i}"), 9000 + i % 5).await
        }));
    }
    let mut claimed = 0;
    for t in tasks {
        claimed += usize::from(t.await.unwrap());
    }
    assert_eq!(claimed, 5, "one listener per port across nodes");
    a.refresh().await.unwrap();
    b.refresh().await.unwrap();
    same_state(&a.state(), &b.state());
    assert_eq!(a.state().tasks["counter"].number, 40, "no increment lost");
    assert_eq!(a.state().listeners.len(), 5);
}

#[tokio::test]
async fn sqlite_nodes_follow_each_other_batch_by_batch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("onramp.db");
    let a = Control::open(Arc::new(SqlStore::sqlite(&path).await.unwrap()))
        .await
        .unwrap();
    let b = Control::open(Arc::new(SqlStore::sqlite(&path).await.unwrap()))
        .await
        .unwrap();
    race(&a, &b).await;
    followed_every_batch(&a, 0);
    followed_every_batch(&b, 0);
}

#[tokio::test]
async fn a_node_past_the_change_log_reloads_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("onramp.db");
    let store = SqlStore::sqlite(&path).await.unwrap().with_window(3);
    let a = Control::open(Arc::new(store)).await.unwrap();
    let b = Control::open(Arc::new(SqlStore::sqlite(&path).await.unwrap()))
        .await
        .unwrap();
    for _ in 0..6 {
        increment(&a).await;
    }
    let mut watch = b.subscribe();
    assert!(b.refresh().await.unwrap());
    assert_eq!(
        *watch.borrow_and_update(),
        6,
        "the reload is a committed revision too"
    );
    assert!(
        b.changes_since(0).is_none(),
        "consumers below the reload take a snapshot"
    );
    assert_eq!(b.changes_since(6).map(|v| v.len()), Some(0));
    same_state(&a.state(), &b.state());
    // From there on it follows batch by batch again, and its own write follows theirs.
    increment(&a).await;
    increment(&b).await;
    followed_every_batch(&b, 6);
    assert_eq!(b.state().tasks["counter"].number, 8);
}

#[tokio::test]
async fn postgres_nodes_race_converge_and_lose_nothing() {
    let Some(pg) = testing::pg().await else {
        return;
    };
    let a = Control::open(Arc::new(pg.store().await)).await.unwrap();
    let b = Control::open(Arc::new(pg.open().await)).await.unwrap();
    race(&a, &b).await;
    followed_every_batch(&a, 0);
    followed_every_batch(&b, 0);
    let stored = a.store().load().await.unwrap();
    assert_eq!(stored.revision, a.committed_revision());
    pg.drop_schema().await;
}

fn origin(id: &str, address: &str) -> Op {
    Op::Put(Record::Origin(Origin {
        id: id.into(),
        account_id: "acct".into(),
        address: address.into(),
        ..Default::default()
    }))
}

async fn put(c: &Control, op: Op) -> u64 {
    c.write(|_| Ok::<_, ()>((vec![op], ()))).await.unwrap().0
}

#[tokio::test]
async fn postgres_nodes_hear_each_other_and_survive_dropped_connections() {
    let Some(pg) = testing::pg().await else {
        return;
    };
    let a = Control::open(Arc::new(pg.store().await)).await.unwrap();
    // B polls only once a minute: within the test only NOTIFY (and the catch-up after a
    // reconnection) can bring it A's writes.
    let slow = pg.open().await.with_poll(Duration::from_secs(60));
    let b = Control::open(Arc::new(slow)).await.unwrap();
    tokio::spawn(b.clone().follow_store(Duration::from_secs(60)));
    let rev = put(&a, origin("rs-1", "192.0.2.1")).await;
    let within = Duration::from_secs(5);
    wait_until("B hears A's commit", within, || {
        b.committed_revision() >= rev
    })
    .await;

    // The LISTEN connection dropped: it comes back and catches up by revision.
    assert!(
        pg.terminate(true).await >= 1,
        "B's LISTEN connection is there"
    );
    let rev = put(&a, origin("rs-2", "192.0.2.2")).await;
    let within = Duration::from_secs(10);
    wait_until("B catches up after LISTEN came back", within, || {
        b.committed_revision() >= rev
    })
    .await;
    assert!(b.state().origins.contains_key("rs-2"));

    // Every pooled connection dropped: the next request on either node is answered.
    assert!(pg.terminate(false).await >= 1);
    let rev_b = put(&b, origin("rs-3", "192.0.2.3")).await;
    let rev_a = put(&a, origin("rs-4", "192.0.2.4")).await;
    assert_eq!(
        rev_a,
        rev_b + 1,
        "A caught up with B's write before its own"
    );
    wait_until("B hears A again", within, || {
        b.committed_revision() >= rev_a
    })
    .await;
    same_state(&a.state(), &b.state());
    followed_every_batch(&b, 0);
    pg.drop_schema().await;
}
