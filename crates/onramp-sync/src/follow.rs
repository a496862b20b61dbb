//! The one loop that feeds an edge: ask a `Source` for what comes after the revision the edge
//! has, keep it (state directory), hand it to the edge, repeat. `onramp serve` runs it over
//! `LocalSource` (the control node in the same process), `onramp edge` over
//! `remote::RemoteSource` (control nodes over HTTP), so both go through the same path: a full
//! snapshot first, then changes only.

use std::sync::Arc;
use std::time::Duration;

use onramp_control::{reconcile, Control};
use onramp_core::snapshot::Update;
use tokio::sync::mpsc;

use crate::state_dir::StateWriter;

/// Where updates come from. `next` waits for a while and may answer `None` (nothing new); it
/// never fails: a source that loses its control node finds another or waits.
#[async_trait::async_trait]
pub trait Source: Send {
    async fn next(&mut self, at: Option<u64>) -> Option<Update>;
}

/// The control node in this process.
pub struct LocalSource {
    pub control: Arc<Control>,
    pub region: String,
}

#[async_trait::async_trait]
impl Source for LocalSource {
    async fn next(&mut self, at: Option<u64>) -> Option<Update> {
        reconcile::next(&self.control, &self.region, at, Duration::from_secs(30)).await
    }
}

/// Feed the edge behind `tx` from `source`, starting after revision `at` (what the edge has
/// already been given, if anything), until the edge stops taking updates.
pub async fn follow(
    mut source: impl Source,
    mut at: Option<u64>,
    tx: mpsc::Sender<Update>,
    keep: Option<StateWriter>,
) {
    loop {
        let Some(u) = source.next(at).await else {
            continue;
        };
        at = Some(u.revision());
        if let Some(k) = &keep {
            k.record(&u);
        }
        if tx.send(u).await.is_err() {
            return;
        }
    }
}
