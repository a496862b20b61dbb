//! The binding rules: replacing a set keeps the IDs of what stays; what may be bound.

use onramp_core::{Dialect, Op, OriginKind, Owner, Protocol, Record, State};

use super::*;
use crate::origins::{self, NewOrigins};
use crate::test_state::{accelerator, apply, cx, listener};

/// An accelerator with one TCP listener and two IP origins; returns (listener, origins).
fn setup(st: &mut State) -> (String, Vec<String>) {
    let a = accelerator(st);
    let l = listener(st, &Owner::Accelerator(a), Protocol::Tcp, 80);
    let addresses = [
        ("127.0.0.2".to_string(), OriginKind::Ip),
        ("127.0.0.3".to_string(), OriginKind::Ip),
    ];
    let req = NewOrigins {
        project_id: 0,
        name: "o",
        tags: &[],
        created_by: Dialect::Gaap,
        addresses: &addresses,
    };
    let (ops, made) = origins::add(&cx(), st, &mut Ids::new(), &req).unwrap();
    apply(st, &ops);
    (l, made.into_iter().map(|o| o.id).collect())
}

fn want(origin: &str, port: u16, weight: u32) -> Want {
    Want {
        origin_id: origin.into(),
        port,
        weight,
        address: None,
        backup: false,
    }
}

#[test]
fn a_pair_that_stays_keeps_its_binding_and_the_rest_is_replaced() {
    let mut st = State::default();
    let (l, o) = setup(&mut st);
    let ops = bind(
        &cx(),
        &st,
        &mut Ids::new(),
        &l,
        vec![want(&o[0], 8080, 1), want(&o[1], 8080, 1)],
    )
    .unwrap();
    apply(&mut st, &ops);
    let kept = st
        .bindings_of(&l)
        .find(|b| b.origin_id == o[0])
        .unwrap()
        .id
        .clone();
    let ops = bind(&cx(), &st, &mut Ids::new(), &l, vec![want(&o[0], 8080, 7)]).unwrap();
    apply(&mut st, &ops);
    let now: Vec<_> = st.bindings_of(&l).collect();
    assert_eq!(now.len(), 1);
    assert_eq!((now[0].id.as_str(), now[0].weight), (kept.as_str(), 7));
    assert_eq!(
        st.listeners[&l].change,
        onramp_core::ListenerChange::Origins
    );
    assert!(matches!(ops.last(), Some(Op::Put(Record::Listener(_)))));
}

#[test]
fn items_are_checked_against_the_callers_origins() {
    let mut st = State::default();
    let (l, o) = setup(&mut st);
    let item_of = |wants: Vec<Want>| match bind(&cx(), &st, &mut Ids::new(), &l, wants) {
        Err(OpError::Item { index, error }) => (index, *error),
        other => panic!("{other:?}"),
    };
    let (i, e) = item_of(vec![want(&o[0], 80, 1), want("rs-none", 80, 1)]);
    assert!(
        i == 1 && matches!(e, OpError::NotFound(Res::Origin, _)),
        "{e:?}"
    );
    let mut w = want(&o[0], 80, 1);
    w.address = Some("10.0.0.9".into());
    let (_, e) = item_of(vec![w]);
    assert!(
        matches!(e, OpError::Invalid(ref x) if x.field == "address"),
        "{e:?}"
    );
    let (i, e) = item_of(vec![want(&o[0], 80, 1), want(&o[0], 80, 2)]);
    assert!(i == 1 && matches!(e, OpError::Invalid(_)), "{e:?}");
    let other = Cx {
        account: "acct-2".into(),
        ..cx()
    };
    let e = bind(&other, &st, &mut Ids::new(), &l, vec![]).unwrap_err();
    assert!(matches!(e, OpError::NotFound(Res::Listener, _)), "{e:?}");
}

#[test]
fn at_most_max_bound_origins() {
    let mut st = State::default();
    let (l, o) = setup(&mut st);
    let wants = (0..=MAX_BOUND as u16)
        .map(|p| want(&o[0], p + 1, 1))
        .collect();
    let e = bind(&cx(), &st, &mut Ids::new(), &l, wants).unwrap_err();
    assert!(
        matches!(
            e,
            OpError::Quota {
                limit: MAX_BOUND,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn an_address_is_registered_once_per_project() {
    let mut st = State::default();
    setup(&mut st);
    let addresses = [("127.0.0.2".to_string(), OriginKind::Ip)];
    let mut req = NewOrigins {
        project_id: 0,
        name: "o",
        tags: &[],
        created_by: Dialect::Gaap,
        addresses: &addresses,
    };
    let e = origins::add(&cx(), &st, &mut Ids::new(), &req).unwrap_err();
    assert!(
        matches!(e, OpError::DuplicateAddress { project: 0, .. }),
        "{e:?}"
    );
    req.project_id = 1;
    assert!(origins::add(&cx(), &st, &mut Ids::new(), &req).is_ok());
}
