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
    /// Connections accepted (TCP) and flows made (UDP) in the minute.
    pub new_conns: u64,
}

/// Per-minute samples of several listeners summed minute by minute, oldest first (an
/// accelerator's traffic is its listeners').
pub fn merge_minutes(all: Vec<Vec<MinuteSample>>) -> Vec<MinuteSample> {
    let mut by_minute: std::collections::BTreeMap<i64, MinuteSample> = Default::default();
    for s in all.into_iter().flatten() {
        let m = by_minute.entry(s.minute).or_insert(MinuteSample {
            minute: s.minute,
            ..Default::default()
        });
        m.bytes_in += s.bytes_in;
        m.bytes_out += s.bytes_out;
        m.packets_in += s.packets_in;
        m.packets_out += s.packets_out;
        m.peak_conns += s.peak_conns;
        m.new_conns += s.new_conns;
    }
    by_minute.into_values().collect()
}

/// One edge as the control plane knows it: where it serves, what it applied, when it last
/// reported. An edge that has not reported for a while is not `live` and holds no status back.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EdgeInfo {
    pub name: String,
    pub region: String,
    /// The store revision whose configuration it serves.
    pub applied_revision: u64,
    /// Unix milliseconds of its last report.
    pub last_seen_ms: i64,
    pub live: bool,
    /// Listeners it has open.
    pub listeners_open: usize,
    /// Listeners it could not open (their port could not be bound).
    pub listeners_failed: usize,
}

pub trait HealthSource: Send + Sync {
    fn binding(&self, binding_id: &str) -> Option<BindingHealth>;
    /// The binding's health as each edge that checks it sees it (edge name, health), for views
    /// that show health per edge; by default the one answer of `binding`, from an unnamed edge.
    fn binding_by_edge(&self, binding_id: &str) -> Vec<(String, BindingHealth)> {
        self.binding(binding_id)
            .map(|h| vec![(String::new(), h)])
            .unwrap_or_default()
    }
    /// The edges serving this control plane (none known: empty).
    fn edges(&self) -> Vec<EdgeInfo> {
        Vec::new()
    }
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
