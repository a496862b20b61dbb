//! Persistence table and source-affinity behaviour of the selector.

mod common;

use std::cell::Cell;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use common::{cfg, client, down, specs, up};
use onramp_balancer::{Algorithm, BackendLive, Selector, SelectorConfig};

fn persistent(ms: u64, cap: usize) -> SelectorConfig {
    SelectorConfig {
        persist_ms: ms,
        max_persist_entries: cap,
        ..cfg(Algorithm::RoundRobin)
    }
}

#[test]
fn same_client_same_backend_until_expiry() {
    let mut s = Selector::new(persistent(1_000, 100), specs(&[1, 1, 1]));
    let first = s.pick(client(7), 0, &|_| up(), &[]);
    // Other clients advance the round-robin cursor, client 7 stays put (use refreshes expiry).
    for t in (100..3_000).step_by(100) {
        let _ = s.pick(client(8), t, &|_| up(), &[]);
        assert_eq!(s.pick(client(7), t, &|_| up(), &[]), first, "t = {t}");
    }
    // Idle past the timeout: a fresh pick (round robin moves on).
    let _ = s.pick(client(8), 10_000, &|_| up(), &[]);
    let later = s.pick(client(7), 10_000, &|_| up(), &[]);
    assert!(later.is_some());
    let again = s.pick(client(7), 10_001, &|_| up(), &[]);
    assert_eq!(later, again);
}

#[test]
fn entry_dropped_when_backend_becomes_ineligible() {
    let mut s = Selector::new(persistent(60_000, 100), specs(&[1, 1, 1]));
    let first = s.pick(client(1), 0, &|_| up(), &[]).unwrap_or(usize::MAX);
    let without_first = |i: usize| if i == first { down() } else { up() };
    let second = s
        .pick(client(1), 1, &without_first, &[])
        .unwrap_or(usize::MAX);
    assert_ne!(first, second);
    // When `first` recovers the client stays on `second`: the old entry is gone.
    assert_eq!(s.pick(client(1), 2, &|_| up(), &[]), Some(second));
    // Excluding the remembered backend (failed connect) also re-picks.
    let third = s.pick(client(1), 3, &|_| up(), &[second]);
    assert!(third.is_some() && third != Some(second));
    assert_eq!(s.pick(client(1), 4, &|_| up(), &[]), third);
}

#[test]
fn forget_backend_and_expire() {
    let mut s = Selector::new(persistent(1_000, 100), specs(&[1, 1]));
    for n in 0..10 {
        let _ = s.pick(client(n), 0, &|_| up(), &[]);
    }
    assert_eq!(s.persisted_len(), 10);
    s.forget_backend(0);
    assert_eq!(s.persisted_len(), 5);
    s.expire(999);
    assert_eq!(s.persisted_len(), 5);
    s.expire(1_000);
    assert_eq!(s.persisted_len(), 0);
}

#[test]
fn table_is_bounded() {
    let mut s = Selector::new(persistent(1_000, 8), specs(&[1, 1, 1]));
    for n in 0..100 {
        let _ = s.pick(client(n), u64::from(n), &|_| up(), &[]);
        assert!(s.persisted_len() <= 8);
    }
    // The most recent clients are the ones kept.
    let kept = s.pick(client(99), 100, &|_| up(), &[]);
    assert_eq!(s.pick(client(99), 101, &|_| up(), &[]), kept);
}

#[test]
fn adopt_persistence_matches_by_key() {
    let mut old = Selector::new(persistent(1_000, 100), specs(&[1, 1, 1]));
    let before: Vec<Option<usize>> = (0..6)
        .map(|n| old.pick(client(n), 0, &|_| up(), &[]))
        .collect();
    // The new config drops backend 0 and puts the others at shifted indices.
    let mut new_specs = specs(&[1, 1, 1]);
    new_specs.remove(0);
    new_specs.insert(
        0,
        onramp_balancer::BackendSpec {
            key: "new".into(),
            weight: 1,
            role: Default::default(),
        },
    );
    let mut new = Selector::new(persistent(1_000, 100), new_specs);
    new.adopt_persistence(&old);
    assert_eq!(new.persisted_len(), 4);
    for (n, b) in before.iter().enumerate() {
        if *b != Some(0) {
            assert_eq!(new.pick(client(n as u32), 1, &|_| up(), &[]), *b);
        }
    }
}

fn affinity(n: usize) -> Selector {
    let c = SelectorConfig {
        source_affinity: true,
        ..cfg(Algorithm::RoundRobin)
    };
    Selector::new(c, specs(&vec![1; n]))
}

#[test]
fn affinity_is_stable_and_only_moves_clients_of_a_down_backend() {
    let mut a = affinity(5);
    let mut b = affinity(5);
    let map: Vec<Option<usize>> = (0..500)
        .map(|n| a.pick(client(n), 0, &|_| up(), &[]))
        .collect();
    for n in 0..500 {
        assert_eq!(b.pick(client(n), 0, &|_| up(), &[]), map[n as usize]);
    }
    let without_2 = |i: usize| if i == 2 { down() } else { up() };
    for (n, was) in map.iter().enumerate() {
        let now = a.pick(client(n as u32), 0, &without_2, &[]);
        if *was == Some(2) {
            assert!(now.is_some() && now != Some(2));
        } else {
            assert_eq!(now, *was);
        }
    }
}

#[test]
fn affinity_treats_mapped_v6_as_v4() {
    let mut s = affinity(7);
    for n in 0..50u32 {
        let v4 = Ipv4Addr::from(0x0a00_0000 + n);
        let p4 = s.pick(IpAddr::V4(v4), 0, &|_| up(), &[]);
        let p6 = s.pick(IpAddr::V6(v4.to_ipv6_mapped()), 0, &|_| up(), &[]);
        assert_eq!(p4, p6);
    }
    let v6 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));
    assert!(s.pick(v6, 0, &|_| up(), &[]).is_some());
}

#[test]
fn affinity_with_persistence_and_live_calls_once_per_backend() {
    let c = SelectorConfig {
        source_affinity: true,
        persist_ms: 1_000,
        max_persist_entries: 10,
        ..cfg(Algorithm::RoundRobin)
    };
    let mut s = Selector::new(c, specs(&[1, 2, 3]));
    let calls = Cell::new(0usize);
    let live = |_: usize| {
        calls.set(calls.get() + 1);
        BackendLive {
            healthy: true,
            ..BackendLive::default()
        }
    };
    let p = s.pick(client(3), 0, &live, &[]);
    assert_eq!(calls.get(), 3);
    assert_eq!(s.persisted_len(), 1);
    assert_eq!(s.pick(client(3), 10, &live, &[]), p);
}
