//! Resource identifiers in the shape of the dialect that created the resource.
//!
//! GAAP uses `link-`/`lg-`/`listener-`/`rs-` + 8 lower-case alphanumerics, BM LB `lb-`/`lbl-`,
//! Huawei GA 36-character UUIDs. IDs are random; uniqueness is enforced by the store's primary key.

use rand::Rng;

const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// `prefix-` followed by 8 random lower-case alphanumerics, e.g. `listener-o0f3at99`.
pub fn short(prefix: &str) -> String {
    let mut rng = rand::thread_rng();
    let mut s = String::with_capacity(prefix.len() + 9);
    s.push_str(prefix);
    s.push('-');
    for _ in 0..8 {
        s.push(ALPHABET[rng.gen_range(0..ALPHABET.len())] as char);
    }
    s
}

/// A random UUID v4 in its 36-character text form (Huawei IDs, request IDs).
pub fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A task number (BM `requestId`): random, in the range of the documented examples (6 digits and
/// up) and of a signed 32-bit integer, which clients parse it as.
pub fn task_number() -> u64 {
    rand::thread_rng().gen_range(100_000..=i32::MAX as u64)
}

/// 32 lower-case hex characters (Huawei `domain_id`).
pub fn hex32() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

pub const PROXY: &str = "link";
pub const GROUP: &str = "lg";
pub const LISTENER: &str = "listener";
pub const ORIGIN: &str = "rs";
pub const BM_LB: &str = "lb";
pub const BM_LISTENER: &str = "lbl";

/// Whether `s` is `prefix-` + 8 lower-case alphanumerics.
pub fn is_short(prefix: &str, s: &str) -> bool {
    s.strip_prefix(prefix)
        .and_then(|r| r.strip_prefix('-'))
        .is_some_and(|r| r.len() == 8 && r.bytes().all(|b| ALPHABET.contains(&b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ids_have_the_documented_shape() {
        for _ in 0..100 {
            let id = short(LISTENER);
            assert!(is_short(LISTENER, &id), "{id}");
            assert!(!is_short(PROXY, &id));
        }
        assert!(!is_short("rs", "rs-ABCDEFGH"));
        assert!(!is_short("rs", "rs-abc"));
        assert_eq!(uuid().len(), 36);
        assert_eq!(hex32().len(), 32);
    }
}
