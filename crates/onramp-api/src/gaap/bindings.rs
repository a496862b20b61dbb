//! BindListenerRealServers: set the origins of a TCP/UDP listener.
//!
//! The request replaces the listener's whole set; a pair (origin, port) that stays keeps its
//! binding ID (and so its health and open connections on the edge), changed weights and roles
//! are updated in place, and the listener reports "adjusting origins" until the edge applies it.

use std::collections::{BTreeMap, HashSet};

use onramp_core::{
    ids, validate, Binding, FailoverRole, Kind, Listener, ListenerChange, Op, Origin, Record, State,
};
use serde_json::{Map, Value};

use super::commit;
use super::origins::normalised_or_raw;
use crate::tencent::{Ctx, Params, TcError, TcResult};

/// Most origins one listener may have bound.
const MAX_BOUND: usize = 255;
const BIND_KEYS: &[&str] = &[
    "RealServerId",
    "RealServerPort",
    "RealServerIP",
    "RealServerWeight",
    "RealServerFailoverRole",
];

/// One validated entry of `RealServerBindSet`.
struct Want {
    origin_id: String,
    port: u16,
    weight: u32,
    role: FailoverRole,
}

pub async fn bind_listener_real_servers(ctx: &Ctx<'_>, p: Params) -> TcResult<Map<String, Value>> {
    let listener_id = p.nonempty("ListenerId")?;
    let items = p.objects("RealServerBindSet", BIND_KEYS)?;
    commit(ctx, |st| {
        let l = st
            .listener(&ctx.account.id, &listener_id)
            .ok_or_else(|| TcError::not_found("ListenerId", &listener_id))?;
        if items.len() > MAX_BOUND {
            return Err(TcError::new(
                "FailedOperation.LimitRealServerNum",
                format!(
                    "A listener can have at most {MAX_BOUND} bound real servers; {} were given.",
                    items.len()
                ),
            ));
        }
        let mut seen = HashSet::new();
        let mut wants = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let w = bind_item(ctx, st, l, i, item)?;
            if !seen.insert((w.origin_id.clone(), w.port)) {
                let why = format!(
                    "real server {} is listed more than once on port {}",
                    w.origin_id, w.port
                );
                return Err(TcError::value(&format!("RealServerBindSet.{i}"), why));
            }
            wants.push(w);
        }
        Ok((bind_ops(ctx, st, l, wants), ()))
    })
    .await?;
    Ok(Map::new())
}

/// Validate entry `i` against the listener and the account's origins.
fn bind_item(ctx: &Ctx<'_>, st: &State, l: &Listener, i: usize, item: &Params) -> TcResult<Want> {
    let field = |k: &str| format!("RealServerBindSet.{i}.{k}");
    let origin_id = item.nonempty("RealServerId")?;
    let port = validate::port(&field("RealServerPort"), item.i64_req("RealServerPort")?)?;
    let ip = item.nonempty("RealServerIP")?;
    let weight = item.int_in("RealServerWeight", 0, 100)?.unwrap_or(1) as u32;
    let role = item.one_of("RealServerFailoverRole", &["master", "slave"])?;
    let o = st.origin(&ctx.account.id, &origin_id).ok_or_else(|| {
        let msg = format!(
            "The real server {origin_id} ({}) does not belong to this account.",
            field("RealServerId")
        );
        TcError::new("InvalidParameterValue.RealServerNotBelong", msg)
    })?;
    check_fits(l, o, i, &ip)?;
    let role = match (l.failover, role.as_deref()) {
        (false, _) => FailoverRole::None,
        (true, Some("slave")) => FailoverRole::Slave,
        (true, _) => FailoverRole::Master,
    };
    Ok(Want {
        origin_id,
        port,
        weight,
        role,
    })
}

/// Whether origin `o`, named by entry `i` with address `ip`, may be bound to listener `l`.
fn check_fits(l: &Listener, o: &Origin, i: usize, ip: &str) -> TcResult<()> {
    let field = |k: &str| format!("RealServerBindSet.{i}.{k}");
    if normalised_or_raw(ip.to_string()) != o.address {
        let why = format!("'{ip}' is not the address of {} ({})", o.id, o.address);
        return Err(TcError::value(&field("RealServerIP"), why));
    }
    if o.kind != l.origin_kind {
        let (have, want) = (o.kind.as_str(), l.origin_kind.as_str());
        let why = format!(
            "{} is a {have} real server but listener {} binds {want}",
            o.id, l.id
        );
        return Err(TcError::value(&field("RealServerId"), why));
    }
    if o.banned {
        let msg = format!(
            "The real server {} ({}) is on the ban blacklist.",
            o.id, o.address
        );
        return Err(TcError::new("InvalidParameterValue.HitBanBlacklist", msg));
    }
    Ok(())
}

/// The ops that turn the listener's bindings into `wants`, and mark it as adjusting origins.
fn bind_ops(ctx: &Ctx<'_>, st: &State, l: &Listener, wants: Vec<Want>) -> Vec<Op> {
    let mut ops = Vec::new();
    let mut current: BTreeMap<(String, u16), &Binding> = BTreeMap::new();
    for b in st.bindings_of(&l.id) {
        if current.insert((b.origin_id.clone(), b.port), b).is_some() {
            // A second binding of the same pair can only be a leftover; keep one.
            ops.push(Op::Delete(Kind::Binding, b.id.clone()));
        }
    }
    let mut group: Option<String> = None;
    for w in wants {
        match current.remove(&(w.origin_id.clone(), w.port)) {
            Some(b) if b.weight == w.weight && b.role == w.role => {}
            Some(b) => {
                let mut b = b.clone();
                b.weight = w.weight;
                b.role = w.role;
                ops.push(Op::Put(Record::Binding(b)));
            }
            None => {
                let eg = match &group {
                    Some(g) => g.clone(),
                    None => group.insert(implicit_group(ctx, st, l, &mut ops)).clone(),
                };
                ops.push(Op::Put(Record::Binding(new_binding(ctx, l, eg, w))));
            }
        }
    }
    ops.extend(
        current
            .into_values()
            .map(|b| Op::Delete(Kind::Binding, b.id.clone())),
    );
    let mut l = l.clone();
    l.change = ListenerChange::Origins;
    l.updated_at = ctx.now;
    ops.push(Op::Put(Record::Listener(l)));
    ops
}

fn new_binding(ctx: &Ctx<'_>, l: &Listener, endpoint_group_id: String, w: Want) -> Binding {
    Binding {
        id: ids::uuid(),
        account_id: ctx.account.id.clone(),
        listener_id: l.id.clone(),
        endpoint_group_id,
        origin_id: w.origin_id,
        port: w.port,
        weight: w.weight,
        role: w.role,
        created_at: ctx.now,
        ..Default::default()
    }
}

/// The listener's implicit endpoint group, created (pushed to `ops`) if it has none yet.
fn implicit_group(ctx: &Ctx<'_>, st: &State, l: &Listener, ops: &mut Vec<Op>) -> String {
    if let Some(e) = st.endpoint_groups_of(&l.id).find(|e| e.implicit) {
        return e.id.clone();
    }
    let region = l
        .owner
        .accelerator()
        .and_then(|a| st.accelerator(&ctx.account.id, a))
        .map(|a| a.access_region.clone());
    let eg = super::listeners::implicit_group(ctx, l, &region.unwrap_or_default());
    let id = eg.id.clone();
    ops.push(Op::Put(Record::EndpointGroup(eg)));
    id
}
