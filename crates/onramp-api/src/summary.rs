//! What a node says about itself, in onramp's own words (not a cloud dialect): the edges and
//! regions with what they applied, accelerators and listeners per lifecycle phase, bound origins
//! per health. The admin endpoint's `/status` (read by `onramp status`) serves it for every
//! account; the console's overview shows one account's.
//!
//! Every count is a translation of the one computation each view uses: `Api::listener_phase` &
//! co. for phases, `Api::binding_state` for health.

use std::collections::BTreeMap;

use onramp_core::{Binding, Listener, State};
use onramp_ops::status::Phase;
use serde::Serialize;

use crate::Api;

/// The health of one binding (an origin on a listener port), as every view shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindingState {
    /// The check its group runs is off: nothing is known, traffic goes to it.
    Unmonitored,
    /// Checked, but no result has come back yet.
    Initial,
    Healthy,
    Unhealthy,
}

impl BindingState {
    pub const ALL: [BindingState; 4] = [
        BindingState::Healthy,
        BindingState::Unhealthy,
        BindingState::Initial,
        BindingState::Unmonitored,
    ];

    pub fn name(self) -> &'static str {
        match self {
            BindingState::Unmonitored => "unmonitored",
            BindingState::Initial => "initial",
            BindingState::Healthy => "healthy",
            BindingState::Unhealthy => "unhealthy",
        }
    }
}

impl Api {
    /// Whether the health check of `b`'s group runs (`EndpointGroup::effective_check`).
    pub fn binding_monitored(&self, st: &State, l: Option<&Listener>, b: &Binding) -> bool {
        match (l, st.endpoint_groups.get(&b.endpoint_group_id)) {
            (Some(l), Some(e)) => e.effective_check(&l.health).enabled,
            (Some(l), None) => l.health.enabled,
            (None, _) => true,
        }
    }

    /// The health of `b` (a binding of listener `l`) from the edges' checks.
    pub fn binding_state(&self, st: &State, l: Option<&Listener>, b: &Binding) -> BindingState {
        if !self.binding_monitored(st, l, b) {
            return BindingState::Unmonitored;
        }
        match self.health.binding(&b.id) {
            None => BindingState::Initial,
            Some(h) if h.healthy => BindingState::Healthy,
            Some(_) => BindingState::Unhealthy,
        }
    }
}

/// One edge.
#[derive(Debug, Clone, Serialize)]
pub struct EdgeView {
    pub name: String,
    pub region: String,
    pub applied_revision: u64,
    /// Unix milliseconds of its last report.
    pub last_seen_ms: i64,
    pub live: bool,
    pub listeners_open: usize,
    pub listeners_failed: usize,
}

/// One region and how many of its edges report.
#[derive(Debug, Clone, Serialize)]
pub struct RegionView {
    pub region: String,
    pub edges: usize,
    pub live_edges: usize,
}

/// The whole picture.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The store revision this node has loaded.
    pub revision: u64,
    /// The revision every edge has applied (statuses are "changing" above it).
    pub applied_revision: u64,
    pub regions: Vec<RegionView>,
    pub edges: Vec<EdgeView>,
    /// Accelerators per phase (every phase, zeros included).
    pub accelerators: BTreeMap<&'static str, usize>,
    /// Listeners per phase.
    pub listeners: BTreeMap<&'static str, usize>,
    /// Bound origins (bindings: an origin on a listener port) per health.
    pub origins: BTreeMap<&'static str, usize>,
}

fn zeros<T: Copy>(all: &[T], name: fn(T) -> &'static str) -> BTreeMap<&'static str, usize> {
    all.iter().map(|p| (name(*p), 0)).collect()
}

/// The summary of `account`'s resources, or of every account's (`None`).
pub fn summary(api: &Api, account: Option<&str>) -> Summary {
    let edges: Vec<EdgeView> = api
        .health
        .edges()
        .into_iter()
        .map(|e| EdgeView {
            name: e.name,
            region: e.region,
            applied_revision: e.applied_revision,
            last_seen_ms: e.last_seen_ms,
            live: e.live,
            listeners_open: e.listeners_open,
            listeners_failed: e.listeners_failed,
        })
        .collect();
    let mut regions: Vec<RegionView> = api
        .cfg
        .regions
        .iter()
        .map(|r| RegionView {
            region: r.id.clone(),
            edges: 0,
            live_edges: 0,
        })
        .collect();
    for e in &edges {
        let i = match regions.iter().position(|r| r.region == e.region) {
            Some(i) => i,
            None => {
                regions.push(RegionView {
                    region: e.region.clone(),
                    edges: 0,
                    live_edges: 0,
                });
                regions.len() - 1
            }
        };
        regions[i].edges += 1;
        regions[i].live_edges += usize::from(e.live);
    }
    let st = api.control.state();
    let mine = |a: &str| account.is_none_or(|x| x == a);
    let mut accelerators = zeros(&Phase::ALL, Phase::name);
    for a in st.accelerators.values().filter(|a| mine(&a.account_id)) {
        *accelerators
            .entry(api.accelerator_phase(a).name())
            .or_default() += 1;
    }
    let mut listeners = zeros(&Phase::ALL, Phase::name);
    let mut origins = zeros(&BindingState::ALL, BindingState::name);
    for l in st.listeners.values().filter(|l| mine(&l.account_id)) {
        *listeners.entry(api.listener_phase(l).name()).or_default() += 1;
        for b in st.bindings_of(&l.id) {
            *origins
                .entry(api.binding_state(&st, Some(l), b).name())
                .or_default() += 1;
        }
    }
    let applied = api.control.applied_revision();
    for g in st.deleted.all_pending(applied) {
        let (owner, map) = match g {
            onramp_core::tombstones::Gone::Accelerator(a) => (&a.account_id, &mut accelerators),
            onramp_core::tombstones::Gone::Listener(l) => (&l.account_id, &mut listeners),
        };
        if mine(owner) {
            *map.entry(Phase::Deleting.name()).or_default() += 1;
        }
    }
    Summary {
        revision: st.revision,
        applied_revision: applied,
        regions,
        edges,
        accelerators,
        listeners,
        origins,
    }
}
