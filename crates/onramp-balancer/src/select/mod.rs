//! Origin selection for one listener.
//!
//! A [`Selector`] is built from the listener's bindings ([`BackendSpec`], fixed for its life) and
//! asked to [`Selector::pick`] a backend for each new connection or UDP flow. The caller supplies
//! the live facts (health, draining, open connections, RTT) through a closure, so the selector
//! holds no shared state and does no I/O.
//!
//! # Eligibility
//! A backend is *eligible* when it is healthy, not draining, not banned, has `weight > 0`
//! (weight 0 means "no new traffic" for every algorithm) and is not in the pick's `exclude` list.
//!
//! - **Failover** (`failover = true`): `Master` and `Any` backends take the traffic while at least
//!   one of them is eligible; `Slave` backends are used only when no master is eligible (which
//!   includes masters excluded by earlier attempts of the same connection).
//! - **Fail open**: if *no* backend that is not draining, not banned and has `weight > 0` is
//!   healthy, health is ignored and the pick is made among those backends (minus `exclude`, with
//!   the failover rule applied to them). A listener whose checks all fail (for instance because
//!   the checker itself is cut off) keeps trying its origins instead of refusing every client.
//!   If some such backend is healthy but excluded, the pick returns `None` rather than falling
//!   back to a backend known to be down.
//!
//! # Order of a pick
//! 1. The persistence table (when `persist_ms > 0`): a remembered backend that is still eligible
//!    is returned and its entry refreshed; an ineligible one drops the entry.
//! 2. Source affinity (when `source_affinity`): the Maglev table built over all backends (weights
//!    included); if the owner of the client's slot is not eligible, the following slots are
//!    probed until an eligible owner is found.
//! 3. Otherwise the configured [`Algorithm`].
//!
//! The result of 2 or 3 is stored in the persistence table.

mod algo;
mod persist;

use std::collections::HashMap;
use std::net::IpAddr;

use crate::hash::client_hash;
use crate::maglev::{Maglev, DEFAULT_MIN_SIZE};
use persist::PersistTable;

/// The scheduling algorithm of a listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Algorithm {
    /// Cycle through the eligible backends.
    #[default]
    RoundRobin,
    /// Smooth weighted round robin: exact weight proportions over each cycle, interleaved.
    WeightedRoundRobin,
    /// Fewest open connections relative to weight (`active / weight`), ties round robin.
    LeastConnections,
    /// Lowest measured RTT; unmeasured backends come after measured ones; ties round robin.
    LeastRtt,
}

/// Failover role of a binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Role {
    /// No role: treated as a master when failover is on.
    #[default]
    Any,
    /// Takes traffic while any master is eligible.
    Master,
    /// Takes traffic only when no master is eligible (and failover is on).
    Slave,
}

/// The static description of one backend (one origin address of one binding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendSpec {
    /// Stable identity, e.g. `"<binding-id>/<ip:port>"`; it seeds the Maglev permutation, so the
    /// same key gets the same slots on every edge.
    pub key: String,
    /// Relative weight; 0 means no new traffic.
    pub weight: u32,
    /// Failover role.
    pub role: Role,
}

/// Live facts about a backend, supplied by the caller at pick time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BackendLive {
    /// Health checks (and passive marking) say it is up.
    pub healthy: bool,
    /// Being removed: open connections finish, no new ones.
    pub draining: bool,
    /// Administratively excluded (e.g. a DownIPList entry).
    pub banned: bool,
    /// Open connections (or flows) to it.
    pub active: u32,
    /// Last measured round-trip time in microseconds, if any.
    pub rtt_us: Option<u64>,
}

/// Selection settings of a listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SelectorConfig {
    /// The scheduling algorithm (ignored for the first choice when `source_affinity` is on).
    pub algorithm: Algorithm,
    /// Master/slave failover.
    pub failover: bool,
    /// Client-IP consistent hashing (Maglev).
    pub source_affinity: bool,
    /// Persistence timeout in milliseconds; 0 disables the persistence table.
    pub persist_ms: u64,
    /// Bound on persistence entries (expired evicted first, then least recently used); 0 disables.
    pub max_persist_entries: usize,
}

impl Default for SelectorConfig {
    fn default() -> Self {
        Self {
            algorithm: Algorithm::RoundRobin,
            failover: false,
            source_affinity: false,
            persist_ms: 0,
            max_persist_entries: 65_536,
        }
    }
}

/// Per-pick scratch: the caller's live facts and whether the backend is eligible this pick.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Slot {
    pub(crate) live: BackendLive,
    pub(crate) ok: bool,
}

/// Origin selection state for one listener.
#[derive(Debug, Clone)]
pub struct Selector {
    cfg: SelectorConfig,
    backends: Vec<BackendSpec>,
    cursor: usize,
    current: Vec<i64>,
    maglev: Option<Maglev>,
    persist: PersistTable,
    slots: Vec<Slot>,
}

impl Selector {
    /// Build a selector; the Maglev table (when `source_affinity`) is built here, once.
    pub fn new(cfg: SelectorConfig, backends: Vec<BackendSpec>) -> Self {
        let maglev = cfg.source_affinity.then(|| {
            let kw: Vec<(String, u32)> =
                backends.iter().map(|b| (b.key.clone(), b.weight)).collect();
            Maglev::new(&kw, DEFAULT_MIN_SIZE)
        });
        Self {
            cfg,
            current: vec![0; backends.len()],
            slots: Vec::with_capacity(backends.len()),
            backends,
            cursor: 0,
            maglev,
            persist: PersistTable::new(cfg.persist_ms, cfg.max_persist_entries),
        }
    }

    /// The backends, in index order.
    pub fn backends(&self) -> &[BackendSpec] {
        &self.backends
    }

    /// The configuration this selector was built with.
    pub fn config(&self) -> &SelectorConfig {
        &self.cfg
    }

    /// The Maglev table, when source affinity is on.
    pub fn maglev(&self) -> Option<&Maglev> {
        self.maglev.as_ref()
    }

    /// Number of persistence entries currently held.
    pub fn persisted_len(&self) -> usize {
        self.persist.len()
    }

    /// Pick a backend index for a new connection/flow from `client`, skipping the indices in
    /// `exclude` (already tried and failed on this attempt). `live(i)` is called once for each
    /// backend `i`. Returns `None` when no backend may be used (see the module docs).
    pub fn pick(
        &mut self,
        client: IpAddr,
        now_ms: u64,
        live: &dyn Fn(usize) -> BackendLive,
        exclude: &[usize],
    ) -> Option<usize> {
        if !self.mark_eligible(live, exclude) {
            return None;
        }
        if let Some(i) = self.persisted(client, now_ms) {
            return Some(i);
        }
        let chosen = self.choose(client)?;
        if self.persist.enabled() {
            self.persist.put(client, chosen, now_ms);
        }
        Some(chosen)
    }

    /// Forget persistence entries pointing at `index` (its origin went down).
    pub fn forget_backend(&mut self, index: usize) {
        self.persist.forget_backend(index);
    }

    /// Drop expired persistence entries (call periodically; picks ignore expired entries anyway).
    pub fn expire(&mut self, now_ms: u64) {
        self.persist.expire(now_ms);
    }

    /// Carry the persistence entries of `old` (a selector this one replaces after a configuration
    /// change) over to this one, matching backends by key; entries whose backend is gone are
    /// dropped. Expiry times are kept.
    pub fn adopt_persistence(&mut self, old: &Selector) {
        let mut by_key: HashMap<&str, usize> = HashMap::new();
        for (i, b) in self.backends.iter().enumerate() {
            by_key.entry(b.key.as_str()).or_insert(i);
        }
        for (client, old_index, expires_at) in old.persist.entries() {
            let Some(spec) = old.backends.get(old_index) else {
                continue;
            };
            if let Some(&new_index) = by_key.get(spec.key.as_str()) {
                self.persist.put_until(client, new_index, expires_at);
            }
        }
    }

    /// Fill `self.slots` for this pick; returns whether any backend is eligible.
    fn mark_eligible(&mut self, live: &dyn Fn(usize) -> BackendLive, exclude: &[usize]) -> bool {
        self.slots.clear();
        let mut any_healthy = false;
        for (i, spec) in self.backends.iter().enumerate() {
            let l = live(i);
            let candidate = !l.draining && !l.banned && spec.weight > 0;
            any_healthy |= candidate && l.healthy;
            self.slots.push(Slot {
                live: l,
                ok: candidate && !exclude.contains(&i),
            });
        }
        let mut any_master = false;
        for (slot, spec) in self.slots.iter_mut().zip(&self.backends) {
            slot.ok &= slot.live.healthy || !any_healthy;
            any_master |= slot.ok && spec.role != Role::Slave;
        }
        if self.cfg.failover && any_master {
            for (slot, spec) in self.slots.iter_mut().zip(&self.backends) {
                slot.ok &= spec.role != Role::Slave;
            }
        }
        self.slots.iter().any(|s| s.ok)
    }

    /// The remembered backend of `client` if it is still eligible (refreshing it); otherwise
    /// the entry is dropped.
    fn persisted(&mut self, client: IpAddr, now_ms: u64) -> Option<usize> {
        if !self.persist.enabled() {
            return None;
        }
        let remembered = self.persist.get(client, now_ms);
        match remembered {
            Some(i) if self.slots.get(i).is_some_and(|s| s.ok) => {
                self.persist.put(client, i, now_ms);
                Some(i)
            }
            _ => {
                self.persist.remove(client);
                None
            }
        }
    }

    /// Affinity (with a scheduling fallback if the table gives nothing) or the algorithm.
    fn choose(&mut self, client: IpAddr) -> Option<usize> {
        if let Some(table) = &self.maglev {
            if let Some(i) = algo::maglev_probe(&self.slots, table, client_hash(client)) {
                return Some(i);
            }
        }
        let slots = &self.slots;
        match self.cfg.algorithm {
            Algorithm::RoundRobin => algo::round_robin(slots, &mut self.cursor),
            Algorithm::WeightedRoundRobin => {
                algo::smooth_wrr(slots, &self.backends, &mut self.current)
            }
            Algorithm::LeastConnections => {
                algo::least_connections(slots, &self.backends, &mut self.cursor)
            }
            Algorithm::LeastRtt => algo::least_rtt(slots, &mut self.cursor),
        }
    }
}
