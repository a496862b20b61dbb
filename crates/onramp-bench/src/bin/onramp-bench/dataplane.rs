//! Data-plane scenarios 1–5, run against one started system: TCP bulk (iperf3, 1 and 8
//! streams), new connections per second, ping-pong latency, UDP request/response and memory
//! per idle proxied connection. Each reads the proxy's CPU time (and for memory its resident
//! set) from `/proc` before and after the load.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use serde_json::Value;

use crate::ctx::{self, pause, Ctx, LOAD_CPU};
use crate::procs::{CpuUse, Proc, Spec};
use crate::report::Results;
use crate::systems::{Running, System};

/// Scenario groups that run on a started system.
pub const GROUPS: [&str; 5] = ["bulk", "connrate", "latency", "udp", "memory"];

/// Run `onramp-load <args>` pinned to the load CPU; returns its last JSON line.
pub fn load(ctx: &Ctx, args: &[String], limit: Duration) -> anyhow::Result<Value> {
    let n = ctx.next();
    let out = ctx.path(&format!("load-{n}.out"));
    let mut p = Proc::start(Spec {
        name: "onramp-load",
        cpu: LOAD_CPU,
        program: &ctx.bin("onramp-load"),
        args: args.to_vec(),
        env: vec![],
        log: Some(&out),
        stdin_piped: false,
        tree: false,
    })?;
    let st = p.wait_for(limit)?;
    let text = std::fs::read_to_string(&out)?;
    if !st.success() {
        bail!("onramp-load {} failed ({st}): {}", args[0], text.trim());
    }
    last_json(&text).ok_or_else(|| anyhow!("onramp-load {}: no JSON in {text:?}", args[0]))
}

fn last_json(text: &str) -> Option<Value> {
    text.lines()
        .rev()
        .find_map(|l| serde_json::from_str::<Value>(l.trim()).ok())
}

fn s(x: impl ToString) -> String {
    x.to_string()
}

fn f(v: &Value, key: &str) -> anyhow::Result<f64> {
    v[key]
        .as_f64()
        .ok_or_else(|| anyhow!("no number {key} in {v}"))
}

/// The iperf3 server (bulk origin), pinned to the load CPU.
pub fn start_iperf_server(ctx: &Ctx) -> anyhow::Result<Proc> {
    let program = ctx::which("iperf3").context("iperf3 is not installed")?;
    let p = Proc::start(Spec {
        name: "iperf3-server",
        cpu: LOAD_CPU,
        program: &program,
        args: vec![
            s("-s"),
            s("-B"),
            s(ctx::ORIGIN_IP),
            s("-p"),
            s(ctx::BULK_ORIGIN_PORT),
        ],
        env: vec![],
        log: Some(&ctx.path(&format!("iperf3-server-{}.log", ctx.next()))),
        stdin_piped: false,
        tree: false,
    })?;
    let target = ctx::addr(ctx::ORIGIN_IP, ctx::BULK_ORIGIN_PORT);
    for _ in 0..300 {
        // A bare connect would be taken for a test by iperf3; look at the socket table instead.
        if listening(target) {
            return Ok(p);
        }
        pause(10);
    }
    bail!("iperf3 server did not listen on {target}")
}

/// Is some socket listening on `addr` (from /proc/net/tcp)?
fn listening(addr: SocketAddr) -> bool {
    let SocketAddr::V4(a) = addr else {
        return false;
    };
    let want = format!(
        "{:08X}:{:04X}",
        u32::from_le_bytes(a.ip().octets()),
        a.port()
    );
    std::fs::read_to_string("/proc/net/tcp")
        .map(|t| {
            t.lines().skip(1).any(|l| {
                let mut it = l.split_whitespace().skip(1);
                it.next() == Some(want.as_str()) && it.nth(1) == Some("0A")
            })
        })
        .unwrap_or(false)
}

/// Run every selected data-plane scenario against `run`.
pub fn run_all(ctx: &Ctx, run: &mut Running, groups: &[String], res: &mut Results) {
    for g in GROUPS {
        if !groups.iter().any(|x| x == g) {
            continue;
        }
        if g == "udp" && run.endpoints.udp.is_none() {
            continue;
        }
        if g == "memory" && run.system == System::Direct {
            continue;
        }
        let r = match g {
            "bulk" => bulk(ctx, run, 1, None, res)
                .and_then(|_| bulk(ctx, run, 8, None, res))
                .and_then(|_| bulk(ctx, run, 8, Some(FIXED_STREAM_RATE), res)),
            "connrate" => connrate(ctx, run, res),
            "latency" => crate::latency::run(ctx, run, res),
            "udp" => udp(ctx, run, res),
            _ => memory(ctx, run, res),
        };
        let r = r.and_then(|_| run.check_alive());
        if let Err(e) = r {
            res.note(format!("{g} on {}: {e:#}", run.system.name()));
            if run.check_alive().is_err() {
                return;
            }
        }
    }
}

/// The offered rate of each stream in the fixed-rate 8-stream run (iperf3 `-b`): 8 × 1 =
/// 8 Gbit/s, below what every system moves here, so each proxy relays the same bytes per second
/// and their CPU per GB compares at equal load (the unpaced runs settle at different rates, and
/// CPU per GB follows the rate).
pub const FIXED_STREAM_RATE: &str = "1G";

fn iperf(
    ctx: &Ctx,
    target: SocketAddr,
    streams: u32,
    rate: Option<&str>,
) -> anyhow::Result<(f64, f64)> {
    let program = ctx::which("iperf3").context("iperf3 is not installed")?;
    let secs = ctx.plan.bulk_seconds;
    let n = ctx.next();
    let out = ctx.path(&format!("iperf3-{n}.json"));
    let mut p = Proc::start(Spec {
        name: "iperf3-client",
        cpu: LOAD_CPU,
        program: &program,
        args: vec![
            s("-c"),
            s(target.ip()),
            s("-p"),
            s(target.port()),
            s("-t"),
            s(secs),
            s("-P"),
            s(streams),
            s("-J"),
            s("--connect-timeout"),
            s(3000),
        ]
        .into_iter()
        .chain(rate.into_iter().flat_map(|r| [s("-b"), s(r)]))
        .collect(),
        env: vec![],
        log: Some(&out),
        stdin_piped: false,
        tree: false,
    })?;
    p.wait_for(Duration::from_secs(secs + 30))?;
    let text = std::fs::read_to_string(&out)?;
    let v: Value = serde_json::from_str(&text).context("iperf3 -J output")?;
    if let Some(e) = v.get("error") {
        bail!("iperf3: {e}");
    }
    let sum = &v["end"]["sum_received"];
    Ok((f(sum, "bits_per_second")? / 1e9, f(sum, "bytes")?))
}

fn bulk(
    ctx: &Ctx,
    run: &mut Running,
    streams: u32,
    rate: Option<&str>,
    res: &mut Results,
) -> anyhow::Result<()> {
    // The core figure is tick-sampled (`/proc/stat`): a paced load that sleeps between timer
    // ticks reads as almost idle there, so the fixed-rate run has none.
    let (rate_id, cpu_ids) = if rate.is_some() {
        (
            "tcp_bulk_8_fixed",
            ["tcp_bulk_8_fixed_cpu", "tcp_bulk_8_fixed_cpu_user", ""],
        )
    } else if streams == 1 {
        (
            "tcp_bulk_1_stream",
            [
                "tcp_bulk_1_stream_cpu",
                "tcp_bulk_1_stream_cpu_user",
                "tcp_bulk_1_stream_core",
            ],
        )
    } else {
        (
            "tcp_bulk_8_streams",
            [
                "tcp_bulk_8_streams_cpu",
                "tcp_bulk_8_streams_cpu_user",
                "tcp_bulk_8_streams_core",
            ],
        )
    };
    let mut attempt = 0;
    let (gbps, bytes, cpu) = loop {
        let c0 = run.cpu_use(ctx.ticks);
        match iperf(ctx, run.endpoints.bulk, streams, rate) {
            Ok((g, b)) => break (g, b, run.cpu_use(ctx.ticks) - c0),
            // A health probe can collide with iperf3's stream set-up; try once more.
            Err(e) if attempt == 0 => {
                res.note(format!("iperf3 via {} retried: {e:#}", run.system.name()));
                attempt += 1;
                pause(500);
            }
            Err(e) => return Err(e),
        }
    };
    res.add(rate_id, run.system, gbps);
    add_cpu(res, run.system, cpu_ids, cpu, bytes / 1e9, 1.0);
    Ok(())
}

/// Record the proxy's CPU per unit of work (`units` done, each figure times `scale`) under
/// `ids`: all of it, of which user space, and the core's busy time (an empty id is skipped).
/// Nothing for direct, which has no proxy, or when no work was done.
fn add_cpu(
    res: &mut Results,
    sys: System,
    ids: [&'static str; 3],
    cpu: CpuUse,
    units: f64,
    scale: f64,
) {
    if sys == System::Direct || units <= 0.0 {
        return;
    }
    for (id, secs) in ids.into_iter().zip([cpu.all, cpu.user, cpu.core]) {
        if !id.is_empty() {
            res.add(id, sys, secs / units * scale);
        }
    }
}

fn connrate(ctx: &Ctx, run: &mut Running, res: &mut Results) -> anyhow::Result<()> {
    let secs = ctx.plan.connrate_seconds;
    let c0 = run.cpu_use(ctx.ticks);
    let v = load(
        ctx,
        &[
            s("connrate"),
            s("--addr"),
            s(run.endpoints.echo),
            s("--clients"),
            s(64),
            s("--seconds"),
            s(secs),
        ],
        Duration::from_secs_f64(secs + 30.0),
    )?;
    let cpu = run.cpu_use(ctx.ticks) - c0;
    let conns = f(&v, "connections")?;
    res.add("conn_rate", run.system, f(&v, "rate")?);
    res.add("conn_rate_failures", run.system, f(&v, "failures")?);
    add_cpu(
        res,
        run.system,
        ["conn_rate_cpu", "conn_rate_cpu_user", "conn_rate_core"],
        cpu,
        conns,
        1e6,
    );
    if f(&v, "failures")? > 0.0 {
        res.note(format!(
            "connrate via {}: failures {}",
            run.system.name(),
            v["failure_kinds"]
        ));
    }
    record_client_cpu(res, "connrate", run.system, &v, secs);
    Ok(())
}

fn record_client_cpu(res: &mut Results, what: &str, sys: System, v: &Value, secs: f64) {
    if let Some(c) = v["client_cpu_s"].as_f64() {
        let key = format!("client_cpu_pct/{what}/{}", sys.name());
        let e = res.extra.entry(key).or_insert_with(|| Value::Array(vec![]));
        if let Value::Array(a) = e {
            a.push(serde_json::json!((c / secs * 100.0).round()));
        }
    }
}

fn udp(ctx: &Ctx, run: &mut Running, res: &mut Results) -> anyhow::Result<()> {
    let target = run.endpoints.udp.ok_or_else(|| anyhow!("no UDP"))?;
    let secs = ctx.plan.udp_seconds;
    let c0 = run.cpu_use(ctx.ticks);
    let v = load(
        ctx,
        &[
            s("udp"),
            s("--addr"),
            s(target),
            s("--flows"),
            s(64),
            s("--seconds"),
            s(secs),
        ],
        Duration::from_secs_f64(secs + 30.0),
    )?;
    let cpu = run.cpu_use(ctx.ticks) - c0;
    let n = f(&v, "exchanges")?;
    res.add("udp_rate", run.system, f(&v, "rate")?);
    res.add("udp_p99", run.system, f(&v, "p99_us")?);
    res.add("udp_lost", run.system, f(&v, "lost")?);
    add_cpu(
        res,
        run.system,
        ["udp_cpu", "udp_cpu_user", "udp_core"],
        cpu,
        n,
        1e6,
    );
    record_client_cpu(res, "udp", run.system, &v, secs);
    Ok(())
}

/// Open `idle_conns` proxied connections, read the proxy's RSS growth, then close them.
fn memory(ctx: &Ctx, run: &mut Running, res: &mut Results) -> anyhow::Result<()> {
    let count = ctx.plan.idle_conns;
    pause(200);
    let rss0 = run.rss();
    let mut p = Proc::start(Spec {
        name: "onramp-load idle",
        cpu: LOAD_CPU,
        program: &ctx.bin("onramp-load"),
        args: vec![
            s("idle"),
            s("--addr"),
            s(run.endpoints.echo),
            s("--count"),
            s(count),
        ],
        env: vec![],
        log: None,
        stdin_piped: true,
        tree: false,
    })?;
    let stdout = p
        .child_mut()
        .stdout
        .take()
        .ok_or_else(|| anyhow!("no stdout"))?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let first = rx
        .recv_timeout(Duration::from_secs(200))
        .context("idle: no report")?;
    let v: Value = serde_json::from_str(&first)?;
    pause(500);
    let rss1 = run.rss();
    let opened = f(&v, "opened")?;
    let fds = run
        .proc
        .as_ref()
        .and_then(|p| onramp_bench::procfs::fd_count(p.pid()));
    if let Some(stdin) = p.child_mut().stdin.as_mut() {
        let _ = stdin.write_all(b"close\n");
    }
    let second = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
    p.wait_for(Duration::from_secs(30))?;
    let failed = count as f64 - opened;
    res.add("idle_failures", run.system, failed);
    if opened > 0.0 {
        let per = (rss1 as f64 - rss0 as f64) / opened / 1024.0;
        res.add("idle_memory", run.system, per);
    }
    res.extra.insert(
        format!("idle/{}/{}", run.system.name(), ctx.next()),
        serde_json::json!({"rss_before": rss0, "rss_after": rss1, "opened": opened,
                           "proxy_fds": fds, "after_close": second}),
    );
    Ok(())
}

/// The floor of scenario 1: iperf3 through `onramp-load splice-relay` (a bare blocking splice
/// relay, no event loop, one thread per direction) pinned to the proxy CPU like a proxy. Its CPU
/// per GB is the kernel's own cost of relaying through a pipe here; reported in the notes and
/// in `details.json` (`extra.splice_floor`), not in the table (it is not a product).
pub fn floor(ctx: &Ctx, res: &mut Results) -> anyhow::Result<()> {
    let _iperf = start_iperf_server(ctx)?;
    let listen = ctx::addr(ctx::PROXY_IP, ctx::FLOOR_PORT);
    let relay = Proc::start(Spec {
        name: "splice-relay",
        cpu: ctx::PROXY_CPU,
        program: &ctx.bin("onramp-load"),
        args: vec![
            s("splice-relay"),
            s("--listen"),
            s(listen),
            s("--to"),
            s(ctx::addr(ctx::ORIGIN_IP, ctx::BULK_ORIGIN_PORT)),
        ],
        env: vec![],
        log: Some(&ctx.path("splice-relay.log")),
        stdin_piped: false,
        tree: false,
    })?;
    for _ in 0..300 {
        if listening(listen) {
            break;
        }
        pause(10);
    }
    let mut rows = Vec::new();
    for _ in 0..ctx.plan.reps.max(1) {
        for streams in [1u32, 8] {
            let c0 = relay.cpu_use(ctx.ticks);
            let (gbps, bytes) = iperf(ctx, listen, streams, None)?;
            let cpu = relay.cpu_use(ctx.ticks) - c0;
            let gb = (bytes / 1e9).max(1e-9);
            rows.push(serde_json::json!({
                "streams": streams,
                "gbps": gbps,
                "cpu_s_per_gb": cpu.all / gb,
                "user_cpu_s_per_gb": cpu.user / gb,
                "core_s_per_gb": cpu.core / gb,
            }));
        }
    }
    let med = |streams: u64, key: &str| {
        let v: Vec<f64> = rows
            .iter()
            .filter(|r| r["streams"].as_u64() == Some(streams))
            .filter_map(|r| r[key].as_f64())
            .collect();
        onramp_bench::stats::median(&v)
    };
    res.note(format!(
        "scenario 1 floor, a bare blocking splice relay on the proxy CPU (`onramp-load splice-relay`, \
         not a product): 1 stream {:.2} Gbit/s at {:.3} CPU-s/GB ({:.3} user space; core busy \
         {:.3}); 8 streams {:.2} Gbit/s at {:.3} CPU-s/GB ({:.3} user space; core busy {:.3})",
        med(1, "gbps"),
        med(1, "cpu_s_per_gb"),
        med(1, "user_cpu_s_per_gb"),
        med(1, "core_s_per_gb"),
        med(8, "gbps"),
        med(8, "cpu_s_per_gb"),
        med(8, "user_cpu_s_per_gb"),
        med(8, "core_s_per_gb"),
    ));
    res.extra
        .insert("splice_floor".into(), serde_json::Value::Array(rows));
    Ok(())
}
