//! Hardening scenario `soak` (onramp only, `--only soak`, `--soak-minutes N`, default 30):
//! onramp under mixed work for N minutes, with its resources sampled every 10 s.
//!
//! - Traffic: `onramp-load client` from 127.0.0.60 on a TCP and a UDP listener, each bound to
//!   two echo origins A (127.0.0.4) and B (127.0.0.5): 20 short TCP connections (64 B echoed)
//!   and 20 UDP round trips on fresh sockets per second, and one signed `DescribeProxies` a
//!   second.
//! - API writes, about three a second, by the harness: a churn listener (TCP and UDP in turn)
//!   is created, bound to A and B, re-bound to A, unbound, deleted; then the next.
//! - Origins: every minute (the first at 30 s) A or B in turn is killed (SIGKILL by its PID)
//!   and restarted 2 s later.
//!
//! A client failure counts "at a kill" when it began from 1 s before a kill to 3 s after that
//! origin came back (it may have been routed to the dead origin, or under way through it; the
//! client cannot tell which origin served it), else "other" (goal 0). Every 10 s: RSS,
//! descriptors, threads and, if `/metrics` has one, the alive-tasks gauge. Each series is
//! reported with its start, end and maximum and a least-squares slope per hour, fitted after a
//! warm-up (90 s, or half the run if shorter) in which UDP flows (60 s idle expiry) build up.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use onramp_bench::stats::slope;
use serde_json::{json, Value};

use crate::churn::{Churn, Origin};
use crate::ctx::{self, pause, Ctx, PROXY_IP};
use crate::onramp::{self, Api};
use crate::procs::Proc;
use crate::report::{m, Metric, Results, Target};
use crate::systems::System;
use crate::watch::{self, Sample};

const TCP_PORT: u16 = 6701;
const UDP_PORT: u16 = 6702;
const ORIGIN_TCP: u16 = 7501;
const ORIGIN_UDP: u16 = 7502;
const ORIGINS: [[u8; 4]; 2] = [[127, 0, 0, 4], [127, 0, 0, 5]];
const CLIENT_SOURCE: &str = "127.0.0.60";
const SAMPLE_EVERY: f64 = 10.0;
const WRITE_EVERY: f64 = 0.333;
const KILL_EVERY: f64 = 60.0;
const FIRST_KILL: f64 = 30.0;
const DOWN_S: f64 = 2.0;
const BEFORE_KILL_MS: f64 = 1000.0;
const AFTER_RESTART_MS: f64 = 3000.0;

pub const METRICS: &[Metric] = &[
    m(
        "soak_failed_other",
        "S. Soak: failed client connections, not at an origin kill",
        "count",
        false,
        Target::AtMost(0.0),
    ),
    m(
        "soak_failed_at_kill",
        "S. Soak: failed client connections at an origin kill",
        "count",
        false,
        Target::None,
    ),
    m(
        "soak_api_failures",
        "S. Soak: failed API calls (writes and reads)",
        "count",
        false,
        Target::AtMost(0.0),
    ),
    m(
        "soak_rss_slope",
        "S. Soak: RSS slope",
        "MiB/h",
        false,
        Target::None,
    ),
    m(
        "soak_fds_slope",
        "S. Soak: descriptors slope",
        "fds/h",
        false,
        Target::None,
    ),
    m(
        "soak_threads_slope",
        "S. Soak: threads slope",
        "threads/h",
        false,
        Target::None,
    ),
    m(
        "soak_tasks_slope",
        "S. Soak: alive tasks slope",
        "tasks/h",
        false,
        Target::None,
    ),
    m(
        "soak_rss_max",
        "S. Soak: RSS max",
        "MiB",
        false,
        Target::None,
    ),
    m(
        "soak_fds_max",
        "S. Soak: descriptors max",
        "count",
        false,
        Target::None,
    ),
];

fn origin_addrs(i: usize) -> (SocketAddr, SocketAddr) {
    let ip = ORIGINS[i].into();
    (ctx::addr(ip, ORIGIN_TCP), ctx::addr(ip, ORIGIN_UDP))
}

fn start_origin(ctx: &Ctx, i: usize) -> anyhow::Result<Proc> {
    let (t, u) = origin_addrs(i);
    watch::start_origin(
        ctx,
        if i == 0 {
            "soak origin A"
        } else {
            "soak origin B"
        },
        &[t],
        &[u],
    )
}

fn unix_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

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

/// Failures of one client kind split into (at a kill, other).
fn split(failed_at: &[f64], windows: &[(f64, f64)]) -> (usize, usize) {
    let at = failed_at
        .iter()
        .filter(|t| windows.iter().any(|(a, b)| **t >= *a && **t <= *b))
        .count();
    (at, failed_at.len() - at)
}

/// Scenario `soak`.
pub fn run(ctx: &Ctx, minutes: f64, res: &mut Results) -> anyhow::Result<()> {
    let seconds = (minutes * 60.0).max(30.0);
    let mut origins = [Some(start_origin(ctx, 0)?), Some(start_origin(ctx, 1)?)];
    let (mut proc, mut api) = onramp::start(ctx)?;
    let pid = proc.pid();
    let (proxy, origins_ids) = ctx.block_on(setup(&mut api))?;
    let mut churn = Churn::new(proxy, origins_ids);
    println!("  soak: {seconds} s of traffic, API writes and origin kills");
    let (mut client, client_out) = watch::start_load(
        ctx,
        "client",
        vec![
            "--api".into(),
            api.addr.clone(),
            "--tcp".into(),
            ctx::addr(PROXY_IP, TCP_PORT).to_string(),
            "--udp".into(),
            ctx::addr(PROXY_IP, UDP_PORT).to_string(),
            "--api-rate".into(),
            "1".into(),
            "--tcp-rate".into(),
            "20".into(),
            "--udp-rate".into(),
            "20".into(),
            "--seconds".into(),
            seconds.to_string(),
            "--source".into(),
            CLIENT_SOURCE.into(),
        ],
    )?;
    let t0 = Instant::now();
    let (mut next_write, mut next_sample, mut next_kill) = (0.0, 0.0, FIRST_KILL);
    let mut down: Option<(usize, f64, f64)> = None; // (origin, kill unix ms, restart due s)
    let mut windows: Vec<(f64, f64)> = Vec::new();
    let (mut samples, mut tasks): (Vec<Sample>, Vec<(f64, f64)>) = (Vec::new(), Vec::new());
    let mut tasks_name = None;
    let mut kills = 0usize;
    let limit = seconds + 60.0;
    while client.exited().is_none() && t0.elapsed().as_secs_f64() < limit {
        let t = t0.elapsed().as_secs_f64();
        if t >= next_sample {
            next_sample += SAMPLE_EVERY;
            samples.extend(Sample::of(pid, t));
            if let Some((name, v)) = watch::scrape(ctx, &api.admin, Duration::from_secs(2))
                .as_ref()
                .and_then(watch::tasks)
            {
                tasks.push((t, v));
                tasks_name = Some(name);
            }
        }
        if t >= next_kill && down.is_none() && t < seconds - DOWN_S {
            next_kill += KILL_EVERY;
            let i = kills % 2;
            kills += 1;
            if let Some(mut p) = origins[i].take() {
                p.kill_now();
            }
            down = Some((i, unix_ms(), t + DOWN_S));
        }
        if let Some((i, killed_ms, due)) = down {
            if t >= due {
                origins[i] =
                    Some(start_origin(ctx, i).with_context(|| format!("restarting origin {i}"))?);
                windows.push((killed_ms - BEFORE_KILL_MS, unix_ms() + AFTER_RESTART_MS));
                down = None;
            }
        }
        if t >= next_write {
            next_write += WRITE_EVERY;
            ctx.block_on(churn.tick(&mut api));
        }
        pause(20);
    }
    client.wait_for(Duration::from_secs(10))?;
    let alive = proc.exited().is_none();
    proc.stop();
    drop(origins);
    let seen = Seen {
        samples,
        tasks,
        tasks_name,
        windows,
        seconds,
        alive,
    };
    report(res, &watch::report(&client_out)?, &churn, &seen);
    Ok(())
}

/// What the soak loop recorded.
struct Seen {
    samples: Vec<Sample>,
    tasks: Vec<(f64, f64)>,
    tasks_name: Option<String>,
    /// (from, to) Unix ms around each origin kill.
    windows: Vec<(f64, f64)>,
    seconds: f64,
    alive: bool,
}

fn report(res: &mut Results, client: &Value, churn: &Churn, seen: &Seen) {
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
        other += o;
        per_kind.insert(
            kind.into(),
            json!({"attempts": k["attempts"], "failures": k["failures"], "at_kill": a,
            "other": o, "errors": k["errors"], "p50_ms": k["p50_ms"], "p99_ms": k["p99_ms"]}),
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
        format!(
            "{name} {}→{} (max {}, {:+.2}/h)",
            v["start"],
            v["end"],
            v["max"],
            v["slope_per_hour"].as_f64().unwrap_or(f64::NAN)
        )
    };
    res.note(format!(
        "soak: {:.0} s, {} origin kills; {}; {}; {}; {}{}; API writes {} ok, {} failed{}; onramp {} at the end",
        seen.seconds, seen.windows.len(), line("RSS MiB", &sums[0].1), line("fds", &sums[1].1), line("threads", &sums[2].1),
        line("tasks", &sums[3].1), seen.tasks_name.as_ref().map_or(" (no tasks gauge in /metrics)".to_string(), |n| format!(" ({n})")),
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

/// Proxy, origins A and B, the two traffic listeners bound to both and healthy; returns the
/// proxy (the churn listeners go there too) and the origins.
async fn setup(api: &mut Api) -> anyhow::Result<(String, [Origin; 2])> {
    let proxy = api.create_proxy("soak", 0).await?;
    let ips: Vec<String> = ORIGINS
        .iter()
        .map(|o| std::net::Ipv4Addr::from(*o).to_string())
        .collect();
    let ids = api.add_origins(&ips, 0).await?;
    let ids: [String; 2] = ids
        .try_into()
        .map_err(|_| anyhow!("two origin ids expected"))?;
    for (udp, port, oport) in [(false, TCP_PORT, ORIGIN_TCP), (true, UDP_PORT, ORIGIN_UDP)] {
        let lid = api
            .create_listeners(&proxy, udp, &[port], true)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| anyhow!("no id"))?;
        let set: Vec<(String, String, u16)> = ids
            .iter()
            .cloned()
            .zip(ips.iter().cloned())
            .map(|(id, ip)| (id, ip, oport))
            .collect();
        api.bind(&lid, &set).await?;
        api.wait_ready(&lid, udp, true).await?;
    }
    let origin = |i: usize| Origin {
        id: ids[i].clone(),
        ip: ips[i].clone(),
        tcp_port: ORIGIN_TCP,
        udp_port: ORIGIN_UDP,
    };
    Ok((proxy, [origin(0), origin(1)]))
}

#[cfg(test)]
mod tests {
    use super::{split, summary};

    #[test]
    fn failures_split_by_kill_windows() {
        let w = [(1000.0, 2000.0), (5000.0, 5500.0)];
        assert_eq!(
            split(&[999.0, 1000.0, 1500.0, 3000.0, 5500.0, 6000.0], &w),
            (3, 3)
        );
        assert_eq!(split(&[], &w), (0, 0));
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
