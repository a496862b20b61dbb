//! Proxy-group actions (GAAP `lg-…`): a group is a set of proxies in distinct access regions
//! sharing one origin region and the group's listeners.
//!
//! Creating a group with `AccessRegionSet` creates its proxies in the same write; deleting with
//! `Force=1` removes its listeners and its proxies with theirs; open/close switch the group and
//! every member.

use onramp_core::{AcceleratorGroup, Dialect, State};
use onramp_ops::groups::{self, Access, NewGroup};
use onramp_ops::status::Phase;
use onramp_ops::Plan;
use serde_json::{json, Map, Value};

use super::proxies::{rules, status_sets};
use crate::gaap::{commit, obj, page, tags_match, views};
use crate::tencent::{Ctx, Params, TcError, TcResult};
use crate::{Api, Region};

fn access_set(api: &Api, p: &Params) -> TcResult<Vec<Access>> {
    let items = p.objects(
        "AccessRegionSet",
        &["AccessRegion", "Bandwidth", "Concurrent", "NetworkType"],
    )?;
    let mut out: Vec<Access> = Vec::with_capacity(items.len());
    for (i, it) in items.iter().enumerate() {
        let field = |k: &str| format!("AccessRegionSet.{i}.{k}");
        let region =
            rules::access_region(api, &field("AccessRegion"), &it.nonempty("AccessRegion")?)?;
        if out.iter().any(|a| a.region == region) {
            return Err(TcError::value(
                &field("AccessRegion"),
                format!("access region '{region}' is listed twice"),
            ));
        }
        out.push(Access {
            region,
            bandwidth_mbps: rules::bandwidth(&field("Bandwidth"), it.i64_req("Bandwidth")?)?,
            concurrent: rules::concurrent(&field("Concurrent"), it.i64_req("Concurrent")?)?,
            network_type: it
                .one_of("NetworkType", &["normal", "cn2"])?
                .unwrap_or_else(|| "normal".into()),
        });
    }
    Ok(out)
}

/// A validated CreateProxyGroup request.
fn new_group(api: &Api, p: &Params) -> TcResult<NewGroup> {
    let project_id =
        rules::project(p, "ProjectId")?.ok_or_else(|| TcError::missing("ProjectId"))?;
    let name = rules::name(p, "GroupName", 30)?;
    let origin_region =
        rules::dest_region(api, "RealServerRegion", &p.nonempty("RealServerRegion")?)?;
    let tags = crate::gaap::tags(p, 50)?;
    let access = access_set(api, p)?;
    p.flag("Http3Supported")?;
    Ok(NewGroup {
        project_id,
        name,
        origin_region,
        tags,
        access,
        ip_version: p
            .one_of("IPAddressVersion", rules::IP_VERSIONS)?
            .unwrap_or_else(|| "IPv4".into()),
        package_type: p
            .one_of("PackageType", &["Thunder", "Accelerator"])?
            .unwrap_or_else(|| "Thunder".into()),
    })
}

pub async fn create_proxy_group(ctx: &Ctx<'_>, p: Params) -> TcResult<Map<String, Value>> {
    let req = new_group(ctx.api, &p)?;
    let id = commit(ctx, |cx, st, ids| {
        Ok(groups::create(cx, st, ids, Dialect::Gaap, &req).into())
    })
    .await?;
    Ok(obj(vec![("GroupId", json!(id))]))
}

/// RegionDetail of a region, or a bare one named by its ID if the region left the configuration.
fn region_info(api: &Api, id: &str) -> Value {
    match api.region(id) {
        Some(r) => views::region_detail(&r),
        None => views::region_detail(&Region {
            id: id.to_string(),
            name: id.to_string(),
        }),
    }
}

fn group_info(api: &Api, g: &AcceleratorGroup) -> Value {
    json!({
        "GroupId": g.id,
        "Domain": Value::Null,
        "GroupName": g.name,
        "ProjectId": g.project_id,
        "RealServerRegionInfo": region_info(api, &g.origin_region),
        "Status": views::group_status(api, g),
        "TagSet": views::tags(&g.tags),
        "Version": "2.0",
        "CreateTime": g.created_at / 1000,
        "ProxyType": 0,
        "Http3Supported": 0,
        "FeatureBitmap": 1,
    })
}

/// ProxyGroupDetail `Status`: 0 running (or closed: no code of its own), 1 creating, 12 changing.
fn detail_status(api: &Api, g: &AcceleratorGroup) -> i64 {
    match api.group_phase(g) {
        Phase::Running | Phase::Closed => 0,
        Phase::Creating => 1,
        _ => 12,
    }
}

fn group_detail(ctx: &Ctx<'_>, st: &State, g: &AcceleratorGroup) -> Value {
    json!({
        "CreateTime": g.created_at / 1000,
        "ProjectId": g.project_id,
        "ProxyNum": st.members_of(&g.id).count(),
        "Status": detail_status(ctx.api, g),
        "OwnerUin": ctx.account.uin,
        "CreateUin": ctx.account.uin,
        "GroupName": g.name,
        "DnsDefaultIp": st
            .members_of(&g.id)
            .next()
            .map_or_else(|| ctx.api.cfg.bind_address.clone(), |a| ctx.api.access_addresses(&a.access_region).remove(0)),
        "Domain": Value::Null,
        "RealServerRegionInfo": region_info(ctx.api, &g.origin_region),
        "IsOldGroup": false,
        "GroupId": g.id,
        "TagSet": views::tags(&g.tags),
        "PolicyId": "",
        "Version": "2.0",
        "ClientIPMethod": [0, 1],
        "IPAddressVersion": g.ip_version,
        "PackageType": g.package_type,
        "Http3Supported": 0,
        "FeatureBitmap": 1,
        "IsSupportTLSChoice": 0,
    })
}

fn filter_hit(f: &rules::Filter, g: &AcceleratorGroup) -> bool {
    let have = match f.name.as_str() {
        "RealServerRegion" => &g.origin_region,
        "PackageType" => &g.package_type,
        _ => return false,
    };
    f.values.iter().any(|v| v == have)
}

pub async fn describe_proxy_group_list(ctx: &Ctx<'_>, p: Params) -> TcResult<Map<String, Value>> {
    let (offset, limit) = p.page(100)?;
    let project = p.i64_req("ProjectId")?;
    if project < -1 {
        return Err(TcError::value(
            "ProjectId",
            format!("must be -1 (all projects) or a project ID, got {project}"),
        ));
    }
    let filters = rules::filters(&p, &["RealServerRegion", "PackageType"], 10)?;
    let tags = crate::gaap::tags(&p, 5)?;
    let (total, list) = {
        let st = ctx.api.control.state();
        let mut found: Vec<&AcceleratorGroup> = st
            .groups
            .values()
            .filter(|g| {
                g.account_id == ctx.account.id && (project == -1 || g.project_id == project)
            })
            .filter(|g| filters.iter().all(|f| filter_hit(f, g)) && tags_match(&g.tags, &tags))
            .collect();
        // Newest first, like DescribeProxies.
        found.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| b.id.cmp(&a.id))
        });
        let (total, items) = page(found, offset, limit);
        (
            total,
            items
                .into_iter()
                .map(|g| group_info(ctx.api, g))
                .collect::<Vec<_>>(),
        )
    };
    Ok(obj(vec![
        ("TotalCount", json!(total)),
        ("ProxyGroupList", Value::Array(list)),
    ]))
}

pub async fn describe_proxy_group_details(
    ctx: &Ctx<'_>,
    p: Params,
) -> TcResult<Map<String, Value>> {
    let id = p.nonempty("GroupId")?;
    let st = ctx.api.control.state();
    let g = rules::group(&st, &ctx.account.id, &id)?;
    Ok(obj(vec![("ProxyGroupDetail", group_detail(ctx, &st, g))]))
}

pub async fn modify_proxy_group_attribute(
    ctx: &Ctx<'_>,
    p: Params,
) -> TcResult<Map<String, Value>> {
    let id = p.nonempty("GroupId")?;
    let name = if p.has("GroupName") {
        Some(rules::name(&p, "GroupName", 30)?)
    } else {
        None
    };
    let project = rules::project(&p, "ProjectId")?;
    commit(ctx, |cx, st, _| {
        Ok(Plan::new(
            groups::modify(cx, st, &id, name.as_deref(), project)?,
            (),
        ))
    })
    .await?;
    Ok(Map::new())
}

pub async fn delete_proxy_group(ctx: &Ctx<'_>, p: Params) -> TcResult<Map<String, Value>> {
    let id = p.nonempty("GroupId")?;
    let force = p.flag("Force")?.unwrap_or(false);
    commit(ctx, |cx, st, _| {
        Ok(Plan::new(groups::delete(cx, st, &id, force)?, ()))
    })
    .await?;
    Ok(Map::new())
}

pub async fn open_proxy_group(ctx: &Ctx<'_>, p: Params) -> TcResult<Map<String, Value>> {
    switch_group(ctx, p, true).await
}

pub async fn close_proxy_group(ctx: &Ctx<'_>, p: Params) -> TcResult<Map<String, Value>> {
    switch_group(ctx, p, false).await
}

/// Open or close a group and its members. A member (or the group itself) already in the wanted
/// state is reported in `InvalidStatusInstanceSet` and left alone.
async fn switch_group(ctx: &Ctx<'_>, p: Params, open: bool) -> TcResult<Map<String, Value>> {
    let id = p.nonempty("GroupId")?;
    let invalid = commit(ctx, |cx, st, _| {
        Ok(groups::switch(cx, st, &id, open)?.into())
    })
    .await?;
    Ok(status_sets(invalid, Vec::new()))
}

#[cfg(test)]
#[path = "groups_tests.rs"]
mod tests;
