//! Health as the data plane observes it, read by the API to report statuses.
//!
//! The edge implements `HealthSource`; the API asks it per binding. Without an edge (or before
//! the first check) the answer is `None`, and the dialects report the documented "normal/initial"
//! state rather than inventing results.

/// What the edge knows of one binding (origin + port on a listener).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BindingHealth {
    /// The binding can take traffic (at least one resolved address is up).
    pub healthy: bool,
    /// Resolved addresses that are down, as `ip:port`.
    pub down: Vec<String>,
    /// Last measured round-trip time of a health check, microseconds.
    pub rtt_micros: Option<u64>,
    /// The domain did not resolve.
    pub resolve_failed: bool,
}

/// Traffic of one listener in one minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MinuteSample {
    /// Unix seconds of the minute's start.
    pub minute: i64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub packets_in: u64,
    pub packets_out: u64,
    /// Most connections (TCP) or flows (UDP) open at once.
    pub peak_conns: u64,
}

pub trait HealthSource: Send + Sync {
    fn binding(&self, binding_id: &str) -> Option<BindingHealth>;
    /// Why a listener could not open on the edge (its port could not be bound), if so.
    fn listener_failure(&self, _listener_id: &str) -> Option<String> {
        None
    }
    /// Per-minute traffic of a listener with `from <= minute < to` (unix seconds), oldest first.
    fn listener_series(&self, _listener_id: &str, _from: i64, _to: i64) -> Vec<MinuteSample> {
        Vec::new()
    }
    /// Per-minute health of a binding (1.0 healthy all minute, 0.0 down at some point), oldest first.
    fn binding_series(&self, _binding_id: &str, _from: i64, _to: i64) -> Vec<(i64, f64)> {
        Vec::new()
    }
}

/// No edge attached: nothing is known.
pub struct NoHealth;

impl HealthSource for NoHealth {
    fn binding(&self, _: &str) -> Option<BindingHealth> {
        None
    }
}
