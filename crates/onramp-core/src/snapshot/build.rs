//! The full snapshot of a region, and the spec of one listener as an edge of a region serves it.

use std::sync::Arc;

use super::*;
use crate::acl::{AccessSpec, Cidr, PrefixSet};
use crate::state::State;

fn backends(st: &State, l: &Listener) -> Vec<BackendSpec> {
    let mut out: Vec<BackendSpec> = st
        .bindings_of(&l.id)
        .filter_map(|b| {
            let o = st.origins.get(&b.origin_id)?;
            Some(BackendSpec {
                binding_id: b.id.clone(),
                group_id: b.endpoint_group_id.clone(),
                origin_id: o.id.clone(),
                address: o.address.clone(),
                kind: o.kind,
                port: b.port,
                weight: b.weight,
                role: b.role,
                banned: o.banned,
                probe_port: b.probe_port,
            })
        })
        .collect();
    out.sort_by(|a, b| a.binding_id.cmp(&b.binding_id));
    out
}

/// The listener's access rule with its group's blocks. A group that is gone (never left by the
/// operations) admits everyone rather than failing traffic; a block that does not parse (never
/// stored by the operations) is skipped.
fn access(st: &State, l: &Listener) -> Option<AccessSpec> {
    let a = l.access.as_ref()?;
    let g = st.ip_groups.get(&a.ip_group_id)?;
    let blocks = g
        .entries
        .iter()
        .filter_map(|e| Cidr::parse("cidr", &e.cidr).ok());
    Some(AccessSpec {
        ip_group_id: g.id.clone(),
        kind: a.kind,
        set: PrefixSet::new(blocks),
    })
}

/// The spec of listener `l` served through accelerator `accelerator_id`.
pub fn listener_spec(st: &State, l: &Listener, accelerator_id: &str) -> ListenerSpec {
    let groups: Vec<GroupSpec> = st
        .endpoint_groups_of(&l.id)
        .map(|e| GroupSpec {
            id: e.id.clone(),
            traffic_dial: e.traffic_dial,
            health: e.effective_check(&l.health),
            health_protocol: e.health_check.as_ref().map_or(l.protocol, |h| h.protocol),
        })
        .collect();
    let dial = groups.iter().map(|g| g.traffic_dial).max().unwrap_or(100);
    ListenerSpec {
        id: l.id.clone(),
        accelerator_id: accelerator_id.to_string(),
        protocol: l.protocol,
        ports: l.ports.clone(),
        scheduler: l.scheduler,
        affinity: l.affinity == Affinity::SourceIp || l.session_persist_secs > 0,
        persist_secs: l.session_persist_secs,
        failover: l.failover,
        client_ip: l.client_ip,
        health: l.health.clone(),
        bandwidth_mbps: l.bandwidth_mbps,
        max_connections: l.max_connections,
        traffic_dial: dial,
        groups,
        backends: backends(st, l),
        access: access(st, l),
        access_log: l.log_tank.is_some(),
    }
}

/// Whether the edges of `region` serve accelerator `a`: in that region, open, not banned.
pub fn serves(a: &Accelerator, region: &str) -> bool {
    a.access_region == region && a.enabled && !a.banned
}

/// The limits of an accelerator the edges of its region serve.
pub fn accelerator_spec(a: &Accelerator) -> AcceleratorSpec {
    AcceleratorSpec {
        id: a.id.clone(),
        bandwidth_mbps: a.bandwidth_mbps,
        max_connections: a.concurrent.saturating_mul(10_000),
    }
}

/// The accelerator through which the edges of `region` serve listener `l`, if they serve it:
/// its owner, or for a group's listener the group's first member (by ID) served there. A group
/// listener is served once per edge, whatever the number of its members in the region.
pub fn serving_accelerator<'a>(
    st: &'a State,
    region: &str,
    l: &Listener,
) -> Option<&'a Accelerator> {
    match &l.owner {
        Owner::Accelerator(a) => st.accelerators.get(a).filter(|a| serves(a, region)),
        Owner::Group(g) => st.members_of(g).find(|a| serves(a, region)),
    }
}

/// The snapshot for the edges of `region`: open accelerators of that region with their own
/// listeners and their group's listeners.
pub fn build(st: &State, region: &str) -> Snapshot {
    let mut snap = Snapshot {
        revision: st.revision,
        ..Default::default()
    };
    for a in st.accelerators.values().filter(|a| serves(a, region)) {
        snap.accelerators.insert(a.id.clone(), accelerator_spec(a));
        for l in st.served_listeners(a) {
            if snap.listeners.contains_key(&l.id)
                || serving_accelerator(st, region, l).is_none_or(|s| s.id != a.id)
            {
                continue;
            }
            snap.listeners
                .insert(l.id.clone(), Arc::new(listener_spec(st, l, &a.id)));
        }
    }
    snap
}
