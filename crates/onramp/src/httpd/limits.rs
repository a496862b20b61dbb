//! Admission of HTTP connections to the API and admin endpoints: a cap on concurrent
//! connections per source address and in total, the counters `/metrics` shows, and a
//! rate-limited log line for refusals (a flood must not become a flood of log lines).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// At most one refusal line per this interval and endpoint; the line carries the counts since.
const LOG_EVERY: Duration = Duration::from_secs(10);

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    PerSource,
    Total,
}

/// Why an admitted connection was closed by the server before the client closed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// The request head (and the TLS handshake before the first one) took too long.
    Header,
    /// No request for the idle timeout.
    Idle,
}

/// Counters of one endpoint, for `/metrics`.
#[derive(Default)]
pub struct ConnStats {
    accepted: AtomicU64,
    refused_per_source: AtomicU64,
    refused_total: AtomicU64,
    header_timeouts: AtomicU64,
    idle_timeouts: AtomicU64,
    tls_failures: AtomicU64,
}

impl ConnStats {
    pub fn expired(&self, why: Expiry) {
        let c = match why {
            Expiry::Header => &self.header_timeouts,
            Expiry::Idle => &self.idle_timeouts,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub fn tls_failed(&self) {
        self.tls_failures.fetch_add(1, Ordering::Relaxed);
    }
}

struct Open {
    total: usize,
    per_source: HashMap<IpAddr, usize>,
}

struct LogGate {
    next: Instant,
    per_source: u64,
    total: u64,
    last: Option<IpAddr>,
}

/// Caps and counters of one endpoint (`api` or `admin`).
pub struct ConnLimits {
    endpoint: &'static str,
    max_per_source: usize,
    max_total: usize,
    open: Mutex<Open>,
    gate: Mutex<LogGate>,
    pub stats: ConnStats,
}

/// An admitted connection; dropping it frees its place.
pub struct ConnGuard {
    limits: Arc<ConnLimits>,
    source: IpAddr,
}

impl ConnLimits {
    pub fn new(endpoint: &'static str, max_per_source: usize, max_total: usize) -> Arc<Self> {
        Arc::new(Self {
            endpoint,
            max_per_source: max_per_source.max(1),
            max_total: max_total.max(1),
            open: Mutex::new(Open {
                total: 0,
                per_source: HashMap::new(),
            }),
            gate: Mutex::new(LogGate {
                next: Instant::now(),
                per_source: 0,
                total: 0,
                last: None,
            }),
            stats: ConnStats::default(),
        })
    }

    /// Admit a connection from `source`, or say which cap it is over (and count and log it).
    pub fn admit(self: &Arc<Self>, source: IpAddr) -> Result<ConnGuard, Refusal> {
        // An IPv4 client on a dual-stack socket is the same source as on an IPv4 socket.
        let source = source.to_canonical();
        let verdict = {
            let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
            let mine = open.per_source.get(&source).copied().unwrap_or(0);
            if open.total >= self.max_total {
                Err(Refusal::Total)
            } else if mine >= self.max_per_source {
                Err(Refusal::PerSource)
            } else {
                open.total += 1;
                open.per_source.insert(source, mine + 1);
                Ok(())
            }
        };
        match verdict {
            Ok(()) => {
                self.stats.accepted.fetch_add(1, Ordering::Relaxed);
                Ok(ConnGuard {
                    limits: self.clone(),
                    source,
                })
            }
            Err(why) => {
                self.refused(why, source);
                Err(why)
            }
        }
    }

    fn refused(&self, why: Refusal, source: IpAddr) {
        let counter = match why {
            Refusal::PerSource => &self.stats.refused_per_source,
            Refusal::Total => &self.stats.refused_total,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let mut g = self.gate.lock().unwrap_or_else(|p| p.into_inner());
        match why {
            Refusal::PerSource => g.per_source += 1,
            Refusal::Total => g.total += 1,
        }
        g.last = Some(source);
        let now = Instant::now();
        if now >= g.next {
            tracing::warn!(
                endpoint = self.endpoint,
                over_per_source_cap = g.per_source,
                over_total_cap = g.total,
                max_per_source = self.max_per_source,
                max_total = self.max_total,
                last_source = %source,
                "connections refused (counts since the last such line)"
            );
            g.next = now + LOG_EVERY;
            g.per_source = 0;
            g.total = 0;
        }
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.open.lock().unwrap_or_else(|p| p.into_inner()).total
    }

    /// Prometheus text for this endpoint's connections.
    pub fn render(&self, out: &mut String) {
        let ep = self.endpoint;
        let s = &self.stats;
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "onramp_api_connections_open{{endpoint=\"{ep}\"}} {}",
            self.open()
        );
        let _ = writeln!(
            out,
            "onramp_api_connections_total{{endpoint=\"{ep}\"}} {}",
            get(&s.accepted)
        );
        for (reason, c) in [
            ("per_source", &s.refused_per_source),
            ("total", &s.refused_total),
        ] {
            let _ = writeln!(
                out,
                "onramp_api_connections_refused_total{{endpoint=\"{ep}\",reason=\"{reason}\"}} {}",
                get(c)
            );
        }
        for (reason, c) in [("header", &s.header_timeouts), ("idle", &s.idle_timeouts)] {
            let _ = writeln!(
                out,
                "onramp_api_connections_timed_out_total{{endpoint=\"{ep}\",reason=\"{reason}\"}} {}",
                get(c)
            );
        }
        let _ = writeln!(
            out,
            "onramp_api_tls_handshake_failures_total{{endpoint=\"{ep}\"}} {}",
            get(&s.tls_failures)
        );
    }
}

/// `# HELP`/`# TYPE` lines of the endpoint families, written once before every endpoint's samples.
pub const METRIC_HEADERS: &str = "\
# HELP onramp_api_connections_open Open HTTP connections to the endpoint.
# TYPE onramp_api_connections_open gauge
# HELP onramp_api_connections_total HTTP connections admitted.
# TYPE onramp_api_connections_total counter
# HELP onramp_api_connections_refused_total HTTP connections closed at accept: over the per-source or total cap.
# TYPE onramp_api_connections_refused_total counter
# HELP onramp_api_connections_timed_out_total HTTP connections closed by the header or idle timeout.
# TYPE onramp_api_connections_timed_out_total counter
# HELP onramp_api_tls_handshake_failures_total TLS handshakes that failed or timed out.
# TYPE onramp_api_tls_handshake_failures_total counter
";

impl Drop for ConnGuard {
    fn drop(&mut self) {
        let mut open = self.limits.open.lock().unwrap_or_else(|p| p.into_inner());
        open.total = open.total.saturating_sub(1);
        if let Some(n) = open.per_source.get_mut(&self.source) {
            *n -= 1;
            if *n == 0 {
                open.per_source.remove(&self.source);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn per_source_cap_leaves_other_sources_in() {
        let l = ConnLimits::new("api", 2, 10);
        let a1 = l.admit(ip("127.0.0.1")).unwrap();
        let _a2 = l.admit(ip("127.0.0.1")).unwrap();
        assert_eq!(l.admit(ip("127.0.0.1")).err(), Some(Refusal::PerSource));
        // The IPv4-mapped form is the same source.
        assert_eq!(
            l.admit(ip("::ffff:127.0.0.1")).err(),
            Some(Refusal::PerSource)
        );
        let _b = l.admit(ip("127.0.0.2")).unwrap();
        drop(a1);
        let _a3 = l.admit(ip("127.0.0.1")).unwrap();
        assert_eq!(l.open(), 3);
        let mut text = String::new();
        l.render(&mut text);
        assert!(text.contains(
            "onramp_api_connections_refused_total{endpoint=\"api\",reason=\"per_source\"} 2"
        ));
        assert!(text.contains("onramp_api_connections_total{endpoint=\"api\"} 4"));
    }

    #[test]
    fn total_cap_and_release() {
        let l = ConnLimits::new("admin", 5, 2);
        let a = l.admit(ip("10.0.0.1")).unwrap();
        let b = l.admit(ip("10.0.0.2")).unwrap();
        assert_eq!(l.admit(ip("10.0.0.3")).err(), Some(Refusal::Total));
        drop((a, b));
        assert_eq!(l.open(), 0);
        assert!(l.open.lock().unwrap().per_source.is_empty());
        let _c = l.admit(ip("10.0.0.3")).unwrap();
    }
}
