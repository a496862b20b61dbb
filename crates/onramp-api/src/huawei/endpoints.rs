//! Huawei GA endpoint-group and endpoint reads: `ShowEndpointGroup`, `ListEndpointGroups`
//! (filters `id`, `name`, `status`, `listener_id`), `ShowEndpoint`, `ListEndpoints` (filters
//! `id`, `status`). An endpoint group is the model's endpoint group (a GAAP listener has one,
//! implicit); an endpoint is a binding of an origin in that group.

use http::StatusCode;
use onramp_core::{Binding, EndpointGroup, State};
use serde_json::{json, Value};

use super::query::{listed, ListQuery};
use super::views::{applied, endpoint, endpoint_group};
use super::{HwCtx, HwError, HwResult};

fn group<'a>(ctx: &HwCtx<'_>, st: &'a State, id: &str) -> Result<&'a EndpointGroup, HwError> {
    st.endpoint_group(&ctx.account.id, id)
        .ok_or_else(|| HwError::not_found(&format!("endpoint group {id}")))
}

pub fn show_group(ctx: &HwCtx<'_>, id: &str) -> HwResult {
    let st = ctx.api.control.state();
    let e = group(ctx, &st, id)?;
    Ok((
        StatusCode::OK,
        json!({"endpoint_group": endpoint_group(ctx, e)}),
    ))
}

const GROUP_TAKES: &[&str] = &[
    "limit",
    "marker",
    "page_reverse",
    "id",
    "name",
    "status",
    "listener_id",
];

pub fn list_groups(ctx: &HwCtx<'_>, raw_query: &str) -> HwResult {
    let q = ListQuery::parse(raw_query, GROUP_TAKES)?;
    let st = ctx.api.control.state();
    let mut items: Vec<&EndpointGroup> = st
        .endpoint_groups
        .values()
        .filter(|e| e.account_id == ctx.account.id)
        .filter(|e| q.id_ok(&e.id) && q.name_ok(&e.name))
        .filter(|e| q.listener_id.as_deref().is_none_or(|v| e.listener_id == v))
        .filter(|e| q.status_ok(applied(ctx, e.revision)))
        .collect();
    items.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    let (page, next) = q.page(&items, |e| &e.id)?;
    let views: Vec<Value> = page.iter().map(|e| endpoint_group(ctx, e)).collect();
    Ok((StatusCode::OK, listed("endpoint_groups", views, next)))
}

/// The bindings of one endpoint group.
fn members<'a>(st: &'a State, e: &'a EndpointGroup) -> impl Iterator<Item = &'a Binding> + 'a {
    st.bindings_of(&e.listener_id)
        .filter(move |b| b.endpoint_group_id == e.id)
}

pub fn show(ctx: &HwCtx<'_>, group_id: &str, id: &str) -> HwResult {
    let st = ctx.api.control.state();
    let e = group(ctx, &st, group_id)?;
    let b = members(&st, e)
        .find(|b| b.id == id)
        .ok_or_else(|| HwError::not_found(&format!("endpoint {id}")))?;
    Ok((StatusCode::OK, json!({"endpoint": endpoint(ctx, &st, b)})))
}

const TAKES: &[&str] = &["limit", "marker", "page_reverse", "id", "status"];

pub fn list(ctx: &HwCtx<'_>, group_id: &str, raw_query: &str) -> HwResult {
    let q = ListQuery::parse(raw_query, TAKES)?;
    let st = ctx.api.control.state();
    let e = group(ctx, &st, group_id)?;
    let mut items: Vec<&Binding> = members(&st, e)
        .filter(|b| q.id_ok(&b.id))
        .filter(|b| q.status_ok(applied(ctx, b.revision)))
        .collect();
    items.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    let (page, next) = q.page(&items, |b| &b.id)?;
    let views: Vec<Value> = page.iter().map(|b| endpoint(ctx, &st, b)).collect();
    Ok((StatusCode::OK, listed("endpoints", views, next)))
}
