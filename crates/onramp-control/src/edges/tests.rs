use super::*;

fn health(healthy: bool, down: &[&str]) -> BindingHealth {
    BindingHealth {
        healthy,
        down: down.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

fn report(applied: u64, h: Vec<(&str, BindingHealth)>) -> Report {
    Report {
        applied,
        health: h.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        ..Default::default()
    }
}

#[test]
fn statuses_wait_for_the_live_edges_of_the_region_only() {
    let e = Edges::default();
    assert_eq!(
        e.applied_in(Some("r1"), 9),
        9,
        "no edge: nothing holds back"
    );
    e.register("e1", "r1", vec!["127.0.1.1".into()], 3);
    e.register("e2", "r1", vec!["127.0.1.2".into()], 5);
    e.register("e3", "r2", vec!["127.0.2.1".into()], 7);
    assert_eq!(e.applied_in(Some("r1"), 9), 3);
    assert_eq!(e.applied_in(Some("r2"), 9), 7);
    assert_eq!(e.applied_in(None, 9), 3);
    assert!(e.report("e1", report(6, vec![])));
    assert_eq!(e.applied_in(Some("r1"), 9), 5);
    assert!(
        !e.report("nobody", report(1, vec![])),
        "unknown edges register first"
    );
    // A silent edge is lost: it no longer holds statuses back.
    e.set_lost_after(Duration::from_millis(30));
    std::thread::sleep(Duration::from_millis(40));
    assert!(e.report("e2", report(8, vec![])));
    assert_eq!(e.applied_in(Some("r1"), 9), 8);
    assert_eq!(e.applied_in(Some("r2"), 9), 9);
    let listed = e.list();
    let lost: Vec<&str> = listed
        .iter()
        .filter(|i| !i.live)
        .map(|i| i.name.as_str())
        .collect();
    assert_eq!(lost, ["e1", "e3"]);
    assert_eq!(
        e.regions()["r1"],
        ["127.0.1.2"],
        "the live edges' addresses"
    );
}

#[test]
fn health_is_abnormal_when_any_live_edge_sees_it_down() {
    let e = Edges::default();
    e.register("e1", "r", vec![], 1);
    e.register("e2", "r", vec![], 1);
    assert_eq!(e.binding("b"), None, "no result yet");
    e.report("e1", report(1, vec![("b", health(true, &[]))]));
    assert!(e.binding("b").unwrap().healthy);
    e.report(
        "e2",
        report(1, vec![("b", health(false, &["127.0.0.9:80"]))]),
    );
    let h = e.binding("b").unwrap();
    assert!(!h.healthy);
    assert_eq!(h.down, ["127.0.0.9:80"]);
    // A delta forgets a binding; a full report replaces everything.
    let mut r = report(1, vec![]);
    r.health_forget = vec!["b".into()];
    e.report("e2", r);
    assert!(e.binding("b").unwrap().healthy);
    let mut r = report(1, vec![("c", health(true, &[]))]);
    r.health_full = true;
    e.report("e1", r);
    assert_eq!(e.binding("b"), None);
}

#[test]
fn traffic_is_summed_over_edges_and_failures_named_by_edge() {
    let e = Edges::default();
    e.register("e1", "r", vec![], 1);
    e.register("e2", "r", vec![], 1);
    let now = crate::audit::now_millis() / 1000;
    let minute = now - now % 60;
    let sample = |bytes| MinuteSample {
        minute,
        bytes_in: bytes,
        ..Default::default()
    };
    for (name, bytes) in [("e1", 10), ("e2", 32)] {
        let mut r = report(1, vec![]);
        r.series = vec![("l".into(), vec![sample(bytes)])];
        r.binding_changes = vec![(
            "b".into(),
            vec![(minute, Some(if bytes > 20 { 0.0 } else { 1.0 }))],
        )];
        e.report(name, r);
    }
    let s = e.listener_series("l", minute, minute + 60);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].bytes_in, 42);
    assert_eq!(e.binding_series("b", minute, minute + 60), [(minute, 0.0)]);
    // The current minute grows: a later report replaces its sample.
    let mut r = report(1, vec![]);
    r.series = vec![("l".into(), vec![sample(20)])];
    r.failures = vec![("l".into(), "port taken".into())];
    e.report("e1", r);
    assert_eq!(e.listener_series("l", minute, minute + 60)[0].bytes_in, 52);
    assert_eq!(e.listener_failure("l").unwrap(), "edge e1: port taken");
}

#[test]
fn health_series_carry_forward_to_the_last_report_and_end_where_a_restarted_edge_was_away() {
    let e = Edges::default();
    e.register("e1", "r", vec![], 1);
    let now = crate::audit::now_millis() / 1000;
    let minute = now - now % 60;
    let mut r = report(1, vec![]);
    r.started = now - 3600;
    // Steady for an hour: one point, read back minute by minute up to now.
    r.binding_changes = vec![("b".into(), vec![(minute - 3600, Some(1.0))])];
    e.report("e1", r);
    let s = e.binding_series("b", minute - 600, minute + 600);
    assert_eq!(s.len(), 11, "ten minutes back and the current one: {s:?}");
    assert!(s.iter().all(|(_, v)| *v == 1.0));
    // The edge comes back as a new process: what the old one said ends where it was last
    // heard (here: within this minute, so at the new process's own minute).
    let mut r = report(1, vec![]);
    r.started = now;
    r.health_full = true;
    e.report("e1", r);
    let s = e.binding_series("b", minute - 120, minute + 600);
    assert_eq!(s.len(), 2, "not carried past the restart: {s:?}");
    assert_eq!(s.last().unwrap().0, minute - 60);
}
