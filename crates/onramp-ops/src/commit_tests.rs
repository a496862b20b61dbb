//! The one commit path over a real store: the task record, the sweep of expired tasks, and the
//! store's uniqueness conflicts coming back as the operations' own errors.

use std::sync::Arc;

use onramp_control::Control;
use onramp_core::{Listener, Op, Owner, PortRange, Protocol, Record};

use super::*;
use crate::test_state::ACCOUNT;

async fn control() -> (Arc<Control>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = onramp_store_sql::SqlStore::sqlite(&dir.path().join("db"))
        .await
        .unwrap();
    (Control::open(Arc::new(store)).await.unwrap(), dir)
}

fn call(task: &str, now: i64) -> Call<'_> {
    Call {
        account: ACCOUNT,
        now,
        task_id: task,
        action: "CreateThing",
    }
}

fn listener(id: &str, port: u16) -> Op {
    Op::Put(Record::Listener(Listener {
        id: id.into(),
        account_id: ACCOUNT.into(),
        owner: Owner::Accelerator("link-a".into()),
        protocol: Protocol::Tcp,
        ports: vec![PortRange::single(port)],
        ..Default::default()
    }))
}

#[tokio::test]
async fn a_write_is_recorded_as_its_task_and_an_empty_one_is_not() {
    let (c, _dir) = control().await;
    let (rev, out) = commit(&c, &call("req-1", 1_000), |cx, _, _| {
        assert_eq!(cx.account, ACCOUNT);
        Ok(Plan::new(vec![listener("listener-1", 80)], 7))
    })
    .await
    .unwrap();
    assert_eq!(out, 7);
    {
        let st = c.state();
        let t = st.task(ACCOUNT, "req-1").unwrap();
        assert_eq!(
            (t.action.as_str(), t.revision, t.created_at),
            ("CreateThing", rev, 1_000)
        );
    }
    commit(&c, &call("req-2", 2_000), |_, _, _| {
        Ok(Plan::new(vec![], ()))
    })
    .await
    .unwrap();
    assert!(c.state().task(ACCOUNT, "req-2").is_none());
    commit(&c, &call("req-3", 3_000), |_, _, _| Ok(Plan::task_only(())))
        .await
        .unwrap();
    assert!(c.state().task(ACCOUNT, "req-3").is_some());
}

#[tokio::test]
async fn expired_tasks_are_swept_by_later_writes() {
    let (c, _dir) = control().await;
    commit(&c, &call("old", 0), |_, _, _| Ok(Plan::task_only(())))
        .await
        .unwrap();
    let later = TASK_RETENTION_MS + 1;
    commit(&c, &call("new", later), |_, _, _| Ok(Plan::task_only(())))
        .await
        .unwrap();
    let st = c.state();
    assert!(st.task(ACCOUNT, "old").is_none() && st.task(ACCOUNT, "new").is_some());
}

#[tokio::test]
async fn a_refusal_writes_nothing_and_a_store_conflict_is_a_taken_port() {
    let (c, _dir) = control().await;
    let before = c.committed_revision();
    let e = commit(&c, &call("req-1", 1), |_, _, _| -> Result<Plan<()>, _> {
        Err(OpError::Missing("name"))
    })
    .await
    .unwrap_err();
    assert!(matches!(e, OpError::Missing("name")));
    assert_eq!(c.committed_revision(), before);
    commit(&c, &call("req-2", 2), |_, _, _| {
        Ok(Plan::new(vec![listener("listener-1", 80)], ()))
    })
    .await
    .unwrap();
    // A plan that skipped the check (a racing writer): the store is the backstop.
    let e = commit(&c, &call("req-3", 3), |_, _, _| {
        Ok(Plan::new(vec![listener("listener-2", 80)], ()))
    })
    .await
    .unwrap_err();
    assert!(
        matches!(
            e,
            OpError::PortTaken {
                protocol: Protocol::Tcp,
                port: 80,
                listener: None
            }
        ),
        "{e:?}"
    );
    assert!(c.state().task(ACCOUNT, "req-3").is_none());
}

#[tokio::test]
async fn the_background_sweep_deletes_every_expired_task_in_one_batch() {
    let (c, _dir) = control().await;
    let old: Vec<Op> = (0..40)
        .map(|i| {
            Op::Put(Record::Task(onramp_core::Task {
                id: format!("t-old-{i}"),
                account_id: ACCOUNT.into(),
                created_at: i,
                ..Default::default()
            }))
        })
        .collect();
    c.write(|_| Ok::<_, ()>((old, ()))).await.unwrap();
    let now = TASK_RETENTION_MS + 20;
    assert_eq!(
        sweep_expired_tasks(&c, now).await.unwrap(),
        20,
        "created before now - retention"
    );
    assert_eq!(c.state().tasks.len(), 20);
    assert_eq!(sweep_expired_tasks(&c, now).await.unwrap(), 0);
}
