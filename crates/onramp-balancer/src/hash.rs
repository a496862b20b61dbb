//! Fixed, stable hashes.
//!
//! Affinity must map a client to the same origin on every edge and across restarts, so these
//! hashes never use a per-process random key. FNV-1a (64-bit) is run over the input bytes and the
//! result is passed through a 64-bit finaliser (the MurmurHash3 `fmix64` avalanche step) so that
//! nearby inputs (consecutive client addresses) spread over the whole `u64` range.
//!
//! Changing anything in this file changes which origin each client is mapped to: treat the output
//! as a stable format.

use std::net::IpAddr;

/// The FNV-1a 64-bit offset basis.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
/// The FNV-1a 64-bit prime.
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
/// Seed mixed into the basis of the second key hash, so the two Maglev hashes are independent.
const SECOND_SEED: u64 = 0x9e37_79b9_7f4a_7c15;

/// FNV-1a over `bytes`, starting from `basis`.
fn fnv1a(basis: u64, bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(basis, |h, &b| (h ^ u64::from(b)).wrapping_mul(FNV_PRIME))
}

/// A 64-bit avalanche finaliser: every input bit affects every output bit.
pub fn mix64(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^= x >> 33;
    x
}

/// Stable 64-bit hash of arbitrary bytes (FNV-1a, then [`mix64`]).
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    mix64(fnv1a(FNV_OFFSET, bytes))
}

/// A second stable hash of `bytes`, independent of [`hash_bytes`] (different basis and seed).
pub fn hash_bytes_alt(bytes: &[u8]) -> u64 {
    mix64(fnv1a(FNV_OFFSET ^ SECOND_SEED, bytes) ^ SECOND_SEED)
}

/// Stable hash of a client address for source affinity.
///
/// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) hashes like the IPv4 address it carries, so a
/// dual-stack listener maps a client the same way on either socket family.
pub fn client_hash(ip: IpAddr) -> u64 {
    match ip.to_canonical() {
        IpAddr::V4(v4) => hash_bytes(&v4.octets()),
        IpAddr::V6(v6) => hash_bytes(&v6.octets()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn fnv_matches_known_vectors() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(fnv1a(FNV_OFFSET, b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(FNV_OFFSET, b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(FNV_OFFSET, b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn hashes_are_stable_and_independent() {
        assert_eq!(hash_bytes(b"k"), hash_bytes(b"k"));
        assert_ne!(hash_bytes(b"k"), hash_bytes_alt(b"k"));
        assert_ne!(hash_bytes(b"k1"), hash_bytes(b"k2"));
    }

    #[test]
    fn mapped_v6_hashes_like_v4() {
        let v4 = Ipv4Addr::new(192, 0, 2, 7);
        let mapped: Ipv6Addr = v4.to_ipv6_mapped();
        assert_eq!(client_hash(IpAddr::V4(v4)), client_hash(IpAddr::V6(mapped)));
    }
}
