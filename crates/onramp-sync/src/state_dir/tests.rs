use super::*;
use onramp_core::snapshot::{Delta, ListenerSpec};

fn spec(id: &str, weight_port: u16) -> Arc<ListenerSpec> {
    Arc::new(ListenerSpec {
        id: id.into(),
        accelerator_id: "a".into(),
        protocol: Default::default(),
        ports: vec![onramp_core::PortRange::single(weight_port)],
        scheduler: Default::default(),
        affinity: false,
        persist_secs: 0,
        failover: false,
        client_ip: Default::default(),
        health: Default::default(),
        bandwidth_mbps: 0,
        max_connections: 0,
        traffic_dial: 100,
        groups: Vec::new(),
        backends: Vec::new(),
        access: None,
        access_log: false,
    })
}

fn full(rev: u64, ids: &[(&str, u16)]) -> Snapshot {
    let mut s = Snapshot {
        revision: rev,
        ..Default::default()
    };
    for (id, p) in ids {
        s.listeners.insert(id.to_string(), spec(id, *p));
    }
    s
}

fn delta(from: u64, revision: u64, put: &[(&str, u16)], removed: &[&str]) -> Update {
    Update::Delta(Arc::new(Delta {
        from,
        revision,
        listeners: put.iter().map(|(id, p)| spec(id, *p)).collect(),
        removed_listeners: removed.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }))
}

/// Wait until the writer thread caught up (it writes in the background).
fn settle(dir: &Path, want: &Snapshot) {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while load(dir).unwrap().as_ref() != Some(want) {
        assert!(
            std::time::Instant::now() < end,
            "the state directory caught up"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[test]
fn the_kept_copy_is_the_snapshot_with_its_changes() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(load(dir.path()).unwrap(), None);
    let w = StateWriter::start(dir.path(), None).unwrap();
    w.record(&delta(0, 1, &[("x", 1)], &[])); // nothing to apply it to yet: ignored
    w.record(&Update::Full(Arc::new(full(5, &[("l1", 80), ("l2", 81)]))));
    w.record(&delta(5, 6, &[("l3", 82)], &["l1"]));
    w.record(&delta(6, 9, &[("l2", 90)], &[]));
    let want = full(9, &[("l2", 90), ("l3", 82)]);
    settle(dir.path(), &want);
    drop(w);
    // A restarted edge continues from it, and a torn last line is ignored.
    let w = StateWriter::start(dir.path(), load(dir.path()).unwrap()).unwrap();
    w.record(&delta(9, 10, &[], &["l3"]));
    let want = full(10, &[("l2", 90)]);
    settle(dir.path(), &want);
    drop(w);
    let mut f = OpenOptions::new()
        .append(true)
        .open(dir.path().join(CHANGES))
        .unwrap();
    f.write_all(br#"{"kind":"delta","from":10,"revision":11,"listen"#)
        .unwrap();
    assert_eq!(load(dir.path()).unwrap(), Some(want));
}

#[test]
fn leftover_changes_of_a_replaced_snapshot_are_skipped_and_gaps_stop_the_replay() {
    let dir = tempfile::tempdir().unwrap();
    let w = StateWriter::start(dir.path(), None).unwrap();
    w.record(&Update::Full(Arc::new(full(3, &[("l1", 80)]))));
    settle(dir.path(), &full(3, &[("l1", 80)]));
    drop(w);
    let mut lines = Vec::new();
    for u in [
        delta(1, 2, &[("old", 1)], &[]),
        delta(3, 4, &[("l2", 81)], &[]),
        delta(7, 8, &[("gap", 1)], &[]),
    ] {
        serde_json::to_writer(&mut lines, &UpdateDto::from(&u)).unwrap();
        lines.push(b'\n');
    }
    std::fs::write(dir.path().join(CHANGES), lines).unwrap();
    assert_eq!(
        load(dir.path()).unwrap(),
        Some(full(4, &[("l1", 80), ("l2", 81)]))
    );
}
