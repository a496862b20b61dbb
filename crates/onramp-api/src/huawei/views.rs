//! Huawei GA v1 JSON shapes of model resources (AcceleratorDetail, ListenerDetail,
//! EndpointGroupDetail, EndpointDetail, ResourceTag, FrozenInfo) and the statuses they show.
//!
//! Statuses are true: `PENDING` while the resource's revision is above what the edges applied,
//! `ERROR` for a listener the edge could not open, else `ACTIVE`. `health_state` is what the edge's
//! checks report: `NO_MONITOR` when the listener's health check is off, `INITIAL` before the first
//! result, then `HEALTHY` / `UNHEALTHY`.

use std::net::IpAddr;

use onramp_core::tombstones::Gone;
use onramp_core::{
    Accelerator, Affinity, Binding, EndpointGroup, FrozenInfo, Listener, OriginKind, State, Tag,
};
use serde_json::{json, Value};

use super::HwCtx;
use crate::rfc3339_ms;
use crate::summary::BindingState;

/// `ConfigStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigStatus {
    Active,
    Pending,
    Error,
    Deleting,
}

impl ConfigStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConfigStatus::Active => "ACTIVE",
            ConfigStatus::Pending => "PENDING",
            ConfigStatus::Error => "ERROR",
            ConfigStatus::Deleting => "DELETING",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Active, Self::Pending, Self::Error, Self::Deleting]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

/// `ACTIVE` once the edges applied `revision`, else `PENDING`.
pub fn applied(ctx: &HwCtx<'_>, revision: u64) -> ConfigStatus {
    if ctx.api.control.is_applied(revision) {
        ConfigStatus::Active
    } else {
        ConfigStatus::Pending
    }
}

/// Huawei's view of the one lifecycle `onramp_ops::status` computes.
fn from_phase(p: onramp_ops::status::Phase) -> ConfigStatus {
    match p {
        onramp_ops::status::Phase::Failed => ConfigStatus::Error,
        onramp_ops::status::Phase::Deleting => ConfigStatus::Deleting,
        p if p.is_settled() => ConfigStatus::Active,
        _ => ConfigStatus::Pending,
    }
}

pub fn listener_status(ctx: &HwCtx<'_>, l: &Listener) -> ConfigStatus {
    from_phase(ctx.api.listener_phase(l))
}

pub fn accelerator_status(ctx: &HwCtx<'_>, a: &onramp_core::Accelerator) -> ConfigStatus {
    from_phase(ctx.api.accelerator_phase(a))
}

/// The account's accelerators deleted by a revision the edges have not applied yet (`DELETING`).
pub fn deleting_accelerators<'s>(
    ctx: &HwCtx<'_>,
    st: &'s onramp_core::State,
) -> Vec<(&'s Accelerator, ConfigStatus)> {
    let applied = ctx.api.control.applied_revision();
    st.deleted
        .all_pending(applied)
        .filter_map(|g| match (g, onramp_ops::status::gone(g, applied)) {
            (Gone::Accelerator(a), Some(p)) if a.account_id == ctx.account.id => {
                Some((a, from_phase(p)))
            }
            _ => None,
        })
        .collect()
}

/// The account's listeners deleted by a revision the edges have not applied yet (`DELETING`).
pub fn deleting_listeners<'s>(
    ctx: &HwCtx<'_>,
    st: &'s onramp_core::State,
) -> Vec<(&'s Listener, ConfigStatus)> {
    let applied = ctx.api.control.applied_revision();
    st.deleted
        .all_pending(applied)
        .filter_map(|g| match (g, onramp_ops::status::gone(g, applied)) {
            (Gone::Listener(l), Some(p)) if l.account_id == ctx.account.id => {
                Some((l, from_phase(p)))
            }
            _ => None,
        })
        .collect()
}

pub fn frozen(f: &FrozenInfo) -> Value {
    json!({"status": f.status, "effect": f.effect, "scene": f.scene})
}

pub fn tags(t: &[Tag]) -> Vec<Value> {
    t.iter()
        .map(|t| json!({"key": t.key, "value": t.value}))
        .collect()
}

/// The access addresses of an accelerator: those of its region's edges.
fn ip_sets(ctx: &HwCtx<'_>, a: &Accelerator) -> Value {
    let area = if a.area.is_empty() {
        "OUTOFCM"
    } else {
        &a.area
    };
    let sets: Vec<Value> = ctx
        .api
        .access_addresses(&a.access_region)
        .into_iter()
        .map(|address| {
            let ip_type = match address.parse::<IpAddr>() {
                Ok(IpAddr::V6(_)) => "IPV6",
                _ => "IPV4",
            };
            json!({"ip_type": ip_type, "ip_address": address, "area": area})
        })
        .collect();
    Value::Array(sets)
}

/// The enterprise project an accelerator shows (`0`, the default project, when none was given).
pub fn enterprise_project(a: &Accelerator) -> &str {
    if a.enterprise_project_id.is_empty() {
        "0"
    } else {
        &a.enterprise_project_id
    }
}

pub fn accelerator(ctx: &HwCtx<'_>, a: &Accelerator) -> Value {
    accelerator_as(ctx, a, accelerator_status(ctx, a))
}

/// `a` shown with `status` (a deleted one: `DELETING`).
pub fn accelerator_as(ctx: &HwCtx<'_>, a: &Accelerator, status: ConfigStatus) -> Value {
    json!({
        "id": a.id,
        "name": a.name,
        "description": a.description,
        "status": status.as_str(),
        "ip_sets": ip_sets(ctx, a),
        "created_at": rfc3339_ms(a.created_at),
        "updated_at": rfc3339_ms(a.updated_at),
        "domain_id": ctx.account.domain_id,
        "enterprise_project_id": enterprise_project(a),
        "flavor_id": "",
        "frozen_info": frozen(&a.frozen),
        "tags": tags(&a.tags),
    })
}

pub fn listener(ctx: &HwCtx<'_>, l: &Listener) -> Value {
    listener_as(ctx, l, listener_status(ctx, l))
}

/// `l` shown with `status` (a deleted one: `DELETING`).
pub fn listener_as(ctx: &HwCtx<'_>, l: &Listener, status: ConfigStatus) -> Value {
    let affinity = if l.affinity == Affinity::SourceIp || l.session_persist_secs > 0 {
        "SOURCE_IP"
    } else {
        "NONE"
    };
    let ranges: Vec<Value> = l
        .ports
        .iter()
        .map(|r| json!({"from_port": r.from, "to_port": r.to}))
        .collect();
    json!({
        "id": l.id,
        "name": l.name,
        "description": l.description,
        "protocol": l.protocol.upper(),
        "status": status.as_str(),
        "port_ranges": ranges,
        "client_affinity": affinity,
        "accelerator_id": l.owner.id(),
        "created_at": rfc3339_ms(l.created_at),
        "updated_at": rfc3339_ms(l.updated_at),
        "domain_id": ctx.account.domain_id,
        "frozen_info": frozen(&l.frozen),
        "tags": tags(&l.tags),
    })
}

pub fn endpoint_group(ctx: &HwCtx<'_>, e: &EndpointGroup) -> Value {
    json!({
        "id": e.id,
        "name": e.name,
        "description": e.description,
        "status": applied(ctx, e.revision).as_str(),
        "traffic_dial_percentage": e.traffic_dial,
        "region_id": e.region,
        "listeners": [{"id": e.listener_id}],
        "created_at": rfc3339_ms(e.created_at),
        "updated_at": rfc3339_ms(e.updated_at),
        "domain_id": ctx.account.domain_id,
        "frozen_info": frozen(&FrozenInfo::default()),
    })
}

/// `health_state` of an endpoint, from the edge's checks of its binding: `NO_MONITOR` when the
/// check its group runs (`EndpointGroup::effective_check`) is off or absent.
pub fn health_state(
    ctx: &HwCtx<'_>,
    st: &State,
    l: Option<&Listener>,
    b: &Binding,
) -> &'static str {
    match ctx.api.binding_state(st, l, b) {
        BindingState::Unmonitored => "NO_MONITOR",
        BindingState::Initial => "INITIAL",
        BindingState::Healthy => "HEALTHY",
        BindingState::Unhealthy => "UNHEALTHY",
    }
}

/// An endpoint: a binding of an origin. Its resource is what the request that made it named
/// (`resource_id`, `resource_type`), else the origin (`rs-…`, `CUSTOM_IP` or
/// `CUSTOM_DOMAIN_NAME`); the binding's port is not shown (Huawei endpoints take traffic on the
/// port the client connected to).
pub fn endpoint(ctx: &HwCtx<'_>, st: &State, b: &Binding) -> Value {
    let origin = st.origins.get(&b.origin_id);
    let resource_type = match origin.map(|o| o.kind) {
        _ if !b.resource_type.is_empty() => b.resource_type.as_str(),
        Some(OriginKind::Domain) => "CUSTOM_DOMAIN_NAME",
        _ => "CUSTOM_IP",
    };
    let resource_id = if b.resource_id.is_empty() {
        &b.origin_id
    } else {
        &b.resource_id
    };
    let listener = st.listeners.get(&b.listener_id);
    json!({
        "id": b.id,
        "resource_id": resource_id,
        "endpoint_group_id": b.endpoint_group_id,
        "resource_type": resource_type,
        "status": applied(ctx, b.revision).as_str(),
        "weight": b.weight,
        "health_state": health_state(ctx, st, listener, b),
        "created_at": rfc3339_ms(b.created_at),
        "updated_at": rfc3339_ms(b.updated_at.max(b.created_at)),
        "domain_id": ctx.account.domain_id,
        "ip_address": origin.map(|o| o.address.as_str()).unwrap_or(""),
        "frozen_info": frozen(&FrozenInfo::default()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_status_round_trips_and_refuses_others() {
        for s in ["ACTIVE", "PENDING", "ERROR", "DELETING"] {
            assert_eq!(ConfigStatus::parse(s).map(|c| c.as_str()), Some(s));
        }
        assert_eq!(ConfigStatus::parse("active"), None);
        assert_eq!(ConfigStatus::parse(""), None);
    }
}
