//! Property tests of the selector: proportions, failover, fail-open, persistence.

mod common;

use common::{cfg, client, down, specs, up};
use onramp_balancer::{Algorithm, BackendLive, Role, Selector, SelectorConfig};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn algorithm() -> impl Strategy<Value = Algorithm> {
    prop_oneof![
        Just(Algorithm::RoundRobin),
        Just(Algorithm::WeightedRoundRobin),
        Just(Algorithm::LeastConnections),
        Just(Algorithm::LeastRtt),
    ]
}

fn role() -> impl Strategy<Value = Role> {
    prop_oneof![Just(Role::Any), Just(Role::Master), Just(Role::Slave)]
}

fn tally(s: &mut Selector, n: usize, live: &dyn Fn(usize) -> BackendLive) -> Vec<usize> {
    let mut c = vec![0; s.backends().len()];
    for k in 0..n {
        if let Some(i) = s.pick(client(k as u32), 0, live, &[]) {
            c[i] += 1;
        }
    }
    c
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn wrr_matches_weights_within_one_percent(
        weights in prop::collection::vec(0u32..=100, 1..=16),
        extra in 0usize..5_000,
    ) {
        let total: usize = weights.iter().map(|&w| w as usize).sum();
        let mut s = Selector::new(cfg(Algorithm::WeightedRoundRobin), specs(&weights));
        let n = 10_000 + extra;
        let c = tally(&mut s, n, &|_| up());
        if total == 0 {
            prop_assert!(c.iter().all(|&x| x == 0));
        } else {
            for (i, &w) in weights.iter().enumerate() {
                let want = n as f64 * w as f64 / total as f64;
                prop_assert!((c[i] as f64 - want).abs() <= 0.01 * n as f64, "{i}: {} vs {want}", c[i]);
            }
        }
    }

    #[test]
    fn wrr_is_exact_over_whole_cycles(weights in prop::collection::vec(1u32..=50, 1..=10), cycles in 1usize..4) {
        let total: usize = weights.iter().map(|&w| w as usize).sum();
        let mut s = Selector::new(cfg(Algorithm::WeightedRoundRobin), specs(&weights));
        let c = tally(&mut s, total * cycles, &|_| up());
        for (i, &w) in weights.iter().enumerate() {
            prop_assert_eq!(c[i], w as usize * cycles);
        }
    }

    #[test]
    fn rr_and_idle_lc_are_equal_within_one(
        n in 1usize..=20,
        picks in 0usize..500,
        healthy in prop::collection::vec(any::<bool>(), 20),
        alg in prop_oneof![Just(Algorithm::RoundRobin), Just(Algorithm::LeastConnections), Just(Algorithm::LeastRtt)],
    ) {
        let live = |i: usize| if healthy[i] { up() } else { down() };
        let mut s = Selector::new(cfg(alg), specs(&vec![1; n]));
        let c = tally(&mut s, picks, &live);
        let any_up = healthy[..n].iter().any(|&h| h);
        let used: Vec<usize> = (0..n).filter(|&i| healthy[i] || !any_up).map(|i| c[i]).collect();
        prop_assert_eq!(used.iter().sum::<usize>(), picks);
        let (lo, hi) = (used.iter().min().copied().unwrap_or(0), used.iter().max().copied().unwrap_or(0));
        prop_assert!(hi - lo <= 1, "{c:?}");
    }

    #[test]
    fn failover_never_mixes_tiers(
        roles in prop::collection::vec(role(), 1..=10),
        healthy in prop::collection::vec(any::<bool>(), 10),
        alg in algorithm(),
        affinity in any::<bool>(),
    ) {
        let mut b = specs(&vec![1; roles.len()]);
        for (spec, r) in b.iter_mut().zip(&roles) {
            spec.role = *r;
        }
        let c = SelectorConfig { failover: true, source_affinity: affinity, ..cfg(alg) };
        let mut s = Selector::new(c, b);
        let live = |i: usize| if healthy[i] { up() } else { down() };
        let is_master = |i: usize| roles[i] != Role::Slave;
        let master_up = (0..roles.len()).any(|i| healthy[i] && is_master(i));
        let slave_up = (0..roles.len()).any(|i| healthy[i] && !is_master(i));
        for k in 0..50 {
            let p = s.pick(client(k), 0, &live, &[]);
            prop_assert!(p.is_some());
            let i = p.unwrap_or(usize::MAX);
            if master_up {
                prop_assert!(is_master(i) && healthy[i]);
            } else if slave_up {
                prop_assert!(!is_master(i) && healthy[i]);
            } else {
                // Fail open: masters first when there are any.
                prop_assert_eq!(is_master(i), roles.iter().any(|r| *r != Role::Slave));
            }
        }
    }

    #[test]
    fn picks_are_always_eligible(
        weights in prop::collection::vec(0u32..=5, 0..=12),
        lives in prop::collection::vec((any::<bool>(), any::<bool>(), any::<bool>(), 0u32..10, prop::option::of(0u64..1_000)), 12),
        exclude in prop::collection::vec(0usize..12, 0..4),
        alg in algorithm(),
        affinity in any::<bool>(),
        persist in any::<bool>(),
    ) {
        let live = |i: usize| {
            let (healthy, draining, banned, active, rtt_us) = lives[i];
            BackendLive { healthy, draining, banned, active, rtt_us }
        };
        let c = SelectorConfig { source_affinity: affinity, persist_ms: if persist { 100 } else { 0 }, ..cfg(alg) };
        let mut s = Selector::new(c, specs(&weights));
        let candidate = |i: usize| weights[i] > 0 && !lives[i].1 && !lives[i].2;
        let any_healthy = (0..weights.len()).any(|i| candidate(i) && lives[i].0);
        for k in 0..20u32 {
            match s.pick(client(k % 5), u64::from(k), &live, &exclude) {
                Some(i) => {
                    prop_assert!(candidate(i) && !exclude.contains(&i));
                    prop_assert!(lives[i].0 || !any_healthy);
                }
                None => prop_assert!((0..weights.len()).all(|i| !candidate(i) || exclude.contains(&i) || (any_healthy && !lives[i].0))),
            }
        }
    }

    #[test]
    fn persistence_holds_until_expiry_or_down(
        n in 2usize..=8,
        ttl in 1u64..1_000,
        gaps in prop::collection::vec(0u64..1_500, 1..30),
        alg in algorithm(),
    ) {
        let c = SelectorConfig { persist_ms: ttl, max_persist_entries: 16, ..cfg(alg) };
        let mut s = Selector::new(c, specs(&vec![1; n]));
        let mut now = 0u64;
        let mut last = s.pick(client(1), now, &|_| up(), &[]);
        for gap in gaps {
            now += gap;
            let _ = s.pick(client(2), now, &|_| up(), &[]);
            let p = s.pick(client(1), now, &|_| up(), &[]);
            if gap < ttl {
                prop_assert_eq!(p, last);
            }
            last = p;
        }
        // The remembered backend goes down: the client moves, and stays moved.
        let gone = last.unwrap_or(0);
        let live = |i: usize| if i == gone { down() } else { up() };
        let moved = s.pick(client(1), now, &live, &[]);
        prop_assert!(moved.is_some() && moved != last);
        prop_assert_eq!(s.pick(client(1), now, &|_| up(), &[]), moved);
    }
}
