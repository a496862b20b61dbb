//! Resources named one at a time, with a strict deletion order (the Huawei GA way; any dialect
//! may call these): accelerators with UUIDs, described and tagged at creation; listeners with up to
//! ten port ranges and client affinity, made without an implicit endpoint group (endpoint groups
//! are made on their own); changes by name, description, ranges and affinity.
//!
//! Rules: quotas (accelerators per account, listeners per accelerator); no port of a range may be
//! served by another listener of the same protocol in the accelerator's family, the listener
//! itself aside on a change; an accelerator is deleted only without listeners, a listener only
//! without bound endpoints nor endpoint groups of its own (an implicit group goes with it).

use onramp_core::{
    Accelerator, Affinity, Dialect, Kind, Listener, ListenerChange, Op, Owner, PortRange, Protocol,
    Record, Scheduler, State, Tag,
};

use crate::commit::Plan;
use crate::ids::Ids;
use crate::{accelerators, listeners, quotas, Cx, OpError, Res};

/// Most port ranges one listener takes.
pub const MAX_RANGES: usize = 10;

/// A new accelerator.
#[derive(Debug, Clone, Default)]
pub struct NewAccelerator {
    pub name: String,
    pub description: String,
    /// The region whose edges serve it (the dialect's choice: where onramp runs).
    pub region: String,
    pub area: String,
    pub ip_version: String,
    pub enterprise_project_id: String,
    pub tags: Vec<Tag>,
}

/// Create an accelerator with a UUID; the outcome is its ID.
pub fn create_accelerator(
    cx: &Cx,
    st: &State,
    ids: &mut Ids,
    created_by: Dialect,
    spec: &NewAccelerator,
) -> Result<Plan<String>, OpError> {
    quotas::accelerators(cx, st, 1)?;
    if spec.region.is_empty() {
        return Err(OpError::Missing("access_region"));
    }
    let a = Accelerator {
        id: ids.uuid(),
        name: spec.name.clone(),
        description: spec.description.clone(),
        access_region: spec.region.clone(),
        origin_region: spec.region.clone(),
        area: spec.area.clone(),
        ip_version: spec.ip_version.clone(),
        enterprise_project_id: spec.enterprise_project_id.clone(),
        tags: spec.tags.clone(),
        ..accelerators::base(cx, st, ids, created_by)
    };
    let id = a.id.clone();
    Ok(Plan::new(vec![Op::Put(Record::Accelerator(a))], id))
}

/// Rename or describe accelerator `id` (`None` keeps the value).
pub fn update_accelerator(
    cx: &Cx,
    st: &State,
    id: &str,
    name: Option<&str>,
    description: Option<&str>,
) -> Result<Vec<Op>, OpError> {
    let mut a = accelerators::find(cx, st, id)?.clone();
    if let Some(n) = name {
        a.name = n.to_string();
    }
    if let Some(d) = description {
        a.description = d.to_string();
    }
    accelerators::touch(cx, &mut a);
    Ok(vec![Op::Put(Record::Accelerator(a))])
}

/// Delete accelerator `id`, which must have no listeners left.
pub fn delete_accelerator(cx: &Cx, st: &State, id: &str) -> Result<Vec<Op>, OpError> {
    let a = accelerators::find(cx, st, id)?;
    let count = st.listeners_of(&a.id).count();
    if count > 0 {
        return Err(OpError::InUse {
            res: Res::Accelerator,
            id: a.id.clone(),
            by: Res::Listener,
            count,
        });
    }
    Ok(vec![Op::Delete(Kind::Accelerator, a.id.clone())])
}

/// A new listener.
#[derive(Debug, Clone, Default)]
pub struct NewListener {
    pub name: String,
    pub description: String,
    pub protocol: Protocol,
    pub ports: Vec<PortRange>,
    pub affinity: Affinity,
    pub tags: Vec<Tag>,
}

/// Changes to a listener; `None` keeps the value.
#[derive(Debug, Clone, Default)]
pub struct ListenerEdit {
    pub name: Option<String>,
    pub description: Option<String>,
    pub ports: Option<Vec<PortRange>>,
    /// `Affinity::None` also ends a session persistence another dialect set.
    pub affinity: Option<Affinity>,
}

/// Check `ranges` on their own and against the other listeners of `protocol` in `owner`'s family
/// (`except`: the listener being changed).
fn check_ranges(
    st: &State,
    owner: &Owner,
    protocol: Protocol,
    ranges: &[PortRange],
    except: Option<&str>,
) -> Result<(), OpError> {
    if ranges.is_empty() || ranges.len() > MAX_RANGES {
        return Err(OpError::invalid(
            "ports",
            format!("must have 1-{MAX_RANGES} port ranges"),
        ));
    }
    for (i, r) in ranges.iter().enumerate() {
        let inner = ranges[..i].iter().any(|o| o.overlaps(r));
        if r.from == 0 || r.from > r.to || inner {
            return Err(OpError::PortTaken {
                protocol,
                port: r.from,
                listener: None,
            });
        }
        let mut family: Vec<String> = vec![owner.id().to_string()];
        match owner {
            Owner::Group(g) => family.extend(st.members_of(g).map(|a| a.id.clone())),
            Owner::Accelerator(a) => {
                family.extend(st.accelerators.get(a).and_then(|a| a.group_id.clone()))
            }
        }
        if let Some(other) = family
            .iter()
            .find_map(|o| st.port_taken(o, protocol, r, except))
        {
            return Err(OpError::PortTaken {
                protocol,
                port: r.from,
                listener: Some(other.id.clone()),
            });
        }
    }
    Ok(())
}

/// Create a listener with a UUID on accelerator `accelerator_id`; the outcome is its ID.
pub fn create_listener(
    cx: &Cx,
    st: &State,
    ids: &mut Ids,
    created_by: Dialect,
    accelerator_id: &str,
    spec: &NewListener,
) -> Result<Plan<String>, OpError> {
    let owner = Owner::Accelerator(accelerator_id.to_string());
    listeners::owner(cx, st, &owner)?;
    quotas::listeners(cx, st, accelerator_id, 1)?;
    check_ranges(st, &owner, spec.protocol, &spec.ports, None)?;
    let l = Listener {
        id: ids.uuid(),
        account_id: cx.account.clone(),
        created_by,
        owner,
        name: spec.name.clone(),
        description: spec.description.clone(),
        protocol: spec.protocol,
        ports: spec.ports.clone(),
        affinity: spec.affinity,
        // Endpoints made one by one carry weights (0-100, 0 = no new traffic): only a weighted
        // scheduler honours them.
        scheduler: Scheduler::Wrr,
        tags: spec.tags.clone(),
        change: ListenerChange::Create,
        created_at: cx.now,
        updated_at: cx.now,
        ..Default::default()
    };
    let id = l.id.clone();
    Ok(Plan::new(vec![Op::Put(Record::Listener(l))], id))
}

/// Change listener `id`.
pub fn update_listener(
    cx: &Cx,
    st: &State,
    id: &str,
    edit: &ListenerEdit,
) -> Result<Vec<Op>, OpError> {
    let mut l = listeners::find(cx, st, id, None)?.clone();
    if let Some(ports) = &edit.ports {
        check_ranges(st, &l.owner, l.protocol, ports, Some(&l.id))?;
        l.ports.clone_from(ports);
    }
    if let Some(n) = &edit.name {
        l.name.clone_from(n);
    }
    if let Some(d) = &edit.description {
        l.description.clone_from(d);
    }
    match edit.affinity {
        Some(Affinity::None) => {
            l.affinity = Affinity::None;
            l.session_persist_secs = 0;
        }
        Some(a) => l.affinity = a,
        None => {}
    }
    l.change = ListenerChange::Config;
    l.updated_at = cx.now;
    Ok(vec![Op::Put(Record::Listener(l))])
}

/// Delete listener `id`: refused while endpoints are bound to it or endpoint groups of its own
/// remain (its implicit group, if another dialect made one, goes with it when empty and without
/// a health check).
pub fn delete_listener(cx: &Cx, st: &State, id: &str) -> Result<Vec<Op>, OpError> {
    let l = listeners::find(cx, st, id, None)?;
    if let Some(b) = st.bindings_of(&l.id).next() {
        return Err(OpError::StillBound {
            res: Res::Listener,
            id: l.id.clone(),
            listener: b.listener_id.clone(),
        });
    }
    let count = st.endpoint_groups_of(&l.id).filter(|e| !e.implicit).count();
    if count > 0 {
        return Err(OpError::InUse {
            res: Res::Listener,
            id: l.id.clone(),
            by: Res::EndpointGroup,
            count,
        });
    }
    // An implicit group (another dialect's) that still has a health check also holds it.
    crate::endpoints::listener_unused(cx, st, &l.id)?;
    Ok(listeners::cascade(st, l))
}

#[cfg(test)]
#[path = "lifecycle_tests.rs"]
mod tests;
