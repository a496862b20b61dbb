//! Huawei GA reads of what onramp serves (regions, pops, quotas, BYOIP pools).
//!
//! - `ListRegions`: the edges' regions (`--region`), each `OUTOFCM`, taking IP, EIP and domain
//!   endpoints. `ListAllPops`: one point of presence per region (its id is the region's).
//! - `ListByoipPools`: onramp allocates no addresses, so there is no pool: an empty list.
//!   (Health checks are endpoint groups' checks: `endpoint_writes`; IP address groups:
//!   `ip_groups`; log tanks: `log_tanks`.)

use http::StatusCode;
use serde_json::{json, Value};

use super::query::{listed, ListQuery};
use super::{HwCtx, HwError, HwResult};

/// Endpoint types an onramp region takes: an address (an EIP's or any other) or a domain name.
const ENDPOINT_TYPES: &[&str] = &["EIP", "CUSTOM_IP", "CUSTOM_DOMAIN_NAME"];

pub fn regions(ctx: &HwCtx<'_>) -> HwResult {
    let regions: Vec<Value> = ctx
        .api
        .regions()
        .iter()
        .map(|r| json!({"region_id": r.id, "area": "OUTOFCM", "supported_endpoint_types": ENDPOINT_TYPES}))
        .collect();
    Ok((StatusCode::OK, json!({ "regions": regions })))
}

const PAGING: &[&str] = &["limit", "marker"];

pub fn pops(ctx: &HwCtx<'_>, raw_query: &str) -> HwResult {
    let q = ListQuery::parse(raw_query, PAGING)?;
    let all = ctx.api.regions();
    let mut ids: Vec<&str> = all.iter().map(|r| r.id.as_str()).collect();
    ids.sort_unstable();
    let (page, next) = q.page(&ids, |s| s)?;
    let pops: Vec<Value> = page.iter().map(|id| json!({ "id": id })).collect();
    Ok((StatusCode::OK, listed("pops", pops, next)))
}

/// `ListByoipPools`: onramp holds no BYOIP pools; the query is still checked, and it is empty.
pub fn empty_list(raw_query: &str) -> HwResult {
    let q = ListQuery::parse(raw_query, PAGING)?;
    let (_, next) = q.page::<String>(&[], |s| s)?;
    Ok((StatusCode::OK, listed("byoip_pools", Vec::new(), next)))
}

/// `ListTenantQuotas` (`GET /v1/{domain_id}/ga/quotas`): the operator's quotas; another
/// tenant's domain is not found.
pub fn quotas(ctx: &HwCtx<'_>, domain_id: &str) -> HwResult {
    if domain_id != ctx.account.domain_id {
        return Err(HwError::not_found(&format!("domain {domain_id}")));
    }
    let q = ctx.api.control.quotas();
    let resources: Vec<Value> = [
        ("accelerator_per_tenant", q.accelerators),
        ("listener_per_accelerator", q.listeners),
        ("endpoint_per_endpoint_group", q.endpoints),
    ]
    .into_iter()
    .map(|(t, n)| json!({"type": t, "min": 1, "max": n.max(1), "quota": n}))
    .collect();
    Ok((StatusCode::OK, json!({"quotas": {"resources": resources}})))
}
