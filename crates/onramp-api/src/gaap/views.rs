//! GAAP JSON shapes of model resources (ProxyInfo, TCPListener, UDPListener, BindRealServer, …).
//!
//! Statuses come from the control plane's applied revision and the edge's health reports, never
//! from constants.

use onramp_core::*;
use onramp_ops::status::Phase;
use serde_json::{json, Value};

use crate::{Api, Region};

pub fn tags(t: &[Tag]) -> Value {
    Value::Array(
        t.iter()
            .map(|t| json!({"TagKey": t.key, "TagValue": t.value}))
            .collect(),
    )
}

pub fn region_detail(r: &Region) -> Value {
    json!({
        "RegionId": r.id,
        "RegionName": r.name,
        "RegionArea": r.id,
        "RegionAreaName": r.name,
        "IDCType": "ec",
        "FeatureBitmap": 1,
        "SupportFeature": {"NetworkType": ["normal"]},
    })
}

fn region_or_named(api: &Api, id: &str) -> Value {
    match api.region(id) {
        Some(r) => region_detail(&r),
        None => region_detail(&Region {
            id: id.to_string(),
            name: id.to_string(),
        }),
    }
}

/// Proxy `Status` string.
pub fn proxy_status(api: &Api, a: &Accelerator) -> &'static str {
    match api.accelerator_phase(a) {
        Phase::Running => "RUNNING",
        Phase::Closed => "CLOSED",
        Phase::Creating => "CREATING",
        Phase::Opening => "OPENING",
        Phase::Closing => "CLOSING",
        Phase::Deleting => "DESTROYING",
        Phase::Configuring | Phase::Binding | Phase::Failed => "ADJUSTING",
    }
}

/// Group `Status` string (ProxyGroupInfo).
pub fn group_status(api: &Api, g: &AcceleratorGroup) -> &'static str {
    match api.group_phase(g) {
        Phase::Running => "RUNNING",
        Phase::Closed => "CLOSED",
        Phase::Creating => "CREATING",
        _ => "CHANGING",
    }
}

pub fn proxy_info(api: &Api, a: &Accelerator) -> Value {
    let secs = a.created_at / 1000;
    let addrs = api.access_addresses(&a.access_region);
    json!({
        "InstanceId": a.id,
        "ProxyId": a.id,
        "CreateTime": secs,
        "ProjectId": a.project_id,
        "ProxyName": a.name,
        "AccessRegion": a.access_region,
        "RealServerRegion": a.origin_region,
        "Bandwidth": a.bandwidth_mbps,
        "Concurrent": a.concurrent,
        "Status": proxy_status(api, a),
        "Domain": "",
        "IP": addrs[0],
        "Version": "2.0",
        "Scalarable": 1,
        "SupportProtocols": ["TCP", "UDP"],
        "GroupId": a.group_id,
        "PolicyId": Value::Null,
        "AccessRegionInfo": region_or_named(api, &a.access_region),
        "RealServerRegionInfo": region_or_named(api, &a.origin_region),
        "ForwardIP": addrs[0],
        "TagSet": tags(&a.tags),
        "SupportSecurity": 0,
        "BillingType": a.billing_type,
        "RelatedGlobalDomains": [],
        "ModifyConfigTime": a.config_changed_at.map(|t| t / 1000),
        "ProxyType": 100,
        "ClientIPMethod": [0, 1],
        "IPAddressVersion": a.ip_version,
        "NetworkType": a.network_type,
        "PackageType": a.package_type,
        "BanStatus": if a.banned { "BANNED" } else { "RECOVER" },
        "IPList": addrs.iter().map(|ip| json!({"IP": ip, "Provider": "BGP", "Bandwidth": a.bandwidth_mbps})).collect::<Vec<_>>(),
        "Http3Supported": 0,
        "InBanBlacklist": i64::from(a.banned),
        "FeatureBitmap": 1,
        "IsAutoScaleProxy": 0,
        "IsSupportTLSChoice": 0,
    })
}

/// `ListenerStatus`: 0 running, 1 creating (or not opened by the edge: the port is taken), 2
/// destroying, 3 adjusting origins, 4 changing config.
pub fn listener_status(api: &Api, l: &Listener) -> u64 {
    match api.listener_phase(l) {
        Phase::Running | Phase::Closed => 0,
        Phase::Creating | Phase::Failed => 1,
        Phase::Deleting => 2,
        Phase::Binding => 3,
        Phase::Opening | Phase::Closing | Phase::Configuring => 4,
    }
}

/// Health of one binding as GAAP reports it: (RealServerStatus 0 normal / 1 abnormal, DownIPList).
pub fn binding_health(api: &Api, l: &Listener, b: &Binding) -> (i64, Vec<String>) {
    if !l.health.enabled {
        return (0, Vec::new());
    }
    match api.health.binding(&b.id) {
        Some(h) => (i64::from(!h.healthy), h.down),
        None => (0, Vec::new()),
    }
}

pub fn bind_real_server(api: &Api, st: &State, l: &Listener, b: &Binding) -> Value {
    let origin = st.origins.get(&b.origin_id);
    let (status, down) = binding_health(api, l, b);
    json!({
        "RealServerId": b.origin_id,
        "RealServerIP": origin.map(|o| o.address.as_str()).unwrap_or(""),
        "RealServerWeight": b.weight,
        "RealServerStatus": status,
        "RealServerPort": b.port,
        "DownIPList": down,
        "RealServerFailoverRole": if l.failover { b.role.as_str() } else { "" },
    })
}

fn bound(api: &Api, st: &State, l: &Listener) -> Vec<Value> {
    st.bindings_of(&l.id)
        .map(|b| bind_real_server(api, st, l, b))
        .collect()
}

/// TCP `BindStatus`: 1 normal, 0 abnormal (any bound origin abnormal).
fn tcp_bind_status(api: &Api, st: &State, l: &Listener) -> u64 {
    let abnormal = st
        .bindings_of(&l.id)
        .any(|b| binding_health(api, l, b).0 != 0);
    u64::from(!abnormal)
}

/// UDP `BindStatus`: 0 normal, 1 IP abnormal, 2 domain resolution abnormal.
fn udp_bind_status(api: &Api, st: &State, l: &Listener) -> u64 {
    let mut worst = 0;
    for b in st.bindings_of(&l.id) {
        if !l.health.enabled {
            break;
        }
        if let Some(h) = api.health.binding(&b.id) {
            if h.resolve_failed {
                worst = 2;
            } else if !h.healthy && worst == 0 {
                worst = 1;
            }
        }
    }
    worst
}

fn owner_ids(l: &Listener) -> (Value, Value) {
    match &l.owner {
        Owner::Accelerator(p) => (json!(p), json!("")),
        Owner::Group(g) => (json!(""), json!(g)),
    }
}

pub fn tcp_listener(api: &Api, st: &State, l: &Listener) -> Value {
    let (proxy, group) = owner_ids(l);
    json!({
        "ListenerId": l.id,
        "ListenerName": l.name,
        "Port": l.first_port(),
        "RealServerPort": l.origin_port,
        "RealServerType": l.origin_kind.as_str(),
        "Protocol": "TCP",
        "ListenerStatus": listener_status(api, l),
        "Scheduler": l.scheduler.as_str(),
        "ConnectTimeout": l.health.timeout_secs,
        "DelayLoop": l.health.interval_secs,
        "HealthCheck": u64::from(l.health.enabled),
        "BindStatus": tcp_bind_status(api, st, l),
        "RealServerSet": bound(api, st, l),
        "CreateTime": l.created_at / 1000,
        "ClientIPMethod": client_ip_method(l.client_ip),
        "HealthyThreshold": l.health.healthy_threshold,
        "UnhealthyThreshold": l.health.unhealthy_threshold,
        "FailoverSwitch": u64::from(l.failover),
        "SessionPersist": l.session_persist_secs,
        "ProxyId": proxy,
        "GroupId": group,
    })
}

pub fn udp_listener(api: &Api, st: &State, l: &Listener) -> Value {
    let (proxy, group) = owner_ids(l);
    let h = &l.health;
    json!({
        "ListenerId": l.id,
        "ListenerName": l.name,
        "Port": l.first_port(),
        "RealServerPort": l.origin_port.unwrap_or(0),
        "RealServerType": l.origin_kind.as_str(),
        "Protocol": "UDP",
        "ListenerStatus": listener_status(api, l),
        "Scheduler": l.scheduler.as_str(),
        "BindStatus": udp_bind_status(api, st, l),
        "RealServerSet": bound(api, st, l),
        "CreateTime": l.created_at / 1000,
        "SessionPersist": l.session_persist_secs,
        "DelayLoop": h.interval_secs,
        "ConnectTimeout": h.timeout_secs,
        "HealthyThreshold": h.healthy_threshold,
        "UnhealthyThreshold": h.unhealthy_threshold,
        "FailoverSwitch": i64::from(l.failover),
        "HealthCheck": u64::from(h.enabled),
        "CheckType": match h.udp_check { UdpCheck::Port => "PORT", UdpCheck::Ping => "PING" },
        "CheckPort": h.port.map(i64::from).unwrap_or(-1),
        "ContextType": "TEXT",
        "SendContext": h.send,
        "RecvContext": h.expect,
        "ProxyId": proxy,
        "GroupId": group,
    })
}

/// GAAP `ClientIPMethod`: 0 TOA, 1 PROXY protocol v1, 2 PROXY protocol v2 (onramp extension).
/// No client IP reads as TOA's 0.
pub fn client_ip_method(m: ClientIpMethod) -> u64 {
    match m {
        ClientIpMethod::ProxyV1 => 1,
        ClientIpMethod::ProxyV2 => 2,
        ClientIpMethod::None | ClientIpMethod::Toa => 0,
    }
}

pub fn real_server(o: &Origin) -> Value {
    json!({
        "RealServerIP": o.address,
        "RealServerId": o.id,
        "RealServerName": o.name,
        "ProjectId": o.project_id,
        "InBanBlacklist": i64::from(o.banned),
    })
}

pub fn real_server_info(o: &Origin) -> Value {
    json!({
        "RealServerIP": o.address,
        "RealServerId": o.id,
        "RealServerName": o.name,
        "ProjectId": o.project_id,
        "TagSet": tags(&o.tags),
    })
}
