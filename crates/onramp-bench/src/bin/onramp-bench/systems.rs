//! The systems under test and how each one is started with the same budget: one data-plane
//! worker thread (onramp `--edge-threads 1`, HAProxy `nbthread 1`, nginx `worker_processes 1`)
//! pinned to the proxy CPU, logging off, round robin, TCP health checks every 5 s where the
//! system has them. The peers' configuration files are written here (and quoted in
//! BENCHMARKS.md). The latency-mode variants (onramp `--busy-poll`, HAProxy `busy-polling`, and
//! the spinning floor relay) run the latency scenario only.

use std::net::SocketAddr;

use anyhow::{bail, Context};

use crate::ctx::{self, addr, pause, Ctx, ORIGIN_IP, PROXY_CPU, PROXY_IP};
use crate::onramp::{self, Api, ListenerPlan};
use crate::procs::{CpuUse, Proc, Spec};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum System {
    Direct,
    Onramp,
    Haproxy,
    Nginx,
    /// onramp with `--busy-poll`.
    OnrampBusy,
    /// HAProxy with `busy-polling` in its global section.
    HaproxyBusy,
    /// `onramp-load spin-relay`: a relay that never sleeps, the floor of latency (not a product).
    SpinFloor,
}

impl System {
    /// The systems of every scenario (the columns of the main table).
    pub const ALL: [System; 4] = [
        System::Direct,
        System::Onramp,
        System::Haproxy,
        System::Nginx,
    ];

    /// Every system, in the order of the latency-mode table.
    pub const EVERY: [System; 7] = [
        System::Direct,
        System::SpinFloor,
        System::Onramp,
        System::OnrampBusy,
        System::Haproxy,
        System::HaproxyBusy,
        System::Nginx,
    ];

    pub fn name(self) -> &'static str {
        match self {
            System::Direct => "direct",
            System::Onramp => "onramp",
            System::Haproxy => "haproxy",
            System::Nginx => "nginx",
            System::OnrampBusy => "onramp-busy",
            System::HaproxyBusy => "haproxy-busy",
            System::SpinFloor => "spin-floor",
        }
    }

    /// A latency-mode variant: it runs the latency scenario only.
    pub fn latency_only(self) -> bool {
        !Self::ALL.contains(&self)
    }
}

/// Which listeners a system is started with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Bulk (→ iperf3), TCP echo and UDP echo.
    Main,
    /// One TCP listener over the two failover origins A and B.
    Failover,
}

/// Where the load goes for each scenario.
#[derive(Debug, Clone, Copy)]
pub struct Endpoints {
    pub bulk: SocketAddr,
    pub echo: SocketAddr,
    pub udp: Option<SocketAddr>,
    pub failover: SocketAddr,
}

/// A started system (nothing to start for `direct`).
pub struct Running {
    pub system: System,
    pub proc: Option<Proc>,
    /// onramp's GAAP API (kept so its connection lives as long as the system).
    pub _api: Option<Api>,
    pub endpoints: Endpoints,
}

impl Running {
    /// CPU used by the proxy so far (nothing for direct).
    pub fn cpu_use(&self, ticks: f64) -> CpuUse {
        self.proc
            .as_ref()
            .map_or(CpuUse::default(), |p| p.cpu_use(ticks))
    }

    pub fn rss(&self) -> u64 {
        self.proc.as_ref().map_or(0, |p| p.rss_bytes())
    }

    /// Fail if the proxy died.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(p) = self.proc.as_mut() {
            if let Some(st) = p.exited() {
                bail!("{} exited ({st})", p.name);
            }
        }
        Ok(())
    }
}

fn proxied() -> Endpoints {
    Endpoints {
        bulk: addr(PROXY_IP, ctx::BULK_PORT),
        echo: addr(PROXY_IP, ctx::ECHO_PORT),
        udp: Some(addr(PROXY_IP, ctx::UDP_PORT)),
        failover: addr(PROXY_IP, ctx::FAILOVER_PORT),
    }
}

pub fn start(ctx: &Ctx, system: System, flavor: Flavor) -> anyhow::Result<Running> {
    let mut endpoints = proxied();
    let (proc, api) = match system {
        System::Direct => {
            endpoints = Endpoints {
                bulk: addr(ORIGIN_IP, ctx::BULK_ORIGIN_PORT),
                echo: addr(ORIGIN_IP, ctx::ECHO_ORIGIN_PORT),
                udp: Some(addr(ORIGIN_IP, ctx::UDP_ORIGIN_PORT)),
                failover: SocketAddr::V4(ctx::FO_B),
            };
            (None, None)
        }
        System::Onramp | System::OnrampBusy => {
            let (proc, mut api) = match system {
                System::OnrampBusy => onramp::start_busy(ctx)?,
                _ => onramp::start(ctx)?,
            };
            ctx.block_on(api.configure(&onramp_plans(flavor)))
                .context("configuring onramp through the GAAP API")?;
            (Some(proc), Some(api))
        }
        System::Haproxy | System::HaproxyBusy => {
            endpoints.udp = None;
            let busy = system == System::HaproxyBusy;
            (Some(start_haproxy(ctx, flavor, busy)?), None)
        }
        System::Nginx => (Some(start_nginx(ctx, flavor)?), None),
        System::SpinFloor => (Some(start_spin_floor(ctx)?), None),
    };
    let mut run = Running {
        system,
        proc,
        _api: api,
        endpoints,
    };
    if system != System::Direct && system != System::Onramp {
        wait_listening(&mut run, flavor)?;
    }
    Ok(run)
}

fn onramp_plans(flavor: Flavor) -> Vec<ListenerPlan> {
    let o = ORIGIN_IP.to_string();
    match flavor {
        Flavor::Main => vec![
            ListenerPlan {
                udp: false,
                port: ctx::BULK_PORT,
                origins: vec![(o.clone(), ctx::BULK_ORIGIN_PORT)],
            },
            ListenerPlan {
                udp: false,
                port: ctx::ECHO_PORT,
                origins: vec![(o.clone(), ctx::ECHO_ORIGIN_PORT)],
            },
            ListenerPlan {
                udp: true,
                port: ctx::UDP_PORT,
                origins: vec![(o, ctx::UDP_ORIGIN_PORT)],
            },
        ],
        Flavor::Failover => vec![ListenerPlan {
            udp: false,
            port: ctx::FAILOVER_PORT,
            origins: vec![
                (ctx::FO_A.ip().to_string(), ctx::FO_A.port()),
                (ctx::FO_B.ip().to_string(), ctx::FO_B.port()),
            ],
        }],
    }
}

/// Wait (bounded) until the peer accepts on its TCP port.
fn wait_listening(run: &mut Running, flavor: Flavor) -> anyhow::Result<()> {
    let target = match flavor {
        Flavor::Main => run.endpoints.echo,
        Flavor::Failover => run.endpoints.failover,
    };
    for _ in 0..500 {
        run.check_alive()?;
        if std::net::TcpStream::connect(target).is_ok() {
            return Ok(());
        }
        pause(10);
    }
    bail!("{} does not accept on {target}", run.system.name())
}

/// HAProxy 2.6 configuration: `mode tcp`, one thread, health checks; for bulk its fastest
/// setting here, forced splice both ways with 1 MiB pipes (faster than `splice-auto` and than
/// no splice in trials on this machine). `busy` adds `busy-polling` to the global section.
pub fn haproxy_cfg(flavor: Flavor, busy: bool) -> String {
    let spin = if busy { "  busy-polling\n" } else { "" };
    let common = format!(
        "global\n  nbthread 1\n  maxconn 8000\n  maxpipes 1000\n  tune.bufsize 16384\n\
         \x20 tune.pipesize 1048576\n{spin}\ndefaults\n  mode tcp\n  timeout connect 2s\n  timeout client 60s\n  timeout server 60s\n"
    );
    let o = ORIGIN_IP;
    let p = PROXY_IP;
    match flavor {
        Flavor::Main => format!(
            "{common}\nfrontend bulk\n  bind {p}:{bp}\n  option splice-request\n  option splice-response\n\
             \x20 default_backend bulk\nbackend bulk\n  option splice-request\n  option splice-response\n\
             \x20 server o1 {o}:{bo} check inter 5s\n\
             \nfrontend echo\n  bind {p}:{ep}\n  default_backend echo\n\
             backend echo\n  server o1 {o}:{eo} check inter 5s\n",
            bp = ctx::BULK_PORT,
            bo = ctx::BULK_ORIGIN_PORT,
            ep = ctx::ECHO_PORT,
            eo = ctx::ECHO_ORIGIN_PORT,
        ),
        Flavor::Failover => format!(
            "{common}\nfrontend fo\n  bind {p}:{fp}\n  default_backend fo\n\
             backend fo\n  balance roundrobin\n  retries 3\n  option redispatch 1\n\
             \x20 default-server check inter 5s observe layer4 error-limit 1 on-error mark-down\n\
             \x20 server a {a}\n  server b {b}\n",
            fp = ctx::FAILOVER_PORT,
            a = ctx::FO_A,
            b = ctx::FO_B,
        ),
    }
}

/// nginx 1.22 `stream` configuration: one worker, 16 KiB buffers (256 KiB for bulk, its faster
/// setting there), UDP sessions kept per client address for the flow's life.
pub fn nginx_cfg(flavor: Flavor, dir: &str) -> String {
    let head = format!(
        "load_module /usr/lib/nginx/modules/ngx_stream_module.so;\nworker_processes 1;\n\
         worker_rlimit_nofile 20000;\npid {dir}/nginx.pid;\nerror_log {dir}/nginx-error.log warn;\n\
         events {{\n  worker_connections 9000;\n}}\n"
    );
    let o = ORIGIN_IP;
    let p = PROXY_IP;
    let body = match flavor {
        Flavor::Main => format!(
            "stream {{\n  proxy_connect_timeout 2s;\n  proxy_timeout 60s;\n\
             \x20 upstream bulk {{ server {o}:{bo}; }}\n  upstream echo {{ server {o}:{eo}; }}\n\
             \x20 upstream uecho {{ server {o}:{uo}; }}\n\
             \x20 server {{ listen {p}:{bp}; proxy_pass bulk; proxy_buffer_size 256k; }}\n\
             \x20 server {{ listen {p}:{ep}; proxy_pass echo; proxy_buffer_size 16k; }}\n\
             \x20 server {{ listen {p}:{up} udp; proxy_pass uecho; proxy_timeout 10s; }}\n}}\n",
            bo = ctx::BULK_ORIGIN_PORT,
            eo = ctx::ECHO_ORIGIN_PORT,
            uo = ctx::UDP_ORIGIN_PORT,
            bp = ctx::BULK_PORT,
            ep = ctx::ECHO_PORT,
            up = ctx::UDP_PORT,
        ),
        Flavor::Failover => format!(
            "stream {{\n  proxy_connect_timeout 2s;\n  proxy_timeout 60s;\n\
             \x20 upstream fo {{\n    server {a} max_fails=1 fail_timeout=10s;\n\
             \x20   server {b} max_fails=1 fail_timeout=10s;\n  }}\n\
             \x20 server {{ listen {p}:{fp}; proxy_pass fo; proxy_next_upstream on; }}\n}}\n",
            a = ctx::FO_A,
            b = ctx::FO_B,
            fp = ctx::FAILOVER_PORT,
        ),
    };
    head + &body
}

fn start_haproxy(ctx: &Ctx, flavor: Flavor, busy: bool) -> anyhow::Result<Proc> {
    let n = ctx.next();
    let cfg = ctx.path(&format!("haproxy-{n}.cfg"));
    std::fs::write(&cfg, haproxy_cfg(flavor, busy))?;
    let program = ctx::which("haproxy").context("haproxy is not installed")?;
    Proc::start(Spec {
        name: "haproxy",
        cpu: PROXY_CPU,
        program: &program,
        args: vec!["-db".into(), "-f".into(), cfg.to_string_lossy().into()],
        env: vec![],
        log: Some(&ctx.path(&format!("haproxy-{n}.log"))),
        stdin_piped: false,
        tree: false,
    })
}

fn start_nginx(ctx: &Ctx, flavor: Flavor) -> anyhow::Result<Proc> {
    let n = ctx.next();
    let dir = ctx.path(&format!("nginx-{n}"));
    std::fs::create_dir_all(&dir)?;
    let d = dir.to_string_lossy().to_string();
    let cfg = dir.join("nginx.conf");
    std::fs::write(&cfg, nginx_cfg(flavor, &d))?;
    let program = ctx::which("nginx").context("nginx is not installed")?;
    let p = Proc::start(Spec {
        name: "nginx",
        cpu: PROXY_CPU,
        program: &program,
        args: vec![
            "-p".into(),
            format!("{d}/"),
            "-e".into(),
            format!("{d}/nginx-error.log"),
            "-c".into(),
            cfg.to_string_lossy().into(),
            "-g".into(),
            "daemon off; master_process on;".into(),
        ],
        env: vec![],
        log: Some(&dir.join("stdout.log")),
        stdin_piped: false,
        tree: true,
    })?;
    // The worker is forked after the configuration is read: wait for it.
    for _ in 0..300 {
        if p.pids().len() >= 2 {
            return Ok(p);
        }
        pause(10);
    }
    bail!("nginx started no worker; see {d}/nginx-error.log")
}

/// The spinning floor relay on the proxy's addresses (TCP echo and UDP ports), pinned like a proxy.
fn start_spin_floor(ctx: &Ctx) -> anyhow::Result<Proc> {
    let a = |ip, port| addr(ip, port).to_string();
    Proc::start(Spec {
        name: "spin-relay",
        cpu: PROXY_CPU,
        program: &ctx.bin("onramp-load"),
        args: vec![
            "spin-relay".into(),
            "--tcp-listen".into(),
            a(PROXY_IP, ctx::ECHO_PORT),
            "--tcp-to".into(),
            a(ORIGIN_IP, ctx::ECHO_ORIGIN_PORT),
            "--udp-listen".into(),
            a(PROXY_IP, ctx::UDP_PORT),
            "--udp-to".into(),
            a(ORIGIN_IP, ctx::UDP_ORIGIN_PORT),
        ],
        env: vec![],
        log: Some(&ctx.path(&format!("spin-relay-{}.log", ctx.next()))),
        stdin_piped: false,
        tree: false,
    })
}
