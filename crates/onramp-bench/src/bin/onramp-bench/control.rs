//! onramp-only scenarios of the control plane: 6, the API under a large store (signed
//! DescribeListenerRealServers over keep-alive), and 7, convergence (BindListenerRealServers
//! until the first byte reaches the newly bound origin).

use std::cell::Cell;
use std::net::{Ipv4Addr, SocketAddr};
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use onramp_bench::stats::{median, percentile_sorted};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::ctx::{self, Ctx, LOAD_CPU, PROXY_IP, SECRET_ID, SECRET_KEY};
use crate::onramp::{self, Api};
use crate::procs::{Proc, Spec};
use crate::report::Results;
use crate::systems::System;

/// First port of the bulk listeners of scenario 6 (below the ephemeral range).
const STORE_FIRST_PORT: u16 = 20_000;
/// The listener that scenario 6 queries.
const QUERIED_PORT: u16 = 19_000;
/// Convergence: the listener and its two origins (C and D alternate).
const CONVERGE_PORT: u16 = 6501;
const CONV_C: (Ipv4Addr, u16) = (Ipv4Addr::new(127, 0, 0, 6), 7201);
const CONV_D: (Ipv4Addr, u16) = (Ipv4Addr::new(127, 0, 0, 7), 7202);

/// The i-th data-only origin address (10.0.0.1, 10.0.0.2, …). These are stored, never bound,
/// so nothing ever probes or connects to them.
fn data_ip(i: usize) -> String {
    let n = i + 1;
    format!("10.{}.{}.{}", (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff)
}

async fn populate(api: &mut Api, listeners: usize, origins: usize) -> anyhow::Result<String> {
    let proxies = listeners.div_ceil(100);
    for i in 0..proxies {
        let proxy = api.create_proxy(&format!("store-{i}"), 1).await?;
        let first = STORE_FIRST_PORT as usize + i * 100;
        let n = (listeners - i * 100).min(100);
        let ports: Vec<u16> = (first..first + n).map(|p| p as u16).collect();
        api.create_listeners(&proxy, false, &ports, false).await?;
    }
    let ips: Vec<String> = (0..origins).map(data_ip).collect();
    api.add_origins(&ips, 1).await?;
    // The queried listener: its own proxy, two loopback origins bound, no health check and no
    // traffic (nothing is ever sent to them).
    let proxy = api.create_proxy("queried", 0).await?;
    let [lid] = api
        .create_listeners(&proxy, false, &[QUERIED_PORT], false)
        .await?
        .try_into()
        .map_err(|_| anyhow!("one listener expected"))?;
    let loop_ips = vec!["127.0.0.8".to_string(), "127.0.0.9".to_string()];
    let ids = api.add_origins(&loop_ips, 0).await?;
    let bound: Vec<(String, String, u16)> = ids
        .into_iter()
        .zip(loop_ips)
        .map(|(id, ip)| (id, ip, 7001))
        .collect();
    api.bind(&lid, &bound).await?;
    api.wait_ready(&lid, false, false).await?;
    Ok(lid)
}

/// Scenario 6.
pub fn api_load(ctx: &Ctx, res: &mut Results) -> anyhow::Result<()> {
    let (listeners, origins) = (ctx.plan.api_listeners, ctx.plan.api_origins);
    let (mut proc, mut api) = onramp::start(ctx)?;
    let t0 = Instant::now();
    let lid = ctx.block_on(populate(&mut api, listeners, origins))?;
    let fill_s = t0.elapsed().as_secs_f64();
    let fds = onramp_bench::procfs::fd_count(proc.pid());
    let rss = proc.rss_bytes();
    let secs = ctx.plan.api_seconds;
    let n = ctx.next();
    let out = ctx.path(&format!("load-api-{n}.out"));
    let c0 = proc.cpu_seconds(ctx.ticks);
    let mut load = Proc::start(Spec {
        name: "onramp-load api",
        cpu: LOAD_CPU,
        program: &ctx.bin("onramp-load"),
        args: [
            "api",
            "--addr",
            &api.addr,
            "--listener-id",
            &lid,
            "--connections",
            &ctx.plan.api_connections.to_string(),
            "--seconds",
            &secs.to_string(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        env: vec![
            ("ONRAMP_BENCH_SECRET_ID".into(), SECRET_ID.into()),
            ("ONRAMP_BENCH_SECRET_KEY".into(), SECRET_KEY.into()),
        ],
        log: Some(&out),
        stdin_piped: false,
        tree: false,
    })?;
    load.wait_for(Duration::from_secs_f64(secs + 60.0))?;
    let cpu = proc.cpu_seconds(ctx.ticks) - c0;
    proc.stop();
    let text = std::fs::read_to_string(&out)?;
    let v: serde_json::Value = text
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .ok_or_else(|| anyhow!("api load: no result in {text:?}"))?;
    let requests = v["requests"].as_f64().unwrap_or(0.0);
    if requests == 0.0 {
        bail!("api load: no successful request: {v}");
    }
    res.add("api_rps", System::Onramp, v["rps"].as_f64().unwrap_or(0.0));
    res.add(
        "api_p99",
        System::Onramp,
        v["p99_ms"].as_f64().unwrap_or(0.0),
    );
    let info = json!({"listeners": listeners + 1, "origins": origins + 2, "fill_seconds": fill_s,
                      "onramp_fds": fds, "onramp_rss": rss, "load": v,
                      "onramp_cpu_us_per_request": cpu / requests * 1e6});
    res.note(format!(
        "API store: {} listeners, {} origins (filled in {fill_s:.0} s); answer {} bytes; errors {}",
        listeners + 1,
        origins + 2,
        v["bytes_per_response"],
        v["errors"]
    ));
    res.extra.insert("api".into(), info);
    Ok(())
}

/// A convergence origin: echoes, and records when the first byte of a connection arrives
/// while it is armed.
async fn conv_origin(l: TcpListener, armed: Rc<Cell<bool>>, first: Rc<Cell<Option<Instant>>>) {
    loop {
        let Ok((mut s, _)) = l.accept().await else {
            continue;
        };
        let (armed, first) = (armed.clone(), first.clone());
        tokio::task::spawn_local(async move {
            let mut buf = [0u8; 512];
            loop {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if armed.get() && first.get().is_none() {
                            first.set(Some(Instant::now()));
                        }
                        if s.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                }
            }
        });
    }
}

/// Sequential client: connect, one byte each way, close; until `stop`.
async fn prober(target: SocketAddr, stop: Rc<Cell<bool>>) {
    let deadline = Instant::now() + Duration::from_secs(900);
    while !stop.get() && Instant::now() < deadline {
        let ok = async {
            let mut s = TcpStream::connect(target).await?;
            s.write_all(b"x").await?;
            let mut b = [0u8; 1];
            s.read_exact(&mut b).await?;
            std::io::Result::Ok(())
        };
        if tokio::time::timeout(Duration::from_secs(2), ok)
            .await
            .is_err()
        {
            continue;
        }
        tokio::task::yield_now().await;
    }
}

async fn converge_trials(api: &mut Api, trials: usize) -> anyhow::Result<Vec<f64>> {
    let proxy = api.create_proxy("converge", 0).await?;
    let [lid] = api
        .create_listeners(&proxy, false, &[CONVERGE_PORT], true)
        .await?
        .try_into()
        .map_err(|_| anyhow!("one listener expected"))?;
    let ips = vec![CONV_C.0.to_string(), CONV_D.0.to_string()];
    let ids = api.add_origins(&ips, 0).await?;
    let origins = [
        (ids[0].clone(), ips[0].clone(), CONV_C.1),
        (ids[1].clone(), ips[1].clone(), CONV_D.1),
    ];
    let mut flags = Vec::new();
    for (ip, port) in [CONV_C, CONV_D] {
        let l = TcpListener::bind((ip, port)).await?;
        let armed = Rc::new(Cell::new(false));
        let first = Rc::new(Cell::new(None));
        tokio::task::spawn_local(conv_origin(l, armed.clone(), first.clone()));
        flags.push((armed, first));
    }
    api.bind_at(&lid, &origins[..1], 100).await?;
    api.wait_ready(&lid, false, true).await?;
    let stop = Rc::new(Cell::new(false));
    tokio::task::spawn_local(prober(ctx::addr(PROXY_IP, CONVERGE_PORT), stop.clone()));
    let mut out = Vec::with_capacity(trials);
    for i in 0..trials {
        let k = (i + 1) % 2;
        let (armed, first) = &flags[k];
        first.set(None);
        armed.set(true);
        let t0 = Instant::now();
        api.bind_at(&lid, &origins[k..k + 1], 1 + (i % 99) as u32)
            .await?;
        let deadline = t0 + Duration::from_secs(15);
        while first.get().is_none() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        armed.set(false);
        match first.get() {
            Some(t) => out.push(t.duration_since(t0).as_secs_f64() * 1e3),
            None => {
                stop.set(true);
                bail!("trial {i}: no byte reached the new origin within 15 s");
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.set(true);
    Ok(out)
}

/// Scenario 7.
pub fn converge(ctx: &Ctx, res: &mut Results) -> anyhow::Result<()> {
    let (mut proc, mut api) = onramp::start(ctx)?;
    let trials = ctx.plan.converge_trials;
    let local = tokio::task::LocalSet::new();
    let r = ctx.block_on(local.run_until(converge_trials(&mut api, trials)));
    proc.stop();
    let mut v = r?;
    v.sort_by(f64::total_cmp);
    res.add("converge_p50", System::Onramp, median(&v));
    res.add(
        "converge_p99",
        System::Onramp,
        percentile_sorted(
            &v.iter().map(|x| (x * 1000.0) as u32).collect::<Vec<_>>(),
            99.0,
        ) / 1000.0,
    );
    res.extra.insert("converge_ms".into(), json!(v));
    Ok(())
}
