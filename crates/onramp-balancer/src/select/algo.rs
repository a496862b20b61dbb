//! The scheduling algorithms, run over the backends that the current pick marked eligible.
//!
//! All of them are deterministic. `rr`, `lc` and `lrtt` share one scan: starting at the
//! round-robin cursor, walk every backend once and keep the first eligible one with the smallest
//! key; the cursor then moves past the chosen backend, so ties are broken round-robin.
//! `wrr` is the smooth weighted round robin used by nginx: over any window of `sum(weights)`
//! picks (with a constant eligible set) each backend is chosen exactly `weight` times, spread out
//! rather than in bursts.

use std::cmp::Ordering;

use super::{BackendSpec, Slot};
use crate::maglev::Maglev;

/// `active / weight` compared exactly by cross-multiplication (a zero weight sorts last).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Load {
    active: u64,
    weight: u64,
}

impl Load {
    pub(crate) fn new(active: u32, weight: u32) -> Self {
        Self {
            active: u64::from(active),
            weight: u64::from(weight),
        }
    }
}

impl Ord for Load {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.weight, other.weight) {
            (0, 0) => Ordering::Equal,
            (0, _) => Ordering::Greater,
            (_, 0) => Ordering::Less,
            _ => (u128::from(self.active) * u128::from(other.weight))
                .cmp(&(u128::from(other.active) * u128::from(self.weight))),
        }
    }
}

impl PartialOrd for Load {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Load {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Load {}

/// The eligible backend with the smallest `key`, scanning from `cursor`; ties go to the first
/// one met, and the cursor moves just past the winner.
pub(crate) fn least_from_cursor<K: Ord>(
    slots: &[Slot],
    cursor: &mut usize,
    key: impl Fn(usize, &Slot) -> K,
) -> Option<usize> {
    let n = slots.len();
    if n == 0 {
        return None;
    }
    let start = *cursor % n;
    let order = slots
        .iter()
        .enumerate()
        .skip(start)
        .chain(slots.iter().enumerate().take(start));
    let mut best: Option<(K, usize)> = None;
    for (i, slot) in order.filter(|(_, s)| s.ok) {
        let k = key(i, slot);
        if best.as_ref().is_none_or(|(bk, _)| k < *bk) {
            best = Some((k, i));
        }
    }
    let (_, winner) = best?;
    *cursor = winner.wrapping_add(1) % n;
    Some(winner)
}

/// Plain round robin over the eligible backends.
pub(crate) fn round_robin(slots: &[Slot], cursor: &mut usize) -> Option<usize> {
    least_from_cursor(slots, cursor, |_, _| ())
}

/// Least connections, relative to weight (`active / weight`), ties round robin.
pub(crate) fn least_connections(
    slots: &[Slot],
    specs: &[BackendSpec],
    cursor: &mut usize,
) -> Option<usize> {
    least_from_cursor(slots, cursor, |i, s| {
        Load::new(s.live.active, specs.get(i).map_or(0, |b| b.weight))
    })
}

/// Least measured round-trip time; unmeasured backends after every measured one; ties round robin.
pub(crate) fn least_rtt(slots: &[Slot], cursor: &mut usize) -> Option<usize> {
    least_from_cursor(slots, cursor, |_, s| match s.live.rtt_us {
        Some(rtt) => (false, rtt),
        None => (true, 0),
    })
}

/// Smooth weighted round robin (nginx): every eligible backend gains its weight, the one with
/// the largest running value wins and pays back the total.
pub(crate) fn smooth_wrr(
    slots: &[Slot],
    specs: &[BackendSpec],
    current: &mut Vec<i64>,
) -> Option<usize> {
    current.resize(slots.len(), 0);
    let mut total: i64 = 0;
    let mut best: Option<(i64, usize)> = None;
    let rows = slots.iter().zip(specs).zip(current.iter_mut()).enumerate();
    for (i, ((slot, spec), cur)) in rows {
        if !slot.ok {
            continue;
        }
        let w = i64::from(spec.weight);
        *cur = cur.saturating_add(w);
        total = total.saturating_add(w);
        if best.is_none_or(|(bv, _)| *cur > bv) {
            best = Some((*cur, i));
        }
    }
    let (_, winner) = best?;
    if let Some(cur) = current.get_mut(winner) {
        *cur = cur.saturating_sub(total);
    }
    Some(winner)
}

/// Source affinity: the Maglev owner of the client's slot, or the owner of the first following
/// slot whose backend is eligible (at most one pass over the table).
pub(crate) fn maglev_probe(slots: &[Slot], table: &Maglev, hash: u64) -> Option<usize> {
    let m = table.size();
    let m64 = u64::try_from(m).ok().filter(|&m| m > 0)?;
    let start = usize::try_from(hash % m64).ok()?;
    (start..m).chain(0..start).find_map(|slot| {
        let owner = table.slot_owner(slot)?;
        slots.get(owner).filter(|s| s.ok).map(|_| owner)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_orders_by_ratio() {
        assert!(Load::new(1, 2) < Load::new(1, 1));
        assert_eq!(Load::new(2, 4), Load::new(1, 2));
        assert!(Load::new(0, 0) > Load::new(u32::MAX, 1));
        assert!(Load::new(u32::MAX, u32::MAX) < Load::new(2, 1));
    }
}
