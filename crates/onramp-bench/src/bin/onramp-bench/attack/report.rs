//! The attack scenario's figures: the normal client's failures and latency per kind beside the
//! baseline, the slow-header connections left open, onramp's peaks, the edge's own counters,
//! and everything sampled, for `details.json`.

use std::collections::BTreeMap;

use onramp_bench::prom;
use serde_json::{json, Value};

use super::Watched;
use crate::report::Results;
use crate::systems::System;
use crate::watch::{self, Sample};

/// Everything the attack run gathered.
pub(super) struct Seen {
    pub baseline: Value,
    pub normal: Value,
    pub flood: Value,
    pub slow: Value,
    pub watched: Watched,
    pub before: Option<BTreeMap<String, f64>>,
    pub after: Option<BTreeMap<String, f64>>,
    pub limits: Option<(u64, u64)>,
    pub log_lines: usize,
    pub alive: bool,
}

/// The normal client's figures of one kind, and a note comparing them with the baseline.
fn client_kind(res: &mut Results, seen: &Seen, kind: &str, ids: [&'static str; 3]) {
    let k = &seen.normal["kinds"][kind];
    let f = |key: &str| k[key].as_f64().unwrap_or(f64::NAN);
    res.add(ids[0], System::Onramp, f("failures"));
    res.add(ids[1], System::Onramp, f("p50_ms"));
    res.add(ids[2], System::Onramp, f("p99_ms"));
    let start = seen.normal["start_unix_ms"].as_f64().unwrap_or(0.0);
    let times: Vec<f64> = k["failed_at_unix_ms"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| Some((t.as_f64()? - start) / 1e3))
                .collect()
        })
        .unwrap_or_default();
    let first = times.iter().copied().reduce(f64::min);
    let last = times.iter().copied().reduce(f64::max);
    let span = match (first, last) {
        (Some(a), Some(b)) => format!(", begun from {a:.1} s to {b:.1} s into the attack"),
        _ => String::new(),
    };
    let b = &seen.baseline["kinds"][kind];
    res.note(format!(
        "attack, {kind}: {} of {} failed ({}){span}; baseline: {} of {} failed, p50 {} ms, p99 {} ms",
        k["failures"], k["attempts"], k["errors"], b["failures"], b["attempts"], b["p50_ms"], b["p99_ms"]
    ));
}

/// The edge's own figures, last seen: every family about refusing, shedding, budgets, flows
/// or tasks, whatever the edge named them.
fn edge_figures(m: &BTreeMap<String, f64>) -> String {
    let words = [
        "refused",
        "shed",
        "budget",
        "udp_flows",
        "tasks",
        "connections_open",
    ];
    let parts: Vec<String> = m
        .iter()
        .filter(|(k, _)| words.iter().any(|w| k.contains(w)))
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    parts.join(", ")
}

pub(super) fn report(res: &mut Results, seen: &Seen) {
    client_kind(
        res,
        seen,
        "api",
        ["attack_api_failures", "attack_api_p50", "attack_api_p99"],
    );
    client_kind(
        res,
        seen,
        "tcp",
        ["attack_tcp_failures", "attack_tcp_p50", "attack_tcp_p99"],
    );
    client_kind(
        res,
        seen,
        "udp",
        ["attack_udp_failures", "attack_udp_p50", "attack_udp_p99"],
    );
    let slow = &seen.slow;
    res.add(
        "attack_slow_open",
        System::Onramp,
        slow["still_open"].as_f64().unwrap_or(f64::NAN),
    );
    let w = &seen.watched;
    let peak_rss = w.samples.iter().map(|s| s.rss).max().unwrap_or(0) as f64 / 1048576.0;
    let peak_fds = w.samples.iter().map(|s| s.fds).max().unwrap_or(0);
    res.add("attack_peak_rss", System::Onramp, peak_rss);
    res.add("attack_peak_fds", System::Onramp, peak_fds as f64);
    // Counters only grow: the last answer seen is the best figure.
    let last = seen.after.as_ref().or(w.scrapes.last().map(|s| &s.1));
    let grown = |names: &[&str]| {
        let now = last.and_then(|m| prom::first_of(m, names))?;
        Some(
            now - seen
                .before
                .as_ref()
                .and_then(|m| prom::first_of(m, names))
                .unwrap_or(0.0),
        )
    };
    if let Some(v) = grown(watch::REFUSED) {
        res.add("attack_refused", System::Onramp, v);
    }
    if let Some(v) = grown(watch::SHED) {
        res.add("attack_shed", System::Onramp, v);
    }
    let peak_in_use = w
        .scrapes
        .iter()
        .filter_map(|(_, m)| prom::first_of(m, watch::BUDGET_IN_USE))
        .fold(None, |a: Option<f64>, v| Some(a.map_or(v, |a| a.max(v))));
    let budget = match (
        peak_in_use,
        last.and_then(|m| prom::first_of(m, watch::BUDGET_LIMIT)),
    ) {
        (Some(u), Some(l)) => format!("edge budget peak {u} in use of {l}"),
        _ => "no edge budget gauges in /metrics".into(),
    };
    let limits = seen
        .limits
        .map_or("unknown".into(), |(s, h)| format!("{s} soft, {h} hard"));
    res.note(format!(
        "attack: onramp open-file limit {limits}; peak {peak_fds} descriptors, peak RSS {peak_rss:.1} MiB; \
         {budget}; /metrics unanswered {} of {} times (1 s deadline); {} log lines during the attack; \
         onramp {} at the end; last /metrics: {}",
        w.failed_scrapes,
        w.failed_scrapes as usize + w.scrapes.len(),
        seen.log_lines,
        if seen.alive { "alive" } else { "EXITED" },
        last.map_or("none".into(), edge_figures),
    ));
    let closed = slow["closed_by_server"].as_u64().unwrap_or(0);
    let closed_after = if closed > 0 {
        format!(
            " (p50 {} s, max {} s after opening; {} answered first)",
            slow["closed_after_p50_s"], slow["closed_after_max_s"], slow["answered"]
        )
    } else {
        String::new()
    };
    res.note(format!(
        "attack: flood sent {} flows in {:.1} s ({} errors); slow-header: {} opened, {} refused at connect, \
         {closed} closed by the server{closed_after}, {} still open at the end",
        seen.flood["flows"],
        seen.flood["seconds"].as_f64().unwrap_or(0.0),
        seen.flood["errors"],
        slow["opened"],
        slow["connect_failed"],
        slow["still_open"]
    ));
    let series: Vec<Value> = w.samples.iter().map(Sample::json).collect();
    let scrapes: Vec<Value> = w
        .scrapes
        .iter()
        .map(|(t, m)| json!({"t": watch::round3(*t), "metrics": m}))
        .collect();
    res.extra.insert(
        "attack".into(),
        json!({
            "nofile_limits": seen.limits, "baseline": seen.baseline, "client": seen.normal,
            "flood": seen.flood, "slowheader": seen.slow, "samples_t_rss_fds_threads": series,
            "metrics": scrapes, "metrics_before": seen.before, "metrics_after": seen.after,
            "failed_scrapes": w.failed_scrapes, "onramp_log_lines": seen.log_lines,
            "onramp_alive_at_end": seen.alive,
        }),
    );
}
