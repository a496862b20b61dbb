//! Accelerators and listeners just deleted: each is kept, with the revision that deleted it, so
//! a dialect can show it as being deleted until every edge applied that revision (then it is
//! gone). In memory only (a restart forgets them, and they are gone by then) and bounded: past
//! `CAP` the oldest are forgotten first.

use std::collections::BTreeMap;

use crate::model::{Accelerator, Listener};

/// Most deleted resources remembered.
pub const CAP: usize = 4096;

/// A deleted resource, as it was, with `revision` set to the revision that deleted it.
#[derive(Debug, Clone, PartialEq)]
pub enum Gone {
    Accelerator(Accelerator),
    Listener(Listener),
}

impl Gone {
    pub fn revision(&self) -> u64 {
        match self {
            Gone::Accelerator(a) => a.revision,
            Gone::Listener(l) => l.revision,
        }
    }
}

/// Deleted resources by ID.
#[derive(Debug, Clone, Default)]
pub struct Tombstones {
    by_id: BTreeMap<String, Gone>,
    by_revision: BTreeMap<(u64, String), ()>,
}

impl Tombstones {
    /// Remember `gone` under `id` (deleted at `gone.revision()`).
    pub fn bury(&mut self, id: &str, gone: Gone) {
        self.forget(id);
        self.by_revision
            .insert((gone.revision(), id.to_string()), ());
        self.by_id.insert(id.to_string(), gone);
        while self.by_id.len() > CAP {
            let Some(((_, oldest), ())) = self.by_revision.pop_first() else {
                break;
            };
            self.by_id.remove(&oldest);
        }
    }

    /// Forget `id` (a record with that ID exists again).
    pub fn forget(&mut self, id: &str) {
        if let Some(g) = self.by_id.remove(id) {
            self.by_revision.remove(&(g.revision(), id.to_string()));
        }
    }

    /// `id`, if it was deleted by a revision above `applied` (the edges still serve it).
    pub fn pending(&self, id: &str, applied: u64) -> Option<&Gone> {
        self.by_id.get(id).filter(|g| g.revision() > applied)
    }

    /// Every resource deleted by a revision above `applied`.
    pub fn all_pending(&self, applied: u64) -> impl Iterator<Item = &Gone> {
        self.by_revision
            .range((applied.saturating_add(1), String::new())..)
            .filter_map(|((_, id), ())| self.by_id.get(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acc(id: &str, revision: u64) -> Gone {
        Gone::Accelerator(Accelerator {
            id: id.into(),
            revision,
            ..Default::default()
        })
    }

    #[test]
    fn a_tombstone_lasts_until_its_revision_is_applied() {
        let mut t = Tombstones::default();
        t.bury("a", acc("a", 5));
        t.bury("b", acc("b", 7));
        assert!(t.pending("a", 4).is_some() && t.pending("a", 5).is_none());
        let ids = |t: &Tombstones, applied| {
            t.all_pending(applied)
                .map(Gone::revision)
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&t, 4), vec![5, 7]);
        assert_eq!(ids(&t, 5), vec![7]);
        t.forget("b");
        assert_eq!(ids(&t, 0), vec![5]);
    }

    #[test]
    fn the_oldest_are_forgotten_past_the_cap() {
        let mut t = Tombstones::default();
        for i in 0..=CAP as u64 {
            t.bury(&format!("x{i}"), acc("x", i + 1));
        }
        assert!(t.pending("x0", 0).is_none());
        assert!(t.pending(&format!("x{CAP}"), 0).is_some());
    }
}
