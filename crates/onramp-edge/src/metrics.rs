//! Counters kept by the data plane (plain atomics, made when a listener opens, never looked up
//! per connection) and their Prometheus text rendering.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::budget::Reason;
use crate::status::EdgeStatus;

#[derive(Default, Debug)]
pub struct Counters {
    pub conns_open: AtomicU64,
    pub conns_total: AtomicU64,
    pub conns_refused: AtomicU64,
    pub connect_failures: AtomicU64,
    pub retries: AtomicU64,
    /// Client → origin bytes.
    pub bytes_in: AtomicU64,
    /// Origin → client bytes.
    pub bytes_out: AtomicU64,
    pub packets_in: AtomicU64,
    pub packets_out: AtomicU64,
    pub flows: AtomicU64,
    /// UDP flows made.
    pub flows_total: AtomicU64,
    pub flows_shed: AtomicU64,
    /// TCP connections closed and UDP flows not made because the listener's access control
    /// (its IP address group, WHITE or BLACK) refuses the client.
    pub acl_refused: AtomicU64,
}

impl Counters {
    pub fn add(c: &AtomicU64, n: u64) {
        c.fetch_add(n, Relaxed);
    }
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Relaxed)
    }
}

/// Name, type, help, and which counter.
type Family = (
    &'static str,
    &'static str,
    &'static str,
    fn(&Counters) -> &AtomicU64,
);

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// Prometheus text exposition of every listener's counters and the edge's own gauges.
pub fn render_prometheus(status: &EdgeStatus) -> String {
    let counters = status.counters.read().unwrap_or_else(|p| p.into_inner());
    let mut ids: Vec<&String> = counters.keys().collect();
    ids.sort();
    let mut out = String::new();
    let metrics: [Family; 13] = [
        (
            "onramp_connections_open",
            "gauge",
            "Open proxied TCP connections.",
            |c| &c.conns_open,
        ),
        (
            "onramp_connections_total",
            "counter",
            "Accepted TCP connections.",
            |c| &c.conns_total,
        ),
        (
            "onramp_connections_refused_total",
            "counter",
            "Connections refused by a limit or with no origin.",
            |c| &c.conns_refused,
        ),
        (
            "onramp_connect_failures_total",
            "counter",
            "Failed connects to origins.",
            |c| &c.connect_failures,
        ),
        (
            "onramp_retries_total",
            "counter",
            "Connects retried on another origin.",
            |c| &c.retries,
        ),
        (
            "onramp_bytes_in_total",
            "counter",
            "Bytes from clients to origins.",
            |c| &c.bytes_in,
        ),
        (
            "onramp_bytes_out_total",
            "counter",
            "Bytes from origins to clients.",
            |c| &c.bytes_out,
        ),
        (
            "onramp_packets_in_total",
            "counter",
            "UDP datagrams from clients.",
            |c| &c.packets_in,
        ),
        (
            "onramp_packets_out_total",
            "counter",
            "UDP datagrams to clients.",
            |c| &c.packets_out,
        ),
        (
            "onramp_udp_flows",
            "gauge",
            "Entries in the UDP flow tables.",
            |c| &c.flows,
        ),
        (
            "onramp_udp_flows_total",
            "counter",
            "UDP flows made (a new client address on a listener port).",
            |c| &c.flows_total,
        ),
        (
            "onramp_udp_flows_shed_total",
            "counter",
            "Idlest UDP flows closed to make room for a new one (descriptor budget full).",
            |c| &c.flows_shed,
        ),
        (
            "onramp_acl_refused_total",
            "counter",
            "TCP connections closed and UDP flows refused by the listener's IP address group (WHITE or BLACK).",
            |c| &c.acl_refused,
        ),
    ];
    for (name, kind, help, get) in metrics {
        family(&mut out, name, kind, help);
        for id in &ids {
            let _ = writeln!(
                out,
                "{name}{{listener=\"{id}\"}} {}",
                Counters::get(get(&counters[*id]))
            );
        }
    }
    origin_health(&mut out, status);
    family(
        &mut out,
        "onramp_snapshot_apply_seconds",
        "gauge",
        "Time the last snapshot took to apply.",
    );
    let micros = status.last_apply_micros.load(Relaxed);
    let _ = writeln!(out, "onramp_snapshot_apply_seconds {}", micros as f64 / 1e6);
    family(
        &mut out,
        "onramp_applied_revision",
        "gauge",
        "Revision of the configuration the edge serves.",
    );
    let _ = writeln!(out, "onramp_applied_revision {}", status.applied_revision());
    budget(&mut out, status);
    out
}

/// The descriptor budget, refusals by reason, and the edge runtime's tasks.
fn budget(out: &mut String, status: &EdgeStatus) {
    let b = &status.budget;
    let gauges = [
        (
            "onramp_edge_budget_in_use_descriptors",
            "Descriptors the data plane holds (listener sockets, connections, flows, pipes).",
            b.in_use(),
        ),
        (
            "onramp_edge_budget_limit_descriptors",
            "Descriptors the data plane may hold: the limit less the reserve and what was open at start.",
            b.limit(),
        ),
        (
            "onramp_edge_alive_tasks",
            "Tasks alive on the edge's runtime.",
            status.runtime.metrics().num_alive_tasks() as u64,
        ),
    ];
    for (name, help, v) in gauges {
        family(out, name, "gauge", help);
        let _ = writeln!(out, "{name} {v}");
    }
    family(
        out,
        "onramp_access_log_dropped_total",
        "counter",
        "Access-log lines dropped because the writer was behind (never blocking traffic).",
    );
    let _ = writeln!(
        out,
        "onramp_access_log_dropped_total {}",
        status.access_log_dropped.load(Relaxed)
    );
    family(
        out,
        "onramp_edge_refused_total",
        "counter",
        "New TCP connections and UDP flows refused, by the limit that was full.",
    );
    for r in Reason::ALL {
        let _ = writeln!(
            out,
            "onramp_edge_refused_total{{reason=\"{}\"}} {}",
            r.label(),
            b.refused(r)
        );
    }
}

/// Health and check RTT per origin binding.
fn origin_health(out: &mut String, status: &EdgeStatus) {
    let health = status.health_snapshot();
    family(
        out,
        "onramp_origin_healthy",
        "gauge",
        "1 when the origin binding passes its health checks.",
    );
    for (id, h) in &health {
        let _ = writeln!(
            out,
            "onramp_origin_healthy{{binding=\"{id}\"}} {}",
            u8::from(h.healthy)
        );
    }
    family(
        out,
        "onramp_origin_rtt_seconds",
        "gauge",
        "Round-trip time of the last successful health check.",
    );
    for (id, h) in &health {
        if let Some(us) = h.rtt_micros {
            let _ = writeln!(
                out,
                "onramp_origin_rtt_seconds{{binding=\"{id}\"}} {}",
                us as f64 / 1e6
            );
        }
    }
}
