use onramp_core::{Exposure, Network, Protocol, State};

use super::*;
use crate::balancers::{self, NewBalancers};
use crate::test_state::{apply, cx, spec};

/// A public load balancer with a TCP listener on 80 and 81 and a UDP one on 80.
fn lb(st: &mut State) -> (String, [String; 3]) {
    let order = NewBalancers {
        count: 1,
        region: "local".into(),
        network: Network {
            exposure: Exposure::Public,
            ..Default::default()
        },
        ..Default::default()
    };
    let plan = balancers::create(&cx(), st, &mut Ids::new(), &order).unwrap();
    apply(st, &plan.ops);
    let lb = plan.out[0].clone();
    let specs = vec![
        spec(Protocol::Tcp, &[(80, 80)]),
        spec(Protocol::Tcp, &[(81, 81)]),
        spec(Protocol::Udp, &[(80, 80)]),
    ];
    let (ops, l) = balancers::create_listeners(&cx(), st, &mut Ids::new(), &lb, specs).unwrap();
    apply(st, &ops);
    (lb, [l[0].clone(), l[1].clone(), l[2].clone()])
}

fn by_ip(ip: &str, port: u16, weight: u32) -> NewBackend {
    NewBackend {
        target: Target::Address(ip.into()),
        port,
        weight,
        probe_port: None,
    }
}

fn add_ok(st: &mut State, lb: &str, l: &str, items: Vec<NewBackend>) {
    let ops = add(&cx(), st, &mut Ids::new(), lb, l, items).unwrap();
    apply(st, &ops);
}

#[test]
fn an_address_finds_or_makes_its_origin_and_an_id_must_exist() {
    let mut st = State::default();
    let (lb, [tcp, ..]) = lb(&mut st);
    let mut two = by_ip("127.0.0.2", 8080, 10);
    two.probe_port = Some(9000);
    add_ok(&mut st, &lb, &tcp, vec![two, by_ip("127.0.0.2", 8081, 5)]);
    assert_eq!(st.origins.len(), 1, "one origin for the address, made once");
    let origin = st.origins.values().next().unwrap().clone();
    assert_eq!(
        (origin.address.as_str(), origin.created_by),
        ("127.0.0.2", Dialect::Bm)
    );
    let mut bs: Vec<_> = st.bindings_of(&tcp).cloned().collect();
    bs.sort_by_key(|b| b.port);
    assert_eq!(
        (bs[0].port, bs[0].weight, bs[0].probe_port, bs[0].by_address),
        (8080, 10, Some(9000), true)
    );
    assert_eq!(st.listeners[&tcp].change, ListenerChange::Origins);
    // By its ID: the same origin, bound again on a port it has: new weight, no new binding.
    let again = NewBackend {
        target: Target::Origin(origin.id.clone()),
        port: 8080,
        weight: 1,
        probe_port: None,
    };
    add_ok(&mut st, &lb, &tcp, vec![again]);
    assert_eq!(st.bindings_of(&tcp).count(), 2);
    let b = st.bindings_of(&tcp).find(|b| b.port == 8080).unwrap();
    assert_eq!((b.weight, b.probe_port), (1, None));
    let unknown = NewBackend {
        target: Target::Origin("rs-nothere".into()),
        port: 1,
        weight: 1,
        probe_port: None,
    };
    let e = add(&cx(), &st, &mut Ids::new(), &lb, &tcp, vec![unknown]).unwrap_err();
    assert!(
        matches!(e, OpError::Item { index: 0, ref error } if matches!(**error, OpError::NotFound(Res::Origin, _))),
        "{e:?}"
    );
}

#[test]
fn one_origin_port_serves_one_listener_per_protocol() {
    let mut st = State::default();
    let (lb, [tcp80, tcp81, udp80]) = lb(&mut st);
    add_ok(&mut st, &lb, &tcp80, vec![by_ip("127.0.0.2", 8080, 10)]);
    let e = add(
        &cx(),
        &st,
        &mut Ids::new(),
        &lb,
        &tcp81,
        vec![by_ip("127.0.0.2", 8080, 10)],
    )
    .unwrap_err();
    match e {
        OpError::Item { error, .. } => assert!(
            matches!(*error, OpError::OriginPortTaken { port: 8080, ref listener, .. } if *listener == tcp80)
        ),
        e => panic!("{e:?}"),
    }
    // Another protocol, or another port, is fine.
    add_ok(&mut st, &lb, &udp80, vec![by_ip("127.0.0.2", 8080, 10)]);
    add_ok(&mut st, &lb, &tcp81, vec![by_ip("127.0.0.2", 8081, 10)]);
    // Moving a backend onto a port another TCP listener has is refused too.
    let t = Target::Address("127.0.0.2".into());
    let e = change(&cx(), &st, &lb, &tcp81, (&t, 8081), Change::Port(8080)).unwrap_err();
    assert!(matches!(e, OpError::OriginPortTaken { .. }), "{e:?}");
    let ops = change(&cx(), &st, &lb, &tcp81, (&t, 8081), Change::Port(8082)).unwrap();
    apply(&mut st, &ops);
    assert_eq!(st.bindings_of(&tcp81).next().unwrap().port, 8082);
    // The same pair twice in one request.
    let e = add(
        &cx(),
        &st,
        &mut Ids::new(),
        &lb,
        &tcp81,
        vec![by_ip("127.0.0.3", 1, 1), by_ip("127.0.0.3", 1, 2)],
    )
    .unwrap_err();
    assert!(matches!(e, OpError::Item { index: 1, .. }), "{e:?}");
}

#[test]
fn at_most_255_bound_ports() {
    let mut st = State::default();
    let (lb, [tcp, ..]) = lb(&mut st);
    let items = (1..=255).map(|p| by_ip("127.0.0.2", p, 1)).collect();
    add_ok(&mut st, &lb, &tcp, items);
    let e = add(
        &cx(),
        &st,
        &mut Ids::new(),
        &lb,
        &tcp,
        vec![by_ip("127.0.0.3", 1, 1)],
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            OpError::Quota {
                what: "bound origins",
                limit: 255,
                given: 256
            }
        ),
        "{e:?}"
    );
}

#[test]
fn changes_and_removals_need_a_bound_pair() {
    let mut st = State::default();
    let (lb, [tcp, tcp81, _]) = lb(&mut st);
    add_ok(&mut st, &lb, &tcp, vec![by_ip("127.0.0.2", 8080, 10)]);
    let t = Target::Address("127.0.0.2".into());
    for c in [Change::Weight(0), Change::ProbePort(9)] {
        let ops = change(&cx(), &st, &lb, &tcp, (&t, 8080), c).unwrap();
        apply(&mut st, &ops);
    }
    let b = st.bindings_of(&tcp).next().unwrap();
    assert_eq!((b.weight, b.probe_port), (0, Some(9)));
    let e = change(&cx(), &st, &lb, &tcp, (&t, 1), Change::Weight(1)).unwrap_err();
    assert!(matches!(e, OpError::NotFound(Res::Endpoint, _)), "{e:?}");
    let e = change(&cx(), &st, &lb, &tcp81, (&t, 8080), Change::Weight(1)).unwrap_err();
    assert!(matches!(e, OpError::NotFound(Res::Endpoint, _)), "{e:?}");
    let nobody = Target::Address("127.0.0.9".into());
    let e = remove(&cx(), &st, &lb, &tcp, &[(nobody, 8080)]).unwrap_err();
    assert!(matches!(e, OpError::Item { index: 0, .. }), "{e:?}");
    let e = remove(&cx(), &st, "lb-nothere", &tcp, &[(t.clone(), 8080)]).unwrap_err();
    assert!(matches!(e, OpError::NotFound(Res::Accelerator, _)), "{e:?}");
    let ops = remove(&cx(), &st, &lb, &tcp, &[(t, 8080)]).unwrap();
    apply(&mut st, &ops);
    assert_eq!(st.bindings_of(&tcp).count(), 0);
}
