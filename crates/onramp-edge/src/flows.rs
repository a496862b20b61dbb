//! The UDP flow table of one listener socket: flows by client address, with a count of flows
//! per source address (touched only when a flow is added or removed, never per datagram) and
//! the choice of the idlest flow to shed when the descriptor budget is full.
//!
//! The idlest is the least recently active of a sample of `SAMPLE` flows (as Redis evicts):
//! a flow's last activity is an atomic that both directions stamp, so the table keeps no order,
//! and a full scan per new flow would cost a flood's worth of CPU. Hash order is unrelated to
//! age, so a sample finds a flood's idle one-datagram flows long before an active one.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

/// Flows looked at to pick the idlest.
pub const SAMPLE: usize = 32;

pub struct FlowMap<V> {
    flows: HashMap<SocketAddr, V>,
    per_source: HashMap<IpAddr, u32>,
}

impl<V> Default for FlowMap<V> {
    fn default() -> Self {
        Self {
            flows: HashMap::new(),
            per_source: HashMap::new(),
        }
    }
}

impl<V> FlowMap<V> {
    pub fn len(&self) -> usize {
        self.flows.len()
    }

    pub fn get(&self, client: &SocketAddr) -> Option<&V> {
        self.flows.get(client)
    }

    /// Flows from `ip` (any port).
    pub fn flows_of(&self, ip: IpAddr) -> u32 {
        self.per_source.get(&ip).copied().unwrap_or(0)
    }

    /// Add a flow (replacing one with the same client, which then is dropped).
    pub fn insert(&mut self, client: SocketAddr, v: V) {
        if self.flows.insert(client, v).is_none() {
            *self.per_source.entry(client.ip()).or_insert(0) += 1;
        }
    }

    pub fn remove(&mut self, client: &SocketAddr) -> Option<V> {
        let v = self.flows.remove(client)?;
        self.forget_source(client.ip());
        Some(v)
    }

    fn forget_source(&mut self, ip: IpAddr) {
        if let Some(n) = self.per_source.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                self.per_source.remove(&ip);
            }
        }
    }

    /// Keep the flows for which `keep` is true.
    pub fn retain(&mut self, mut keep: impl FnMut(&V) -> bool) {
        let mut gone = Vec::new();
        self.flows.retain(|k, v| {
            let k_ok = keep(v);
            if !k_ok {
                gone.push(k.ip());
            }
            k_ok
        });
        for ip in gone {
            self.forget_source(ip);
        }
        if self.flows.capacity() > 4 * self.flows.len().max(64) {
            self.flows.shrink_to_fit();
            self.per_source.shrink_to_fit();
        }
    }

    /// The least recently active of up to `SAMPLE` flows, by `last` (ms).
    pub fn idlest(&self, last: impl Fn(&V) -> u64) -> Option<SocketAddr> {
        self.flows
            .iter()
            .take(SAMPLE)
            .min_by_key(|(_, v)| last(v))
            .map(|(k, _)| *k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(ip: [u8; 4], port: u16) -> SocketAddr {
        SocketAddr::from((ip, port))
    }

    #[test]
    fn flows_are_counted_per_source_as_they_come_and_go() {
        let mut t: FlowMap<u64> = FlowMap::default();
        let a = [127, 0, 0, 2];
        for port in 1..=5 {
            t.insert(addr(a, port), 0);
        }
        t.insert(addr(a, 1), 9); // the same client again: still one flow
        t.insert(addr([127, 0, 0, 3], 1), 0);
        assert_eq!(t.flows_of(a.into()), 5);
        assert_eq!(t.flows_of([127, 0, 0, 3].into()), 1);
        assert_eq!(t.remove(&addr(a, 2)), Some(0));
        assert_eq!(t.remove(&addr(a, 2)), None);
        assert_eq!(t.flows_of(a.into()), 4);
        t.retain(|&v| v == 9);
        assert_eq!(t.len(), 1);
        assert_eq!(t.flows_of(a.into()), 1);
        assert_eq!(t.flows_of([127, 0, 0, 3].into()), 0);
        assert!(
            t.per_source.len() == 1,
            "sources without flows are forgotten"
        );
    }

    #[test]
    fn the_idlest_is_the_oldest_of_the_sample() {
        let mut t: FlowMap<u64> = FlowMap::default();
        assert_eq!(t.idlest(|&v| v), None);
        for i in 0..SAMPLE as u16 {
            t.insert(addr([127, 0, 0, 2], i + 1), 1_000 + u64::from(i));
        }
        t.insert(addr([127, 0, 0, 2], 7), 5); // the idlest
        assert_eq!(t.idlest(|&v| v), Some(addr([127, 0, 0, 2], 7)));
    }

    #[test]
    fn a_flood_of_idle_flows_is_shed_before_an_active_one() {
        // 1 active flow (stamped at `now`) among flood flows that each sent one datagram:
        // shedding one per new flood flow never picks the active one.
        let mut t: FlowMap<u64> = FlowMap::default();
        let active = addr([127, 0, 0, 1], 5000);
        t.insert(active, 0);
        let mut now = 0u64;
        for i in 0..20_000u32 {
            now += 1;
            let [_, b, c, d] = i.to_be_bytes();
            if t.len() >= 500 {
                let victim = t.idlest(|&v| v).unwrap();
                assert_ne!(victim, active, "the active flow was shed at {i}");
                t.remove(&victim);
            }
            t.insert(addr([127, b, c, d], 9), now);
            *t.flows.get_mut(&active).unwrap() = now; // it keeps talking
        }
        assert_eq!(t.len(), 500);
    }
}
