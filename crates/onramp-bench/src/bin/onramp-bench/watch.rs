//! Shared by the hardening scenarios (`attack`, `soak`): samples of a process's resident
//! memory, descriptors and threads from `/proc`, scrapes of onramp's `/metrics` with a
//! deadline (a frozen process must not hang the harness), echo origins on chosen addresses,
//! load-tool processes and their one-line JSON reports.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use onramp_bench::http1::Conn;
use onramp_bench::{procfs, prom};
use serde_json::{json, Value};

use crate::ctx::{pause, Ctx, LOAD_CPU, SECRET_ID, SECRET_KEY};
use crate::procs::{Proc, Spec};

/// One look at a process.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    /// Seconds since the scenario began.
    pub t: f64,
    pub rss: u64,
    pub fds: u64,
    pub threads: u64,
}

impl Sample {
    pub fn of(pid: u32, t: f64) -> Option<Self> {
        Some(Self {
            t,
            rss: procfs::rss_bytes(pid)?,
            fds: procfs::fd_count(pid)? as u64,
            threads: procfs::thread_count(pid).unwrap_or(0),
        })
    }

    pub fn json(&self) -> Value {
        json!([round3(self.t), self.rss, self.fds, self.threads])
    }
}

pub fn round3(x: f64) -> f64 {
    (x * 1e3).round() / 1e3
}

/// `/metrics` of the admin endpoint at `admin`, summed per family; `None` if no answer came
/// within `limit`.
pub fn scrape(ctx: &Ctx, admin: &str, limit: Duration) -> Option<BTreeMap<String, f64>> {
    ctx.block_on(async {
        let get = async {
            let mut c = Conn::connect(admin).await.ok()?;
            let head = format!("GET /metrics HTTP/1.1\r\nHost: {admin}\r\n");
            let r = c.round_trip(&head, b"").await.ok()?;
            (r.status == 200).then(|| prom::sums(&String::from_utf8_lossy(&r.body)))
        };
        tokio::time::timeout(limit, get).await.ok().flatten()
    })
}

/// The names under which the edge exposes its hardening figures (the first present counts).
pub const REFUSED: &[&str] = &["onramp_edge_refused_total"];
pub const SHED: &[&str] = &["onramp_udp_flows_shed_total"];
pub const BUDGET_IN_USE: &[&str] = &[
    "onramp_edge_budget_in_use_descriptors",
    "onramp_edge_budget_in_use",
];
pub const BUDGET_LIMIT: &[&str] = &[
    "onramp_edge_budget_limit_descriptors",
    "onramp_edge_budget_limit",
];

/// The alive-tasks gauge, whatever the edge named it: the first family with "tasks" in its
/// name that is not a counter.
pub fn tasks(m: &BTreeMap<String, f64>) -> Option<(String, f64)> {
    m.iter()
        .find(|(k, _)| k.contains("tasks") && !k.ends_with("_total"))
        .map(|(k, v)| (k.clone(), *v))
}

/// An echo origin (`onramp-load echo`) on the given addresses, waited until its first TCP
/// address (or, with none, its process) is up.
pub fn start_origin(
    ctx: &Ctx,
    name: &str,
    tcp: &[SocketAddr],
    udp: &[SocketAddr],
) -> anyhow::Result<Proc> {
    let mut args = vec!["echo".to_string()];
    for a in tcp {
        args.extend(["--tcp".into(), a.to_string()]);
    }
    for a in udp {
        args.extend(["--udp".into(), a.to_string()]);
    }
    let mut p = Proc::start(Spec {
        name,
        cpu: LOAD_CPU,
        program: &ctx.bin("onramp-load"),
        args,
        env: vec![],
        log: Some(&ctx.path(&format!("origin-{}.log", ctx.next()))),
        stdin_piped: false,
        tree: false,
    })?;
    for _ in 0..500 {
        if let Some(st) = p.exited() {
            bail!("{name} exited ({st})");
        }
        match tcp.first() {
            Some(a) if std::net::TcpStream::connect(a).is_ok() => return Ok(p),
            Some(_) => {}
            None => {
                pause(200);
                return Ok(p);
            }
        }
        pause(10);
    }
    bail!("{name} did not start")
}

/// A load-tool subcommand pinned to the load CPU, its stdout and stderr in a file under the
/// run directory (the API key in its environment).
pub fn start_load(ctx: &Ctx, what: &str, args: Vec<String>) -> anyhow::Result<(Proc, PathBuf)> {
    let out = ctx.path(&format!("load-{what}-{}.out", ctx.next()));
    let mut full = vec![what.to_string()];
    full.extend(args);
    let p = Proc::start(Spec {
        name: what,
        cpu: LOAD_CPU,
        program: &ctx.bin("onramp-load"),
        args: full,
        env: vec![
            ("ONRAMP_BENCH_SECRET_ID".into(), SECRET_ID.into()),
            ("ONRAMP_BENCH_SECRET_KEY".into(), SECRET_KEY.into()),
        ],
        log: Some(&out),
        stdin_piped: false,
        tree: false,
    })?;
    Ok((p, out))
}

/// The last JSON object a load tool printed.
pub fn report(path: &Path) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(path)?;
    text.lines()
        .rev()
        .find_map(|l| {
            serde_json::from_str::<Value>(l)
                .ok()
                .filter(Value::is_object)
        })
        .with_context(|| format!("no report in {}: {text:?}", path.display()))
}

/// Lines onramp wrote to its log so far.
pub fn log_lines(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |t| t.lines().count())
}
