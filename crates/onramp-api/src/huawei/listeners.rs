//! Huawei GA listeners: `ShowListener` and `ListListeners` (filters `id`, `name`, `status`,
//! `accelerator_id`), and the writes `CreateListener`, `UpdateListener`, `DeleteListener`
//! (decoded here, run as `onramp_ops::lifecycle` operations). A GAAP listener is a listener with
//! one single-port range.

use http::StatusCode;
use onramp_core::{Affinity, Dialect, Listener, PortRange, Protocol};
use onramp_ops::{lifecycle, Plan};
use serde_json::{json, Value};

use super::dto;
use super::query::{listed, ListQuery};
use super::views::{deleting_listeners, listener, listener_as, listener_status, ConfigStatus};
use super::{HwCtx, HwError, HwResult};

pub fn show(ctx: &HwCtx<'_>, id: &str) -> HwResult {
    let st = ctx.api.control.state();
    let view = match st.listener(&ctx.account.id, id) {
        Some(l) => listener(ctx, l),
        None => deleting_listeners(ctx, &st)
            .into_iter()
            .find(|(l, _)| l.id == id)
            .map(|(l, s)| listener_as(ctx, l, s))
            .ok_or_else(|| HwError::not_found(&format!("listener {id}")))?,
    };
    Ok((StatusCode::OK, json!({ "listener": view })))
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
    let mut items: Vec<(&Listener, ConfigStatus)> = st
        .listeners
        .values()
        .filter(|l| l.account_id == ctx.account.id)
        .map(|l| (l, listener_status(ctx, l)))
        .chain(deleting_listeners(ctx, &st))
        .filter(|(l, _)| q.id_ok(&l.id) && q.name_ok(&l.name))
        .filter(|(l, _)| {
            q.accelerator_id
                .as_deref()
                .is_none_or(|v| l.owner.id() == v)
        })
        .filter(|(_, s)| q.status_ok(*s))
        .collect();
    items.sort_by(|(a, _), (b, _)| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    let (page, next) = q.page(&items, |(l, _)| &l.id)?;
    let views: Vec<Value> = page.iter().map(|(l, s)| listener_as(ctx, l, *s)).collect();
    Ok((StatusCode::OK, listed("listeners", views, next)))
}

fn ranges(r: &[dto::PortRange]) -> Vec<PortRange> {
    // `dto::check_port_ranges` kept every port within 1-65535.
    r.iter()
        .map(|r| PortRange {
            from: u16::try_from(r.from_port).unwrap_or(u16::MAX),
            to: u16::try_from(r.to_port).unwrap_or(u16::MAX),
        })
        .collect()
}

fn affinity(a: dto::ClientAffinity) -> Affinity {
    match a {
        dto::ClientAffinity::SourceIp => Affinity::SourceIp,
        dto::ClientAffinity::None => Affinity::None,
    }
}

/// The listener `id` as it is now (after a write).
fn shown(ctx: &HwCtx<'_>, status: StatusCode, id: &str) -> HwResult {
    let st = ctx.api.control.state();
    let l = st
        .listeners
        .get(id)
        .ok_or_else(|| HwError::not_found(&format!("listener {id}")))?;
    Ok((status, json!({ "listener": listener(ctx, l) })))
}

/// `CreateListener`: TCP or UDP on up to ten port ranges of an accelerator.
pub async fn create(ctx: &HwCtx<'_>, body: &[u8]) -> HwResult {
    let req: dto::CreateListener = dto::decode(body)?;
    let o = req.listener;
    o.check()?;
    let spec = lifecycle::NewListener {
        name: o.name.clone(),
        description: o.description.clone().unwrap_or_default(),
        protocol: match o.protocol {
            dto::ListenerProtocol::Tcp => Protocol::Tcp,
            dto::ListenerProtocol::Udp => Protocol::Udp,
        },
        ports: ranges(&o.port_ranges),
        affinity: o.client_affinity.map_or(Affinity::None, affinity),
        tags: super::accelerators::model_tags(o.tags.as_deref()),
    };
    let id = super::commit(ctx, |cx, st, ids| {
        lifecycle::create_listener(cx, st, ids, Dialect::Huawei, &o.accelerator_id, &spec)
    })
    .await?;
    shown(ctx, StatusCode::CREATED, &id)
}

/// `UpdateListener`: name, description, port ranges, client affinity.
pub async fn update(ctx: &HwCtx<'_>, id: &str, body: &[u8]) -> HwResult {
    let req: dto::UpdateListener = dto::decode(body)?;
    let o = req.listener;
    o.check()?;
    let edit = lifecycle::ListenerEdit {
        name: o.name.clone(),
        description: o.description.clone(),
        ports: o.port_ranges.as_deref().map(ranges),
        affinity: o.client_affinity.map(affinity),
    };
    super::commit(ctx, |cx, st, _| {
        lifecycle::update_listener(cx, st, id, &edit).map(|ops| Plan::new(ops, ()))
    })
    .await?;
    shown(ctx, StatusCode::OK, id)
}

/// `DeleteListener`: only once its endpoint groups are gone (else 409 `GA.9005`).
pub async fn delete(ctx: &HwCtx<'_>, id: &str) -> HwResult {
    super::commit(ctx, |cx, st, _| {
        lifecycle::delete_listener(cx, st, id).map(|ops| Plan::new(ops, ()))
    })
    .await?;
    Ok((StatusCode::NO_CONTENT, Value::Null))
}
