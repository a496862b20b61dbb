//! CreateProxy (standalone, inside a group, or cloned from a running proxy) and CheckProxyCreate.
//!
//! Parameters are validated before the state is read; what depends on the state (the group, the
//! cloned proxy, an earlier request with the same `ClientToken`) is resolved inside the write, so
//! two racing requests cannot both pass a check that only one of them may pass.

use onramp_core::{
    ids, Accelerator, AcceleratorChange, AcceleratorGroup, Dialect, ListenerChange, Op, Owner,
    Record, State, Tag, Task,
};
use serde_json::{json, Map, Value};

use super::rules;
use crate::gaap::{commit, obj};
use crate::tencent::{Ctx, Params, TcError, TcResult};

/// Where and how big a proxy is: what CreateProxy and CheckProxyCreate share.
struct Placement {
    access_region: String,
    origin_region: Option<String>,
    bandwidth: u64,
    concurrent: u64,
    group_id: Option<String>,
    ip_version: Option<String>,
    network_type: Option<String>,
    package_type: Option<String>,
}

impl Placement {
    fn parse(ctx: &Ctx<'_>, p: &Params) -> TcResult<Self> {
        let api = ctx.api;
        let access_region =
            rules::access_region(api, "AccessRegion", &p.nonempty("AccessRegion")?)?;
        let origin_region = match nonempty_opt(p, "RealServerRegion")? {
            Some(r) => Some(rules::dest_region(api, "RealServerRegion", &r)?),
            None => None,
        };
        let bandwidth = rules::bandwidth("Bandwidth", p.i64_req("Bandwidth")?)?;
        let concurrent = rules::concurrent("Concurrent", p.i64_req("Concurrent")?)?;
        p.flag("Http3Supported")?;
        Ok(Self {
            access_region,
            origin_region,
            bandwidth,
            concurrent,
            group_id: nonempty_opt(p, "GroupId")?,
            ip_version: p.one_of("IPAddressVersion", rules::IP_VERSIONS)?,
            network_type: p.one_of("NetworkType", rules::NETWORK_TYPES)?,
            package_type: p.one_of("PackageType", rules::PACKAGE_TYPES)?,
        })
    }
}

fn nonempty_opt(p: &Params, k: &str) -> TcResult<Option<String>> {
    Ok(p.str_opt(k)?.filter(|s| !s.is_empty()))
}

/// Everything CreateProxy asks for.
struct Spec {
    place: Placement,
    project_id: i64,
    name: String,
    client_token: Option<String>,
    tags: Option<Vec<Tag>>,
    cloned: Option<String>,
    billing_type: Option<i64>,
}

impl Spec {
    fn parse(ctx: &Ctx<'_>, p: &Params) -> TcResult<Self> {
        let project_id =
            rules::project(p, "ProjectId")?.ok_or_else(|| TcError::missing("ProjectId"))?;
        let name = rules::name(p, "ProxyName", 30)?;
        let place = Placement::parse(ctx, p)?;
        Ok(Self {
            place,
            project_id,
            name,
            client_token: rules::client_token(p)?,
            tags: if p.has("TagSet") {
                Some(crate::gaap::tags(p, 50)?)
            } else {
                None
            },
            cloned: nonempty_opt(p, "ClonedProxyId")?,
            billing_type: p.int_in("BillingType", 0, 1)?,
        })
    }
}

pub async fn create_proxy(ctx: &Ctx<'_>, p: Params) -> TcResult<Map<String, Value>> {
    let spec = Spec::parse(ctx, &p)?;
    let (_, id) = commit(ctx, |st| build(ctx, st, &spec)).await?;
    Ok(obj(vec![("InstanceId", json!(id))]))
}

pub async fn check_proxy_create(ctx: &Ctx<'_>, p: Params) -> TcResult<Map<String, Value>> {
    let place = Placement::parse(ctx, &p)?;
    let flag = {
        let st = ctx.api.control.state();
        match fit_group(&st, &ctx.account.id, &place) {
            Ok(None) if place.origin_region.is_none() => {
                return Err(TcError::missing("RealServerRegion"))
            }
            Ok(_) => 1,
            Err(e) if e.code == "ResourceNotFound" => return Err(e),
            // A valid request that this group cannot take.
            Err(_) => 0,
        }
    };
    Ok(obj(vec![("CheckFlag", json!(flag))]))
}

fn build(ctx: &Ctx<'_>, st: &State, spec: &Spec) -> TcResult<(Vec<Op>, String)> {
    let account = &ctx.account.id;
    if let Some(token) = &spec.client_token {
        let earlier = st
            .accelerators
            .values()
            .find(|a| a.account_id == *account && a.client_token.as_ref() == Some(token));
        if let Some(a) = earlier {
            // Same request again: answer as before, with a task of its own for the caller to poll.
            return Ok((vec![task(ctx)], a.id.clone()));
        }
    }
    let group = fit_group(st, account, &spec.place)?;
    let source = spec
        .cloned
        .as_deref()
        .map(|id| clone_source(st, account, id))
        .transpose()?;
    let acc = settle(ctx, st, spec, group, source)?;
    let mut ops = source
        .map(|s| clone_listeners(ctx, st, s, &acc))
        .unwrap_or_default();
    let id = acc.id.clone();
    ops.insert(0, Op::Put(Record::Accelerator(acc)));
    Ok((ops, id))
}

fn task(ctx: &Ctx<'_>) -> Op {
    Op::Put(Record::Task(Task {
        id: ctx.request_id.clone(),
        account_id: ctx.account.id.clone(),
        action: ctx.action.clone(),
        created_at: ctx.now,
        ..Default::default()
    }))
}

fn feature_conflict(what: &str, proxy: &str, group: &str) -> TcError {
    TcError::new(
        "InvalidParameterValue.ProxyAndGroupFeatureConflict",
        format!("The value of `{what}` ('{proxy}') differs from the group's ('{group}')."),
    )
}

/// The group the proxy joins, if any, after checking the proxy fits in it.
fn fit_group<'a>(
    st: &'a State,
    account: &str,
    pl: &Placement,
) -> TcResult<Option<&'a AcceleratorGroup>> {
    let Some(gid) = &pl.group_id else {
        return Ok(None);
    };
    let g = rules::group(st, account, gid)?;
    if let Some(r) = pl
        .origin_region
        .as_deref()
        .filter(|r| *r != g.origin_region)
    {
        return Err(feature_conflict("RealServerRegion", r, &g.origin_region));
    }
    if let Some(v) = pl.ip_version.as_deref().filter(|v| *v != g.ip_version) {
        return Err(feature_conflict("IPAddressVersion", v, &g.ip_version));
    }
    if let Some(v) = pl.package_type.as_deref().filter(|v| *v != g.package_type) {
        return Err(feature_conflict("PackageType", v, &g.package_type));
    }
    // Members of a group serve the same listeners; two in one region would want the same ports.
    if st
        .members_of(&g.id)
        .any(|m| m.access_region == pl.access_region)
    {
        return Err(TcError::value(
            "AccessRegion",
            format!(
                "group {} already has a proxy in access region '{}'",
                g.id, pl.access_region
            ),
        ));
    }
    Ok(Some(g))
}

/// The proxy to clone: the caller's, and running.
fn clone_source<'a>(st: &'a State, account: &str, id: &str) -> TcResult<&'a Accelerator> {
    let a = st
        .accelerator(account, id)
        .ok_or_else(|| TcError::not_found("ClonedProxyId", id))?;
    if !a.enabled {
        return Err(TcError::new(
            "FailedOperation.InstanceStatusNotInRuning",
            format!("The proxy {id} is not running (it is closed) and cannot be cloned."),
        ));
    }
    Ok(a)
}

/// The new proxy: given values first, then the group's, then the cloned proxy's, then defaults.
fn settle(
    ctx: &Ctx<'_>,
    st: &State,
    spec: &Spec,
    group: Option<&AcceleratorGroup>,
    source: Option<&Accelerator>,
) -> TcResult<Accelerator> {
    let mut a = new_proxy(ctx, st);
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
        // A proxy joining a closed group starts closed, like its group.
        a.enabled = g.enabled;
    }
    given(&mut a, spec);
    if a.origin_region.is_empty() {
        return Err(TcError::missing("RealServerRegion"));
    }
    Ok(a)
}

/// Overlay what the request itself says.
fn given(a: &mut Accelerator, spec: &Spec) {
    let pl = &spec.place;
    a.name = spec.name.clone();
    a.project_id = spec.project_id;
    a.access_region = pl.access_region.clone();
    a.bandwidth_mbps = pl.bandwidth;
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

/// A new GAAP proxy of the caller with a fresh ID and the defaults every creation shares.
pub fn new_proxy(ctx: &Ctx<'_>, st: &State) -> Accelerator {
    Accelerator {
        id: fresh_id(ids::PROXY, |id| st.accelerators.contains_key(id)),
        account_id: ctx.account.id.clone(),
        created_by: Dialect::Gaap,
        enabled: true,
        ip_version: "IPv4".into(),
        network_type: "normal".into(),
        package_type: "Thunder".into(),
        enterprise_project_id: "0".into(),
        area: "OUTOFCM".into(),
        change: AcceleratorChange::Create,
        created_at: ctx.now,
        updated_at: ctx.now,
        ..Default::default()
    }
}

/// A random short ID not already taken (a collision is unlikely, but a put would overwrite).
pub fn fresh_id(prefix: &str, taken: impl Fn(&str) -> bool) -> String {
    let mut id = ids::short(prefix);
    for _ in 0..16 {
        if !taken(&id) {
            break;
        }
        id = ids::short(prefix);
    }
    id
}

/// Copies of the source's own listeners on the new proxy, each with a fresh implicit endpoint
/// group. Bindings are not copied: the clone starts with no origins.
fn clone_listeners(ctx: &Ctx<'_>, st: &State, source: &Accelerator, acc: &Accelerator) -> Vec<Op> {
    let mut ops = Vec::new();
    for l in st.listeners_of(&source.id) {
        let id = fresh_id(ids::LISTENER, |id| st.listeners.contains_key(id));
        let copy = onramp_core::Listener {
            id,
            account_id: ctx.account.id.clone(),
            created_by: Dialect::Gaap,
            owner: Owner::Accelerator(acc.id.clone()),
            frozen: Default::default(),
            change: ListenerChange::Create,
            created_at: ctx.now,
            updated_at: ctx.now,
            revision: 0,
            ..l.clone()
        };
        let eg = super::super::listeners::implicit_group(ctx, &copy, &acc.access_region);
        ops.push(Op::Put(Record::Listener(copy)));
        ops.push(Op::Put(Record::EndpointGroup(eg)));
    }
    ops
}
