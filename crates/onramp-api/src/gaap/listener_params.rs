//! Decoding and validating the parameters of the listener actions: owner, ports, scheduler,
//! health check (TCP and UDP probes), failover and onramp's extensions.

use onramp_core::*;

use crate::tencent::{Ctx, Params, TcError, TcResult};

const MAX_PORTS_PER_CALL: usize = 100;

/// Exactly one of ProxyId / GroupId, resolved to an existing, running owner.
pub(super) fn owner_of(ctx: &Ctx<'_>, st: &State, p: &Params) -> TcResult<(Owner, String)> {
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

pub(super) fn scheduler(p: &Params, kind: OriginKind) -> TcResult<Option<Scheduler>> {
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
pub(super) fn apply_health(p: &Params, l: &mut Listener) -> TcResult<()> {
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
pub(super) fn apply_udp_probe(p: &Params, h: &mut HealthCheck) -> TcResult<()> {
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

pub(super) fn ports(p: &Params) -> TcResult<Vec<u16>> {
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

pub(super) fn origin_ports(p: &Params, owner: &Owner, n: usize) -> TcResult<Vec<Option<u16>>> {
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
pub(super) fn port_clash(
    st: &State,
    owner: &Owner,
    protocol: Protocol,
    port: u16,
) -> Option<String> {
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
