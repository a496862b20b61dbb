//! `onramp serve` configuration: flags, `ONRAMP_*` environment, a TOML file, defaults.
//!
//! Precedence is written once, in `ServeConfig::resolve`: flag > environment > file > default
//! (clap already puts flags above the environment).

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use serde::Deserialize;

#[derive(Args, Debug, Default)]
pub struct ServeArgs {
    /// Directory for the SQLite store and credentials.json [default: ./onramp-data]
    #[arg(long, env = "ONRAMP_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address of the cloud-API endpoint (all dialects) [default: 127.0.0.1:7080]
    #[arg(long, env = "ONRAMP_API_LISTEN")]
    pub api_listen: Option<String>,
    /// Address of the admin endpoint (/metrics, /healthz, /readyz) [default: 127.0.0.1:7081]
    #[arg(long, env = "ONRAMP_ADMIN_LISTEN")]
    pub admin_listen: Option<String>,
    /// Store URL: sqlite://PATH or postgres://… [default: sqlite://DATA_DIR/onramp.db]
    #[arg(long, env = "ONRAMP_STORE")]
    pub store: Option<String>,
    /// Region of the local edge [default: local]
    #[arg(long, env = "ONRAMP_REGION")]
    pub region: Option<String>,
    /// IP address the local edge opens listeners on [default: 0.0.0.0]
    #[arg(long, env = "ONRAMP_BIND_ADDRESS")]
    pub bind_address: Option<String>,
    /// TOML file with the same keys (snake_case); flags and environment win over it
    #[arg(long, env = "ONRAMP_CONFIG")]
    pub config: Option<PathBuf>,
    /// PEM certificate chain: serve the API over TLS (needs --tls-key)
    #[arg(long, env = "ONRAMP_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert
    #[arg(long, env = "ONRAMP_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// API requests per second per action per account; 0 = unlimited [default: 20]
    #[arg(long, env = "ONRAMP_RATE_LIMIT")]
    pub rate_limit: Option<u32>,
    /// Largest accepted API request body in bytes [default: 1048576]
    #[arg(long, env = "ONRAMP_MAX_BODY")]
    pub max_body: Option<usize>,
    /// Worker threads of the data plane [default: 1]
    #[arg(long, env = "ONRAMP_EDGE_THREADS")]
    pub edge_threads: Option<usize>,
    /// Busy polling: the edge thread spins instead of sleeping while there are listeners (least
    /// delay per packet, for a whole core always busy; needs --edge-threads 1) [default: false]
    #[arg(long, env = "ONRAMP_BUSY_POLL", num_args = 0..=1, default_missing_value = "true",
          value_parser = clap::builder::BoolishValueParser::new())]
    pub busy_poll: Option<bool>,
    /// Master key file sealing the API secret keys in the store; made on first start (0600)
    /// [default: DATA_DIR/master.key]
    #[arg(long, env = "ONRAMP_MASTER_KEY")]
    pub master_key: Option<PathBuf>,
    /// Seconds a client may take to send a request, head and body (TLS handshake included) [default: 10]
    #[arg(long, env = "ONRAMP_HEADER_TIMEOUT")]
    pub header_timeout: Option<f64>,
    /// Seconds an API connection may wait for its next request [default: 60]
    #[arg(long, env = "ONRAMP_IDLE_TIMEOUT")]
    pub idle_timeout: Option<f64>,
    /// Concurrent API (and admin) connections per client IP address [default: 128]
    #[arg(long, env = "ONRAMP_MAX_CONNS_PER_SOURCE")]
    pub max_conns_per_source: Option<usize>,
    /// Concurrent API (and admin) connections in total [default: 8192]
    #[arg(long, env = "ONRAMP_MAX_API_CONNECTIONS")]
    pub max_api_connections: Option<usize>,
    /// Descriptors kept for the API, the store and health checks [default: max(256, limit/10)]
    #[arg(long, env = "ONRAMP_FD_RESERVE")]
    pub fd_reserve: Option<u64>,
    /// Cap of the data plane's descriptor budget (TCP connection = 2, UDP flow = 1) [default: limit - reserve - open]
    #[arg(long, env = "ONRAMP_MAX_FLOWS")]
    pub max_flows: Option<u64>,
    /// Most UDP flows per listener port [default: 65536]
    #[arg(long, env = "ONRAMP_MAX_UDP_FLOWS")]
    pub max_udp_flows: Option<usize>,
    /// Most UDP flows of one source address per listener port; 0 = no limit [default: 64]
    #[arg(long, env = "ONRAMP_UDP_FLOWS_PER_SOURCE")]
    pub udp_flows_per_source: Option<usize>,
    /// Access log of every listener: a file appended to, `-` for stdout. Without it only listeners
    /// with a log tank log, to DATA_DIR/access.log
    #[arg(long, env = "ONRAMP_ACCESS_LOG")]
    pub access_log: Option<String>,
    /// Most accelerators per account, every dialect [default: 20]
    #[arg(long, env = "ONRAMP_QUOTA_ACCELERATORS")]
    pub quota_accelerators: Option<usize>,
    /// Most listeners per accelerator, every dialect [default: 10]
    #[arg(long, env = "ONRAMP_QUOTA_LISTENERS")]
    pub quota_listeners: Option<usize>,
    /// Most endpoints per endpoint group [default: 10]
    #[arg(long, env = "ONRAMP_QUOTA_ENDPOINTS")]
    pub quota_endpoints: Option<usize>,
    /// File holding the shared edge token that `onramp edge` nodes must present [default: the
    /// ONRAMP_EDGE_TOKEN environment variable; neither: no remote edge may join]
    #[arg(long, env = "ONRAMP_EDGE_TOKEN_FILE")]
    pub edge_token_file: Option<PathBuf>,
    /// Seconds an edge may stay silent before it is shown lost and stops holding statuses back [default: 10]
    #[arg(long, env = "ONRAMP_EDGE_LOST_AFTER")]
    pub edge_lost_after: Option<f64>,
}

impl ServeArgs {
    /// The first flag given that only a role with an edge takes (`onramp control` has none).
    pub fn edge_flag_given(&self) -> Option<&'static str> {
        [
            ("--region", self.region.is_some()),
            ("--bind-address", self.bind_address.is_some()),
            ("--edge-threads", self.edge_threads.is_some()),
            ("--busy-poll", self.busy_poll.is_some()),
            ("--fd-reserve", self.fd_reserve.is_some()),
            ("--max-flows", self.max_flows.is_some()),
            ("--max-udp-flows", self.max_udp_flows.is_some()),
            (
                "--udp-flows-per-source",
                self.udp_flows_per_source.is_some(),
            ),
            ("--access-log", self.access_log.is_some()),
        ]
        .into_iter()
        .find_map(|(flag, given)| given.then_some(flag))
    }
}

/// The shared edge token; never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct EdgeToken(pub String);

impl std::fmt::Debug for EdgeToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EdgeToken(<redacted>)")
    }
}

/// The shared edge token: the file's first line (`--edge-token-file`), else `ONRAMP_EDGE_TOKEN`;
/// `None` when neither is set. An empty token is an error, never "no token".
pub fn edge_token(file: Option<&Path>) -> anyhow::Result<Option<EdgeToken>> {
    let token = match file {
        Some(p) => Some(
            std::fs::read_to_string(p)
                .with_context(|| format!("cannot read --edge-token-file {}", p.display()))?
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string(),
        ),
        None => std::env::var("ONRAMP_EDGE_TOKEN").ok(),
    };
    match token {
        Some(t) if t.trim().is_empty() => bail!("the edge token is empty"),
        t => Ok(t.map(|t| EdgeToken(t.trim().to_string()))),
    }
}

/// The same keys in a file.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    api_listen: Option<String>,
    admin_listen: Option<String>,
    store: Option<String>,
    region: Option<String>,
    bind_address: Option<String>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    rate_limit: Option<u32>,
    max_body: Option<usize>,
    edge_threads: Option<usize>,
    busy_poll: Option<bool>,
    master_key: Option<PathBuf>,
    header_timeout: Option<f64>,
    idle_timeout: Option<f64>,
    max_conns_per_source: Option<usize>,
    max_api_connections: Option<usize>,
    fd_reserve: Option<u64>,
    max_flows: Option<u64>,
    max_udp_flows: Option<usize>,
    udp_flows_per_source: Option<usize>,
    access_log: Option<String>,
    quota_accelerators: Option<usize>,
    quota_listeners: Option<usize>,
    quota_endpoints: Option<usize>,
    edge_token_file: Option<PathBuf>,
    edge_lost_after: Option<f64>,
}

/// Validated, immutable configuration of `serve`.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub data_dir: PathBuf,
    pub api_listen: SocketAddr,
    pub admin_listen: SocketAddr,
    pub store: String,
    pub region: String,
    pub bind_address: IpAddr,
    pub tls: Option<(PathBuf, PathBuf)>,
    pub rate_limit: u32,
    pub max_body: usize,
    pub edge_threads: usize,
    pub busy_poll: bool,
    pub master_key: PathBuf,
    pub http: HttpLimits,
    pub fd_reserve: Option<u64>,
    pub max_flows: Option<u64>,
    pub max_udp_flows: usize,
    pub udp_flows_per_source: usize,
    /// The access-log sink: a file path, or `-` for stdout.
    pub access_log: String,
    /// The operator named the sink: every listener logs, not only those with a log tank.
    pub access_log_all: bool,
    /// The quotas every operation enforces.
    pub quotas: onramp_core::Quotas,
    /// The shared token remote edges present; `None`: none may join.
    pub edge_token: Option<EdgeToken>,
    /// How long an edge may stay silent before it is lost.
    pub edge_lost_after: Duration,
}

/// Limits of the HTTP endpoints (API and admin), each applied to each endpoint.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_conns_per_source: usize,
    pub max_connections: usize,
}

/// `--busy-poll` as given (flag or environment, else the file; off by default), checked against
/// the number of edge threads: busy polling spins one.
pub(crate) fn busy_poll(
    given: Option<bool>,
    file: Option<bool>,
    edge_threads: usize,
) -> anyhow::Result<bool> {
    let on = given.or(file).unwrap_or(false);
    if on && edge_threads > 1 {
        bail!("--busy-poll spins one edge thread and needs --edge-threads 1 (got {edge_threads})");
    }
    Ok(on)
}

pub(crate) fn read_file<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("config file {} is not valid", path.display()))
}

/// Seconds as a duration: positive and at most a day.
pub(crate) fn secs(name: &str, v: f64) -> anyhow::Result<Duration> {
    if !(v > 0.0 && v <= 86_400.0) {
        bail!("--{name} {v} must be a number of seconds above 0 and at most 86400");
    }
    Ok(Duration::from_secs_f64(v))
}

pub(crate) fn count(name: &str, v: usize) -> anyhow::Result<usize> {
    if v == 0 {
        bail!("--{name} must be at least 1");
    }
    Ok(v)
}

/// A region name: 1-64 letters, digits, '-' or '_'.
pub(crate) fn region(region: String) -> anyhow::Result<String> {
    if region.is_empty()
        || region.len() > 64
        || !region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        bail!("--region '{region}' must be 1-64 letters, digits, '-' or '_'");
    }
    Ok(region)
}

pub(crate) fn addr(name: &str, s: &str) -> anyhow::Result<SocketAddr> {
    s.parse()
        .with_context(|| format!("--{name} '{s}' is not an address like 127.0.0.1:7080"))
}

impl ServeConfig {
    pub fn resolve(a: ServeArgs) -> anyhow::Result<Self> {
        let f = match &a.config {
            Some(p) => read_file(p)?,
            None => FileConfig::default(),
        };
        let data_dir = a
            .data_dir
            .or(f.data_dir)
            .unwrap_or_else(|| PathBuf::from("./onramp-data"));
        let named_log = a.access_log.or(f.access_log).filter(|s| !s.is_empty());
        let access_log_all = named_log.is_some();
        let access_log =
            named_log.unwrap_or_else(|| data_dir.join("access.log").to_string_lossy().into_owned());
        let api_listen = addr(
            "api-listen",
            &a.api_listen
                .or(f.api_listen)
                .unwrap_or_else(|| "127.0.0.1:7080".into()),
        )?;
        let admin_listen = addr(
            "admin-listen",
            &a.admin_listen
                .or(f.admin_listen)
                .unwrap_or_else(|| "127.0.0.1:7081".into()),
        )?;
        let master_key = a
            .master_key
            .or(f.master_key)
            .unwrap_or_else(|| data_dir.join("master.key"));
        let store = a
            .store
            .or(f.store)
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("onramp.db").display()));
        let region = region(a.region.or(f.region).unwrap_or_else(|| "local".into()))?;
        let bind_text = a
            .bind_address
            .or(f.bind_address)
            .unwrap_or_else(|| "0.0.0.0".into());
        let bind_address = bind_text
            .parse()
            .with_context(|| format!("--bind-address '{bind_text}' is not an IP address"))?;
        let tls = match (a.tls_cert.or(f.tls_cert), a.tls_key.or(f.tls_key)) {
            (Some(c), Some(k)) => Some((c, k)),
            (None, None) => None,
            _ => bail!("--tls-cert and --tls-key must be given together"),
        };
        let http = HttpLimits {
            header_timeout: secs(
                "header-timeout",
                a.header_timeout.or(f.header_timeout).unwrap_or(10.0),
            )?,
            idle_timeout: secs(
                "idle-timeout",
                a.idle_timeout.or(f.idle_timeout).unwrap_or(60.0),
            )?,
            max_conns_per_source: count(
                "max-conns-per-source",
                a.max_conns_per_source
                    .or(f.max_conns_per_source)
                    .unwrap_or(128),
            )?,
            max_connections: count(
                "max-api-connections",
                a.max_api_connections
                    .or(f.max_api_connections)
                    .unwrap_or(8192),
            )?,
        };
        let edge_threads = a.edge_threads.or(f.edge_threads).unwrap_or(1).clamp(1, 256);
        let busy_poll = busy_poll(a.busy_poll, f.busy_poll, edge_threads)?;
        Ok(Self {
            data_dir,
            api_listen,
            admin_listen,
            store,
            region,
            bind_address,
            tls,
            rate_limit: a.rate_limit.or(f.rate_limit).unwrap_or(20),
            max_body: a.max_body.or(f.max_body).unwrap_or(1 << 20),
            edge_threads,
            busy_poll,
            master_key,
            http,
            fd_reserve: a.fd_reserve.or(f.fd_reserve),
            max_flows: a.max_flows.or(f.max_flows),
            max_udp_flows: a.max_udp_flows.or(f.max_udp_flows).unwrap_or(65_536),
            udp_flows_per_source: a
                .udp_flows_per_source
                .or(f.udp_flows_per_source)
                .unwrap_or(64),
            access_log,
            access_log_all,
            edge_token: edge_token(a.edge_token_file.or(f.edge_token_file).as_deref())?,
            edge_lost_after: secs(
                "edge-lost-after",
                a.edge_lost_after.or(f.edge_lost_after).unwrap_or(10.0),
            )?,
            quotas: {
                let d = onramp_core::Quotas::default();
                onramp_core::Quotas {
                    accelerators: a
                        .quota_accelerators
                        .or(f.quota_accelerators)
                        .unwrap_or(d.accelerators),
                    listeners: a
                        .quota_listeners
                        .or(f.quota_listeners)
                        .unwrap_or(d.listeners),
                    endpoints: a
                        .quota_endpoints
                        .or(f.quota_endpoints)
                        .unwrap_or(d.endpoints),
                }
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_flag_over_file_over_default() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(
            &file,
            "region = \"eu-1\"\nrate_limit = 5\napi_listen = \"127.0.0.1:9000\"\n",
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(file),
            rate_limit: Some(7),
            ..Default::default()
        };
        let c = ServeConfig::resolve(args).unwrap();
        assert_eq!(c.region, "eu-1");
        assert_eq!(c.rate_limit, 7);
        assert_eq!(c.api_listen.port(), 9000);
        assert_eq!(c.admin_listen.port(), 7081);
        assert!(c.store.starts_with("sqlite://"));
        assert_eq!(c.master_key, PathBuf::from("./onramp-data/master.key"));
        let c = ServeConfig::resolve(ServeArgs {
            data_dir: Some("/d".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(c.master_key, PathBuf::from("/d/master.key"));
        assert_eq!(c.http.header_timeout, Duration::from_secs(10));
        assert_eq!(c.http.idle_timeout, Duration::from_secs(60));
        assert_eq!(c.http.max_conns_per_source, 128);
        assert_eq!(c.http.max_connections, 8192);
    }

    #[test]
    fn http_limits_from_file_and_flags() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(
            &file,
            "header_timeout = 2.5\nidle_timeout = 5\nmax_conns_per_source = 3\n",
        )
        .unwrap();
        let c = ServeConfig::resolve(ServeArgs {
            config: Some(file.clone()),
            idle_timeout: Some(7.0),
            max_api_connections: Some(9),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(c.http.header_timeout, Duration::from_millis(2500));
        assert_eq!(c.http.idle_timeout, Duration::from_secs(7));
        assert_eq!(c.http.max_conns_per_source, 3);
        assert_eq!(c.http.max_connections, 9);
        for args in [
            ServeArgs {
                header_timeout: Some(0.0),
                ..Default::default()
            },
            ServeArgs {
                idle_timeout: Some(f64::NAN),
                ..Default::default()
            },
            ServeArgs {
                max_conns_per_source: Some(0),
                ..Default::default()
            },
        ] {
            assert!(ServeConfig::resolve(args).is_err());
        }
    }

    #[test]
    fn edge_budget_flags() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "udp_flows_per_source = 5\nmax_flows = 900\n").unwrap();
        let c = ServeConfig::resolve(ServeArgs {
            config: Some(file),
            max_flows: Some(700),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(c.udp_flows_per_source, 5);
        assert_eq!(c.max_flows, Some(700));
        assert_eq!((c.fd_reserve, c.max_udp_flows), (None, 65_536));
        let d = ServeConfig::resolve(ServeArgs::default()).unwrap();
        assert_eq!((d.udp_flows_per_source, d.max_flows), (64, None));
    }

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    fn parsed(args: &[&str]) -> ServeArgs {
        use clap::Parser;
        Cli::try_parse_from(std::iter::once("onramp").chain(args.iter().copied()))
            .unwrap()
            .serve
    }

    #[test]
    fn busy_poll_flag_over_environment_over_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "busy_poll = true\n").unwrap();
        let with_file = |mut a: ServeArgs| {
            a.config = Some(file.clone());
            ServeConfig::resolve(a).unwrap().busy_poll
        };
        // Only this test sets the variable, and only this test parses the environment.
        std::env::remove_var("ONRAMP_BUSY_POLL");
        assert!(
            !ServeConfig::resolve(parsed(&[])).unwrap().busy_poll,
            "off by default"
        );
        assert!(
            ServeConfig::resolve(parsed(&["--busy-poll"]))
                .unwrap()
                .busy_poll
        );
        assert!(with_file(parsed(&[])), "the file turns it on");
        assert!(
            !with_file(parsed(&["--busy-poll=false"])),
            "the flag wins over the file"
        );
        std::env::set_var("ONRAMP_BUSY_POLL", "0");
        assert!(
            !with_file(parsed(&[])),
            "the environment wins over the file"
        );
        std::env::set_var("ONRAMP_BUSY_POLL", "1");
        assert!(ServeConfig::resolve(parsed(&[])).unwrap().busy_poll);
        assert!(
            !ServeConfig::resolve(parsed(&["--busy-poll=off"]))
                .unwrap()
                .busy_poll
        );
        std::env::remove_var("ONRAMP_BUSY_POLL");
        let e = ServeConfig::resolve(parsed(&["--busy-poll", "--edge-threads", "2"])).unwrap_err();
        assert!(format!("{e:#}").contains("--edge-threads 1"), "{e:#}");
    }

    #[test]
    fn bad_values_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "regoin = 1").unwrap();
        let e = ServeConfig::resolve(ServeArgs {
            config: Some(file),
            ..Default::default()
        })
        .unwrap_err();
        assert!(format!("{e:#}").contains("not valid"), "{e:#}");
        let e = ServeConfig::resolve(ServeArgs {
            api_listen: Some("nope".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(format!("{e:#}").contains("api-listen"));
        let e = ServeConfig::resolve(ServeArgs {
            tls_cert: Some("a".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(format!("{e:#}").contains("together"));
    }
}
