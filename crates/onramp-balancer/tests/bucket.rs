//! Token bucket: long-run rate on a simulated clock, and no lost charges under contention.

use std::sync::Arc;

use onramp_balancer::TokenBucket;
use proptest::prelude::*;

const SEC: u64 = 1_000_000_000;

/// Relay on a simulated clock for `secs`: take a chunk, sleep what `take` says, count the bytes
/// sent by the deadline. Chunk sizes vary between `rate/1000` and `rate/200` (a cheap LCG).
fn simulate(rate: u64, burst: u64, secs: u64, mut seed: u64) -> u64 {
    let b = TokenBucket::new(rate, burst);
    let (lo, hi) = ((rate / 1_000).max(1), (rate / 200).max(2));
    let deadline = secs * SEC;
    let (mut now, mut sent) = (0u64, 0u64);
    loop {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let chunk = lo + (seed >> 33) % (hi - lo);
        if let Err(wait) = b.take(chunk, now) {
            now += wait;
        }
        if now > deadline {
            return sent;
        }
        sent += chunk;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn ten_seconds_at_rate_r_sends_r_times_ten(rate in 1_000u64..2_000_000_000, seed in any::<u64>()) {
        let sent = simulate(rate, rate / 100, 10, seed) as f64;
        let want = rate as f64 * 10.0;
        prop_assert!((sent - want).abs() <= want * 0.02, "rate {rate}: sent {sent}, want {want}");
    }
}

#[test]
fn concurrent_takers_lose_no_charge() {
    // 1e9 bytes/s = 1 ns per byte, no burst: the debt after all takes equals the bytes taken.
    let b = Arc::new(TokenBucket::new(SEC, 0));
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let b = Arc::clone(&b);
            std::thread::spawn(move || {
                for k in 0..20_000u64 {
                    let _ = b.take(1 + (k + t) % 7, 0);
                }
            })
        })
        .collect();
    for t in threads {
        assert!(t.join().is_ok());
    }
    let expected: u64 = (0..4u64)
        .map(|t| (0..20_000u64).map(|k| 1 + (k + t) % 7).sum::<u64>())
        .sum();
    assert_eq!(b.take(0, 0), Err(expected));
}

#[test]
fn concurrent_relays_share_the_rate() {
    // Four simulated connections on one clock: together they get the bucket's rate.
    let rate = 10_000_000u64;
    let b = TokenBucket::new(rate, rate / 100);
    let mut next = [0u64; 4];
    let mut sent = 0u64;
    let deadline = 10 * SEC;
    while let Some((i, &t)) = next.iter().enumerate().min_by_key(|(_, t)| **t) {
        if t > deadline {
            break;
        }
        let ready = match b.take(16_384, t) {
            Ok(()) => t,
            Err(w) => t + w,
        };
        if ready <= deadline {
            sent += 16_384;
        }
        next[i] = ready + 1;
    }
    let want = rate as f64 * 10.0;
    assert!((sent as f64 - want).abs() <= want * 0.02, "{sent}");
}
