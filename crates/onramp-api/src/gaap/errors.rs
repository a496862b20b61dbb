//! The one place GAAP turns an operation's `OpError` into its codes and words, and names the
//! model's fields with its parameter names.

use onramp_core::validate::Invalid;
use onramp_ops::{OpError, Res};

use crate::tencent::TcError;

/// GAAP's parameter for a model field the operations name.
fn param(field: &str) -> &str {
    match field {
        "scheduler" => "Scheduler",
        "health.interval" => "DelayLoop",
        "health.timeout" => "ConnectTimeout",
        "health.udp_check" => "CheckType",
        "client_ip" => "ClientIPMethod",
        "failover" => "FailoverSwitch",
        "origin_port" => "RealServerPorts",
        "origin_region" => "RealServerRegion",
        "ip_version" => "IPAddressVersion",
        "package_type" => "PackageType",
        "address" => "RealServerIP",
        "origin" => "RealServerId",
        other => other,
    }
}

fn id_param(res: Res) -> &'static str {
    match res {
        Res::Accelerator => "ProxyId",
        Res::Group => "GroupId",
        Res::Listener => "ListenerId",
        Res::EndpointGroup => "EndpointGroupId",
        Res::Origin | Res::Endpoint => "RealServerId",
        Res::HealthCheck | Res::LogTank => "ListenerId",
        Res::Task => "TaskId",
        Res::IpGroup => "IpGroupId",
    }
}

fn creates_listeners(action: &str) -> bool {
    matches!(action, "CreateTCPListeners" | "CreateUDPListeners")
}

/// `e` as GAAP answers it to `action`.
pub fn tc(e: OpError, action: &str) -> TcError {
    match e {
        OpError::NotFound(res, id) => TcError::not_found(id_param(res), &id),
        OpError::NotRunning(Res::Group, id) => TcError::new(
            "FailedOperation.GroupStatusNotInRuning",
            format!("The proxy group {id} is not running."),
        ),
        OpError::NotRunning(_, id) if creates_listeners(action) => TcError::new(
            "FailedOperation.ProxyStatusNotInRuning",
            format!("The proxy {id} is not running."),
        ),
        OpError::NotRunning(_, id) => TcError::new(
            "FailedOperation.InstanceStatusNotInRuning",
            format!("The proxy {id} is not running (it is closed)."),
        ),
        OpError::PortTaken {
            protocol,
            port,
            listener,
        } => {
            let by = listener.map_or("another listener".to_string(), |l| format!("listener {l}"));
            TcError::new(
                "InvalidParameterValue.DuplicatedListenerPort",
                format!(
                    "The {} port {port} is already used by {by}.",
                    protocol.upper()
                ),
            )
        }
        OpError::OriginPortTaken {
            origin,
            port,
            listener,
            ..
        } => TcError::new(
            "InvalidParameterValue.DuplicateRS",
            format!(
                "The real server {origin} port {port} is already bound to listener {listener}."
            ),
        ),
        OpError::WrongProtocol { listener, protocol } => TcError::new(
            "FailedOperation.InvalidListenerProtocol",
            format!(
                "The listener {listener} is a {} listener.",
                protocol.upper()
            ),
        ),
        OpError::StillBound { res, id, listener } => still_bound(res, &id, &listener),
        OpError::HasMembers { group, count } => TcError::new(
            "FailedOperation.DeleteProxyGroupProxyRemained",
            format!(
                "The group {group} still has {count} proxies; destroy them first or set Force=1."
            ),
        ),
        OpError::DuplicateAddress { address, project } => TcError::new(
            "InvalidParameterValue.DuplicateRS",
            format!("The real server {address} already exists in project {project}."),
        ),
        OpError::Duplicate { what, value, .. } => {
            TcError::value(what, format!("'{value}' is given or held twice"))
        }
        OpError::Banned { origin, address } => TcError::new(
            "InvalidParameterValue.HitBanBlacklist",
            format!("The real server {origin} ({address}) is on the ban blacklist."),
        ),
        OpError::GroupMismatch {
            field,
            given,
            group,
        } => TcError::new(
            "InvalidParameterValue.ProxyAndGroupFeatureConflict",
            format!(
                "The value of `{}` ('{given}') differs from the group's ('{group}').",
                param(field)
            ),
        ),
        OpError::RegionTaken { group, region } => TcError::value(
            "AccessRegion",
            format!("group {group} already has a proxy in access region '{region}'"),
        ),
        OpError::RegionNotServed(region) => TcError::value(
            "RealServerRegion",
            format!("no edge serves region '{region}'"),
        ),
        OpError::UsedBy { id, by, .. } => TcError::new(
            "FailedOperation.RealServerAlreadyBound",
            format!("{id} is still used by {by}; remove it first."),
        ),
        OpError::Exists { of, .. } => {
            TcError::new("ResourceInUse", format!("{of} already has one."))
        }
        OpError::Missing(field) => TcError::missing(param(field)),
        OpError::Invalid(Invalid { field, reason }) => TcError::value(param(&field), reason),
        OpError::Quota {
            what: what @ ("accelerators" | "listeners" | "tags"),
            limit,
            given,
        } => TcError::new(
            "LimitExceeded",
            format!("At most {limit} {what} are allowed here; this would make {given}."),
        ),
        OpError::Quota { limit, given, .. } => TcError::new(
            "FailedOperation.LimitRealServerNum",
            format!("A listener can have at most {limit} bound real servers; {given} were given."),
        ),
        OpError::InUse { id, count, .. } => TcError::new(
            "ResourceInUse",
            format!("{id} still has {count} dependent resources; delete them first."),
        ),
        OpError::Item { index, error } => bind_item(index, *error, action),
        OpError::Store(_) => TcError::internal("the store could not complete the write"),
    }
}

fn still_bound(res: Res, id: &str, listener: &str) -> TcError {
    let message = match res {
        Res::Origin => format!(
            "The real server {id} is bound to listener {listener}; unbind it before removing it."
        ),
        Res::Group => format!(
            "The group {id} has listeners with bound real servers; unbind them or set Force=1."
        ),
        _ => format!(
            "The proxy {id} has listeners with bound real servers; unbind them or set Force=1."
        ),
    };
    TcError::new("FailedOperation.RealServerAlreadyBound", message)
}

/// An error of item `index` of `RealServerBindSet` (the only list whose items the operations
/// check against the state).
fn bind_item(index: usize, e: OpError, action: &str) -> TcError {
    let field = |k: &str| {
        let k = param(k);
        if k.is_empty() {
            format!("RealServerBindSet.{index}")
        } else {
            format!("RealServerBindSet.{index}.{k}")
        }
    };
    match e {
        OpError::NotFound(Res::Origin, id) => TcError::new(
            "InvalidParameterValue.RealServerNotBelong",
            format!(
                "The real server {id} ({}) does not belong to this account.",
                field("origin")
            ),
        ),
        OpError::Invalid(Invalid { field: f, reason }) => TcError::value(&field(&f), reason),
        other => tc(other, action),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use onramp_core::Protocol;

    #[test]
    fn every_refusal_has_its_gaap_code() {
        let cases = [
            (
                OpError::NotFound(Res::Listener, "listener-x".into()),
                "",
                "ResourceNotFound",
            ),
            (
                OpError::NotRunning(Res::Accelerator, "link-x".into()),
                "CreateTCPListeners",
                "FailedOperation.ProxyStatusNotInRuning",
            ),
            (
                OpError::NotRunning(Res::Accelerator, "link-x".into()),
                "CreateProxy",
                "FailedOperation.InstanceStatusNotInRuning",
            ),
            (
                OpError::NotRunning(Res::Group, "lg-x".into()),
                "CreateTCPListeners",
                "FailedOperation.GroupStatusNotInRuning",
            ),
            (
                OpError::PortTaken {
                    protocol: Protocol::Udp,
                    port: 53,
                    listener: None,
                },
                "",
                "InvalidParameterValue.DuplicatedListenerPort",
            ),
            (
                OpError::HasMembers {
                    group: "lg-x".into(),
                    count: 1,
                },
                "",
                "FailedOperation.DeleteProxyGroupProxyRemained",
            ),
            (
                OpError::DuplicateAddress {
                    address: "1.1.1.1".into(),
                    project: 0,
                },
                "",
                "InvalidParameterValue.DuplicateRS",
            ),
            (OpError::Missing("origin_region"), "", "MissingParameter"),
            (
                OpError::item(2, OpError::NotFound(Res::Origin, "rs-x".into())),
                "",
                "InvalidParameterValue.RealServerNotBelong",
            ),
        ];
        for (e, action, code) in cases {
            assert_eq!(tc(e, action).code, code);
        }
        let e = tc(OpError::item(2, OpError::invalid("address", "no")), "");
        assert!(
            e.message.contains("RealServerBindSet.2.RealServerIP"),
            "{}",
            e.message
        );
        let e = tc(OpError::invalid("health.timeout", "too long"), "");
        assert!(e.message.contains("`ConnectTimeout`"), "{}", e.message);
    }
}
