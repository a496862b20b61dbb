//! TCP/UDP listener actions: create (one listener per port), describe, modify, delete; the
//! rules are `onramp_ops::listeners`.

use onramp_core::*;
use serde_json::{json, Map, Value};

use onramp_ops::{OpError, Plan};

use super::listener_params::{origin_ports, owner_param, patch, ports};
use super::{commit, errors, obj, page, views};
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
    let patch = patch(&p, protocol)?;
    if patch.scheduler.is_none() {
        return Err(TcError::missing("Scheduler"));
    }
    if protocol == Protocol::Tcp && !p.has("HealthCheck") {
        return Err(TcError::missing("HealthCheck"));
    }
    let mut template = Listener {
        name,
        protocol,
        origin_kind: kind,
        health: HealthCheck {
            enabled: protocol == Protocol::Tcp,
            ..Default::default()
        },
        ..Default::default()
    };
    onramp_ops::listeners::apply(&mut template, &patch).map_err(|e| errors::tc(e, &ctx.action))?;
    let owner = owner_param(&p)?;
    let origin_ports = origin_ports(&p, &owner, ports.len())?;
    let specs: Vec<Listener> = ports
        .iter()
        .zip(origin_ports)
        .map(|(port, origin_port)| Listener {
            ports: vec![PortRange::single(*port)],
            origin_port,
            ..template.clone()
        })
        .collect();
    let ids = commit(ctx, |cx, st, ids| {
        let made = onramp_ops::listeners::create(cx, st, ids, &owner, Dialect::Gaap, specs)?;
        Ok(made.into())
    })
    .await?;
    Ok(obj(vec![("ListenerIds", json!(ids))]))
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

/// ProxyId or GroupId (not both): the owner a named listener must have.
fn scope(p: &Params) -> TcResult<Option<String>> {
    match (p.str_opt("ProxyId")?, p.str_opt("GroupId")?) {
        (Some(_), Some(_)) => Err(TcError::conflict("ProxyId", "GroupId")),
        (a, b) => Ok(a.or(b)),
    }
}

async fn modify(ctx: &Ctx<'_>, p: Params, protocol: Protocol) -> TcResult<Map<String, Value>> {
    let id = p.nonempty("ListenerId")?;
    let scope = scope(&p)?;
    let mut patch = patch(&p, protocol)?;
    if let Some(name) = p.str_opt("ListenerName")? {
        validate::text("ListenerName", &name, 1, 64)?;
        patch.name = Some(name);
    }
    commit(ctx, |cx, st, _| {
        let ops =
            onramp_ops::listeners::modify(cx, st, &id, scope.as_deref(), Some(protocol), &patch)?;
        Ok(Plan::new(ops, ()))
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

pub async fn delete_listeners(ctx: &Ctx<'_>, p: Params) -> TcResult<Map<String, Value>> {
    let ids = p.strs("ListenerIds")?;
    if ids.is_empty() {
        return Err(TcError::missing("ListenerIds"));
    }
    let force = match p.int_in("Force", 0, 1)? {
        Some(f) => f == 1,
        None => return Err(TcError::missing("Force")),
    };
    let owner = scope(&p)?;
    // Each ID on its own: a missing one is invalid, a bound one (without Force) failed.
    let (ok, failed, invalid) = commit(ctx, |cx, st, _| {
        let (mut ok, mut failed, mut invalid, mut ops) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for id in &ids {
            match onramp_ops::listeners::delete(cx, st, id, owner.as_deref(), force) {
                Err(OpError::NotFound(..)) => invalid.push(id.clone()),
                Err(_) => failed.push(id.clone()),
                Ok(_) if ok.contains(id) => {}
                Ok(more) => {
                    ops.extend(more);
                    ok.push(id.clone());
                }
            }
        }
        Ok(Plan::new(ops, (ok, failed, invalid)))
    })
    .await?;
    Ok(obj(vec![
        ("OperationFailedListenerSet", json!(failed)),
        ("OperationSucceedListenerSet", json!(ok)),
        ("InvalidStatusListenerSet", json!(invalid)),
    ]))
}
