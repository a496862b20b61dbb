//! A bounded UDP flow table keyed by client address, with idle expiry.
//!
//! Per packet the table does one hash-map probe: [`FlowTable::get_mut`] finds the flow and
//! stamps its last-seen time. Idle flows are not looked for on the packet path; the owner calls
//! [`FlowTable::expire`] periodically (say once a second), which scans the table once and
//! returns the flows idle for longer than `idle_ms` so their upstream sockets can be closed.
//!
//! The table never grows past its capacity: inserting a new flow into a full table fails and
//! hands the value back, so the caller sheds the *new* flow and established flows are kept.

use std::collections::HashMap;
use std::net::SocketAddr;

/// One flow and when it last saw traffic.
#[derive(Debug)]
struct Flow<V> {
    value: V,
    last_seen_ms: u64,
}

/// A bounded map from client address to per-flow state `V`.
#[derive(Debug)]
pub struct FlowTable<V> {
    capacity: usize,
    idle_ms: u64,
    flows: HashMap<SocketAddr, Flow<V>>,
}

impl<V> FlowTable<V> {
    /// A table holding at most `capacity` flows, expiring flows idle for more than `idle_ms`.
    pub fn new(capacity: usize, idle_ms: u64) -> Self {
        Self {
            capacity,
            idle_ms,
            flows: HashMap::new(),
        }
    }

    /// The flow of `key`, stamping it as seen at `now_ms`.
    pub fn get_mut(&mut self, key: &SocketAddr, now_ms: u64) -> Option<&mut V> {
        let flow = self.flows.get_mut(key)?;
        flow.last_seen_ms = flow.last_seen_ms.max(now_ms);
        Some(&mut flow.value)
    }

    /// The flow of `key` without touching its last-seen time.
    pub fn peek(&self, key: &SocketAddr) -> Option<&V> {
        self.flows.get(key).map(|f| &f.value)
    }

    /// Insert a flow seen at `now_ms`. An existing flow with the same key is replaced (its old
    /// value is dropped). `Err(v)` when the table is full and `key` is new: shed the new flow.
    pub fn insert(&mut self, key: SocketAddr, v: V, now_ms: u64) -> Result<(), V> {
        if let Some(flow) = self.flows.get_mut(&key) {
            *flow = Flow {
                value: v,
                last_seen_ms: now_ms,
            };
            return Ok(());
        }
        if self.flows.len() >= self.capacity {
            return Err(v);
        }
        self.flows.insert(
            key,
            Flow {
                value: v,
                last_seen_ms: now_ms,
            },
        );
        Ok(())
    }

    /// Remove a flow.
    pub fn remove(&mut self, key: &SocketAddr) -> Option<V> {
        self.flows.remove(key).map(|f| f.value)
    }

    /// Remove and return every flow idle for more than `idle_ms` at `now_ms` (one scan).
    pub fn expire(&mut self, now_ms: u64) -> Vec<(SocketAddr, V)> {
        let idle_ms = self.idle_ms;
        let stale: Vec<SocketAddr> = self
            .flows
            .iter()
            .filter(|(_, f)| now_ms.saturating_sub(f.last_seen_ms) > idle_ms)
            .map(|(k, _)| *k)
            .collect();
        stale
            .into_iter()
            .filter_map(|k| self.flows.remove(&k).map(|f| (k, f.value)))
            .collect()
    }

    /// Number of flows.
    pub fn len(&self) -> usize {
        self.flows.len()
    }

    /// Whether the table holds no flow.
    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    /// The maximum number of flows.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The idle timeout in milliseconds.
    pub fn idle_ms(&self) -> u64 {
        self.idle_ms
    }

    /// Change the idle timeout (applies from the next [`FlowTable::expire`]).
    pub fn set_idle_ms(&mut self, ms: u64) {
        self.idle_ms = ms;
    }

    /// Change the capacity. Existing flows are kept even above a lowered capacity; new flows are
    /// refused until the table shrinks below it.
    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity;
    }

    /// Iterate over the flows (e.g. to close them all when the listener goes away).
    pub fn iter(&self) -> impl Iterator<Item = (&SocketAddr, &V)> {
        self.flows.iter().map(|(k, f)| (k, &f.value))
    }
}
