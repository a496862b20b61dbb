//! The conformance suite: every `Store` backend runs `run_all` against a fresh, empty store.
//!
//! Each check panics with a message on failure, so a backend's test is one call. The audit
//! log's checks are in `audit`; writes, the change feed and leases in `feed`.

pub mod audit;
pub mod feed;

use onramp_core::*;

use crate::{Constraint, Store, StoreError};

fn listener(id: &str, owner: Owner, protocol: Protocol, ports: Vec<PortRange>) -> Record {
    Record::Listener(Listener {
        id: id.into(),
        account_id: "acct".into(),
        owner,
        protocol,
        ports,
        name: format!("name-{id}"),
        ..Default::default()
    })
}

fn origin(id: &str, project: i64, address: &str) -> Record {
    Record::Origin(Origin {
        id: id.into(),
        account_id: "acct".into(),
        project_id: project,
        address: address.into(),
        name: "o".into(),
        ..Default::default()
    })
}

fn sample_records() -> Vec<Record> {
    vec![
        Record::Account(Account {
            id: "acct".into(),
            app_id: 1,
            domain_id: "d".into(),
            ..Default::default()
        }),
        Record::Key(ApiKey {
            secret_id: "AKID1".into(),
            secret_key: "k".into(),
            account_id: "acct".into(),
            enabled: true,
            ..Default::default()
        }),
        Record::Accelerator(Accelerator {
            id: "link-aaaaaaaa".into(),
            account_id: "acct".into(),
            name: "p".into(),
            enabled: true,
            tags: vec![Tag {
                key: "k".into(),
                value: "v".into(),
            }],
            ..Default::default()
        }),
        Record::Group(AcceleratorGroup {
            id: "lg-aaaaaaaa".into(),
            account_id: "acct".into(),
            ..Default::default()
        }),
        match listener(
            "listener-aaaaaaaa",
            Owner::Accelerator("link-aaaaaaaa".into()),
            Protocol::Tcp,
            vec![PortRange::single(80)],
        ) {
            Record::Listener(mut l) => {
                l.access = Some(AccessControl {
                    ip_group_id: "ipg1".into(),
                    kind: acl::AccessKind::Black,
                });
                Record::Listener(l)
            }
            other => other,
        },
        Record::IpGroup(IpGroup {
            id: "ipg1".into(),
            account_id: "acct".into(),
            name: "office".into(),
            entries: vec![
                IpEntry {
                    cidr: "10.0.0.0/8".into(),
                    description: "lan".into(),
                    created_at: 5,
                },
                IpEntry {
                    cidr: "2001:db8::/32".into(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        }),
        Record::EndpointGroup(EndpointGroup {
            id: "eg1".into(),
            account_id: "acct".into(),
            listener_id: "listener-aaaaaaaa".into(),
            ..Default::default()
        }),
        origin("rs-aaaaaaaa", 0, "127.0.0.2"),
        Record::Binding(Binding {
            id: "b1".into(),
            account_id: "acct".into(),
            listener_id: "listener-aaaaaaaa".into(),
            origin_id: "rs-aaaaaaaa".into(),
            port: 8080,
            weight: 3,
            ..Default::default()
        }),
        Record::Task(Task {
            id: "task-1".into(),
            account_id: "acct".into(),
            number: 7,
            ..Default::default()
        }),
    ]
}

/// Runs every check on an empty store.
pub async fn run_all(store: &dyn Store) {
    roundtrip_and_revisions(store).await;
    listener_port_uniqueness(store).await;
    origin_address_uniqueness(store).await;
    failed_batch_writes_nothing(store).await;
    deletes_free_their_unique_keys(store).await;
    audit::run_all(store).await;
    feed::run_all(store).await;
}

/// Every kind round-trips unchanged; every commit bumps the revision by one.
pub async fn roundtrip_and_revisions(store: &dyn Store) {
    assert_eq!(
        store.revision().await.unwrap(),
        0,
        "a new store is at revision 0"
    );
    let recs = sample_records();
    let ops: Vec<Op> = recs.iter().cloned().map(Op::Put).collect();
    let rev = store.commit(&ops).await.unwrap();
    assert_eq!(rev, 1);
    let loaded = store.load().await.unwrap();
    assert_eq!(loaded.revision, 1);
    for mut r in recs {
        r.set_revision(1);
        let got = loaded
            .records
            .iter()
            .find(|x| x.kind() == r.kind() && x.id() == r.id());
        assert_eq!(
            got,
            Some(&r),
            "record {:?}/{} round-trips",
            r.kind(),
            r.id()
        );
    }
    let rev = store
        .commit(&[Op::Delete(Kind::Task, "task-1".into())])
        .await
        .unwrap();
    assert_eq!(rev, 2);
    let loaded = store.load().await.unwrap();
    assert!(!loaded.records.iter().any(|r| r.kind() == Kind::Task));
    assert_eq!(store.revision().await.unwrap(), 2);
}

fn expect_conflict(r: Result<u64, StoreError>, what: &str) -> Constraint {
    match r {
        Err(StoreError::Conflict(c)) => c,
        other => panic!("{what}: expected a conflict, got {other:?}"),
    }
}

/// Two listeners of one owner cannot share a protocol and port; other protocols and owners can.
pub async fn listener_port_uniqueness(store: &dyn Store) {
    let owner = Owner::Accelerator("link-uniq0001".into());
    let ranges = vec![
        PortRange {
            from: 1000,
            to: 1010,
        },
        PortRange::single(2000),
    ];
    store
        .commit(&[Op::Put(listener(
            "listener-u1",
            owner.clone(),
            Protocol::Tcp,
            ranges,
        ))])
        .await
        .unwrap();
    let c = expect_conflict(
        store
            .commit(&[Op::Put(listener(
                "listener-u2",
                owner.clone(),
                Protocol::Tcp,
                vec![PortRange {
                    from: 1010,
                    to: 1020,
                }],
            ))])
            .await,
        "overlapping TCP range",
    );
    assert_eq!(
        c,
        Constraint::ListenerPort {
            owner_id: "link-uniq0001".into(),
            protocol: Protocol::Tcp,
            port: 1010
        }
    );
    store
        .commit(&[Op::Put(listener(
            "listener-u3",
            owner.clone(),
            Protocol::Udp,
            vec![PortRange::single(1005)],
        ))])
        .await
        .unwrap();
    store
        .commit(&[Op::Put(listener(
            "listener-u4",
            Owner::Accelerator("link-uniq0002".into()),
            Protocol::Tcp,
            vec![PortRange::single(1005)],
        ))])
        .await
        .unwrap();
    // Re-putting a listener with changed ports frees the old ones.
    store
        .commit(&[Op::Put(listener(
            "listener-u1",
            owner.clone(),
            Protocol::Tcp,
            vec![PortRange::single(3000)],
        ))])
        .await
        .unwrap();
    store
        .commit(&[Op::Put(listener(
            "listener-u5",
            owner.clone(),
            Protocol::Tcp,
            vec![PortRange::single(1000)],
        ))])
        .await
        .unwrap();
    // Re-putting a listener with the same ports (renamed) keeps them taken.
    if let Record::Listener(mut l) = listener(
        "listener-u3",
        owner.clone(),
        Protocol::Udp,
        vec![PortRange::single(1005)],
    ) {
        l.name = "renamed".into();
        store.commit(&[Op::Put(Record::Listener(l))]).await.unwrap();
    }
    expect_conflict(
        store
            .commit(&[Op::Put(listener(
                "listener-u6",
                owner,
                Protocol::Udp,
                vec![PortRange::single(1005)],
            ))])
            .await,
        "a renamed listener keeps its ports",
    );
}

/// One origin per address per project of an account.
pub async fn origin_address_uniqueness(store: &dyn Store) {
    store
        .commit(&[Op::Put(origin("rs-u1", 5, "10.9.9.9"))])
        .await
        .unwrap();
    let c = expect_conflict(
        store
            .commit(&[Op::Put(origin("rs-u2", 5, "10.9.9.9"))])
            .await,
        "same address and project",
    );
    assert!(
        matches!(c, Constraint::OriginAddress { project_id: 5, .. }),
        "{c:?}"
    );
    store
        .commit(&[Op::Put(origin("rs-u3", 6, "10.9.9.9"))])
        .await
        .unwrap();
    // Renaming keeps the address it has.
    if let Record::Origin(mut o) = origin("rs-u1", 5, "10.9.9.9") {
        o.name = "renamed".into();
        store.commit(&[Op::Put(Record::Origin(o))]).await.unwrap();
    }
}

/// A batch with a conflict leaves no trace and does not bump the revision.
pub async fn failed_batch_writes_nothing(store: &dyn Store) {
    let before = store.revision().await.unwrap();
    let r = store
        .commit(&[
            Op::Put(origin("rs-atomic1", 9, "10.1.1.1")),
            Op::Put(origin("rs-atomic2", 9, "10.1.1.1")),
        ])
        .await;
    expect_conflict(r, "batch with duplicate addresses");
    assert_eq!(store.revision().await.unwrap(), before);
    let loaded = store.load().await.unwrap();
    assert!(
        !loaded.records.iter().any(|r| r.id() == "rs-atomic1"),
        "no partial batch"
    );
}

/// Deleting a listener or origin frees its port or address.
pub async fn deletes_free_their_unique_keys(store: &dyn Store) {
    let owner = Owner::Group("lg-del00001".into());
    store
        .commit(&[Op::Put(listener(
            "listener-d1",
            owner.clone(),
            Protocol::Udp,
            vec![PortRange::single(53)],
        ))])
        .await
        .unwrap();
    store
        .commit(&[Op::Delete(Kind::Listener, "listener-d1".into())])
        .await
        .unwrap();
    store
        .commit(&[Op::Put(listener(
            "listener-d2",
            owner,
            Protocol::Udp,
            vec![PortRange::single(53)],
        ))])
        .await
        .unwrap();
    store
        .commit(&[Op::Put(origin("rs-d1", 1, "example.com"))])
        .await
        .unwrap();
    store
        .commit(&[Op::Delete(Kind::Origin, "rs-d1".into())])
        .await
        .unwrap();
    store
        .commit(&[Op::Put(origin("rs-d2", 1, "example.com"))])
        .await
        .unwrap();
}
