//! Conformance of the audit log: append in batches, list newest first through every filter,
//! bounded listings, retention; the log never moves the revision nor shows up among records.

use onramp_core::{AuditEntry, AuditFilter, Millis};

use crate::Store;

fn entry(time: Millis, account: &str, op: &str, dialect: &str, resources: &[&str]) -> AuditEntry {
    AuditEntry {
        time,
        account_id: account.into(),
        key_id: format!("AKID-{account}"),
        dialect: dialect.into(),
        operation: op.into(),
        resource_ids: resources.iter().map(|r| r.to_string()).collect(),
        request_id: format!("req-{time}-{op}"),
        source: "127.0.0.1:5555".into(),
        outcome: "ok".into(),
    }
}

async fn list(store: &dyn Store, f: AuditFilter) -> Vec<AuditEntry> {
    store.audit(&f).await.expect("audit listing")
}

fn ops(v: &[AuditEntry]) -> Vec<(Millis, &str)> {
    v.iter().map(|e| (e.time, e.operation.as_str())).collect()
}

/// Runs every audit check on a store whose audit log is empty.
pub async fn run_all(store: &dyn Store) {
    append_and_filter(store).await;
    listings_are_bounded(store).await;
    retention_prunes_old_entries(store).await;
}

/// Entries round-trip unchanged, newest first, and each filter field narrows the listing.
pub async fn append_and_filter(store: &dyn Store) {
    let rev = store.revision().await.unwrap();
    let records = store.load().await.unwrap().records.len();
    let mut failed = entry(1_300, "acct-b", "DeleteProxy", "gaap", &["link-2"]);
    failed.outcome = "ResourceNotFound".into();
    failed.key_id = "AKID-other".into();
    store
        .append_audit(&[
            entry(1_000, "acct-a", "CreateProxy", "gaap", &["link-1"]),
            entry(
                1_100,
                "acct-a",
                "CreateListener",
                "huawei",
                &["link-1", "listener-9"],
            ),
        ])
        .await
        .unwrap();
    store
        .append_audit(&[
            entry(
                1_200,
                "acct-a",
                "create-key",
                "admin",
                &["acct-a", "AKID-x"],
            ),
            failed.clone(),
        ])
        .await
        .unwrap();
    store.append_audit(&[]).await.unwrap();
    assert_eq!(
        store.revision().await.unwrap(),
        rev,
        "the audit log does not move the revision"
    );
    assert_eq!(
        store.load().await.unwrap().records.len(),
        records,
        "nor is it a record"
    );

    let all = list(store, AuditFilter::default()).await;
    assert_eq!(
        ops(&all),
        [
            (1_300, "DeleteProxy"),
            (1_200, "create-key"),
            (1_100, "CreateListener"),
            (1_000, "CreateProxy")
        ],
        "newest first"
    );
    assert_eq!(all[0], failed, "an entry round-trips unchanged");
    assert_eq!(all[2].resource_ids, ["link-1", "listener-9"]);

    let by = |f: AuditFilter| async move {
        ops(&list(store, f).await)
            .into_iter()
            .map(|(t, _)| t)
            .collect::<Vec<_>>()
    };
    let none = AuditFilter::default;
    assert_eq!(
        by(AuditFilter {
            account_id: Some("acct-b".into()),
            ..none()
        })
        .await,
        [1_300]
    );
    assert_eq!(
        by(AuditFilter {
            key_id: Some("AKID-acct-a".into()),
            ..none()
        })
        .await,
        [1_200, 1_100, 1_000]
    );
    assert_eq!(
        by(AuditFilter {
            operation: Some("CreateProxy".into()),
            ..none()
        })
        .await,
        [1_000]
    );
    assert_eq!(
        by(AuditFilter {
            dialect: Some("admin".into()),
            ..none()
        })
        .await,
        [1_200]
    );
    assert_eq!(
        by(AuditFilter {
            resource_id: Some("link-1".into()),
            ..none()
        })
        .await,
        [1_100, 1_000]
    );
    assert_eq!(
        by(AuditFilter {
            resource_id: Some("link".into()),
            ..none()
        })
        .await,
        Vec::<Millis>::new(),
        "whole ids only"
    );
    assert_eq!(
        by(AuditFilter {
            since: Some(1_100),
            until: Some(1_300),
            ..none()
        })
        .await,
        [1_200, 1_100]
    );
    assert_eq!(
        by(AuditFilter {
            limit: Some(2),
            ..none()
        })
        .await,
        [1_300, 1_200]
    );
    assert_eq!(
        by(AuditFilter {
            account_id: Some("acct-a".into()),
            resource_id: Some("listener-9".into()),
            dialect: Some("huawei".into()),
            ..none()
        })
        .await,
        [1_100]
    );
}

/// Without a limit a listing stops at 100 entries.
pub async fn listings_are_bounded(store: &dyn Store) {
    let batch: Vec<AuditEntry> = (0..150)
        .map(|i| {
            entry(
                2_000 + i,
                "acct-bulk",
                "ModifyProxiesAttribute",
                "gaap",
                &[],
            )
        })
        .collect();
    store.append_audit(&batch).await.unwrap();
    let f = AuditFilter {
        account_id: Some("acct-bulk".into()),
        ..Default::default()
    };
    let got = list(store, f.clone()).await;
    assert_eq!(got.len(), 100);
    assert_eq!(got[0].time, 2_149);
    let got = list(
        store,
        AuditFilter {
            limit: Some(500),
            ..f
        },
    )
    .await;
    assert_eq!(got.len(), 150);
}

/// Pruning drops the entries older than the cut, and only those.
pub async fn retention_prunes_old_entries(store: &dyn Store) {
    let before = list(
        store,
        AuditFilter {
            limit: Some(10_000),
            ..Default::default()
        },
    )
    .await
    .len();
    let gone = store.prune_audit(1_200).await.unwrap();
    assert_eq!(gone, 2, "the entries at 1,000 and 1,100");
    let after = list(
        store,
        AuditFilter {
            limit: Some(10_000),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(after.len(), before - 2);
    assert!(after.iter().all(|e| e.time >= 1_200));
    let by_resource = AuditFilter {
        resource_id: Some("link-1".into()),
        ..Default::default()
    };
    assert!(
        list(store, by_resource).await.is_empty(),
        "their resource ids went with them"
    );
}
