//! The onramp model, shared by every other crate.
//!
//! One model serves three API dialects (GAAP, Huawei GA, BM LB) and the data plane. Types here are
//! plain data: no I/O, no clocks (callers pass `now` as unix milliseconds). `State` is the whole
//! desired configuration of all tenants, held in memory by the control plane and rebuilt from the
//! store at start.
#![forbid(unsafe_code)]

pub mod acl;
pub mod audit;
pub mod health;
pub mod ids;
pub mod model;
pub mod policy;
pub mod probe;
pub mod snapshot;
pub mod state;
pub mod tombstones;
pub mod validate;

pub use audit::{AuditEntry, AuditFilter};
pub use model::*;
pub use state::State;
