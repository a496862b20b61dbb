//! Updates from control nodes over HTTP, for `onramp edge`: register with one node of the
//! `--control` list, long-poll it for what comes after the edge's revision, and on any failure
//! (refused connection, timeout, 5xx, a node that lost the edge) move to the next node at once;
//! after a whole round of failures, wait (0.2 s, doubling to 2 s) before the next round. The
//! edge keeps forwarding on what it has all the while.

use std::sync::Arc;
use std::time::Duration;

use onramp_core::snapshot::Update;

use crate::client::{ClientError, ControlClient};
use crate::follow::Source;
use crate::report::{log_failure, register, Identity};
use crate::wire::{UpdateDto, PREFIX};

/// How long a poll is held by the node when nothing changes.
const POLL_WAIT: Duration = Duration::from_secs(10);
/// How long past `POLL_WAIT` the edge waits for the node's answer (a full snapshot of a big
/// region takes a while).
const POLL_SLACK: Duration = Duration::from_secs(50);

pub struct RemoteSource {
    me: Identity,
    nodes: Vec<Arc<ControlClient>>,
    /// The node in use, and whether this edge is registered with it.
    current: usize,
    registered: bool,
    /// Failures in a row (a full round of them makes it wait).
    failures: usize,
}

impl RemoteSource {
    pub fn new(me: Identity, nodes: Vec<Arc<ControlClient>>) -> Self {
        assert!(!nodes.is_empty(), "at least one --control URL");
        Self {
            me,
            nodes,
            current: 0,
            registered: false,
            failures: 0,
        }
    }

    async fn poll(&mut self, at: Option<u64>) -> Result<Option<Update>, ClientError> {
        let node = self.nodes[self.current].clone();
        if !self.registered {
            let r = register(&node, &self.me, at).await?;
            tracing::info!(control = %node.url(), revision = r.revision, "following control node");
            self.registered = true;
        }
        let since = at.map(|r| format!("&since={r}")).unwrap_or_default();
        let path = format!(
            "{PREFIX}/updates?name={}{since}&wait={}",
            encode(&self.me.name),
            POLL_WAIT.as_secs()
        );
        let dto: UpdateDto = node.get(&path, POLL_WAIT + POLL_SLACK).await?;
        Ok(dto.into_update())
    }

    async fn failed(&mut self, e: ClientError) {
        // Every node once per outage, then once in a hundred tries.
        if self.failures < self.nodes.len() || self.failures.is_multiple_of(100) {
            log_failure(&e);
        }
        self.registered = false;
        self.failures += 1;
        self.current = (self.current + 1) % self.nodes.len();
        if self.failures.is_multiple_of(self.nodes.len()) {
            let round = (self.failures / self.nodes.len()).min(4) as u32;
            tokio::time::sleep(Duration::from_millis(200) * 2u32.pow(round - 1).min(10)).await;
        }
    }
}

/// Percent-encode a query value (edge names are plain, but never trust that).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

#[async_trait::async_trait]
impl Source for RemoteSource {
    async fn next(&mut self, at: Option<u64>) -> Option<Update> {
        match self.poll(at).await {
            Ok(u) => {
                self.failures = 0;
                u
            }
            Err(ClientError::NotRegistered(url)) => {
                tracing::info!(control = %url, "the control node lost this edge; registering again");
                self.registered = false;
                None
            }
            Err(e) => {
                self.failed(e).await;
                None
            }
        }
    }
}
