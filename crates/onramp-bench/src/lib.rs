//! Shared pieces of the onramp benchmark harness: a minimal HTTP/1.1 keep-alive client, a
//! TC3-signed GAAP API client built on it, percentile/median/slope helpers, `/proc` readers and a
//! reader of onramp's `/metrics`.
//!
//! The two binaries live under `src/bin/`: `onramp-load` (the load tool and the echo origins)
//! and `onramp-bench` (the orchestrator). Everything here talks to 127.0.0.0/8 only.
#![forbid(unsafe_code)]

pub mod gaap;
pub mod http1;
pub mod procfs;
pub mod prom;
pub mod stats;
