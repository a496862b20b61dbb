//! TCP/UDP listener actions: create (one listener per port), describe, modify, delete.

use onramp_core::*;
use serde_json::{json, Map, Value};

use super::{commit, obj, page, views};
use crate::tencent::{Ctx, Params, TcError, TcResult};

const MAX_PORTS_PER_CALL: usize = 100;
const MAX_LIMIT: i64 = 10_000;

/// Exactly one of ProxyId / GroupId, resolved to an existing, running owner.
fn owner_of(ctx: &Ctx<'_>, st: &State, p: &Params) -> TcResult<(Owner, String)> {
    match (p.str_opt("ProxyId")?, p.str_opt("GroupId")?) {
        (Some(_), Some(_)) => Err(TcError::conflict("ProxyId", "GroupId")),
        (None, None) => Err(TcError::missing("ProxyId")),
        (Some(id), None) => {
            let a = st
                .accelerator(&ctx.account.id, &id)
                .ok_or_else(|| TcError::not_found("ProxyId", &id))?;
            if !a.enabled {
                return Err(TcError::new(
                    "FailedOperation.ProxyStatusNotInRuning",
                    format!("The proxy {id} is not running."),
                ));
            }
            Ok((Owner::Accelerator(id), a.access_region.clone()))
        }
        (None, Some(id)) => {
            let g = st
                .group(&ctx.account.id, &id)
                .ok_or_else(|| TcError::not_found("GroupId", &id))?;
            if !g.enabled {
                return Err(TcError::new(
                    "FailedOperation.GroupStatusNotInRuning",
                    format!("The proxy group {id} is not running."),
                ));
            }
            let region = st
                .members_of(&id)
                .next()
                .map(|a| a.access_region.clone())
                .unwrap_or_default();
            Ok((Owner::Group(id), region))
        }
    }
}

fn scheduler(p: &Params, kind: OriginKind) -> TcResult<Option<Scheduler>> {
    let Some(s) = p.one_of("Scheduler", &["rr", "wrr", "lc", "lrtt"])? else {
        return Ok(None);
    };
    let s = Scheduler::parse(&s).unwrap_or_default();
    if kind == OriginKind::Domain && matches!(s, Scheduler::Wrr | Scheduler::Lrtt) {
        return Err(TcError::value(
            "Scheduler",
            "DOMAIN listeners support neither wrr nor lrtt",
        ));
    }
    Ok(Some(s))
}

/// Apply the health-check and failover parameters present in `p` onto `l`, then validate.
fn apply_health(p: &Params, l: &mut Listener) -> TcResult<()> {
    let h = &mut l.health;
    if let Some(v) = p.flag("HealthCheck")? {
        h.enabled = v;
    }
    if let Some(v) = p.int_in("DelayLoop", 5, 300)? {
        h.interval_secs = v as u32;
    }
    if let Some(v) = p.int_in("ConnectTimeout", 2, 60)? {
        h.timeout_secs = v as u32;
    }
    if let Some(v) = p.int_in("HealthyThreshold", 1, 10)? {
        h.healthy_threshold = v as u32;
    }
    if let Some(v) = p.int_in("UnhealthyThreshold", 1, 10)? {
        h.unhealthy_threshold = v as u32;
    }
    validate::health_timing("DelayLoop", "ConnectTimeout", h)?;
    apply_extensions(p, l)?;
    if let Some(v) = p.flag("FailoverSwitch")? {
        if v && l.origin_kind == OriginKind::Domain {
            return Err(TcError::value(
                "FailoverSwitch",
                "primary/backup mode is not allowed with RealServerType DOMAIN",
            ));
        }
        l.failover = v;
    }
    Ok(())
}

/// onramp extensions (documented in docs/api.md): `SessionPersist` (seconds of source-IP
/// persistence, 0 = off), `MaxConnections` (per-listener concurrent limit, 0 = none) and
/// `ClientIPMethod` 2 (PROXY protocol v2).
fn apply_extensions(p: &Params, l: &mut Listener) -> TcResult<()> {
    if let Some(v) = p.int_in("SessionPersist", 0, 3600)? {
        l.session_persist_secs = v as u32;
    }
    if let Some(v) = p.int_in("MaxConnections", 0, 10_000_000)? {
        l.max_connections = v as u64;
    }
    if let Some(m) = p.int_in("ClientIPMethod", 0, 2)? {
        if l.protocol == Protocol::Udp && m == 0 {
            return Err(TcError::value("ClientIPMethod", "TOA is TCP-only"));
        }
        l.client_ip = match m {
            0 => ClientIpMethod::Toa,
            1 => ClientIpMethod::ProxyV1,
            _ => ClientIpMethod::ProxyV2,
        };
    }
    Ok(())
}

/// UDP probe parameters (CheckType, CheckPort, ContextType, SendContext, RecvContext).
fn apply_udp_probe(p: &Params, h: &mut HealthCheck) -> TcResult<()> {
    if let Some(t) = p.one_of("CheckType", &["PORT", "PING"])? {
        h.udp_check = if t == "PING" {
            UdpCheck::Ping
        } else {
            UdpCheck::Port
        };
    }
    if let Some(port) = p.i64_opt("CheckPort")? {
        h.port = if port == -1 {
            None
        } else {
            Some(validate::port("CheckPort", port)?)
        };
    }
    p.one_of("ContextType", &["TEXT"])?;
    for (key, slot) in [("SendContext", &mut h.send), ("RecvContext", &mut h.expect)] {
        if let Some(s) = p.str_opt(key)? {
            validate::length(key, &s, 0, 500)?;
            *slot = s;
        }
    }
    let has_context = p.has("SendContext") || p.has("RecvContext") || p.has("ContextType");
    if has_context && h.udp_check == UdpCheck::Ping {
        return Err(TcError::value(
            "CheckType",
            "SendContext/RecvContext/ContextType are only used with CheckType PORT",
        ));
    }
    h.custom = h.udp_check == UdpCheck::Port && !(h.send.is_empty() && h.expect.is_empty());
    Ok(())
}

fn ports(p: &Params) -> TcResult<Vec<u16>> {
    let raw = p.ints("Ports")?;
    if raw.is_empty() {
        return Err(TcError::missing("Ports"));
    }
    if raw.len() > MAX_PORTS_PER_CALL {
        return Err(TcError::new(
            "FailedOperation.OperateLimitNumofListener",
            format!("At most {MAX_PORTS_PER_CALL} ports can be created in one call."),
        ));
    }
    let mut out: Vec<u16> = Vec::with_capacity(raw.len());
    for (i, v) in raw.into_iter().enumerate() {
        let port = validate::port(&format!("Ports.{i}"), v).map_err(|e| {
            TcError::new("InvalidParameterValue.InvalidListenerPort", e.to_string())
        })?;
        if out.contains(&port) {
            return Err(TcError::new(
                "InvalidParameterValue.DuplicatedListenerPort",
                format!("The port {port} appears twice in Ports."),
            ));
        }
        out.push(port);
    }
    Ok(out)
}

fn origin_ports(p: &Params, owner: &Owner, n: usize) -> TcResult<Vec<Option<u16>>> {
    let raw = p.ints("RealServerPorts")?;
    if raw.is_empty() {
        return Ok(vec![None; n]);
    }
    if owner.group().is_none() {
        return Err(TcError::value(
            "RealServerPorts",
            "only proxy-group listeners take RealServerPorts",
        ));
    }
    if raw.len() != n {
        return Err(TcError::value(
            "RealServerPorts",
            "must have as many items as Ports",
        ));
    }
    raw.into_iter()
        .enumerate()
        .map(|(i, v)| Ok(Some(validate::port(&format!("RealServerPorts.{i}"), v)?)))
        .collect()
}

/// The protocol's other owner that would take the same port: a group's members or a member's group.
fn port_clash(st: &State, owner: &Owner, protocol: Protocol, port: u16) -> Option<String> {
    let r = PortRange::single(port);
    let mut owners: Vec<String> = vec![owner.id().to_string()];
    match owner {
        Owner::Group(g) => owners.extend(st.members_of(g).map(|a| a.id.clone())),
        Owner::Accelerator(a) => {
            owners.extend(st.accelerators.get(a).and_then(|a| a.group_id.clone()))
        }
    }
    owners
        .iter()
        .find_map(|o| st.port_taken(o, protocol, &r, None).map(|l| l.id.clone()))
}

async fn create(ctx: &Ctx<'_>, p: Params, protocol: Protocol) -> TcResult<Map<String, Value>> {
    let name = p.nonempty("ListenerName")?;
    validate::length("ListenerName", &name, 1, 64)?;
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
            validate::length("ListenerName", &name, 1, 64)?;
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
