//! The processes of the many-machine scenario: `onramp control` nodes over one PostgreSQL
//! schema and `onramp edge` nodes on their own 127.x addresses, each with its log in the run
//! directory; and small readers of their admin endpoints.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use onramp_bench::gaap::{Client, Key};
use onramp_bench::http1::Conn;
use serde_json::Value;

use crate::ctx::{free_port, pause, Ctx, PROXY_CPU, SECRET_ID, SECRET_KEY};
use crate::procs::{Proc, Spec};

pub const TOKEN: &str = "onramp-bench-edge-token";

pub struct Node {
    pub proc: Proc,
    pub api: String,
    pub admin: String,
    pub log: PathBuf,
}

impl Node {
    pub fn client(&self) -> Client {
        Client::new(Key {
            host: self.api.clone(),
            secret_id: SECRET_ID.into(),
            secret_key: SECRET_KEY.into(),
        })
    }
}

fn start(ctx: &Ctx, name: &str, args: Vec<String>, log: PathBuf) -> anyhow::Result<Proc> {
    Proc::start(Spec {
        name,
        cpu: PROXY_CPU,
        program: &ctx.bin("onramp"),
        args,
        env: vec![
            ("ONRAMP_ROOT_SECRET_ID".into(), SECRET_ID.into()),
            ("ONRAMP_ROOT_SECRET_KEY".into(), SECRET_KEY.into()),
            ("ONRAMP_EDGE_TOKEN".into(), TOKEN.into()),
            // `ONRAMP_BENCH_NODE_LOG` (e.g. `info`) to see what the nodes do; warnings only by default.
            (
                "ONRAMP_LOG".into(),
                std::env::var("ONRAMP_BENCH_NODE_LOG").unwrap_or_else(|_| "warn".into()),
            ),
        ],
        log: Some(&log),
        stdin_piped: false,
        tree: false,
    })
}

/// `onramp control` named `name` over `store`, sharing the master key file `key`.
pub fn control(ctx: &Ctx, name: &str, store: &str, key: &std::path::Path) -> anyhow::Result<Node> {
    let data = ctx.path(&format!("{name}-data"));
    let (api, admin) = (
        format!("127.0.0.1:{}", free_port()?),
        format!("127.0.0.1:{}", free_port()?),
    );
    let log = ctx.path(&format!("{name}.log"));
    let args = [
        "control",
        "--store",
        store,
        "--data-dir",
        &data.to_string_lossy(),
        "--master-key",
        &key.to_string_lossy(),
        "--api-listen",
        &api,
        "--admin-listen",
        &admin,
        "--rate-limit",
        "0",
        "--quota-accelerators",
        "1000000",
        "--quota-listeners",
        "1000000",
    ];
    let proc = start(
        ctx,
        name,
        args.iter().map(|s| s.to_string()).collect(),
        log.clone(),
    )?;
    let mut n = Node {
        proc,
        api,
        admin,
        log,
    };
    wait(ctx, &mut n, "/healthz", Duration::from_secs(600))?;
    Ok(n)
}

/// `onramp edge` named `name` in `region` on `ip`, following `controls`.
pub fn edge(
    ctx: &Ctx,
    name: &str,
    region: &str,
    ip: Ipv4Addr,
    controls: &[&Node],
) -> anyhow::Result<Node> {
    let urls: Vec<String> = controls
        .iter()
        .map(|c| format!("http://{}", c.api))
        .collect();
    let admin = format!("127.0.0.1:{}", free_port()?);
    let state = ctx.path(&format!("{name}-state"));
    let log = ctx.path(&format!("{name}.log"));
    let args = [
        "edge",
        "--control",
        &urls.join(","),
        "--name",
        name,
        "--region",
        region,
        "--bind-address",
        &ip.to_string(),
        "--admin-listen",
        &admin,
        "--state-dir",
        &state.to_string_lossy(),
    ];
    let proc = start(
        ctx,
        name,
        args.iter().map(|s| s.to_string()).collect(),
        log.clone(),
    )?;
    let mut n = Node {
        proc,
        api: String::new(),
        admin,
        log,
    };
    wait(ctx, &mut n, "/status", Duration::from_secs(60))?;
    Ok(n)
}

/// GET `path` on `addr` as JSON (or text), within 10 s.
pub fn get(ctx: &Ctx, addr: &str, path: &str) -> anyhow::Result<Value> {
    ctx.block_on(async {
        let work = async {
            let mut c = Conn::connect(addr).await?;
            let head = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n");
            c.round_trip(&head, b"").await
        };
        let r = tokio::time::timeout(Duration::from_secs(10), work)
            .await
            .context("no answer within 10 s")??;
        if r.status != 200 {
            bail!("{addr}{path} answered {}", r.status);
        }
        Ok(serde_json::from_slice(&r.body).unwrap_or(Value::Null))
    })
}

fn wait(ctx: &Ctx, n: &mut Node, path: &str, limit: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(st) = n.proc.exited() {
            bail!("{} exited ({st}); see {}", n.proc.name, n.log.display());
        }
        if get(ctx, &n.admin, path).is_ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "{} not ready within {limit:?}; see {}",
                n.proc.name,
                n.log.display()
            );
        }
        pause(50);
    }
}

/// Wait until the edge at `admin` applied `revision`; how long it took.
pub fn wait_applied(
    ctx: &Ctx,
    admin: &str,
    revision: u64,
    limit: Duration,
) -> anyhow::Result<Duration> {
    let t0 = Instant::now();
    loop {
        let applied = get(ctx, admin, "/status")
            .ok()
            .and_then(|s| s["applied_revision"].as_u64())
            .unwrap_or(0);
        if applied >= revision {
            return Ok(t0.elapsed());
        }
        if t0.elapsed() > limit {
            bail!("edge at {admin} at revision {applied}, not {revision}, after {limit:?}");
        }
        pause(100);
    }
}
