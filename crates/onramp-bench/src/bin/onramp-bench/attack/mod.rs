//! Hardening scenario `attack` (onramp only): the two attacks of issue 8 at once, with a normal
//! client beside them.
//!
//! onramp runs with the descriptor limit the issue measured with (soft = hard = 20,000), one
//! proxy with a TCP and a UDP listener over an echo origin, and a second UDP listener, the
//! flood's target. After a 5 s baseline of the normal client alone, at once: 400 slow-header
//! connections to the API from 127.0.2.1 (`onramp-load slowheader`), a UDP flood of 25,000
//! one-datagram flows from distinct sources in 127.1.0.0/16 at 1,000 new flows/s (`onramp-load
//! flood`), and the normal client from 127.0.0.50 (`onramp-load client`): every 100 ms a
//! signed `DescribeProxies` on a fresh connection, a TCP round trip on a fresh connection and
//! a UDP round trip on the non-target listeners, each with a 2 s deadline, until 5 s after the
//! flood's last flow. Its UDP round trips take 4 kept flows in turn, each replaced after 50
//! (a new flow every 5 s, about 16 flows alive at most: a user's, within a per-source limit).
//! Every 500 ms the harness samples onramp's `VmRSS` and `/proc/PID/fd`; every 2 s it reads
//! `/metrics` (1 s deadline). Reported: the normal client's failures (goal 0) and p50/p99 per
//! kind, slow-header connections still open at the end, peak RSS and descriptors beside the
//! limit, and the edge's refused/shed counters when it exposes them.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use onramp_bench::procfs;

use crate::ctx::{self, pause, Ctx, ORIGIN_IP, PROXY_IP};
use crate::onramp::{self, ListenerPlan};
use crate::report::{m, Metric, Results, Target};
use crate::watch::{self, Sample};

mod report;

const TCP_PORT: u16 = 6601;
const UDP_PORT: u16 = 6602;
const TARGET_PORT: u16 = 6603;
const ORIGIN_TCP: u16 = 7401;
const ORIGIN_UDP: u16 = 7402;
const ORIGIN_TARGET: u16 = 7403;
/// The normal client's source address (no attacker uses it).
const CLIENT_SOURCE: &str = "127.0.0.50";
const SLOW_SOURCE: &str = "127.0.2.1";
/// The descriptor limit of the measurement.
const NOFILE: u64 = 20_000;
const FLOWS: u32 = 25_000;
const FLOW_RATE: f64 = 1000.0;
const SLOW_CONNECTIONS: u32 = 400;
const BASELINE_S: f64 = 5.0;
/// The normal client goes on this long after the flood's last flow.
const TAIL_S: f64 = 5.0;

pub const METRICS: &[Metric] = &[
    m(
        "attack_api_failures",
        "A. Attack: failed API calls of the normal client",
        "count",
        false,
        Target::AtMost(0.0),
    ),
    m(
        "attack_tcp_failures",
        "A. Attack: failed TCP round trips of the normal client",
        "count",
        false,
        Target::AtMost(0.0),
    ),
    m(
        "attack_udp_failures",
        "A. Attack: failed UDP round trips of the normal client",
        "count",
        false,
        Target::AtMost(0.0),
    ),
    m(
        "attack_api_p50",
        "A. Attack: API call p50",
        "ms",
        false,
        Target::None,
    ),
    m(
        "attack_api_p99",
        "A. Attack: API call p99",
        "ms",
        false,
        Target::None,
    ),
    m(
        "attack_tcp_p50",
        "A. Attack: TCP round trip p50",
        "ms",
        false,
        Target::None,
    ),
    m(
        "attack_tcp_p99",
        "A. Attack: TCP round trip p99",
        "ms",
        false,
        Target::None,
    ),
    m(
        "attack_udp_p50",
        "A. Attack: UDP round trip p50",
        "ms",
        false,
        Target::None,
    ),
    m(
        "attack_udp_p99",
        "A. Attack: UDP round trip p99",
        "ms",
        false,
        Target::None,
    ),
    m(
        "attack_slow_open",
        "A. Attack: slow-header connections still open at the end",
        "count",
        false,
        Target::None,
    ),
    m(
        "attack_peak_rss",
        "A. Attack: onramp peak RSS",
        "MiB",
        false,
        Target::None,
    ),
    m(
        "attack_peak_fds",
        "A. Attack: onramp peak descriptors (limit 20,000)",
        "count",
        false,
        Target::None,
    ),
    m(
        "attack_refused",
        "A. Attack: flows and connections refused by the edge",
        "count",
        false,
        Target::None,
    ),
    m(
        "attack_shed",
        "A. Attack: UDP flows shed by the edge",
        "count",
        false,
        Target::None,
    ),
];

fn client_args(ctx_api: &str, seconds: f64) -> Vec<String> {
    [
        "--api".to_string(),
        ctx_api.to_string(),
        "--tcp".into(),
        ctx::addr(PROXY_IP, TCP_PORT).to_string(),
        "--udp".into(),
        ctx::addr(PROXY_IP, UDP_PORT).to_string(),
        "--seconds".into(),
        seconds.to_string(),
        "--source".into(),
        CLIENT_SOURCE.into(),
        "--udp-flows".into(),
        "4".into(),
        "--udp-reuse".into(),
        "50".into(),
    ]
    .to_vec()
}

/// What the harness saw of onramp while the attack ran.
#[derive(Default)]
pub(super) struct Watched {
    pub samples: Vec<Sample>,
    pub scrapes: Vec<(f64, BTreeMap<String, f64>)>,
    pub failed_scrapes: u32,
}

fn watch_until_done(
    ctx: &Ctx,
    pid: u32,
    admin: &str,
    client: &mut crate::procs::Proc,
    limit: Duration,
) -> Watched {
    let t0 = Instant::now();
    let mut w = Watched::default();
    let mut next_scrape = 0.0;
    while client.exited().is_none() && t0.elapsed() < limit {
        let t = t0.elapsed().as_secs_f64();
        if let Some(s) = Sample::of(pid, t) {
            w.samples.push(s);
        }
        if t >= next_scrape {
            next_scrape = t + 2.0;
            match watch::scrape(ctx, admin, Duration::from_secs(1)) {
                Some(m) => w.scrapes.push((t, m)),
                None => w.failed_scrapes += 1,
            }
        }
        let spent = t0.elapsed().as_secs_f64() - t;
        pause(((0.5 - spent).max(0.05) * 1e3) as u64);
    }
    w
}

/// Scenario `attack`.
pub fn run(ctx: &Ctx, res: &mut Results) -> anyhow::Result<()> {
    let origin = |p| ctx::addr(ORIGIN_IP, p);
    let _origin = watch::start_origin(
        ctx,
        "attack origin",
        &[origin(ORIGIN_TCP)],
        &[origin(ORIGIN_UDP), origin(ORIGIN_TARGET)],
    )?;
    let (mut proc, mut api) = onramp::start_with(ctx, Some(NOFILE))?;
    let ip = ORIGIN_IP.to_string();
    let plans = [
        ListenerPlan {
            udp: false,
            port: TCP_PORT,
            origins: vec![(ip.clone(), ORIGIN_TCP)],
        },
        ListenerPlan {
            udp: true,
            port: UDP_PORT,
            origins: vec![(ip.clone(), ORIGIN_UDP)],
        },
        ListenerPlan {
            udp: true,
            port: TARGET_PORT,
            origins: vec![(ip, ORIGIN_TARGET)],
        },
    ];
    ctx.block_on(api.configure(&plans))
        .context("configuring the listeners")?;
    let pid = proc.pid();
    let limits = procfs::nofile_limits_of(pid);
    let before = watch::scrape(ctx, &api.admin, Duration::from_secs(5));
    let log_before = watch::log_lines(&api.log);

    println!("  baseline: the normal client alone for {BASELINE_S} s");
    let (mut base, base_out) =
        watch::start_load(ctx, "client", client_args(&api.addr, BASELINE_S))?;
    base.wait_for(Duration::from_secs_f64(BASELINE_S + 30.0))?;
    let baseline = watch::report(&base_out)?;

    let flood_s = f64::from(FLOWS) / FLOW_RATE;
    let attack_s = flood_s + TAIL_S;
    println!("  attack: {FLOWS} UDP flows at {FLOW_RATE}/s, {SLOW_CONNECTIONS} slow-header connections, {attack_s} s");
    let (mut slow, slow_out) = watch::start_load(
        ctx,
        "slowheader",
        vec![
            "--addr".into(),
            api.addr.clone(),
            "--connections".into(),
            SLOW_CONNECTIONS.to_string(),
            "--source".into(),
            SLOW_SOURCE.into(),
            "--seconds".into(),
            (attack_s + 1.0).to_string(),
        ],
    )?;
    pause(1000);
    let (mut flood, flood_out) = watch::start_load(
        ctx,
        "flood",
        vec![
            "--addr".into(),
            ctx::addr(PROXY_IP, TARGET_PORT).to_string(),
            "--flows".into(),
            FLOWS.to_string(),
            "--rate".into(),
            FLOW_RATE.to_string(),
        ],
    )?;
    let (mut client, client_out) =
        watch::start_load(ctx, "client", client_args(&api.addr, attack_s))?;
    let w = watch_until_done(
        ctx,
        pid,
        &api.admin,
        &mut client,
        Duration::from_secs_f64(attack_s + 60.0),
    );
    client.wait_for(Duration::from_secs(5))?;
    flood.wait_for(Duration::from_secs_f64(flood_s + 30.0))?;
    slow.wait_for(Duration::from_secs(30))?;
    let after = watch::scrape(ctx, &api.admin, Duration::from_secs(5));
    let alive = proc.exited().is_none();
    let log_after = watch::log_lines(&api.log);
    proc.stop();

    let seen = report::Seen {
        baseline,
        normal: watch::report(&client_out)?,
        flood: watch::report(&flood_out)?,
        slow: watch::report(&slow_out)?,
        watched: w,
        before,
        after,
        limits,
        log_lines: log_after.saturating_sub(log_before),
        alive,
    };
    report::report(res, &seen);
    Ok(())
}
