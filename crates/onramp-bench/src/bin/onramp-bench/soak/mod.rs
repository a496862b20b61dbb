//! Hardening scenario `soak` (onramp only, `--only soak`, `--soak-minutes N`, default 30):
//! onramp under mixed work for N minutes, with its resources sampled every 10 s.
//!
//! - Traffic: `onramp-load client` from 127.0.0.60 on a TCP and a UDP listener, each bound to
//!   two echo origins A (127.0.0.4) and B (127.0.0.5): 20 short TCP connections (64 B echoed)
//!   and 20 UDP round trips per second (over 8 kept flows in turn, each replaced after 50, so a
//!   new flow every 2.5 s and at most about 32 alive: within a per-source flow limit), and one
//!   signed `DescribeProxies` a second.
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
//! warm-up (90 s, or half the run if shorter) in which replaced UDP flows (60 s idle expiry)
//! build up.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};

use crate::churn::{Churn, Origin};
use crate::ctx::{self, pause, Ctx, PROXY_IP};
use crate::onramp::{self, Api};
use crate::procs::Proc;
use crate::report::{m, Metric, Results, Target};
use crate::watch::{self, Sample};

mod report;
use report::Seen;

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
            "--udp-flows".into(),
            "8".into(),
            "--udp-reuse".into(),
            "50".into(),
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
    report::report(res, &watch::report(&client_out)?, &churn, &seen);
    Ok(())
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
