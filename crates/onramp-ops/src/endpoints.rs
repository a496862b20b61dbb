//! Endpoint groups, endpoints and group health checks, as a dialect with explicit endpoint
//! groups (Huawei GA) makes them.
//!
//! Rules:
//! - a group serves one listener in one region, which an edge must serve
//!   (`RegionNotServed`); a listener has at most one group per region (`RegionTaken`). The
//!   implicit group every listener gets at creation (so GAAP and BM can bind origins) counts
//!   while it holds endpoints or a health check; an empty one gives its place to an explicit
//!   group created in its region (it is deleted in the same batch).
//! - `traffic_dial` 0–100 splits new connections across a listener's groups (0 = none).
//! - an endpoint is a binding of an origin of the listener's project: the origin with that
//!   address is reused, or registered in the same batch. It forwards to the port the client
//!   connected to (`ANY_PORT`). An origin is bound once per group (`DuplicateAddress`); a group
//!   has at most `MAX_ENDPOINTS` endpoints (`Quota`); `weight` 0–100, 0 = no new traffic.
//! - one health check per group (`Exists`); it checks the group's endpoints instead of the
//!   listener's check (`EndpointGroup::effective_check`).
//! - deletion order: a group with endpoints or a health check is refused (`UsedBy`), and so is
//!   a listener that still has a group other than an empty implicit one (`listener_unused`).
//!
//! Every change marks the listener as having its origins or configuration changed, so it
//! reports the change until the edges applied it.

use onramp_core::{
    validate, Binding, Dialect, EndpointGroup, Kind, Listener, ListenerChange, Op, OriginKind,
    Record, State, ANY_PORT,
};

use crate::ids::Ids;
use crate::{Cx, OpError, Res};

pub use crate::checks::{create_check, delete_check, find_check, update_check, CheckPatch};

/// Most endpoints one endpoint group may have (the service's default quota).
pub const MAX_ENDPOINTS: usize = 10;

/// A new explicit endpoint group.
#[derive(Debug, Clone, Default)]
pub struct NewGroup {
    pub listener_id: String,
    pub name: String,
    pub description: String,
    pub region: String,
    pub traffic_dial: u8,
}

/// The caller's endpoint group `id`.
pub fn find<'a>(cx: &Cx, st: &'a State, id: &str) -> Result<&'a EndpointGroup, OpError> {
    st.endpoint_group(&cx.account, id)
        .ok_or_else(|| OpError::NotFound(Res::EndpointGroup, id.to_string()))
}

fn dial(v: u8) -> Result<u8, OpError> {
    validate::range("traffic_dial", v.into(), 0, 100)?;
    Ok(v)
}

/// The listener put back with `change`, so it reports the change until applied.
pub(crate) fn touched(cx: &Cx, l: &Listener, change: ListenerChange) -> Op {
    let mut l = l.clone();
    l.change = change;
    l.updated_at = cx.now;
    Op::Put(Record::Listener(l))
}

fn bindings_in<'a>(st: &'a State, e: &'a EndpointGroup) -> impl Iterator<Item = &'a Binding> + 'a {
    st.bindings_of(&e.listener_id)
        .filter(move |b| b.endpoint_group_id == e.id)
}

/// Create an endpoint group; `regions` are the regions edges serve.
pub fn create_group(
    cx: &Cx,
    st: &State,
    ids: &mut Ids,
    regions: &[String],
    req: &NewGroup,
) -> Result<(Vec<Op>, String), OpError> {
    let l = crate::listeners::find(cx, st, &req.listener_id, None)?;
    if !regions.contains(&req.region) {
        return Err(OpError::RegionNotServed(req.region.clone()));
    }
    let mut ops = Vec::new();
    if let Some(e) = st
        .endpoint_groups_of(&l.id)
        .find(|e| e.region == req.region)
    {
        let empty = bindings_in(st, e).next().is_none() && e.health_check.is_none();
        if !(e.implicit && empty) {
            return Err(OpError::RegionTaken {
                group: l.id.clone(),
                region: req.region.clone(),
            });
        }
        ops.push(Op::Delete(Kind::EndpointGroup, e.id.clone()));
    }
    let id = ids.uuid();
    ops.push(Op::Put(Record::EndpointGroup(EndpointGroup {
        id: id.clone(),
        account_id: cx.account.clone(),
        listener_id: l.id.clone(),
        name: req.name.clone(),
        description: req.description.clone(),
        region: req.region.clone(),
        traffic_dial: dial(req.traffic_dial)?,
        implicit: false,
        health_check: None,
        created_at: cx.now,
        updated_at: cx.now,
        revision: 0,
    })));
    ops.push(touched(cx, l, ListenerChange::Config));
    Ok((ops, id))
}

/// What an update of a group changes (`None`: unchanged).
#[derive(Debug, Clone, Default)]
pub struct GroupPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub traffic_dial: Option<u8>,
}

pub fn update_group(cx: &Cx, st: &State, id: &str, p: &GroupPatch) -> Result<Vec<Op>, OpError> {
    let mut e = find(cx, st, id)?.clone();
    if let Some(n) = &p.name {
        e.name = n.clone();
    }
    if let Some(d) = &p.description {
        e.description = d.clone();
    }
    let mut ops = Vec::with_capacity(2);
    if let Some(d) = p.traffic_dial {
        if dial(d)? != e.traffic_dial {
            e.traffic_dial = d;
            if let Some(l) = st.listeners.get(&e.listener_id) {
                ops.push(touched(cx, l, ListenerChange::Config));
            }
        }
    }
    e.updated_at = cx.now;
    ops.push(Op::Put(Record::EndpointGroup(e)));
    Ok(ops)
}

/// Delete an endpoint group that has no endpoints and no health check.
pub fn delete_group(cx: &Cx, st: &State, id: &str) -> Result<Vec<Op>, OpError> {
    let e = find(cx, st, id)?;
    let by = match (bindings_in(st, e).next(), &e.health_check) {
        (Some(b), _) => Some(format!("endpoint {}", b.id)),
        (None, Some(h)) => Some(format!("health check {}", h.id)),
        (None, None) => None,
    };
    if let Some(by) = by {
        return Err(OpError::UsedBy {
            res: Res::EndpointGroup,
            id: e.id.clone(),
            by,
        });
    }
    let mut ops = vec![Op::Delete(Kind::EndpointGroup, e.id.clone())];
    if let Some(l) = st.listeners.get(&e.listener_id) {
        ops.push(touched(cx, l, ListenerChange::Config));
    }
    Ok(ops)
}

/// A new endpoint.
#[derive(Debug, Clone, Default)]
pub struct NewEndpoint {
    pub group_id: String,
    /// An IP address or a domain name, as given.
    pub address: String,
    pub weight: u32,
    /// The dialect's name of the resource behind the address (kept, shown back).
    pub resource_id: String,
    pub resource_type: String,
}

fn weight(w: u32) -> Result<u32, OpError> {
    validate::range("weight", w.into(), 0, 100)?;
    Ok(w)
}

/// Create an endpoint: bind the origin at `address` (reused or registered) to the group.
pub fn create_endpoint(
    cx: &Cx,
    st: &State,
    ids: &mut Ids,
    created_by: Dialect,
    req: &NewEndpoint,
) -> Result<(Vec<Op>, String), OpError> {
    let e = find(cx, st, &req.group_id)?;
    let l = crate::listeners::find(cx, st, &e.listener_id, None)?;
    let (address, kind): (String, OriginKind) = validate::origin_address("address", &req.address)?;
    let weight = weight(req.weight)?;
    let count = bindings_in(st, e).count();
    if count >= MAX_ENDPOINTS {
        return Err(OpError::Quota {
            what: "endpoints per endpoint group",
            limit: MAX_ENDPOINTS,
            given: count + 1,
        });
    }
    let project = st.listener_project(l);
    let mut ops = Vec::with_capacity(3);
    let origin_id = match st.origin_by_address(&cx.account, project, &address) {
        Some(o) => {
            if bindings_in(st, e).any(|b| b.origin_id == o.id) {
                return Err(OpError::DuplicateAddress { address, project });
            }
            if o.banned {
                return Err(OpError::Banned {
                    origin: o.id.clone(),
                    address,
                });
            }
            o.id.clone()
        }
        None => {
            let addresses = [(address.clone(), kind)];
            let new = crate::origins::NewOrigins {
                project_id: project,
                name: &req.resource_id,
                tags: &[],
                created_by,
                addresses: &addresses,
            };
            let (o_ops, made) = crate::origins::add(cx, st, ids, &new)?;
            ops.extend(o_ops);
            made.into_iter()
                .next()
                .map(|r| r.id)
                .ok_or(OpError::Missing("address"))?
        }
    };
    let id = ids.uuid();
    ops.push(Op::Put(Record::Binding(Binding {
        id: id.clone(),
        account_id: cx.account.clone(),
        listener_id: l.id.clone(),
        endpoint_group_id: e.id.clone(),
        origin_id,
        port: ANY_PORT,
        weight,
        resource_id: req.resource_id.clone(),
        resource_type: req.resource_type.clone(),
        created_at: cx.now,
        updated_at: cx.now,
        ..Default::default()
    })));
    ops.push(touched(cx, l, ListenerChange::Origins));
    Ok((ops, id))
}

/// The caller's endpoint `id` of group `group_id`.
pub fn find_endpoint<'a>(
    cx: &Cx,
    st: &'a State,
    group_id: &str,
    id: &str,
) -> Result<&'a Binding, OpError> {
    let e = find(cx, st, group_id)?;
    bindings_in(st, e)
        .find(|b| b.id == id)
        .ok_or_else(|| OpError::NotFound(Res::Endpoint, id.to_string()))
}

pub fn update_endpoint(
    cx: &Cx,
    st: &State,
    group_id: &str,
    id: &str,
    new_weight: Option<u32>,
) -> Result<Vec<Op>, OpError> {
    let mut b = find_endpoint(cx, st, group_id, id)?.clone();
    let mut ops = Vec::with_capacity(2);
    if let Some(w) = new_weight {
        if weight(w)? != b.weight {
            b.weight = w;
            if let Some(l) = st.listeners.get(&b.listener_id) {
                ops.push(touched(cx, l, ListenerChange::Origins));
            }
        }
    }
    b.updated_at = cx.now;
    ops.push(Op::Put(Record::Binding(b)));
    Ok(ops)
}

/// Delete an endpoint. Its origin stays registered (other dialects may use it).
pub fn delete_endpoint(cx: &Cx, st: &State, group_id: &str, id: &str) -> Result<Vec<Op>, OpError> {
    let b = find_endpoint(cx, st, group_id, id)?;
    let mut ops = vec![Op::Delete(Kind::Binding, b.id.clone())];
    if let Some(l) = st.listeners.get(&b.listener_id) {
        ops.push(touched(cx, l, ListenerChange::Origins));
    }
    Ok(ops)
}

/// Deletion order for a dialect with explicit groups: a listener may be deleted only when its
/// groups are gone, except an empty implicit group (which `listeners::cascade` deletes with it).
pub fn listener_unused(cx: &Cx, st: &State, listener_id: &str) -> Result<(), OpError> {
    let l = crate::listeners::find(cx, st, listener_id, None)?;
    let blocking = st
        .endpoint_groups_of(&l.id)
        .find(|e| !e.implicit || e.health_check.is_some() || bindings_in(st, e).next().is_some());
    match blocking {
        Some(e) => Err(OpError::UsedBy {
            res: Res::Listener,
            id: l.id.clone(),
            by: format!("endpoint_group {}", e.id),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
#[path = "endpoints_tests.rs"]
mod tests;
