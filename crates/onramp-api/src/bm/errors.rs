//! The one place the BM dialect turns a refusal into its codes: an operation's `OpError`, a
//! parameter the request got wrong, an action outside a layer-4 system. Each refusal is
//! classified once (the v2 common code, the module code and its English hint, the 3.0 code)
//! and encoded either way: v2 `{code, message: "(module)…", codeDesc}`, 3.0 `Error.Code`.

use onramp_core::validate::Invalid;
use onramp_ops::{OpError, Res};

use super::v2::BmError;
use super::Style;
use crate::tencent::TcError;

/// Why a BM action did not run.
#[derive(Debug)]
pub enum Refusal {
    /// The model refused the operation.
    Op(OpError),
    /// A parameter is missing, unknown or wrong (decoded with the API 3.0 codes).
    Param(TcError),
    /// A layer-7, certificate or traffic-mirror action: not offered by a layer-4 system.
    Layer7(String),
    /// No such action.
    NoAction(String),
}

impl From<OpError> for Refusal {
    fn from(e: OpError) -> Self {
        Refusal::Op(e)
    }
}

impl From<TcError> for Refusal {
    fn from(e: TcError) -> Self {
        Refusal::Param(e)
    }
}

impl From<Invalid> for Refusal {
    fn from(e: Invalid) -> Self {
        Refusal::Param(e.into())
    }
}

/// One refusal in both forms' words.
struct Coded {
    /// v2 common code (4000 parameter, 5000 not found, 5100 operation failed, …).
    common: i64,
    /// v2 module code (in parentheses at the start of `message`) and its English hint.
    module: i64,
    hint: &'static str,
    /// API 3.0 `Error.Code`.
    v3: &'static str,
    message: String,
}

const LAYER4_ONLY: &str = "is outside a layer-4 system: onramp forwards TCP and UDP only, so \
     HTTP/HTTPS listeners, forwarding rules and locations, certificates and traffic mirrors are \
     not offered";

/// The BM parameter (v2 spelling) for a model field the operations name.
fn param(field: &str) -> &str {
    match field {
        "health.interval" => "intervalTime",
        "health.timeout" => "timeOut",
        "health.send" => "healthRequest",
        "health.expect" => "healthResponse",
        "health.udp_check" => "customHealthSwitch",
        "client_ip" => "toaFlag",
        "scheduler" => "BalanceMode",
        "domain_prefix" => "domainPrefix",
        "origin" | "address" => "instanceId",
        "access_region" => "Region",
        other => other,
    }
}

fn not_found(r: Res, id: &str) -> Coded {
    let (module, hint, what) = match r {
        Res::Accelerator | Res::Group => (
            11041,
            "InvalidParameter.CCDBLBNotExist",
            "the load balancer",
        ),
        Res::Listener => (-12023, "InvalidL4Listener.NotExist", "the L4 listener"),
        Res::Origin => (30011, "InvalidRs.NotExist", "the instance"),
        Res::Endpoint => (30011, "InvalidRs.NotExist", "no backend is bound as"),
        _ => (9003, "InvalidParameter", "the resource"),
    };
    let message = match r {
        Res::Endpoint => format!("{what} {id}"),
        Res::Origin => format!(
            "{what} {id} is not an origin onramp knows (register it with GAAP AddRealServers, \
             or bind it by IP address)"
        ),
        _ => format!("{what} {id} does not exist"),
    };
    Coded {
        common: 5000,
        module,
        hint,
        v3: "ResourceNotFound",
        message,
    }
}

fn quota(what: &str, limit: usize, given: usize) -> Coded {
    let (module, hint) = match what {
        "listeners" => (12014, "InvalidResource.ListenerNumberOverLimit"),
        "bound origins" => (12013, "InvalidResource.BindCPMNumberOverLimit"),
        "load balancers in one order" => (12010, "InvalidResource.LBNumberOverOrderLimit"),
        _ => (12011, "InvalidResource.LBNumberOverTotalLimit"),
    };
    Coded {
        common: 5100,
        module,
        hint,
        v3: "LimitExceeded",
        message: format!("at most {limit} {what}; this would make {given}"),
    }
}

fn invalid(message: String) -> Coded {
    Coded {
        common: 4000,
        module: 9003,
        hint: "InvalidParameter",
        v3: "InvalidParameterValue",
        message,
    }
}

fn in_use(message: String) -> Coded {
    Coded {
        common: 5100,
        module: -21001,
        hint: "InvalidStatus.LBInvalidStatus",
        v3: "ResourceInUse",
        message,
    }
}

fn op(e: OpError, s: Style) -> Coded {
    match e {
        OpError::NotFound(r, id) => not_found(r, &id),
        OpError::NotRunning(_, id) => Coded {
            common: 5100,
            module: 12003,
            hint: "IncorrectStatus.LBWrongStatus",
            v3: "FailedOperation",
            message: format!("the load balancer {id} is not running"),
        },
        OpError::PortTaken {
            protocol,
            port,
            listener,
        } => Coded {
            common: 4000,
            module: -12013,
            hint: "InvalidParameter.VportIsDuplicate",
            v3: "InvalidParameter",
            message: match listener {
                Some(l) => format!(
                    "{} port {port} is already used by listener {l}",
                    protocol.lower()
                ),
                None => format!(
                    "{} port {port} is already used by a listener",
                    protocol.lower()
                ),
            },
        },
        OpError::OriginPortTaken {
            origin,
            port,
            protocol,
            listener,
        } => Coded {
            common: 4000,
            module: -12022,
            hint: "InvalidParameter.InvalidMultiL4VportToRsport",
            v3: "InvalidParameter",
            message: format!(
                "port {port} of {origin} is already bound to the {} listener {listener}",
                protocol.lower()
            ),
        },
        OpError::Banned { origin, address } => Coded {
            common: 5100,
            module: -21000,
            hint: "InvalidStatus.DeviceInvalidStatus",
            v3: "FailedOperation",
            message: format!("the instance {origin} ({address}) is banned"),
        },
        OpError::StillBound { id, listener, .. } => {
            in_use(format!("{id} is still bound to listener {listener}"))
        }
        OpError::InUse { id, count, .. } => in_use(format!("{id} still has {count} dependents")),
        OpError::UsedBy { id, by, .. } => in_use(format!("{id} is still used by {by}")),
        OpError::HasMembers { group, count } => {
            in_use(format!("{group} still has {count} members"))
        }
        OpError::Quota { what, limit, given } => quota(what, limit, given),
        OpError::Missing(f) => invalid(format!("the parameter {} is required", s.name(param(f)))),
        OpError::Invalid(Invalid { field, reason }) => {
            invalid(format!("{}: {reason}", s.name(param(&field))))
        }
        OpError::Duplicate { what, value, .. } => {
            invalid(format!("{what} {value} is already used"))
        }
        OpError::Item { index, error } => {
            let mut c = op(*error, s);
            c.message = format!("item {index}: {}", c.message);
            c
        }
        OpError::Store(e) => {
            tracing::error!(error = %e, "store write failed");
            Coded {
                common: 6000,
                module: 9006,
                hint: "InternalError.CCDBAbnormal",
                v3: "InternalError",
                message: "the store could not complete the write; nothing was changed".into(),
            }
        }
        other => invalid(other.to_string()),
    }
}

/// `r` in the v2 envelope's terms.
pub fn v2(r: Refusal) -> BmError {
    match r {
        Refusal::Param(e) => BmError::param(e.message),
        Refusal::Layer7(a) => {
            BmError::new(6100, "UnsupportedOperation", format!("{a} {LAYER4_ONLY}"))
        }
        Refusal::NoAction(a) => BmError::new(
            6100,
            "InvalidAction",
            format!("the action {a} does not exist"),
        ),
        Refusal::Op(e) => {
            let c = op(e, Style::V2);
            BmError::new(c.common, c.hint, format!("({}){}", c.module, c.message))
        }
    }
}

/// `r` as API 3.0 answers it.
pub fn v3(r: Refusal) -> TcError {
    match r {
        Refusal::Param(e) => e,
        Refusal::Layer7(a) => TcError::new("UnsupportedOperation", format!("{a} {LAYER4_ONLY}.")),
        Refusal::NoAction(a) => {
            TcError::new("InvalidAction", format!("The action `{a}` does not exist."))
        }
        Refusal::Op(e) => {
            let c = op(e, Style::V3);
            TcError::new(c.v3, format!("{} ({}).", c.message, c.hint))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use onramp_core::Protocol;

    #[test]
    fn documented_codes_for_each_refusal() {
        let v2c = |e: OpError| {
            let b = v2(Refusal::Op(e));
            let module: String = b.message.chars().take_while(|c| *c != ')').collect();
            (b.code, module.trim_start_matches('(').to_string(), b.desc)
        };
        let port = OpError::PortTaken {
            protocol: Protocol::Tcp,
            port: 80,
            listener: None,
        };
        assert_eq!(
            v2c(port),
            (4000, "-12013".into(), "InvalidParameter.VportIsDuplicate")
        );
        let taken = OpError::OriginPortTaken {
            origin: "rs-1".into(),
            port: 80,
            protocol: Protocol::Tcp,
            listener: "lbl-1".into(),
        };
        assert_eq!(v2c(taken).1, "-12022");
        let q = |what| OpError::Quota {
            what,
            limit: 1,
            given: 2,
        };
        assert_eq!(v2c(q("listeners")).1, "12014");
        assert_eq!(v2c(q("bound origins")).1, "12013");
        assert_eq!(v2c(q("accelerators")).1, "12011");
        assert_eq!(v2c(q("load balancers in one order")).1, "12010");
        assert_eq!(
            v2c(OpError::NotFound(Res::Accelerator, "lb-x".into())).1,
            "11041"
        );
        assert_eq!(
            v2c(OpError::NotFound(Res::Listener, "lbl-x".into())).1,
            "-12023"
        );
        assert_eq!(
            v2c(OpError::NotFound(Res::Origin, "rs-x".into())).1,
            "30011"
        );
        let e = v2(Refusal::Op(OpError::invalid(
            "health.timeout",
            "must be less",
        )));
        assert!(e.message.starts_with("(9003)timeOut:"), "{}", e.message);
        let e = v3(Refusal::Op(OpError::invalid("health.send", "bad hex")));
        assert_eq!(e.code, "InvalidParameterValue");
        assert!(e.message.contains("HealthRequest"), "{}", e.message);
        let e = v3(Refusal::Op(OpError::NotFound(
            Res::Listener,
            "lbl-x".into(),
        )));
        assert_eq!(e.code, "ResourceNotFound");
        let e = v2(Refusal::Layer7("CreateBmForwardListeners".into()));
        assert_eq!((e.code, e.desc), (6100, "UnsupportedOperation"));
        assert!(e.message.contains("outside a layer-4 system"));
    }
}
