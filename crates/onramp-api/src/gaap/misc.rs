//! Tasks, regions and tags: DescribeTaskStatus, DescribeAccessRegions, DescribeDestRegions and
//! DescribeResourcesByTag.
//!
//! A task is the record `commit` writes for every accepted change (TaskId = that call's
//! RequestId); its status follows the revision the edges have applied, never a timer.

use onramp_core::{State, Tag, Task};
use onramp_ops::status::{self, TaskPhase};
use serde_json::{json, Map, Value};

use super::{obj, views};
use crate::tencent::{Ctx, Params, TcError, TcResult};
use crate::Api;

/// `RUNNING` until the edges applied the task's revision, then `SUCCESS`; `FAIL` once an edge
/// reported the change as failed, even if later revisions were applied after it.
fn task_status(api: &Api, t: &Task) -> &'static str {
    match status::task(t, api.control.applied_revision()) {
        TaskPhase::Failed => "FAIL",
        TaskPhase::Settled => "SUCCESS",
        TaskPhase::Running => "RUNNING",
    }
}

pub async fn describe_task_status(ctx: &Ctx<'_>, p: Params) -> TcResult<Map<String, Value>> {
    let id = p.nonempty("TaskId")?;
    let st = ctx.api.control.state();
    let task = st
        .task(&ctx.account.id, &id)
        .ok_or_else(|| TcError::not_found("TaskId", &id))?;
    Ok(obj(vec![
        ("TaskId", json!(task.id)),
        ("Status", json!(task_status(ctx.api, task))),
    ]))
}

/// Every region served by edges, as RegionDetail.
fn regions(api: &Api) -> Vec<Value> {
    api.regions().iter().map(views::region_detail).collect()
}

pub async fn describe_access_regions(ctx: &Ctx<'_>, _p: Params) -> TcResult<Map<String, Value>> {
    let set = regions(ctx.api);
    Ok(obj(vec![
        ("TotalCount", json!(set.len())),
        ("AccessRegionSet", Value::Array(set)),
    ]))
}

/// Origins are reached from the edges' own regions, so the destination regions are the same
/// list whatever the quality tier asked for.
pub async fn describe_dest_regions(ctx: &Ctx<'_>, p: Params) -> TcResult<Map<String, Value>> {
    p.int_in("QualityType", 0, 1)?;
    let set = regions(ctx.api);
    Ok(obj(vec![
        ("TotalCount", json!(set.len())),
        ("DestRegionSet", Value::Array(set)),
    ]))
}

const RESOURCE_TYPES: &[&str] = &["Proxy", "ProxyGroup", "RealServer"];

pub async fn describe_resources_by_tag(ctx: &Ctx<'_>, p: Params) -> TcResult<Map<String, Value>> {
    let tag = Tag {
        key: p.nonempty("TagKey")?,
        value: p.str_req("TagValue")?,
    };
    let only = p.one_of("ResourceType", RESOURCE_TYPES)?;
    let st = ctx.api.control.state();
    let set: Vec<Value> = RESOURCE_TYPES
        .iter()
        .filter(|t| only.as_deref().is_none_or(|o| o == **t))
        .flat_map(|t| {
            tagged(&st, &ctx.account.id, t, &tag)
                .into_iter()
                .map(move |id| json!({"ResourceType": t, "ResourceId": id}))
        })
        .collect();
    Ok(obj(vec![
        ("TotalCount", json!(set.len())),
        ("ResourceSet", Value::Array(set)),
    ]))
}

/// IDs of the account's resources of one GAAP type carrying exactly `tag`, in ID order.
fn tagged(st: &State, account: &str, resource_type: &str, tag: &Tag) -> Vec<String> {
    let pick = |owner: &str, tags: &[Tag], id: &str| {
        (owner == account && tags.contains(tag)).then(|| id.to_string())
    };
    match resource_type {
        "Proxy" => st
            .accelerators
            .values()
            .filter_map(|a| pick(&a.account_id, &a.tags, &a.id))
            .collect(),
        "ProxyGroup" => st
            .groups
            .values()
            .filter_map(|g| pick(&g.account_id, &g.tags, &g.id))
            .collect(),
        _ => st
            .origins
            .values()
            .filter_map(|o| pick(&o.account_id, &o.tags, &o.id))
            .collect(),
    }
}

#[cfg(test)]
#[path = "misc_tests.rs"]
mod tests;
