//! The reconciler: what an edge of a region must apply to reach the committed revision.
//!
//! An edge that has nothing (or is further behind than the state remembers) gets a full
//! snapshot of its region; otherwise a delta of the listeners and accelerators the revisions
//! since its own touched (`State::touched_since`), so a write costs what it changed, not the size
//! of the store. An edge that is current waits for the next commit (`next`). Every revision is
//! answered, even one that changed nothing the edge serves: the edge then reports it applied,
//! which is what statuses wait for.

use std::sync::Arc;
use std::time::Duration;

use onramp_core::snapshot::{self, Snapshot, Update};

use crate::Control;

/// Build the full snapshot of `region` now.
pub fn snapshot(control: &Control, region: &str) -> Arc<Snapshot> {
    let st = control.state();
    Arc::new(snapshot::build(&st, region))
}

/// What brings an edge of `region` from revision `since` (`None`: from nothing) to this node's
/// revision; `None` when it is there already (or ahead: this node has not caught up yet).
pub fn update_since(control: &Control, region: &str, since: Option<u64>) -> Option<Update> {
    let st = control.state();
    let Some(from) = since else {
        return Some(Update::Full(Arc::new(snapshot::build(&st, region))));
    };
    if from >= st.revision {
        return None;
    }
    Some(match st.touched_since(from) {
        Some(t) => Update::Delta(Arc::new(snapshot::delta(&st, region, from, &t))),
        None => Update::Full(Arc::new(snapshot::build(&st, region))),
    })
}

/// Wait up to `wait` for something after `since`, then answer as `update_since`. An edge
/// ahead of this node for the whole wait (its revision came from a store this node does not
/// have, e.g. one restored from an older backup) gets a full snapshot, so it never stays on
/// configuration the store no longer holds.
pub async fn next(
    control: &Control,
    region: &str,
    since: Option<u64>,
    wait: Duration,
) -> Option<Update> {
    if let Some(u) = update_since(control, region, since) {
        return Some(u);
    }
    let from = since.unwrap_or(0);
    let mut revs = control.subscribe();
    let moved = tokio::time::timeout(wait, revs.wait_for(|r| *r > from)).await;
    match moved {
        Ok(Ok(_)) => update_since(control, region, since),
        _ if from > control.committed_revision() => update_since(control, region, None),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use onramp_core::{Accelerator, Listener, Op, Owner, Record};
    use onramp_store_sql::SqlStore;

    #[tokio::test]
    async fn an_edge_gets_a_full_snapshot_then_only_what_changed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqlStore::sqlite(&dir.path().join("db")).await.unwrap());
        let c = Control::open(store).await.unwrap();
        let acc = Op::Put(Record::Accelerator(Accelerator {
            id: "a".into(),
            access_region: "r".into(),
            enabled: true,
            ..Default::default()
        }));
        let listener = |id: &str| {
            Op::Put(Record::Listener(Listener {
                id: id.into(),
                owner: Owner::Accelerator("a".into()),
                ..Default::default()
            }))
        };
        let (r1, _) = c
            .write(|_| Ok::<_, ()>((vec![acc, listener("l1"), listener("l2")], ())))
            .await
            .unwrap();
        let Some(Update::Full(s)) = update_since(&c, "r", None) else {
            panic!("a new edge gets everything");
        };
        assert_eq!((s.revision, s.listeners.len()), (r1, 2));
        assert_eq!(update_since(&c, "r", Some(r1)), None);
        let slow = tokio::spawn({
            let c = c.clone();
            async move { next(&c, "r", Some(r1), Duration::from_secs(10)).await }
        });
        let (r2, _) = c
            .write(|_| Ok::<_, ()>((vec![listener("l2")], ())))
            .await
            .unwrap();
        let Some(Update::Delta(d)) = slow.await.unwrap() else {
            panic!("a waiting edge gets the change");
        };
        assert_eq!((d.from, d.revision, d.listeners.len()), (r1, r2, 1));
        assert_eq!(d.listeners[0].id, "l2");
        let other = update_since(&c, "elsewhere", Some(r1)).unwrap();
        assert_eq!(other.revision(), r2, "another region moves on too");
        let quiet = next(&c, "r", Some(r2), Duration::from_millis(20)).await;
        assert_eq!(quiet, None, "nothing new within the wait");
        let ahead = next(&c, "r", Some(r2 + 5), Duration::from_millis(20)).await;
        assert!(
            matches!(ahead, Some(Update::Full(_))),
            "an edge ahead of the store starts over"
        );
    }
}
