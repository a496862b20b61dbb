//! Sans-IO data-plane logic for onramp edges.
//!
//! Nothing in this crate opens a socket, spawns a task or reads a clock: every function that needs
//! time takes it as an argument (`now_ms` or `now_ns`), so all of it is unit-tested, fuzzed and
//! benchmarked without I/O.
//!
//! - [`select`]: origin selection for one listener (rr, wrr, lc, lrtt, failover roles, Maglev
//!   source affinity, persistence with a timeout).
//! - [`maglev`]: the Maglev consistent-hash lookup table and the primality helpers it needs.
//! - [`health`]: the rise/fall health state machine and jittered check intervals.
//! - [`bucket`]: a lock-free token bucket shared by all connections of a listener.
//! - [`dial`]: the split of new connections across endpoint groups by traffic dial.
//! - [`flows`]: a bounded UDP flow table with idle expiry.
//! - [`proxy_protocol`]: PROXY protocol v1/v2 encoders and a parser.
//! - [`hash`]: the fixed, stable hashes used for affinity (never process-random).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod bucket;
pub mod dial;
pub mod flows;
pub mod hash;
pub mod health;
pub mod maglev;
pub mod proxy_protocol;
pub mod select;

pub use bucket::TokenBucket;
pub use flows::FlowTable;
pub use health::{jittered_interval_ms, HealthMachine};
pub use maglev::Maglev;
pub use select::{Algorithm, BackendLive, BackendSpec, Role, Selector, SelectorConfig};
