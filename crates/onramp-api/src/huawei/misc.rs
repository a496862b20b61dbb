//! Huawei GA reads of what onramp serves, and of the resources the model does not hold yet.
//!
//! - `ListRegions`: the edges' regions (`--region`), each `OUTOFCM`, taking IP, EIP and domain
//!   endpoints. `ListAllPops`: one point of presence per region (its id is the region's).
//! - `ListByoipPools`: onramp allocates no addresses, so there is no pool: an empty list.
//! - IP address groups and log tanks are not in the model yet: their lists are empty and their
//!   ids are not found (404 `GA.9002`), never invented. (Health checks are endpoint groups'
//!   checks: `endpoint_writes`.)

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
        Op::ListIpGroups => ("ip_groups", &["limit", "marker", "listener_id"]),
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
    let what = match op {
        Op::ShowIpGroup => "ip group",
        _ => "logtank",
    };
    Err(HwError::not_found(&format!("{what} {id}")))
}
