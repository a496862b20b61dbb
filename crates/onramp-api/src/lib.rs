//! The cloud-API endpoint: every dialect on one HTTP port.
//!
//! - Tencent API 3.0 (`POST /` JSON with TC3, `GET /?…`, v1 HmacSHA1/256 form or query):
//!   GAAP `2018-05-29` (`gaap`).
//! - BM LB legacy v2 on `/v2/index.php` (`bm`).
//! - Huawei GA v1 on `/v1/…` (`huawei`).
//!
//! Each dialect decodes and verifies its requests, calls the shared operations on the model
//! (through `onramp_control::Control`), and encodes results and errors in its own format. Only
//! this crate knows wire formats.
#![forbid(unsafe_code)]

pub mod audit;
pub mod bm;
pub mod caller;
pub mod gaap;
pub mod huawei;
pub mod once;
pub mod summary;
pub mod tencent;
#[cfg(test)]
mod test_support;
mod time_fmt;

use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::routing::{any, get};
use axum::Router;
use onramp_auth::once::OnceCache;
use onramp_auth::ratelimit::RateLimiter;
use onramp_auth::replay::AccountNonces;
use onramp_control::Control;
use onramp_core::health::HealthSource;
use onramp_ops::status::{self, Phase};

pub use time_fmt::*;

/// A region served by edges (GAAP access and destination regions, Huawei regions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Requests per second per action per account; 0 = unlimited.
    pub rate_limit: u32,
    /// Largest accepted request body, bytes.
    pub max_body: usize,
    /// Allowed clock skew of signed requests, seconds.
    pub replay_window_secs: i64,
    /// Regions of the edges.
    pub regions: Vec<Region>,
    /// Address the edges bind listeners on (shown as the accelerators' access IP).
    pub bind_address: String,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            rate_limit: 20,
            max_body: 1 << 20,
            replay_window_secs: 300,
            regions: vec![Region {
                id: "local".into(),
                name: "local".into(),
            }],
            bind_address: "0.0.0.0".into(),
        }
    }
}

pub struct Api {
    pub control: Arc<Control>,
    /// Health as the edge sees it.
    pub health: Arc<dyn HealthSource>,
    pub cfg: ApiConfig,
    limiter: Mutex<RateLimiter>,
    /// v1/v2 nonces, per account.
    nonces: Mutex<AccountNonces>,
    /// TC3 and Huawei signed writes, per account (see `once`).
    signed: Mutex<OnceCache<once::Slot>>,
    started: Instant,
}

impl Api {
    pub fn new(control: Arc<Control>, health: Arc<dyn HealthSource>, cfg: ApiConfig) -> Arc<Self> {
        Arc::new(Self {
            health,
            limiter: Mutex::new(RateLimiter::new(cfg.rate_limit)),
            nonces: Mutex::new(AccountNonces::new(cfg.replay_window_secs)),
            signed: Mutex::new(OnceCache::new(cfg.replay_window_secs)),
            control,
            cfg,
            started: Instant::now(),
        })
    }

    /// The lifecycle a listener reports (every dialect translates this one computation).
    pub fn listener_phase(&self, l: &onramp_core::Listener) -> Phase {
        let failed = self.health.listener_failure(&l.id).is_some();
        status::listener(l, self.control.applied_for(l.owner.id()), failed)
    }

    pub fn accelerator_phase(&self, a: &onramp_core::Accelerator) -> Phase {
        status::accelerator(a, self.control.applied_in(&a.access_region))
    }

    pub fn group_phase(&self, g: &onramp_core::AcceleratorGroup) -> Phase {
        status::group(g, self.control.applied_for(&g.id))
    }

    /// Whether `account` may call `action` now (token bucket per account and action).
    pub fn allow(&self, account: &str, action: &str) -> bool {
        let now = self.started.elapsed().as_nanos() as u64;
        self.limiter
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .check(account, action, now)
    }

    /// Record a v1/v2 nonce in the account's memory; an error if it was already used inside the
    /// window or is stale.
    pub fn check_nonce(
        &self,
        account: &str,
        secret_id: &str,
        nonce: u64,
        timestamp: i64,
    ) -> Result<(), onramp_auth::replay::ReplayError> {
        let now = now_secs();
        self.nonces
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .check(account, secret_id, nonce, timestamp, now)
    }

    /// The regions edges serve: the configured ones (`onramp serve`'s own `--region`) in their
    /// order, then every other region an edge registered in, by ID.
    pub fn regions(&self) -> Vec<Region> {
        let mut out = self.cfg.regions.clone();
        for id in self.control.edges().regions().into_keys() {
            if !out.iter().any(|r| r.id == id) {
                out.push(Region {
                    name: id.clone(),
                    id,
                });
            }
        }
        out
    }

    /// The region a dialect without a placement of its own (Huawei, BM) puts a new
    /// accelerator in: the first of `regions` (`serve`: its own; a control node: the first the
    /// edges registered).
    pub fn home_region(&self) -> Option<String> {
        self.regions().into_iter().next().map(|r| r.id)
    }

    pub fn region(&self, id: &str) -> Option<Region> {
        self.regions().into_iter().find(|r| r.id == id)
    }

    /// The addresses clients reach the accelerators of `region` on: its live edges' addresses,
    /// else the configured bind address.
    pub fn access_addresses(&self, region: &str) -> Vec<String> {
        let mut addrs = self
            .control
            .edges()
            .regions()
            .remove(region)
            .unwrap_or_default();
        addrs.sort();
        addrs.dedup();
        if addrs.is_empty() {
            addrs.push(self.cfg.bind_address.clone());
        }
        addrs
    }
}

/// Unix seconds now.
pub fn now_secs() -> i64 {
    now_millis() / 1000
}

/// Unix milliseconds now.
pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// All dialects on one router.
pub fn router(api: Arc<Api>) -> Router {
    Router::new()
        .route("/", any(tencent::handle))
        .route("/v2/index.php", any(bm::handle))
        .route("/v1/{*rest}", any(huawei::handle))
        .route("/healthz", get(|| async { "ok\n" }))
        .fallback(huawei::not_found)
        .with_state(api)
}
