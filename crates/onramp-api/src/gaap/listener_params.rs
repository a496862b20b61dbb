//! Decoding and validating the parameters of the listener actions: owner, ports, scheduler,
//! health check (TCP and UDP probes), failover and onramp's extensions. Stateless: what depends
//! on stored records (the owner, port clashes, how settings combine) is `onramp_ops::listeners`.

use onramp_core::*;
use onramp_ops::listeners::ListenerPatch;

use crate::tencent::{Params, TcError, TcResult};

const MAX_PORTS_PER_CALL: usize = 100;

/// Exactly one of ProxyId / GroupId.
pub(super) fn owner_param(p: &Params) -> TcResult<Owner> {
    match (p.str_opt("ProxyId")?, p.str_opt("GroupId")?) {
        (Some(_), Some(_)) => Err(TcError::conflict("ProxyId", "GroupId")),
        (None, None) => Err(TcError::missing("ProxyId")),
        (Some(id), None) => Ok(Owner::Accelerator(id)),
        (None, Some(id)) => Ok(Owner::Group(id)),
    }
}

fn scheduler(p: &Params) -> TcResult<Option<Scheduler>> {
    let s = p.one_of("Scheduler", &["rr", "wrr", "lc", "lrtt"])?;
    Ok(s.map(|s| Scheduler::parse(&s).unwrap_or_default()))
}

fn uint(p: &Params, k: &str, lo: i64, hi: i64) -> TcResult<Option<u32>> {
    Ok(p.int_in(k, lo, hi)?.map(|v| v as u32))
}

/// The settings `p` changes: scheduler, health check, failover, extensions and, for UDP, the
/// probe. How they combine with the stored listener is checked by the operation.
pub(super) fn patch(p: &Params, protocol: Protocol) -> TcResult<ListenerPatch> {
    let mut out = ListenerPatch {
        scheduler: scheduler(p)?,
        health_enabled: p.flag("HealthCheck")?,
        interval_secs: uint(p, "DelayLoop", 5, 300)?,
        timeout_secs: uint(p, "ConnectTimeout", 2, 60)?,
        healthy_threshold: uint(p, "HealthyThreshold", 1, 10)?,
        unhealthy_threshold: uint(p, "UnhealthyThreshold", 1, 10)?,
        ..Default::default()
    };
    extensions(p, &mut out)?;
    out.failover = p.flag("FailoverSwitch")?;
    if protocol == Protocol::Udp {
        udp_probe(p, &mut out)?;
    }
    Ok(out)
}

/// onramp extensions (documented in docs/api.md): `SessionPersist` (seconds of source-IP
/// persistence, 0 = off), `MaxConnections` (per-listener concurrent limit, 0 = none) and
/// `ClientIPMethod` 2 (PROXY protocol v2).
fn extensions(p: &Params, out: &mut ListenerPatch) -> TcResult<()> {
    out.session_persist_secs = uint(p, "SessionPersist", 0, 3600)?;
    out.max_connections = p.int_in("MaxConnections", 0, 10_000_000)?.map(|v| v as u64);
    out.client_ip = p.int_in("ClientIPMethod", 0, 2)?.map(|m| match m {
        0 => ClientIpMethod::Toa,
        1 => ClientIpMethod::ProxyV1,
        _ => ClientIpMethod::ProxyV2,
    });
    Ok(())
}

/// UDP probe parameters (CheckType, CheckPort, ContextType, SendContext, RecvContext).
fn udp_probe(p: &Params, out: &mut ListenerPatch) -> TcResult<()> {
    out.udp_check = p.one_of("CheckType", &["PORT", "PING"])?.map(|t| {
        if t == "PING" {
            UdpCheck::Ping
        } else {
            UdpCheck::Port
        }
    });
    if let Some(port) = p.i64_opt("CheckPort")? {
        out.probe_port = Some(if port == -1 {
            None
        } else {
            Some(validate::port("CheckPort", port)?)
        });
    }
    p.one_of("ContextType", &["TEXT"])?;
    for (key, slot) in [
        ("SendContext", &mut out.send),
        ("RecvContext", &mut out.expect),
    ] {
        if let Some(s) = p.str_opt(key)? {
            validate::length(key, &s, 0, 500)?;
            *slot = Some(s);
        }
    }
    out.probe_payload_given = p.has("SendContext") || p.has("RecvContext") || p.has("ContextType");
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
