//! The admin endpoint of every role (`--admin-listen`): `/healthz`, `/readyz`, `/metrics`
//! (Prometheus text), and as JSON what `onramp status` and operators read: `/edges` on a node
//! with a control plane (the edges it knows, their regions, revisions and liveness), `/status`
//! on an edge (who it is, what it applied, which control node it follows).

use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use onramp_api::Api;
use onramp_control::Control;
use onramp_edge::{render_prometheus, EdgeStatus};
use serde_json::{json, Value};

use crate::httpd::{self, ConnLimits};

/// The audit writer's counters in Prometheus text.
fn render_audit(control: &Control) -> String {
    let c = control.audit_counts();
    format!(
        "# HELP onramp_audit_entries_total Audit log entries by what became of them (written, dropped: queue full, failed: refused by the store).\n\
         # TYPE onramp_audit_entries_total counter\n\
         onramp_audit_entries_total{{result=\"written\"}} {}\n\
         onramp_audit_entries_total{{result=\"dropped\"}} {}\n\
         onramp_audit_entries_total{{result=\"failed\"}} {}\n",
        c.written, c.dropped, c.failed
    )
}

/// The edges a control node knows and the regions they make, as JSON.
pub fn edges_json(control: &Control) -> Value {
    let edges: Vec<Value> = control
        .edges()
        .list()
        .into_iter()
        .map(|e| {
            json!({
                "name": e.name,
                "region": e.region,
                "addresses": e.addresses,
                "applied_revision": e.applied,
                "state": if e.live { "live" } else { "lost" },
                "silent_ms": e.silent_ms,
                "failed_listeners": e.failures,
                "in_process": e.local,
            })
        })
        .collect();
    let regions: Vec<Value> = control
        .edges()
        .regions()
        .into_iter()
        .map(|(id, addrs)| {
            json!({"region": id, "addresses": addrs, "applied_revision": control.applied_in(&id)})
        })
        .collect();
    json!({
        "committed_revision": control.committed_revision(),
        "applied_revision": control.applied_revision(),
        "lost_after_ms": control.edges().lost_after().as_millis() as u64,
        "edges": edges,
        "regions": regions,
    })
}

fn json_response(v: Value) -> impl axum::response::IntoResponse {
    (
        [(http::header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
}

fn prometheus(text: String) -> impl axum::response::IntoResponse {
    (
        [(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        text,
    )
}

fn basics() -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(|| async { "ready\n" }))
}

/// The admin routes of `serve` and `control`: the edge's counters (with an in-process edge),
/// the audit writer's, the status gauges, the HTTP endpoints', and `/edges`.
pub fn node_router(
    status: Option<Arc<EdgeStatus>>,
    api: Arc<Api>,
    endpoints: Vec<Arc<ConnLimits>>,
) -> Router {
    let c = api.control.clone();
    let metrics = move || {
        let status = status.clone();
        let endpoints = endpoints.clone();
        let api = api.clone();
        async move {
            let mut text = status.as_deref().map(render_prometheus).unwrap_or_default();
            text.push_str(&render_audit(&api.control));
            crate::status::render_metrics(&api, &mut text);
            text.push_str(httpd::METRIC_HEADERS);
            for e in &endpoints {
                e.render(&mut text);
            }
            prometheus(text)
        }
    };
    let edges = move || {
        let c = c.clone();
        async move { json_response(edges_json(&c)) }
    };
    basics()
        .route("/metrics", get(metrics))
        .route("/edges", get(edges))
}

/// The admin routes of `onramp edge`: its counters and `/status` (`status` gives the JSON).
pub fn edge_router(
    edge: Arc<EdgeStatus>,
    endpoints: Vec<Arc<ConnLimits>>,
    status: Arc<dyn Fn() -> Value + Send + Sync>,
) -> Router {
    let metrics = move || {
        let edge = edge.clone();
        let endpoints = endpoints.clone();
        async move {
            let mut text = render_prometheus(&edge);
            text.push_str(httpd::METRIC_HEADERS);
            for e in &endpoints {
                e.render(&mut text);
            }
            prometheus(text)
        }
    };
    let status = move || {
        let status = status.clone();
        async move { json_response(status()) }
    };
    basics()
        .route("/metrics", get(metrics))
        .route("/status", get(status))
}
