//! BindListenerRealServers: set the origins of a TCP/UDP listener.
//!
//! The request replaces the listener's whole set; the rules (what may be bound, which bindings
//! keep their ID, the listener reporting "adjusting origins") are `onramp_ops::bindings`.

use onramp_core::validate;
use onramp_ops::bindings::Want;
use onramp_ops::Plan;
use serde_json::{Map, Value};

use super::commit;
use super::origins::normalised_or_raw;
use crate::tencent::{Ctx, Params, TcResult};

const BIND_KEYS: &[&str] = &[
    "RealServerId",
    "RealServerPort",
    "RealServerIP",
    "RealServerWeight",
    "RealServerFailoverRole",
];

pub async fn bind_listener_real_servers(ctx: &Ctx<'_>, p: Params) -> TcResult<Map<String, Value>> {
    let listener_id = p.nonempty("ListenerId")?;
    let items = p.objects("RealServerBindSet", BIND_KEYS)?;
    let wants = items
        .iter()
        .enumerate()
        .map(|(i, item)| want(i, item))
        .collect::<TcResult<Vec<Want>>>()?;
    commit(ctx, |cx, st, ids| {
        let ops = onramp_ops::bindings::bind(cx, st, ids, &listener_id, wants)?;
        Ok(Plan::new(ops, ()))
    })
    .await?;
    Ok(Map::new())
}

/// Entry `i` of `RealServerBindSet`, decoded.
fn want(i: usize, item: &Params) -> TcResult<Want> {
    let field = |k: &str| format!("RealServerBindSet.{i}.{k}");
    let origin_id = item.nonempty("RealServerId")?;
    let port = validate::port(&field("RealServerPort"), item.i64_req("RealServerPort")?)?;
    let ip = item.nonempty("RealServerIP")?;
    let weight = item.int_in("RealServerWeight", 0, 100)?.unwrap_or(1) as u32;
    let role = item.one_of("RealServerFailoverRole", &["master", "slave"])?;
    Ok(Want {
        origin_id,
        port,
        weight,
        address: Some(normalised_or_raw(ip)),
        backup: role.as_deref() == Some("slave"),
    })
}
