//! Huawei GA IP address groups (reference §1.6): CreateIpGroup, ListIpGroups (filter
//! `listener_id`: only that listener is shown in `associated_listeners`), ShowIpGroup,
//! UpdateIpGroup, DeleteIpGroup, AddIpGroupIp, RemoveIpGroupIp, AssociateListener (`WHITE` /
//! `BLACK`), DisassociateListener. Decoding only: the rules are `onramp_ops::ip_groups`, and the
//! edge enforces a listener's group (see `onramp_core::acl`).

use http::StatusCode;
use onramp_core::acl::AccessKind;
use onramp_core::{IpGroup, Listener, State};
use onramp_ops::ip_groups::{self, NewBlock};
use onramp_ops::Plan;
use serde_json::{json, Value};

use super::dto::{
    decode, AccessControlType, AddIps, AssociateListener, CreateIpGroup, DisassociateListener,
    IpGroupIp, RemoveIps, UpdateIpGroup,
};
use super::query::{listed, ListQuery};
use super::views::applied;
use super::{commit, HwCtx, HwError, HwResult};
use crate::rfc3339_ms;

fn kind_str(k: AccessKind) -> &'static str {
    match k {
        AccessKind::White => "WHITE",
        AccessKind::Black => "BLACK",
    }
}

/// IpGroupDetail; `only`: show this listener alone among the associated ones.
fn view(ctx: &HwCtx<'_>, st: &State, g: &IpGroup, only: Option<&str>) -> Value {
    let ips: Vec<Value> = g
        .entries
        .iter()
        .map(|e| json!({"cidr": e.cidr, "description": e.description, "created_at": rfc3339_ms(e.created_at)}))
        .collect();
    let listeners: Vec<Value> = st
        .listeners_of_ip_group(&g.id)
        .filter(|l| only.is_none_or(|o| l.id == o))
        .filter_map(|l: &Listener| {
            let a = l.access.as_ref()?;
            Some(json!({"listener_id": l.id, "type": kind_str(a.kind)}))
        })
        .collect();
    json!({
        "id": g.id,
        "name": g.name,
        "description": g.description,
        "status": applied(ctx, g.revision).as_str(),
        "ip_list": ips,
        "associated_listeners": listeners,
        "created_at": rfc3339_ms(g.created_at),
        "updated_at": rfc3339_ms(g.updated_at),
    })
}

fn find<'a>(ctx: &HwCtx<'_>, st: &'a State, id: &str) -> Result<&'a IpGroup, HwError> {
    st.ip_group(&ctx.account.id, id)
        .ok_or_else(|| HwError::not_found(&format!("ip_group {id}")))
}

/// The group as it is now (after a write).
fn shown(ctx: &HwCtx<'_>, id: &str) -> Result<Value, HwError> {
    let st = ctx.api.control.state();
    let g = find(ctx, &st, id)?;
    Ok(json!({"ip_group": view(ctx, &st, g, None)}))
}

fn blocks(ips: &[IpGroupIp]) -> Vec<NewBlock> {
    ips.iter()
        .map(|i| NewBlock {
            cidr: i.cidr.clone(),
            description: i.description.clone().unwrap_or_default(),
        })
        .collect()
}

pub async fn create(ctx: &HwCtx<'_>, body: &[u8]) -> HwResult {
    let req: CreateIpGroup = decode(body)?;
    let o = req.ip_group;
    o.check()?;
    let blocks = blocks(o.ip_list.as_deref().unwrap_or_default());
    let description = o.description.unwrap_or_default();
    let id = commit(ctx, |cx, st, ids| {
        ip_groups::create(cx, st, ids, &o.name, &description, &blocks)
    })
    .await?;
    Ok((StatusCode::CREATED, shown(ctx, &id)?))
}

pub fn show(ctx: &HwCtx<'_>, id: &str) -> HwResult {
    Ok((StatusCode::OK, shown(ctx, id)?))
}

const TAKES: &[&str] = &["limit", "marker", "listener_id"];

pub fn list(ctx: &HwCtx<'_>, raw_query: &str) -> HwResult {
    let q = ListQuery::parse(raw_query, TAKES)?;
    let st = ctx.api.control.state();
    let only = q.listener_id.as_deref();
    let mut items: Vec<&IpGroup> = st
        .ip_groups
        .values()
        .filter(|g| g.account_id == ctx.account.id)
        .filter(|g| only.is_none_or(|l| st.listeners_of_ip_group(&g.id).any(|x| x.id == l)))
        .collect();
    items.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    let (page, next) = q.page(&items, |g| &g.id)?;
    let views: Vec<Value> = page.iter().map(|g| view(ctx, &st, g, only)).collect();
    Ok((StatusCode::OK, listed("ip_groups", views, next)))
}

/// Run a change of group `id` that returns a plain batch, and answer with the group or `{}`.
async fn change(
    ctx: &HwCtx<'_>,
    id: &str,
    f: impl FnOnce(&onramp_ops::Cx, &State) -> Result<Vec<onramp_core::Op>, onramp_ops::OpError>,
    with_group: bool,
) -> HwResult {
    commit(ctx, |cx, st, _| f(cx, st).map(|ops| Plan::new(ops, ()))).await?;
    let body = if with_group {
        shown(ctx, id)?
    } else {
        json!({})
    };
    Ok((StatusCode::OK, body))
}

pub async fn update(ctx: &HwCtx<'_>, id: &str, body: &[u8]) -> HwResult {
    let req: UpdateIpGroup = decode(body)?;
    let o = req.ip_group;
    o.check()?;
    let f =
        |cx: &_, st: &_| ip_groups::update(cx, st, id, o.name.as_deref(), o.description.as_deref());
    change(ctx, id, f, true).await
}

pub async fn delete(ctx: &HwCtx<'_>, id: &str) -> HwResult {
    commit(ctx, |cx, st, _| {
        ip_groups::delete(cx, st, id).map(|ops| Plan::new(ops, ()))
    })
    .await?;
    Ok((StatusCode::NO_CONTENT, Value::Null))
}

pub async fn add_ips(ctx: &HwCtx<'_>, id: &str, body: &[u8]) -> HwResult {
    let req: AddIps = decode(body)?;
    req.check()?;
    let blocks = blocks(&req.ip_list);
    change(
        ctx,
        id,
        |cx, st| ip_groups::add_blocks(cx, st, id, &blocks),
        false,
    )
    .await
}

pub async fn remove_ips(ctx: &HwCtx<'_>, id: &str, body: &[u8]) -> HwResult {
    let req: RemoveIps = decode(body)?;
    req.check()?;
    let f = |cx: &_, st: &_| ip_groups::remove_blocks(cx, st, id, &req.ip_list);
    change(ctx, id, f, false).await
}

pub async fn associate(ctx: &HwCtx<'_>, id: &str, body: &[u8]) -> HwResult {
    let req: AssociateListener = decode(body)?;
    let kind = match req.kind {
        AccessControlType::White => AccessKind::White,
        AccessControlType::Black => AccessKind::Black,
    };
    let f = |cx: &_, st: &_| ip_groups::associate(cx, st, id, &req.listener_id, kind);
    change(ctx, id, f, false).await
}

pub async fn disassociate(ctx: &HwCtx<'_>, id: &str, body: &[u8]) -> HwResult {
    let req: DisassociateListener = decode(body)?;
    let f = |cx: &_, st: &_| ip_groups::disassociate(cx, st, id, &req.listener_id);
    change(ctx, id, f, false).await
}
