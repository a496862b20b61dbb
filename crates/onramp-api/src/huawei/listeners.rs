//! Huawei GA listener reads: `GET /v1/listeners/{id}` and `GET /v1/listeners` with filters and
//! marker pagination.

use http::StatusCode;
use onramp_core::{Affinity, Listener, State};
use serde_json::{json, Value};

use super::{HwCtx, HwError, HwResult};
use crate::rfc3339_ms;

const STATUSES: &[&str] = &["ACTIVE", "PENDING", "ERROR", "DELETING"];

fn status(ctx: &HwCtx<'_>, l: &Listener) -> &'static str {
    if ctx.api.health.listener_failure(&l.id).is_some() {
        return "ERROR";
    }
    if ctx.api.control.is_applied(l.revision) {
        "ACTIVE"
    } else {
        "PENDING"
    }
}

fn view(ctx: &HwCtx<'_>, l: &Listener) -> Value {
    let affinity = if l.affinity == Affinity::SourceIp || l.session_persist_secs > 0 {
        "SOURCE_IP"
    } else {
        "NONE"
    };
    json!({
        "id": l.id,
        "name": l.name,
        "description": l.description,
        "protocol": l.protocol.upper(),
        "status": status(ctx, l),
        "port_ranges": l.ports.iter().map(|r| json!({"from_port": r.from, "to_port": r.to})).collect::<Vec<_>>(),
        "client_affinity": affinity,
        "accelerator_id": l.owner.id(),
        "created_at": rfc3339_ms(l.created_at),
        "updated_at": rfc3339_ms(l.updated_at),
        "domain_id": ctx.account.domain_id,
        "frozen_info": {"status": l.frozen.status, "effect": l.frozen.effect, "scene": l.frozen.scene},
        "tags": l.tags.iter().map(|t| json!({"key": t.key, "value": t.value})).collect::<Vec<_>>(),
    })
}

pub fn show(ctx: &HwCtx<'_>, id: &str) -> HwResult {
    let st = ctx.api.control.state();
    let l = st
        .listener(&ctx.account.id, id)
        .ok_or_else(|| HwError::not_found(&format!("listener {id}")))?;
    Ok((StatusCode::OK, json!({ "listener": view(ctx, l) })))
}

/// Query parameters of a list call.
#[derive(Default)]
struct ListQuery {
    limit: usize,
    marker: Option<String>,
    reverse: bool,
    id: Option<String>,
    name: Option<String>,
    status: Option<String>,
    accelerator_id: Option<String>,
}

fn parse_query(raw: &str) -> Result<ListQuery, HwError> {
    let mut q = ListQuery {
        limit: 500,
        ..Default::default()
    };
    for (k, v) in form_urlencoded::parse(raw.as_bytes()).into_owned() {
        match k.as_str() {
            "limit" => {
                q.limit = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=2000).contains(n))
                    .ok_or_else(|| HwError::invalid("limit", "must be 1-2000"))?
            }
            "marker" => q.marker = Some(v),
            "page_reverse" => {
                q.reverse = match v.as_str() {
                    "true" | "True" => true,
                    "false" | "False" => false,
                    _ => return Err(HwError::invalid("page_reverse", "must be true or false")),
                }
            }
            "id" => q.id = Some(v),
            "name" => q.name = Some(v),
            "status" if STATUSES.contains(&v.as_str()) => q.status = Some(v),
            "status" => {
                return Err(HwError::invalid(
                    "status",
                    format!("must be one of {}", STATUSES.join(", ")),
                ))
            }
            "accelerator_id" => q.accelerator_id = Some(v),
            _ => {}
        }
    }
    if q.marker
        .as_deref()
        .is_some_and(|m| m.is_empty() || m.len() > 36)
    {
        return Err(HwError::invalid("marker", "must be 1-36 characters"));
    }
    Ok(q)
}

fn matching<'a>(ctx: &HwCtx<'_>, st: &'a State, q: &ListQuery) -> Vec<&'a Listener> {
    let mut items: Vec<&Listener> = st
        .listeners
        .values()
        .filter(|l| l.account_id == ctx.account.id)
        .filter(|l| q.id.as_deref().is_none_or(|v| l.id == v))
        .filter(|l| q.name.as_deref().is_none_or(|v| l.name == v))
        .filter(|l| {
            q.accelerator_id
                .as_deref()
                .is_none_or(|v| l.owner.id() == v)
        })
        .filter(|l| q.status.as_deref().is_none_or(|v| status(ctx, l) == v))
        .collect();
    items.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    items
}

pub fn list(ctx: &HwCtx<'_>, raw_query: &str) -> HwResult {
    let q = parse_query(raw_query)?;
    let st = ctx.api.control.state();
    let items = matching(ctx, &st, &q);
    let (start, end) = match q.marker.as_deref() {
        None => (0, items.len()),
        Some(m) => {
            let i = items.iter().position(|l| l.id == m).ok_or_else(|| {
                HwError::invalid("marker", format!("{m} is not a listener of this list"))
            })?;
            if q.reverse {
                (0, i)
            } else {
                (i + 1, items.len())
            }
        }
    };
    let window = &items[start..end];
    let page: &[&Listener] = if q.reverse {
        &window[window.len().saturating_sub(q.limit)..]
    } else {
        &window[..window.len().min(q.limit)]
    };
    let more = window.len() > page.len();
    let next_marker = match (more, q.reverse) {
        (false, _) => Value::Null,
        (true, false) => json!(page.last().map(|l| l.id.as_str())),
        (true, true) => json!(page.first().map(|l| l.id.as_str())),
    };
    let listeners: Vec<Value> = page.iter().map(|l| view(ctx, l)).collect();
    Ok((
        StatusCode::OK,
        json!({"listeners": listeners, "page_info": {"next_marker": next_marker, "current_count": listeners.len()}}),
    ))
}
