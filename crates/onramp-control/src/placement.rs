//! Where accelerators and groups are served: the access region of each accelerator and the
//! regions of each group's members, kept beside the state (updated with every batch) so a
//! status can be computed for one resource without taking the state's lock again: a listener
//! is running once the live edges of its owner's regions applied it (`Control::applied_for`).

use std::collections::{BTreeSet, HashMap};
use std::sync::RwLock;

use onramp_core::{Kind, Op, State};

#[derive(Default)]
pub struct Placement {
    inner: RwLock<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Accelerator → (access region, group).
    accelerators: HashMap<String, (String, Option<String>)>,
    /// Group → the regions of its members.
    groups: HashMap<String, BTreeSet<String>>,
}

impl Inner {
    fn set_group(&mut self, st: &State, g: &str) {
        let regions: BTreeSet<String> = st.members_of(g).map(|a| a.access_region.clone()).collect();
        if regions.is_empty() {
            self.groups.remove(g);
        } else {
            self.groups.insert(g.to_string(), regions);
        }
    }
}

impl Placement {
    /// Everything from `st`.
    pub fn rebuild(&self, st: &State) {
        let mut i = Inner::default();
        for a in st.accelerators.values() {
            i.accelerators
                .insert(a.id.clone(), (a.access_region.clone(), a.group_id.clone()));
        }
        let groups: BTreeSet<String> = st
            .accelerators
            .values()
            .filter_map(|a| a.group_id.clone())
            .collect();
        for g in &groups {
            i.set_group(st, g);
        }
        *self.inner.write().unwrap_or_else(|p| p.into_inner()) = i;
    }

    /// After `ops` were applied to `st`: only the accelerators they name and their groups.
    pub fn update(&self, st: &State, ops: &[Op]) {
        let mut i = self.inner.write().unwrap_or_else(|p| p.into_inner());
        for op in ops {
            let id = match op {
                Op::Put(r) if r.kind() == onramp_core::Kind::Accelerator => r.id(),
                Op::Delete(Kind::Accelerator, id) => id.as_str(),
                _ => continue,
            };
            let old = i.accelerators.remove(id).and_then(|(_, g)| g);
            let new = st.accelerators.get(id).map(|a| {
                i.accelerators
                    .insert(a.id.clone(), (a.access_region.clone(), a.group_id.clone()));
                a.group_id.clone()
            });
            for g in old.into_iter().chain(new.flatten()) {
                i.set_group(st, &g);
            }
        }
    }

    /// The regions serving `owner` (an accelerator or a group); empty when unknown.
    pub fn regions_of(&self, owner: &str) -> Vec<String> {
        let i = self.inner.read().unwrap_or_else(|p| p.into_inner());
        match i.accelerators.get(owner) {
            Some((r, _)) => vec![r.clone()],
            None => i
                .groups
                .get(owner)
                .map(|s| s.iter().cloned().collect())
                .unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use onramp_core::{Accelerator, Record};

    fn acc(id: &str, region: &str, group: Option<&str>) -> Op {
        Op::Put(Record::Accelerator(Accelerator {
            id: id.into(),
            access_region: region.into(),
            group_id: group.map(str::to_string),
            ..Default::default()
        }))
    }

    #[test]
    fn follows_accelerators_and_group_members() {
        let mut st = State::default();
        let p = Placement::default();
        let batches = [
            vec![acc("a1", "r1", Some("g")), acc("a2", "r2", Some("g"))],
            vec![acc("a2", "r3", None)],
            vec![Op::Delete(Kind::Accelerator, "a1".into())],
        ];
        let want: [(&[&str], &[&str]); 3] =
            [(&["r1"], &["r1", "r2"]), (&["r1"], &["r1"]), (&[], &[])];
        for (rev, (ops, (a1, g))) in batches.iter().zip(want).enumerate() {
            st.apply(rev as u64 + 1, ops);
            p.update(&st, ops);
            assert_eq!(p.regions_of("a1"), a1, "batch {rev}");
            assert_eq!(p.regions_of("g"), g, "batch {rev}");
        }
        assert_eq!(p.regions_of("a2"), ["r3"]);
        p.rebuild(&st);
        assert_eq!(p.regions_of("a2"), ["r3"]);
    }
}
