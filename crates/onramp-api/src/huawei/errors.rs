//! The one place the Huawei dialect turns an operation's `OpError` into its HTTP status, code and
//! words (reference huawei-ga.md §5), and names the model's fields with its own body paths.

use http::StatusCode;
use onramp_ops::{OpError, Res};

use super::HwError;

/// Huawei's body path for a model field the operations name.
fn field(f: &str) -> &str {
    match f {
        "scheduler" => "listener.client_affinity",
        "health.interval" => "health_check.interval",
        "health.timeout" => "health_check.timeout",
        "origin_port" => "endpoint.port",
        "address" => "endpoint.ip_address",
        "origin" => "endpoint.resource_id",
        "ports" => "listener.port_ranges",
        "traffic_dial" => "endpoint_group.traffic_dial_percentage",
        "weight" => "endpoint.weight",
        "log_group_id" => "logtank.log_group_id",
        "log_stream_id" => "logtank.log_stream_id",
        other => other,
    }
}

fn res(r: Res) -> &'static str {
    match r {
        Res::Accelerator => "accelerator",
        Res::Group => "accelerator",
        Res::Listener => "listener",
        Res::EndpointGroup => "endpoint_group",
        Res::Origin | Res::Endpoint => "endpoint",
        Res::HealthCheck => "health_check",
        Res::Task => "task",
        Res::IpGroup => "ip_group",
        Res::LogTank => "logtank",
    }
}

/// `e` as the Huawei GA service answers it.
pub fn hw(e: OpError) -> HwError {
    let bad = |code: &'static str, msg: String| HwError::new(StatusCode::BAD_REQUEST, code, msg);
    match e {
        OpError::NotFound(r, id) => HwError::not_found(&format!("{} {id}", res(r))),
        OpError::NotRunning(r, id) => bad(
            "GA.9004",
            format!(
                "Resource {} {id} is in a status no operation allowed",
                res(r)
            ),
        ),
        OpError::PortTaken { protocol, port, .. } => bad(
            "GA.9101",
            format!(
                "port_ranges is invalid or overlapped: {} port {port} is already used",
                protocol.upper()
            ),
        ),
        OpError::OriginPortTaken {
            origin,
            port,
            listener,
            ..
        } => bad(
            "GA.9104",
            format!("Resource endpoint {origin}:{port} is already exists in listener {listener}"),
        ),
        OpError::WrongProtocol { listener, protocol } => HwError::invalid(
            "listener.protocol",
            format!("listener {listener} is {}", protocol.upper()),
        ),
        OpError::StillBound {
            res: r,
            id,
            listener,
        } => HwError::new(
            StatusCode::CONFLICT,
            "GA.9005",
            format!("Found {} {id} is associated by listener {listener}", res(r)),
        ),
        OpError::HasMembers { group, count } => HwError::new(
            StatusCode::CONFLICT,
            "GA.9005",
            format!("Found accelerator {group} is associated by {count} resources"),
        ),
        OpError::InUse {
            res: r,
            id,
            by,
            count,
        } => HwError::new(
            StatusCode::CONFLICT,
            "GA.9005",
            format!("Found {} {id} is associated by {count} {}", res(r), res(by)),
        ),
        OpError::DuplicateAddress { address, .. } => bad(
            "GA.9104",
            format!("Resource endpoint {address} is already exists"),
        ),
        OpError::Banned { origin, address } => bad(
            "GA.9004",
            format!("Resource endpoint {origin} ({address}) is banned"),
        ),
        OpError::Duplicate {
            what,
            value,
            in_request: true,
        } => bad("GA.9110", format!("Duplicated entry: {what} {value}")),
        OpError::Duplicate { what, value, .. } => bad(
            "GA.9104",
            format!("Resource {what} {value} is already exists"),
        ),
        OpError::GroupMismatch {
            field: f,
            given,
            group,
        } => HwError::invalid(field(f), format!("'{given}' differs from '{group}'")),
        OpError::RegionTaken { group, region } => bad(
            "GA.9104",
            format!("Resource endpoint_group of {group} in {region} is already exists"),
        ),
        OpError::RegionNotServed(region) => bad(
            "GA.9105",
            format!("The acceleration capability is not enabled for the selected region: {region}"),
        ),
        OpError::UsedBy { res: r, id, by } => HwError::new(
            StatusCode::CONFLICT,
            "GA.9005",
            format!("Found {} {id} is associated by {by}", res(r)),
        ),
        OpError::Exists { res: r, of } => bad(
            "GA.9104",
            format!("Resource {} of {of} is already exists", res(r)),
        ),
        OpError::Missing(f) => HwError::invalid(field(f), "is required"),
        OpError::Invalid(i) => HwError::invalid(field(&i.field), i.reason),
        OpError::Quota { what, limit, given } => bad(
            "GA.9103",
            format!("Insufficient quota resource : {what} (at most {limit}, asked for {given})"),
        ),
        OpError::Item { index, error } => {
            let mut e = hw(*error);
            e.message = format!("item {index}: {}", e.message);
            e
        }
        OpError::Store(e) => {
            tracing::error!(error = %e, "store write failed");
            HwError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "GA.0500",
                "The store could not complete the write; nothing was changed.",
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use onramp_core::Protocol;

    #[test]
    fn codes_follow_the_reference() {
        let c = |e: OpError| {
            let h = hw(e);
            (h.status.as_u16(), h.code)
        };
        assert_eq!(
            c(OpError::NotFound(Res::Listener, "x".into())),
            (404, "GA.9002")
        );
        assert_eq!(
            c(OpError::PortTaken {
                protocol: Protocol::Tcp,
                port: 80,
                listener: None
            }),
            (400, "GA.9101")
        );
        assert_eq!(
            c(OpError::StillBound {
                res: Res::Listener,
                id: "l".into(),
                listener: "l".into()
            }),
            (409, "GA.9005")
        );
        assert_eq!(
            c(OpError::Quota {
                what: "listeners",
                limit: 10,
                given: 11
            }),
            (400, "GA.9103")
        );
        assert_eq!(c(OpError::Missing("scheduler")), (400, "GA.9001"));
        assert_eq!(
            c(OpError::InUse {
                res: Res::Accelerator,
                id: "a".into(),
                by: Res::Listener,
                count: 2
            }),
            (409, "GA.9005")
        );
        let e = hw(OpError::invalid("ports", "must have 1-10 port ranges"));
        assert!(e.message.contains("listener.port_ranges"), "{}", e.message);
        let e = hw(OpError::item(2, OpError::Missing("address")));
        assert!(e.message.starts_with("item 2:") && e.message.contains("endpoint.ip_address"));
    }
}
