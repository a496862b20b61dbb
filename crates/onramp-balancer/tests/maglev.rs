//! Maglev table properties: weighted balance, minimal disruption, stability.

mod common;

use common::{client, specs, up};
use onramp_balancer::maglev::{is_prime, Maglev, DEFAULT_MIN_SIZE};
use onramp_balancer::{Algorithm, Selector, SelectorConfig};
use proptest::prelude::*;

fn keyed(weights: &[u32]) -> Vec<(String, u32)> {
    specs(weights)
        .into_iter()
        .map(|b| (b.key, b.weight))
        .collect()
}

fn owners(t: &Maglev) -> Vec<Option<usize>> {
    (0..t.size()).map(|s| t.slot_owner(s)).collect()
}

fn counts(t: &Maglev, n: usize) -> Vec<usize> {
    let mut c = vec![0; n];
    for o in owners(t).into_iter().flatten() {
        c[o] += 1;
    }
    c
}

/// Slots that changed owner after removing backend `gone`, not counting the slots it owned;
/// keys identify backends across the two tables.
fn disruption(weights: &[u32], gone: usize) -> usize {
    let before_keys = keyed(weights);
    let mut after_keys = before_keys.clone();
    after_keys.remove(gone);
    let before = Maglev::new(&before_keys, DEFAULT_MIN_SIZE);
    let after = Maglev::new(&after_keys, DEFAULT_MIN_SIZE);
    let key_of =
        |keys: &[(String, u32)], o: Option<usize>| o.and_then(|i| keys.get(i)).map(|k| k.0.clone());
    (0..before.size())
        .filter(|&s| before.slot_owner(s) != Some(gone))
        .filter(|&s| {
            key_of(&before_keys, before.slot_owner(s)) != key_of(&after_keys, after.slot_owner(s))
        })
        .count()
}

#[test]
fn equal_weights_split_evenly_and_fill_every_slot() {
    let t = Maglev::new(&keyed(&[1; 10]), DEFAULT_MIN_SIZE);
    assert_eq!(t.size(), 65_537);
    assert!(is_prime(t.size() as u64));
    let c = counts(&t, 10);
    assert_eq!(c.iter().sum::<usize>(), 65_537);
    assert!(c.iter().all(|&x| x == 6_553 || x == 6_554), "{c:?}");
}

#[test]
fn zero_weights_own_nothing() {
    let t = Maglev::new(&keyed(&[0, 3, 0, 1]), DEFAULT_MIN_SIZE);
    let c = counts(&t, 4);
    assert_eq!(c[0] + c[2], 0);
    assert_eq!(c[1] + c[3], t.size());
    let empty = Maglev::new(&keyed(&[0, 0]), DEFAULT_MIN_SIZE);
    assert_eq!(empty.size(), 0);
    assert_eq!(empty.lookup(12_345), None);
    assert_eq!(Maglev::new(&[], 0).lookup(1), None);
}

#[test]
fn size_grows_past_one_hundred_per_backend() {
    let t = Maglev::new(&keyed(&[1; 1_000]), DEFAULT_MIN_SIZE);
    assert!(t.size() > 100_000 && is_prime(t.size() as u64));
    assert!(counts(&t, 1_000).iter().all(|&x| x >= 100));
}

/// Measures the worst extra disruption over many removals; the figure is quoted in the docs.
#[test]
fn measured_disruption_is_small() {
    let mut worst = 0.0f64;
    let mut total = 0.0f64;
    let mut runs = 0.0f64;
    for n in [2usize, 3, 5, 10, 20] {
        for gone in 0..n {
            let d = disruption(&vec![1; n], gone) as f64 / 65_537.0;
            worst = worst.max(d);
            total += d;
            runs += 1.0;
        }
    }
    println!(
        "maglev extra disruption: worst {:.3} %, mean {:.3} %",
        worst * 100.0,
        total / runs * 100.0
    );
    assert!(worst <= 0.01, "worst {worst}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn weighted_shares_within_one_percent(weights in prop::collection::vec(1u32..=100, 1..=20)) {
        let t = Maglev::new(&keyed(&weights), DEFAULT_MIN_SIZE);
        let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        let m = t.size() as f64;
        for (i, c) in counts(&t, weights.len()).into_iter().enumerate() {
            let want = m * f64::from(weights[i]) / total as f64;
            prop_assert!((c as f64 - want).abs() <= (want * 0.01).max(2.0), "backend {i}: {c} vs {want}");
        }
    }

    #[test]
    fn removing_one_backend_moves_few_other_slots(n in 2usize..=20, gone in 0usize..20) {
        let gone = gone % n;
        let d = disruption(&vec![1; n], gone);
        prop_assert!(d as f64 <= 0.01 * 65_537.0, "n {n} gone {gone}: {d}");
    }

    #[test]
    fn same_specs_same_mapping(weights in prop::collection::vec(0u32..=10, 1..=12), clients in prop::collection::vec(any::<u32>(), 1..64)) {
        let c = SelectorConfig { source_affinity: true, algorithm: Algorithm::LeastConnections, ..SelectorConfig::default() };
        let mut a = Selector::new(c, specs(&weights));
        let mut b = Selector::new(c, specs(&weights));
        for n in clients {
            prop_assert_eq!(a.pick(client(n), 0, &|_| up(), &[]), b.pick(client(n), 0, &|_| up(), &[]));
        }
    }
}
