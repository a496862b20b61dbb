use super::*;
use onramp_core::acl::Cidr;

fn listener() -> ListenerSpec {
    ListenerSpec {
        id: "listener-1".into(),
        accelerator_id: "link-1".into(),
        protocol: Protocol::Udp,
        ports: vec![PortRange { from: 10, to: 12 }],
        scheduler: Scheduler::Lrtt,
        affinity: true,
        persist_secs: 30,
        failover: true,
        client_ip: ClientIpMethod::ProxyV2,
        health: HealthCheck {
            custom: true,
            send: "ping".into(),
            ..HealthCheck::default()
        },
        bandwidth_mbps: 7,
        max_connections: 9,
        traffic_dial: 60,
        groups: vec![GroupSpec {
            id: "g".into(),
            traffic_dial: 60,
            health: HealthCheck::default(),
            health_protocol: Protocol::Tcp,
        }],
        backends: vec![BackendSpec {
            binding_id: "b".into(),
            group_id: "g".into(),
            origin_id: "rs-1".into(),
            address: "origin.example".into(),
            kind: OriginKind::Domain,
            port: 0,
            weight: 3,
            role: FailoverRole::Slave,
            banned: true,
            probe_port: Some(81),
        }],
        access: Some(AccessSpec {
            ip_group_id: "ipg".into(),
            kind: AccessKind::Black,
            set: PrefixSet::new([
                Cidr::parse("c", "10.0.0.0/8").unwrap(),
                Cidr::parse("c", "2001:db8::/32").unwrap(),
            ]),
        }),
        access_log: true,
    }
}

fn round_trip(u: &Update) -> Update {
    let text = serde_json::to_string(&UpdateDto::from(u)).unwrap();
    let back: UpdateDto = serde_json::from_str(&text).unwrap();
    back.into_update().expect("an update")
}

#[test]
fn full_snapshots_and_deltas_cross_the_wire_unchanged() {
    let mut s = Snapshot {
        revision: 42,
        ..Default::default()
    };
    s.accelerators.insert(
        "link-1".into(),
        AcceleratorSpec {
            id: "link-1".into(),
            bandwidth_mbps: 5,
            max_connections: 10_000,
        },
    );
    s.listeners
        .insert("listener-1".into(), Arc::new(listener()));
    let full = Update::Full(Arc::new(s));
    assert_eq!(round_trip(&full), full);
    let delta = Update::Delta(Arc::new(Delta {
        from: 42,
        revision: 45,
        accelerators: vec![AcceleratorSpec::default()],
        removed_accelerators: vec!["link-2".into()],
        listeners: vec![Arc::new(listener())],
        removed_listeners: vec!["listener-2".into()],
    }));
    assert_eq!(round_trip(&delta), delta);
    let none: UpdateDto = serde_json::from_str(r#"{"kind":"none","revision":3}"#).unwrap();
    assert_eq!(none.into_update(), None);
}

#[test]
fn defaults_are_left_out_and_bad_documents_are_errors() {
    let mut l = listener();
    l.backends[0] = BackendSpec {
        binding_id: "b".into(),
        group_id: "g".into(),
        origin_id: "rs-1".into(),
        address: "10.0.0.1".into(),
        kind: OriginKind::Ip,
        port: 80,
        weight: 1,
        role: FailoverRole::None,
        banned: false,
        probe_port: None,
    };
    let text = serde_json::to_string(&BackendDto::from(&l.backends[0])).unwrap();
    assert_eq!(
        text,
        r#"{"binding":"b","group":"g","origin":"rs-1","address":"10.0.0.1","port":80,"weight":1}"#
    );
    for bad in [
        r#"{"kind":"full"}"#,
        r#"{"kind":"sideways","revision":1}"#,
        r#"{"kind":"delta","from":"x","revision":1}"#,
        "[]",
    ] {
        assert!(serde_json::from_str::<UpdateDto>(bad).is_err(), "{bad}");
    }
    let r: Result<Register, _> =
        serde_json::from_str(r#"{"name":"e","region":"r","addresses":[],"extra":1}"#);
    assert!(r.is_err(), "unknown registration fields are refused");
}
