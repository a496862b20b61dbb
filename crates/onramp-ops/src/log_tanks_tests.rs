//! The rules of log tanks.

use onramp_core::{Owner, Protocol, State};

use super::*;
use crate::test_state::{accelerator, apply, cx, listener};

fn target(g: &str) -> Target {
    Target {
        log_group_id: g.into(),
        log_stream_id: "stream-1".into(),
    }
}

fn setup(st: &mut State) -> String {
    let a = accelerator(st);
    listener(st, &Owner::Accelerator(a), Protocol::Tcp, 80)
}

#[test]
fn one_per_listener_and_found_by_id() {
    let mut st = State::default();
    let l = setup(&mut st);
    let (ops, id) = create(&cx(), &st, &mut Ids::new(), &l, &target("g1")).unwrap();
    apply(&mut st, &ops);
    assert_eq!(find(&cx(), &st, &id).unwrap().id, l);
    let again = create(&cx(), &st, &mut Ids::new(), &l, &target("g2"));
    assert!(matches!(
        again,
        Err(OpError::Exists {
            res: Res::LogTank,
            ..
        })
    ));
    let ops = update(&cx(), &st, &id, &target("g3")).unwrap();
    apply(&mut st, &ops);
    let tank = st.listeners[&l].log_tank.clone().unwrap();
    assert_eq!(
        (tank.id.as_str(), tank.log_group_id.as_str()),
        (id.as_str(), "g3")
    );
    let ops = delete(&cx(), &st, &id).unwrap();
    apply(&mut st, &ops);
    assert!(st.listeners[&l].log_tank.is_none());
    assert!(matches!(
        find(&cx(), &st, &id),
        Err(OpError::NotFound(Res::LogTank, _))
    ));
}

#[test]
fn refusals() {
    let mut st = State::default();
    let l = setup(&mut st);
    let missing = create(&cx(), &st, &mut Ids::new(), "nope", &target("g"));
    assert!(matches!(missing, Err(OpError::NotFound(Res::Listener, _))));
    let empty = create(&cx(), &st, &mut Ids::new(), &l, &target(""));
    assert!(matches!(empty, Err(OpError::Invalid(ref i)) if i.field == "log_group_id"));
    let mut other = cx();
    other.account = "acct-2".into();
    let foreign = create(&other, &st, &mut Ids::new(), &l, &target("g"));
    assert!(matches!(foreign, Err(OpError::NotFound(Res::Listener, _))));
    let (ops, id) = create(&cx(), &st, &mut Ids::new(), &l, &target("g")).unwrap();
    apply(&mut st, &ops);
    assert!(matches!(
        delete(&other, &st, &id),
        Err(OpError::NotFound(..))
    ));
}
