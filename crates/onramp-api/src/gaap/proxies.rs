//! Proxy actions (GAAP `link-…`): create and clone (in `proxy_create.rs`), describe, rename,
//! resize, open/close and destroy.
//!
//! Every lookup is scoped to the caller's account: another account's proxy reads as absent.
//! Batch actions report per-ID outcomes in `InvalidStatusInstanceSet` /
//! `OperationFailedInstanceSet`, always as lists.

#[path = "proxy_create.rs"]
mod create;
#[path = "proxy_rules.rs"]
pub(super) mod rules;

use std::cmp::Ordering;

use onramp_core::{Accelerator, Tag};
use onramp_ops::accelerators::{self, Resize};
use onramp_ops::Plan;
use serde_json::{json, Map, Value};

pub use create::{check_proxy_create, create_proxy};

use crate::gaap::{commit, obj, page, tags_match, views};
use crate::tencent::{Ctx, Params, TcError, TcResult};

const FILTER_NAMES: &[&str] = &[
    "ProjectId",
    "AccessRegion",
    "RealServerRegion",
    "GroupId",
    "IPAddressVersion",
    "PackageType",
];
const ORDER_FIELDS: &[&str] = &[
    "create_time",
    "proxy_id",
    "bandwidth",
    "concurrent_connections",
];

/// What DescribeProxies selects and how it orders it.
struct Query {
    ids: Vec<String>,
    filters: Vec<rules::Filter>,
    tags: Vec<Tag>,
    independent: Option<bool>,
    order_field: String,
    desc: bool,
}

impl Query {
    fn parse(p: &Params) -> TcResult<Self> {
        let ids = rules::bounded_ids(crate::gaap::proxy_ids(p)?)?;
        let filters = rules::filters(p, FILTER_NAMES, 10)?;
        if !ids.is_empty() && !filters.is_empty() {
            return Err(TcError::conflict(
                if p.has("ProxyIds") {
                    "ProxyIds"
                } else {
                    "InstanceIds"
                },
                "Filters",
            ));
        }
        for (i, f) in filters
            .iter()
            .enumerate()
            .filter(|(_, f)| f.name == "ProjectId")
        {
            if let Some(v) = f.values.iter().find(|v| v.trim().parse::<i64>().is_err()) {
                return Err(TcError::value(
                    &format!("Filters.{i}.Values"),
                    format!("'{v}' is not a project ID"),
                ));
            }
        }
        Ok(Self {
            ids,
            filters,
            tags: crate::gaap::tags(p, 5)?,
            independent: p.flag("Independent")?,
            desc: p
                .one_of("Order", &["asc", "desc"])?
                .is_none_or(|o| o == "desc"),
            order_field: p
                .one_of("OrderField", ORDER_FIELDS)?
                .unwrap_or_else(|| "create_time".into()),
        })
    }

    fn matches(&self, a: &Accelerator) -> bool {
        (self.ids.is_empty() || self.ids.contains(&a.id))
            && self.filters.iter().all(|f| filter_hit(f, a))
            && tags_match(&a.tags, &self.tags)
            && self
                .independent
                .is_none_or(|standalone| standalone == a.group_id.is_none())
    }

    fn sort(&self, v: &mut [&Accelerator]) {
        v.sort_by(|a, b| {
            let by: Ordering = match self.order_field.as_str() {
                "bandwidth" => a.bandwidth_mbps.cmp(&b.bandwidth_mbps),
                "concurrent_connections" => a.concurrent.cmp(&b.concurrent),
                "proxy_id" => Ordering::Equal,
                _ => a.created_at.cmp(&b.created_at),
            };
            by.then_with(|| a.id.cmp(&b.id))
        });
        if self.desc {
            v.reverse();
        }
    }
}

fn filter_hit(f: &rules::Filter, a: &Accelerator) -> bool {
    let have = match f.name.as_str() {
        "ProjectId" => {
            return f
                .values
                .iter()
                .any(|v| v.trim().parse::<i64>().ok() == Some(a.project_id))
        }
        "AccessRegion" => a.access_region.as_str(),
        "RealServerRegion" => a.origin_region.as_str(),
        "GroupId" => a.group_id.as_deref().unwrap_or(""),
        "IPAddressVersion" => a.ip_version.as_str(),
        "PackageType" => a.package_type.as_str(),
        _ => return false,
    };
    f.values.iter().any(|v| v == have)
}

pub async fn describe_proxies(ctx: &Ctx<'_>, p: Params) -> TcResult<Map<String, Value>> {
    let q = Query::parse(&p)?;
    let (offset, limit) = p.page(100)?;
    let (total, set) = {
        let st = ctx.api.control.state();
        let mut found: Vec<&Accelerator> = st
            .accelerators
            .values()
            .filter(|a| a.account_id == ctx.account.id && q.matches(a))
            .collect();
        q.sort(&mut found);
        let (total, items) = page(found, offset, limit);
        (
            total,
            items
                .into_iter()
                .map(|a| views::proxy_info(ctx.api, a))
                .collect::<Vec<_>>(),
        )
    };
    Ok(obj(vec![
        ("TotalCount", json!(total)),
        ("InstanceSet", Value::Array(set.clone())),
        ("ProxySet", Value::Array(set)),
    ]))
}

pub async fn describe_proxy_detail(ctx: &Ctx<'_>, p: Params) -> TcResult<Map<String, Value>> {
    let id = p.nonempty("ProxyId")?;
    let st = ctx.api.control.state();
    let a = rules::proxy(&st, &ctx.account.id, &id)?;
    Ok(obj(vec![("ProxyDetail", views::proxy_info(ctx.api, a))]))
}

pub async fn describe_proxies_status(ctx: &Ctx<'_>, p: Params) -> TcResult<Map<String, Value>> {
    let ids = rules::required_ids(&p)?;
    let st = ctx.api.control.state();
    let set = ids
        .iter()
        .map(|id| {
            let a = rules::proxy(&st, &ctx.account.id, id)?;
            Ok(json!({"InstanceId": a.id, "Status": views::proxy_status(ctx.api, a)}))
        })
        .collect::<TcResult<Vec<Value>>>()?;
    Ok(obj(vec![("InstanceStatusSet", Value::Array(set))]))
}

pub async fn modify_proxies_attribute(ctx: &Ctx<'_>, p: Params) -> TcResult<Map<String, Value>> {
    let ids = rules::required_ids(&p)?;
    let name = rules::name(&p, "ProxyName", 32)?;
    rules::client_token(&p)?;
    commit(ctx, |cx, st, _| {
        Ok(Plan::new(accelerators::rename(cx, st, &ids, &name)?, ()))
    })
    .await?;
    Ok(Map::new())
}

/// `ProxyId` or the legacy `InstanceId`: exactly one.
fn one_proxy_id(p: &Params) -> TcResult<String> {
    let new = p.str_opt("ProxyId")?.filter(|s| !s.is_empty());
    let legacy = p.str_opt("InstanceId")?.filter(|s| !s.is_empty());
    match (new, legacy) {
        (Some(_), Some(_)) => Err(TcError::conflict("ProxyId", "InstanceId")),
        (Some(id), None) | (None, Some(id)) => Ok(id),
        (None, None) => Err(TcError::missing("ProxyId")),
    }
}

pub async fn modify_proxy_configuration(ctx: &Ctx<'_>, p: Params) -> TcResult<Map<String, Value>> {
    let id = one_proxy_id(&p)?;
    let bandwidth = p
        .i64_opt("Bandwidth")?
        .map(|v| rules::bandwidth("Bandwidth", v))
        .transpose()?;
    let concurrent = p
        .i64_opt("Concurrent")?
        .map(|v| rules::concurrent("Concurrent", v))
        .transpose()?;
    if bandwidth.is_none() && concurrent.is_none() {
        return Err(TcError::new(
            "MissingParameter",
            "At least one of `Bandwidth` and `Concurrent` is required.",
        ));
    }
    let billing = p.int_in("BillingType", 0, 1)?;
    rules::client_token(&p)?;
    let resize = Resize {
        bandwidth_mbps: bandwidth,
        concurrent,
        billing_type: billing,
    };
    commit(ctx, |cx, st, _| {
        Ok(Plan::new(accelerators::resize(cx, st, &id, resize)?, ()))
    })
    .await?;
    Ok(Map::new())
}

/// The two ID lists of batch actions.
pub(super) fn status_sets(invalid: Vec<String>, failed: Vec<String>) -> Map<String, Value> {
    obj(vec![
        ("InvalidStatusInstanceSet", json!(invalid)),
        ("OperationFailedInstanceSet", json!(failed)),
    ])
}

pub async fn open_proxies(ctx: &Ctx<'_>, p: Params) -> TcResult<Map<String, Value>> {
    switch(ctx, p, true).await
}

pub async fn close_proxies(ctx: &Ctx<'_>, p: Params) -> TcResult<Map<String, Value>> {
    switch(ctx, p, false).await
}

/// Open or close proxies: one already in the wanted state is an invalid-status ID, an unknown one
/// a failed ID; the others switch.
async fn switch(ctx: &Ctx<'_>, p: Params, open: bool) -> TcResult<Map<String, Value>> {
    let ids = rules::required_ids(&p)?;
    rules::client_token(&p)?;
    let done = commit(ctx, |cx, st, _| {
        Ok(accelerators::switch(cx, st, &ids, open).into())
    })
    .await?;
    Ok(status_sets(done.unchanged, done.unknown))
}

pub async fn destroy_proxies(ctx: &Ctx<'_>, p: Params) -> TcResult<Map<String, Value>> {
    let force = p
        .int_in("Force", 0, 1)?
        .ok_or_else(|| TcError::missing("Force"))?
        == 1;
    let ids = rules::required_ids(&p)?;
    rules::client_token(&p)?;
    let invalid = commit(ctx, |cx, st, _| {
        Ok(accelerators::destroy(cx, st, &ids, force)?.into())
    })
    .await?;
    Ok(status_sets(invalid, Vec::new()))
}

#[cfg(test)]
#[path = "proxy_ops_tests.rs"]
mod ops_tests;
#[cfg(test)]
#[path = "proxy_test_env.rs"]
pub(super) mod test_env;
#[cfg(test)]
#[path = "proxies_tests.rs"]
mod tests;
