//! Huawei GA accelerator reads: `ShowAccelerator` and `ListAccelerators` (filters `id`, `name`,
//! `status`, `enterprise_project_id`). Every accelerator of the model is one: a GAAP proxy
//! (`link-…`), a BM load balancer, a Huawei accelerator.

use http::StatusCode;
use onramp_core::Accelerator;
use serde_json::{json, Value};

use super::query::{listed, ListQuery};
use super::views::{accelerator, accelerator_status, enterprise_project};
use super::{HwCtx, HwError, HwResult};

pub fn show(ctx: &HwCtx<'_>, id: &str) -> HwResult {
    let st = ctx.api.control.state();
    let a = st
        .accelerator(&ctx.account.id, id)
        .ok_or_else(|| HwError::not_found(&format!("accelerator {id}")))?;
    Ok((
        StatusCode::OK,
        json!({ "accelerator": accelerator(ctx, a) }),
    ))
}

const TAKES: &[&str] = &[
    "limit",
    "marker",
    "page_reverse",
    "id",
    "name",
    "status",
    "enterprise_project_id",
];

pub fn list(ctx: &HwCtx<'_>, raw_query: &str) -> HwResult {
    let q = ListQuery::parse(raw_query, TAKES)?;
    let st = ctx.api.control.state();
    let mut items: Vec<&Accelerator> = st
        .accelerators
        .values()
        .filter(|a| a.account_id == ctx.account.id)
        .filter(|a| q.id_ok(&a.id) && q.name_ok(&a.name))
        .filter(|a| {
            q.enterprise_project_id
                .as_deref()
                .is_none_or(|v| enterprise_project(a) == v)
        })
        .filter(|a| q.status_ok(accelerator_status(ctx, a)))
        .collect();
    items.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    let (page, next) = q.page(&items, |a| &a.id)?;
    let views: Vec<Value> = page.iter().map(|a| accelerator(ctx, a)).collect();
    Ok((StatusCode::OK, listed("accelerators", views, next)))
}
