//! Changes only: what an edge of a region must change to go from one revision to a later one.
//!
//! A `Delta` names every listener and accelerator the revisions in between touched, each either
//! with its spec at the later revision (served there) or as removed (not served there any more,
//! or never was: removing what an edge does not have is a no-op). It costs what the revisions
//! touched, not the size of the region.

use std::sync::Arc;

use super::build::{accelerator_spec, listener_spec, serves, serving_accelerator};
use super::{AcceleratorSpec, ListenerSpec, Snapshot};
use crate::state::{State, Touched};

/// The changes from revision `from` to `revision` for the edges of one region.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Delta {
    pub from: u64,
    pub revision: u64,
    pub accelerators: Vec<AcceleratorSpec>,
    pub removed_accelerators: Vec<String>,
    pub listeners: Vec<Arc<ListenerSpec>>,
    pub removed_listeners: Vec<String>,
}

impl Delta {
    pub fn is_empty(&self) -> bool {
        self.accelerators.is_empty()
            && self.removed_accelerators.is_empty()
            && self.listeners.is_empty()
            && self.removed_listeners.is_empty()
    }
}

/// What an edge receives: a whole region, or the changes since the revision it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Update {
    Full(Arc<Snapshot>),
    Delta(Arc<Delta>),
}

impl Update {
    /// The revision the edge is at once it applied this.
    pub fn revision(&self) -> u64 {
        match self {
            Update::Full(s) => s.revision,
            Update::Delta(d) => d.revision,
        }
    }
}

/// The delta for the edges of `region` from revision `from` to the state's, given what the
/// revisions in between touched (`State::touched_since(from)`).
pub fn delta(st: &State, region: &str, from: u64, touched: &Touched) -> Delta {
    let mut d = Delta {
        from,
        revision: st.revision,
        ..Default::default()
    };
    for id in &touched.accelerators {
        match st.accelerators.get(id).filter(|a| serves(a, region)) {
            Some(a) => d.accelerators.push(accelerator_spec(a)),
            None => d.removed_accelerators.push(id.clone()),
        }
    }
    for id in &touched.listeners {
        let served = st
            .listeners
            .get(id)
            .and_then(|l| Some((l, serving_accelerator(st, region, l)?)));
        match served {
            Some((l, a)) => d.listeners.push(Arc::new(listener_spec(st, l, &a.id))),
            None => d.removed_listeners.push(id.clone()),
        }
    }
    d
}

impl Snapshot {
    /// Apply `d` (whose `from` is at most this snapshot's revision) in place.
    pub fn apply_delta(&mut self, d: &Delta) {
        for id in &d.removed_accelerators {
            self.accelerators.remove(id);
        }
        for a in &d.accelerators {
            self.accelerators.insert(a.id.clone(), a.clone());
        }
        for id in &d.removed_listeners {
            self.listeners.remove(id);
        }
        for l in &d.listeners {
            self.listeners.insert(l.id.clone(), l.clone());
        }
        self.revision = self.revision.max(d.revision);
    }
}
