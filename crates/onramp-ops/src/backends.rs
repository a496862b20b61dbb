//! Backends of a load balancer's listener (BM): origins added by their ID or by their address
//! (an origin is found, or registered, for an address in the load balancer's project), removed,
//! and their weight, port or probe port changed one at a time.
//!
//! Rules: the listener is the load balancer's; it holds at most `bindings::MAX_BOUND` bindings;
//! one port of an origin is bound to at most one listener of each protocol of a load balancer
//! (`OriginPortTaken`); a pair given twice in one request is refused, one already bound takes the
//! new weight and probe port; a pair removed or changed must be bound (`NotFound(Endpoint)`); the
//! listener reports its origins changing until the edges applied them.

use std::collections::HashMap;

use onramp_core::{
    Binding, Dialect, Kind, Listener, ListenerChange, Op, Origin, OriginKind, Record, State,
};

use crate::bindings::{self, Want, MAX_BOUND};
use crate::ids::{Ids, Short};
use crate::{Cx, OpError, Res};

/// Which origin a request means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An origin onramp knows, by its ID.
    Origin(String),
    /// An IP address (normalised): its origin in the load balancer's project, made if missing.
    Address(String),
}

/// One backend to add.
#[derive(Debug, Clone)]
pub struct NewBackend {
    pub target: Target,
    pub port: u16,
    pub weight: u32,
    pub probe_port: Option<u16>,
}

/// One change of a bound backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Weight(u32),
    Port(u16),
    ProbePort(u16),
}

/// The listener `id` of load balancer `lb`.
fn listener<'a>(cx: &Cx, st: &'a State, lb: &str, id: &str) -> Result<&'a Listener, OpError> {
    crate::accelerators::find(cx, st, lb)?;
    crate::listeners::find(cx, st, id, Some(lb))
}

/// The origin `t` names, if it exists.
fn existing<'a>(cx: &Cx, st: &'a State, l: &Listener, t: &Target) -> Option<&'a Origin> {
    match t {
        Target::Origin(id) => st.origin(&cx.account, id),
        Target::Address(a) => st.origin_by_address(&cx.account, st.listener_project(l), a),
    }
}

/// The binding of (`t`, `port`) on `l`.
fn bound<'a>(
    cx: &Cx,
    st: &'a State,
    l: &Listener,
    t: &Target,
    port: u16,
) -> Result<&'a Binding, OpError> {
    let pair = || match t {
        Target::Origin(id) | Target::Address(id) => format!("{id}:{port}"),
    };
    if let Target::Origin(id) = t {
        crate::origins::find(cx, st, id)?;
    }
    let origin = existing(cx, st, l, t).ok_or_else(|| OpError::NotFound(Res::Endpoint, pair()))?;
    st.bindings_of(&l.id)
        .find(|b| b.origin_id == origin.id && b.port == port)
        .ok_or_else(|| OpError::NotFound(Res::Endpoint, pair()))
}

/// The other listener of `l`'s protocol in its load balancer that has `origin`'s `port` bound.
fn port_user<'a>(st: &'a State, l: &Listener, origin: &str, port: u16) -> Option<&'a Listener> {
    st.listeners_of(l.owner.id())
        .filter(|o| o.id != l.id && o.protocol == l.protocol)
        .find(|o| {
            st.bindings_of(&o.id)
                .any(|b| b.origin_id == origin && b.port == port)
        })
}

fn port_taken(origin: &str, port: u16, by: &Listener) -> OpError {
    OpError::OriginPortTaken {
        origin: origin.to_string(),
        port,
        protocol: by.protocol,
        listener: by.id.clone(),
    }
}

/// The ops that mark `l` as having its origins changed.
fn touched(cx: &Cx, l: &Listener) -> Op {
    let mut l = l.clone();
    l.change = ListenerChange::Origins;
    l.updated_at = cx.now;
    Op::Put(Record::Listener(l))
}

/// Add `items` to listener `listener_id` of load balancer `lb`.
pub fn add(
    cx: &Cx,
    st: &State,
    ids: &mut Ids,
    lb: &str,
    listener_id: &str,
    items: Vec<NewBackend>,
) -> Result<Vec<Op>, OpError> {
    let l = listener(cx, st, lb, listener_id)?;
    let mut ops = Vec::new();
    let mut made: HashMap<String, String> = HashMap::new();
    let mut seen = Vec::new();
    let mut adding = 0;
    for (i, item) in items.into_iter().enumerate() {
        let origin = resolve(cx, st, ids, l, &item.target, &mut made, &mut ops)
            .map_err(|e| OpError::item(i, e))?;
        if seen.contains(&(origin.clone(), item.port)) {
            let why = format!("{origin} is listed more than once on port {}", item.port);
            return Err(OpError::item(i, OpError::invalid("", why)));
        }
        seen.push((origin.clone(), item.port));
        if let Some(other) = port_user(st, l, &origin, item.port) {
            return Err(OpError::item(i, port_taken(&origin, item.port, other)));
        }
        let current = st
            .bindings_of(&l.id)
            .find(|b| b.origin_id == origin && b.port == item.port);
        let b = match current {
            Some(b) => Binding {
                weight: item.weight,
                probe_port: item.probe_port,
                updated_at: cx.now,
                ..b.clone()
            },
            None => {
                adding += 1;
                new_binding(cx, st, ids, l, &origin, &item, &mut ops)
                    .map_err(|e| OpError::item(i, e))?
            }
        };
        ops.push(Op::Put(Record::Binding(b)));
    }
    let given = st.bindings_of(&l.id).count() + adding;
    if given > MAX_BOUND {
        return Err(OpError::Quota {
            what: "bound origins",
            limit: MAX_BOUND,
            given,
        });
    }
    ops.push(touched(cx, l));
    Ok(ops)
}

/// The ID of the origin `t` names: an existing one (checked as `bindings` checks any origin it
/// binds), or for an address without one, a new origin of the listener's project.
fn resolve(
    cx: &Cx,
    st: &State,
    ids: &mut Ids,
    l: &Listener,
    t: &Target,
    made: &mut HashMap<String, String>,
    ops: &mut Vec<Op>,
) -> Result<String, OpError> {
    if let Some(o) = existing(cx, st, l, t) {
        return Ok(o.id.clone());
    }
    match t {
        Target::Origin(id) => Err(OpError::NotFound(Res::Origin, id.clone())),
        Target::Address(a) => {
            if let Some(id) = made.get(a) {
                return Ok(id.clone());
            }
            let o = Origin {
                id: ids.short(st, Short::Origin),
                account_id: cx.account.clone(),
                created_by: Dialect::Bm,
                project_id: st.listener_project(l),
                name: a.clone(),
                address: a.clone(),
                kind: OriginKind::Ip,
                created_at: cx.now,
                updated_at: cx.now,
                ..Default::default()
            };
            made.insert(a.clone(), o.id.clone());
            let id = o.id.clone();
            ops.push(Op::Put(Record::Origin(o)));
            Ok(id)
        }
    }
}

/// A new binding of `origin` (known to the state, or just made with the kind of an address).
fn new_binding(
    cx: &Cx,
    st: &State,
    ids: &mut Ids,
    l: &Listener,
    origin: &str,
    item: &NewBackend,
    ops: &mut Vec<Op>,
) -> Result<Binding, OpError> {
    let by_address = matches!(item.target, Target::Address(_));
    let role = match st.origins.get(origin) {
        Some(_) => {
            let want = Want {
                origin_id: origin.to_string(),
                port: item.port,
                weight: item.weight,
                address: None,
                backup: false,
            };
            bindings::check(cx, st, l, &want)?
        }
        None if l.origin_kind != OriginKind::Ip => {
            return Err(OpError::invalid(
                "origin",
                format!("listener {} binds domain origins, not addresses", l.id),
            ))
        }
        None if l.failover => onramp_core::FailoverRole::Master,
        None => onramp_core::FailoverRole::None,
    };
    let group = bindings::ensure_implicit_group(cx, st, ids, l, ops);
    Ok(Binding {
        id: ids.uuid(),
        account_id: cx.account.clone(),
        listener_id: l.id.clone(),
        endpoint_group_id: group,
        origin_id: origin.to_string(),
        port: item.port,
        weight: item.weight,
        role,
        probe_port: item.probe_port,
        by_address,
        created_at: cx.now,
        ..Default::default()
    })
}

/// Remove the pairs `items` from listener `listener_id` of load balancer `lb` (all or none).
pub fn remove(
    cx: &Cx,
    st: &State,
    lb: &str,
    listener_id: &str,
    items: &[(Target, u16)],
) -> Result<Vec<Op>, OpError> {
    let l = listener(cx, st, lb, listener_id)?;
    let mut ops = Vec::with_capacity(items.len() + 1);
    let mut gone = Vec::new();
    for (i, (t, port)) in items.iter().enumerate() {
        let b = bound(cx, st, l, t, *port).map_err(|e| OpError::item(i, e))?;
        if !gone.contains(&b.id) {
            gone.push(b.id.clone());
            ops.push(Op::Delete(Kind::Binding, b.id.clone()));
        }
    }
    ops.push(touched(cx, l));
    Ok(ops)
}

/// Change one bound backend (`target` on `port`) of listener `listener_id` of `lb`.
pub fn change(
    cx: &Cx,
    st: &State,
    lb: &str,
    listener_id: &str,
    (target, port): (&Target, u16),
    change: Change,
) -> Result<Vec<Op>, OpError> {
    let l = listener(cx, st, lb, listener_id)?;
    let mut b = bound(cx, st, l, target, port)?.clone();
    match change {
        Change::Weight(w) => b.weight = w,
        Change::ProbePort(p) => b.probe_port = Some(p),
        Change::Port(p) if p == b.port => {}
        Change::Port(p) => {
            let here = st
                .bindings_of(&l.id)
                .any(|o| o.origin_id == b.origin_id && o.port == p);
            if let Some(by) = here
                .then_some(l)
                .or_else(|| port_user(st, l, &b.origin_id, p))
            {
                return Err(port_taken(&b.origin_id, p, by));
            }
            b.port = p;
        }
    }
    b.updated_at = cx.now;
    Ok(vec![Op::Put(Record::Binding(b)), touched(cx, l)])
}

#[cfg(test)]
#[path = "backends_tests.rs"]
mod tests;
