//! The incremental path equals the full one: after any run of random batches (puts and deletes
//! of every kind the snapshot depends on, dangling references included), a snapshot kept up to
//! date by applying `delta`s from `State::touched_since` is the snapshot `build` makes.

use super::*;
use crate::acl::AccessKind;
use crate::state::State;

/// A small deterministic generator (xorshift), so a failure names its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, of: &[&'a str]) -> &'a str {
        of[self.below(of.len() as u64) as usize]
    }
    fn coin(&mut self) -> bool {
        self.below(2) == 0
    }
}

const ACCS: [&str; 4] = ["a1", "a2", "a3", "a4"];
const GROUPS: [&str; 2] = ["g1", "g2"];
const LISTENERS: [&str; 8] = ["l1", "l2", "l3", "l4", "l5", "l6", "l7", "l8"];
const EGS: [&str; 4] = ["e1", "e2", "e3", "e4"];
const ORIGINS: [&str; 5] = ["o1", "o2", "o3", "o4", "o5"];
const BINDINGS: [&str; 10] = ["b1", "b2", "b3", "b4", "b5", "b6", "b7", "b8", "b9", "b10"];
const IPGS: [&str; 2] = ["i1", "i2"];

fn record(r: &mut Rng) -> Record {
    match r.below(7) {
        0 => Record::Accelerator(Accelerator {
            id: r.pick(&ACCS).into(),
            access_region: r.pick(&["r1", "r2"]).into(),
            enabled: r.below(4) != 0,
            banned: r.below(8) == 0,
            bandwidth_mbps: r.below(3),
            group_id: match r.below(3) {
                0 => None,
                _ => Some(r.pick(&GROUPS).into()),
            },
            ..Default::default()
        }),
        1 => Record::Group(AcceleratorGroup {
            id: r.pick(&GROUPS).into(),
            ..Default::default()
        }),
        2 => Record::Listener(Listener {
            id: r.pick(&LISTENERS).into(),
            owner: match r.coin() {
                true => Owner::Accelerator(r.pick(&ACCS).into()),
                false => Owner::Group(r.pick(&GROUPS).into()),
            },
            ports: vec![PortRange::single(1000 + r.below(3) as u16)],
            scheduler: if r.coin() {
                Scheduler::Rr
            } else {
                Scheduler::Wrr
            },
            access: r.coin().then(|| AccessControl {
                ip_group_id: r.pick(&IPGS).into(),
                kind: AccessKind::Black,
            }),
            ..Default::default()
        }),
        3 => Record::EndpointGroup(EndpointGroup {
            id: r.pick(&EGS).into(),
            listener_id: r.pick(&LISTENERS).into(),
            traffic_dial: r.below(101) as u8,
            ..Default::default()
        }),
        4 => Record::Origin(Origin {
            id: r.pick(&ORIGINS).into(),
            address: format!("127.0.0.{}", 1 + r.below(3)),
            banned: r.below(6) == 0,
            ..Default::default()
        }),
        5 => Record::Binding(Binding {
            id: r.pick(&BINDINGS).into(),
            listener_id: r.pick(&LISTENERS).into(),
            endpoint_group_id: r.pick(&EGS).into(),
            origin_id: r.pick(&ORIGINS).into(),
            weight: r.below(4) as u32,
            port: 80,
            ..Default::default()
        }),
        _ => Record::IpGroup(IpGroup {
            id: r.pick(&IPGS).into(),
            entries: vec![IpEntry {
                cidr: format!("10.{}.0.0/16", r.below(3)),
                ..Default::default()
            }],
            ..Default::default()
        }),
    }
}

fn op(r: &mut Rng) -> Op {
    let rec = record(r);
    if r.below(4) == 0 {
        Op::Delete(rec.kind(), rec.id().to_string())
    } else {
        Op::Put(rec)
    }
}

#[test]
fn deltas_keep_a_snapshot_equal_to_a_full_build() {
    for seed in 1..=300u64 {
        let mut r = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut st = State::from_records(0, []);
        let mut kept = [build(&st, "r1"), build(&st, "r2")];
        for rev in 1..=60u64 {
            let batch: Vec<Op> = (0..1 + r.below(4)).map(|_| op(&mut r)).collect();
            st.apply(rev, &batch);
            // Edges sometimes skip revisions: they catch up from an older one.
            if r.below(3) == 0 && rev < 60 {
                continue;
            }
            for (snap, region) in kept.iter_mut().zip(["r1", "r2"]) {
                let touched = st.touched_since(snap.revision).expect("in the window");
                snap.apply_delta(&delta(&st, region, snap.revision, &touched));
                assert_eq!(
                    *snap,
                    build(&st, region),
                    "seed {seed}, revision {rev}, region {region}, batch {batch:?}"
                );
            }
        }
    }
}

#[test]
fn a_delta_names_only_what_the_batch_touched() {
    let mut st = State::from_records(0, []);
    let mut puts = vec![Op::Put(Record::Accelerator(Accelerator {
        id: "a".into(),
        access_region: "r".into(),
        enabled: true,
        ..Default::default()
    }))];
    for i in 0..100 {
        puts.push(Op::Put(Record::Listener(Listener {
            id: format!("l{i:03}"),
            owner: Owner::Accelerator("a".into()),
            ..Default::default()
        })));
    }
    st.apply(1, &puts);
    let bind = Op::Put(Record::Binding(Binding {
        id: "b".into(),
        listener_id: "l042".into(),
        origin_id: "o".into(),
        ..Default::default()
    }));
    st.apply(2, &[bind]);
    let d = delta(&st, "r", 1, &st.touched_since(1).unwrap());
    let ids: Vec<&str> = d.listeners.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids, ["l042"]);
    assert!(d.accelerators.is_empty() && d.removed_listeners.is_empty());
    // Deleting the binding names its listener though the binding is gone.
    st.apply(3, &[Op::Delete(Kind::Binding, "b".into())]);
    let d = delta(&st, "r", 2, &st.touched_since(2).unwrap());
    assert_eq!(d.listeners.len(), 1);
    assert!(d.listeners[0].backends.is_empty());
}
