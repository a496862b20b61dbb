//! The reconciler: turns the desired state into the immutable per-edge snapshot, once per
//! committed revision, and hands it to the edge through a watch channel (latest wins, so a burst
//! of writes costs one build).

use std::sync::Arc;

use onramp_core::snapshot::{self, Snapshot};
use tokio::sync::watch;

use crate::Control;

/// Build the snapshot of `region` now.
pub fn snapshot(control: &Control, region: &str) -> Arc<Snapshot> {
    let st = control.state();
    Arc::new(snapshot::build(&st, region))
}

/// Follow committed revisions and publish a snapshot for `region` after each.
pub async fn run(control: Arc<Control>, region: String, tx: watch::Sender<Arc<Snapshot>>) {
    let mut revs = control.subscribe();
    loop {
        // Always publish, even when nothing this edge serves changed: the edge then reports the
        // new revision as applied once it has applied everything before it.
        tx.send_replace(snapshot(&control, &region));
        if revs.changed().await.is_err() {
            return;
        }
    }
}
