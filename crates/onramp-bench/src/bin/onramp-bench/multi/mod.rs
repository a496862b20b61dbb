//! Scenario M, many machines on one box (onramp only; `--only multi`, needs
//! `ONRAMP_TEST_POSTGRES_URL`): two `onramp control` nodes (A, B) over one PostgreSQL schema and
//! three `onramp edge` nodes (e1, e2 in r1 on 127.0.71.1/.2, e3 in r2 on 127.0.72.1), with the
//! store filled first (`fill`): at a small size (100 listeners) and at the large one (100,000
//! listeners, 1,000,000 origins and bindings; `--quick`: 10,000 / 100,000).
//!
//! Figures: a `BindListenerRealServers` on B until the new origin's first answer through each
//! edge serving the listener (p50/p99, small and large store); how long an edge takes to apply
//! its region's full snapshot, its RSS then, the snapshot's size (the edge's `snapshot.json`);
//! the control nodes' RSS; the API's req/s with one node loaded and with both at once.

mod converge;
mod fill;
mod nodes;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use onramp_bench::gaap::Client;
use onramp_bench::stats::{median, percentile_sorted};
use serde_json::{json, Value};

use crate::ctx::{Ctx, LOAD_CPU, SECRET_ID, SECRET_KEY};
use crate::procs::{Proc, Spec};
use crate::report::{m, Metric, Results, Target};
use crate::systems::System;
use fill::Layout;
use nodes::Node;

pub const METRICS: &[Metric] = &[
    m(
        "multi_converge_small_p50",
        "M. Bind on control B → first byte via each edge, 100 listeners, p50",
        "ms",
        false,
        Target::None,
    ),
    m(
        "multi_converge_small_p99",
        "M. Same, 100 listeners, p99",
        "ms",
        false,
        Target::AtMost(50.0),
    ),
    m(
        "multi_converge_p50",
        "M. Same, large store, p50",
        "ms",
        false,
        Target::None,
    ),
    m(
        "multi_converge_p99",
        "M. Same, large store, p99",
        "ms",
        false,
        Target::AtMost(50.0),
    ),
    m(
        "multi_fill",
        "M. Large store: filled in",
        "s",
        false,
        Target::None,
    ),
    m(
        "multi_control_start",
        "M. Large store: control node loaded in",
        "s",
        false,
        Target::None,
    ),
    m(
        "multi_control_rss",
        "M. Large store: control node RSS",
        "MiB",
        false,
        Target::None,
    ),
    m(
        "multi_edge_start",
        "M. Large store: edge applied its region's full snapshot in",
        "s",
        false,
        Target::None,
    ),
    m(
        "multi_edge_rss",
        "M. Large store: edge RSS serving its region",
        "MiB",
        false,
        Target::None,
    ),
    m(
        "multi_snapshot",
        "M. Large store: full snapshot of a region (JSON)",
        "MiB",
        false,
        Target::None,
    ),
    m(
        "multi_api_rps_one",
        "M. API DescribeListenerRealServers, one control node loaded",
        "req/s",
        true,
        Target::None,
    ),
    m(
        "multi_api_rps_two",
        "M. API DescribeListenerRealServers, both control nodes loaded",
        "req/s",
        true,
        Target::None,
    ),
];

const E1: Ipv4Addr = Ipv4Addr::new(127, 0, 71, 1);
const E2: Ipv4Addr = Ipv4Addr::new(127, 0, 71, 2);
const E3: Ipv4Addr = Ipv4Addr::new(127, 0, 72, 1);
const PORT_R1: u16 = 19_001;
const PORT_R2: u16 = 19_002;
const MIB: f64 = 1024.0 * 1024.0;
/// The project of the measured proxies and their two origins. The filled store is all in
/// project 0, and `DescribeListenerRealServers` lists every origin of the listener's project that
/// could be bound (a million here): the API load would measure the size of that answer.
const PROJECT: i64 = 1;

/// The scenario; skipped (a note) without PostgreSQL.
pub fn run(ctx: &Ctx, res: &mut Results) -> anyhow::Result<()> {
    if std::env::var("ONRAMP_TEST_POSTGRES_URL").is_err() {
        res.note("multi: skipped, ONRAMP_TEST_POSTGRES_URL is not set (the control nodes need PostgreSQL)");
        return Ok(());
    }
    let small = Layout {
        listeners: 100,
        per: 10,
        served: 40,
    };
    let large = match large_override()? {
        Some(l) => l,
        None => default_large(ctx.plan.quick),
    };
    let mut details = serde_json::Map::new();
    for (layout, big) in [(small, false), (large, true)] {
        println!(
            "  store: {} listeners, {} origins, {} served per region",
            layout.listeners,
            layout.origins(),
            layout.served
        );
        let d = one(ctx, layout, big, res)?;
        details.insert(format!("{}_listeners", layout.listeners), d);
    }
    res.extra.insert("multi".into(), Value::Object(details));
    Ok(())
}

/// The large store's layout: 100,000 listeners with 15,000 served per region (`--quick`:
/// 10,000 / 3,000).
fn default_large(quick: bool) -> Layout {
    match quick {
        true => Layout {
            listeners: 10_000,
            per: 10,
            served: 3_000,
        },
        false => Layout {
            listeners: 100_000,
            per: 10,
            served: 15_000,
        },
    }
}

/// `ONRAMP_BENCH_MULTI_LARGE=LISTENERS,SERVED` sets the large store's layout instead, e.g. to
/// load each edge as at full size (`30000,15000`) in a store that fills in a fraction of the time.
fn large_override() -> anyhow::Result<Option<Layout>> {
    let Ok(v) = std::env::var("ONRAMP_BENCH_MULTI_LARGE") else {
        return Ok(None);
    };
    let parse = || -> Option<Layout> {
        let (l, s) = v.split_once(',')?;
        let (listeners, served) = (l.trim().parse().ok()?, s.trim().parse().ok()?);
        (served * 2 <= listeners && served <= 20_000).then_some(Layout {
            listeners,
            per: 10,
            served,
        })
    };
    parse()
        .map(Some)
        .ok_or_else(|| anyhow!("ONRAMP_BENCH_MULTI_LARGE={v:?}: want LISTENERS,SERVED with 2 × SERVED ≤ LISTENERS and SERVED ≤ 20000"))
}

/// The root account the first control node made (its credentials.json).
fn root_account(dir: &std::path::Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(dir.join("credentials.json"))?;
    let v: Value = serde_json::from_str(&text)?;
    v["account_id"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("no account_id in credentials.json"))
}

struct Cluster {
    controls: Vec<Node>,
    edges: Vec<Node>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for n in self.edges.iter_mut().chain(self.controls.iter_mut()) {
            n.proc.stop();
        }
    }
}

fn one(ctx: &Ctx, layout: Layout, big: bool, res: &mut Results) -> anyhow::Result<Value> {
    let pg = ctx
        .block_on(onramp_store_sql::testing::pg())
        .context("ONRAMP_TEST_POSTGRES_URL")?;
    ctx.block_on(pg.create_schema());
    let r = measure(ctx, &pg.url(), layout, big, res);
    ctx.block_on(pg.drop_schema());
    r
}

fn measure(
    ctx: &Ctx,
    url: &str,
    layout: Layout,
    big: bool,
    res: &mut Results,
) -> anyhow::Result<Value> {
    let n = ctx.next();
    let key = ctx.path(&format!("multi-{n}-master.key"));
    let mut first = nodes::control(ctx, &format!("multi-{n}-a"), url, &key)?;
    let account = root_account(&ctx.path(&format!("multi-{n}-a-data")))?;
    first.proc.stop();
    let t0 = Instant::now();
    let store = ctx.block_on(onramp_store_sql::SqlStore::open(url))?;
    let records = ctx.block_on(fill::fill(&store, layout, &account))?;
    drop(store);
    let fill_s = t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    let a = nodes::control(ctx, &format!("multi-{n}-a"), url, &key)?;
    let control_s = t0.elapsed().as_secs_f64();
    let b = nodes::control(ctx, &format!("multi-{n}-b"), url, &key)?;
    let mut c = Cluster {
        controls: vec![a, b],
        edges: Vec::new(),
    };
    let t0 = Instant::now();
    for (name, region, ip, order) in [
        ("e1", fill::R1, E1, [0, 1]),
        ("e2", fill::R1, E2, [0, 1]),
        ("e3", fill::R2, E3, [1, 0]),
    ] {
        let follow = [&c.controls[order[0]], &c.controls[order[1]]];
        let e = nodes::edge(ctx, &format!("multi-{n}-{name}"), region, ip, &follow)?;
        c.edges.push(e);
    }
    let rev = nodes::get(ctx, &c.controls[0].admin, "/edges")?["committed_revision"]
        .as_u64()
        .unwrap_or(0);
    for e in &c.edges {
        nodes::wait_applied(ctx, &e.admin, rev, Duration::from_secs(900))?;
    }
    let edge_s = t0.elapsed().as_secs_f64();
    let edge_rss: Vec<u64> = c.edges.iter().map(|e| e.proc.rss_bytes()).collect();
    let control_rss: Vec<u64> = c.controls.iter().map(|n| n.proc.rss_bytes()).collect();
    let snapshot = std::fs::metadata(
        ctx.path(&format!("multi-{n}-e1-state"))
            .join("snapshot.json"),
    )
    .map_or(0, |m| m.len());
    // Trials measure a running cluster, not one still busy with the edges' start (their first
    // reports carry every binding; the state directories write the snapshot).
    let quiet_s = quiet(&c, Duration::from_secs(120));
    println!("  nodes quiet {quiet_s:.1} s after the edges applied");
    let mut api = c.controls[1].client();
    let local = tokio::task::LocalSet::new();
    let (targets, listener) = ctx.block_on(local.run_until(targets(&mut api)))?;
    let trials = ctx.plan.converge_trials;
    let t = ctx.block_on(local.run_until(converge::trials(&mut api, &targets, trials)))?;
    let (mut ms, mut acked, by_trial) = (t.first_byte, t.acked, t.by_trial);
    ms.sort_by(f64::total_cmp);
    acked.sort_by(f64::total_cmp);
    println!(
        "  bind acknowledged by B: p50 {:.1} ms, p99 {:.1} ms; first byte via each edge: p50 {:.1} ms, p99 {:.1} ms",
        median(&acked),
        percentile_sorted(&acked, 99.0),
        median(&ms),
        percentile_sorted(&ms, 99.0)
    );
    let p99 = percentile_sorted(
        &ms.iter().map(|x| (x * 1000.0) as u32).collect::<Vec<_>>(),
        99.0,
    ) / 1000.0;
    let (p50_id, p99_id) = match big {
        true => ("multi_converge_p50", "multi_converge_p99"),
        false => ("multi_converge_small_p50", "multi_converge_small_p99"),
    };
    res.add(p50_id, System::Onramp, median(&ms));
    res.add(p99_id, System::Onramp, p99);
    let mut d = json!({"records": records, "fill_seconds": fill_s, "control_start_seconds": control_s,
        "edges_applied_seconds": edge_s, "quiet_seconds": quiet_s, "edge_rss": edge_rss, "control_rss": control_rss,
        "snapshot_bytes": snapshot, "converge_ms": ms, "acked_ms": acked, "trials": by_trial});
    if big {
        res.add("multi_fill", System::Onramp, fill_s);
        res.add("multi_control_start", System::Onramp, control_s);
        res.add(
            "multi_control_rss",
            System::Onramp,
            control_rss.iter().copied().max().unwrap_or(0) as f64 / MIB,
        );
        res.add("multi_edge_start", System::Onramp, edge_s);
        res.add(
            "multi_edge_rss",
            System::Onramp,
            edge_rss.iter().copied().max().unwrap_or(0) as f64 / MIB,
        );
        res.add("multi_snapshot", System::Onramp, snapshot as f64 / MIB);
        let one = api_load(ctx, &[&c.controls[0]], &listener)?;
        let two = api_load(ctx, &[&c.controls[0], &c.controls[1]], &listener)?;
        res.add("multi_api_rps_one", System::Onramp, one);
        res.add("multi_api_rps_two", System::Onramp, two);
        d["api_rps"] = json!({"one": one, "two": two});
    }
    Ok(d)
}

/// Wait (at most `limit`) until the nodes together use under a tenth of a core over a second;
/// the seconds it took.
fn quiet(c: &Cluster, limit: Duration) -> f64 {
    let ticks = onramp_bench::procfs::clock_ticks();
    let pids: Vec<u32> = c
        .controls
        .iter()
        .chain(&c.edges)
        .map(|n| n.proc.pid())
        .collect();
    let used = || -> f64 {
        pids.iter()
            .filter_map(|p| onramp_bench::procfs::cpu_seconds(*p, ticks))
            .sum()
    };
    let t0 = Instant::now();
    let mut before = used();
    while t0.elapsed() < limit {
        std::thread::sleep(Duration::from_secs(1));
        let now = used();
        if now - before < 0.1 {
            break;
        }
        before = now;
    }
    t0.elapsed().as_secs_f64()
}

/// Through B: a proxy in each region with one listener and the two origins it switches
/// between; the convergence targets and a listener for the API load.
async fn targets(api: &mut Client) -> anyhow::Result<(Vec<converge::Target>, String)> {
    let ips = ["127.0.73.1", "127.0.73.2"];
    let r = api
        .call(
            "AddRealServers",
            json!({"ProjectId": PROJECT, "RealServerIP": ips, "RealServerName": "conv"}),
        )
        .await?;
    let id = |ip: &str| -> anyhow::Result<String> {
        r["RealServerSet"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|o| o["RealServerIP"] == ip)
            .and_then(|o| o["RealServerId"].as_str().map(str::to_string))
            .ok_or_else(|| anyhow!("AddRealServers: no id for {ip}"))
    };
    let origins = [
        (id(ips[0])?, ips[0].to_string(), 7301, b'C'),
        (id(ips[1])?, ips[1].to_string(), 7302, b'D'),
    ];
    let mut out = Vec::new();
    for (region, port, edges) in [
        (fill::R1, PORT_R1, vec![E1, E2]),
        (fill::R2, PORT_R2, vec![E3]),
    ] {
        let p = api
            .call(
                "CreateProxy",
                json!({"ProjectId": PROJECT, "ProxyName": format!("conv-{region}"),
            "AccessRegion": region, "RealServerRegion": region, "Bandwidth": 100, "Concurrent": 2}),
            )
            .await?;
        let proxy = p["InstanceId"]
            .as_str()
            .ok_or_else(|| anyhow!("CreateProxy: no InstanceId"))?;
        let l = api
            .call(
                "CreateTCPListeners",
                json!({"ProxyId": proxy, "ListenerName": "conv", "Ports": [port],
            "Scheduler": "rr", "RealServerType": "IP", "HealthCheck": 0}),
            )
            .await?;
        let lid = l["ListenerIds"][0]
            .as_str()
            .ok_or_else(|| anyhow!("no ListenerIds"))?
            .to_string();
        out.push(converge::Target {
            listener: lid,
            edges: edges
                .into_iter()
                .map(|ip| SocketAddr::from((ip, port)))
                .collect(),
            origins: origins.clone(),
        });
    }
    let listener = out[0].listener.clone();
    Ok((out, listener))
}

/// `onramp-load api` against each of `nodes` at once (one process each, every one on the load
/// CPU); the summed req/s.
fn api_load(ctx: &Ctx, nodes: &[&Node], listener: &str) -> anyhow::Result<f64> {
    let secs = ctx.plan.api_seconds;
    let mut loads = Vec::new();
    for node in nodes {
        let out = ctx.path(&format!("multi-load-{}.out", ctx.next()));
        let args = [
            "api",
            "--addr",
            &node.api,
            "--listener-id",
            listener,
            "--connections",
            "16",
            "--seconds",
            &secs.to_string(),
        ];
        let p = Proc::start(Spec {
            name: "onramp-load api",
            cpu: LOAD_CPU,
            program: &ctx.bin("onramp-load"),
            args: args.iter().map(|s| s.to_string()).collect(),
            env: vec![
                ("ONRAMP_BENCH_SECRET_ID".into(), SECRET_ID.into()),
                ("ONRAMP_BENCH_SECRET_KEY".into(), SECRET_KEY.into()),
            ],
            log: Some(&out),
            stdin_piped: false,
            tree: false,
        })?;
        loads.push((p, out));
    }
    let mut total = 0.0;
    for (mut p, out) in loads {
        p.wait_for(Duration::from_secs_f64(secs + 60.0))?;
        let text = std::fs::read_to_string(&out)?;
        let v: Value = text
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str(l).ok())
            .ok_or_else(|| anyhow!("api load: no result in {text:?}"))?;
        total += v["rps"].as_f64().unwrap_or(0.0);
    }
    Ok(total)
}
