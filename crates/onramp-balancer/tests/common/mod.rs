//! Helpers shared by the integration tests (included with `mod common;`).
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr};

use onramp_balancer::{Algorithm, BackendLive, BackendSpec, Role, SelectorConfig};

/// Backends `b/10.0.0.<i>:80` with the given weights, role `Any`.
pub fn specs(weights: &[u32]) -> Vec<BackendSpec> {
    weights
        .iter()
        .enumerate()
        .map(|(i, &w)| BackendSpec {
            key: format!("b/10.0.{}.{}:80", i / 250, i % 250),
            weight: w,
            role: Role::Any,
        })
        .collect()
}

/// Healthy, idle, unmeasured.
pub fn up() -> BackendLive {
    BackendLive {
        healthy: true,
        ..BackendLive::default()
    }
}

/// Unhealthy, otherwise normal.
pub fn down() -> BackendLive {
    BackendLive::default()
}

/// A config with `algorithm` and nothing else.
pub fn cfg(algorithm: Algorithm) -> SelectorConfig {
    SelectorConfig {
        algorithm,
        ..SelectorConfig::default()
    }
}

/// Client address number `n` (in 198.18.0.0/15).
pub fn client(n: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(0xc612_0000u32.wrapping_add(n)))
}
