//! The rules of endpoint groups, endpoints and group health checks.

use onramp_core::{Owner, Protocol, State};

use super::*;
use crate::test_state::{accelerator, apply, cx, listener};

fn regions() -> Vec<String> {
    vec!["local".into(), "far".into()]
}

fn setup(st: &mut State) -> String {
    let a = accelerator(st);
    listener(st, &Owner::Accelerator(a), Protocol::Tcp, 80)
}

fn group(st: &mut State, l: &str, region: &str) -> Result<String, OpError> {
    let req = NewGroup {
        listener_id: l.into(),
        name: "g".into(),
        region: region.into(),
        traffic_dial: 100,
        ..Default::default()
    };
    let (ops, id) = create_group(&cx(), st, &mut Ids::new(), &regions(), &req)?;
    apply(st, &ops);
    Ok(id)
}

fn endpoint(st: &mut State, g: &str, address: &str) -> Result<String, OpError> {
    let req = NewEndpoint {
        group_id: g.into(),
        address: address.into(),
        weight: 1,
        resource_id: "eip-1".into(),
        resource_type: "CUSTOM_IP".into(),
    };
    let (ops, id) = create_endpoint(&cx(), st, &mut Ids::new(), Dialect::Huawei, &req)?;
    apply(st, &ops);
    Ok(id)
}

fn check() -> CheckPatch {
    CheckPatch {
        protocol: Some(Protocol::Tcp),
        port: Some(8080),
        interval_secs: Some(5),
        timeout_secs: Some(3),
        max_retries: Some(2),
        enabled: Some(true),
    }
}

#[test]
fn an_empty_implicit_group_gives_its_region_to_an_explicit_one_and_a_second_is_refused() {
    let mut st = State::default();
    let l = setup(&mut st);
    let implicit = st.endpoint_groups_of(&l).next().unwrap().id.clone();
    let g = group(&mut st, &l, "local").unwrap();
    let groups: Vec<_> = st.endpoint_groups_of(&l).map(|e| e.id.clone()).collect();
    assert_eq!(groups, vec![g.clone()]);
    assert!(!st.endpoint_groups.contains_key(&implicit));
    assert!(matches!(
        group(&mut st, &l, "local"),
        Err(OpError::RegionTaken { .. })
    ));
    group(&mut st, &l, "far").unwrap();
    assert_eq!(st.endpoint_groups_of(&l).count(), 2);
}

#[test]
fn an_implicit_group_with_origins_keeps_its_region() {
    let mut st = State::default();
    let l = setup(&mut st);
    let implicit = st.endpoint_groups_of(&l).next().unwrap().id.clone();
    endpoint(&mut st, &implicit, "127.0.0.2").unwrap();
    assert!(matches!(
        group(&mut st, &l, "local"),
        Err(OpError::RegionTaken { .. })
    ));
}

#[test]
fn a_region_no_edge_serves_is_refused() {
    let mut st = State::default();
    let l = setup(&mut st);
    assert!(matches!(
        group(&mut st, &l, "mars"),
        Err(OpError::RegionNotServed(r)) if r == "mars"
    ));
}

#[test]
fn endpoints_take_the_clients_port_reuse_origins_and_refuse_duplicates() {
    let mut st = State::default();
    let l = setup(&mut st);
    let g = group(&mut st, &l, "local").unwrap();
    let e = endpoint(&mut st, &g, "127.0.0.2").unwrap();
    let b = &st.bindings[&e];
    assert_eq!((b.port, b.weight), (ANY_PORT, 1));
    assert_eq!(
        (b.resource_id.as_str(), b.endpoint_group_id.as_str()),
        ("eip-1", g.as_str())
    );
    assert!(matches!(
        endpoint(&mut st, &g, "127.0.0.2"),
        Err(OpError::DuplicateAddress { .. })
    ));
    let g2 = group(&mut st, &l, "far").unwrap();
    let e2 = endpoint(&mut st, &g2, "127.0.0.2").unwrap();
    assert_eq!(st.bindings[&e].origin_id, st.bindings[&e2].origin_id);
    assert_eq!(st.origins.len(), 1);
}

#[test]
fn a_group_holds_at_most_ten_endpoints() {
    let mut st = State::default();
    let l = setup(&mut st);
    let g = group(&mut st, &l, "local").unwrap();
    for i in 0..MAX_ENDPOINTS {
        endpoint(&mut st, &g, &format!("127.0.1.{i}")).unwrap();
    }
    assert!(matches!(
        endpoint(&mut st, &g, "127.0.2.1"),
        Err(OpError::Quota { limit: 10, .. })
    ));
}

#[test]
fn weights_and_dials_are_bounded_and_updated() {
    let mut st = State::default();
    let l = setup(&mut st);
    let g = group(&mut st, &l, "local").unwrap();
    let e = endpoint(&mut st, &g, "127.0.0.2").unwrap();
    let ops = update_endpoint(&cx(), &st, &g, &e, Some(0)).unwrap();
    apply(&mut st, &ops);
    assert_eq!(st.bindings[&e].weight, 0);
    assert!(update_endpoint(&cx(), &st, &g, &e, Some(101)).is_err());
    let p = GroupPatch {
        traffic_dial: Some(30),
        ..Default::default()
    };
    let ops = update_group(&cx(), &st, &g, &p).unwrap();
    apply(&mut st, &ops);
    assert_eq!(st.endpoint_groups[&g].traffic_dial, 30);
    let p = GroupPatch {
        traffic_dial: Some(101),
        ..Default::default()
    };
    assert!(matches!(
        update_group(&cx(), &st, &g, &p),
        Err(OpError::Invalid(_))
    ));
}

#[test]
fn deletion_order_endpoints_and_check_before_the_group() {
    let mut st = State::default();
    let l = setup(&mut st);
    let g = group(&mut st, &l, "local").unwrap();
    let e = endpoint(&mut st, &g, "127.0.0.2").unwrap();
    let (ops, h) = create_check(&cx(), &st, &mut Ids::new(), &g, &check()).unwrap();
    apply(&mut st, &ops);
    assert!(matches!(
        create_check(&cx(), &st, &mut Ids::new(), &g, &check()),
        Err(OpError::Exists { .. })
    ));
    assert!(matches!(
        delete_group(&cx(), &st, &g),
        Err(OpError::UsedBy { by, .. }) if by.starts_with("endpoint ")
    ));
    let ops = delete_endpoint(&cx(), &st, &g, &e).unwrap();
    apply(&mut st, &ops);
    assert!(matches!(
        delete_group(&cx(), &st, &g),
        Err(OpError::UsedBy { by, .. }) if by.starts_with("health check ")
    ));
    assert_eq!(
        st.named_resource(crate::test_state::ACCOUNT, &h)
            .and_then(|n| n.owner),
        st.listeners[&l].owner.accelerator().map(str::to_string),
        "a policy resolves a health check to its accelerator"
    );
    let ops = delete_check(&cx(), &st, &h).unwrap();
    apply(&mut st, &ops);
    assert!(find_check(&cx(), &st, &h).is_err());
    assert!(st.named_resource(crate::test_state::ACCOUNT, &h).is_none());
    let ops = delete_group(&cx(), &st, &g).unwrap();
    apply(&mut st, &ops);
    assert!(st.endpoint_groups_of(&l).next().is_none());
}

#[test]
fn the_groups_check_replaces_the_listeners_and_no_check_is_no_monitor() {
    let mut st = State::default();
    let l = setup(&mut st);
    let g = group(&mut st, &l, "local").unwrap();
    let listener_check = st.listeners[&l].health.clone();
    assert!(
        !st.endpoint_groups[&g]
            .effective_check(&listener_check)
            .enabled
    );
    let (ops, h) = create_check(&cx(), &st, &mut Ids::new(), &g, &check()).unwrap();
    apply(&mut st, &ops);
    let eff = st.endpoint_groups[&g].effective_check(&listener_check);
    assert_eq!(
        (eff.enabled, eff.port, eff.unhealthy_threshold),
        (true, Some(8080), 2)
    );
    let off = CheckPatch {
        enabled: Some(false),
        ..Default::default()
    };
    let ops = update_check(&cx(), &st, &h, &off).unwrap();
    apply(&mut st, &ops);
    assert!(
        !st.endpoint_groups[&g]
            .effective_check(&listener_check)
            .enabled
    );
    let bad = CheckPatch {
        interval_secs: Some(61),
        ..Default::default()
    };
    assert!(update_check(&cx(), &st, &h, &bad).is_err());
}

#[test]
fn a_listener_is_unused_once_only_an_empty_implicit_group_is_left() {
    let mut st = State::default();
    let l = setup(&mut st);
    listener_unused(&cx(), &st, &l).unwrap();
    let g = group(&mut st, &l, "far").unwrap();
    assert!(matches!(
        listener_unused(&cx(), &st, &l),
        Err(OpError::UsedBy { by, .. }) if by.contains(&g)
    ));
    let ops = delete_group(&cx(), &st, &g).unwrap();
    apply(&mut st, &ops);
    listener_unused(&cx(), &st, &l).unwrap();
    let implicit = st.endpoint_groups_of(&l).next().unwrap().id.clone();
    endpoint(&mut st, &implicit, "127.0.0.2").unwrap();
    assert!(listener_unused(&cx(), &st, &l).is_err());
}
