//! UDP flow table: capacity, shedding, idle expiry.

use std::net::SocketAddr;

use onramp_balancer::FlowTable;
use proptest::prelude::*;

fn addr(n: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], n))
}

#[test]
fn capacity_is_respected_and_new_flows_are_shed() {
    let mut t = FlowTable::new(3, 1_000);
    for n in 0..3 {
        assert!(t.insert(addr(n), n, 0).is_ok());
    }
    assert_eq!(t.insert(addr(9), 9, 0), Err(9));
    assert_eq!(t.len(), 3);
    // Replacing an existing flow is not a new flow.
    assert!(t.insert(addr(1), 11, 0).is_ok());
    assert_eq!(t.peek(&addr(1)), Some(&11));
    assert_eq!(t.remove(&addr(0)), Some(0));
    assert!(t.insert(addr(9), 9, 0).is_ok());
    assert_eq!(t.capacity(), 3);
}

#[test]
fn idle_flows_expire_and_traffic_keeps_them() {
    let mut t = FlowTable::new(10, 1_000);
    assert!(t.insert(addr(1), "a", 0).is_ok());
    assert!(t.insert(addr(2), "b", 0).is_ok());
    assert!(t.get_mut(&addr(1), 900).is_some());
    assert!(t.expire(1_000).is_empty());
    let gone = t.expire(1_001);
    assert_eq!(gone, vec![(addr(2), "b")]);
    assert_eq!(t.len(), 1);
    assert!(t.expire(1_900).is_empty());
    t.set_idle_ms(100);
    assert_eq!(t.idle_ms(), 100);
    assert_eq!(t.expire(1_001).len(), 1);
    assert!(t.is_empty());
    assert!(t.get_mut(&addr(1), 2_000).is_none());
}

#[test]
fn a_clock_going_backwards_does_not_expire_or_panic() {
    let mut t = FlowTable::new(2, 10);
    assert!(t.insert(addr(1), (), 1_000).is_ok());
    assert!(t.get_mut(&addr(1), 5).is_some());
    assert!(t.expire(0).is_empty());
    assert_eq!(t.expire(u64::MAX).len(), 1);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn never_exceeds_capacity_and_expiry_is_exact(
        cap in 0usize..20,
        ops in prop::collection::vec((0u16..40, 0u64..50, any::<bool>()), 0..200),
    ) {
        let mut t = FlowTable::new(cap, 100);
        let mut now = 0u64;
        let mut seen = std::collections::HashMap::new();
        for (key, dt, touch) in ops {
            now += dt;
            if touch {
                if t.get_mut(&addr(key), now).is_some() {
                    seen.insert(key, now);
                }
            } else if t.insert(addr(key), key, now).is_ok() {
                seen.insert(key, now);
            } else {
                prop_assert!(t.len() == cap && !seen.contains_key(&key));
            }
            prop_assert!(t.len() <= cap);
            for (a, v) in t.expire(now) {
                prop_assert_eq!(a.port(), v);
                let last = seen.remove(&v).unwrap_or(0);
                prop_assert!(now - last > 100);
            }
            prop_assert_eq!(t.len(), seen.len());
            prop_assert!(seen.values().all(|&last| now - last <= 100));
        }
    }
}
