use onramp_core::{Exposure, Kind, Network, Op, Protocol, State};

use super::*;
use crate::test_state::{apply, cx, spec};

fn order(st: &mut State, count: usize, exposure: Exposure) -> Vec<String> {
    let spec = NewBalancers {
        count,
        region: "local".into(),
        ip_version: "IPv4".into(),
        network: Network {
            exposure,
            vpc_id: "vpc-1".into(),
            ..Default::default()
        },
        ..Default::default()
    };
    let plan = create(&cx(), st, &mut Ids::new(), &spec).unwrap();
    apply(st, &plan.ops);
    plan.out
}

#[test]
fn an_order_makes_load_balancers_with_their_network_and_a_domain_when_public() {
    let mut st = State::default();
    let ids = order(&mut st, 2, Exposure::Public);
    assert_eq!(ids.len(), 2);
    for id in &ids {
        assert!(onramp_core::ids::is_short("lb", id), "{id}");
        let a = &st.accelerators[id];
        assert_eq!(a.created_by, Dialect::Bm);
        assert_eq!(
            (a.network.vpc_id.as_str(), a.network.domain_prefix.as_str()),
            ("vpc-1", id.as_str())
        );
        assert_eq!(a.access_region, "local");
    }
    let [internal]: [String; 1] = order(&mut st, 1, Exposure::Internal).try_into().unwrap();
    assert_eq!(st.accelerators[&internal].network.domain_prefix, "");
}

#[test]
fn an_order_is_bounded_by_its_size_and_the_quota() {
    let mut st = State::default();
    let mut spec = NewBalancers {
        count: MAX_PER_ORDER + 1,
        region: "local".into(),
        ..Default::default()
    };
    let e = create(&cx(), &st, &mut Ids::new(), &spec).unwrap_err();
    assert!(
        matches!(
            e,
            OpError::Quota {
                what: "load balancers in one order",
                limit: 20,
                given: 21
            }
        ),
        "{e:?}"
    );
    spec.count = 0;
    assert!(create(&cx(), &st, &mut Ids::new(), &spec).is_err());
    order(&mut st, 20, Exposure::Public);
    spec.count = 1;
    let e = create(&cx(), &st, &mut Ids::new(), &spec).unwrap_err();
    assert!(
        matches!(
            e,
            OpError::Quota {
                what: "accelerators",
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn domain_prefixes_are_unique_and_only_for_public_load_balancers() {
    let mut st = State::default();
    let [a, b]: [String; 2] = order(&mut st, 2, Exposure::Public).try_into().unwrap();
    let ops = modify(&cx(), &st, &a, Some("web"), Some("shop")).unwrap();
    apply(&mut st, &ops);
    assert_eq!(st.accelerators[&a].name, "web");
    assert_eq!(st.accelerators[&a].network.domain_prefix, "shop");
    let e = modify(&cx(), &st, &b, None, Some("shop")).unwrap_err();
    assert!(
        matches!(
            e,
            OpError::Duplicate {
                what: "domain prefix",
                ..
            }
        ),
        "{e:?}"
    );
    // Giving a load balancer its own prefix again is no clash.
    assert!(modify(&cx(), &st, &a, None, Some("shop")).is_ok());
    let [i]: [String; 1] = order(&mut st, 1, Exposure::Internal).try_into().unwrap();
    let e = modify(&cx(), &st, &i, None, Some("x")).unwrap_err();
    assert!(
        matches!(e, OpError::Invalid(ref v) if v.field == "domain_prefix"),
        "{e:?}"
    );
    let e = modify(&cx(), &st, "lb-nothere", Some("x"), None).unwrap_err();
    assert!(
        matches!(e, OpError::NotFound(crate::Res::Accelerator, _)),
        "{e:?}"
    );
}

#[test]
fn listeners_are_bounded_and_belong_to_their_load_balancer() {
    let mut st = State::default();
    let [a, b]: [String; 2] = order(&mut st, 2, Exposure::Public).try_into().unwrap();
    let mut c = cx();
    c.quotas.listeners = 1000;
    let specs: Vec<_> = (1..=MAX_LISTENERS as u16)
        .map(|p| spec(Protocol::Tcp, &[(p, p)]))
        .collect();
    let (ops, made) = create_listeners(&c, &st, &mut Ids::new(), &a, specs).unwrap();
    apply(&mut st, &ops);
    assert!(made.iter().all(|id| onramp_core::ids::is_short("lbl", id)));
    let e = create_listeners(
        &c,
        &st,
        &mut Ids::new(),
        &a,
        vec![spec(Protocol::Udp, &[(1, 1)])],
    );
    assert!(
        matches!(
            e,
            Err(OpError::Quota {
                what: "listeners",
                limit: 50,
                given: 51
            })
        ),
        "{e:?}"
    );
    // The operator's quota still applies below the 50.
    let e = create_listeners(
        &cx(),
        &st,
        &mut Ids::new(),
        &b,
        (1..=11).map(|p| spec(Protocol::Tcp, &[(p, p)])).collect(),
    );
    assert!(matches!(e, Err(OpError::Quota { limit: 10, .. })), "{e:?}");
    // Ports clash within a load balancer only.
    let (ops, _) = create_listeners(
        &c,
        &st,
        &mut Ids::new(),
        &b,
        vec![spec(Protocol::Tcp, &[(1, 1)])],
    )
    .unwrap();
    apply(&mut st, &ops);
    let e = delete_listeners(&cx(), &st, &b, &[made[0].clone()]).unwrap_err();
    assert!(
        matches!(e, OpError::NotFound(crate::Res::Listener, _)),
        "{e:?}"
    );
    let e = modify_listener(&cx(), &st, &b, &made[0], &ListenerPatch::default()).unwrap_err();
    assert!(
        matches!(e, OpError::NotFound(crate::Res::Listener, _)),
        "{e:?}"
    );
    let ops = delete_listeners(
        &cx(),
        &st,
        &a,
        &[made[0].clone(), made[0].clone(), made[1].clone()],
    )
    .unwrap();
    let gone = ops
        .iter()
        .filter(|o| matches!(o, Op::Delete(Kind::Listener, _)))
        .count();
    assert_eq!(gone, 2);
}

#[test]
fn deleting_a_load_balancer_takes_its_listeners_and_bindings() {
    let mut st = State::default();
    let [a]: [String; 1] = order(&mut st, 1, Exposure::Public).try_into().unwrap();
    let (ops, made) = create_listeners(
        &cx(),
        &st,
        &mut Ids::new(),
        &a,
        vec![spec(Protocol::Tcp, &[(80, 80)])],
    )
    .unwrap();
    apply(&mut st, &ops);
    let item = crate::backends::NewBackend {
        target: crate::backends::Target::Address("127.0.0.2".into()),
        port: 8080,
        weight: 10,
        probe_port: None,
    };
    let ops = crate::backends::add(&cx(), &st, &mut Ids::new(), &a, &made[0], vec![item]).unwrap();
    apply(&mut st, &ops);
    assert_eq!(st.bindings.len(), 1);
    let ops = delete(&cx(), &st, &a).unwrap();
    apply(&mut st, &ops);
    assert!(st.accelerators.is_empty() && st.listeners.is_empty() && st.bindings.is_empty());
    // The origin made for the address stays (it is the tenant's, bindable elsewhere).
    assert_eq!(st.origins.len(), 1);
    assert!(matches!(ops.last(), Some(Op::Delete(Kind::Accelerator, _))));
}

#[test]
fn a_charge_mode_switch_sets_the_billing_and_the_listeners_caps() {
    let mut st = State::default();
    let [a, b]: [String; 2] = order(&mut st, 2, Exposure::Public).try_into().unwrap();
    let (ops, made) = create_listeners(
        &cx(),
        &st,
        &mut Ids::new(),
        &a,
        vec![spec(Protocol::Tcp, &[(80, 80)])],
    )
    .unwrap();
    apply(&mut st, &ops);
    let ops = charge(
        &cx(),
        &st,
        &a,
        onramp_core::Billing::Bandwidth,
        &[(made[0].clone(), 30)],
    )
    .unwrap();
    apply(&mut st, &ops);
    assert_eq!(
        st.accelerators[&a].network.billing,
        onramp_core::Billing::Bandwidth
    );
    assert_eq!(st.listeners[&made[0]].bandwidth_mbps, 30);
    let e = charge(
        &cx(),
        &st,
        &b,
        onramp_core::Billing::Traffic,
        &[(made[0].clone(), 1)],
    )
    .unwrap_err();
    assert!(
        matches!(e, OpError::NotFound(crate::Res::Listener, _)),
        "{e:?}"
    );
}
