//! The operations on the model, the same for every dialect.
//!
//! A dialect decodes its request into a call here and encodes the outcome (or the `OpError`) in
//! its own shapes and codes; every rule of the model lives in this crate, written once:
//! ranges that depend on stored records, uniqueness and clash checks, deletion order, which
//! records a change produces, and the status a resource reports.
//!
//! Shape: each operation is a pure function of `(&Cx, &State, request)` that returns the ops of
//! one batch (and a typed outcome) or one `OpError`. It never writes: `commit` runs it under the
//! control plane's single writer, adds the task record and the expired-task sweep, and maps the
//! store's uniqueness conflicts to `OpError`. Only this crate builds `Op::Put` / `Op::Delete`
//! for resources of the model (checked by `crates/onramp/tests/tidy.rs`).
#![forbid(unsafe_code)]

pub mod accelerators;
pub mod backends;
pub mod balancers;
pub mod bindings;
pub mod checks;
mod commit;
pub mod endpoints;
mod error;
pub mod groups;
pub mod ids;
pub mod ip_groups;
pub mod lifecycle;
pub mod listeners;
pub mod log_tanks;
pub mod origins;
pub mod quotas;
pub mod status;
pub mod tags;

pub use commit::{commit, sweep_expired_tasks, Call, Plan, SWEEP_EVERY, TASK_RETENTION_MS};
pub use error::{OpError, Res};

use onramp_core::Millis;

/// What every operation knows about its call besides the state: who, and when.
#[derive(Debug, Clone)]
pub struct Cx {
    pub account: String,
    /// Unix milliseconds at the start of the request.
    pub now: Millis,
    /// The revision every edge has applied, read under the writer lock.
    pub applied: u64,
    /// The operator's quotas.
    pub quotas: onramp_core::Quotas,
}

impl Cx {
    /// Whether a record written at `revision` has reached the edges.
    pub fn is_applied(&self, revision: u64) -> bool {
        revision <= self.applied
    }
}

#[cfg(test)]
mod test_state;
