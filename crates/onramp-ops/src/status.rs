//! The lifecycle a resource reports, computed once: a resource is still changing while its
//! revision is above the edges' applied revision, and its last change says which change.
//! Dialects only translate a `Phase` into their words (GAAP `CREATING`/`ListenerStatus` 1,
//! Huawei `PENDING`, BM status 0).

use onramp_core::tombstones::Gone;
use onramp_core::{
    Accelerator, AcceleratorChange, AcceleratorGroup, Listener, ListenerChange, Task,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Creating,
    Opening,
    Closing,
    /// A configuration change is on its way to the edges.
    Configuring,
    /// A listener's set of origins is on its way to the edges.
    Binding,
    Running,
    Closed,
    /// An edge could not apply it (a listener whose port could not be bound).
    Failed,
    /// Deleted, and the edges still serve it (see `gone`).
    Deleting,
}

impl Phase {
    /// Every phase, in the order status views list them.
    pub const ALL: [Phase; 9] = [
        Phase::Creating,
        Phase::Opening,
        Phase::Closing,
        Phase::Configuring,
        Phase::Binding,
        Phase::Running,
        Phase::Closed,
        Phase::Failed,
        Phase::Deleting,
    ];

    /// The phase's name in onramp's own views (`onramp status`, the console).
    pub fn name(self) -> &'static str {
        match self {
            Phase::Creating => "creating",
            Phase::Opening => "opening",
            Phase::Closing => "closing",
            Phase::Configuring => "configuring",
            Phase::Binding => "binding",
            Phase::Running => "running",
            Phase::Closed => "closed",
            Phase::Failed => "failed",
            Phase::Deleting => "deleting",
        }
    }

    /// Whether the edges serve what the record says (running or closed).
    pub fn is_settled(self) -> bool {
        matches!(self, Phase::Running | Phase::Closed)
    }
}

fn switched(change: AcceleratorChange) -> Phase {
    match change {
        AcceleratorChange::Create => Phase::Creating,
        AcceleratorChange::Open => Phase::Opening,
        AcceleratorChange::Close => Phase::Closing,
        AcceleratorChange::Config => Phase::Configuring,
    }
}

pub fn accelerator(a: &Accelerator, applied: u64) -> Phase {
    match (a.revision <= applied, a.enabled) {
        (true, true) => Phase::Running,
        (true, false) => Phase::Closed,
        (false, _) => switched(a.change),
    }
}

pub fn group(g: &AcceleratorGroup, applied: u64) -> Phase {
    match (g.revision <= applied, g.enabled) {
        (true, true) => Phase::Running,
        (true, false) => Phase::Closed,
        (false, _) => switched(g.change),
    }
}

/// `failed`: an edge reported it could not open the listener.
pub fn listener(l: &Listener, applied: u64, failed: bool) -> Phase {
    if failed {
        return Phase::Failed;
    }
    if l.revision <= applied {
        return Phase::Running;
    }
    match l.change {
        ListenerChange::Create => Phase::Creating,
        ListenerChange::Origins => Phase::Binding,
        ListenerChange::Config => Phase::Configuring,
    }
}

/// A deleted accelerator or listener: `Deleting` until the edges applied its deletion, then gone
/// (`None`).
pub fn gone(g: &Gone, applied: u64) -> Option<Phase> {
    (g.revision() > applied).then_some(Phase::Deleting)
}

/// `Running` until the edges applied the task's revision, then `Running`'s end: `Settled`;
/// `Failed` once an edge reported the change as failed, even if later revisions were applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskPhase {
    Running,
    Settled,
    Failed,
}

pub fn task(t: &Task, applied: u64) -> TaskPhase {
    if t.failed {
        TaskPhase::Failed
    } else if t.revision <= applied {
        TaskPhase::Settled
    } else {
        TaskPhase::Running
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resource_is_changing_until_the_edges_applied_its_revision() {
        let mut a = Accelerator {
            revision: 5,
            enabled: true,
            change: AcceleratorChange::Create,
            ..Default::default()
        };
        assert_eq!(accelerator(&a, 4), Phase::Creating);
        assert_eq!(accelerator(&a, 5), Phase::Running);
        a.enabled = false;
        a.change = AcceleratorChange::Close;
        assert_eq!(accelerator(&a, 4), Phase::Closing);
        assert_eq!(accelerator(&a, 9), Phase::Closed);
        assert!(accelerator(&a, 9).is_settled());
    }

    #[test]
    fn a_listener_the_edge_could_not_open_is_failed_whatever_its_revision() {
        let mut l = Listener {
            revision: 3,
            change: ListenerChange::Origins,
            ..Default::default()
        };
        assert_eq!(listener(&l, 2, false), Phase::Binding);
        assert_eq!(listener(&l, 3, false), Phase::Running);
        assert_eq!(listener(&l, 3, true), Phase::Failed);
        l.change = ListenerChange::Config;
        assert_eq!(listener(&l, 2, false), Phase::Configuring);
        assert!(!listener(&l, 2, false).is_settled());
    }

    #[test]
    fn tasks_settle_with_the_applied_revision_and_stay_failed() {
        let mut t = Task {
            revision: 7,
            ..Default::default()
        };
        assert_eq!(task(&t, 6), TaskPhase::Running);
        assert_eq!(task(&t, 7), TaskPhase::Settled);
        t.failed = true;
        assert_eq!(task(&t, 7), TaskPhase::Failed);
    }

    #[test]
    fn a_deleted_resource_is_deleting_until_the_edges_applied_it() {
        let g = Gone::Listener(Listener {
            revision: 8,
            ..Default::default()
        });
        assert_eq!(gone(&g, 7), Some(Phase::Deleting));
        assert!(!Phase::Deleting.is_settled());
        assert_eq!(gone(&g, 8), None);
    }
}
