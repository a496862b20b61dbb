//! The UDP flow table of one listener socket: flows by client address, with a count of flows
//! per source address (touched only when a flow is added or removed, never per datagram) and
//! the choice of the idlest flow to shed when the descriptor budget is full.
//!
//! The idlest is chosen the way the CLOCK page-replacement algorithm does: flows queue in the
//! order they were made, each with the activity stamp it had when queued. A flow's last activity
//! is an atomic that both directions stamp on the packet path, so the queue is not reordered per
//! datagram; instead, when a flow must go, the front of the queue is looked at: a flow idle
//! since it was queued goes, one that was active since goes to the back with its new stamp (a
//! second chance). At most `SAMPLE` entries are looked at per new flow (each at most once);
//! when all of them were active, the least recently active of them goes. So a flood's one-datagram flows go first,
//! oldest first, and a flow that keeps talking stays.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::{IpAddr, SocketAddr};

/// Queue entries looked at, at most, to pick the idlest. Each entry requeued costs its flow one
/// datagram's worth of activity, so over time a pick looks at about one entry plus the flows
/// that talked since the queue last went round; the bound caps a table of talkers.
pub const SAMPLE: usize = 1024;

pub struct FlowMap<V> {
    flows: HashMap<SocketAddr, V>,
    per_source: HashMap<IpAddr, u32>,
    /// Flows in the order they were made or last given a second chance, with the activity
    /// stamp they had then. Entries of removed flows are dropped when met or by `compact`.
    order: VecDeque<(SocketAddr, u64)>,
}

impl<V> Default for FlowMap<V> {
    fn default() -> Self {
        Self {
            flows: HashMap::new(),
            per_source: HashMap::new(),
            order: VecDeque::new(),
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

    /// Add a flow made at `now_ms` (replacing one with the same client, which then is dropped).
    pub fn insert(&mut self, client: SocketAddr, v: V, now_ms: u64) {
        if self.flows.insert(client, v).is_none() {
            *self.per_source.entry(client.ip()).or_insert(0) += 1;
        }
        self.order.push_back((client, now_ms));
        if self.order.len() > 2 * self.flows.len() + 64 {
            self.compact();
        }
    }

    /// Drop queue entries of removed flows and repeated ones (a flow removed and made again).
    fn compact(&mut self) {
        let mut seen = HashSet::with_capacity(self.flows.len());
        let flows = &self.flows;
        self.order
            .retain(|(k, _)| flows.contains_key(k) && seen.insert(*k));
        self.order.shrink_to(2 * self.flows.len() + 64);
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
        if self.order.len() > 2 * self.flows.len() + 64 {
            self.compact();
        }
        if self.flows.capacity() > 4 * self.flows.len().max(64) {
            self.flows.shrink_to_fit();
            self.per_source.shrink_to_fit();
        }
    }

    /// The flow to shed: the first in the queue idle since it was queued, looking at up to
    /// `SAMPLE` entries, else the least recently active of those; `last` is its activity (ms).
    pub fn idlest(&mut self, last: impl Fn(&V) -> u64) -> Option<SocketAddr> {
        let mut best: Option<(SocketAddr, u64)> = None;
        for _ in 0..SAMPLE.min(self.order.len()) {
            let Some((k, stamp)) = self.order.pop_front() else {
                break;
            };
            let Some(v) = self.flows.get(&k) else {
                continue;
            };
            let l = last(v);
            if l <= stamp {
                return Some(k);
            }
            self.order.push_back((k, l));
            if best.is_none_or(|(_, b)| l < b) {
                best = Some((k, l));
            }
        }
        best.map(|(k, _)| k)
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
            t.insert(addr(a, port), 0, 0);
        }
        t.insert(addr(a, 1), 9, 0); // the same client again: still one flow
        t.insert(addr([127, 0, 0, 3], 1), 0, 0);
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
    fn the_idlest_is_the_oldest_idle_one_and_talkers_get_a_second_chance() {
        let mut t: FlowMap<u64> = FlowMap::default();
        assert_eq!(t.idlest(|&v| v), None);
        for i in 0..10u16 {
            t.insert(addr([127, 0, 0, 2], i + 1), u64::from(i), u64::from(i));
        }
        // The two oldest talked since they were made; the third did not.
        *t.flows.get_mut(&addr([127, 0, 0, 2], 1)).unwrap() = 50;
        *t.flows.get_mut(&addr([127, 0, 0, 2], 2)).unwrap() = 60;
        assert_eq!(t.idlest(|&v| v), Some(addr([127, 0, 0, 2], 3)));
        t.remove(&addr([127, 0, 0, 2], 3));
        assert_eq!(t.idlest(|&v| v), Some(addr([127, 0, 0, 2], 4)));
        // When every flow looked at talked since, the least recently active of them goes.
        let mut u: FlowMap<u64> = FlowMap::default();
        for i in 0..3u16 {
            u.insert(addr([127, 0, 0, 3], i + 1), 0, 0);
        }
        for (i, l) in [(1, 30), (2, 10), (3, 20)] {
            *u.flows.get_mut(&addr([127, 0, 0, 3], i)).unwrap() = l;
        }
        assert_eq!(u.idlest(|&v| v), Some(addr([127, 0, 0, 3], 2)));
    }

    #[test]
    fn a_flood_of_idle_flows_is_shed_before_flows_that_talk() {
        // 50 flows that each talk every 200 ms among flood flows that send one datagram each,
        // one new flood flow per ms, 500 flows at most (so a flood flow lives about 450 ms): no
        // talking flow is ever shed, and the queue stays bounded.
        let mut t: FlowMap<u64> = FlowMap::default();
        let talkers: Vec<SocketAddr> = (0..50).map(|i| addr([127, 0, 0, 1], 5000 + i)).collect();
        for (i, k) in talkers.iter().enumerate() {
            t.insert(*k, i as u64, i as u64);
        }
        for i in 0..20_000u32 {
            let now = 100 + u64::from(i);
            for (j, k) in talkers.iter().enumerate() {
                if (now + j as u64 * 4).is_multiple_of(200) {
                    *t.flows.get_mut(k).unwrap() = now;
                }
            }
            if t.len() >= 500 {
                let victim = t.idlest(|&v| v).unwrap();
                assert!(!talkers.contains(&victim), "a talking flow was shed at {i}");
                t.remove(&victim);
            }
            let [_, b, c, d] = i.to_be_bytes();
            t.insert(addr([127, b, c, d], 9), now, now);
            assert!(t.order.len() <= 2 * t.len() + 64);
        }
        assert_eq!(t.len(), 500);
    }

    #[test]
    fn the_queue_forgets_removed_and_repeated_flows() {
        let mut t: FlowMap<u64> = FlowMap::default();
        let k = addr([127, 0, 0, 4], 1);
        for n in 0..1_000 {
            t.insert(k, n, n);
            t.remove(&k);
        }
        t.insert(k, 0, 0);
        assert!(t.order.len() <= 66, "{}", t.order.len());
        t.compact();
        assert_eq!(t.order.len(), 1);
    }
}
