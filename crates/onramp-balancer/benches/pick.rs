//! Benchmarks of `Selector::pick` for rr, wrr, lc and Maglev source affinity with 10 and 100
//! backends (all healthy, no persistence), as the edge calls it once per new connection.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use onramp_balancer::{Algorithm, BackendLive, BackendSpec, Role, Selector, SelectorConfig};

fn specs(n: usize) -> Vec<BackendSpec> {
    (0..n)
        .map(|i| BackendSpec {
            key: format!("rs-bench/10.0.{}.{}:80", i / 250, i % 250),
            weight: 1 + (i as u32 % 7),
            role: Role::Any,
        })
        .collect()
}

fn bench_pick(c: &mut Criterion) {
    let cases = [
        ("rr", Algorithm::RoundRobin, false),
        ("wrr", Algorithm::WeightedRoundRobin, false),
        ("lc", Algorithm::LeastConnections, false),
        ("maglev", Algorithm::RoundRobin, true),
    ];
    let mut group = c.benchmark_group("pick");
    for n in [10usize, 100] {
        let actives: Vec<u32> = (0..n as u32).map(|i| (i * 31) % 17).collect();
        let live = move |i: usize| BackendLive {
            healthy: true,
            active: actives.get(i).copied().unwrap_or(0),
            ..BackendLive::default()
        };
        for (name, algorithm, source_affinity) in cases {
            let cfg = SelectorConfig {
                algorithm,
                source_affinity,
                ..SelectorConfig::default()
            };
            let mut sel = Selector::new(cfg, specs(n));
            let mut k: u32 = 0;
            group.bench_function(BenchmarkId::new(name, n), |b| {
                b.iter(|| {
                    k = k.wrapping_add(0x9e37_79b9);
                    let client = IpAddr::V4(Ipv4Addr::from(k));
                    black_box(sel.pick(black_box(client), 0, &live, &[]))
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench_pick);
criterion_main!(benches);
