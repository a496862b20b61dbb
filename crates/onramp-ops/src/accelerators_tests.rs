//! The accelerator and group rules: idempotent create, joining a group, cloning, resizing,
//! reported changes, deletion order of groups.

use onramp_core::{AcceleratorChange, Dialect, Kind, Op, Owner, Protocol, Record, State};

use super::*;
use crate::groups::{self, Access, NewGroup};
use crate::test_state::{accelerator, apply, cx, listener};

fn spec(region: &str, group: Option<&str>) -> NewAccelerator {
    NewAccelerator {
        place: Placement {
            access_region: region.into(),
            bandwidth_mbps: 10,
            concurrent: 2,
            group_id: group.map(str::to_string),
            ..Default::default()
        },
        name: "p".into(),
        ..Default::default()
    }
}

/// A group with one member in `local`; returns the group's ID.
fn group(st: &mut State) -> String {
    let req = NewGroup {
        name: "g".into(),
        origin_region: "far".into(),
        ip_version: "IPv4".into(),
        package_type: "Thunder".into(),
        access: vec![Access {
            region: "local".into(),
            bandwidth_mbps: 10,
            concurrent: 2,
            network_type: "normal".into(),
        }],
        ..Default::default()
    };
    let (ops, id) = groups::create(&cx(), st, &mut Ids::new(), Dialect::Gaap, &req);
    apply(st, &ops);
    id
}

#[test]
fn the_same_client_token_answers_the_first_accelerator_with_a_task() {
    let mut st = State::default();
    let mut s = spec("local", None);
    s.place.origin_region = Some("local".into());
    s.client_token = Some("t-1".into());
    let first = create(&cx(), &st, &mut Ids::new(), Dialect::Gaap, &s).unwrap();
    apply(&mut st, &first.ops);
    let again = create(&cx(), &st, &mut Ids::new(), Dialect::Gaap, &s).unwrap();
    assert_eq!(again.out, first.out);
    assert!(again.ops.is_empty() && again.task_anyway);
}

#[test]
fn an_origin_region_is_required_unless_a_group_gives_it() {
    let mut st = State::default();
    let e = create(
        &cx(),
        &st,
        &mut Ids::new(),
        Dialect::Gaap,
        &spec("local", None),
    )
    .unwrap_err();
    assert!(matches!(e, OpError::Missing("origin_region")), "{e:?}");
    let g = group(&mut st);
    let plan = create(
        &cx(),
        &st,
        &mut Ids::new(),
        Dialect::Gaap,
        &spec("other", Some(&g)),
    )
    .unwrap();
    match &plan.ops[0] {
        Op::Put(Record::Accelerator(a)) => {
            assert_eq!(
                (a.origin_region.as_str(), a.group_id.as_deref()),
                ("far", Some(g.as_str()))
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_member_takes_the_groups_terms_and_a_region_of_its_own() {
    let mut st = State::default();
    let g = group(&mut st);
    let e = create(
        &cx(),
        &st,
        &mut Ids::new(),
        Dialect::Gaap,
        &spec("local", Some(&g)),
    )
    .unwrap_err();
    assert!(
        matches!(e, OpError::RegionTaken { ref region, .. } if region == "local"),
        "{e:?}"
    );
    let mut s = spec("other", Some(&g));
    s.place.ip_version = Some("IPv6".into());
    let e = create(&cx(), &st, &mut Ids::new(), Dialect::Gaap, &s).unwrap_err();
    assert!(
        matches!(
            e,
            OpError::GroupMismatch {
                field: "ip_version",
                ..
            }
        ),
        "{e:?}"
    );
    let e = create(
        &cx(),
        &st,
        &mut Ids::new(),
        Dialect::Gaap,
        &spec("x", Some("lg-none")),
    )
    .unwrap_err();
    assert!(matches!(e, OpError::NotFound(Res::Group, _)), "{e:?}");
}

#[test]
fn a_clone_copies_listeners_with_fresh_ids_and_only_from_a_running_source() {
    let mut st = State::default();
    let src = accelerator(&mut st);
    let l = listener(&mut st, &Owner::Accelerator(src.clone()), Protocol::Udp, 53);
    let mut s = spec("local", None);
    s.cloned = Some(src.clone());
    let plan = create(&cx(), &st, &mut Ids::new(), Dialect::Gaap, &s).unwrap();
    apply(&mut st, &plan.ops);
    let copies: Vec<_> = st.listeners_of(&plan.out).collect();
    assert_eq!(copies.len(), 1);
    assert!(copies[0].id != l && copies[0].ports == st.listeners[&l].ports);
    assert_eq!(st.endpoint_groups_of(&copies[0].id).count(), 1);
    let (ops, _) = switch(&cx(), &st, std::slice::from_ref(&src), false);
    apply(&mut st, &ops);
    let e = create(&cx(), &st, &mut Ids::new(), Dialect::Gaap, &s).unwrap_err();
    assert!(
        matches!(e, OpError::NotRunning(Res::Accelerator, _)),
        "{e:?}"
    );
    let e = resize(&cx(), &st, &src, Resize::default()).unwrap_err();
    assert!(
        matches!(e, OpError::NotRunning(Res::Accelerator, _)),
        "{e:?}"
    );
}

#[test]
fn a_change_before_the_edges_applied_the_creation_still_reports_creating() {
    let mut st = State::default();
    let a = accelerator(&mut st);
    let pending = Cx { applied: 0, ..cx() };
    match &rename(&pending, &st, std::slice::from_ref(&a), "n").unwrap()[..] {
        [Op::Put(Record::Accelerator(x))] => assert_eq!(x.change, AcceleratorChange::Create),
        other => panic!("{other:?}"),
    }
    let applied = Cx {
        applied: st.revision,
        ..cx()
    };
    match &rename(&applied, &st, std::slice::from_ref(&a), "n").unwrap()[..] {
        [Op::Put(Record::Accelerator(x))] => assert_eq!(x.change, AcceleratorChange::Config),
        other => panic!("{other:?}"),
    }
}

#[test]
fn open_and_close_report_unchanged_and_unknown_ids() {
    let mut st = State::default();
    let a = accelerator(&mut st);
    let (ops, out) = switch(&cx(), &st, &[a.clone(), "link-none".into()], true);
    assert!(ops.is_empty());
    assert_eq!(
        out,
        Switched {
            unchanged: vec![a],
            unknown: vec!["link-none".into()]
        }
    );
}

#[test]
fn a_group_with_members_is_deleted_only_with_force_members_first() {
    let mut st = State::default();
    let g = group(&mut st);
    listener(&mut st, &Owner::Group(g.clone()), Protocol::Tcp, 80);
    let e = groups::delete(&cx(), &st, &g, false).unwrap_err();
    assert!(matches!(e, OpError::HasMembers { count: 1, .. }), "{e:?}");
    let ops = groups::delete(&cx(), &st, &g, true).unwrap();
    let kinds: Vec<Kind> = ops
        .iter()
        .map(|op| match op {
            Op::Delete(k, _) => *k,
            Op::Put(r) => panic!("a delete puts {r:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            Kind::Accelerator,
            Kind::EndpointGroup,
            Kind::Listener,
            Kind::Group
        ]
    );
    apply(&mut st, &ops);
    assert!(st.groups.is_empty() && st.accelerators.is_empty() && st.listeners.is_empty());
}

#[test]
fn switching_a_group_switches_its_members() {
    let mut st = State::default();
    let g = group(&mut st);
    let (ops, unchanged) = groups::switch(&cx(), &st, &g, false).unwrap();
    assert!(unchanged.is_empty());
    apply(&mut st, &ops);
    assert!(!st.groups[&g].enabled && st.members_of(&g).all(|a| !a.enabled));
    let (ops, unchanged) = groups::switch(&cx(), &st, &g, false).unwrap();
    assert!(ops.is_empty() && unchanged.len() == 2);
}
