//! `onramp-bench`: runs onramp beside HAProxy 2.6, nginx 1.22 `stream` and a direct
//! connection on loopback, with the same budget for each, and reports medians, spreads and
//! onramp's ratio to the better peer.
//!
//! Layout (documented in the output and in BENCHMARKS.md): the proxy under test runs with one
//! data-plane worker thread pinned to CPU 1; the load generator, the origins and this
//! orchestrator run on CPU 0. Origins listen on 127.0.0.2 (and .4–.9 for failover,
//! convergence and the API store), proxies on 127.0.0.3. Systems alternate within each
//! repetition (the order rotates), and every process this harness starts is stopped by PID.
#![forbid(unsafe_code)]

mod attack;
mod charts;
mod churn;
mod control;
mod ctx;
mod dataplane;
mod failover;
mod install;
mod latency;
mod onramp;
mod procs;
mod report;
mod soak;
mod systems;
mod watch;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Parser;
use serde_json::json;

use crate::ctx::{Ctx, Plan, LOAD_CPU, PROXY_CPU};
use crate::procs::{Proc, Spec};
use crate::report::Results;
use crate::systems::{Flavor, System};

const ALL_GROUPS: [&str; 11] = [
    "bulk", "connrate", "latency", "udp", "memory", "floor", "api", "converge", "failover",
    "attack", "soak",
];

/// Run only when named in `--only`: the soak always; the attack in quick mode.
fn on_request(group: &str, quick: bool) -> bool {
    group == "soak" || (quick && group == "attack")
}

#[derive(Parser)]
#[command(
    name = "onramp-bench",
    about = "Benchmark onramp against HAProxy, nginx and a direct connection (loopback only)"
)]
struct Cli {
    /// Short run (under 3 minutes): fewer repetitions, shorter loads, a smaller API store.
    #[arg(long)]
    quick: bool,
    /// Repetitions of the data-plane scenarios (default 2 quick, 5 full).
    #[arg(long)]
    reps: Option<usize>,
    /// Scenario groups to run (comma-separated): bulk, connrate, latency, udp, memory, floor
    /// (scenario 1 through a bare splice relay), api, converge, failover, attack (UDP flood and
    /// slow-header connections beside a normal client; not in --quick unless named) and soak
    /// (only when named).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Systems to run (comma-separated): direct, onramp, haproxy, nginx, and the latency-mode
    /// variants that run the latency scenario only: onramp-busy (`--busy-poll`), haproxy-busy
    /// (`busy-polling`), spin-floor (a relay that never sleeps: the floor).
    #[arg(long, value_delimiter = ',')]
    systems: Vec<String>,
    /// Output directory (results.json, details.json, table.md, run/).
    #[arg(long, default_value = "target/bench")]
    out: PathBuf,
    /// Directory holding the `onramp` and `onramp-load` binaries (default: beside this one).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// Do not try to install missing packages.
    #[arg(long)]
    no_install: bool,
    /// Length of the soak scenario, minutes.
    #[arg(long, default_value_t = 30.0)]
    soak_minutes: f64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    procs::install_signal_handler();
    let code = match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("onramp-bench: {e:#}");
            ExitCode::FAILURE
        }
    };
    procs::stop_all_registered();
    code
}

/// Pin this process (all its threads) to the load CPU.
fn pin_self() {
    let _ = std::process::Command::new("taskset")
        .args(["-a", "-cp", &LOAD_CPU.to_string()])
        .arg(std::process::id().to_string())
        .stdout(std::process::Stdio::null())
        .status();
}

fn machine(plan: &Plan) -> serde_json::Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, m)| m.trim().to_string())
        .unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    // Not available_parallelism(): this process is pinned to one CPU.
    let nproc = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    json!({
        "nproc": nproc,
        "cpu_model": model,
        "kernel": kernel.trim(),
        "nofile": onramp_bench::procfs::nofile_limits(),
        "loadavg_start": loadavg(),
        "versions": install::versions(),
        "layout": format!("proxy pinned to CPU {PROXY_CPU} with 1 data-plane worker thread; \
                           load generator, origins and orchestrator pinned to CPU {LOAD_CPU}"),
        "mode": if plan.quick { "quick" } else { "full" },
        "plan": format!("{plan:?}"),
    })
}

/// `/proc/loadavg`: other work on the machine shows here (the CPUs are not reserved).
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn selected<T: Clone>(
    given: &[String],
    all: &[T],
    name: impl Fn(&T) -> String,
) -> anyhow::Result<Vec<T>> {
    if given.is_empty() {
        return Ok(all.to_vec());
    }
    let mut out = Vec::new();
    for g in given {
        match all.iter().find(|x| name(x) == *g) {
            Some(x) => out.push(x.clone()),
            None => bail!("unknown name {g:?}"),
        }
    }
    Ok(out)
}

/// Fail at once when another run holds the fixed loopback layout: its proxies and origins would
/// answer this run's load.
fn layout_free() -> anyhow::Result<()> {
    for a in [
        ctx::addr(ctx::PROXY_IP, ctx::ECHO_PORT),
        ctx::addr(ctx::ORIGIN_IP, ctx::ECHO_ORIGIN_PORT),
    ] {
        if std::net::TcpListener::bind(a).is_err() {
            bail!("{a} is in use: another benchmark run is under way; wait for it to end");
        }
    }
    Ok(())
}

fn run(cli: Cli) -> anyhow::Result<()> {
    pin_self();
    layout_free()?;
    let started = Instant::now();
    let groups: Vec<String> = selected(&cli.only, &ALL_GROUPS, |g| g.to_string())
        .context("--only")?
        .into_iter()
        .filter(|g| !cli.only.is_empty() || !on_request(g, cli.quick))
        .map(str::to_string)
        .collect();
    let systems =
        selected(&cli.systems, &System::EVERY, |s| s.name().to_string()).context("--systems")?;
    let bin_dir = match cli.bin_dir {
        Some(d) => d,
        None => std::env::current_exe()?
            .parent()
            .context("no binary directory")?
            .to_path_buf(),
    };
    for b in ["onramp", "onramp-load"] {
        if !bin_dir.join(b).is_file() {
            bail!(
                "{} not found; build with `cargo build --release -p onramp -p onramp-bench`",
                bin_dir.join(b).display()
            );
        }
    }
    // The onramp-only groups need no peer and no tool from a package.
    let onramp_only = ["api", "converge", "attack", "soak"];
    if !cli.no_install && !groups.iter().all(|g| onramp_only.contains(&g.as_str())) {
        install::ensure()?;
    }
    let plan = Plan::new(cli.quick, cli.reps);
    let ctx = Ctx::new(cli.out.clone(), bin_dir, plan)?;
    let machine = machine(&ctx.plan);
    println!(
        "onramp-bench ({} mode): {}",
        machine["mode"].as_str().unwrap_or(""),
        machine["layout"].as_str().unwrap_or("")
    );
    println!(
        "machine: {} CPUs, {}, kernel {}; open files {}; load average {}",
        machine["nproc"],
        machine["cpu_model"],
        machine["kernel"],
        machine["nofile"],
        machine["loadavg_start"]
    );
    let mut res = Results::default();
    if ctx.plan.quick {
        res.note(format!(
            "quick mode: {} repetitions, {} s loads, API store {} listeners / {} origins, {} convergence trials",
            ctx.plan.reps, ctx.plan.bulk_seconds, ctx.plan.api_listeners, ctx.plan.api_origins,
            ctx.plan.converge_trials
        ));
    }
    let dp: Vec<String> = groups
        .iter()
        .filter(|g| dataplane::GROUPS.contains(&g.as_str()))
        .cloned()
        .collect();
    if !dp.is_empty() {
        dataplane_reps(&ctx, &systems, &dp, &mut res)?;
    }
    if groups.iter().any(|g| g == "floor") {
        println!("scenario 1 floor: a bare splice relay");
        if let Err(e) = dataplane::floor(&ctx, &mut res) {
            res.note(format!("floor: {e:#}"));
        }
    }
    if groups.iter().any(|g| g == "api") && systems.contains(&System::Onramp) {
        println!("scenario 6: control API");
        if let Err(e) = control::api_load(&ctx, &mut res) {
            res.note(format!("api: {e:#}"));
        }
    }
    if groups.iter().any(|g| g == "converge") && systems.contains(&System::Onramp) {
        println!("scenario 7: convergence");
        if let Err(e) = control::converge(&ctx, &mut res) {
            res.note(format!("converge: {e:#}"));
        }
    }
    if groups.iter().any(|g| g == "failover") {
        println!("scenario 8: failover");
        let main: Vec<System> = systems
            .iter()
            .copied()
            .filter(|s| !s.latency_only())
            .collect();
        failover::run(&ctx, &main, &mut res);
    }
    if groups.iter().any(|g| g == "attack") && systems.contains(&System::Onramp) {
        println!("scenario attack: UDP flood and slow-header connections beside a normal client");
        if let Err(e) = attack::run(&ctx, &mut res) {
            res.note(format!("attack: {e:#}"));
        }
    }
    if groups.iter().any(|g| g == "soak") && systems.contains(&System::Onramp) {
        println!("scenario soak: {} minutes", cli.soak_minutes);
        if let Err(e) = soak::run(&ctx, cli.soak_minutes, &mut res) {
            res.note(format!("soak: {e:#}"));
        }
    }
    let mut machine = machine;
    machine["seconds"] = json!(started.elapsed().as_secs());
    machine["loadavg_end"] = json!(loadavg());
    // The load average says how busy the machine was (other work shares these CPUs).
    let load = |k: &str| {
        machine[k]
            .as_str()
            .and_then(|l| l.split_whitespace().next())
            .unwrap_or("?")
            .to_string()
    };
    let label = format!(
        "{} mode, {} CPUs, load {}–{}",
        machine["mode"].as_str().unwrap_or(""),
        machine["nproc"],
        load("loadavg_start"),
        load("loadavg_end")
    );
    res.write(&ctx.out, machine)?;
    let drawn = charts::write(&res, &ctx.out, &label)?;
    println!("\n{}", res.table());
    for n in &res.notes {
        println!("note: {n}");
    }
    let misses = res.misses();
    if !misses.is_empty() {
        println!("\nonramp misses these targets:");
        for m in misses {
            println!("  - {m}");
        }
    }
    println!(
        "\n{} charts in {}",
        drawn.len(),
        ctx.out.join("charts").display()
    );
    println!(
        "\nwrote {} (and details.json, table.md) in {} s",
        ctx.out.join("results.json").display(),
        started.elapsed().as_secs()
    );
    Ok(())
}

/// The shared echo origin (TCP and UDP) for scenarios 2–5.
fn start_echo(ctx: &Ctx) -> anyhow::Result<Proc> {
    let tcp = ctx::addr(ctx::ORIGIN_IP, ctx::ECHO_ORIGIN_PORT);
    let p = Proc::start(Spec {
        name: "echo origin",
        cpu: LOAD_CPU,
        program: &ctx.bin("onramp-load"),
        args: vec![
            "echo".into(),
            "--tcp".into(),
            tcp.to_string(),
            "--udp".into(),
            ctx::addr(ctx::ORIGIN_IP, ctx::UDP_ORIGIN_PORT).to_string(),
        ],
        env: vec![],
        log: Some(&ctx.path("echo-origin.log")),
        stdin_piped: false,
        tree: false,
    })?;
    for _ in 0..300 {
        if std::net::TcpStream::connect(tcp).is_ok() {
            return Ok(p);
        }
        ctx::pause(10);
    }
    bail!("echo origin did not start on {tcp}")
}

fn dataplane_reps(
    ctx: &Ctx,
    systems: &[System],
    groups: &[String],
    res: &mut Results,
) -> anyhow::Result<()> {
    let _echo = start_echo(ctx)?;
    let reps = ctx.plan.reps.max(1);
    for rep in 0..reps {
        let mut order = systems.to_vec();
        let shift = rep % order.len().max(1);
        order.rotate_left(shift);
        for sys in order {
            // The latency-mode variants run the latency scenario only.
            let groups: Vec<String> = groups
                .iter()
                .filter(|g| !sys.latency_only() || *g == "latency")
                .cloned()
                .collect();
            if groups.is_empty() {
                continue;
            }
            println!(
                "scenarios 1-5: {} (repetition {}/{reps})",
                sys.name(),
                rep + 1
            );
            let _iperf = if groups.iter().any(|g| g == "bulk") {
                Some(dataplane::start_iperf_server(ctx)?)
            } else {
                None
            };
            let mut run = match systems::start(ctx, sys, Flavor::Main) {
                Ok(r) => r,
                Err(e) => {
                    res.note(format!("starting {}: {e:#}", sys.name()));
                    continue;
                }
            };
            dataplane::run_all(ctx, &mut run, &groups, res);
        }
    }
    Ok(())
}
