//! Binding origins to a listener: the request gives the whole set, the plan turns the stored set
//! into it.
//!
//! A pair (origin, port) that stays keeps its binding ID (and so its health and open connections
//! on the edge); changed weights and roles are updated in place; new pairs join the listener's
//! implicit endpoint group (made if it has none); the listener reports its origins changing
//! until the edges applied them. Rules: at most `MAX_BOUND` bindings; every origin is the
//! caller's, of the listener's kind, not banned, and at the address the request says when it
//! says one; a pair is listed once.

use std::collections::{BTreeMap, HashSet};

use onramp_core::{
    Binding, FailoverRole, Kind, Listener, ListenerChange, Op, Origin, Record, State,
};

use crate::ids::Ids;
use crate::listeners::implicit_group;
use crate::{Cx, OpError, Res};

/// Most origins one listener may have bound.
pub const MAX_BOUND: usize = 255;

/// One wanted binding.
#[derive(Debug, Clone)]
pub struct Want {
    pub origin_id: String,
    pub port: u16,
    pub weight: u32,
    /// The address the request expects the origin to have (normalised), if it names one.
    pub address: Option<String>,
    /// Asked to be the backup (only meaningful when the listener fails over).
    pub backup: bool,
}

/// Replace the bindings of listener `listener_id` by `wants`.
pub fn bind(
    cx: &Cx,
    st: &State,
    ids: &mut Ids,
    listener_id: &str,
    wants: Vec<Want>,
) -> Result<Vec<Op>, OpError> {
    let l = crate::listeners::find(cx, st, listener_id, None)?;
    if wants.len() > MAX_BOUND {
        return Err(OpError::Quota {
            what: "bound origins",
            limit: MAX_BOUND,
            given: wants.len(),
        });
    }
    let mut seen = HashSet::new();
    let mut checked = Vec::with_capacity(wants.len());
    for (i, w) in wants.into_iter().enumerate() {
        let role = check(cx, st, l, &w).map_err(|e| OpError::item(i, e))?;
        if !seen.insert((w.origin_id.clone(), w.port)) {
            let why = format!(
                "origin {} is listed more than once on port {}",
                w.origin_id, w.port
            );
            return Err(OpError::item(i, OpError::invalid("", why)));
        }
        checked.push((w, role));
    }
    Ok(plan(cx, st, ids, l, checked))
}

/// Whether `w` may be bound to `l`, and the role it gets.
pub(crate) fn check(cx: &Cx, st: &State, l: &Listener, w: &Want) -> Result<FailoverRole, OpError> {
    let o: &Origin = st
        .origin(&cx.account, &w.origin_id)
        .ok_or_else(|| OpError::NotFound(Res::Origin, w.origin_id.clone()))?;
    if let Some(a) = w.address.as_deref().filter(|a| *a != o.address) {
        let why = format!("'{a}' is not the address of {} ({})", o.id, o.address);
        return Err(OpError::invalid("address", why));
    }
    if o.kind != l.origin_kind {
        let (have, want) = (o.kind.as_str(), l.origin_kind.as_str());
        let why = format!(
            "{} is a {have} origin but listener {} binds {want}",
            o.id, l.id
        );
        return Err(OpError::invalid("origin", why));
    }
    if o.banned {
        return Err(OpError::Banned {
            origin: o.id.clone(),
            address: o.address.clone(),
        });
    }
    Ok(match (l.failover, w.backup) {
        (false, _) => FailoverRole::None,
        (true, true) => FailoverRole::Slave,
        (true, false) => FailoverRole::Master,
    })
}

/// The ops that turn the listener's bindings into `wants` and mark its origins as changing.
fn plan(
    cx: &Cx,
    st: &State,
    ids: &mut Ids,
    l: &Listener,
    wants: Vec<(Want, FailoverRole)>,
) -> Vec<Op> {
    let mut ops = Vec::new();
    let mut current: BTreeMap<(String, u16), &Binding> = BTreeMap::new();
    for b in st.bindings_of(&l.id) {
        if current.insert((b.origin_id.clone(), b.port), b).is_some() {
            // A second binding of the same pair can only be a leftover; keep one.
            ops.push(Op::Delete(Kind::Binding, b.id.clone()));
        }
    }
    let mut group: Option<String> = None;
    for (w, role) in wants {
        match current.remove(&(w.origin_id.clone(), w.port)) {
            Some(b) if b.weight == w.weight && b.role == role => {}
            Some(b) => {
                let mut b = b.clone();
                b.weight = w.weight;
                b.role = role;
                ops.push(Op::Put(Record::Binding(b)));
            }
            None => {
                let eg = match &group {
                    Some(g) => g.clone(),
                    None => group
                        .insert(ensure_implicit_group(cx, st, ids, l, &mut ops))
                        .clone(),
                };
                ops.push(Op::Put(Record::Binding(Binding {
                    id: ids.uuid(),
                    account_id: cx.account.clone(),
                    listener_id: l.id.clone(),
                    endpoint_group_id: eg,
                    origin_id: w.origin_id,
                    port: w.port,
                    weight: w.weight,
                    role,
                    created_at: cx.now,
                    ..Default::default()
                })));
            }
        }
    }
    ops.extend(
        current
            .into_values()
            .map(|b| Op::Delete(Kind::Binding, b.id.clone())),
    );
    let mut l = l.clone();
    l.change = ListenerChange::Origins;
    l.updated_at = cx.now;
    ops.push(Op::Put(Record::Listener(l)));
    ops
}

/// The listener's implicit endpoint group, made (pushed to `ops`) if it has none yet.
pub(crate) fn ensure_implicit_group(
    cx: &Cx,
    st: &State,
    ids: &mut Ids,
    l: &Listener,
    ops: &mut Vec<Op>,
) -> String {
    let region = l
        .owner
        .accelerator()
        .and_then(|a| st.accelerator(&cx.account, a))
        .map(|a| a.access_region.clone())
        .unwrap_or_default();
    // The implicit group, or the explicit group that took its place in the access region.
    if let Some(e) = st.endpoint_groups_of(&l.id).find(|e| e.implicit) {
        return e.id.clone();
    }
    if let Some(e) = st.endpoint_groups_of(&l.id).find(|e| e.region == region) {
        return e.id.clone();
    }
    let eg = implicit_group(cx, ids, l, &region);
    let id = eg.id.clone();
    ops.push(Op::Put(Record::EndpointGroup(eg)));
    id
}

#[cfg(test)]
#[path = "bindings_tests.rs"]
mod tests;
