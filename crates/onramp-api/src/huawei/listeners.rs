//! Huawei GA listener reads: `ShowListener` and `ListListeners` (filters `id`, `name`, `status`,
//! `accelerator_id`). A GAAP listener is a listener with one single-port range.

use http::StatusCode;
use onramp_core::Listener;
use serde_json::{json, Value};

use super::query::{listed, ListQuery};
use super::views::{listener, listener_status};
use super::{HwCtx, HwError, HwResult};

pub fn show(ctx: &HwCtx<'_>, id: &str) -> HwResult {
    let st = ctx.api.control.state();
    let l = st
        .listener(&ctx.account.id, id)
        .ok_or_else(|| HwError::not_found(&format!("listener {id}")))?;
    Ok((StatusCode::OK, json!({ "listener": listener(ctx, l) })))
}

const TAKES: &[&str] = &[
    "limit",
    "marker",
    "page_reverse",
    "id",
    "name",
    "status",
    "accelerator_id",
];

pub fn list(ctx: &HwCtx<'_>, raw_query: &str) -> HwResult {
    let q = ListQuery::parse(raw_query, TAKES)?;
    let st = ctx.api.control.state();
    let mut items: Vec<&Listener> = st
        .listeners
        .values()
        .filter(|l| l.account_id == ctx.account.id)
        .filter(|l| q.id_ok(&l.id) && q.name_ok(&l.name))
        .filter(|l| {
            q.accelerator_id
                .as_deref()
                .is_none_or(|v| l.owner.id() == v)
        })
        .filter(|l| q.status_ok(listener_status(ctx, l)))
        .collect();
    items.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    let (page, next) = q.page(&items, |l| &l.id)?;
    let views: Vec<Value> = page.iter().map(|l| listener(ctx, l)).collect();
    Ok((StatusCode::OK, listed("listeners", views, next)))
}
