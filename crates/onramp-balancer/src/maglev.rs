//! Maglev consistent hashing (Eisenbud et al., NSDI'16, §3.4).
//!
//! A lookup table of prime size `M` is filled so that each backend owns a share of slots
//! proportional to its weight, and a client hash is mapped to a backend with one array index.
//! Each backend walks its own permutation of the slots, `offset = h1(key) mod M`,
//! `skip = h2(key) mod (M-1) + 1`, and the backends take turns claiming the next free slot of
//! their permutation. With weights, a backend's quota after round `r` is
//! `ceil(r * weight / max_weight)`; it claims slots until it meets that quota, so the
//! heaviest backend claims exactly one slot per round and every backend ends within one slot of
//! `M * weight / total_weight`. With equal weights this is exactly the paper's algorithm.
//!
//! Zero-weight backends own no slots; if every weight is zero the table is empty and
//! [`Maglev::lookup`] returns `None`.

use crate::hash::{hash_bytes, hash_bytes_alt};

/// The smallest table size used by the selector (a prime, as the paper recommends).
pub const DEFAULT_MIN_SIZE: usize = 65_537;
/// Upper bound on the requested table size; larger requests are clamped (64 MiB of table).
pub const MAX_SIZE: usize = 1 << 24;
/// The largest prime below 2^64 (2^64 - 59).
pub const LARGEST_U64_PRIME: u64 = 18_446_744_073_709_551_557;
/// Marker for a slot that no backend owns.
const EMPTY: u32 = u32::MAX;

/// A Maglev lookup table over a fixed list of backends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Maglev {
    table: Vec<u32>,
}

/// One backend's walk over the slots while the table is being filled.
struct Walk {
    index: u32,
    cur: u64,
    skip: u64,
    weight: u64,
    filled: u64,
}

impl Maglev {
    /// Build the table for `keys_and_weights` (index `i` of the slice is backend `i`).
    ///
    /// The size is the smallest prime at or above `min_size × 2^k`, for the smallest `k` that
    /// makes it greater than 100 × the number of backends (the paper's rule for at most 1 %
    /// imbalance); the doubling stops at [`MAX_SIZE`]. Stepping by doubling keeps the size (and
    /// so the mapping) unchanged when one backend is added or removed, except across a step.
    pub fn new(keys_and_weights: &[(String, u32)], min_size: usize) -> Self {
        let m = table_size(keys_and_weights.len(), min_size);
        let mut walks: Vec<Walk> = keys_and_weights
            .iter()
            .enumerate()
            .filter(|(_, (_, w))| *w > 0)
            .filter_map(|(i, (key, w))| {
                let index = u32::try_from(i).ok().filter(|&x| x != EMPTY)?;
                let offset = hash_bytes(key.as_bytes()) % m;
                let skip = hash_bytes_alt(key.as_bytes()) % (m - 1) + 1;
                Some(Walk {
                    index,
                    cur: offset,
                    skip,
                    weight: u64::from(*w),
                    filled: 0,
                })
            })
            .collect();
        if walks.is_empty() {
            return Self { table: Vec::new() };
        }
        let len = usize::try_from(m).unwrap_or(MAX_SIZE);
        Self {
            table: fill(&mut walks, len),
        }
    }

    /// Number of slots (0 when no backend has a positive weight).
    pub fn size(&self) -> usize {
        self.table.len()
    }

    /// The backend that owns the slot `hash mod size`, or `None` for an empty table.
    pub fn lookup(&self, hash: u64) -> Option<usize> {
        let m = u64::try_from(self.table.len()).ok().filter(|&m| m > 0)?;
        let slot = usize::try_from(hash % m).ok()?;
        self.slot_owner(slot)
    }

    /// The backend that owns `slot`, or `None` when the slot is out of range or unowned.
    pub fn slot_owner(&self, slot: usize) -> Option<usize> {
        let owner = *self.table.get(slot)?;
        if owner == EMPTY {
            None
        } else {
            usize::try_from(owner).ok()
        }
    }
}

/// The table size for `n` backends and a requested minimum (always a prime ≥ 2).
///
/// The size doubles from `min_size` until it exceeds `100 × n`, then rounds up to a prime. The
/// coarse steps matter: if the size followed `n` exactly, adding or removing one backend of a
/// large listener would change `M` and remap every client.
fn table_size(n: usize, min_size: usize) -> u64 {
    let by_count = n.saturating_mul(100);
    let mut wanted = min_size.clamp(2, MAX_SIZE);
    while wanted <= by_count && wanted < MAX_SIZE {
        wanted = wanted.saturating_mul(2).min(MAX_SIZE);
    }
    next_prime(u64::try_from(wanted).unwrap_or(2))
}

/// Fill a table of `len` slots by letting the backends claim slots in weighted rounds.
fn fill(walks: &mut [Walk], len: usize) -> Vec<u32> {
    let mut table = vec![EMPTY; len];
    let m = u64::try_from(len).unwrap_or(1);
    let max_w = walks.iter().map(|w| w.weight).max().unwrap_or(1).max(1);
    let mut free = len;
    let mut round: u128 = 0;
    // Every round the heaviest backend claims one slot, so `len` rounds always fill the table.
    while free > 0 && round < len as u128 {
        round += 1;
        for walk in walks.iter_mut() {
            while free > 0
                && u128::from(walk.filled) * u128::from(max_w) < round * u128::from(walk.weight)
            {
                if !claim(walk, &mut table, m) {
                    return table;
                }
                free -= 1;
            }
        }
    }
    table
}

/// Advance `walk` to its next free slot and claim it. Returns false if no free slot was found
/// within `m` steps (cannot happen while the table has a free slot, since `m` is prime).
fn claim(walk: &mut Walk, table: &mut [u32], m: u64) -> bool {
    for _ in 0..m {
        let slot = usize::try_from(walk.cur)
            .ok()
            .and_then(|s| table.get_mut(s));
        walk.cur = (walk.cur + walk.skip) % m;
        if let Some(entry) = slot {
            if *entry == EMPTY {
                *entry = walk.index;
                walk.filled += 1;
                return true;
            }
        }
    }
    false
}

/// `a * b mod m` without overflow.
fn mul_mod(a: u64, b: u64, m: u64) -> u64 {
    let r = u128::from(a) * u128::from(b) % u128::from(m);
    u64::try_from(r).unwrap_or(0)
}

/// `base^exp mod m`.
fn pow_mod(mut base: u64, mut exp: u64, m: u64) -> u64 {
    let mut acc = 1 % m;
    base %= m;
    while exp > 0 {
        if exp & 1 == 1 {
            acc = mul_mod(acc, base, m);
        }
        base = mul_mod(base, base, m);
        exp >>= 1;
    }
    acc
}

/// Deterministic primality test for every `u64` (Miller–Rabin with the first twelve prime
/// bases, which is exact below 3.3 × 10^24).
pub fn is_prime(n: u64) -> bool {
    const BASES: [u64; 12] = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37];
    if n < 2 {
        return false;
    }
    for p in BASES {
        if n % p == 0 {
            return n == p;
        }
    }
    let s = (n - 1).trailing_zeros();
    let d = (n - 1) >> s;
    BASES.iter().all(|&a| {
        let mut x = pow_mod(a, d, n);
        if x == 1 || x == n - 1 {
            return true;
        }
        for _ in 1..s {
            x = mul_mod(x, x, n);
            if x == n - 1 {
                return true;
            }
        }
        false
    })
}

/// The smallest prime `≥ n`. Saturates: for `n` above [`LARGEST_U64_PRIME`] (no larger prime fits
/// in a `u64`) it returns [`LARGEST_U64_PRIME`].
pub fn next_prime(n: u64) -> u64 {
    if n <= 2 {
        return 2;
    }
    if n > LARGEST_U64_PRIME {
        return LARGEST_U64_PRIME;
    }
    let mut c = n | 1;
    while !is_prime(c) {
        c = match c.checked_add(2) {
            Some(next) => next,
            None => return LARGEST_U64_PRIME,
        };
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primes_agree_with_trial_division() {
        let slow = |n: u64| n >= 2 && (2..n).take_while(|d| d * d <= n).all(|d| n % d != 0);
        for n in 0..5_000 {
            assert_eq!(is_prime(n), slow(n), "n = {n}");
        }
    }

    #[test]
    fn known_primes_and_next_prime() {
        assert!(is_prime(65_537));
        assert!(is_prime(655_373));
        assert!(is_prime(LARGEST_U64_PRIME));
        assert!(!is_prime(u64::MAX));
        assert!(!is_prime(3_215_031_751)); // strong pseudoprime to bases 2, 3, 5, 7
        assert_eq!(next_prime(0), 2);
        assert_eq!(next_prime(65_536), 65_537);
        assert_eq!(next_prime(65_537), 65_537);
        assert_eq!(next_prime(65_538), 65_539);
        assert_eq!(next_prime(u64::MAX), LARGEST_U64_PRIME);
    }

    #[test]
    fn table_size_rule() {
        assert_eq!(table_size(0, DEFAULT_MIN_SIZE), 65_537);
        assert_eq!(table_size(655, DEFAULT_MIN_SIZE), 65_537);
        assert_eq!(table_size(656, DEFAULT_MIN_SIZE), next_prime(131_074));
        let m = table_size(1_000, DEFAULT_MIN_SIZE);
        assert!(m > 100_000 && is_prime(m));
        assert_eq!(table_size(999, DEFAULT_MIN_SIZE), m);
        assert_eq!(table_size(3, 0), next_prime(512));
        assert!(table_size(usize::MAX, usize::MAX) >= MAX_SIZE as u64);
    }
}
