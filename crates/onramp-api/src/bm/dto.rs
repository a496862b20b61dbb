//! The typed requests of the BM actions, decoded from either form (`Style`): every documented
//! range, enum and count is checked here, statelessly; what depends on stored records (ports in
//! use, bound ports, counts of listeners and backends, unique domains) is the operations'.

use onramp_core::{
    validate, ClientIpMethod, Dedication, HealthCheck, Listener, Network, PortRange, Protocol,
    Scheduler,
};
use onramp_ops::backends::Target;
use onramp_ops::balancers::{NewBalancers, MAX_LISTENERS};
use onramp_ops::bindings::MAX_BOUND;
use onramp_ops::listeners::ListenerPatch;

use super::codes::{self, value, words};
use super::{Refusal, Style};
use crate::tencent::{Params, TcError};

/// A decoded request's parameters and the form they came in.
pub struct In {
    pub p: Params,
    pub s: Style,
}

impl In {
    /// `params`, refusing keys other than `allowed` (v2 spellings).
    pub fn new(params: serde_json::Value, s: Style, allowed: &[&str]) -> Result<Self, Refusal> {
        Ok(Self {
            p: s.params(params, allowed)?,
            s,
        })
    }

    fn nested(p: Params, s: Style) -> Self {
        Self { p, s }
    }

    pub fn k(&self, v2: &str) -> String {
        self.s.name(v2)
    }

    pub fn text(&self, v2: &str) -> Result<Option<String>, TcError> {
        self.p.str_opt(&self.k(v2))
    }

    pub fn required(&self, v2: &str) -> Result<String, TcError> {
        self.p.nonempty(&self.k(v2))
    }

    pub fn int(&self, v2: &str, lo: i64, hi: i64) -> Result<Option<i64>, TcError> {
        self.p.int_in(&self.k(v2), lo, hi)
    }

    pub fn required_int(&self, v2: &str, lo: i64, hi: i64) -> Result<i64, TcError> {
        self.int(v2, lo, hi)?
            .ok_or_else(|| TcError::missing(&self.k(v2)))
    }

    fn uint(&self, v2: &str, lo: i64, hi: i64) -> Result<Option<u32>, TcError> {
        Ok(self.int(v2, lo, hi)?.map(|v| v as u32))
    }

    fn flag(&self, v2: &str) -> Result<Option<bool>, TcError> {
        self.p.flag(&self.k(v2))
    }

    /// A string from `table`, as its value.
    pub fn word<V: Copy>(&self, v2: &str, table: &[(&str, V)]) -> Result<Option<V>, TcError> {
        let allowed = words(table);
        let allowed: Vec<&str> = allowed.iter().map(String::as_str).collect();
        Ok(self
            .p
            .one_of(&self.k(v2), &allowed)?
            .and_then(|w| value(table, &w.as_str())))
    }

    /// A list of strings, each once, in order.
    pub fn list(&self, v2: &str) -> Result<Vec<String>, TcError> {
        let mut out: Vec<String> = Vec::new();
        for v in self.p.strs(&self.k(v2))? {
            if !out.contains(&v) {
                out.push(v);
            }
        }
        Ok(out)
    }

    /// A required list with 1..=`max` items.
    pub fn required_list(&self, v2: &str, max: usize) -> Result<Vec<String>, TcError> {
        let v = self.list(v2)?;
        if v.is_empty() {
            return Err(TcError::missing(&self.k(v2)));
        }
        if v.len() > max {
            return Err(TcError::value(&self.k(v2), format!("at most {max} items")));
        }
        Ok(v)
    }

    /// Objects of list `v2`, each with keys among `allowed` (v2 spellings).
    pub fn objects(&self, v2: &str, allowed: &[&str]) -> Result<Vec<In>, TcError> {
        let names: Vec<String> = allowed.iter().map(|n| self.k(n)).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        Ok(self
            .p
            .objects(&self.k(v2), &names)?
            .into_iter()
            .map(|p| In::nested(p, self.s))
            .collect())
    }

    /// `offset`/`limit` with the documented default of 20.
    pub fn page(&self, max: i64) -> Result<(usize, usize), TcError> {
        let offset = self.int("offset", 0, i64::MAX)?.unwrap_or(0);
        let limit = self.int("limit", 1, max)?.unwrap_or(20);
        Ok((offset as usize, limit as usize))
    }
}

/// `CreateBmLoadBalancer` / `CreateLoadBalancers` parameters.
pub const ORDER: &[&str] = &[
    "unVpcId",
    "unSubnetId",
    "projectId",
    "loadBalancerType",
    "goodsNum",
    "payMode",
    "tgwSetType",
    "exclusive",
    "specifiedVips",
    "bzConf",
    "ipProtocolType",
];

/// An order of load balancers (its region is the handler's to fill). The edges of that region
/// serve every load balancer at their addresses (`edge_addresses`), so a specified VIP must be
/// one of them.
pub fn order(i: &In, edge_addresses: &[String]) -> Result<NewBalancers, Refusal> {
    let shown = edge_addresses.join(", ");
    let vpc_id = i.required("unVpcId")?;
    validate::text(&i.k("unVpcId"), &vpc_id, 1, 64)?;
    let subnet_id = i.text("unSubnetId")?.unwrap_or_default();
    validate::text(&i.k("unSubnetId"), &subnet_id, 0, 64)?;
    let exposure = i
        .word("loadBalancerType", codes::EXPOSURE)?
        .ok_or_else(|| TcError::missing(&i.k("loadBalancerType")))?;
    // More than `MAX_PER_ORDER` is the operation's refusal (its own code, 12010).
    let count = i.int("goodsNum", 1, 10_000)?.unwrap_or(1) as usize;
    forwarding(i)?;
    if i.p.has(&i.k("bzConf")) {
        return Err(TcError::value(
            &i.k("bzConf"),
            "guaranteed-performance billing is not offered: onramp has no billing",
        )
        .into());
    }
    let vips = i.list("specifiedVips")?;
    if !vips.is_empty() && (vips.len() != count || vips.iter().any(|v| !edge_addresses.contains(v)))
    {
        let why = format!(
            "onramp serves load balancers at the edges' addresses ({shown}), one VIP per goodsNum"
        );
        return Err(TcError::value(&i.k("specifiedVips"), why).into());
    }
    let v6_edge = edge_addresses
        .iter()
        .any(|e| e.parse::<std::net::IpAddr>().is_ok_and(|a| a.is_ipv6()));
    let ip_version = match i
        .p
        .one_of(&i.k("ipProtocolType"), &["ipv4", "ipv6"])?
        .as_deref()
    {
        Some("ipv6") if !v6_edge => {
            let why = format!("the edges serve at {shown}: no IPv6 address");
            return Err(TcError::value(&i.k("ipProtocolType"), why).into());
        }
        Some("ipv6") => "IPv6",
        _ => "IPv4",
    };
    let dedication = match i.int("exclusive", 0, 4)? {
        Some(n) => value(codes::DEDICATION, &n).unwrap_or_default(),
        None => Dedication::Shared,
    };
    Ok(NewBalancers {
        count,
        project_id: i.int("projectId", 0, i64::MAX)?.unwrap_or(0),
        region: String::new(),
        ip_version: ip_version.into(),
        network: Network {
            exposure,
            vpc_id,
            subnet_id,
            dedication,
            billing: i.word("payMode", codes::BILLING)?.unwrap_or_default(),
            domain_prefix: String::new(),
        },
    })
}

/// `tgwSetType`: only full NAT is served.
pub fn forwarding(i: &In) -> Result<(), Refusal> {
    match i.text("tgwSetType")?.as_deref() {
        None | Some(codes::FORWARDING) => Ok(()),
        Some(other @ ("tunnel" | "dnat")) => Err(TcError::value(
            &i.k("tgwSetType"),
            format!(
                "'{other}' is not offered: onramp's edges relay connections (fullnat); the \
                 client address reaches the origin through toaFlag"
            ),
        )
        .into()),
        Some(other) => Err(TcError::value(
            &i.k("tgwSetType"),
            format!("must be one of fullnat, tunnel, dnat, got '{other}'"),
        )
        .into()),
    }
}

/// A load balancer's new name: 1–20 letters, CJK characters, digits, `-` or `_`.
pub fn lb_name(i: &In) -> Result<Option<String>, TcError> {
    let Some(n) = i.text("loadBalancerName")? else {
        return Ok(None);
    };
    let ok = |c: char| c.is_alphanumeric() || c == '-' || c == '_';
    if n.is_empty() || n.chars().count() > 20 || !n.chars().all(ok) {
        let why = "must be 1-20 letters, CJK characters, digits, '-' or '_'";
        return Err(TcError::value(&i.k("loadBalancerName"), why));
    }
    Ok(Some(n))
}

/// A domain prefix: 1–20 of `[a-z0-9-]`.
pub fn domain_prefix(i: &In) -> Result<Option<String>, TcError> {
    let Some(d) = i.text("domainPrefix")? else {
        return Ok(None);
    };
    let ok = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-';
    if d.is_empty() || d.len() > 20 || !d.bytes().all(ok) {
        return Err(TcError::value(
            &i.k("domainPrefix"),
            "must be 1-20 of a-z, 0-9, '-'",
        ));
    }
    Ok(Some(d))
}

/// Keys of a listener item and of `ModifyBmListener` besides its ids.
pub const LISTENER_SETTINGS: &[&str] = &[
    "listenerName",
    "sessionExpire",
    "healthSwitch",
    "timeOut",
    "intervalTime",
    "healthNum",
    "unhealthNum",
    "bandwidth",
    "customHealthSwitch",
    "inputType",
    "lineSeparatorType",
    "healthRequest",
    "healthResponse",
    "toaFlag",
];

/// The settings a listener item or a modification gives (`BalanceMode` only in 3.0).
pub fn listener_patch(i: &In) -> Result<ListenerPatch, Refusal> {
    let session = i.uint("sessionExpire", 0, 3600)?;
    if session.is_some_and(|v| v != 0 && v < 900) {
        let why = "must be 900-3600 seconds, or 0 for no persistence";
        return Err(TcError::value(&i.k("sessionExpire"), why).into());
    }
    let mut out = ListenerPatch {
        name: listener_name(i)?,
        session_persist_secs: session,
        health_enabled: i.flag("healthSwitch")?,
        timeout_secs: i.uint("timeOut", 2, 60)?,
        interval_secs: i.uint("intervalTime", 5, 300)?,
        healthy_threshold: i.uint("healthNum", 2, 10)?,
        unhealthy_threshold: i.uint("unhealthNum", 2, 10)?,
        bandwidth_mbps: i.int("bandwidth", 0, 1000)?.map(|v| v as u64),
        custom_check: i.flag("customHealthSwitch")?,
        payload_format: i.word("inputType", codes::FORMAT)?,
        line_separator: match i.int("lineSeparatorType", 1, 3)? {
            Some(n) => value(codes::SEPARATOR, &n),
            None => None,
        },
        send: payload(i, "healthRequest")?,
        expect: payload(i, "healthResponse")?,
        client_ip: i.flag("toaFlag")?.map(|t| {
            if t {
                ClientIpMethod::Toa
            } else {
                ClientIpMethod::None
            }
        }),
        ..Default::default()
    };
    if i.s == Style::V3 {
        out.scheduler = i.word("BalanceMode", codes::BALANCE)?;
    }
    Ok(out)
}

fn listener_name(i: &In) -> Result<Option<String>, TcError> {
    let name = i.text("listenerName")?;
    if let Some(n) = &name {
        validate::text(&i.k("listenerName"), n, 0, 50)?;
    }
    Ok(name)
}

fn payload(i: &In, v2: &str) -> Result<Option<String>, TcError> {
    let v = i.text(v2)?;
    if let Some(s) = &v {
        validate::length(&i.k(v2), s, 0, 500)?;
    }
    Ok(v)
}

/// `listeners.N` / `ListenerSet.N`: each a listener spec with its settings applied (how they go
/// together is checked here too: the timeout below the interval, TOA for TCP only, bad hex).
pub fn listener_specs(i: &In) -> Result<Vec<Listener>, Refusal> {
    let mut allowed = vec!["loadBalancerPort", "protocol"];
    allowed.extend_from_slice(LISTENER_SETTINGS);
    let items = i.objects("listeners", &allowed)?;
    if items.is_empty() {
        return Err(TcError::missing(&i.k("listeners")).into());
    }
    if items.len() > MAX_LISTENERS {
        let why = format!("at most {MAX_LISTENERS} listeners");
        return Err(TcError::value(&i.k("listeners"), why).into());
    }
    items
        .iter()
        .enumerate()
        .map(|(n, item)| listener_spec(item).map_err(|e| item_error(i, n, e)))
        .collect()
}

fn item_error(i: &In, n: usize, e: Refusal) -> Refusal {
    match e {
        Refusal::Op(e) => Refusal::Op(onramp_ops::OpError::item(n, e)),
        Refusal::Param(mut t) if !t.message.contains(&i.k("listeners")) => {
            t.message = format!("{}.{n}: {}", i.k("listeners"), t.message);
            Refusal::Param(t)
        }
        other => other,
    }
}

fn listener_spec(item: &In) -> Result<Listener, Refusal> {
    let port = validate::port(
        &item.k("loadBalancerPort"),
        item.required_int("loadBalancerPort", 1, 65535)?,
    )?;
    let protocol = match item
        .p
        .one_of(&item.k("protocol"), &["tcp", "udp"])?
        .as_deref()
    {
        Some("tcp") => Protocol::Tcp,
        Some(_) => Protocol::Udp,
        None => return Err(TcError::missing(&item.k("protocol")).into()),
    };
    let patch = listener_patch(item)?;
    let mut l = Listener {
        protocol,
        ports: vec![PortRange::single(port)],
        scheduler: Scheduler::Wrr,
        health: HealthCheck {
            enabled: false,
            ..HealthCheck::default()
        },
        ..Default::default()
    };
    onramp_ops::listeners::apply(&mut l, &patch)?;
    Ok(l)
}

/// How a request names its instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// By the ID of an origin onramp knows (`BindType` 0, the `…Rs` actions).
    Instance,
    /// By IP address (`BindType` 1, `vmIp`).
    VmIp,
}

impl Form {
    /// 3.0 `BindType`: 0 by ID, 1 by address; 2 (semi-managed hosts) is refused.
    pub fn of_bind_type(i: &In) -> Result<Form, TcError> {
        match i.required_int("BindType", 0, 2)? {
            0 => Ok(Form::Instance),
            1 => Ok(Form::VmIp),
            _ => Err(TcError::value(
                "BindType",
                "2 (semi-managed hosts) is not offered: bind an origin onramp knows by its ID (0) \
                 or by its IP address (1)",
            )),
        }
    }

    /// The key of the instance in an item.
    pub fn field(self) -> &'static str {
        match self {
            Form::Instance => "instanceId",
            Form::VmIp => "vmIp",
        }
    }

    /// The target `v` names.
    pub fn target(self, field: &str, v: String) -> Result<Target, TcError> {
        match self {
            Form::Instance => Ok(Target::Origin(v)),
            Form::VmIp => {
                let ip: std::net::IpAddr = v
                    .trim()
                    .parse()
                    .map_err(|_| TcError::value(field, format!("'{v}' is not an IP address")))?;
                Ok(Target::Address(ip.to_string()))
            }
        }
    }
}

/// An instance named either way (v2 `Modify…` actions take `instanceId` for both): an IP address
/// is a target by address, anything else an origin ID.
pub fn any_target(v: String) -> Target {
    match v.trim().parse::<std::net::IpAddr>() {
        Ok(ip) => Target::Address(ip.to_string()),
        Err(_) => Target::Origin(v),
    }
}

/// The most backends one request gives.
pub const MAX_ITEMS: usize = MAX_BOUND;
