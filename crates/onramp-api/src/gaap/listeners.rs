//! TCP/UDP listener actions: create (one listener per port), describe, modify, delete.

use onramp_core::*;
use serde_json::{json, Map, Value};

use super::listener_params::{
    apply_health, apply_udp_probe, origin_ports, owner_of, port_clash, ports, scheduler,
};
use super::{commit, obj, page, views};
use crate::tencent::{Ctx, Params, TcError, TcResult};

const MAX_LIMIT: i64 = 10_000;

async fn create(ctx: &Ctx<'_>, p: Params, protocol: Protocol) -> TcResult<Map<String, Value>> {
    let name = p.nonempty("ListenerName")?;
    validate::text("ListenerName", &name, 1, 64)?;
    let ports = ports(&p)?;
    let kind = match p.one_of("RealServerType", &["IP", "DOMAIN"])?.as_deref() {
        Some("DOMAIN") => OriginKind::Domain,
        Some(_) => OriginKind::Ip,
        None => return Err(TcError::missing("RealServerType")),
    };
    let sched = scheduler(&p, kind)?.ok_or_else(|| TcError::missing("Scheduler"))?;
    if protocol == Protocol::Tcp && !p.has("HealthCheck") {
        return Err(TcError::missing("HealthCheck"));
    }
    let mut template = Listener {
        account_id: ctx.account.id.clone(),
        name,
        protocol,
        scheduler: sched,
        origin_kind: kind,
        health: HealthCheck {
            enabled: protocol == Protocol::Tcp,
            ..Default::default()
        },
        created_at: ctx.now,
        updated_at: ctx.now,
        ..Default::default()
    };
    apply_health(&p, &mut template)?;
    if protocol == Protocol::Udp {
        apply_udp_probe(&p, &mut template.health)?;
    }
    let ((), ids) = commit(ctx, |st| {
        let (owner, region) = owner_of(ctx, st, &p)?;
        let origin_ports = origin_ports(&p, &owner, ports.len())?;
        let mut ops = Vec::new();
        let mut ids = Vec::new();
        for (port, origin_port) in ports.iter().zip(origin_ports) {
            if let Some(other) = port_clash(st, &owner, protocol, *port) {
                return Err(TcError::new(
                    "InvalidParameterValue.DuplicatedListenerPort",
                    format!(
                        "The {} port {port} is already used by listener {other}.",
                        protocol.upper()
                    ),
                ));
            }
            let l = Listener {
                id: ids::short(ids::LISTENER),
                owner: owner.clone(),
                ports: vec![PortRange::single(*port)],
                origin_port,
                ..template.clone()
            };
            ops.push(Op::Put(Record::EndpointGroup(implicit_group(
                ctx, &l, &region,
            ))));
            ids.push(l.id.clone());
            ops.push(Op::Put(Record::Listener(l)));
        }
        Ok((ops, ((), ids)))
    })
    .await?
    .1;
    Ok(obj(vec![("ListenerIds", json!(ids))]))
}

/// The one endpoint group a GAAP listener has.
pub fn implicit_group(ctx: &Ctx<'_>, l: &Listener, region: &str) -> EndpointGroup {
    EndpointGroup {
        id: ids::uuid(),
        account_id: ctx.account.id.clone(),
        listener_id: l.id.clone(),
        name: l.name.clone(),
        region: region.to_string(),
        traffic_dial: 100,
        implicit: true,
        created_at: ctx.now,
        updated_at: ctx.now,
        ..Default::default()
    }
}

pub async fn create_tcp(ctx: &Ctx<'_>, p: Params) -> TcResult<Map<String, Value>> {
    create(ctx, p, Protocol::Tcp).await
}

pub async fn create_udp(ctx: &Ctx<'_>, p: Params) -> TcResult<Map<String, Value>> {
    create(ctx, p, Protocol::Udp).await
}

fn listener_gone(id: &str) -> TcError {
    TcError::new("InvalidParameter", format!("ListenerId({id}) Not Exist."))
}

/// The listeners a Describe*Listeners call selects, before paging.
fn select<'a>(
    ctx: &Ctx<'_>,
    st: &'a State,
    p: &Params,
    protocol: Protocol,
) -> TcResult<Vec<&'a Listener>> {
    let proxy = p.str_opt("ProxyId")?;
    let group = p.str_opt("GroupId")?;
    let listener = p.str_opt("ListenerId")?;
    if proxy.is_some() && group.is_some() {
        return Err(TcError::conflict("ProxyId", "GroupId"));
    }
    let search = p.str_opt("SearchValue")?;
    if search.is_some() && (p.has("ListenerName") || p.has("Port")) {
        return Err(TcError::conflict("SearchValue", "ListenerName/Port"));
    }
    let owner = proxy.or(group);
    let mut items: Vec<&Listener> = match (&listener, &owner) {
        (Some(id), _) => {
            let l = st
                .listener(&ctx.account.id, id)
                .filter(|l| l.protocol == protocol)
                .ok_or_else(|| listener_gone(id))?;
            if owner.as_deref().is_some_and(|o| o != l.owner.id()) {
                return Err(listener_gone(id));
            }
            vec![l]
        }
        (None, Some(o)) => {
            if st.accelerator(&ctx.account.id, o).is_none()
                && st.group(&ctx.account.id, o).is_none()
            {
                return Err(TcError::not_found(
                    if p.has("ProxyId") {
                        "ProxyId"
                    } else {
                        "GroupId"
                    },
                    o,
                ));
            }
            st.listeners_of(o)
                .filter(|l| l.protocol == protocol)
                .collect()
        }
        (None, None) => return Err(TcError::missing("ProxyId")),
    };
    let name = p.str_opt("ListenerName")?;
    let port = p.int_in("Port", 1, 65535)?;
    items.retain(|l| {
        name.as_deref().is_none_or(|n| l.name == n)
            && port.is_none_or(|pt| l.has_port(pt as u16))
            && search
                .as_deref()
                .is_none_or(|s| l.name.contains(s) || l.first_port().to_string().contains(s))
    });
    items.sort_by(|a, b| (a.first_port(), &a.id).cmp(&(b.first_port(), &b.id)));
    Ok(items)
}

fn describe(ctx: &Ctx<'_>, p: &Params, protocol: Protocol) -> TcResult<Map<String, Value>> {
    let (offset, limit) = p.page(MAX_LIMIT)?;
    let st = ctx.api.control.state();
    let (total, items) = page(select(ctx, &st, p, protocol)?, offset, limit);
    let view = |l: &Listener| match protocol {
        Protocol::Tcp => views::tcp_listener(ctx.api, &st, l),
        Protocol::Udp => views::udp_listener(ctx.api, &st, l),
    };
    let set: Vec<Value> = items.into_iter().map(view).collect();
    Ok(obj(vec![
        ("TotalCount", json!(total)),
        ("ListenerSet", json!(set)),
    ]))
}

pub async fn describe_tcp(ctx: &Ctx<'_>, p: Params) -> TcResult<Map<String, Value>> {
    describe(ctx, &p, Protocol::Tcp)
}

pub async fn describe_udp(ctx: &Ctx<'_>, p: Params) -> TcResult<Map<String, Value>> {
    describe(ctx, &p, Protocol::Udp)
}

/// The listener named by ListenerId (checked against ProxyId/GroupId when given).
fn owned_listener(ctx: &Ctx<'_>, st: &State, p: &Params) -> TcResult<Listener> {
    let id = p.nonempty("ListenerId")?;
    let l = st
        .listener(&ctx.account.id, &id)
        .ok_or_else(|| TcError::not_found("ListenerId", &id))?;
    match (p.str_opt("ProxyId")?, p.str_opt("GroupId")?) {
        (Some(_), Some(_)) => return Err(TcError::conflict("ProxyId", "GroupId")),
        (Some(o), None) | (None, Some(o)) if o != l.owner.id() => {
            return Err(TcError::not_found("ListenerId", &format!("{id} of {o}")))
        }
        _ => {}
    }
    Ok(l.clone())
}

async fn modify(ctx: &Ctx<'_>, p: Params, protocol: Protocol) -> TcResult<Map<String, Value>> {
    commit(ctx, |st| {
        let mut l = owned_listener(ctx, st, &p)?;
        if l.protocol != protocol {
            return Err(TcError::new(
                "FailedOperation.InvalidListenerProtocol",
                format!(
                    "The listener {} is a {} listener.",
                    l.id,
                    l.protocol.upper()
                ),
            ));
        }
        if let Some(name) = p.str_opt("ListenerName")? {
            validate::text("ListenerName", &name, 1, 64)?;
            l.name = name;
        }
        if let Some(s) = scheduler(&p, l.origin_kind)? {
            l.scheduler = s;
        }
        apply_health(&p, &mut l)?;
        if protocol == Protocol::Udp {
            apply_udp_probe(&p, &mut l.health)?;
        }
        l.change = ListenerChange::Config;
        l.updated_at = ctx.now;
        Ok((vec![Op::Put(Record::Listener(l))], ()))
    })
    .await?;
    Ok(Map::new())
}

pub async fn modify_tcp(ctx: &Ctx<'_>, p: Params) -> TcResult<Map<String, Value>> {
    modify(ctx, p, Protocol::Tcp).await
}

pub async fn modify_udp(ctx: &Ctx<'_>, p: Params) -> TcResult<Map<String, Value>> {
    modify(ctx, p, Protocol::Udp).await
}

/// Ops that delete a listener with its endpoint groups and bindings.
pub fn delete_ops(st: &State, l: &Listener) -> Vec<Op> {
    let mut ops: Vec<Op> = st
        .bindings_of(&l.id)
        .map(|b| Op::Delete(Kind::Binding, b.id.clone()))
        .collect();
    ops.extend(
        st.endpoint_groups_of(&l.id)
            .map(|e| Op::Delete(Kind::EndpointGroup, e.id.clone())),
    );
    ops.push(Op::Delete(Kind::Listener, l.id.clone()));
    ops
}

pub async fn delete_listeners(ctx: &Ctx<'_>, p: Params) -> TcResult<Map<String, Value>> {
    let ids = p.strs("ListenerIds")?;
    if ids.is_empty() {
        return Err(TcError::missing("ListenerIds"));
    }
    let force = match p.int_in("Force", 0, 1)? {
        Some(f) => f == 1,
        None => return Err(TcError::missing("Force")),
    };
    let owner = match (p.str_opt("ProxyId")?, p.str_opt("GroupId")?) {
        (Some(_), Some(_)) => return Err(TcError::conflict("ProxyId", "GroupId")),
        (a, b) => a.or(b),
    };
    let (_, (ok, failed, invalid)) = commit(ctx, |st| {
        let (mut ok, mut failed, mut invalid, mut ops) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for id in &ids {
            let l = st
                .listener(&ctx.account.id, id)
                .filter(|l| owner.as_deref().is_none_or(|o| o == l.owner.id()));
            match l {
                None => invalid.push(id.clone()),
                Some(l) if !force && st.bindings_of(&l.id).next().is_some() => {
                    failed.push(id.clone())
                }
                Some(_) if ok.contains(id) => {}
                Some(l) => {
                    ops.extend(delete_ops(st, l));
                    ok.push(id.clone());
                }
            }
        }
        Ok((ops, (ok, failed, invalid)))
    })
    .await?;
    Ok(obj(vec![
        ("OperationFailedListenerSet", json!(failed)),
        ("OperationSucceedListenerSet", json!(ok)),
        ("InvalidStatusListenerSet", json!(invalid)),
    ]))
}
