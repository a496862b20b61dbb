//! Accelerator groups (GAAP proxy groups `lg-…`): a set of accelerators in distinct access
//! regions sharing one origin region and the group's listeners.
//!
//! Rules: a group made with access regions gets one accelerator per region in the same write;
//! deleting a group that still has accelerators, or listeners with bound origins, needs `force`,
//! which deletes its members' cascades, its own listeners' cascades, then the group; opening or
//! closing a group switches every member.

use onramp_core::{AcceleratorChange, AcceleratorGroup, Dialect, Kind, Op, Record, State, Tag};

use crate::accelerators::{base, cascade, still_bound, switched};
use crate::ids::{Ids, Short};
use crate::{Cx, OpError, Res};

/// One access region of a new group.
#[derive(Debug, Clone, Default)]
pub struct Access {
    pub region: String,
    pub bandwidth_mbps: u64,
    pub concurrent: u64,
    pub network_type: String,
}

/// A validated group creation.
#[derive(Debug, Clone, Default)]
pub struct NewGroup {
    pub project_id: i64,
    pub name: String,
    pub origin_region: String,
    pub tags: Vec<Tag>,
    pub access: Vec<Access>,
    pub ip_version: String,
    pub package_type: String,
}

/// The group record and its accelerators, one per access region, named `<name>-<region>`.
pub fn create(
    cx: &Cx,
    st: &State,
    ids: &mut Ids,
    created_by: Dialect,
    req: &NewGroup,
) -> (Vec<Op>, String) {
    let g = AcceleratorGroup {
        id: ids.short(st, Short::Group),
        account_id: cx.account.clone(),
        name: req.name.clone(),
        project_id: req.project_id,
        origin_region: req.origin_region.clone(),
        tags: req.tags.clone(),
        enabled: true,
        ip_version: req.ip_version.clone(),
        package_type: req.package_type.clone(),
        change: AcceleratorChange::Create,
        created_at: cx.now,
        updated_at: cx.now,
        revision: 0,
    };
    let mut ops = Vec::with_capacity(req.access.len() + 1);
    for a in &req.access {
        let member = onramp_core::Accelerator {
            name: format!("{}-{}", req.name, a.region),
            project_id: req.project_id,
            access_region: a.region.clone(),
            origin_region: req.origin_region.clone(),
            bandwidth_mbps: a.bandwidth_mbps,
            concurrent: a.concurrent,
            group_id: Some(g.id.clone()),
            tags: req.tags.clone(),
            ip_version: req.ip_version.clone(),
            network_type: a.network_type.clone(),
            package_type: req.package_type.clone(),
            ..base(cx, st, ids, created_by)
        };
        ops.push(Op::Put(Record::Accelerator(member)));
    }
    let id = g.id.clone();
    ops.insert(0, Op::Put(Record::Group(g)));
    (ops, id)
}

/// The caller's group `id`.
pub fn find<'a>(cx: &Cx, st: &'a State, id: &str) -> Result<&'a AcceleratorGroup, OpError> {
    st.group(&cx.account, id)
        .ok_or_else(|| OpError::NotFound(Res::Group, id.to_string()))
}

/// Rename a group or move it to another project (`None` keeps the value; both `None` changes
/// nothing once the group is found).
pub fn modify(
    cx: &Cx,
    st: &State,
    id: &str,
    name: Option<&str>,
    project_id: Option<i64>,
) -> Result<Vec<Op>, OpError> {
    let mut g = find(cx, st, id)?.clone();
    if name.is_none() && project_id.is_none() {
        return Ok(Vec::new());
    }
    if let Some(n) = name {
        g.name = n.to_string();
    }
    g.project_id = project_id.unwrap_or(g.project_id);
    // A change the edges have not applied yet keeps being reported.
    if cx.is_applied(g.revision) {
        g.change = AcceleratorChange::Config;
    }
    g.updated_at = cx.now;
    Ok(vec![Op::Put(Record::Group(g))])
}

/// Delete a group with its members and listeners (their cascades first).
pub fn delete(cx: &Cx, st: &State, id: &str, force: bool) -> Result<Vec<Op>, OpError> {
    let g = find(cx, st, id)?;
    let members: Vec<&str> = st.members_of(&g.id).map(|a| a.id.as_str()).collect();
    if !force && !members.is_empty() {
        return Err(OpError::HasMembers {
            group: g.id.clone(),
            count: members.len(),
        });
    }
    if !force && st.has_bindings(&g.id) {
        return Err(still_bound(st, Res::Group, &g.id));
    }
    let mut ops = Vec::new();
    for m in members {
        ops.extend(cascade(st, m));
    }
    ops.extend(crate::listeners::cascade_owner(st, &g.id));
    ops.push(Op::Delete(Kind::Group, g.id.clone()));
    Ok(ops)
}

/// Open or close a group and its members. The IDs (group or members) already in the wanted state
/// are returned and left alone.
pub fn switch(
    cx: &Cx,
    st: &State,
    id: &str,
    open: bool,
) -> Result<(Vec<Op>, Vec<String>), OpError> {
    let g = find(cx, st, id)?;
    let (mut ops, mut unchanged) = (Vec::new(), Vec::new());
    if g.enabled == open {
        unchanged.push(g.id.clone());
    } else {
        let g = AcceleratorGroup {
            enabled: open,
            change: if open {
                AcceleratorChange::Open
            } else {
                AcceleratorChange::Close
            },
            updated_at: cx.now,
            ..g.clone()
        };
        ops.push(Op::Put(Record::Group(g)));
    }
    for a in st.members_of(&g.id) {
        if a.enabled == open {
            unchanged.push(a.id.clone());
        } else {
            ops.push(Op::Put(Record::Accelerator(switched(cx, a, open))));
        }
    }
    Ok((ops, unchanged))
}
