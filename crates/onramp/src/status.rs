//! The node's status: `GET /status` on the admin endpoint (JSON: edges and regions with their
//! applied revision, accelerators and listeners per phase, bound origins per health; the shape of
//! `onramp_api::summary::Summary` plus the node's role and version), the same figures as
//! Prometheus gauges on `/metrics`, and `onramp status`, which reads `/status` from a running
//! node and prints a table (or the JSON with `--json`).

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use axum::routing::get;
use axum::Router;
use clap::Args;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use onramp_api::summary::summary;
use onramp_api::Api;
use serde_json::{json, Value};

/// `/status` of a node in `role` (`serve`, `control`).
pub fn admin_routes(api: Arc<Api>, role: &'static str) -> Router {
    Router::new().route(
        "/status",
        get(move || {
            let api = api.clone();
            async move {
                (
                    [(http::header::CONTENT_TYPE, "application/json")],
                    status_json(&api, role).to_string(),
                )
            }
        }),
    )
}

fn status_json(api: &Api, role: &str) -> Value {
    let mut v = serde_json::to_value(summary(api, None)).unwrap_or_else(|_| json!({}));
    v["role"] = json!(role);
    v["version"] = json!(env!("CARGO_PKG_VERSION"));
    v
}

/// The status figures as Prometheus gauges (bounded labels: phases, health states, edge names).
pub fn render_metrics(api: &Api, out: &mut String) {
    let s = summary(api, None);
    let now = onramp_api::now_millis();
    let family = |out: &mut String, name: &str, help: &str| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
    };
    family(
        out,
        "onramp_store_revision",
        "Store revision this node has loaded.",
    );
    let _ = writeln!(out, "onramp_store_revision {}", s.revision);
    family(
        out,
        "onramp_listeners",
        "Listeners per lifecycle state (creating, running, failed, ...).",
    );
    for (state, n) in &s.listeners {
        let _ = writeln!(out, "onramp_listeners{{state=\"{state}\"}} {n}");
    }
    family(
        out,
        "onramp_accelerators",
        "Accelerators per lifecycle state.",
    );
    for (state, n) in &s.accelerators {
        let _ = writeln!(out, "onramp_accelerators{{state=\"{state}\"}} {n}");
    }
    family(
        out,
        "onramp_origins",
        "Bound origins (an origin on a listener port) per health.",
    );
    for (health, n) in &s.origins {
        let _ = writeln!(out, "onramp_origins{{health=\"{health}\"}} {n}");
    }
    family(
        out,
        "onramp_edge_last_seen_seconds",
        "Seconds since each edge last reported.",
    );
    for e in &s.edges {
        let ago = (now - e.last_seen_ms).max(0) as f64 / 1000.0;
        let _ = writeln!(
            out,
            "onramp_edge_last_seen_seconds{{edge=\"{}\",region=\"{}\"}} {ago:.3}",
            e.name, e.region
        );
    }
    family(
        out,
        "onramp_edge_live",
        "1 while an edge reports, 0 once it is lost.",
    );
    for e in &s.edges {
        let _ = writeln!(
            out,
            "onramp_edge_live{{edge=\"{}\",region=\"{}\"}} {}",
            e.name,
            e.region,
            u8::from(e.live)
        );
    }
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// Admin endpoint of the node to ask [default: 127.0.0.1:7081]
    #[arg(long, env = "ONRAMP_ADMIN_LISTEN", default_value = "127.0.0.1:7081")]
    admin: String,
    /// Print the JSON the node answers instead of a table
    #[arg(long)]
    json: bool,
}

pub async fn run(args: StatusArgs) -> anyhow::Result<()> {
    let body = fetch(&args.admin, "/status").await?;
    if args.json {
        println!("{body}");
        return Ok(());
    }
    let s: Value = serde_json::from_str(&body).context("the node's /status is not JSON")?;
    print!("{}", table(&s, onramp_api::now_millis()));
    Ok(())
}

/// GET `path` from the admin endpoint at `addr`.
async fn fetch(addr: &str, path: &str) -> anyhow::Result<String> {
    let what = || format!("cannot read the status of the node at {addr} (is it running?)");
    let tcp = tokio::time::timeout(Duration::from_secs(5), tokio::net::TcpStream::connect(addr))
        .await
        .map_err(|_| anyhow::anyhow!("connecting timed out"))
        .and_then(|r| r.map_err(anyhow::Error::from))
        .with_context(what)?;
    let (mut send, conn) =
        hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(hyper_util::rt::TokioIo::new(tcp))
            .await
            .with_context(what)?;
    tokio::spawn(conn);
    let req = http::Request::get(path)
        .header(http::header::HOST, addr)
        .body(Empty::new())?;
    let answer = async {
        let resp = send.send_request(req).await?;
        let status = resp.status();
        let body = resp.into_body().collect().await?.to_bytes();
        anyhow::Ok((status, body))
    };
    let (status, body) = tokio::time::timeout(Duration::from_secs(10), answer)
        .await
        .map_err(|_| anyhow::anyhow!("no answer within 10 s"))
        .and_then(|r| r)
        .with_context(what)?;
    if !status.is_success() {
        bail!("{addr}{path} answered {status}");
    }
    String::from_utf8(body.to_vec()).context("the answer is not UTF-8")
}

/// `{"a": 1, "b": 0}` → "a 1" (zeros left out), or "none".
fn counts(v: &Value) -> String {
    let parts: Vec<String> = v
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, n)| n.as_u64().unwrap_or(0) > 0)
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

/// The status as an operator reads it.
fn table(s: &Value, now_ms: i64) -> String {
    let mut out = String::new();
    let rev = |k: &str| s[k].as_u64().unwrap_or(0);
    let _ = writeln!(
        out,
        "onramp {} ({}): store revision {}, applied by every edge {}",
        s["version"].as_str().unwrap_or("?"),
        s["role"].as_str().unwrap_or("?"),
        rev("revision"),
        rev("applied_revision")
    );
    let _ = writeln!(
        out,
        "\n{:<20} {:<16} {:>8} {:>10} {:>10} {:>7}",
        "EDGE", "REGION", "STATE", "APPLIED", "LAST SEEN", "FAILED"
    );
    for e in s["edges"].as_array().into_iter().flatten() {
        let ago = (now_ms - e["last_seen_ms"].as_i64().unwrap_or(0)).max(0) as f64 / 1000.0;
        let state = if e["live"].as_bool() == Some(true) {
            "live"
        } else {
            "lost"
        };
        let _ = writeln!(
            out,
            "{:<20} {:<16} {:>8} {:>10} {:>9.1}s {:>7}",
            e["name"].as_str().unwrap_or(""),
            e["region"].as_str().unwrap_or(""),
            state,
            e["applied_revision"].as_u64().unwrap_or(0),
            ago,
            e["listeners_failed"].as_u64().unwrap_or(0)
        );
    }
    let _ = writeln!(
        out,
        "\n{:<20} {:>6} {:>11}",
        "REGION", "EDGES", "LIVE EDGES"
    );
    for r in s["regions"].as_array().into_iter().flatten() {
        let _ = writeln!(
            out,
            "{:<20} {:>6} {:>11}",
            r["region"].as_str().unwrap_or(""),
            r["edges"].as_u64().unwrap_or(0),
            r["live_edges"].as_u64().unwrap_or(0)
        );
    }
    let _ = writeln!(out);
    for (label, key) in [
        ("accelerators", "accelerators"),
        ("listeners", "listeners"),
        ("bound origins", "origins"),
    ] {
        let _ = writeln!(out, "{label:<14} {}", counts(&s[key]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_shows_edges_regions_and_counts_without_zeros() {
        let s = onramp_api::summary::Summary {
            revision: 9,
            applied_revision: 8,
            regions: vec![onramp_api::summary::RegionView {
                region: "eu".into(),
                edges: 1,
                live_edges: 1,
            }],
            edges: vec![onramp_api::summary::EdgeView {
                name: "e1".into(),
                region: "eu".into(),
                applied_revision: 8,
                last_seen_ms: 1_000,
                live: true,
                listeners_open: 2,
                listeners_failed: 1,
            }],
            accelerators: [("running", 1), ("creating", 0)].into_iter().collect(),
            listeners: [("running", 2), ("creating", 1)].into_iter().collect(),
            origins: [("healthy", 3), ("unhealthy", 0)].into_iter().collect(),
        };
        let mut v = serde_json::to_value(&s).unwrap();
        v["role"] = json!("serve");
        v["version"] = json!("0.1.0");
        let t = table(&v, 3_500);
        assert!(
            t.contains("store revision 9, applied by every edge 8"),
            "{t}"
        );
        assert!(
            t.contains("e1") && t.contains("live") && t.contains("2.5s"),
            "{t}"
        );
        assert!(t.contains("listeners      creating 1, running 2"), "{t}");
        assert!(t.contains("bound origins  healthy 3\n"), "{t}");
        assert!(t.contains("accelerators   running 1\n"), "{t}");
    }
}
