//! The soak's API writes: one churn listener at a time, TCP and UDP in turn, on ports from
//! 16000 up, goes through create, bind both origins, bind the first, unbind, delete (with
//! `Force`), one write per tick. A failed write abandons the cycle (deleting its listener
//! next when there is one), so every write counted is a real call.

use std::time::Duration;

use anyhow::{anyhow, bail};
use serde_json::json;

use crate::onramp::Api;

const FIRST_PORT: u16 = 16_000;
const PORTS: usize = 50;
/// Steps of one cycle: create, bind both, bind one, unbind, delete.
const STEPS: usize = 5;

/// One origin the churn listeners bind: id, address, TCP port, UDP port.
#[derive(Clone)]
pub struct Origin {
    pub id: String,
    pub ip: String,
    pub tcp_port: u16,
    pub udp_port: u16,
}

pub struct Churn {
    proxy: String,
    origins: [Origin; 2],
    /// Cycles begun.
    n: usize,
    step: usize,
    listener: Option<String>,
    pub ok: u64,
    pub failed: u64,
    pub first_error: Option<String>,
}

impl Churn {
    pub fn new(proxy: String, origins: [Origin; 2]) -> Self {
        Self {
            proxy,
            origins,
            n: 0,
            step: 0,
            listener: None,
            ok: 0,
            failed: 0,
            first_error: None,
        }
    }

    fn bind_set(&self, udp: bool, count: usize) -> Vec<(String, String, u16)> {
        self.origins[..count]
            .iter()
            .map(|o| {
                let port = if udp { o.udp_port } else { o.tcp_port };
                (o.id.clone(), o.ip.clone(), port)
            })
            .collect()
    }

    async fn step(&mut self, api: &mut Api) -> anyhow::Result<()> {
        let udp = self.n % 2 == 1;
        let port = FIRST_PORT + (self.n % PORTS) as u16;
        match (self.step, self.listener.clone()) {
            (0, _) => {
                let ids = api
                    .create_listeners(&self.proxy, udp, &[port], true)
                    .await?;
                let lid = ids
                    .into_iter()
                    .next()
                    .ok_or_else(|| anyhow!("no listener id"))?;
                self.listener = Some(lid.clone());
                api.wait_ready(&lid, udp, false).await?;
            }
            (1, Some(l)) => api.bind(&l, &self.bind_set(udp, 2)).await?,
            (2, Some(l)) => api.bind(&l, &self.bind_set(udp, 1)).await?,
            (3, Some(l)) => api.bind(&l, &[]).await?,
            (_, Some(l)) => {
                self.listener = None;
                let r = api
                    .call("DeleteListeners", json!({"ListenerIds": [l], "Force": 1}))
                    .await?;
                if r["OperationSucceedListenerSet"]
                    .as_array()
                    .is_none_or(|s| s.is_empty())
                {
                    bail!("DeleteListeners: not deleted: {r}");
                }
            }
            (_, None) => bail!("step {} without a listener", self.step),
        }
        Ok(())
    }

    /// One write (at most 10 s).
    pub async fn tick(&mut self, api: &mut Api) {
        let r = tokio::time::timeout(Duration::from_secs(10), self.step(api)).await;
        match r.unwrap_or_else(|_| Err(anyhow!("no answer within 10 s"))) {
            Ok(()) => {
                self.ok += 1;
                self.step += 1;
            }
            Err(e) => {
                self.failed += 1;
                self.first_error
                    .get_or_insert(format!("step {}: {e:#}", self.step));
                self.step = if self.listener.is_some() && self.step < STEPS - 1 {
                    STEPS - 1
                } else {
                    STEPS
                };
            }
        }
        if self.step >= STEPS {
            self.step = 0;
            self.n += 1;
            self.listener = None;
        }
    }
}
