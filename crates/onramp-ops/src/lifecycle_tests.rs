use onramp_core::{Affinity, Dialect, PortRange, Protocol, State};

use super::*;
use crate::test_state::{apply, cx};

fn range(from: u16, to: u16) -> PortRange {
    PortRange { from, to }
}

fn accelerator(st: &mut State) -> String {
    let spec = NewAccelerator {
        name: "ga".into(),
        region: "local".into(),
        ..Default::default()
    };
    let plan = create_accelerator(&cx(), st, &mut Ids::new(), Dialect::Huawei, &spec).unwrap();
    apply(st, &plan.ops);
    plan.out
}

fn listener(
    st: &mut State,
    acc: &str,
    protocol: Protocol,
    ports: Vec<PortRange>,
) -> Result<String, OpError> {
    let spec = NewListener {
        name: "l".into(),
        protocol,
        ports,
        affinity: Affinity::SourceIp,
        ..Default::default()
    };
    let plan = create_listener(&cx(), st, &mut Ids::new(), Dialect::Huawei, acc, &spec)?;
    apply(st, &plan.ops);
    Ok(plan.out)
}

#[test]
fn accelerators_get_uuids_and_the_quota_holds() {
    let mut st = State::default();
    let id = accelerator(&mut st);
    assert_eq!(id.len(), 36, "{id}");
    assert_eq!(st.accelerators[&id].access_region, "local");
    let mut c = cx();
    c.quotas.accelerators = 1;
    let spec = NewAccelerator {
        region: "local".into(),
        ..Default::default()
    };
    let e = create_accelerator(&c, &st, &mut Ids::new(), Dialect::Huawei, &spec).unwrap_err();
    assert!(
        matches!(
            e,
            OpError::Quota {
                what: "accelerators",
                limit: 1,
                given: 2
            }
        ),
        "{e:?}"
    );
}

#[test]
fn ranges_clash_within_a_protocol_not_across() {
    let mut st = State::default();
    let acc = accelerator(&mut st);
    let l = listener(
        &mut st,
        &acc,
        Protocol::Tcp,
        vec![range(4000, 4010), range(5000, 5000)],
    )
    .unwrap();
    assert!(
        st.endpoint_groups_of(&l).next().is_none(),
        "no implicit group"
    );
    let clash = listener(&mut st, &acc, Protocol::Tcp, vec![range(4010, 4020)]).unwrap_err();
    assert!(
        matches!(clash, OpError::PortTaken { port: 4010, .. }),
        "{clash:?}"
    );
    listener(&mut st, &acc, Protocol::Udp, vec![range(4000, 4010)]).unwrap();
    let reversed = listener(&mut st, &acc, Protocol::Tcp, vec![range(6001, 6000)]).unwrap_err();
    assert!(
        matches!(reversed, OpError::PortTaken { .. }),
        "{reversed:?}"
    );
    // A listener may keep or move its own ports.
    let edit = ListenerEdit {
        ports: Some(vec![range(4005, 4015)]),
        affinity: Some(Affinity::None),
        ..Default::default()
    };
    let ops = update_listener(&cx(), &st, &l, &edit).unwrap();
    apply(&mut st, &ops);
    assert_eq!(st.listeners[&l].ports, vec![range(4005, 4015)]);
    assert_eq!(st.listeners[&l].affinity, Affinity::None);
}

#[test]
fn the_listener_quota_and_the_deletion_order() {
    let mut st = State::default();
    let acc = accelerator(&mut st);
    let mut c = cx();
    c.quotas.listeners = 1;
    let l = listener(&mut st, &acc, Protocol::Tcp, vec![range(80, 80)]).unwrap();
    let spec = NewListener {
        protocol: Protocol::Tcp,
        ports: vec![range(81, 81)],
        ..Default::default()
    };
    let e = create_listener(&c, &st, &mut Ids::new(), Dialect::Huawei, &acc, &spec).unwrap_err();
    assert!(
        matches!(
            e,
            OpError::Quota {
                what: "listeners",
                ..
            }
        ),
        "{e:?}"
    );
    let e = delete_accelerator(&cx(), &st, &acc).unwrap_err();
    assert!(
        matches!(
            e,
            OpError::InUse {
                by: Res::Listener,
                count: 1,
                ..
            }
        ),
        "{e:?}"
    );
    let ops = delete_listener(&cx(), &st, &l).unwrap();
    apply(&mut st, &ops);
    let ops = delete_accelerator(&cx(), &st, &acc).unwrap();
    apply(&mut st, &ops);
    assert!(st.accelerators.is_empty() && st.listeners.is_empty());
}

#[test]
fn a_listener_made_one_by_one_weighs_its_endpoints() {
    let mut st = State::default();
    let acc = accelerator(&mut st);
    let l = listener(&mut st, &acc, Protocol::Udp, vec![range(5000, 5009)]).unwrap();
    assert_eq!(st.listeners[&l].scheduler, onramp_core::Scheduler::Wrr);
}
