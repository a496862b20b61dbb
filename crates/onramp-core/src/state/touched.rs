//! What each committed batch touched, as the data plane sees it: the listeners whose edge
//! configuration may have changed and the accelerators whose limits may have. `State::apply`
//! records it per revision (with the records as they were before and after each op, so a
//! deletion still names its listener), and keeps a bounded window of recent revisions; the
//! reconciler asks `State::touched_since` to rebuild only those listeners' specs. Cost: the
//! records an op links to (an accelerator's listeners, an origin's bindings), never the store.

use std::collections::{BTreeSet, VecDeque};

use super::State;
use crate::model::{Kind, Op};

/// Most revisions remembered; an edge further behind gets a full snapshot.
pub const WINDOW_REVISIONS: usize = 16_384;
/// Most listener and accelerator IDs remembered over the window.
pub const WINDOW_IDS: usize = 1_000_000;

/// Listeners and accelerators a batch (or a run of batches) may have changed for the edges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Touched {
    pub listeners: BTreeSet<String>,
    pub accelerators: BTreeSet<String>,
}

impl Touched {
    pub fn is_empty(&self) -> bool {
        self.listeners.is_empty() && self.accelerators.is_empty()
    }

    fn len(&self) -> usize {
        self.listeners.len() + self.accelerators.len()
    }

    pub fn merge(&mut self, other: &Touched) {
        self.listeners.extend(other.listeners.iter().cloned());
        self.accelerators.extend(other.accelerators.iter().cloned());
    }
}

/// The recent revisions and what each touched.
#[derive(Debug, Clone, Default)]
pub(crate) struct TouchedLog {
    /// Changes since `floor` are all in `entries` (the revision the window starts after).
    floor: u64,
    entries: VecDeque<(u64, Touched)>,
    ids: usize,
}

impl TouchedLog {
    pub fn starting_at(revision: u64) -> Self {
        Self {
            floor: revision,
            ..Default::default()
        }
    }

    pub fn push(&mut self, revision: u64, t: Touched) {
        self.ids += t.len();
        self.entries.push_back((revision, t));
        while self.entries.len() > WINDOW_REVISIONS || self.ids > WINDOW_IDS {
            let Some((rev, old)) = self.entries.pop_front() else {
                break;
            };
            self.ids -= old.len();
            self.floor = rev;
        }
    }

    /// Everything touched by revisions above `revision`; `None` when `revision` is older than
    /// the window.
    pub fn since(&self, revision: u64) -> Option<Touched> {
        if revision < self.floor {
            return None;
        }
        let mut out = Touched::default();
        for (_, t) in self.entries.iter().rev().take_while(|(r, _)| *r > revision) {
            out.merge(t);
        }
        Some(out)
    }
}

impl State {
    /// What revisions above `revision` touched; `None` when `revision` is older than the window
    /// this state remembers (a full snapshot is needed).
    pub fn touched_since(&self, revision: u64) -> Option<Touched> {
        self.touched.since(revision)
    }

    /// Add what `op`'s record links to, as the state holds it now (call before and after).
    pub(super) fn touch(&self, op: &Op, t: &mut Touched) {
        let (kind, id) = match op {
            Op::Put(r) => (r.kind(), r.id()),
            Op::Delete(k, id) => (*k, id.as_str()),
        };
        let mut listener = |id: &str| {
            t.listeners.insert(id.to_string());
        };
        match kind {
            Kind::Accelerator => {
                if let Some(a) = self.accelerators.get(id) {
                    self.listeners_of(id).for_each(|l| listener(&l.id));
                    if let Some(g) = &a.group_id {
                        self.listeners_of(g).for_each(|l| listener(&l.id));
                    }
                }
                t.accelerators.insert(id.to_string());
            }
            Kind::Group => self.listeners_of(id).for_each(|l| listener(&l.id)),
            Kind::Listener => listener(id),
            Kind::EndpointGroup => {
                if let Some(e) = self.endpoint_groups.get(id) {
                    listener(&e.listener_id);
                }
            }
            Kind::Origin => self
                .bindings_of_origin(id)
                .for_each(|b| listener(&b.listener_id)),
            Kind::Binding => {
                if let Some(b) = self.bindings.get(id) {
                    listener(&b.listener_id);
                }
            }
            Kind::IpGroup => self.listeners_of_ip_group(id).for_each(|l| listener(&l.id)),
            Kind::Account | Kind::Key | Kind::Task => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touched(ls: &[&str]) -> Touched {
        Touched {
            listeners: ls.iter().map(|s| s.to_string()).collect(),
            accelerators: BTreeSet::new(),
        }
    }

    #[test]
    fn the_window_answers_from_its_floor_and_forgets_the_oldest() {
        let mut log = TouchedLog::starting_at(10);
        assert_eq!(log.since(9), None, "before the window");
        assert_eq!(log.since(10), Some(Touched::default()));
        log.push(11, touched(&["a"]));
        log.push(13, touched(&["b"]));
        assert_eq!(log.since(10), Some(touched(&["a", "b"])));
        assert_eq!(log.since(11), Some(touched(&["b"])));
        assert_eq!(log.since(13), Some(Touched::default()));
        for r in 0..WINDOW_REVISIONS as u64 {
            log.push(14 + r, Touched::default());
        }
        assert_eq!(log.since(12), None, "11 and 13 fell out of the window");
        assert!(log.since(13).is_some());
    }
}
