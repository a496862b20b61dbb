//! The persistence table: client address → (backend index, expiry), bounded in size.
//!
//! Entries are ordered by expiry (then by insertion sequence) in a `BTreeMap`, so dropping the
//! expired entries and evicting the least recently used one are both `O(log n)` per entry, and a
//! lookup is one hash-map probe. Every entry lives for the same `ttl_ms` after its last use, so
//! "earliest expiry" is also "least recently used": when the table is full the first entry in
//! expiry order is evicted, which removes an expired entry if there is one and the oldest
//! otherwise.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

/// One remembered choice.
#[derive(Debug, Clone, Copy)]
struct Entry {
    backend: usize,
    expires_at: u64,
    seq: u64,
}

/// Client → backend memory with a time-to-live and a size bound.
#[derive(Debug, Clone)]
pub(crate) struct PersistTable {
    ttl_ms: u64,
    cap: usize,
    map: HashMap<IpAddr, Entry>,
    order: BTreeMap<(u64, u64), IpAddr>,
    seq: u64,
}

impl PersistTable {
    /// A table whose entries live `ttl_ms` after their last use, holding at most `cap` entries.
    pub(crate) fn new(ttl_ms: u64, cap: usize) -> Self {
        Self {
            ttl_ms,
            cap,
            map: HashMap::new(),
            order: BTreeMap::new(),
            seq: 0,
        }
    }

    /// Whether persistence is on at all.
    pub(crate) fn enabled(&self) -> bool {
        self.ttl_ms > 0 && self.cap > 0
    }

    /// Number of entries (expired ones included until [`PersistTable::expire`] runs).
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// The remembered backend of `client`, if its entry has not expired at `now_ms`.
    pub(crate) fn get(&self, client: IpAddr, now_ms: u64) -> Option<usize> {
        let e = self.map.get(&client.to_canonical())?;
        (e.expires_at > now_ms).then_some(e.backend)
    }

    /// Remember (or refresh) `client → backend` until `now_ms + ttl`.
    pub(crate) fn put(&mut self, client: IpAddr, backend: usize, now_ms: u64) {
        let expires_at = now_ms.saturating_add(self.ttl_ms);
        self.put_until(client, backend, expires_at);
    }

    /// Remember `client → backend` until `expires_at`, evicting the oldest entry when full.
    pub(crate) fn put_until(&mut self, client: IpAddr, backend: usize, expires_at: u64) {
        if !self.enabled() {
            return;
        }
        let client = client.to_canonical();
        if let Some(old) = self.map.get(&client) {
            self.order.remove(&(old.expires_at, old.seq));
        } else {
            while self.map.len() >= self.cap {
                let Some((_, victim)) = self.order.pop_first() else {
                    break;
                };
                self.map.remove(&victim);
            }
        }
        self.seq = self.seq.wrapping_add(1);
        let entry = Entry {
            backend,
            expires_at,
            seq: self.seq,
        };
        self.map.insert(client, entry);
        self.order.insert((expires_at, self.seq), client);
    }

    /// Forget `client`.
    pub(crate) fn remove(&mut self, client: IpAddr) {
        if let Some(old) = self.map.remove(&client.to_canonical()) {
            self.order.remove(&(old.expires_at, old.seq));
        }
    }

    /// Forget every entry that points at `backend`.
    pub(crate) fn forget_backend(&mut self, backend: usize) {
        let victims: Vec<IpAddr> = self
            .map
            .iter()
            .filter(|(_, e)| e.backend == backend)
            .map(|(ip, _)| *ip)
            .collect();
        for ip in victims {
            self.remove(ip);
        }
    }

    /// Drop every entry whose expiry is at or before `now_ms`.
    pub(crate) fn expire(&mut self, now_ms: u64) {
        while let Some(entry) = self.order.first_entry() {
            if entry.key().0 > now_ms {
                break;
            }
            let ip = entry.remove();
            self.map.remove(&ip);
        }
    }

    /// Entries in expiry order: (client, backend, expires_at).
    pub(crate) fn entries(&self) -> impl Iterator<Item = (IpAddr, usize, u64)> + '_ {
        self.order.values().filter_map(|ip| {
            let e = self.map.get(ip)?;
            Some((*ip, e.backend, e.expires_at))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn ip(n: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, n))
    }

    #[test]
    fn evicts_expired_then_oldest() {
        let mut t = PersistTable::new(100, 2);
        t.put(ip(1), 0, 0);
        t.put(ip(2), 1, 50);
        t.put(ip(1), 0, 60); // refresh: ip(2) is now the oldest
        t.put(ip(3), 2, 70);
        assert_eq!(t.len(), 2);
        assert_eq!(t.get(ip(2), 70), None);
        assert_eq!(t.get(ip(1), 70), Some(0));
        assert_eq!(t.get(ip(3), 70), Some(2));
    }

    #[test]
    fn expire_and_forget() {
        let mut t = PersistTable::new(100, 10);
        t.put(ip(1), 0, 0);
        t.put(ip(2), 1, 10);
        t.put(ip(3), 1, 20);
        assert_eq!(t.get(ip(1), 100), None);
        t.expire(100);
        assert_eq!(t.len(), 2);
        t.forget_backend(1);
        assert_eq!(t.len(), 0);
        assert_eq!(t.entries().count(), 0);
    }

    #[test]
    fn zero_capacity_or_ttl_stores_nothing() {
        let mut t = PersistTable::new(100, 0);
        t.put(ip(1), 0, 0);
        assert_eq!(t.len(), 0);
        let mut t = PersistTable::new(0, 10);
        t.put(ip(1), 0, 0);
        assert_eq!(t.len(), 0);
    }
}
