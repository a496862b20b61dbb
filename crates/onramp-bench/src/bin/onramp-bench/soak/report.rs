//! The soak's figures: start, end, maximum and slope per hour of each sampled series, client
//! failures split into those at an origin kill and the others (with when the others began),
//! API failures, and the series for `details.json`.

use onramp_bench::stats::slope;
use serde_json::{json, Value};

use crate::churn::Churn;
use crate::report::{fmt_num, Results};
use crate::systems::System;
use crate::watch::{self, Sample};

/// start, end, max and slope per hour (after `warmup` seconds) of one series.
fn summary(points: &[(f64, f64)], warmup: f64) -> Value {
    let fit: Vec<(f64, f64)> = points.iter().filter(|p| p.0 >= warmup).copied().collect();
    let per_hour = slope(&fit) * 3600.0;
    json!({
        "start": points.first().map(|p| p.1), "end": points.last().map(|p| p.1),
        "max": points.iter().map(|p| p.1).fold(None, |a: Option<f64>, v| Some(a.map_or(v, |a| a.max(v)))),
        "slope_per_hour": per_hour, "fitted_samples": fit.len(),
    })
}

/// Failures of one client kind split into: how many at a kill, and when the others began.
fn split(failed_at: &[f64], windows: &[(f64, f64)]) -> (usize, Vec<f64>) {
    let (at, other): (Vec<f64>, Vec<f64>) = failed_at
        .iter()
        .partition(|t| windows.iter().any(|(a, b)| **t >= *a && **t <= *b));
    (at.len(), other)
}

/// What the soak loop recorded.
pub(super) struct Seen {
    pub samples: Vec<Sample>,
    pub tasks: Vec<(f64, f64)>,
    pub tasks_name: Option<String>,
    /// (from, to) Unix ms around each origin kill.
    pub windows: Vec<(f64, f64)>,
    pub seconds: f64,
    pub alive: bool,
}

pub(super) fn report(res: &mut Results, client: &Value, churn: &Churn, seen: &Seen) {
    let warmup = 90f64.min(seen.seconds / 2.0);
    let series = |f: fn(&Sample) -> f64| -> Vec<(f64, f64)> {
        seen.samples.iter().map(|s| (s.t, f(s))).collect()
    };
    let rss = series(|s| s.rss as f64 / 1048576.0);
    let fds = series(|s| s.fds as f64);
    let threads = series(|s| s.threads as f64);
    let sums = [
        ("rss_mib", summary(&rss, warmup)),
        ("fds", summary(&fds, warmup)),
        ("threads", summary(&threads, warmup)),
        ("tasks", summary(&seen.tasks, warmup)),
    ];
    let slope_of = |i: usize| sums[i].1["slope_per_hour"].as_f64().unwrap_or(f64::NAN);
    res.add("soak_rss_slope", System::Onramp, slope_of(0));
    res.add("soak_fds_slope", System::Onramp, slope_of(1));
    res.add("soak_threads_slope", System::Onramp, slope_of(2));
    if !seen.tasks.is_empty() {
        res.add("soak_tasks_slope", System::Onramp, slope_of(3));
    }
    let max_of = |i: usize| sums[i].1["max"].as_f64().unwrap_or(f64::NAN);
    res.add("soak_rss_max", System::Onramp, max_of(0));
    res.add("soak_fds_max", System::Onramp, max_of(1));
    let (mut at_kill, mut other, mut api_failed) = (0, 0, 0.0);
    let mut per_kind = serde_json::Map::new();
    for kind in ["tcp", "udp", "api"] {
        let k = &client["kinds"][kind];
        let failed_at: Vec<f64> = k["failed_at_unix_ms"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default();
        if kind == "api" {
            api_failed += k["failures"].as_f64().unwrap_or(0.0);
            continue;
        }
        let (a, o) = split(&failed_at, &seen.windows);
        at_kill += a;
        other += o.len();
        let start = client["start_unix_ms"].as_f64().unwrap_or(0.0);
        let other_s: Vec<f64> = o
            .iter()
            .map(|t| ((t - start) / 100.0).round() / 10.0)
            .collect();
        if !other_s.is_empty() {
            let shown: Vec<String> = other_s.iter().take(20).map(|t| format!("{t}")).collect();
            res.note(format!(
                "soak, {kind}: {} failures away from any kill, begun at {} s ({})",
                other_s.len(),
                shown.join(", "),
                k["errors"]
            ));
        }
        per_kind.insert(
            kind.into(),
            json!({"attempts": k["attempts"], "failures": k["failures"], "at_kill": a,
            "other": o.len(), "other_began_s": other_s, "errors": k["errors"],
            "p50_ms": k["p50_ms"], "p99_ms": k["p99_ms"]}),
        );
    }
    res.add("soak_failed_other", System::Onramp, other as f64);
    res.add("soak_failed_at_kill", System::Onramp, at_kill as f64);
    res.add(
        "soak_api_failures",
        System::Onramp,
        api_failed + churn.failed as f64,
    );
    let line = |name: &str, v: &Value| {
        let n = |key: &str| fmt_num(v[key].as_f64().unwrap_or(f64::NAN));
        format!(
            "{name} {} → {} (max {}, slope {}/h)",
            n("start"),
            n("end"),
            n("max"),
            n("slope_per_hour")
        )
    };
    res.note(format!(
        "soak: {:.0} s, {} origin kills; {}; {}; {}; {}; API writes {} ok, {} failed{}; onramp {} at the end",
        seen.seconds, seen.windows.len(), line("RSS MiB", &sums[0].1), line("fds", &sums[1].1), line("threads", &sums[2].1),
        seen.tasks_name.as_ref().map_or("no tasks gauge in /metrics".to_string(), |n| line(&format!("tasks ({n})"), &sums[3].1)),
        churn.ok, churn.failed, churn.first_error.as_ref().map_or(String::new(), |e| format!(" (first: {e})")),
        if seen.alive { "alive" } else { "EXITED" },
    ));
    let pts = |v: &[(f64, f64)]| -> Vec<Value> {
        v.iter().map(|p| json!([watch::round3(p.0), p.1])).collect()
    };
    res.extra.insert("soak".into(), json!({
        "seconds": seen.seconds, "warmup_seconds": warmup, "summary": sums.iter().map(|(k, v)| (k.to_string(), v.clone())).collect::<serde_json::Map<_, _>>(),
        "series_t_value": {"rss_mib": pts(&rss), "fds": pts(&fds), "threads": pts(&threads), "tasks": pts(&seen.tasks)},
        "tasks_metric": seen.tasks_name, "kill_windows_unix_ms": seen.windows, "client": per_kind,
        "api_reads": client["kinds"]["api"].clone(), "api_writes": {"ok": churn.ok, "failed": churn.failed, "first_error": churn.first_error},
        "onramp_alive_at_end": seen.alive,
    }));
}

#[cfg(test)]
mod tests {
    use super::{split, summary};

    #[test]
    fn failures_split_by_kill_windows() {
        let w = [(1000.0, 2000.0), (5000.0, 5500.0)];
        let (at, other) = split(&[999.0, 1000.0, 1500.0, 3000.0, 5500.0, 6000.0], &w);
        assert_eq!(at, 3);
        assert_eq!(other, vec![999.0, 3000.0, 6000.0]);
        assert_eq!(split(&[], &w), (0, vec![]));
    }

    #[test]
    fn summary_fits_after_the_warmup() {
        let pts = [(0.0, 100.0), (10.0, 5.0), (20.0, 5.0), (30.0, 5.0)];
        let s = summary(&pts, 10.0);
        assert_eq!(s["start"], 100.0);
        assert_eq!(s["end"], 5.0);
        assert_eq!(s["max"], 100.0);
        assert_eq!(s["slope_per_hour"], 0.0);
        assert_eq!(s["fitted_samples"], 3);
    }
}
