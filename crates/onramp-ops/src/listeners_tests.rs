//! The listener rules: owner, port clashes (own, family, batch), settings, deletion order.

use onramp_core::{Dialect, Kind, Op, OriginKind, Owner, Protocol, Record, Scheduler, State};

use super::*;
use crate::groups::{self, Access, NewGroup};
use crate::ids::Ids;
use crate::test_state::{accelerator, apply, cx, listener, spec};

fn create_one(
    st: &State,
    owner: &Owner,
    protocol: Protocol,
    ports: &[(u16, u16)],
) -> Result<Vec<Op>, OpError> {
    create(
        &cx(),
        st,
        &mut Ids::new(),
        owner,
        Dialect::Gaap,
        vec![spec(protocol, ports)],
    )
    .map(|(ops, _)| ops)
}

#[test]
fn a_listener_comes_with_its_implicit_endpoint_group() {
    let mut st = State::default();
    let a = accelerator(&mut st);
    let id = listener(&mut st, &Owner::Accelerator(a), Protocol::Tcp, 80);
    let groups: Vec<_> = st.endpoint_groups_of(&id).collect();
    assert_eq!(groups.len(), 1);
    assert!(groups[0].implicit);
    assert_eq!(
        (groups[0].region.as_str(), groups[0].traffic_dial),
        ("local", 100)
    );
    assert_eq!(st.listeners[&id].account_id, crate::test_state::ACCOUNT);
}

#[test]
fn ports_clash_per_protocol_within_the_accelerator_and_the_batch() {
    let mut st = State::default();
    let a = Owner::Accelerator(accelerator(&mut st));
    let first = listener(&mut st, &a, Protocol::Tcp, 80);
    match create_one(&st, &a, Protocol::Tcp, &[(70, 90)]) {
        Err(OpError::PortTaken {
            protocol: Protocol::Tcp,
            port: 70,
            listener,
        }) => {
            assert_eq!(listener.as_deref(), Some(first.as_str()))
        }
        other => panic!("{other:?}"),
    }
    assert!(create_one(&st, &a, Protocol::Udp, &[(80, 80)]).is_ok());
    let batch = vec![
        spec(Protocol::Udp, &[(1000, 1010)]),
        spec(Protocol::Udp, &[(1010, 1020)]),
    ];
    let e = create(&cx(), &st, &mut Ids::new(), &a, Dialect::Gaap, batch).unwrap_err();
    assert!(matches!(e, OpError::PortTaken { port: 1010, .. }), "{e:?}");
}

#[test]
fn ports_clash_across_a_group_and_its_members() {
    let mut st = State::default();
    let req = NewGroup {
        name: "g".into(),
        origin_region: "local".into(),
        access: vec![Access {
            region: "local".into(),
            bandwidth_mbps: 10,
            concurrent: 2,
            network_type: "normal".into(),
        }],
        ..Default::default()
    };
    let (ops, gid) = groups::create(&cx(), &st, &mut Ids::new(), Dialect::Gaap, &req);
    apply(&mut st, &ops);
    let member = st.members_of(&gid).next().unwrap().id.clone();
    listener(&mut st, &Owner::Group(gid.clone()), Protocol::Tcp, 443);
    let e = create_one(
        &st,
        &Owner::Accelerator(member),
        Protocol::Tcp,
        &[(443, 443)],
    )
    .unwrap_err();
    assert!(matches!(e, OpError::PortTaken { port: 443, .. }), "{e:?}");
}

#[test]
fn only_a_running_owner_of_the_caller_takes_listeners() {
    let mut st = State::default();
    let a = accelerator(&mut st);
    let (ops, _) = crate::accelerators::switch(&cx(), &st, std::slice::from_ref(&a), false);
    apply(&mut st, &ops);
    let e = create_one(
        &st,
        &Owner::Accelerator(a.clone()),
        Protocol::Tcp,
        &[(80, 80)],
    )
    .unwrap_err();
    assert!(
        matches!(e, OpError::NotRunning(Res::Accelerator, ref id) if *id == a),
        "{e:?}"
    );
    let other = Cx {
        account: "acct-2".into(),
        ..cx()
    };
    let e = create(
        &other,
        &st,
        &mut Ids::new(),
        &Owner::Accelerator(a),
        Dialect::Gaap,
        vec![],
    )
    .unwrap_err();
    assert!(matches!(e, OpError::NotFound(Res::Accelerator, _)), "{e:?}");
}

#[test]
fn only_group_listeners_fix_the_origin_port() {
    let mut st = State::default();
    let a = Owner::Accelerator(accelerator(&mut st));
    let mut s = spec(Protocol::Tcp, &[(80, 80)]);
    s.origin_port = Some(8080);
    let e = create(&cx(), &st, &mut Ids::new(), &a, Dialect::Gaap, vec![s]).unwrap_err();
    assert!(
        matches!(e, OpError::Invalid(ref i) if i.field == "origin_port"),
        "{e:?}"
    );
}

#[test]
fn settings_that_do_not_go_together_are_refused() {
    let mut l = spec(Protocol::Udp, &[(53, 53)]);
    l.origin_kind = OriginKind::Domain;
    // Each patch on a fresh copy: a refused patch may have been half applied.
    let field =
        |l: &mut onramp_core::Listener, p: ListenerPatch| match super::apply(&mut l.clone(), &p) {
            Err(OpError::Invalid(i)) => i.field,
            other => panic!("{other:?}"),
        };
    let p = ListenerPatch {
        scheduler: Some(Scheduler::Wrr),
        ..Default::default()
    };
    assert_eq!(field(&mut l, p), "scheduler");
    let p = ListenerPatch {
        failover: Some(true),
        ..Default::default()
    };
    assert_eq!(field(&mut l, p), "failover");
    let p = ListenerPatch {
        client_ip: Some(onramp_core::ClientIpMethod::Toa),
        ..Default::default()
    };
    assert_eq!(field(&mut l, p), "client_ip");
    let p = ListenerPatch {
        interval_secs: Some(5),
        timeout_secs: Some(5),
        ..Default::default()
    };
    assert_eq!(field(&mut l, p), "health.timeout");
    let p = ListenerPatch {
        udp_check: Some(onramp_core::UdpCheck::Ping),
        probe_payload_given: true,
        ..Default::default()
    };
    assert_eq!(field(&mut l, p), "health.udp_check");
    let p = ListenerPatch {
        send: Some("ping".into()),
        ..Default::default()
    };
    let mut l = spec(Protocol::Udp, &[(53, 53)]);
    super::apply(&mut l, &p).unwrap();
    assert!(l.health.custom);
}

#[test]
fn probe_payloads_are_decoded_when_written_and_bad_hex_is_refused() {
    use onramp_core::{LineSeparator, PayloadFormat};
    let mut l = spec(Protocol::Tcp, &[(80, 80)]);
    let p = ListenerPatch {
        custom_check: Some(true),
        send: Some("GET / HTTP/1.1\nHost: a\n\n".into()),
        expect: Some("200 OK".into()),
        line_separator: Some(LineSeparator::LfCr),
        ..Default::default()
    };
    super::apply(&mut l, &p).unwrap();
    assert!(l.health.custom);
    assert_eq!(l.health.send_bytes, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(l.health.expect_bytes, b"200 OK");
    // Switching to hex re-reads the stored text: not hex, so refused, naming the field.
    let p = ListenerPatch {
        payload_format: Some(PayloadFormat::Hex),
        ..Default::default()
    };
    match super::apply(&mut l.clone(), &p) {
        Err(OpError::Invalid(i)) => assert_eq!(i.field, "health.send"),
        other => panic!("{other:?}"),
    }
    let p = ListenerPatch {
        payload_format: Some(PayloadFormat::Hex),
        send: Some("50 49 4e 47".into()),
        expect: Some("504F4E47".into()),
        ..Default::default()
    };
    super::apply(&mut l, &p).unwrap();
    assert_eq!(
        (
            l.health.send_bytes.as_slice(),
            l.health.expect_bytes.as_slice()
        ),
        (&b"PING"[..], &b"PONG"[..])
    );
    // A UDP listener's custom switch picks the port probe, off picks the ping.
    let mut u = spec(Protocol::Udp, &[(53, 53)]);
    let p = ListenerPatch {
        custom_check: Some(false),
        ..Default::default()
    };
    super::apply(&mut u, &p).unwrap();
    assert_eq!(u.health.udp_check, onramp_core::UdpCheck::Ping);
}

#[test]
fn a_change_is_reported_as_one_and_keeps_the_protocol() {
    let mut st = State::default();
    let a = Owner::Accelerator(accelerator(&mut st));
    let id = listener(&mut st, &a, Protocol::Tcp, 80);
    let p = ListenerPatch {
        name: Some("renamed".into()),
        ..Default::default()
    };
    let e = modify(&cx(), &st, &id, None, Some(Protocol::Udp), &p).unwrap_err();
    assert!(
        matches!(
            e,
            OpError::WrongProtocol {
                protocol: Protocol::Tcp,
                ..
            }
        ),
        "{e:?}"
    );
    let e = modify(&cx(), &st, &id, Some("link-other"), Some(Protocol::Tcp), &p).unwrap_err();
    assert!(matches!(e, OpError::NotFound(Res::Listener, _)), "{e:?}");
    let ops = modify(&cx(), &st, &id, Some(a.id()), Some(Protocol::Tcp), &p).unwrap();
    match &ops[..] {
        [Op::Put(Record::Listener(l))] => {
            assert_eq!(
                (l.name.as_str(), l.change),
                ("renamed", ListenerChange::Config)
            )
        }
        other => panic!("{other:?}"),
    }
}

/// Bind one origin to listener `id`; returns the origin's ID.
fn bind_one(st: &mut State, id: &str) -> String {
    let addresses = [("127.0.0.2".to_string(), OriginKind::Ip)];
    let req = crate::origins::NewOrigins {
        project_id: 0,
        name: "o",
        tags: &[],
        created_by: Dialect::Gaap,
        addresses: &addresses,
    };
    let (ops, made) = crate::origins::add(&cx(), st, &mut Ids::new(), &req).unwrap();
    apply(st, &ops);
    let want = crate::bindings::Want {
        origin_id: made[0].id.clone(),
        port: 8080,
        weight: 1,
        address: None,
        backup: false,
    };
    let ops = crate::bindings::bind(&cx(), st, &mut Ids::new(), id, vec![want]).unwrap();
    apply(st, &ops);
    made[0].id.clone()
}

#[test]
fn deletion_goes_bindings_then_endpoint_groups_then_the_listener() {
    let mut st = State::default();
    let a = Owner::Accelerator(accelerator(&mut st));
    let id = listener(&mut st, &a, Protocol::Tcp, 80);
    bind_one(&mut st, &id);
    let e = delete(&cx(), &st, &id, None, false).unwrap_err();
    assert!(
        matches!(
            e,
            OpError::StillBound {
                res: Res::Listener,
                ..
            }
        ),
        "{e:?}"
    );
    let kinds: Vec<Kind> = delete(&cx(), &st, &id, None, true)
        .unwrap()
        .iter()
        .map(|op| match op {
            Op::Delete(k, _) => *k,
            Op::Put(r) => panic!("a delete puts {r:?}"),
        })
        .collect();
    assert_eq!(kinds, [Kind::Binding, Kind::EndpointGroup, Kind::Listener]);
}

#[test]
fn a_bound_origin_stays_and_a_bound_accelerator_needs_force() {
    let mut st = State::default();
    let acc = accelerator(&mut st);
    let id = listener(&mut st, &Owner::Accelerator(acc.clone()), Protocol::Tcp, 80);
    let origin = bind_one(&mut st, &id);
    let e = crate::origins::remove(&cx(), &st, &[origin]).unwrap_err();
    assert!(
        matches!(e, OpError::StillBound { res: Res::Origin, ref listener, .. } if *listener == id),
        "{e:?}"
    );
    let e =
        crate::accelerators::destroy(&cx(), &st, std::slice::from_ref(&acc), false).unwrap_err();
    assert!(
        matches!(
            e,
            OpError::StillBound {
                res: Res::Accelerator,
                ..
            }
        ),
        "{e:?}"
    );
    let (ops, unknown) =
        crate::accelerators::destroy(&cx(), &st, &[acc, "link-none".into()], true).unwrap();
    assert_eq!(unknown, ["link-none"]);
    assert!(matches!(ops.last(), Some(Op::Delete(Kind::Accelerator, _))));
    apply(&mut st, &ops);
    assert!(st.listeners.is_empty() && st.bindings.is_empty() && st.endpoint_groups.is_empty());
}
