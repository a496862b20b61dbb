//! Huawei GA accelerators: `ShowAccelerator` and `ListAccelerators` (filters `id`, `name`,
//! `status`, `enterprise_project_id`), and the writes `CreateAccelerator`, `UpdateAccelerator`,
//! `DeleteAccelerator` (decoded here, run as `onramp_ops::lifecycle` operations). Every
//! accelerator of the model is one: a GAAP proxy (`link-…`), a BM load balancer, a Huawei
//! accelerator (UUID).

use http::StatusCode;
use onramp_core::{Accelerator, Dialect};
use onramp_ops::{lifecycle, Plan};
use serde_json::{json, Value};

use super::dto;
use super::query::{listed, ListQuery};
use super::views::{
    accelerator, accelerator_as, accelerator_status, deleting_accelerators, enterprise_project,
    ConfigStatus,
};
use super::{HwCtx, HwError, HwResult};

pub fn show(ctx: &HwCtx<'_>, id: &str) -> HwResult {
    let st = ctx.api.control.state();
    let view = match st.accelerator(&ctx.account.id, id) {
        Some(a) => accelerator(ctx, a),
        None => deleting_accelerators(ctx, &st)
            .into_iter()
            .find(|(a, _)| a.id == id)
            .map(|(a, s)| accelerator_as(ctx, a, s))
            .ok_or_else(|| HwError::not_found(&format!("accelerator {id}")))?,
    };
    Ok((StatusCode::OK, json!({ "accelerator": view })))
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
    let mut items: Vec<(&Accelerator, ConfigStatus)> = st
        .accelerators
        .values()
        .filter(|a| a.account_id == ctx.account.id)
        .map(|a| (a, accelerator_status(ctx, a)))
        .chain(deleting_accelerators(ctx, &st))
        .filter(|(a, _)| q.id_ok(&a.id) && q.name_ok(&a.name))
        .filter(|(a, _)| {
            q.enterprise_project_id
                .as_deref()
                .is_none_or(|v| enterprise_project(a) == v)
        })
        .filter(|(_, s)| q.status_ok(*s))
        .collect();
    items.sort_by(|(a, _), (b, _)| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    let (page, next) = q.page(&items, |(a, _)| &a.id)?;
    let views: Vec<Value> = page
        .iter()
        .map(|(a, s)| accelerator_as(ctx, a, *s))
        .collect();
    Ok((StatusCode::OK, listed("accelerators", views, next)))
}

/// The model's tags of a request's `ResourceTag`s.
pub(super) fn model_tags(tags: Option<&[super::dto::ResourceTag]>) -> Vec<onramp_core::Tag> {
    tags.unwrap_or_default()
        .iter()
        .map(|t| onramp_core::Tag {
            key: t.key.clone(),
            value: t.value.clone(),
        })
        .collect()
}

/// The accelerator `id` as it is now (after a write).
fn shown(ctx: &HwCtx<'_>, status: StatusCode, id: &str) -> HwResult {
    let st = ctx.api.control.state();
    let a = st
        .accelerators
        .get(id)
        .ok_or_else(|| HwError::not_found(&format!("accelerator {id}")))?;
    Ok((status, json!({ "accelerator": accelerator(ctx, a) })))
}

/// `CreateAccelerator`: served by the edges of onramp's region, at their bind address.
pub async fn create(ctx: &HwCtx<'_>, body: &[u8]) -> HwResult {
    let req: dto::CreateAccelerator = dto::decode(body)?;
    let o = req.accelerator;
    o.check()?;
    let area = o
        .ip_sets
        .iter()
        .find(|s| s.ip_type == dto::IpType::V4)
        .map_or("OUTOFCM", |s| s.area.as_str());
    let spec = lifecycle::NewAccelerator {
        name: o.name.clone(),
        description: o.description.clone().unwrap_or_default(),
        region: ctx.api.home_region().unwrap_or_default(),
        area: area.to_string(),
        ip_version: if o.ip_sets.len() > 1 {
            "IPv4/IPv6"
        } else {
            "IPv4"
        }
        .into(),
        enterprise_project_id: o
            .enterprise_project_id
            .clone()
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "0".into()),
        tags: model_tags(o.tags.as_deref()),
    };
    let id = super::commit(ctx, |cx, st, ids| {
        lifecycle::create_accelerator(cx, st, ids, Dialect::Huawei, &spec)
    })
    .await?;
    shown(ctx, StatusCode::CREATED, &id)
}

/// `UpdateAccelerator`: name and description.
pub async fn update(ctx: &HwCtx<'_>, id: &str, body: &[u8]) -> HwResult {
    let req: dto::UpdateAccelerator = dto::decode(body)?;
    let o = req.accelerator;
    o.check()?;
    super::commit(ctx, |cx, st, _| {
        lifecycle::update_accelerator(cx, st, id, o.name.as_deref(), o.description.as_deref())
            .map(|ops| Plan::new(ops, ()))
    })
    .await?;
    shown(ctx, StatusCode::OK, id)
}

/// `DeleteAccelerator`: only once its listeners are gone (else 409 `GA.9005`).
pub async fn delete(ctx: &HwCtx<'_>, id: &str) -> HwResult {
    super::commit(ctx, |cx, st, _| {
        lifecycle::delete_accelerator(cx, st, id).map(|ops| Plan::new(ops, ()))
    })
    .await?;
    Ok((StatusCode::NO_CONTENT, Value::Null))
}
