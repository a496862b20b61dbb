//! The write bodies against what the SDK sends (`json.dumps` with its default separators, keys in
//! model order, `None` fields left out) and against what it must refuse.

use super::*;

fn err<T: std::fmt::Debug>(r: Result<T, HwError>) -> (u16, &'static str, String) {
    let e = r.unwrap_err();
    (e.status.as_u16(), e.code, e.message)
}

#[test]
fn sdk_bodies_decode_and_pass_their_checks() {
    let a: CreateAccelerator = decode(br#"{"accelerator": {"name": "ga-1", "description": "", "ip_sets": [{"ip_type": "IPV4", "area": "OUTOFCM"}], "enterprise_project_id": "0", "tags": [{"key": "env", "value": ""}]}}"#).unwrap();
    a.accelerator.check().unwrap();
    assert_eq!(a.accelerator.ip_sets[0].area.as_str(), "OUTOFCM");
    let l: CreateListener = decode(br#"{"listener": {"name": "l1", "protocol": "UDP", "port_ranges": [{"from_port": 4000, "to_port": 4010}, {"from_port": 80, "to_port": 80}], "client_affinity": "SOURCE_IP", "accelerator_id": "acc"}}"#).unwrap();
    l.listener.check().unwrap();
    assert_eq!(
        (l.listener.protocol, l.listener.client_affinity),
        (ListenerProtocol::Udp, Some(ClientAffinity::SourceIp))
    );
    let g: CreateEndpointGroup = decode(br#"{"endpoint_group": {"name": "eg-1", "region_id": "local", "traffic_dial_percentage": 0, "listeners": [{"id": "l"}]}}"#).unwrap();
    g.endpoint_group.check().unwrap();
    let e: CreateEndpoint = decode(br#"{"endpoint": {"resource_id": "r", "resource_type": "EIP", "ip_address": "127.0.0.2", "weight": 0}}"#).unwrap();
    e.endpoint.check().unwrap();
    let h: CreateHealthCheck = decode(br#"{"health_check": {"endpoint_group_id": "g", "protocol": "TCP", "port": 80, "interval": 5, "timeout": 3, "max_retries": 3, "enabled": true}}"#).unwrap();
    h.health_check.check().unwrap();
    let a: AssociateListener = decode(br#"{"listener_id": "l", "type": "WHITE"}"#).unwrap();
    assert_eq!(a.kind, AccessControlType::White);
    let d: DeleteTags = decode(br#"{"tags": [{"key": "k"}]}"#).unwrap();
    d.check().unwrap();
    let r: RemoveIps = decode(br#"{"ip_list": ["10.0.0.0/8", "::1/128"]}"#).unwrap();
    r.check().unwrap();
    let u: UpdateListener = decode(br#"{"listener": {"name": "n"}}"#).unwrap();
    u.listener.check().unwrap();
}

#[test]
fn decoding_failures_name_the_field() {
    for (body, field) in [
        (&br#"{"listener": {"name": "l", "protocol": "SCTP", "port_ranges": [], "accelerator_id": "a"}}"#[..], "listener.protocol"),
        (br#"{"listener": {"name": "l", "protocol": "TCP", "port_ranges": [{"from_port": "80", "to_port": 80}], "accelerator_id": "a"}}"#, "listener.port_ranges[0].from_port"),
        (br#"{"listener": {"name": "l", "protocol": "TCP", "port_ranges": [], "accelerator_id": "a", "color": "red"}}"#, "listener"),
        (br#"{"listener": {"protocol": "TCP", "port_ranges": [], "accelerator_id": "a"}}"#, "listener"),
        (br#"{"listener": {"name": "l", "protocol": "TCP", "port_ranges": [{"from_port": -1, "to_port": 80}], "accelerator_id": "a"}}"#, "listener.port_ranges[0].from_port"),
        (br#"{"listener": "#, "listener"),
        (br#"{"listener": {}} trailing"#, "listener"),
        (br#""x""#, "request body"),
        (
            br#"{"listener": {"name": "l", "protocol": "TCP", "port_ranges": [], "accelerator_id": "a"}} x"#,
            "request body",
        ),
    ] {
        let (status, code, message) = err(decode::<CreateListener>(body));
        assert_eq!((status, code), (400, "GA.9001"), "{message}");
        assert!(message.contains(field), "{field}: {message}");
    }
    let (_, _, message) = err(decode::<CreateListener>(
        br#"{"listener": {"protocol": "TCP"}}"#,
    ));
    assert!(message.contains("name"), "{message}");
    let (_, _, message) = err(decode::<AssociateListener>(
        br#"{"listener_id": "l", "type": "GREY"}"#,
    ));
    assert!(message.contains("type"), "{message}");
}

#[test]
fn port_ranges_are_ga_9101_when_bad_or_overlapping() {
    let r = |v: &[(u32, u32)]| -> Vec<PortRange> {
        v.iter()
            .map(|&(f, t)| PortRange {
                from_port: f,
                to_port: t,
            })
            .collect()
    };
    check_port_ranges(&r(&[(1, 65535)])).unwrap();
    check_port_ranges(&r(&[(80, 80), (81, 90)])).unwrap();
    let eleven: Vec<(u32, u32)> = (1..=11).map(|p| (p, p)).collect();
    for bad in [
        r(&[]),
        r(&[(0, 80)]),
        r(&[(90, 80)]),
        r(&[(1, 65536)]),
        r(&[(80, 90), (85, 85)]),
        r(&eleven),
    ] {
        let (status, code, _) = err(check_port_ranges(&bad));
        assert_eq!((status, code), (400, "GA.9101"), "{bad:?}");
    }
}

#[test]
fn ranges_lengths_and_tags_are_checked() {
    let l = |json: &str| {
        decode::<CreateListener>(json.as_bytes())
            .unwrap()
            .listener
            .check()
    };
    let ok = r#""protocol": "TCP", "port_ranges": [{"from_port": 80, "to_port": 80}], "accelerator_id": "a""#;
    let (_, code, m) = err(l(&format!(
        r#"{{"listener": {{"name": "{}", {ok}}}}}"#,
        "n".repeat(65)
    )));
    assert_eq!(code, "GA.9001");
    assert!(m.contains("listener.name"), "{m}");
    let (_, _, m) = err(l(&format!(
        r#"{{"listener": {{"name": "n", "description": "<b>", {ok}}}}}"#
    )));
    assert!(m.contains("listener.description"), "{m}");
    for (tags, code) in [
        (r#"[{"key": "", "value": "v"}]"#, "GA.9109"),
        (
            r#"[{"key": "a", "value": "1"}, {"key": "a", "value": "2"}]"#,
            "GA.9107",
        ),
        (r#"[{"key": "_sys_x", "value": "1"}]"#, "GA.9001"),
        ("[]", "GA.9001"),
    ] {
        let (_, c, m) = err(l(&format!(
            r#"{{"listener": {{"name": "n", "tags": {tags}, {ok}}}}}"#
        )));
        assert_eq!(c, code, "{tags}: {m}");
    }
    let e = |json: &str| {
        decode::<UpdateEndpoint>(json.as_bytes())
            .unwrap()
            .endpoint
            .check()
    };
    e(r#"{"endpoint": {"weight": 100}}"#).unwrap();
    let (_, _, m) = err(e(r#"{"endpoint": {"weight": 101}}"#));
    assert!(m.contains("endpoint.weight"), "{m}");
    let g = |json: &str| {
        decode::<UpdateEndpointGroup>(json.as_bytes())
            .unwrap()
            .endpoint_group
            .check()
    };
    let (_, _, m) = err(g(r#"{"endpoint_group": {"traffic_dial_percentage": 101}}"#));
    assert!(m.contains("traffic_dial_percentage"), "{m}");
    let h = |json: &str| {
        decode::<UpdateHealthCheck>(json.as_bytes())
            .unwrap()
            .health_check
            .check()
    };
    for (field, v) in [
        ("port", 0),
        ("interval", 61),
        ("timeout", 0),
        ("max_retries", 11),
    ] {
        let (_, _, m) = err(h(&format!(r#"{{"health_check": {{"{field}": {v}}}}}"#)));
        assert!(m.contains(&format!("health_check.{field}")), "{m}");
    }
    let a = |json: &str| {
        decode::<CreateAccelerator>(json.as_bytes())
            .unwrap()
            .accelerator
            .check()
    };
    let (_, _, m) = err(a(
        r#"{"accelerator": {"name": "a", "ip_sets": [{"ip_type": "IPV6", "area": "CM"}]}}"#,
    ));
    assert!(m.contains("accelerator.ip_sets"), "{m}");
    let g = |json: &str| {
        decode::<CreateEndpointGroup>(json.as_bytes())
            .unwrap()
            .endpoint_group
            .check()
    };
    let (_, _, m) = err(g(
        r#"{"endpoint_group": {"name": "g", "region_id": "r", "listeners": []}}"#,
    ));
    assert!(m.contains("endpoint_group.listeners"), "{m}");
}
