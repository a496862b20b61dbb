use onramp_core::acl::AccessKind;
use onramp_core::{Owner, Protocol, State};

use super::*;
use crate::test_state::{accelerator, apply, cx, listener, local_placement, ACCOUNT};

fn block(cidr: &str) -> NewBlock {
    NewBlock {
        cidr: cidr.into(),
        description: String::new(),
    }
}

fn group(st: &mut State, blocks: &[&str]) -> String {
    let blocks: Vec<NewBlock> = blocks.iter().map(|b| block(b)).collect();
    let plan = create(&cx(), st, &mut Ids::new(), "g", "", &blocks).unwrap();
    apply(st, &plan.ops);
    plan.out
}

/// Run an operation on the state and apply its batch.
fn go(st: &mut State, f: impl FnOnce(&State) -> Result<Vec<onramp_core::Op>, OpError>) {
    let ops = f(st).unwrap();
    apply(st, &ops);
}

fn a_listener(st: &mut State) -> String {
    let a = accelerator(st);
    listener(st, &Owner::Accelerator(a), Protocol::Tcp, 80)
}

#[test]
fn blocks_are_checked_and_unique() {
    let mut st = State::default();
    let e = create(&cx(), &st, &mut Ids::new(), "g", "", &[block("10.0.0.1/8")]).unwrap_err();
    assert!(
        matches!(&e, OpError::Invalid(i) if i.field == "ip_list[0].cidr"),
        "{e:?}"
    );
    let twice = [block("10.0.0.0/8"), block("10.0.0.0/8")];
    let e = create(&cx(), &st, &mut Ids::new(), "g", "", &twice).unwrap_err();
    assert!(
        matches!(
            e,
            OpError::Duplicate {
                in_request: true,
                ..
            }
        ),
        "{e:?}"
    );
    let g = group(&mut st, &["10.0.0.0/8", "2001:db8::/32"]);
    let e = add_blocks(&cx(), &st, &g, &[block("2001:DB8::/32")]).unwrap_err();
    assert!(
        matches!(
            e,
            OpError::Duplicate {
                in_request: false,
                ..
            }
        ),
        "{e:?}"
    );
    go(&mut st, |st| {
        add_blocks(&cx(), st, &g, &[block("127.0.0.2")])
    });
    assert_eq!(st.ip_groups[&g].entries.len(), 3);
    // Removal compares blocks: `127.0.0.2/32` is the bare address added above.
    go(&mut st, |st| {
        remove_blocks(&cx(), st, &g, &["127.0.0.2/32".into()])
    });
    assert_eq!(st.ip_groups[&g].entries.len(), 2);
    let e = remove_blocks(&cx(), &st, &g, &["127.0.0.2".into()]).unwrap_err();
    assert!(
        matches!(&e, OpError::Invalid(i) if i.field == "ip_list[0]"),
        "{e:?}"
    );
}

#[test]
fn quotas_hold() {
    let mut st = State::default();
    let many: Vec<String> = (0..=MAX_BLOCKS)
        .map(|i| format!("10.{}.{}.0/24", i / 256, i % 256))
        .collect();
    let blocks: Vec<NewBlock> = many.iter().map(|b| block(b)).collect();
    let e = create(&cx(), &st, &mut Ids::new(), "g", "", &blocks).unwrap_err();
    assert!(
        matches!(
            e,
            OpError::Quota {
                limit: MAX_BLOCKS,
                ..
            }
        ),
        "{e:?}"
    );
    for _ in 0..MAX_GROUPS {
        group(&mut st, &[]);
    }
    let e = create(&cx(), &st, &mut Ids::new(), "g", "", &[]).unwrap_err();
    assert!(
        matches!(
            e,
            OpError::Quota {
                limit: MAX_GROUPS,
                ..
            }
        ),
        "{e:?}"
    );
    let g = st.ip_groups.keys().next().unwrap().clone();
    let a = accelerator(&mut st);
    for port in 0..MAX_LISTENERS as u16 {
        let l = listener(
            &mut st,
            &Owner::Accelerator(a.clone()),
            Protocol::Tcp,
            1000 + port,
        );
        go(&mut st, |st| {
            associate(&cx(), st, &g, &l, AccessKind::White)
        });
    }
    // The 11th on another accelerator (an accelerator holds 10 listeners by default).
    let b = accelerator(&mut st);
    let l = listener(&mut st, &Owner::Accelerator(b), Protocol::Tcp, 2000);
    let e = associate(&cx(), &st, &g, &l, AccessKind::White).unwrap_err();
    assert!(
        matches!(
            e,
            OpError::Quota {
                limit: MAX_LISTENERS,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn association_rules_and_deletion_order() {
    let mut st = State::default();
    let l = a_listener(&mut st);
    let (g, other) = (group(&mut st, &["127.0.0.2"]), group(&mut st, &[]));
    go(&mut st, |st| {
        associate(&cx(), st, &g, &l, AccessKind::White)
    });
    assert_eq!(
        st.listeners[&l].access.as_ref().unwrap().kind,
        AccessKind::White
    );
    // The same group again changes the kind; another group is refused.
    go(&mut st, |st| {
        associate(&cx(), st, &g, &l, AccessKind::Black)
    });
    assert_eq!(
        st.listeners[&l].access.as_ref().unwrap().kind,
        AccessKind::Black
    );
    let e = associate(&cx(), &st, &other, &l, AccessKind::White).unwrap_err();
    assert!(
        matches!(&e, OpError::StillBound { id, .. } if *id == g),
        "{e:?}"
    );
    let e = disassociate(&cx(), &st, &other, &l).unwrap_err();
    assert!(
        matches!(&e, OpError::Invalid(i) if i.field == "listener_id"),
        "{e:?}"
    );
    // Deleting a group in use is refused until the listener lets it go.
    let e = delete(&cx(), &st, &g).unwrap_err();
    assert!(
        matches!(&e, OpError::StillBound { res: Res::IpGroup, listener, .. } if *listener == l)
    );
    go(&mut st, |st| disassociate(&cx(), st, &g, &l));
    assert!(st.listeners[&l].access.is_none());
    go(&mut st, |st| delete(&cx(), st, &g));
    assert!(!st.ip_groups.contains_key(&g));
}

#[test]
fn a_deleted_listener_lets_its_group_go() {
    let mut st = State::default();
    let l = a_listener(&mut st);
    let g = group(&mut st, &[]);
    go(&mut st, |st| {
        associate(&cx(), st, &g, &l, AccessKind::Black)
    });
    go(&mut st, |st| {
        crate::listeners::delete(&cx(), st, &l, None, false)
    });
    assert!(delete(&cx(), &st, &g).is_ok());
}

#[test]
fn another_accounts_groups_and_listeners_are_not_found() {
    let mut st = State::default();
    let l = a_listener(&mut st);
    let g = group(&mut st, &[]);
    let stranger = Cx {
        account: format!("{ACCOUNT}-other"),
        ..cx()
    };
    assert!(matches!(
        find(&stranger, &st, &g),
        Err(OpError::NotFound(Res::IpGroup, _))
    ));
    assert!(matches!(
        delete(&stranger, &st, &g),
        Err(OpError::NotFound(..))
    ));
    let theirs = create(&stranger, &st, &mut Ids::new(), "t", "", &[]).unwrap();
    apply(&mut st, &theirs.ops);
    let e = associate(&cx(), &st, &theirs.out, &l, AccessKind::White).unwrap_err();
    assert!(matches!(e, OpError::NotFound(Res::IpGroup, _)));
    let e = associate(&stranger, &st, &theirs.out, &l, AccessKind::White).unwrap_err();
    assert!(matches!(e, OpError::NotFound(Res::Listener, _)));
}

#[test]
fn a_cloned_accelerator_does_not_copy_access_control() {
    use crate::accelerators::{self, NewAccelerator};
    let mut st = State::default();
    let src = accelerator(&mut st);
    let l = listener(&mut st, &Owner::Accelerator(src.clone()), Protocol::Tcp, 80);
    let g = group(&mut st, &[]);
    go(&mut st, |st| {
        associate(&cx(), st, &g, &l, AccessKind::White)
    });
    let spec = NewAccelerator {
        place: local_placement(),
        name: "c".into(),
        cloned: Some(src),
        ..Default::default()
    };
    let plan = accelerators::create(
        &cx(),
        &st,
        &mut Ids::new(),
        onramp_core::Dialect::Gaap,
        &spec,
    )
    .unwrap();
    apply(&mut st, &plan.ops);
    let copy = st.listeners_of(&plan.out).next().unwrap();
    assert!(copy.access.is_none());
    assert_eq!(st.listeners_of_ip_group(&g).count(), 1);
}
