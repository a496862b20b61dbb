//! Test harness of the proxy and group actions: an `Api` over a temporary SQLite store, called
//! through `dispatch` like the HTTP front end does.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use onramp_core::*;
use serde_json::{json, Map, Value};

use crate::tencent::{Ctx, TcError, TcResult};
use crate::{Api, ApiConfig, Region};

/// An Api over a temporary store. Every call gets a fresh RequestId and a clock one second after
/// the previous call, so creation order is deterministic.
pub(crate) struct Env {
    pub api: Arc<Api>,
    clock: AtomicI64,
    _dir: tempfile::TempDir,
}

impl Env {
    pub async fn new() -> Self {
        Self::with_regions(&["local"]).await
    }

    pub async fn with_regions(regions: &[&str]) -> Self {
        let regions = regions
            .iter()
            .map(|r| Region {
                id: r.to_string(),
                name: r.to_string(),
            })
            .collect();
        let cfg = ApiConfig {
            regions,
            bind_address: "127.0.0.1".into(),
            ..ApiConfig::default()
        };
        let (api, dir) = crate::test_support::temp_api(cfg).await;
        Self {
            api,
            clock: AtomicI64::new(1_700_000_000_000),
            _dir: dir,
        }
    }

    pub async fn call(
        &self,
        account: &str,
        action: &str,
        params: Value,
    ) -> TcResult<Map<String, Value>> {
        let ctx = Ctx {
            api: &self.api,
            account: Account {
                id: account.into(),
                uin: format!("uin-{account}"),
                ..Default::default()
            },
            request_id: ids::uuid(),
            action: action.into(),
            now: self.clock.fetch_add(1000, Ordering::SeqCst),
        };
        crate::gaap::dispatch(&ctx, action, params).await
    }

    pub async fn ok(&self, account: &str, action: &str, params: Value) -> Map<String, Value> {
        match self.call(account, action, params.clone()).await {
            Ok(m) => m,
            Err(e) => panic!("{action} {params} failed: {} {}", e.code, e.message),
        }
    }

    pub async fn err(&self, account: &str, action: &str, params: Value) -> TcError {
        match self.call(account, action, params.clone()).await {
            Ok(m) => panic!("{action} {params} succeeded: {m:?}"),
            Err(e) => e,
        }
    }

    pub async fn code(&self, account: &str, action: &str, params: Value) -> String {
        self.err(account, action, params).await.code
    }

    /// Create a proxy for `account` with defaults overridden by `extra`; returns its ID.
    pub async fn proxy(&self, account: &str, extra: Value) -> String {
        let mut p = json!({"ProjectId": 0, "ProxyName": "p", "AccessRegion": "local",
            "RealServerRegion": "local", "Bandwidth": 10, "Concurrent": 2});
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            p[k] = v;
        }
        let out = self.ok(account, "CreateProxy", p).await;
        out["InstanceId"].as_str().unwrap().to_string()
    }

    pub async fn detail(&self, account: &str, id: &str) -> Value {
        self.ok(account, "DescribeProxyDetail", json!({"ProxyId": id}))
            .await["ProxyDetail"]
            .clone()
    }

    /// A TCP listener on `owner` (proxy or group) with one bound origin, written straight to the
    /// store. Returns the listener ID.
    pub async fn bound_listener(&self, account: &str, owner: Owner, port: u16) -> String {
        let lid = ids::short(ids::LISTENER);
        let rs = ids::short(ids::ORIGIN);
        let ops = vec![
            Op::Put(Record::Listener(Listener {
                id: lid.clone(),
                account_id: account.into(),
                owner,
                name: "l".into(),
                ports: vec![PortRange::single(port)],
                ..Default::default()
            })),
            Op::Put(Record::EndpointGroup(EndpointGroup {
                id: format!("eg-{lid}"),
                account_id: account.into(),
                listener_id: lid.clone(),
                region: "local".into(),
                ..Default::default()
            })),
            Op::Put(Record::Origin(Origin {
                id: rs.clone(),
                account_id: account.into(),
                address: format!("127.0.0.{}", 2 + port % 200),
                ..Default::default()
            })),
            Op::Put(Record::Binding(Binding {
                id: format!("b-{lid}"),
                account_id: account.into(),
                listener_id: lid.clone(),
                endpoint_group_id: format!("eg-{lid}"),
                origin_id: rs,
                port: 8080,
                weight: 1,
                ..Default::default()
            })),
        ];
        self.api
            .control
            .write(|_| Ok::<_, ()>((ops, ())))
            .await
            .unwrap();
        lid
    }
}

pub(crate) fn ids_of(set: &Value) -> Vec<String> {
    set.as_array()
        .unwrap()
        .iter()
        .map(|p| p["ProxyId"].as_str().unwrap().to_string())
        .collect()
}
