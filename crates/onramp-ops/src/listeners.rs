//! Listeners: create (each with its implicit endpoint group), change, delete (with what hangs
//! off it), and the rules a listener obeys whatever dialect made it.
//!
//! Rules: a listener belongs to a running accelerator or group of the caller; no two listeners
//! of one protocol share a port within an accelerator's family (the accelerator, its group and
//! the group's other members); only group listeners fix the origins' port; DOMAIN origins take
//! neither weighted nor latency scheduling nor failover; TOA is TCP-only; the probe timeout is
//! below its interval; send/expect text is only for the UDP port probe or a custom TCP check, and
//! is decoded (hex, line separators) when written, bad hex refused. Deleting a listener
//! deletes its bindings, then its endpoint groups, then itself; without `force` a listener with
//! bound origins stays.

use onramp_core::{
    ClientIpMethod, Dialect, EndpointGroup, Kind, LineSeparator, Listener, ListenerChange, Op,
    OriginKind, Owner, PayloadFormat, PortRange, Protocol, Record, Scheduler, State, UdpCheck,
};

use crate::ids::{Ids, Short};
use crate::{Cx, OpError, Res};

/// Changes to a listener's settings; `None` keeps what is stored. Dialects fill it from their
/// request (ranges of single values are theirs to check); `apply` checks how the values combine.
#[derive(Debug, Clone, Default)]
pub struct ListenerPatch {
    pub name: Option<String>,
    pub scheduler: Option<Scheduler>,
    pub health_enabled: Option<bool>,
    pub interval_secs: Option<u32>,
    pub timeout_secs: Option<u32>,
    pub healthy_threshold: Option<u32>,
    pub unhealthy_threshold: Option<u32>,
    pub session_persist_secs: Option<u32>,
    pub max_connections: Option<u64>,
    pub client_ip: Option<ClientIpMethod>,
    pub failover: Option<bool>,
    pub udp_check: Option<UdpCheck>,
    /// `Some(None)`: probe the binding's own port.
    pub probe_port: Option<Option<u16>>,
    pub send: Option<String>,
    pub expect: Option<String>,
    /// How `send`/`expect` are written, and what a line break in a text `send` becomes.
    pub payload_format: Option<PayloadFormat>,
    pub line_separator: Option<LineSeparator>,
    /// A check by send/expect rather than a bare connect (TCP) or a ping (UDP).
    pub custom_check: Option<bool>,
    /// The request spoke of probe payloads at all (even empty ones).
    pub probe_payload_given: bool,
    /// The listener's bandwidth cap, Mbps (0 = none).
    pub bandwidth_mbps: Option<u64>,
}

/// Apply `p` onto `l` and check the rules that tie its settings together.
pub fn apply(l: &mut Listener, p: &ListenerPatch) -> Result<(), OpError> {
    if let Some(n) = &p.name {
        l.name.clone_from(n);
    }
    if let Some(s) = p.scheduler {
        if l.origin_kind == OriginKind::Domain && matches!(s, Scheduler::Wrr | Scheduler::Lrtt) {
            return Err(OpError::invalid(
                "scheduler",
                "DOMAIN listeners support neither wrr nor lrtt",
            ));
        }
        l.scheduler = s;
    }
    apply_health(l, p)?;
    if let Some(v) = p.session_persist_secs {
        l.session_persist_secs = v;
    }
    if let Some(v) = p.max_connections {
        l.max_connections = v;
    }
    if let Some(v) = p.bandwidth_mbps {
        l.bandwidth_mbps = v;
    }
    if let Some(m) = p.client_ip {
        if l.protocol == Protocol::Udp && m == ClientIpMethod::Toa {
            return Err(OpError::invalid("client_ip", "TOA is TCP-only"));
        }
        l.client_ip = m;
    }
    if let Some(v) = p.failover {
        if v && l.origin_kind == OriginKind::Domain {
            return Err(OpError::invalid(
                "failover",
                "primary/backup mode is not allowed with DOMAIN origins",
            ));
        }
        l.failover = v;
    }
    apply_payloads(l, p)?;
    match l.protocol {
        Protocol::Udp => apply_udp_probe(l, p),
        Protocol::Tcp => {
            if let Some(v) = p.custom_check {
                l.health.custom = v;
            }
            Ok(())
        }
    }
}

/// The probe payloads, decoded into the bytes the edge sends and expects.
fn apply_payloads(l: &mut Listener, p: &ListenerPatch) -> Result<(), OpError> {
    let h = &mut l.health;
    if let Some(f) = p.payload_format {
        h.payload_format = f;
    }
    if let Some(s) = p.line_separator {
        h.line_separator = s;
    }
    if let Some(s) = &p.send {
        h.send.clone_from(s);
    }
    if let Some(s) = &p.expect {
        h.expect.clone_from(s);
    }
    h.decode_payloads()?;
    Ok(())
}

fn apply_health(l: &mut Listener, p: &ListenerPatch) -> Result<(), OpError> {
    let h = &mut l.health;
    let slots = [
        (&mut h.interval_secs, p.interval_secs),
        (&mut h.timeout_secs, p.timeout_secs),
        (&mut h.healthy_threshold, p.healthy_threshold),
        (&mut h.unhealthy_threshold, p.unhealthy_threshold),
    ];
    for (have, want) in slots {
        if let Some(v) = want {
            *have = v;
        }
    }
    if let Some(v) = p.health_enabled {
        h.enabled = v;
    }
    if h.timeout_secs >= h.interval_secs {
        return Err(OpError::invalid(
            "health.timeout",
            format!(
                "must be less than the interval ({} >= {})",
                h.timeout_secs, h.interval_secs
            ),
        ));
    }
    Ok(())
}

/// UDP: a port probe (send/expect; custom when it has payloads) or a ping.
fn apply_udp_probe(l: &mut Listener, p: &ListenerPatch) -> Result<(), OpError> {
    let h = &mut l.health;
    if let Some(custom) = p.custom_check {
        h.udp_check = if custom {
            UdpCheck::Port
        } else {
            UdpCheck::Ping
        };
    }
    if let Some(c) = p.udp_check {
        h.udp_check = c;
    }
    if let Some(port) = p.probe_port {
        h.port = port;
    }
    if p.probe_payload_given && h.udp_check == UdpCheck::Ping {
        return Err(OpError::invalid(
            "health.udp_check",
            "send/expect payloads are only used with the port probe",
        ));
    }
    h.custom = h.udp_check == UdpCheck::Port && !(h.send.is_empty() && h.expect.is_empty());
    Ok(())
}

/// The caller's accelerator or group that would own a listener, running, and the access region
/// its implicit endpoint group serves.
pub fn owner(cx: &Cx, st: &State, owner: &Owner) -> Result<String, OpError> {
    match owner {
        Owner::Accelerator(id) => {
            let a = st
                .accelerator(&cx.account, id)
                .ok_or_else(|| OpError::NotFound(Res::Accelerator, id.clone()))?;
            if !a.enabled {
                return Err(OpError::NotRunning(Res::Accelerator, id.clone()));
            }
            Ok(a.access_region.clone())
        }
        Owner::Group(id) => {
            let g = st
                .group(&cx.account, id)
                .ok_or_else(|| OpError::NotFound(Res::Group, id.clone()))?;
            if !g.enabled {
                return Err(OpError::NotRunning(Res::Group, id.clone()));
            }
            Ok(st
                .members_of(id)
                .next()
                .map(|a| a.access_region.clone())
                .unwrap_or_default())
        }
    }
}

/// The listener of `protocol` in `owner`'s family that already serves a port of `range`.
pub fn port_clash<'a>(
    st: &'a State,
    owner: &Owner,
    protocol: Protocol,
    range: &PortRange,
) -> Option<&'a Listener> {
    let mut family: Vec<String> = vec![owner.id().to_string()];
    match owner {
        Owner::Group(g) => family.extend(st.members_of(g).map(|a| a.id.clone())),
        Owner::Accelerator(a) => {
            family.extend(st.accelerators.get(a).and_then(|a| a.group_id.clone()))
        }
    }
    family
        .iter()
        .find_map(|o| st.port_taken(o, protocol, range, None))
}

/// Create `specs` (name, protocol, ports and settings filled by the dialect) under `owner`, each
/// with its implicit endpoint group. Returns the ops and the new listeners' IDs, in order.
pub fn create(
    cx: &Cx,
    st: &State,
    ids: &mut Ids,
    owner_ref: &Owner,
    created_by: Dialect,
    specs: Vec<Listener>,
) -> Result<(Vec<Op>, Vec<String>), OpError> {
    let region = owner(cx, st, owner_ref)?;
    crate::quotas::listeners(cx, st, owner_ref.id(), specs.len())?;
    let mut ops = Vec::with_capacity(specs.len() * 2);
    let mut made: Vec<Listener> = Vec::with_capacity(specs.len());
    for spec in specs {
        if spec.origin_port.is_some() && owner_ref.group().is_none() {
            return Err(OpError::invalid(
                "origin_port",
                "only group listeners fix the origins' port",
            ));
        }
        for r in &spec.ports {
            let taken = port_clash(st, owner_ref, spec.protocol, r).or_else(|| {
                made.iter()
                    .find(|m| m.protocol == spec.protocol && m.ports.iter().any(|x| x.overlaps(r)))
            });
            if let Some(other) = taken {
                return Err(OpError::PortTaken {
                    protocol: spec.protocol,
                    port: r.from,
                    listener: Some(other.id.clone()),
                });
            }
        }
        let l = Listener {
            id: ids.short(st, Short::listener(created_by)),
            account_id: cx.account.clone(),
            created_by,
            owner: owner_ref.clone(),
            change: ListenerChange::Create,
            created_at: cx.now,
            updated_at: cx.now,
            revision: 0,
            ..spec
        };
        ops.push(Op::Put(Record::EndpointGroup(implicit_group(
            cx, ids, &l, &region,
        ))));
        made.push(l);
    }
    let out = made.iter().map(|l| l.id.clone()).collect();
    ops.extend(made.into_iter().map(|l| Op::Put(Record::Listener(l))));
    Ok((ops, out))
}

/// The one endpoint group a listener of a dialect without endpoint groups has.
pub fn implicit_group(cx: &Cx, ids: &mut Ids, l: &Listener, region: &str) -> EndpointGroup {
    EndpointGroup {
        id: ids.uuid(),
        account_id: cx.account.clone(),
        listener_id: l.id.clone(),
        name: l.name.clone(),
        region: region.to_string(),
        traffic_dial: 100,
        implicit: true,
        created_at: cx.now,
        updated_at: cx.now,
        ..Default::default()
    }
}

/// The caller's listener `id`, in `scope` (an accelerator or group ID) when one is given.
pub fn find<'a>(
    cx: &Cx,
    st: &'a State,
    id: &str,
    scope: Option<&str>,
) -> Result<&'a Listener, OpError> {
    st.listener(&cx.account, id)
        .filter(|l| scope.is_none_or(|o| o == l.owner.id()))
        .ok_or_else(|| OpError::NotFound(Res::Listener, id.to_string()))
}

/// Change the settings of listener `id` (of `protocol`, when the dialect names one).
pub fn modify(
    cx: &Cx,
    st: &State,
    id: &str,
    scope: Option<&str>,
    protocol: Option<Protocol>,
    patch: &ListenerPatch,
) -> Result<Vec<Op>, OpError> {
    let mut l = find(cx, st, id, scope)?.clone();
    if protocol.is_some_and(|p| p != l.protocol) {
        return Err(OpError::WrongProtocol {
            listener: l.id,
            protocol: l.protocol,
        });
    }
    apply(&mut l, patch)?;
    l.change = ListenerChange::Config;
    l.updated_at = cx.now;
    Ok(vec![Op::Put(Record::Listener(l))])
}

/// Delete listener `id` with its bindings and endpoint groups. Without `force`, a listener with
/// bound origins is refused.
pub fn delete(
    cx: &Cx,
    st: &State,
    id: &str,
    scope: Option<&str>,
    force: bool,
) -> Result<Vec<Op>, OpError> {
    let l = find(cx, st, id, scope)?;
    if !force {
        if let Some(b) = st.bindings_of(&l.id).next() {
            return Err(OpError::StillBound {
                res: Res::Listener,
                id: l.id.clone(),
                listener: b.listener_id.clone(),
            });
        }
    }
    Ok(cascade(st, l))
}

/// The deletion order below a listener: bindings, endpoint groups, the listener.
pub fn cascade(st: &State, l: &Listener) -> Vec<Op> {
    let mut ops: Vec<Op> = st
        .bindings_of(&l.id)
        .map(|b| Op::Delete(Kind::Binding, b.id.clone()))
        .collect();
    ops.extend(
        st.endpoint_groups_of(&l.id)
            .map(|e| Op::Delete(Kind::EndpointGroup, e.id.clone())),
    );
    ops.push(Op::Delete(Kind::Listener, l.id.clone()));
    ops
}

/// Delete every listener `owner_id` (an accelerator or a group) owns, each with its cascade.
pub fn cascade_owner(st: &State, owner_id: &str) -> Vec<Op> {
    st.listeners_of(owner_id)
        .flat_map(|l| cascade(st, l))
        .collect()
}

#[cfg(test)]
#[path = "listeners_tests.rs"]
mod tests;
