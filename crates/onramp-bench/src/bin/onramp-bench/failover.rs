//! Scenario 8, failover: a steady connection load through a listener over two origins; one
//! origin process is killed (SIGKILL) a third of the way in. Reported: client connections
//! begun after the kill that failed (the target), those under way through the dead origin at
//! the kill (lost with it under any proxy, shown apart), and how long the proxy kept sending
//! connections to the dead origin.
//!
//! The last figure comes from the kernel: `perf record` on the `sock:inet_sock_set_state`
//! tracepoint, filtered to connection attempts (state SYN_SENT) towards the dead origin's port.
//! Right before the kill the harness makes one marker connection from 127.0.0.99, so the kill
//! is on the same clock as the attempts. While the proxy still routes to the origin, attempts
//! follow each other within a fraction of a millisecond (the load makes thousands of
//! connections a second); the figure is the time from the kill to the last attempt of that run,
//! i.e. before the first gap of 100 ms. Later lone attempts are health probes or periodic
//! re-tries and are only counted. Without `perf` the figure is not reported.

use std::time::Duration;

use anyhow::Context;
use serde_json::json;

use crate::ctx::{self, pause, Ctx, LOAD_CPU};
use crate::procs::{Proc, Spec};
use crate::report::Results;
use crate::systems::{self, Flavor, System};

const MARKER_IP: &str = "127.0.0.99";

fn echo_origin(ctx: &Ctx, a: std::net::SocketAddrV4) -> anyhow::Result<Proc> {
    let p = Proc::start(Spec {
        name: "failover origin",
        cpu: LOAD_CPU,
        program: &ctx.bin("onramp-load"),
        args: vec!["echo".into(), "--tcp".into(), a.to_string()],
        env: vec![],
        log: Some(&ctx.path(&format!("origin-{}.log", ctx.next()))),
        stdin_piped: false,
        tree: false,
    })?;
    for _ in 0..300 {
        if std::net::TcpStream::connect(a).is_ok() {
            return Ok(p);
        }
        pause(10);
    }
    anyhow::bail!("origin {a} did not start")
}

fn start_perf(ctx: &Ctx, file: &std::path::Path) -> Option<Proc> {
    let perf = ctx.perf.as_ref()?;
    let filter = format!("dport == {} && newstate == 2", ctx::FO_A.port());
    let p = Proc::start(Spec {
        name: "perf record",
        cpu: LOAD_CPU,
        program: perf,
        args: vec![
            "record".into(),
            "-q".into(),
            "-a".into(),
            "-e".into(),
            "sock:inet_sock_set_state".into(),
            "--filter".into(),
            filter,
            "-o".into(),
            file.to_string_lossy().into(),
        ],
        env: vec![],
        log: Some(&ctx.path(&format!("perf-{}.log", ctx.next()))),
        stdin_piped: false,
        tree: false,
    })
    .ok()?;
    pause(700);
    Some(p)
}

/// (seconds, is marker) of each attempt recorded in `file`.
fn attempts(ctx: &Ctx, file: &std::path::Path) -> Option<Vec<(f64, bool)>> {
    let perf = ctx.perf.as_ref()?;
    let out = std::process::Command::new(perf)
        .args(["script", "-F", "time,trace", "-i"])
        .arg(file)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let v = text
        .lines()
        .filter_map(|l| {
            let (t, rest) = l.trim().split_once(':')?;
            let t: f64 = t.trim().parse().ok()?;
            Some((t, rest.contains(&format!("saddr={MARKER_IP} "))))
        })
        .collect();
    Some(v)
}

/// Milliseconds from the kill to the last attempt before the first 100 ms gap (see the
/// module doc), and the number of attempts after the kill (probes included).
fn time_to_stop(events: &[(f64, bool)]) -> Option<(f64, usize)> {
    let kill = events.iter().find(|e| e.1)?.0;
    let mut after: Vec<f64> = events
        .iter()
        .filter(|e| !e.1 && e.0 >= kill)
        .map(|e| e.0)
        .collect();
    after.sort_by(f64::total_cmp);
    let mut last = kill;
    for t in &after {
        if t - last >= 0.1 {
            break;
        }
        last = *t;
    }
    Some(((last - kill) * 1e3, after.len()))
}

fn unix_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

fn one(ctx: &Ctx, system: System, res: &mut Results) -> anyhow::Result<()> {
    let mut a = echo_origin(ctx, ctx::FO_A)?;
    let _b = echo_origin(ctx, ctx::FO_B)?;
    let mut run = systems::start(ctx, system, Flavor::Failover)?;
    if system == System::Haproxy {
        pause(300); // first health checks
    }
    let perf_file = ctx.path(&format!("failover-{}.perf", ctx.next()));
    let mut perf = start_perf(ctx, &perf_file);
    let secs = ctx.plan.failover_seconds;
    let n = ctx.next();
    let out = ctx.path(&format!("load-failover-{n}.out"));
    let mut load = Proc::start(Spec {
        name: "onramp-load connrate",
        cpu: LOAD_CPU,
        program: &ctx.bin("onramp-load"),
        args: [
            "connrate",
            "--addr",
            &run.endpoints.failover.to_string(),
            "--clients",
            "8",
            "--seconds",
            &secs.to_string(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        env: vec![],
        log: Some(&out),
        stdin_piped: false,
        tree: false,
    })?;
    std::thread::sleep(Duration::from_secs_f64(secs / 3.0));
    ctx.block_on(async {
        if let Ok(s) = tokio::net::TcpSocket::new_v4() {
            if s.bind(format!("{MARKER_IP}:0").parse().expect("marker"))
                .is_ok()
            {
                let _ = s.connect(std::net::SocketAddr::V4(ctx::FO_A)).await;
            }
        }
    });
    a.kill_now();
    // The origin is gone once it has been reaped; connections begun before then were under
    // way through it.
    let kill_unix_ms = unix_ms();
    load.wait_for(Duration::from_secs_f64(secs + 30.0))?;
    run.check_alive()?;
    if let Some(p) = perf.as_mut() {
        p.stop();
    }
    let text = std::fs::read_to_string(&out)?;
    let v: serde_json::Value = text
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .context("failover load: no result")?;
    // A connection already under way through the killed origin dies with it, whatever the
    // proxy; the target is about connections begun after the kill.
    let start = v["start_unix_ms"].as_f64().unwrap_or(0.0);
    let begun: Vec<f64> = v["failure_ms"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x.as_f64()).collect())
        .unwrap_or_default();
    let in_flight = begun.iter().filter(|b| start + **b < kill_unix_ms).count();
    let failed = v["failures"].as_f64().unwrap_or(f64::NAN) - in_flight as f64;
    res.add("failover_failed", system, failed);
    res.add("failover_in_flight", system, in_flight as f64);
    let stop = perf
        .as_ref()
        .and_then(|_| attempts(ctx, &perf_file))
        .and_then(|e| time_to_stop(&e));
    if let Some((ms, count)) = stop {
        res.add("failover_time", system, ms);
        res.extra.insert(
            format!("failover/{}/{n}", system.name()),
            json!({"attempts_after_kill": count, "load": v}),
        );
    } else {
        res.extra.insert(
            format!("failover/{}/{n}", system.name()),
            json!({"load": v, "perf": "unavailable"}),
        );
    }
    drop(run);
    Ok(())
}

/// Scenario 8 for every proxy.
pub fn run(ctx: &Ctx, systems_in: &[System], res: &mut Results) {
    if ctx.perf.is_none() {
        res.note("perf not found: failover time is not measured (failed connections are)");
    }
    for rep in 0..ctx.plan.failover_reps {
        for &s in systems_in {
            if s == System::Direct {
                continue;
            }
            println!("  failover: {} (rep {})", s.name(), rep + 1);
            if let Err(e) = one(ctx, s, res) {
                res.note(format!("failover on {}: {e:#}", s.name()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::time_to_stop;

    #[test]
    fn the_run_of_attempts_ends_at_the_first_gap() {
        let ev = vec![
            (9.0, false),
            (10.0, true),
            (10.001, false),
            (10.002, false),
            (10.050, false),
            (10.6, false),
            (15.0, false),
        ];
        let (ms, n) = time_to_stop(&ev).expect("marker present");
        assert!((ms - 50.0).abs() < 1e-6, "{ms}");
        assert_eq!(n, 5);
        let none = vec![(10.0, true), (10.5, false)];
        assert_eq!(time_to_stop(&none), Some((0.0, 1)));
        assert_eq!(time_to_stop(&[(1.0, false)]), None);
    }
}
