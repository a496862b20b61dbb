use super::*;

fn listener(id: &str, owner: &str, port: u16) -> Record {
    Record::Listener(Listener {
        id: id.into(),
        account_id: "a".into(),
        owner: Owner::Accelerator(owner.into()),
        ports: vec![PortRange::single(port)],
        ..Default::default()
    })
}

fn binding(id: &str, listener: &str, origin: &str) -> Record {
    Record::Binding(Binding {
        id: id.into(),
        account_id: "a".into(),
        listener_id: listener.into(),
        origin_id: origin.into(),
        port: 80,
        ..Default::default()
    })
}

#[test]
fn apply_maintains_indices_and_revisions() {
    let mut s = State::default();
    s.apply(
        1,
        &[
            Op::Put(listener("l1", "p1", 80)),
            Op::Put(listener("l2", "p1", 81)),
        ],
    );
    s.apply(
        2,
        &[
            Op::Put(binding("b1", "l1", "o1")),
            Op::Put(binding("b2", "l1", "o2")),
        ],
    );
    assert_eq!(s.revision, 2);
    assert_eq!(s.listeners_of("p1").count(), 2);
    assert_eq!(s.bindings_of("l1").count(), 2);
    assert_eq!(s.listeners["l1"].revision, 1);
    assert_eq!(s.bindings["b1"].revision, 2);
    assert!(s.has_bindings("p1"));
    assert!(s
        .port_taken("p1", Protocol::Tcp, &PortRange::single(81), None)
        .is_some());
    assert!(s
        .port_taken("p1", Protocol::Tcp, &PortRange::single(81), Some("l2"))
        .is_none());
    assert!(s
        .port_taken("p1", Protocol::Udp, &PortRange::single(81), None)
        .is_none());

    // Moving a binding to another listener re-indexes it.
    s.apply(
        3,
        &[
            Op::Put(binding("b2", "l2", "o2")),
            Op::Delete(Kind::Listener, "l1".into()),
        ],
    );
    assert_eq!(s.bindings_of("l1").count(), 1);
    assert_eq!(s.bindings_of("l2").count(), 1);
    assert_eq!(s.listeners_of("p1").count(), 1);
    s.apply(4, &[Op::Delete(Kind::Binding, "b1".into())]);
    assert_eq!(s.bindings_of("l1").count(), 0);
    assert_eq!(s.bindings_of_origin("o1").count(), 0);
}

#[test]
fn lookups_respect_tenancy() {
    let s = State::from_records(1, [listener("l1", "p1", 80)]);
    assert!(s.listener("a", "l1").is_some());
    assert!(s.listener("b", "l1").is_none());
}

#[test]
fn old_tasks_are_found_through_the_time_index() {
    let task = |id: &str, at: Millis| {
        Record::Task(Task {
            id: id.into(),
            account_id: "a".into(),
            created_at: at,
            ..Default::default()
        })
    };
    let mut s = State::default();
    s.apply(
        1,
        &[
            Op::Put(task("t3", 300)),
            Op::Put(task("t1", 100)),
            Op::Put(task("t2", 200)),
        ],
    );
    let old = |s: &State, before| {
        s.tasks_created_before(before)
            .map(|t| t.id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        old(&s, 250),
        ["t1", "t2"],
        "oldest first, none at or after the bound"
    );
    // Re-putting a task with a new time moves it in the index; deleting removes it.
    s.apply(
        2,
        &[
            Op::Put(task("t1", 400)),
            Op::Delete(Kind::Task, "t2".into()),
        ],
    );
    assert_eq!(old(&s, 350), ["t3"]);
    assert_eq!(old(&s, 1_000), ["t3", "t1"]);
}

#[test]
fn ip_groups_know_their_listeners_and_are_named_resources() {
    let mut s = State::default();
    let group = Record::IpGroup(IpGroup {
        id: "g1".into(),
        account_id: "a".into(),
        ..Default::default()
    });
    let with_access = |kind: Option<crate::acl::AccessKind>| match listener("l1", "p1", 80) {
        Record::Listener(mut l) => {
            l.access = kind.map(|kind| AccessControl {
                ip_group_id: "g1".into(),
                kind,
            });
            Record::Listener(l)
        }
        other => other,
    };
    s.apply(
        1,
        &[
            Op::Put(group),
            Op::Put(with_access(Some(crate::acl::AccessKind::White))),
        ],
    );
    let users: Vec<&str> = s
        .listeners_of_ip_group("g1")
        .map(|l| l.id.as_str())
        .collect();
    assert_eq!(users, ["l1"]);
    assert_eq!(s.ip_group("a", "g1").map(|g| g.revision), Some(1));
    assert!(s.ip_group("b", "g1").is_none());
    let named = s.named_resource("a", "g1").unwrap();
    assert_eq!((named.id.as_str(), named.owner), ("g1", None));
    assert!(s.named_resource("b", "g1").is_none());
    // Disassociated, then deleted: no index entry is left behind.
    s.apply(2, &[Op::Put(with_access(None))]);
    assert_eq!(s.listeners_of_ip_group("g1").count(), 0);
    s.apply(
        3,
        &[Op::Put(with_access(Some(crate::acl::AccessKind::Black)))],
    );
    s.apply(4, &[Op::Delete(Kind::Listener, "l1".into())]);
    assert_eq!(s.listeners_of_ip_group("g1").count(), 0);
    s.apply(5, &[Op::Delete(Kind::IpGroup, "g1".into())]);
    assert!(s.ip_groups.is_empty());
}

#[test]
fn per_account_and_per_group_indices_follow_puts_moves_and_deletes() {
    let mut s = State::default();
    let acc = |id: &str, account: &str| {
        Op::Put(Record::Accelerator(Accelerator {
            id: id.into(),
            account_id: account.into(),
            ..Default::default()
        }))
    };
    let grouped = |id: &str, group: &str| {
        let Record::Binding(mut b) = binding(id, "l1", "o1") else {
            unreachable!()
        };
        b.endpoint_group_id = group.into();
        Op::Put(Record::Binding(b))
    };
    let ipg = Op::Put(Record::IpGroup(IpGroup {
        id: "g1".into(),
        account_id: "a".into(),
        ..Default::default()
    }));
    s.apply(1, &[acc("x1", "a"), acc("x2", "a"), acc("y1", "b"), ipg]);
    s.apply(
        2,
        &[
            grouped("b1", "eg1"),
            grouped("b2", "eg1"),
            grouped("b3", ""),
        ],
    );
    let ids = |it: Vec<&str>| it.into_iter().map(str::to_string).collect::<Vec<_>>();
    let accs = |s: &State, a: &str| {
        s.accelerators_of_account(a)
            .map(|x| x.id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(accs(&s, "a"), ids(vec!["x1", "x2"]));
    assert_eq!(s.ip_groups_of_account("a").count(), 1);
    assert_eq!(s.ip_groups_of_account("b").count(), 0);
    assert_eq!(s.bindings_of_group("eg1").count(), 2);
    assert_eq!(s.bindings_of_group("").count(), 0);
    // An accelerator moved to another account, a binding to another group, deletions.
    s.apply(3, &[acc("x2", "b"), grouped("b2", "eg2")]);
    assert_eq!(accs(&s, "a"), ids(vec!["x1"]));
    assert_eq!(accs(&s, "b"), ids(vec!["x2", "y1"]));
    assert_eq!(s.bindings_of_group("eg1").count(), 1);
    s.apply(
        4,
        &[
            Op::Delete(Kind::Accelerator, "x1".into()),
            Op::Delete(Kind::IpGroup, "g1".into()),
            Op::Delete(Kind::Binding, "b1".into()),
        ],
    );
    assert_eq!(accs(&s, "a").len(), 0);
    assert_eq!(s.ip_groups_of_account("a").count(), 0);
    assert_eq!(s.bindings_of_group("eg1").count(), 0);
    assert_eq!(s.bindings_of_group("eg2").count(), 1);
}
