//! Running onramp for a scenario: `onramp serve` on a fresh data directory, pinned to the
//! proxy CPU, then configured only through the GAAP API (CreateProxy, Create*Listeners,
//! AddRealServers, BindListenerRealServers), waiting until the listeners report
//! `ListenerStatus == 0` and their origins are healthy before any load.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use onramp_bench::gaap::{Client, Key};
use serde_json::{json, Value};

use crate::ctx::{free_port, pause, Ctx, PROXY_CPU, PROXY_IP, SECRET_ID, SECRET_KEY};
use crate::procs::{Proc, Spec};

/// The GAAP API of a running onramp.
pub struct Api {
    pub client: Client,
    pub addr: String,
    /// The admin endpoint (`/metrics`), `host:port`.
    pub admin: String,
    /// onramp's stdout and stderr.
    pub log: std::path::PathBuf,
}

/// How long a change may take to be applied by the edge.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Start `onramp serve` (release build) pinned to the proxy CPU.
pub fn start(ctx: &Ctx) -> anyhow::Result<(Proc, Api)> {
    start_with(ctx, None)
}

/// Same, with `--busy-poll` (the latency mode).
pub fn start_busy(ctx: &Ctx) -> anyhow::Result<(Proc, Api)> {
    launch(ctx, None, &["--busy-poll"])
}

/// Same, with the open-file limit (soft = hard) set to `nofile` before onramp runs (through
/// `prlimit`, which then executes onramp in the same process).
pub fn start_with(ctx: &Ctx, nofile: Option<u64>) -> anyhow::Result<(Proc, Api)> {
    launch(ctx, nofile, &[])
}

fn launch(ctx: &Ctx, nofile: Option<u64>, extra: &[&str]) -> anyhow::Result<(Proc, Api)> {
    let n = ctx.next();
    let data = ctx.path(&format!("onramp-{n}"));
    std::fs::create_dir_all(&data)?;
    let api_port = free_port()?;
    let admin_port = free_port()?;
    let api_addr = format!("127.0.0.1:{api_port}");
    let log = ctx.path(&format!("onramp-{n}.log"));
    let admin = format!("127.0.0.1:{admin_port}");
    let onramp = ctx.bin("onramp");
    let (program, mut args) = match nofile {
        Some(limit) => (
            std::path::PathBuf::from("prlimit"),
            vec![
                format!("--nofile={limit}:{limit}"),
                onramp.to_string_lossy().to_string(),
            ],
        ),
        None => (onramp, Vec::new()),
    };
    args.extend(
        [
            "serve",
            "--data-dir",
            &data.to_string_lossy(),
            "--api-listen",
            &api_addr,
            "--admin-listen",
            &admin,
            "--region",
            "local",
            "--bind-address",
            &PROXY_IP.to_string(),
            "--rate-limit",
            "0",
            "--edge-threads",
            "1",
            // Every load comes from 127.0.0.1: with the default flood guard (64 UDP flows per
            // source and port) the UDP scenario's 64 flows were refused while the latency
            // scenario's flows still idled ("lost exchanges": 10 in every run).
            "--udp-flows-per-source",
            "1024",
            // The control scenario holds 10,000 listeners on 100 proxies, far past the default
            // quotas (20 accelerators, 10 listeners each).
            "--quota-accelerators",
            "1000000",
            "--quota-listeners",
            "1000000",
        ]
        .iter()
        .chain(extra)
        .map(|s| s.to_string()),
    );
    let mut proc = Proc::start(Spec {
        name: "onramp",
        cpu: PROXY_CPU,
        program: &program,
        args,
        env: vec![
            ("ONRAMP_ROOT_SECRET_ID".into(), SECRET_ID.into()),
            ("ONRAMP_ROOT_SECRET_KEY".into(), SECRET_KEY.into()),
            ("ONRAMP_LOG".into(), "warn".into()),
        ],
        log: Some(&log),
        stdin_piped: false,
        tree: false,
    })?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(st) = proc.exited() {
            bail!("onramp exited ({st}) before serving; see {}", log.display());
        }
        if std::net::TcpStream::connect(&api_addr).is_ok() {
            break;
        }
        if Instant::now() > deadline {
            bail!("onramp did not accept API connections within 30 s");
        }
        pause(20);
    }
    let client = Client::new(Key {
        host: api_addr.clone(),
        secret_id: SECRET_ID.into(),
        secret_key: SECRET_KEY.into(),
    });
    Ok((
        proc,
        Api {
            client,
            addr: api_addr,
            admin,
            log,
        },
    ))
}

/// One listener to create: protocol, proxy-side port, origins (ip, port) to bind.
pub struct ListenerPlan {
    pub udp: bool,
    pub port: u16,
    pub origins: Vec<(String, u16)>,
}

impl Api {
    pub async fn call(&mut self, action: &str, params: Value) -> anyhow::Result<Value> {
        self.client.call(action, params).await
    }

    /// A proxy in `project`, waited until RUNNING; returns its id.
    pub async fn create_proxy(&mut self, name: &str, project: i64) -> anyhow::Result<String> {
        let r = self
            .call(
                "CreateProxy",
                json!({"ProjectId": project, "ProxyName": name, "AccessRegion": "local",
                       "RealServerRegion": "local", "Bandwidth": 100000, "Concurrent": 100}),
            )
            .await?;
        let id = r["InstanceId"]
            .as_str()
            .ok_or_else(|| anyhow!("CreateProxy: no InstanceId"))?
            .to_string();
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let d = self
                .call("DescribeProxyDetail", json!({"ProxyId": id}))
                .await?;
            if d["ProxyDetail"]["Status"] == "RUNNING" {
                return Ok(id);
            }
            if Instant::now() > deadline {
                bail!("proxy {id} not RUNNING after {READY_TIMEOUT:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Register origins (at most 100 per call); returns their ids in order.
    pub async fn add_origins(
        &mut self,
        ips: &[String],
        project: i64,
    ) -> anyhow::Result<Vec<String>> {
        let mut ids = Vec::with_capacity(ips.len());
        for chunk in ips.chunks(100) {
            let r = self
                .call(
                    "AddRealServers",
                    json!({"ProjectId": project, "RealServerIP": chunk, "RealServerName": "bench"}),
                )
                .await?;
            let set = r["RealServerSet"]
                .as_array()
                .ok_or_else(|| anyhow!("AddRealServers: no RealServerSet"))?;
            let by_ip: std::collections::HashMap<&str, &str> = set
                .iter()
                .filter_map(|o| Some((o["RealServerIP"].as_str()?, o["RealServerId"].as_str()?)))
                .collect();
            for ip in chunk {
                let id = by_ip
                    .get(ip.as_str())
                    .ok_or_else(|| anyhow!("AddRealServers: no id for {ip}"))?;
                ids.push(id.to_string());
            }
        }
        Ok(ids)
    }

    /// Create listeners on `proxy` (one call per protocol, ≤ 100 ports) with the benchmark's
    /// settings: rr, health check on (DelayLoop 5, ConnectTimeout 2) unless `health` is false.
    pub async fn create_listeners(
        &mut self,
        proxy: &str,
        udp: bool,
        ports: &[u16],
        health: bool,
    ) -> anyhow::Result<Vec<String>> {
        let mut params = json!({"ProxyId": proxy, "ListenerName": "bench", "Ports": ports,
                                "Scheduler": "rr", "RealServerType": "IP",
                                "HealthCheck": u8::from(health)});
        if health {
            params["DelayLoop"] = json!(5);
            params["ConnectTimeout"] = json!(2);
        }
        let action = if udp {
            "CreateUDPListeners"
        } else {
            "CreateTCPListeners"
        };
        let r = self.call(action, params).await?;
        let ids: Vec<String> = r["ListenerIds"]
            .as_array()
            .ok_or_else(|| anyhow!("{action}: no ListenerIds"))?
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        if ids.len() != ports.len() {
            bail!("{action}: {} ids for {} ports", ids.len(), ports.len());
        }
        Ok(ids)
    }

    /// Replace the bound origins of a listener: (origin id, ip, port), at weight 1.
    pub async fn bind(
        &mut self,
        listener: &str,
        origins: &[(String, String, u16)],
    ) -> anyhow::Result<()> {
        self.bind_at(listener, origins, 1).await
    }

    /// `bind` at `weight` (1–100). Two identical writes signed in the same second are one
    /// request (docs/api.md, "Replay"): a loop that binds back what it bound a moment ago gives
    /// each bind its own weight.
    pub async fn bind_at(
        &mut self,
        listener: &str,
        origins: &[(String, String, u16)],
        weight: u32,
    ) -> anyhow::Result<()> {
        let set: Vec<Value> = origins
            .iter()
            .map(|(id, ip, port)| {
                json!({"RealServerId": id, "RealServerIP": ip, "RealServerPort": port,
                       "RealServerWeight": weight})
            })
            .collect();
        self.call(
            "BindListenerRealServers",
            json!({"ListenerId": listener, "RealServerBindSet": set}),
        )
        .await?;
        Ok(())
    }

    /// Wait until the listener is applied (`ListenerStatus == 0`) and, when `healthy`, every
    /// bound origin reports `RealServerStatus == 0`.
    pub async fn wait_ready(
        &mut self,
        listener: &str,
        udp: bool,
        healthy: bool,
    ) -> anyhow::Result<()> {
        let action = if udp {
            "DescribeUDPListeners"
        } else {
            "DescribeTCPListeners"
        };
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let r = self.call(action, json!({"ListenerId": listener})).await?;
            let l = &r["ListenerSet"][0];
            let applied = l["ListenerStatus"] == 0;
            let set = l["RealServerSet"].as_array().cloned().unwrap_or_default();
            let ok = !healthy || set.iter().all(|b| b["RealServerStatus"] == 0);
            if applied && ok {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("listener {listener} not ready after {READY_TIMEOUT:?}: {l}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// One proxy with the given listeners, all bound and healthy. Returns the listener ids.
    pub async fn configure(&mut self, plans: &[ListenerPlan]) -> anyhow::Result<Vec<String>> {
        let proxy = self.create_proxy("bench", 0).await?;
        let mut ips: Vec<String> = plans
            .iter()
            .flat_map(|p| p.origins.iter().map(|o| o.0.clone()))
            .collect();
        ips.sort();
        ips.dedup();
        let ids = self.add_origins(&ips, 0).await?;
        let id_of: std::collections::HashMap<String, String> = ips.into_iter().zip(ids).collect();
        let mut out = Vec::new();
        for p in plans {
            let [lid] = self
                .create_listeners(&proxy, p.udp, &[p.port], true)
                .await
                .with_context(|| format!("listener on port {}", p.port))?
                .try_into()
                .map_err(|_| anyhow!("one listener expected"))?;
            let bound: Vec<(String, String, u16)> = p
                .origins
                .iter()
                .map(|(ip, port)| (id_of[ip].clone(), ip.clone(), *port))
                .collect();
            self.bind(&lid, &bound).await?;
            out.push(lid);
        }
        for (p, lid) in plans.iter().zip(&out) {
            self.wait_ready(lid, p.udp, true).await?;
        }
        Ok(out)
    }
}
