//! Huawei GA log tanks (`/v1/logtanks`): each write decodes its body (`dto_more`), runs the
//! `onramp_ops::log_tanks` operation through `huawei::commit`, and answers `LogtankDetail` as it
//! now stands. The log tank lives on its listener; while it exists the edges write the
//! listener's access log (`--access-log`).

use http::StatusCode;
use onramp_core::{Listener, LogTank};
use onramp_ops::log_tanks::{self, Target};
use serde_json::{json, Value};

use super::dto as d;
use super::dto::decode;
use super::query::{listed, ListQuery};
use super::views::applied;
use super::{commit, HwCtx, HwError, HwResult};
use crate::rfc3339_ms;

/// `LogtankDetail`.
fn view(ctx: &HwCtx<'_>, l: &Listener, t: &LogTank) -> Value {
    json!({
        "id": t.id,
        "domain_id": ctx.account.domain_id,
        "project_id": ctx.account.domain_id,
        "resource_type": "LISTENER",
        "resource_id": l.id,
        "log_group_id": t.log_group_id,
        "log_stream_id": t.log_stream_id,
        "status": applied(ctx, l.revision).as_str(),
        "created_at": rfc3339_ms(t.created_at),
        "updated_at": rfc3339_ms(t.updated_at),
    })
}

fn answer(ctx: &HwCtx<'_>, id: &str, status: StatusCode) -> HwResult {
    let st = ctx.api.control.state();
    let found = st
        .log_tank_listener(&ctx.account.id, id)
        .and_then(|l| Some((l, l.log_tank.as_ref()?)));
    let (l, t) = found.ok_or_else(|| HwError::not_found(&format!("logtank {id}")))?;
    Ok((status, json!({"logtank": view(ctx, l, t)})))
}

pub fn show(ctx: &HwCtx<'_>, id: &str) -> HwResult {
    answer(ctx, id, StatusCode::OK)
}

const TAKES: &[&str] = &[
    "limit",
    "marker",
    "id",
    "status",
    "resource_ids",
    "resource_type",
];

pub fn list(ctx: &HwCtx<'_>, raw_query: &str) -> HwResult {
    let q = ListQuery::parse(raw_query, TAKES)?;
    let st = ctx.api.control.state();
    let mut items: Vec<(&Listener, &LogTank)> = st
        .listeners
        .values()
        .filter(|l| l.account_id == ctx.account.id)
        .filter(|l| q.resource_ids.is_empty() || q.resource_ids.contains(&l.id))
        .filter(|l| q.status_ok(applied(ctx, l.revision)))
        .filter_map(|l| Some((l, l.log_tank.as_ref()?)))
        .filter(|(_, t)| q.id_ok(&t.id))
        .collect();
    items.sort_by(|a, b| (a.1.created_at, &a.1.id).cmp(&(b.1.created_at, &b.1.id)));
    let (page, next) = q.page(&items, |(_, t)| &t.id)?;
    let views: Vec<Value> = page.iter().map(|(l, t)| view(ctx, l, t)).collect();
    Ok((StatusCode::OK, listed("logtanks", views, next)))
}

pub async fn create(ctx: &HwCtx<'_>, body: &[u8]) -> HwResult {
    let req = decode::<d::CreateLogtank>(body)?.logtank;
    let target = Target {
        log_group_id: req.log_group_id,
        log_stream_id: req.log_stream_id,
    };
    let listener = req.resource_id;
    let id = commit(ctx, |cx, st, ids| {
        let (ops, id) = log_tanks::create(cx, st, ids, &listener, &target)?;
        Ok(onramp_ops::Plan::new(ops, id))
    })
    .await?;
    answer(ctx, &id, StatusCode::CREATED)
}

pub async fn update(ctx: &HwCtx<'_>, id: &str, body: &[u8]) -> HwResult {
    let req = decode::<d::UpdateLogtank>(body)?.logtank;
    let target = Target {
        log_group_id: req.log_group_id,
        log_stream_id: req.log_stream_id,
    };
    commit(ctx, |cx, st, _| {
        Ok(onramp_ops::Plan::new(
            log_tanks::update(cx, st, id, &target)?,
            (),
        ))
    })
    .await?;
    answer(ctx, id, StatusCode::OK)
}

pub async fn delete(ctx: &HwCtx<'_>, id: &str) -> HwResult {
    commit(ctx, |cx, st, _| {
        Ok(onramp_ops::Plan::new(log_tanks::delete(cx, st, id)?, ()))
    })
    .await?;
    Ok((StatusCode::NO_CONTENT, Value::Null))
}
