//! CreateProxy (standalone, inside a group, or cloned from a running proxy) and CheckProxyCreate.
//!
//! Parameters are validated before the state is read; what depends on the state (the group, the
//! cloned proxy, an earlier request with the same `ClientToken`) is decided by
//! `onramp_ops::accelerators` inside the write, so two racing requests cannot both pass a check
//! that only one of them may pass.

use onramp_core::Dialect;
use onramp_ops::accelerators::{self, NewAccelerator, Placement};
use onramp_ops::{Cx, OpError, Res};
use serde_json::{json, Map, Value};

use super::rules;
use crate::gaap::{commit_ops, errors, obj};
use crate::tencent::{Ctx, Params, TcError, TcResult};

/// Where and how big a proxy is: what CreateProxy and CheckProxyCreate share.
fn placement(ctx: &Ctx<'_>, p: &Params) -> TcResult<Placement> {
    let api = ctx.api;
    let access_region = rules::access_region(api, "AccessRegion", &p.nonempty("AccessRegion")?)?;
    let origin_region = match nonempty_opt(p, "RealServerRegion")? {
        Some(r) => Some(rules::dest_region(api, "RealServerRegion", &r)?),
        None => None,
    };
    let bandwidth_mbps = rules::bandwidth("Bandwidth", p.i64_req("Bandwidth")?)?;
    let concurrent = rules::concurrent("Concurrent", p.i64_req("Concurrent")?)?;
    p.flag("Http3Supported")?;
    Ok(Placement {
        access_region,
        origin_region,
        bandwidth_mbps,
        concurrent,
        group_id: nonempty_opt(p, "GroupId")?,
        ip_version: p.one_of("IPAddressVersion", rules::IP_VERSIONS)?,
        network_type: p.one_of("NetworkType", rules::NETWORK_TYPES)?,
        package_type: p.one_of("PackageType", rules::PACKAGE_TYPES)?,
    })
}

fn nonempty_opt(p: &Params, k: &str) -> TcResult<Option<String>> {
    Ok(p.str_opt(k)?.filter(|s| !s.is_empty()))
}

/// Everything CreateProxy asks for.
fn spec(ctx: &Ctx<'_>, p: &Params) -> TcResult<NewAccelerator> {
    let project_id =
        rules::project(p, "ProjectId")?.ok_or_else(|| TcError::missing("ProjectId"))?;
    let name = rules::name(p, "ProxyName", 30)?;
    let place = placement(ctx, p)?;
    Ok(NewAccelerator {
        place,
        project_id,
        name,
        client_token: rules::client_token(p)?,
        tags: if p.has("TagSet") {
            Some(crate::gaap::tags(p, 50)?)
        } else {
            None
        },
        cloned: nonempty_opt(p, "ClonedProxyId")?,
        billing_type: p.int_in("BillingType", 0, 1)?,
    })
}

pub async fn create_proxy(ctx: &Ctx<'_>, p: Params) -> TcResult<Map<String, Value>> {
    let spec = spec(ctx, &p)?;
    let cloned = spec.cloned.clone();
    let id = commit_ops(ctx, |cx, st, ids| {
        accelerators::create(cx, st, ids, Dialect::Gaap, &spec)
    })
    .await
    .map_err(|e| match e {
        // The proxy to clone is named by its own parameter.
        OpError::NotFound(Res::Accelerator, id) if cloned.as_ref() == Some(&id) => {
            TcError::not_found("ClonedProxyId", &id)
        }
        e => errors::tc(e, &ctx.action),
    })?;
    Ok(obj(vec![("InstanceId", json!(id))]))
}

pub async fn check_proxy_create(ctx: &Ctx<'_>, p: Params) -> TcResult<Map<String, Value>> {
    let place = placement(ctx, &p)?;
    let flag = {
        let st = ctx.api.control.state();
        let cx = Cx {
            account: ctx.account.id.clone(),
            now: ctx.now,
            applied: ctx.api.control.applied_revision(),
            quotas: ctx.api.control.quotas(),
        };
        match accelerators::fit_group(&cx, &st, &place) {
            Ok(None) if place.origin_region.is_none() => {
                return Err(TcError::missing("RealServerRegion"))
            }
            Ok(_) => 1,
            Err(e @ OpError::NotFound(..)) => return Err(errors::tc(e, &ctx.action)),
            // A valid request that this group cannot take.
            Err(_) => 0,
        }
    };
    Ok(obj(vec![("CheckFlag", json!(flag))]))
}
