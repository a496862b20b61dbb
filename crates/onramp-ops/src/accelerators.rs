//! Accelerators (GAAP proxies, Huawei accelerators, BM load balancers): create (standalone, in a
//! group, or cloned from a running one), rename, resize, open/close, destroy.
//!
//! Rules: a repeated create with the same client token answers the first accelerator; one joining
//! a group takes the group's origin region, IP version and package (a different value asked for is
//! refused), starts closed if the group is, and is the group's only member in its access region;
//! only a running accelerator is cloned (its listeners, not its bindings) or resized; a change the
//! edges have not applied yet keeps being reported as that change; destroying one with bound
//! origins needs `force`, and deletes its listeners' cascades first.

use onramp_core::{
    Accelerator, AcceleratorChange, AcceleratorGroup, Dialect, Listener, ListenerChange, Op, Owner,
    Record, State, Tag,
};

use crate::commit::Plan;
use crate::ids::{Ids, Short};
use crate::listeners::{cascade_owner, implicit_group};
use crate::{Cx, OpError, Res};

/// Where and how big an accelerator is (what a create and its dry run share). `None` takes the
/// group's, the cloned accelerator's, or the default value.
#[derive(Debug, Clone, Default)]
pub struct Placement {
    pub access_region: String,
    pub origin_region: Option<String>,
    pub bandwidth_mbps: u64,
    pub concurrent: u64,
    pub group_id: Option<String>,
    pub ip_version: Option<String>,
    pub network_type: Option<String>,
    pub package_type: Option<String>,
}

/// Everything a create asks for.
#[derive(Debug, Clone, Default)]
pub struct NewAccelerator {
    pub place: Placement,
    pub project_id: i64,
    pub name: String,
    pub client_token: Option<String>,
    pub tags: Option<Vec<Tag>>,
    pub cloned: Option<String>,
    pub billing_type: Option<i64>,
}

/// Create an accelerator; the outcome is its ID.
pub fn create(
    cx: &Cx,
    st: &State,
    ids: &mut Ids,
    created_by: Dialect,
    spec: &NewAccelerator,
) -> Result<Plan<String>, OpError> {
    if let Some(token) = &spec.client_token {
        let earlier = st
            .accelerators_of_account(&cx.account)
            .find(|a| a.client_token.as_ref() == Some(token));
        if let Some(a) = earlier {
            // Same request again: the same answer, with a task of its own to poll.
            return Ok(Plan::task_only(a.id.clone()));
        }
    }
    crate::quotas::accelerators(cx, st, 1)?;
    let group = fit_group(cx, st, &spec.place)?;
    let source = spec
        .cloned
        .as_deref()
        .map(|id| clone_source(cx, st, id))
        .transpose()?;
    let acc = settle(cx, st, ids, created_by, spec, group, source)?;
    let mut ops = source
        .map(|s| clone_listeners(cx, st, ids, s, &acc))
        .unwrap_or_default();
    let id = acc.id.clone();
    ops.insert(0, Op::Put(Record::Accelerator(acc)));
    Ok(Plan::new(ops, id))
}

/// The group an accelerator placed at `pl` joins, if any, after checking it fits in it.
pub fn fit_group<'a>(
    cx: &Cx,
    st: &'a State,
    pl: &Placement,
) -> Result<Option<&'a AcceleratorGroup>, OpError> {
    let Some(gid) = &pl.group_id else {
        return Ok(None);
    };
    let g = crate::groups::find(cx, st, gid)?;
    let same = [
        ("origin_region", &pl.origin_region, &g.origin_region),
        ("ip_version", &pl.ip_version, &g.ip_version),
        ("package_type", &pl.package_type, &g.package_type),
    ];
    for (field, given, have) in same {
        if let Some(v) = given.as_deref().filter(|v| *v != have.as_str()) {
            return Err(OpError::GroupMismatch {
                field,
                given: v.to_string(),
                group: have.clone(),
            });
        }
    }
    // Members of a group serve the same listeners; two in one region would want the same ports.
    if st
        .members_of(&g.id)
        .any(|m| m.access_region == pl.access_region)
    {
        return Err(OpError::RegionTaken {
            group: g.id.clone(),
            region: pl.access_region.clone(),
        });
    }
    Ok(Some(g))
}

/// The caller's accelerator `id`.
pub fn find<'a>(cx: &Cx, st: &'a State, id: &str) -> Result<&'a Accelerator, OpError> {
    st.accelerator(&cx.account, id)
        .ok_or_else(|| OpError::NotFound(Res::Accelerator, id.to_string()))
}

fn clone_source<'a>(cx: &Cx, st: &'a State, id: &str) -> Result<&'a Accelerator, OpError> {
    let a = find(cx, st, id)?;
    if !a.enabled {
        return Err(OpError::NotRunning(Res::Accelerator, id.to_string()));
    }
    Ok(a)
}

/// The new accelerator: given values first, then the group's, then the cloned one's, then
/// defaults.
fn settle(
    cx: &Cx,
    st: &State,
    ids: &mut Ids,
    created_by: Dialect,
    spec: &NewAccelerator,
    group: Option<&AcceleratorGroup>,
    source: Option<&Accelerator>,
) -> Result<Accelerator, OpError> {
    let mut a = base(cx, st, ids, created_by);
    if let Some(s) = source {
        a.origin_region = s.origin_region.clone();
        a.tags = s.tags.clone();
        a.billing_type = s.billing_type;
        a.ip_version = s.ip_version.clone();
        a.network_type = s.network_type.clone();
        a.package_type = s.package_type.clone();
    }
    if let Some(g) = group {
        a.group_id = Some(g.id.clone());
        a.origin_region = g.origin_region.clone();
        a.ip_version = g.ip_version.clone();
        a.package_type = g.package_type.clone();
        // One joining a closed group starts closed, like its group.
        a.enabled = g.enabled;
    }
    given(&mut a, spec);
    if a.origin_region.is_empty() {
        return Err(OpError::Missing("origin_region"));
    }
    Ok(a)
}

/// Overlay what the request itself says.
fn given(a: &mut Accelerator, spec: &NewAccelerator) {
    let pl = &spec.place;
    a.name = spec.name.clone();
    a.project_id = spec.project_id;
    a.access_region = pl.access_region.clone();
    a.bandwidth_mbps = pl.bandwidth_mbps;
    a.concurrent = pl.concurrent;
    a.client_token = spec.client_token.clone();
    let texts = [
        (&mut a.origin_region, &pl.origin_region),
        (&mut a.ip_version, &pl.ip_version),
        (&mut a.network_type, &pl.network_type),
        (&mut a.package_type, &pl.package_type),
    ];
    for (have, want) in texts {
        if let Some(v) = want {
            have.clone_from(v);
        }
    }
    if let Some(t) = &spec.tags {
        a.tags = t.clone();
    }
    a.billing_type = spec.billing_type.unwrap_or(a.billing_type);
}

/// A new accelerator of the caller with a fresh ID and the defaults every creation shares.
pub fn base(cx: &Cx, st: &State, ids: &mut Ids, created_by: Dialect) -> Accelerator {
    Accelerator {
        id: ids.short(st, Short::Proxy),
        account_id: cx.account.clone(),
        created_by,
        enabled: true,
        ip_version: "IPv4".into(),
        network_type: "normal".into(),
        package_type: "Thunder".into(),
        enterprise_project_id: "0".into(),
        area: "OUTOFCM".into(),
        change: AcceleratorChange::Create,
        created_at: cx.now,
        updated_at: cx.now,
        ..Default::default()
    }
}

/// Copies of the source's own listeners on the new accelerator, each with a fresh implicit
/// endpoint group. Bindings are not copied: the clone starts with no origins; nor is access
/// control (an IP address group serves at most `ip_groups::MAX_LISTENERS` listeners, and each
/// association is asked for).
fn clone_listeners(
    cx: &Cx,
    st: &State,
    ids: &mut Ids,
    source: &Accelerator,
    acc: &Accelerator,
) -> Vec<Op> {
    let mut ops = Vec::new();
    for l in st.listeners_of(&source.id) {
        let copy = Listener {
            id: ids.short(st, Short::Listener),
            account_id: cx.account.clone(),
            created_by: acc.created_by,
            owner: Owner::Accelerator(acc.id.clone()),
            frozen: Default::default(),
            change: ListenerChange::Create,
            access: None,
            log_tank: None,
            created_at: cx.now,
            updated_at: cx.now,
            revision: 0,
            ..l.clone()
        };
        let eg = implicit_group(cx, ids, &copy, &acc.access_region);
        ops.push(Op::Put(Record::Listener(copy)));
        ops.push(Op::Put(Record::EndpointGroup(eg)));
    }
    ops
}

/// Record a configuration change. One the edges have not applied yet keeps being reported (an
/// accelerator renamed while creating is still creating).
pub(crate) fn touch(cx: &Cx, a: &mut Accelerator) {
    if cx.is_applied(a.revision) {
        a.change = AcceleratorChange::Config;
    }
    a.updated_at = cx.now;
}

/// Rename accelerators `ids` (all or none).
pub fn rename(cx: &Cx, st: &State, ids: &[String], name: &str) -> Result<Vec<Op>, OpError> {
    let mut ops = Vec::with_capacity(ids.len());
    for id in ids {
        let mut a = find(cx, st, id)?.clone();
        a.name = name.to_string();
        touch(cx, &mut a);
        ops.push(Op::Put(Record::Accelerator(a)));
    }
    Ok(ops)
}

/// New bandwidth, concurrency or billing of a running accelerator (`None` keeps the value).
#[derive(Debug, Clone, Copy, Default)]
pub struct Resize {
    pub bandwidth_mbps: Option<u64>,
    pub concurrent: Option<u64>,
    pub billing_type: Option<i64>,
}

pub fn resize(cx: &Cx, st: &State, id: &str, r: Resize) -> Result<Vec<Op>, OpError> {
    let mut a = find(cx, st, id)?.clone();
    if !a.enabled {
        return Err(OpError::NotRunning(Res::Accelerator, id.to_string()));
    }
    a.bandwidth_mbps = r.bandwidth_mbps.unwrap_or(a.bandwidth_mbps);
    a.concurrent = r.concurrent.unwrap_or(a.concurrent);
    a.billing_type = r.billing_type.unwrap_or(a.billing_type);
    a.config_changed_at = Some(cx.now);
    touch(cx, &mut a);
    Ok(vec![Op::Put(Record::Accelerator(a))])
}

/// What a batch open/close did with each ID.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Switched {
    /// Already open (or closed).
    pub unchanged: Vec<String>,
    /// Not the caller's.
    pub unknown: Vec<String>,
}

/// Open or close accelerators `ids`: each known one not yet in the wanted state switches.
pub fn switch(cx: &Cx, st: &State, ids: &[String], open: bool) -> (Vec<Op>, Switched) {
    let (mut ops, mut out) = (Vec::new(), Switched::default());
    for id in ids {
        match st.accelerator(&cx.account, id) {
            None => out.unknown.push(id.clone()),
            Some(a) if a.enabled == open => out.unchanged.push(id.clone()),
            Some(a) => ops.push(Op::Put(Record::Accelerator(switched(cx, a, open)))),
        }
    }
    (ops, out)
}

/// A copy of `a` opened or closed.
pub(crate) fn switched(cx: &Cx, a: &Accelerator, open: bool) -> Accelerator {
    Accelerator {
        enabled: open,
        change: if open {
            AcceleratorChange::Open
        } else {
            AcceleratorChange::Close
        },
        updated_at: cx.now,
        ..a.clone()
    }
}

/// Destroy the caller's accelerators among `ids` with everything they own; returns the ops and
/// the IDs that are not the caller's. Without `force`, one with bound origins refuses them all.
pub fn destroy(
    cx: &Cx,
    st: &State,
    ids: &[String],
    force: bool,
) -> Result<(Vec<Op>, Vec<String>), OpError> {
    let (found, unknown): (Vec<&String>, Vec<&String>) = ids
        .iter()
        .partition(|id| st.accelerator(&cx.account, id).is_some());
    if !force {
        if let Some(id) = found.iter().find(|id| st.has_bindings(id)) {
            return Err(still_bound(st, Res::Accelerator, id));
        }
    }
    let mut ops = Vec::new();
    for id in found {
        ops.extend(cascade(st, id));
    }
    Ok((ops, unknown.into_iter().cloned().collect()))
}

/// Deletion order below an accelerator: its listeners' cascades, then itself.
pub(crate) fn cascade(st: &State, id: &str) -> Vec<Op> {
    let mut ops = cascade_owner(st, id);
    ops.push(Op::Delete(onramp_core::Kind::Accelerator, id.to_string()));
    ops
}

/// `StillBound` naming the first listener of `owner_id` with bindings.
pub(crate) fn still_bound(st: &State, res: Res, owner_id: &str) -> OpError {
    let listener = st
        .listeners_of(owner_id)
        .find(|l| st.bindings_of(&l.id).next().is_some())
        .map(|l| l.id.clone())
        .unwrap_or_default();
    OpError::StillBound {
        res,
        id: owner_id.to_string(),
        listener,
    }
}

#[cfg(test)]
#[path = "accelerators_tests.rs"]
mod tests;
