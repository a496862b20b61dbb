//! One origin binding at run time: its resolved addresses, health, open connections, measured
//! RTT, and drain state. Shared (`Arc`) by the listener config, its connections and its checker;
//! kept across snapshots while the binding's identity (binding, address, port) is unchanged.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering::*};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use onramp_balancer::select::BackendLive;
use onramp_core::health::BindingHealth;
use onramp_core::snapshot::BackendSpec;
use tokio::sync::watch;

/// Milliseconds since the edge's epoch (monotonic).
pub fn now_ms() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// How long a passive failure (connect refused/timed out) keeps an origin out of rotation when
/// no active check brings it back sooner.
pub const PASSIVE_DOWN_MS: u64 = 10_000;

pub struct Backend {
    /// As the backend was made: its weight and role may have changed since (the selector has
    /// the current ones; see `listener::same_backend`).
    pub spec: BackendSpec,
    /// Resolved addresses and whether each is up.
    addrs: Mutex<Vec<(SocketAddr, bool)>>,
    next_addr: AtomicUsize,
    pub healthy: AtomicBool,
    pub resolve_failed: AtomicBool,
    pub active: AtomicU32,
    /// Last health-check RTT in µs; 0 = none yet.
    pub rtt_us: AtomicU64,
    passive_down_until: AtomicU64,
    pub draining: AtomicBool,
    killed: watch::Sender<bool>,
}

/// Identity that survives snapshots: a binding to the same address and port.
pub fn identity(s: &BackendSpec) -> (String, String, u16) {
    (s.binding_id.clone(), s.address.clone(), s.port)
}

impl Backend {
    pub fn new(spec: BackendSpec) -> Self {
        let addrs = match spec.address.parse::<std::net::IpAddr>() {
            Ok(ip) => vec![(SocketAddr::new(ip, spec.port), true)],
            Err(_) => Vec::new(),
        };
        Self {
            spec,
            addrs: Mutex::new(addrs),
            next_addr: AtomicUsize::new(0),
            healthy: AtomicBool::new(true),
            resolve_failed: AtomicBool::new(false),
            active: AtomicU32::new(0),
            rtt_us: AtomicU64::new(0),
            passive_down_until: AtomicU64::new(0),
            draining: AtomicBool::new(false),
            killed: watch::channel(false).0,
        }
    }

    /// Facts for the selector.
    pub fn live(&self, now: u64) -> BackendLive {
        let has_addr = !self
            .addrs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty();
        BackendLive {
            healthy: has_addr
                && self.healthy.load(Relaxed)
                && now >= self.passive_down_until.load(Relaxed),
            draining: self.draining.load(Relaxed),
            banned: self.spec.banned,
            active: self.active.load(Relaxed),
            rtt_us: match self.rtt_us.load(Relaxed) {
                0 => None,
                v => Some(v),
            },
        }
    }

    /// An address to connect to: up addresses in turn, any address if none is up.
    pub fn pick_addr(&self) -> Option<SocketAddr> {
        let addrs = self.addrs.lock().unwrap_or_else(|p| p.into_inner());
        let n = self.next_addr.fetch_add(1, Relaxed);
        let up: Vec<SocketAddr> = addrs.iter().filter(|(_, u)| *u).map(|(a, _)| *a).collect();
        if !up.is_empty() {
            return Some(up[n % up.len()]);
        }
        addrs.get(n % addrs.len().max(1)).map(|(a, _)| *a)
    }

    pub fn addrs(&self) -> Vec<(SocketAddr, bool)> {
        self.addrs.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Replace the address list (after resolution), keeping known addresses' state.
    pub fn set_addrs(&self, fresh: Vec<SocketAddr>) {
        let mut addrs = self.addrs.lock().unwrap_or_else(|p| p.into_inner());
        let next: Vec<(SocketAddr, bool)> = fresh
            .into_iter()
            .map(|a| {
                (
                    a,
                    addrs
                        .iter()
                        .find(|(b, _)| *b == a)
                        .map(|(_, u)| *u)
                        .unwrap_or(true),
                )
            })
            .collect();
        *addrs = next;
    }

    pub fn set_addr_up(&self, addr: SocketAddr, up: bool) {
        let mut addrs = self.addrs.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = addrs.iter_mut().find(|(a, _)| *a == addr) {
            e.1 = up;
        }
    }

    /// A connect to this origin failed: keep it out of rotation for a while.
    pub fn passive_failure(&self) {
        self.passive_down_until
            .store(now_ms() + PASSIVE_DOWN_MS, Relaxed);
    }

    /// An active check succeeded: lift any passive mark.
    pub fn clear_passive(&self) {
        self.passive_down_until.store(0, Relaxed);
    }

    /// Health as the API reports it.
    pub fn report(&self) -> BindingHealth {
        let addrs = self.addrs();
        BindingHealth {
            healthy: self.healthy.load(Relaxed),
            down: addrs
                .iter()
                .filter(|(_, u)| !*u)
                .map(|(a, _)| a.to_string())
                .collect(),
            rtt_micros: match self.rtt_us.load(Relaxed) {
                0 => None,
                v => Some(v),
            },
            resolve_failed: self.resolve_failed.load(Relaxed),
        }
    }

    /// Stop taking new connections; existing ones continue until `kill`.
    pub fn drain(&self) {
        self.draining.store(true, Relaxed);
    }

    /// End the connections still open to this origin.
    pub fn kill(&self) {
        self.killed.send_replace(true);
    }

    pub fn killed(&self) -> watch::Receiver<bool> {
        self.killed.subscribe()
    }
}
