//! The committed batches a node keeps in memory, for the rest of the process (the reconciler,
//! the edge protocol) to follow by revision instead of rebuilding from the whole state.
//!
//! Every batch the node commits or follows from another node is pushed here, in revision order,
//! before the committed-revision watch fires, so a subscriber woken by the watch always finds
//! the batch. The window is bounded (by batches and by ops); `floor` is the revision from which
//! it is complete. A full reload (the store's change log no longer covered this node) clears the
//! window and raises the floor to the reloaded revision, so a consumer older than that gets
//! `None` from `since` and takes a full snapshot: it never misses a change silently.

use std::collections::VecDeque;
use std::sync::Arc;

use onramp_core::Op;

/// Batches kept at most.
pub const WINDOW_BATCHES: usize = 4096;
/// Ops kept at most over all kept batches (the newest batch is kept whatever its size).
pub const WINDOW_OPS: usize = 65_536;

/// One committed batch, as every node sees it (own writes and followed ones alike).
///
/// Records in `Put`s carry `revision`. The ops are the model's, secrets included (API keys are
/// plain above the store): a consumer that sends them out of the process filters them first.
#[derive(Debug, Clone)]
pub struct Change {
    pub revision: u64,
    pub ops: Arc<[Op]>,
}

/// The bounded window of recent batches.
#[derive(Debug)]
pub(crate) struct Window {
    /// Every batch after `floor` is held (until evicted, which raises `floor`).
    floor: u64,
    batches: VecDeque<Change>,
    ops: usize,
    max_batches: usize,
    max_ops: usize,
}

impl Window {
    pub(crate) fn new(floor: u64) -> Self {
        Self::with_limits(floor, WINDOW_BATCHES, WINDOW_OPS)
    }

    pub(crate) fn with_limits(floor: u64, max_batches: usize, max_ops: usize) -> Self {
        Self {
            floor,
            batches: VecDeque::new(),
            ops: 0,
            max_batches: max_batches.max(1),
            max_ops,
        }
    }

    /// Add the batch committed at `change.revision` (the next one after the last held).
    pub(crate) fn push(&mut self, change: Change) {
        let last = self.batches.back().map_or(self.floor, |c| c.revision);
        debug_assert!(change.revision > last, "batches arrive in revision order");
        if change.revision != last + 1 {
            // A gap: what lies between was never seen here, so nothing before is complete.
            self.reset(change.revision - 1);
        }
        self.ops += change.ops.len();
        self.batches.push_back(change);
        while self.batches.len() > 1
            && (self.batches.len() > self.max_batches || self.ops > self.max_ops)
        {
            if let Some(old) = self.batches.pop_front() {
                self.ops -= old.ops.len();
                self.floor = old.revision;
            }
        }
    }

    /// Forget everything: the state was reloaded at `revision`.
    pub(crate) fn reset(&mut self, revision: u64) {
        self.batches.clear();
        self.ops = 0;
        self.floor = revision;
    }

    /// The batches after `rev`, or `None` when `rev` is below the window.
    pub(crate) fn since(&self, rev: u64) -> Option<Vec<Change>> {
        if rev < self.floor {
            return None;
        }
        let start = self.batches.partition_point(|c| c.revision <= rev);
        Some(self.batches.range(start..).cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use onramp_core::Kind;

    fn change(revision: u64, n: usize) -> Change {
        let ops: Vec<Op> = (0..n)
            .map(|i| Op::Delete(Kind::Task, format!("t{revision}-{i}")))
            .collect();
        Change {
            revision,
            ops: ops.into(),
        }
    }

    fn revs(v: Option<Vec<Change>>) -> Option<Vec<u64>> {
        v.map(|v| v.iter().map(|c| c.revision).collect())
    }

    #[test]
    fn since_returns_the_batches_after_a_revision_in_order() {
        let mut w = Window::new(10);
        for r in 11..=14 {
            w.push(change(r, 1));
        }
        assert_eq!(revs(w.since(10)), Some(vec![11, 12, 13, 14]));
        assert_eq!(revs(w.since(12)), Some(vec![13, 14]));
        assert_eq!(revs(w.since(14)), Some(vec![]));
        assert_eq!(revs(w.since(20)), Some(vec![]), "nothing newer yet");
        assert_eq!(revs(w.since(9)), None, "older than the window");
    }

    #[test]
    fn the_window_is_bounded_by_batches_and_by_ops() {
        let mut w = Window::with_limits(0, 3, 100);
        for r in 1..=5 {
            w.push(change(r, 1));
        }
        assert_eq!(revs(w.since(2)), Some(vec![3, 4, 5]));
        assert_eq!(w.since(1).map(|v| v.len()), None);
        let mut w = Window::with_limits(0, 100, 10);
        w.push(change(1, 6));
        w.push(change(2, 6));
        assert_eq!(revs(w.since(1)), Some(vec![2]), "ops over the bound evict");
        assert_eq!(revs(w.since(0)), None);
        w.push(change(3, 50));
        assert_eq!(revs(w.since(2)), Some(vec![3]), "the newest batch stays");
    }

    #[test]
    fn a_reset_or_a_gap_hides_everything_before_it() {
        let mut w = Window::new(0);
        w.push(change(1, 1));
        w.reset(7);
        assert_eq!(revs(w.since(1)), None);
        assert_eq!(revs(w.since(7)), Some(vec![]));
        w.push(change(8, 1));
        w.push(change(11, 1));
        assert_eq!(revs(w.since(8)), None, "9 and 10 were never seen");
        assert_eq!(revs(w.since(10)), Some(vec![11]));
    }
}
