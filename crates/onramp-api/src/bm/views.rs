//! BM shapes of the model, borrowed from it: listeners, backends, listener ports (one struct,
//! serialised in v2's camelCase or 3.0's PascalCase by `Style::view`) and load balancers (the two
//! forms differ: one struct each). Statuses are translated from the one lifecycle.

use onramp_core::{Accelerator, Binding, Exposure, Listener, Origin, State};
use onramp_ops::status::Phase;
use serde::Serialize;
use serde_json::Value;

use super::codes::{self, word};
use super::Style;
use crate::{plain_datetime, Api};

/// The domain of a public load balancer: its prefix under this suffix. onramp runs no DNS: the
/// name is recorded and shown, for the operator to publish.
pub const DOMAIN_SUFFIX: &str = "bmlb.onramp.internal";

/// Listener `status`: 0 creating or changing, 1 running, 2 the edge could not open it,
/// 3 deleting.
fn listener_status(p: Phase) -> u8 {
    match p {
        Phase::Running | Phase::Closed => 1,
        Phase::Failed => 2,
        Phase::Deleting => 3,
        _ => 0,
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct L4Listener<'a> {
    listener_id: &'a str,
    listener_name: &'a str,
    protocol: &'static str,
    load_balancer_port: u16,
    bandwidth: u64,
    listener_type: &'static str,
    session_expire: u32,
    health_switch: u8,
    time_out: u32,
    interval_time: u32,
    health_num: u32,
    unhealth_num: u32,
    custom_health_switch: u8,
    input_type: &'static str,
    line_separator_type: i64,
    health_request: &'a str,
    health_response: &'a str,
    toa_flag: u8,
    status: u8,
    add_timestamp: String,
    balance_mode: &'static str,
}

pub fn listener<'a>(api: &Api, l: &'a Listener) -> L4Listener<'a> {
    let h = &l.health;
    let has_payload = h.custom || !h.send.is_empty() || !h.expect.is_empty();
    L4Listener {
        listener_id: &l.id,
        listener_name: &l.name,
        protocol: l.protocol.lower(),
        load_balancer_port: l.first_port(),
        bandwidth: l.bandwidth_mbps,
        listener_type: "L4Listener",
        session_expire: l.session_persist_secs,
        health_switch: u8::from(h.enabled),
        time_out: h.timeout_secs,
        interval_time: h.interval_secs,
        health_num: h.healthy_threshold,
        unhealth_num: h.unhealthy_threshold,
        custom_health_switch: u8::from(h.custom),
        input_type: if has_payload {
            word(codes::FORMAT, &h.payload_format)
        } else {
            ""
        },
        line_separator_type: word(codes::SEPARATOR, &h.line_separator),
        health_request: &h.send,
        health_response: &h.expect,
        toa_flag: u8::from(l.client_ip == onramp_core::ClientIpMethod::Toa),
        status: listener_status(api.listener_phase(l)),
        add_timestamp: plain_datetime(l.created_at),
        balance_mode: codes::balance_mode(l.scheduler),
    }
}

/// The instance id a backend is shown with: its address when bound by address, else the
/// origin's ID.
pub fn instance_id(b: &Binding, o: &Origin) -> String {
    if b.by_address {
        o.address.clone()
    } else {
        o.id.clone()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct L4Backend<'a> {
    bind_type: u8,
    rs_port: u16,
    weight: u32,
    status: &'static str,
    instance_id: String,
    alias: &'a str,
    lan_ip: &'a str,
    operates: [&'static str; 0],
    probe_port: i64,
}

/// `Dead` when the edge's check of the binding fails, else `Alive` (no check, or none yet).
pub fn alive(api: &Api, st: &State, l: &Listener, b: &Binding) -> &'static str {
    let check = st
        .endpoint_groups
        .get(&b.endpoint_group_id)
        .map_or(l.health.enabled, |g| g.effective_check(&l.health).enabled);
    match api.health.binding(&b.id) {
        Some(h) if check && !h.healthy => "Dead",
        _ => "Alive",
    }
}

pub fn backend<'a>(
    api: &Api,
    st: &State,
    l: &Listener,
    b: &Binding,
    o: &'a Origin,
) -> L4Backend<'a> {
    L4Backend {
        bind_type: u8::from(b.by_address),
        rs_port: b.port,
        weight: b.weight,
        status: alive(api, st, l, b),
        instance_id: instance_id(b, o),
        alias: &o.name,
        lan_ip: &o.address,
        operates: [],
        probe_port: b.probe_port.map_or(-1, i64::from),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PortInfo<'a> {
    listener_id: &'a str,
    listener_name: &'a str,
    protocol: &'static str,
    load_balancer_port: u16,
    bandwidth: u64,
    status: u8,
    /// The lowest bound origin port (0 without backends).
    port: u16,
}

pub fn port_info<'a>(api: &Api, st: &State, l: &'a Listener) -> PortInfo<'a> {
    PortInfo {
        listener_id: &l.id,
        listener_name: &l.name,
        protocol: l.protocol.lower(),
        load_balancer_port: l.first_port(),
        bandwidth: l.bandwidth_mbps,
        status: listener_status(api.listener_phase(l)),
        port: st.bindings_of(&l.id).map(|b| b.port).min().unwrap_or(0),
    }
}

/// The full domain of a public load balancer ("" for an internal one).
pub fn domain(a: &Accelerator) -> String {
    if a.network.exposure == Exposure::Public && !a.network.domain_prefix.is_empty() {
        format!("{}.{DOMAIN_SUFFIX}", a.network.domain_prefix)
    } else {
        String::new()
    }
}

/// The addresses a load balancer is reached at: the edges' bind address.
/// The VIPs of `a`: the addresses of its region's live edges (else the configured bind
/// address), as GAAP and Huawei show them.
pub fn vips(api: &Api, a: &Accelerator) -> Vec<String> {
    api.access_addresses(&a.access_region)
}

/// Load balancer `status`: 0 creating (the edges have not applied it yet), 1 running.
fn lb_status(api: &Api, a: &Accelerator) -> u8 {
    u8::from(api.accelerator_phase(a).is_settled())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LoadBalancerV2<'a> {
    load_balancer_id: &'a str,
    load_balancer_name: &'a str,
    load_balancer_type: &'static str,
    domain: String,
    load_balancer_vips: Vec<String>,
    status: u8,
    create_time: String,
    status_time: String,
    un_vpc_id: &'a str,
    un_subnet_id: &'a str,
    vpc_id: u8,
    subnet_id: u8,
    project_id: i64,
    latest_pay_mode: &'static str,
    pay_mode: &'static str,
    bandwidth: u64,
    tgw_set_type: &'static str,
    exclusive: i64,
    ip_protocol_type: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct LoadBalancerV3<'a> {
    load_balancer_id: &'a str,
    project_id: i64,
    load_balancer_name: &'a str,
    load_balancer_type: &'static str,
    exclusive: i64,
    tgw_set_type: &'static str,
    domain: String,
    vpc_id: &'a str,
    subnet_id: &'a str,
    status: u8,
    pay_mode: &'static str,
    latest_pay_mode: &'static str,
    create_time: String,
    status_time: String,
    vpc_name: &'static str,
    vpc_cidr_block: &'static str,
    load_balancer_vips: Vec<String>,
    support_listener_types: [&'static str; 2],
    bandwidth: u64,
    conf_id: &'static str,
    conf_name: &'static str,
    load_balancer_vipv6s: Vec<String>,
    ip_protocol_type: &'static str,
    bz_pay_mode: &'static str,
    #[serde(rename = "BzL4Metrics")]
    bz_l4_metrics: &'static str,
    #[serde(rename = "BzL7Metrics")]
    bz_l7_metrics: &'static str,
    int_vpc_id: u8,
    cur_vips: Vec<String>,
}

/// A load balancer in `s`'s shape. onramp has no numeric network IDs: `vpcId`/`IntVpcId` are 0.
pub fn load_balancer(api: &Api, a: &Accelerator, s: Style) -> Value {
    let n = &a.network;
    let (kind, pay) = (
        word(codes::EXPOSURE, &n.exposure),
        word(codes::BILLING, &n.billing),
    );
    let ip = codes::ip_protocol(&a.ip_version);
    let vips = vips(api, a);
    let (v4, v6) = if ip == "ipv6" {
        (Vec::new(), vips.clone())
    } else {
        (vips.clone(), Vec::new())
    };
    match s {
        Style::V2 => s.view(&LoadBalancerV2 {
            load_balancer_id: &a.id,
            load_balancer_name: &a.name,
            load_balancer_type: kind,
            domain: domain(a),
            load_balancer_vips: vips,
            status: lb_status(api, a),
            create_time: plain_datetime(a.created_at),
            status_time: plain_datetime(a.updated_at.max(a.created_at)),
            un_vpc_id: &n.vpc_id,
            un_subnet_id: &n.subnet_id,
            vpc_id: 0,
            subnet_id: 0,
            project_id: a.project_id,
            latest_pay_mode: pay,
            pay_mode: pay,
            bandwidth: a.bandwidth_mbps,
            tgw_set_type: codes::FORWARDING,
            exclusive: word(codes::DEDICATION, &n.dedication),
            ip_protocol_type: ip,
        }),
        Style::V3 => serde_json::to_value(LoadBalancerV3 {
            load_balancer_id: &a.id,
            project_id: a.project_id,
            load_balancer_name: &a.name,
            load_balancer_type: kind,
            exclusive: word(codes::DEDICATION, &n.dedication),
            tgw_set_type: codes::FORWARDING,
            domain: domain(a),
            vpc_id: &n.vpc_id,
            subnet_id: &n.subnet_id,
            status: lb_status(api, a),
            pay_mode: pay,
            latest_pay_mode: pay,
            create_time: plain_datetime(a.created_at),
            status_time: plain_datetime(a.updated_at.max(a.created_at)),
            vpc_name: "",
            vpc_cidr_block: "",
            load_balancer_vips: v4,
            support_listener_types: ["tcp", "udp"],
            bandwidth: a.bandwidth_mbps,
            conf_id: "",
            conf_name: "",
            load_balancer_vipv6s: v6,
            ip_protocol_type: ip,
            bz_pay_mode: "",
            bz_l4_metrics: "",
            bz_l7_metrics: "",
            int_vpc_id: 0,
            cur_vips: vips,
        })
        .unwrap_or(Value::Null),
    }
}
