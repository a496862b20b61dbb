//! Unit tests of the selection rules.

mod common;

use common::{cfg, client, down, specs, up};
use onramp_balancer::{Algorithm, BackendLive, Role, Selector, SelectorConfig};

const ALL: [Algorithm; 4] = [
    Algorithm::RoundRobin,
    Algorithm::WeightedRoundRobin,
    Algorithm::LeastConnections,
    Algorithm::LeastRtt,
];

fn picks(s: &mut Selector, n: usize, live: &dyn Fn(usize) -> BackendLive) -> Vec<usize> {
    (0..n)
        .filter_map(|k| s.pick(client(k as u32), 0, live, &[]))
        .collect()
}

#[test]
fn round_robin_cycles_in_order() {
    let mut s = Selector::new(cfg(Algorithm::RoundRobin), specs(&[1, 1, 1]));
    assert_eq!(picks(&mut s, 6, &|_| up()), vec![0, 1, 2, 0, 1, 2]);
}

#[test]
fn ineligible_backends_are_skipped_by_every_algorithm() {
    let live = |i: usize| match i {
        0 => down(),
        1 => BackendLive {
            draining: true,
            ..up()
        },
        2 => BackendLive {
            banned: true,
            ..up()
        },
        _ => up(),
    };
    for alg in ALL {
        for affinity in [false, true] {
            let c = SelectorConfig {
                source_affinity: affinity,
                ..cfg(alg)
            };
            let mut s = Selector::new(c, specs(&[1, 1, 1, 0, 1, 1]));
            let got = picks(&mut s, 200, &live);
            assert_eq!(got.len(), 200);
            assert!(
                got.iter().all(|&i| i == 4 || i == 5),
                "{alg:?} {affinity}: {got:?}"
            );
        }
    }
}

#[test]
fn exclude_is_honoured() {
    for alg in ALL {
        let mut s = Selector::new(cfg(alg), specs(&[1, 1, 1]));
        for _ in 0..10 {
            assert_eq!(s.pick(client(1), 0, &|_| up(), &[0, 2]), Some(1));
        }
        assert_eq!(s.pick(client(1), 0, &|_| up(), &[0, 1, 2]), None);
    }
}

#[test]
fn no_backends_means_none() {
    let mut s = Selector::new(cfg(Algorithm::RoundRobin), Vec::new());
    assert_eq!(s.pick(client(1), 0, &|_| up(), &[]), None);
    let mut s = Selector::new(
        SelectorConfig {
            source_affinity: true,
            ..cfg(Algorithm::RoundRobin)
        },
        specs(&[0, 0]),
    );
    assert_eq!(s.pick(client(1), 0, &|_| up(), &[]), None);
    assert_eq!(s.maglev().map(|m| m.size()), Some(0));
}

#[test]
fn smooth_wrr_matches_the_nginx_sequence() {
    let mut s = Selector::new(cfg(Algorithm::WeightedRoundRobin), specs(&[5, 1, 1]));
    assert_eq!(picks(&mut s, 7, &|_| up()), vec![0, 0, 1, 0, 2, 0, 0]);
    assert_eq!(picks(&mut s, 7, &|_| up()), vec![0, 0, 1, 0, 2, 0, 0]);
}

#[test]
fn least_connections_uses_active_over_weight() {
    let actives = [3u32, 2, 9];
    let live = |i: usize| BackendLive {
        active: actives[i],
        ..up()
    };
    // 3/2 = 1.5 beats 2/1 = 2 and 9/4.
    let mut s = Selector::new(cfg(Algorithm::LeastConnections), specs(&[2, 1, 4]));
    assert_eq!(s.pick(client(1), 0, &live, &[]), Some(0));
    // Ties (4/2 = 2/1) go round robin.
    let actives = [4u32, 2, 100];
    let live = |i: usize| BackendLive {
        active: actives[i],
        ..up()
    };
    let mut s = Selector::new(cfg(Algorithm::LeastConnections), specs(&[2, 1, 1]));
    assert_eq!(picks(&mut s, 4, &live), vec![0, 1, 0, 1]);
}

#[test]
fn least_rtt_prefers_measured_then_round_robin() {
    let rtts = [None, Some(900), Some(300), Some(300)];
    let live = |i: usize| BackendLive {
        rtt_us: rtts[i],
        ..up()
    };
    let mut s = Selector::new(cfg(Algorithm::LeastRtt), specs(&[1, 1, 1, 1]));
    assert_eq!(picks(&mut s, 4, &live), vec![2, 3, 2, 3]);
    let live = |_: usize| BackendLive {
        rtt_us: None,
        ..up()
    };
    assert_eq!(picks(&mut s, 3, &live).len(), 3);
    let only_unmeasured = |i: usize| if i == 0 { up() } else { down() };
    assert_eq!(s.pick(client(1), 0, &only_unmeasured, &[]), Some(0));
}

fn roles(s: &mut [onramp_balancer::BackendSpec], r: &[Role]) {
    for (b, role) in s.iter_mut().zip(r) {
        b.role = *role;
    }
}

#[test]
fn failover_prefers_masters_then_slaves() {
    let mut b = specs(&[1, 1, 1, 1]);
    roles(&mut b, &[Role::Slave, Role::Master, Role::Any, Role::Slave]);
    for alg in ALL {
        let c = SelectorConfig {
            failover: true,
            ..cfg(alg)
        };
        let mut s = Selector::new(c, b.clone());
        let got = picks(&mut s, 50, &|_| up());
        assert!(got.iter().all(|&i| i == 1 || i == 2), "{alg:?} {got:?}");
        let masters_down = |i: usize| if i == 1 || i == 2 { down() } else { up() };
        let got = picks(&mut s, 50, &masters_down);
        assert!(got.iter().all(|&i| i == 0 || i == 3), "{alg:?} {got:?}");
        // A master excluded by a failed attempt falls over to a slave.
        let only_one_master = |i: usize| if i == 2 { down() } else { up() };
        let p = s.pick(client(1), 0, &only_one_master, &[1]);
        assert!(p == Some(0) || p == Some(3));
    }
    // Without failover, roles are ignored.
    let mut s = Selector::new(cfg(Algorithm::RoundRobin), b);
    assert_eq!(picks(&mut s, 4, &|_| up()), vec![0, 1, 2, 3]);
}

#[test]
fn fails_open_when_every_backend_is_unhealthy() {
    let live = |i: usize| match i {
        0 => BackendLive {
            draining: true,
            ..down()
        },
        1 => BackendLive {
            banned: true,
            ..down()
        },
        _ => down(),
    };
    for alg in ALL {
        let mut s = Selector::new(cfg(alg), specs(&[1, 1, 0, 1, 1]));
        let got = picks(&mut s, 40, &live);
        assert_eq!(got.len(), 40);
        assert!(got.iter().all(|&i| i == 3 || i == 4), "{alg:?} {got:?}");
    }
}

#[test]
fn fail_open_keeps_failover_order() {
    let mut b = specs(&[1, 1]);
    roles(&mut b, &[Role::Slave, Role::Master]);
    let mut s = Selector::new(
        SelectorConfig {
            failover: true,
            ..cfg(Algorithm::RoundRobin)
        },
        b,
    );
    assert_eq!(picks(&mut s, 3, &|_| down()), vec![1, 1, 1]);
}

#[test]
fn healthy_but_excluded_does_not_fail_open() {
    let live = |i: usize| if i == 0 { up() } else { down() };
    let mut s = Selector::new(cfg(Algorithm::RoundRobin), specs(&[1, 1, 1]));
    assert_eq!(s.pick(client(1), 0, &live, &[0]), None);
    // Once the failed one is marked down too, the pick fails open to the others.
    assert_eq!(s.pick(client(1), 0, &|_| down(), &[0]), Some(1));
}
