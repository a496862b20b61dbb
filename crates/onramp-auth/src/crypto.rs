//! Hash and HMAC primitives shared by the signature modules, plus the
//! constant-time comparison used to check signatures.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Lowercase hex SHA-256 of `data`.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Raw HMAC-SHA256 of `msg` under `key`.
pub(crate) fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail; the
    // empty fallback only exists to avoid a panic path.
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(msg);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// Raw HMAC-SHA1 of `msg` under `key`.
pub(crate) fn hmac_sha1(key: &[u8], msg: &[u8]) -> Vec<u8> {
    match Hmac::<Sha1>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(msg);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// Constant-time comparison of two signature strings (hex or base64).
///
/// Returns `false` when the lengths differ or when `expected` is empty.
/// The comparison time depends only on the lengths, not on the content.
pub fn verify_hex(expected: &str, given: &str) -> bool {
    if expected.is_empty() {
        return false;
    }
    bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_sha256() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn verify_hex_compares_exactly() {
        assert!(verify_hex("abcd", "abcd"));
        assert!(!verify_hex("abcd", "abce"));
        assert!(!verify_hex("abcd", "abc"));
        assert!(!verify_hex("", ""));
    }
}
