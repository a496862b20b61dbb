//! Allocating identifiers: the one way every operation names a new record.
//!
//! IDs are random in the shape of the dialect that creates the resource (`onramp_core::ids`);
//! a short ID is drawn again while it is taken in the state or earlier in the same batch, since a
//! put of a taken ID would overwrite. The store's primary key stays the backstop.

use std::collections::HashSet;

use onramp_core::{ids, Dialect, State};

/// The kinds of records that get a short `prefix-xxxxxxxx` ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Short {
    Proxy,
    Group,
    Listener,
    Origin,
    /// A BM load balancer (`lb-`).
    LoadBalancer,
    /// A BM listener (`lbl-`).
    BmListener,
}

impl Short {
    /// The ID shape of an accelerator `created_by` makes (a Huawei one replaces it by a UUID).
    pub fn accelerator(created_by: Dialect) -> Self {
        match created_by {
            Dialect::Bm => Short::LoadBalancer,
            Dialect::Gaap | Dialect::Huawei => Short::Proxy,
        }
    }

    /// The ID shape of a listener `created_by` makes.
    pub fn listener(created_by: Dialect) -> Self {
        match created_by {
            Dialect::Bm => Short::BmListener,
            Dialect::Gaap | Dialect::Huawei => Short::Listener,
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            Short::Proxy => ids::PROXY,
            Short::Group => ids::GROUP,
            Short::Listener => ids::LISTENER,
            Short::Origin => ids::ORIGIN,
            Short::LoadBalancer => ids::BM_LB,
            Short::BmListener => ids::BM_LISTENER,
        }
    }

    fn taken(self, st: &State, id: &str) -> bool {
        match self {
            Short::Proxy | Short::LoadBalancer => st.accelerators.contains_key(id),
            Short::Group => st.groups.contains_key(id),
            Short::Listener | Short::BmListener => st.listeners.contains_key(id),
            Short::Origin => st.origins.contains_key(id),
        }
    }
}

/// Fresh IDs for one batch: none taken in the state, none given twice.
#[derive(Debug, Default)]
pub struct Ids {
    given: HashSet<String>,
}

/// Draws before giving up on a free short ID (36^8 IDs: a second draw is already rare).
const DRAWS: usize = 64;

impl Ids {
    pub fn new() -> Self {
        Self::default()
    }

    /// A short ID of `kind` free in `st` and in this batch.
    pub fn short(&mut self, st: &State, kind: Short) -> String {
        let mut id = ids::short(kind.prefix());
        for _ in 0..DRAWS {
            if !kind.taken(st, &id) && !self.given.contains(&id) {
                break;
            }
            id = ids::short(kind.prefix());
        }
        self.given.insert(id.clone());
        id
    }

    /// A task number (BM `requestId`) no task of any account has, nor one drawn in this batch.
    pub fn task_number(&mut self, st: &State) -> u64 {
        let mut n = ids::task_number();
        for _ in 0..DRAWS {
            if !st.task_number_taken(n) && !self.given.contains(&n.to_string()) {
                break;
            }
            n = ids::task_number();
        }
        self.given.insert(n.to_string());
        n
    }

    /// A UUID (endpoint groups, bindings): 122 random bits, never drawn twice in practice.
    pub fn uuid(&mut self) -> String {
        ids::uuid()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ids_avoid_the_state_and_the_batch() {
        let st = State::default();
        let mut ids = Ids::new();
        let a: HashSet<String> = (0..1000).map(|_| ids.short(&st, Short::Origin)).collect();
        assert_eq!(a.len(), 1000);
        assert!(a.iter().all(|id| onramp_core::ids::is_short("rs", id)));
    }
}
