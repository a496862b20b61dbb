//! A listener at run time: its spec, its backends, the selector, its counters and limits.
//!
//! Accept loops hold an `Arc<ArcSwap<ListenerRt>>` and load the current config once per
//! connection or flow, so a change applies to new traffic without touching open connections.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use onramp_balancer::bucket::TokenBucket;
use onramp_balancer::select::{Algorithm, BackendSpec as SelSpec, Role, Selector, SelectorConfig};
use onramp_core::snapshot::{AcceleratorSpec, ListenerSpec};
use onramp_core::{FailoverRole, Scheduler};

use crate::backend::{identity, now_ms, Backend};
use crate::metrics::Counters;

/// Limits shared by the listeners of one accelerator.
pub struct AccelRt {
    pub conns: AtomicU64,
    pub max_conns: AtomicU64,
    pub bucket: TokenBucket,
}

impl AccelRt {
    pub fn new(spec: &AcceleratorSpec) -> Self {
        let rt = Self {
            conns: AtomicU64::new(0),
            max_conns: AtomicU64::new(0),
            bucket: TokenBucket::new(0, 0),
        };
        rt.update(spec);
        rt
    }
    pub fn update(&self, spec: &AcceleratorSpec) {
        self.max_conns.store(spec.max_connections, Relaxed);
        let rate = bytes_per_sec(spec.bandwidth_mbps);
        self.bucket.set_rate(rate, burst(rate));
    }
}

/// Mbps → bytes/s (0 stays unlimited).
pub fn bytes_per_sec(mbps: u64) -> u64 {
    mbps.saturating_mul(1_000_000) / 8
}

/// Burst allowance: 50 ms of traffic, at least 64 KiB.
pub fn burst(rate: u64) -> u64 {
    (rate / 20).max(64 * 1024)
}

pub struct ListenerRt {
    pub spec: Arc<ListenerSpec>,
    pub backends: Vec<Arc<Backend>>,
    pub selector: Mutex<Selector>,
    pub counters: Arc<Counters>,
    pub accel: Arc<AccelRt>,
    pub bucket: Arc<TokenBucket>,
    /// Traffic dials, one per endpoint group that has bindings (empty when there is at most
    /// one such group: no split to make).
    dials: Vec<u32>,
    /// For each backend, its index in `dials`.
    group_of: Vec<usize>,
    /// One ticket per pick: the split across groups follows the dials exactly.
    ticket: AtomicU64,
}

/// The dials of the listener's groups that have bindings, and each backend's group among them.
fn split(spec: &ListenerSpec) -> (Vec<u32>, Vec<usize>) {
    let used: Vec<&onramp_core::snapshot::GroupSpec> = spec
        .groups
        .iter()
        .filter(|g| spec.backends.iter().any(|b| b.group_id == g.id))
        .collect();
    if used.len() < 2 {
        return (Vec::new(), Vec::new());
    }
    let group_of = spec
        .backends
        .iter()
        .map(|b| used.iter().position(|g| g.id == b.group_id).unwrap_or(0))
        .collect();
    let dials = used.iter().map(|g| u32::from(g.traffic_dial)).collect();
    (dials, group_of)
}

fn selector_config(spec: &ListenerSpec) -> SelectorConfig {
    SelectorConfig {
        algorithm: match spec.scheduler {
            Scheduler::Rr => Algorithm::RoundRobin,
            Scheduler::Wrr => Algorithm::WeightedRoundRobin,
            Scheduler::Lc => Algorithm::LeastConnections,
            Scheduler::Lrtt => Algorithm::LeastRtt,
        },
        failover: spec.failover,
        source_affinity: spec.affinity,
        persist_ms: u64::from(spec.persist_secs) * 1000,
        max_persist_entries: 1 << 20,
    }
}

/// Whether a backend made for `had` serves `want` as it is: everything but the weight and the
/// failover role, which only the selector uses (it is rebuilt with every config), so changing a
/// weight or taking an origin out (weight 0) keeps its health, its checker and its open
/// connections. `Backend::spec` keeps the weight and role it was made with.
fn same_backend(
    had: &onramp_core::snapshot::BackendSpec,
    want: &onramp_core::snapshot::BackendSpec,
) -> bool {
    let plain = |s: &onramp_core::snapshot::BackendSpec| onramp_core::snapshot::BackendSpec {
        weight: 0,
        role: FailoverRole::None,
        ..s.clone()
    };
    plain(had) == plain(want)
}

impl ListenerRt {
    /// Build the runtime for `spec`, reusing backends of `prev` with the same identity.
    pub fn build(
        spec: Arc<ListenerSpec>,
        prev: Option<&ListenerRt>,
        counters: Arc<Counters>,
        accel: Arc<AccelRt>,
        bucket: Arc<TokenBucket>,
    ) -> Self {
        let mut old: HashMap<_, Arc<Backend>> = prev
            .map(|p| {
                p.backends
                    .iter()
                    .map(|b| (identity(&b.spec), b.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let backends: Vec<Arc<Backend>> = spec
            .backends
            .iter()
            .map(|s| match old.remove(&identity(s)) {
                Some(b) if same_backend(&b.spec, s) => b,
                _ => Arc::new(Backend::new(s.clone())),
            })
            .collect();
        let sel_specs = spec
            .backends
            .iter()
            .map(|s| SelSpec {
                key: format!("{}/{}:{}", s.binding_id, s.address, s.port),
                weight: s.weight,
                role: match (spec.failover, s.role) {
                    (true, FailoverRole::Slave) => Role::Slave,
                    (true, _) => Role::Master,
                    (false, _) => Role::Any,
                },
            })
            .collect();
        let mut selector = Selector::new(selector_config(&spec), sel_specs);
        if let Some(p) = prev {
            selector.adopt_persistence(&p.selector.lock().unwrap_or_else(|e| e.into_inner()));
        }
        let selector = Mutex::new(selector);
        let rate = bytes_per_sec(spec.bandwidth_mbps);
        bucket.set_rate(rate, burst(rate));
        let (dials, group_of) = split(&spec);
        Self {
            dials,
            group_of,
            ticket: AtomicU64::new(0),
            spec,
            backends,
            selector,
            counters,
            accel,
            bucket,
        }
    }

    /// Whether the listener's access control (its IP address group, WHITE or BLACK) admits a
    /// client at `ip`: a binary search in the prefix set built with the snapshot.
    pub fn admits(&self, ip: IpAddr) -> bool {
        self.spec.access.as_ref().is_none_or(|a| a.admits(ip))
    }

    /// Backends of `prev` that this config no longer has.
    pub fn removed_from(&self, prev: &ListenerRt) -> Vec<Arc<Backend>> {
        prev.backends
            .iter()
            .filter(|b| !self.backends.iter().any(|n| Arc::ptr_eq(n, b)))
            .cloned()
            .collect()
    }

    /// Pick a backend for a client, skipping `tried`. With several endpoint groups, the group
    /// is chosen first by traffic dial (by the client's hash under source affinity), then the
    /// backend within it; if that group has none to give, the other groups with a dial above
    /// 0 are tried.
    pub fn pick(&self, client: IpAddr, tried: &[usize]) -> Option<usize> {
        if self.dials.is_empty() {
            return self.pick_among(client, tried);
        }
        let ticket = if self.spec.affinity {
            onramp_balancer::hash::client_hash(client)
        } else {
            self.ticket.fetch_add(1, Relaxed)
        };
        let g = onramp_balancer::dial::pick_group(&self.dials, ticket)?;
        let outside = |keep: &dyn Fn(usize) -> bool| -> Vec<usize> {
            let mut v: Vec<usize> = tried.to_vec();
            v.extend((0..self.backends.len()).filter(|&i| !keep(self.group_of[i])));
            v
        };
        self.pick_among(client, &outside(&|x| x == g))
            .or_else(|| self.pick_among(client, &outside(&|x| self.dials[x] > 0)))
    }

    fn pick_among(&self, client: IpAddr, tried: &[usize]) -> Option<usize> {
        let now = now_ms();
        let live = |i: usize| {
            self.backends
                .get(i)
                .map(|b| b.live(now))
                .unwrap_or_default()
        };
        self.selector
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pick(client, now, &live, tried)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use onramp_core::snapshot::BackendSpec;

    fn spec(weight: u32, address: &str) -> ListenerSpec {
        ListenerSpec {
            id: "listener-1".into(),
            backends: vec![BackendSpec {
                binding_id: "b1".into(),
                address: address.into(),
                port: 80,
                weight,
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn build(s: ListenerSpec, prev: Option<&ListenerRt>) -> ListenerRt {
        ListenerRt::build(
            Arc::new(s),
            prev,
            Arc::new(Counters::default()),
            Arc::new(AccelRt::new(&Default::default())),
            Arc::new(TokenBucket::new(0, 0)),
        )
    }

    #[test]
    fn a_weight_change_keeps_the_backend_and_an_address_change_does_not() {
        let first = build(spec(10, "127.0.0.2"), None);
        first.backends[0].active.store(3, Relaxed);
        let out = build(spec(0, "127.0.0.2"), Some(&first));
        assert!(
            Arc::ptr_eq(&first.backends[0], &out.backends[0]),
            "taking an origin out keeps its health, checker and open connections"
        );
        assert!(out.removed_from(&first).is_empty());
        let moved = build(spec(0, "127.0.0.3"), Some(&out));
        assert!(!Arc::ptr_eq(&out.backends[0], &moved.backends[0]));
        assert_eq!(moved.removed_from(&out).len(), 1);
    }
}
