//! Huawei GA reads of what onramp serves, and of the resources the model does not hold yet.
//!
//! - `ListRegions`: the edges' regions (`--region`), each `OUTOFCM`, taking IP, EIP and domain
//!   endpoints. `ListAllPops`: one point of presence per region (its id is the region's).
//! - `ListByoipPools`: onramp allocates no addresses, so there is no pool: an empty list.
//! - Log tanks are not in the model yet: their lists are empty and their ids are not found
//!   (404 `GA.9002`), never invented. (Health checks are endpoint groups' checks:
//!   `endpoint_writes`; IP address groups: `ip_groups`.)

use http::StatusCode;
use serde_json::{json, Value};

use super::query::{listed, ListQuery};
use super::routes::Op;
use super::{HwCtx, HwError, HwResult};

/// Endpoint types an onramp region takes: an address (an EIP's or any other) or a domain name.
const ENDPOINT_TYPES: &[&str] = &["EIP", "CUSTOM_IP", "CUSTOM_DOMAIN_NAME"];

pub fn regions(ctx: &HwCtx<'_>) -> HwResult {
    let regions: Vec<Value> = ctx
        .api
        .cfg
        .regions
        .iter()
        .map(|r| json!({"region_id": r.id, "area": "OUTOFCM", "supported_endpoint_types": ENDPOINT_TYPES}))
        .collect();
    Ok((StatusCode::OK, json!({ "regions": regions })))
}

const PAGING: &[&str] = &["limit", "marker"];

pub fn pops(ctx: &HwCtx<'_>, raw_query: &str) -> HwResult {
    let q = ListQuery::parse(raw_query, PAGING)?;
    let mut ids: Vec<&str> = ctx.api.cfg.regions.iter().map(|r| r.id.as_str()).collect();
    ids.sort_unstable();
    let (page, next) = q.page(&ids, |s| s)?;
    let pops: Vec<Value> = page.iter().map(|id| json!({ "id": id })).collect();
    Ok((StatusCode::OK, listed("pops", pops, next)))
}

/// A list of a resource the model does not hold: its query is still checked, and it is empty.
pub fn empty_list(raw_query: &str, op: Op) -> HwResult {
    let (key, takes): (&str, &[&str]) = match op {
        Op::ListByoipPools => ("byoip_pools", PAGING),
        _ => (
            "logtanks",
            &[
                "limit",
                "marker",
                "id",
                "status",
                "resource_ids",
                "resource_type",
            ],
        ),
    };
    let q = ListQuery::parse(raw_query, takes)?;
    let (_, next) = q.page::<String>(&[], |s| s)?;
    Ok((StatusCode::OK, listed(key, Vec::new(), next)))
}

/// The id of a resource the model does not hold: not found.
pub fn not_held(op: Op, id: &str) -> HwResult {
    debug_assert_eq!(op, Op::ShowLogtank, "only log tanks are not held");
    Err(HwError::not_found(&format!("logtank {id}")))
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
