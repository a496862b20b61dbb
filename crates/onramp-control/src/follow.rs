//! Following what other processes commit (other control nodes, `onramp admin`): their batches
//! come from the store's change log and are applied with `State::apply`, in revision order, at
//! a cost that follows the change. Only when the log no longer covers this node's revision is
//! the whole state loaded again (and the window of `changes_since` starts over, so consumers
//! know to take a snapshot).
//!
//! A write catches up the same way under the store's writer lock (`begin_current`), so the
//! batch it decides lands exactly on the state it was decided on.

use std::sync::Arc;
use std::time::Duration;

use onramp_core::State;
use onramp_store::{Changes, StoreError, WriteTx};

use crate::Control;

/// A follower that cannot read the store tries again after this long.
const RETRY: Duration = Duration::from_secs(1);

impl Control {
    /// Start a write with the store's writer lock held and this node caught up with it.
    /// Callers hold `self.writer`.
    pub(crate) async fn begin_current(&self) -> Result<Box<dyn WriteTx>, StoreError> {
        let tx = self.store.begin().await?;
        if self.catch_up(tx.base()).await? {
            return Ok(tx);
        }
        // Too far behind for the log: load without holding every node's writes back.
        tx.rollback().await;
        self.reload().await?;
        let tx = self.store.begin().await?;
        if !self.catch_up(tx.base()).await? {
            // Still behind (a burst of commits meanwhile): load under the lock this time.
            self.reload().await?;
        }
        Ok(tx)
    }

    /// Apply the batches others committed, until this node is at `target` (or beyond).
    /// False when the change log no longer holds them: the caller reloads. Callers hold
    /// `self.writer`.
    async fn catch_up(&self, target: u64) -> Result<bool, StoreError> {
        while self.committed_revision() < target {
            let at = self.committed_revision();
            let batches = match self.store.changes_since(at).await? {
                Changes::Batches(b) if !b.is_empty() => b,
                Changes::Batches(_) | Changes::TooOld => return Ok(false),
            };
            for b in batches {
                let now = self.committed_revision();
                if b.revision <= now {
                    continue;
                }
                if b.revision != now + 1 {
                    return Ok(false);
                }
                self.publish(b.revision, b.ops);
            }
        }
        Ok(true)
    }

    /// Load the whole state again. Callers hold `self.writer`.
    async fn reload(&self) -> Result<(), StoreError> {
        let loaded = self.store.load().await?;
        let rev = loaded.revision;
        {
            let mut st = self.state.write().unwrap_or_else(|p| p.into_inner());
            *st = State::from_records(rev, loaded.records);
            self.placement.rebuild(&st);
        }
        self.window().reset(rev);
        self.advance(rev);
        tracing::info!(
            revision = rev,
            "loaded the whole state: the change log no longer covered this node"
        );
        Ok(())
    }

    /// Catch up with what other processes committed. Returns whether anything was applied.
    pub async fn refresh(&self) -> Result<bool, StoreError> {
        let target = self.store.revision().await?;
        if target <= self.committed_revision() {
            return Ok(false);
        }
        let _w = self.writer.lock().await;
        if !self.catch_up(target).await? {
            self.reload().await?;
        }
        Ok(true)
    }

    /// Follow writes made by other processes: woken by the store when one commits
    /// (PostgreSQL `NOTIFY`, else its polling), and at least every `every`.
    pub async fn follow_store(self: Arc<Self>, every: Duration) {
        loop {
            let known = self.committed_revision();
            let seen = match self.store.wait_revision(known, every).await {
                Ok(seen) => seen,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the store revision");
                    tokio::time::sleep(RETRY).await;
                    continue;
                }
            };
            if seen > known {
                if let Err(e) = self.refresh().await {
                    tracing::warn!(error = %e, "cannot follow the store");
                    tokio::time::sleep(RETRY).await;
                }
            }
        }
    }
}
