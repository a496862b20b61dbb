//! Sealing primitives: round trip, wrong key, tampered and moved ciphertext, rotation.

use super::*;

fn ring() -> Keyring {
    Keyring::generate()
}

#[test]
fn round_trip_with_a_fresh_nonce_each_time() {
    let r = ring();
    let a = seal(r.current(), FIELD_SECRET, "AKID1", "s3cret").unwrap();
    let b = seal(r.current(), FIELD_SECRET, "AKID1", "s3cret").unwrap();
    assert_ne!(a, b, "every seal draws a new nonce");
    assert!(
        a.starts_with(&format!("sealed:v1:{}:", r.current().id())),
        "{a}"
    );
    assert!(!a.contains("s3cret"));
    assert_eq!(sealed_key_id(&a), Some(r.current().id()));
    assert_eq!(open(&r, FIELD_SECRET, "AKID1", &a).unwrap(), "s3cret");
    assert_eq!(open(&r, FIELD_SECRET, "AKID1", &b).unwrap(), "s3cret");
}

#[test]
fn a_wrong_key_is_named_not_guessed() {
    let (r, other) = (ring(), ring());
    let s = seal(r.current(), FIELD_SECRET, "AKID1", "x").unwrap();
    assert_eq!(
        open(&other, FIELD_SECRET, "AKID1", &s),
        Err(OpenError::UnknownKey(r.current().id().to_string()))
    );
}

#[test]
fn tampered_or_moved_ciphertext_does_not_open() {
    let r = ring();
    let s = seal(r.current(), FIELD_SECRET, "AKID1", "secret-value").unwrap();
    // Flip one bit of the ciphertext.
    let (head, data) = s.rsplit_once(':').unwrap();
    let mut bytes = B64.decode(data).unwrap();
    bytes[NONCE_LEN] ^= 1;
    let tampered = format!("{head}:{}", B64.encode(&bytes));
    let rejected = Err(OpenError::Rejected(r.current().id().to_string()));
    assert_eq!(open(&r, FIELD_SECRET, "AKID1", &tampered), rejected);
    // Moved to another key record, or to the other field of the same record.
    assert_eq!(open(&r, FIELD_SECRET, "AKID2", &s), rejected);
    assert_eq!(open(&r, FIELD_PREVIOUS, "AKID1", &s), rejected);
    for bad in [
        "sealed:v1:",
        "sealed:v1:mk-x",
        "sealed:v2:a:b",
        "sealed:v1:id:!!!",
    ] {
        let e = open(&r, FIELD_SECRET, "AKID1", bad).unwrap_err();
        assert!(
            matches!(e, OpenError::Malformed | OpenError::UnknownKey(_)),
            "{bad}: {e:?}"
        );
    }
    let short = format!("sealed:v1:{}:{}", r.current().id(), B64.encode([0u8; 4]));
    assert_eq!(
        open(&r, FIELD_SECRET, "AKID1", &short),
        Err(OpenError::Malformed)
    );
}

#[test]
fn a_rotated_ring_opens_old_seals_and_seals_with_the_new_key() {
    let old = ring();
    let s_old = seal(old.current(), FIELD_SECRET, "AKID1", "v").unwrap();
    let new = old.rotated_to(MasterKey::generate());
    assert_eq!(open(&new, FIELD_SECRET, "AKID1", &s_old).unwrap(), "v");
    let s_new = seal(new.current(), FIELD_SECRET, "AKID1", "v").unwrap();
    assert_eq!(sealed_key_id(&s_new), Some(new.current().id()));
    let dropped = new.current_only();
    assert!(matches!(
        open(&dropped, FIELD_SECRET, "AKID1", &s_old),
        Err(OpenError::UnknownKey(_))
    ));
    assert_eq!(open(&dropped, FIELD_SECRET, "AKID1", &s_new).unwrap(), "v");
}

#[test]
fn key_records_seal_both_secrets_and_refuse_double_sealing() {
    let r = ring();
    let mut k = ApiKey {
        secret_id: "AKID1".into(),
        secret_key: "now".into(),
        previous_secret_key: "before".into(),
        ..Default::default()
    };
    let plain = k.clone();
    let recs = [Record::Key(k.clone())];
    assert!(has_plain_secrets(&recs));
    seal_key(&mut k, r.current()).unwrap();
    let recs = [Record::Key(k.clone())];
    assert!(!has_plain_secrets(&recs));
    assert_eq!(
        sealed_key_ids(&recs).into_iter().collect::<Vec<_>>(),
        [r.current().id()]
    );
    assert!(seal_key(&mut k.clone(), r.current()).is_err());
    open_key(&mut k, &r).unwrap();
    assert_eq!(k, plain);
    // An empty previous secret stays empty (= none).
    let mut none = ApiKey {
        secret_id: "AKID2".into(),
        secret_key: "x".into(),
        ..Default::default()
    };
    seal_key(&mut none, r.current()).unwrap();
    assert!(none.previous_secret_key.is_empty());
}
