//! Access control of a listener by client address: CIDR blocks (IPv4 and IPv6), the prefix set
//! the edge matches against, and the WHITE/BLACK rule.
//!
//! Every address lives in one 128-bit space: IPv4 `a.b.c.d` is `::ffff:a.b.c.d` (so an IPv4
//! client reaching a dual-stack socket as an IPv4-mapped IPv6 address matches the IPv4 blocks),
//! and an IPv4 block `/n` is the mapped block `/96+n`. A `PrefixSet` is the blocks as sorted,
//! merged inclusive ranges, built once per snapshot; a lookup is one binary search, with no
//! allocation.
//!
//! An empty WHITE list admits nobody: Huawei's access-control page says "once a whitelist is
//! added, only IP addresses in the whitelist can access the listener", and failing closed is
//! the safe reading. An empty BLACK list refuses nobody.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::validate::Invalid;

/// WHITE: only the group's blocks are admitted; BLACK: the group's blocks are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AccessKind {
    #[default]
    White,
    Black,
}

/// A CIDR block, parsed and checked (no host bits set). A bare address is its /32 or /128.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    addr: IpAddr,
    len: u8,
}

const MAPPED: u128 = 0xffff_0000_0000;

/// `ip` in the one 128-bit space (IPv4 and IPv4-mapped IPv6 as `::ffff:a.b.c.d`).
pub fn key(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => MAPPED | u128::from(u32::from(a)),
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => MAPPED | u128::from(u32::from(v4)),
            None => u128::from(a),
        },
    }
}

impl Cidr {
    /// Parse `a.b.c.d/n`, `a.b.c.d`, `x::y/n` or `x::y`. `field` names the value in the error.
    pub fn parse(field: &str, s: &str) -> Result<Cidr, Invalid> {
        let bad = |why: &str| Invalid::new(field, format!("'{s}' {why}"));
        let (ip, len) = match s.split_once('/') {
            Some((ip, len)) => (ip, Some(len)),
            None => (s, None),
        };
        let addr: IpAddr = ip
            .parse()
            .map_err(|_| bad("is not an IPv4 or IPv6 address or CIDR block"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = match len {
            None => max,
            Some(l) if !l.is_empty() && l.len() <= 3 && l.bytes().all(|b| b.is_ascii_digit()) => l
                .parse::<u8>()
                .map_err(|_| bad("has a bad prefix length"))?,
            Some(_) => return Err(bad("has a bad prefix length")),
        };
        if len > max {
            return Err(bad(&format!("has a prefix length above {max}")));
        }
        let c = Cidr { addr, len };
        let (lo, _) = c.range();
        if lo != key(addr) {
            return Err(bad("has host bits set (use the network address)"));
        }
        Ok(c)
    }

    pub fn is_ipv4(&self) -> bool {
        self.addr.is_ipv4()
    }

    /// The block as an inclusive range of the 128-bit space.
    pub fn range(&self) -> (u128, u128) {
        let (base, len) = match self.addr {
            IpAddr::V4(a) => (MAPPED | u128::from(u32::from(a)), 96 + u32::from(self.len)),
            IpAddr::V6(a) => (u128::from(a), u32::from(self.len)),
        };
        let host = u128::MAX.checked_shr(len).unwrap_or(0);
        (base & !host, base | host)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// A set of blocks as sorted, disjoint, non-adjacent inclusive ranges.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PrefixSet {
    ranges: Vec<(u128, u128)>,
}

impl PrefixSet {
    pub fn new(blocks: impl IntoIterator<Item = Cidr>) -> Self {
        Self::merge(blocks.into_iter().map(|c| c.range()).collect())
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The set as sorted, disjoint inclusive ranges of the 128-bit space.
    pub fn ranges(&self) -> &[(u128, u128)] {
        &self.ranges
    }

    /// A set of inclusive ranges (any order, overlaps allowed; an inverted one is dropped), as
    /// `ranges` gives them.
    pub fn from_ranges(ranges: impl IntoIterator<Item = (u128, u128)>) -> Self {
        Self::merge(ranges.into_iter().filter(|(lo, hi)| lo <= hi).collect())
    }

    fn merge(mut r: Vec<(u128, u128)>) -> Self {
        r.sort_unstable();
        let mut ranges: Vec<(u128, u128)> = Vec::with_capacity(r.len());
        for (lo, hi) in r {
            match ranges.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => ranges.push((lo, hi)),
            }
        }
        Self { ranges }
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let k = key(ip);
        let i = self.ranges.partition_point(|&(lo, _)| lo <= k);
        i > 0 && self.ranges[i - 1].1 >= k
    }
}

/// A listener's access rule, as the edge enforces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessSpec {
    pub ip_group_id: String,
    pub kind: AccessKind,
    pub set: PrefixSet,
}

impl AccessSpec {
    /// Whether a client at `ip` may open a connection or a flow.
    pub fn admits(&self, ip: IpAddr) -> bool {
        match self.kind {
            AccessKind::White => self.set.contains(ip),
            AccessKind::Black => !self.set.contains(ip),
        }
    }
}

#[cfg(test)]
#[path = "acl_tests.rs"]
mod tests;
