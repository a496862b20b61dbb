//! Huawei GA writes of endpoint groups, endpoints and health checks, and the health-check
//! reads: each decodes its body (`dto_more`), runs the `onramp_ops::endpoints` operation through
//! `huawei::commit`, and answers the resource's view as it now stands.

use http::StatusCode;
use onramp_core::{Dialect, EndpointGroup, GroupHealthCheck, Protocol};
use onramp_ops::endpoints::{self, CheckPatch, GroupPatch, NewEndpoint, NewGroup};
use serde_json::{json, Value};

use super::dto as d;
use super::dto::{decode, EndpointType, HealthCheckProtocol};
use super::query::{listed, ListQuery};
use super::views::{applied, endpoint, endpoint_group, frozen};
use super::{commit, HwCtx, HwError, HwResult};
use crate::rfc3339_ms;

fn dial(v: Option<u32>) -> Option<u8> {
    v.map(|v| u8::try_from(v).unwrap_or(u8::MAX))
}

fn group_view(ctx: &HwCtx<'_>, id: &str, status: StatusCode) -> HwResult {
    let st = ctx.api.control.state();
    let e = st
        .endpoint_group(&ctx.account.id, id)
        .ok_or_else(|| HwError::not_found(&format!("endpoint_group {id}")))?;
    Ok((status, json!({"endpoint_group": endpoint_group(ctx, e)})))
}

pub async fn create_group(ctx: &HwCtx<'_>, body: &[u8]) -> HwResult {
    let req = decode::<d::CreateEndpointGroup>(body)?.endpoint_group;
    req.check()?;
    let regions: Vec<String> = ctx.api.regions().into_iter().map(|r| r.id).collect();
    let new = NewGroup {
        listener_id: req
            .listeners
            .first()
            .map(|l| l.id.clone())
            .unwrap_or_default(),
        name: req.name,
        description: req.description.unwrap_or_default(),
        region: req.region_id,
        traffic_dial: dial(req.traffic_dial_percentage).unwrap_or(100),
    };
    let id = commit(ctx, |cx, st, ids| {
        let (ops, id) = endpoints::create_group(cx, st, ids, &regions, &new)?;
        Ok(onramp_ops::Plan::new(ops, id))
    })
    .await?;
    group_view(ctx, &id, StatusCode::CREATED)
}

pub async fn update_group(ctx: &HwCtx<'_>, id: &str, body: &[u8]) -> HwResult {
    let req = decode::<d::UpdateEndpointGroup>(body)?.endpoint_group;
    req.check()?;
    let patch = GroupPatch {
        name: req.name,
        description: req.description,
        traffic_dial: dial(req.traffic_dial_percentage),
    };
    commit(ctx, |cx, st, _| {
        Ok(onramp_ops::Plan::new(
            endpoints::update_group(cx, st, id, &patch)?,
            (),
        ))
    })
    .await?;
    group_view(ctx, id, StatusCode::OK)
}

pub async fn delete_group(ctx: &HwCtx<'_>, id: &str) -> HwResult {
    commit(ctx, |cx, st, _| {
        Ok(onramp_ops::Plan::new(
            endpoints::delete_group(cx, st, id)?,
            (),
        ))
    })
    .await?;
    Ok((StatusCode::NO_CONTENT, Value::Null))
}

fn endpoint_view(ctx: &HwCtx<'_>, group: &str, id: &str, status: StatusCode) -> HwResult {
    let st = ctx.api.control.state();
    let b = st
        .bindings
        .get(id)
        .filter(|b| b.account_id == ctx.account.id && b.endpoint_group_id == group)
        .ok_or_else(|| HwError::not_found(&format!("endpoint {id}")))?;
    Ok((status, json!({"endpoint": endpoint(ctx, &st, b)})))
}

pub async fn create_endpoint(ctx: &HwCtx<'_>, group: &str, body: &[u8]) -> HwResult {
    let req = decode::<d::CreateEndpoint>(body)?.endpoint;
    req.check()?;
    let domain = req.resource_type == EndpointType::CustomDomainName;
    let is_ip = req.ip_address.parse::<std::net::IpAddr>().is_ok();
    if domain == is_ip {
        let want = if domain {
            "a domain name"
        } else {
            "an IP address"
        };
        let why = format!("must be {want} for {}", req.resource_type.as_str());
        return Err(HwError::invalid("endpoint.ip_address", why));
    }
    let new = NewEndpoint {
        group_id: group.to_string(),
        address: req.ip_address,
        weight: req.weight.unwrap_or(1),
        resource_id: req.resource_id,
        resource_type: req.resource_type.as_str().to_string(),
    };
    let id = commit(ctx, |cx, st, ids| {
        let (ops, id) = endpoints::create_endpoint(cx, st, ids, Dialect::Huawei, &new)?;
        Ok(onramp_ops::Plan::new(ops, id))
    })
    .await?;
    endpoint_view(ctx, group, &id, StatusCode::CREATED)
}

pub async fn update_endpoint(ctx: &HwCtx<'_>, group: &str, id: &str, body: &[u8]) -> HwResult {
    let req = decode::<d::UpdateEndpoint>(body)?.endpoint;
    req.check()?;
    commit(ctx, |cx, st, _| {
        let ops = endpoints::update_endpoint(cx, st, group, id, req.weight)?;
        Ok(onramp_ops::Plan::new(ops, ()))
    })
    .await?;
    endpoint_view(ctx, group, id, StatusCode::OK)
}

pub async fn delete_endpoint(ctx: &HwCtx<'_>, group: &str, id: &str) -> HwResult {
    commit(ctx, |cx, st, _| {
        let ops = endpoints::delete_endpoint(cx, st, group, id)?;
        Ok(onramp_ops::Plan::new(ops, ()))
    })
    .await?;
    Ok((StatusCode::NO_CONTENT, Value::Null))
}

fn protocol(p: HealthCheckProtocol) -> Protocol {
    match p {
        HealthCheckProtocol::Tcp => Protocol::Tcp,
        HealthCheckProtocol::Udp => Protocol::Udp,
    }
}

fn port(p: u32) -> u16 {
    u16::try_from(p).unwrap_or(0)
}

/// `HealthCheckDetail`.
pub fn check_view(ctx: &HwCtx<'_>, e: &EndpointGroup, h: &GroupHealthCheck) -> Value {
    json!({
        "id": h.id,
        "endpoint_group_id": e.id,
        "protocol": h.protocol.upper(),
        "status": applied(ctx, e.revision).as_str(),
        "port": h.port,
        "interval": h.interval_secs,
        "timeout": h.timeout_secs,
        "max_retries": h.max_retries,
        "enabled": h.enabled,
        "created_at": rfc3339_ms(h.created_at),
        "updated_at": rfc3339_ms(h.updated_at),
        "domain_id": ctx.account.domain_id,
        "frozen_info": frozen(&Default::default()),
    })
}

fn check_answer(ctx: &HwCtx<'_>, id: &str, status: StatusCode) -> HwResult {
    let st = ctx.api.control.state();
    let found = st
        .check_group(&ctx.account.id, id)
        .and_then(|e| Some((e, e.health_check.as_ref()?)));
    let (e, h) = found.ok_or_else(|| HwError::not_found(&format!("health_check {id}")))?;
    Ok((status, json!({"health_check": check_view(ctx, e, h)})))
}

pub fn show_check(ctx: &HwCtx<'_>, id: &str) -> HwResult {
    check_answer(ctx, id, StatusCode::OK)
}

const CHECK_TAKES: &[&str] = &[
    "limit",
    "marker",
    "page_reverse",
    "id",
    "status",
    "endpoint_group_id",
];

pub fn list_checks(ctx: &HwCtx<'_>, raw_query: &str) -> HwResult {
    let q = ListQuery::parse(raw_query, CHECK_TAKES)?;
    let st = ctx.api.control.state();
    let mut items: Vec<(&EndpointGroup, &GroupHealthCheck)> = st
        .endpoint_groups
        .values()
        .filter(|e| e.account_id == ctx.account.id)
        .filter(|e| q.endpoint_group_id.as_deref().is_none_or(|g| e.id == g))
        .filter(|e| q.status_ok(applied(ctx, e.revision)))
        .filter_map(|e| Some((e, e.health_check.as_ref()?)))
        .filter(|(_, h)| q.id_ok(&h.id))
        .collect();
    items.sort_by(|a, b| (a.1.created_at, &a.1.id).cmp(&(b.1.created_at, &b.1.id)));
    let (page, next) = q.page(&items, |(_, h)| &h.id)?;
    let views: Vec<Value> = page.iter().map(|(e, h)| check_view(ctx, e, h)).collect();
    Ok((StatusCode::OK, listed("health_checks", views, next)))
}

pub async fn create_check(ctx: &HwCtx<'_>, body: &[u8]) -> HwResult {
    let req = decode::<d::CreateHealthCheck>(body)?.health_check;
    req.check()?;
    let patch = CheckPatch {
        protocol: Some(protocol(req.protocol)),
        port: Some(port(req.port)),
        interval_secs: Some(req.interval),
        timeout_secs: Some(req.timeout),
        max_retries: Some(req.max_retries),
        enabled: Some(req.enabled),
    };
    let group = req.endpoint_group_id;
    let id = commit(ctx, |cx, st, ids| {
        let (ops, id) = endpoints::create_check(cx, st, ids, &group, &patch)?;
        Ok(onramp_ops::Plan::new(ops, id))
    })
    .await?;
    check_answer(ctx, &id, StatusCode::CREATED)
}

pub async fn update_check(ctx: &HwCtx<'_>, id: &str, body: &[u8]) -> HwResult {
    let req = decode::<d::UpdateHealthCheck>(body)?.health_check;
    req.check()?;
    let patch = CheckPatch {
        protocol: req.protocol.map(protocol),
        port: req.port.map(port),
        interval_secs: req.interval,
        timeout_secs: req.timeout,
        max_retries: req.max_retries,
        enabled: req.enabled,
    };
    commit(ctx, |cx, st, _| {
        Ok(onramp_ops::Plan::new(
            endpoints::update_check(cx, st, id, &patch)?,
            (),
        ))
    })
    .await?;
    check_answer(ctx, id, StatusCode::OK)
}

pub async fn delete_check(ctx: &HwCtx<'_>, id: &str) -> HwResult {
    commit(ctx, |cx, st, _| {
        Ok(onramp_ops::Plan::new(
            endpoints::delete_check(cx, st, id)?,
            (),
        ))
    })
    .await?;
    Ok((StatusCode::NO_CONTENT, Value::Null))
}
