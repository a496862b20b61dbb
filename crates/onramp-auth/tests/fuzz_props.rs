//! Property tests for the parsers and signers that face the network (issue 8, "fuzzing that
//! stays"): arbitrary input never panics, what our signer makes our parser reads back and our
//! verifier accepts, and any one-byte change of what was signed changes the signature.
//! Case counts are bounded so the suite stays fast in CI.

use onramp_auth::params::unflatten;
use onramp_auth::v1::V1Method;
use onramp_auth::{huawei, tc3, v1, verify_hex};
use proptest::prelude::*;
use serde_json::{Map, Value};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Replace byte `at % len` of `s` (ASCII) with a different printable ASCII byte.
fn mutate_ascii(s: &str, at: usize, to: u8) -> String {
    let mut b = s.as_bytes().to_vec();
    let i = at % b.len();
    let mut c = b' ' + to % 95;
    if c == b[i] {
        c = if c == b'~' { b' ' } else { c + 1 };
    }
    b[i] = c;
    String::from_utf8(b).expect("ASCII stays UTF-8")
}

/// Change byte `at % len` of `bytes`.
fn flip(bytes: &[u8], at: usize, xor: u8) -> Vec<u8> {
    let mut b = bytes.to_vec();
    let i = at % b.len();
    b[i] ^= xor.max(1);
    b
}

/// Signed headers: unique lowercase names with printable values.
fn signed_headers() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::btree_map("[a-z][a-z0-9-]{0,11}", "[!-~]([ -~]{0,22}[!-~])?", 1..5)
        .prop_map(|m| m.into_iter().collect())
}

/// `(key, value)` parameters as the v1 signers see them (unique keys, printable values).
fn v1_params() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::btree_map("[A-Za-z][A-Za-z0-9.]{0,11}", "[!-~]{1,16}", 1..10)
        .prop_map(|m| m.into_iter().collect())
}

fn tc3_request<'a>(
    headers: &'a [(String, String)],
    query: &'a str,
    body: &[u8],
    ts: i64,
    service: &'a str,
) -> tc3::Tc3Request<'a> {
    tc3::Tc3Request {
        method: "POST",
        canonical_uri: "/",
        canonical_query: query,
        headers,
        payload_hash: tc3::payload_hash(body),
        timestamp: ts,
        service,
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn authorization_parsers_take_anything(s in "\\PC{0,200}") {
        if let Ok(a) = tc3::parse_authorization(&s) {
            prop_assert!(s.contains(tc3::ALGORITHM));
            prop_assert!(!a.secret_id.is_empty() && !a.signature.is_empty());
            prop_assert!(a.signature.bytes().all(|b| b.is_ascii_hexdigit()));
        }
        if let Ok(a) = huawei::parse_authorization(&s) {
            prop_assert!(s.contains(huawei::ALGORITHM));
            prop_assert!(!a.access.is_empty() && !a.signed_headers.is_empty());
        }
    }

    #[test]
    fn tc3_sign_parse_verify_and_any_change_breaks_it(
        id in "[A-Za-z0-9]{1,40}",
        key in "[A-Za-z0-9]{1,40}",
        service in "[a-z]{1,10}",
        headers in signed_headers(),
        query in "[ -~]{0,40}",
        body in prop::collection::vec(any::<u8>(), 1..200),
        ts in 0i64..4_102_444_800,
        at in any::<usize>(),
        xor in any::<u8>(),
    ) {
        let r = tc3_request(&headers, &query, &body, ts, &service);
        let header = tc3::authorization_header(&id, &key, &r);
        let parsed = tc3::parse_authorization(&header).unwrap();
        prop_assert_eq!(&parsed.secret_id, &id);
        prop_assert_eq!(&parsed.service, &service);
        let names: Vec<String> = headers.iter().map(|(n, _)| n.clone()).collect();
        prop_assert_eq!(&parsed.signed_headers, &names);
        prop_assert!(tc3::check_scope(&parsed, ts, &service).is_ok());
        let sig = &parsed.signature;
        prop_assert!(verify_hex(&tc3::sign(&key, &r), sig));
        // Any one change of what was signed, of the key, or of the signature breaks it.
        let body2 = flip(&body, at, xor);
        prop_assert!(!verify_hex(&tc3::sign(&key, &tc3_request(&headers, &query, &body2, ts, &service)), sig));
        if !query.is_empty() {
            let q2 = mutate_ascii(&query, at, xor);
            prop_assert!(!verify_hex(&tc3::sign(&key, &tc3_request(&headers, &q2, &body, ts, &service)), sig));
        }
        let mut h2 = headers.clone();
        let i = at % h2.len();
        h2[i].1 = mutate_ascii(&h2[i].1, at / 3, xor);
        prop_assert!(!verify_hex(&tc3::sign(&key, &tc3_request(&h2, &query, &body, ts, &service)), sig));
        prop_assert!(!verify_hex(&tc3::sign(&key, &tc3_request(&headers, &query, &body, ts + 1, &service)), sig));
        prop_assert!(!verify_hex(&tc3::sign(&mutate_ascii(&key, at, xor), &r), sig));
        prop_assert!(!verify_hex(&tc3::sign(&key, &r), &mutate_ascii(sig, at, xor)));
    }

    #[test]
    fn tc3_truncated_or_mutated_headers_never_panic(
        headers in signed_headers(),
        at in any::<usize>(),
        xor in any::<u8>(),
        cut in any::<usize>(),
    ) {
        let r = tc3_request(&headers, "", b"{}", 1_700_000_000, "gaap");
        let header = tc3::authorization_header("AKID", "key", &r);
        let short = &header[..cut % header.len()];
        if let Ok(p) = tc3::parse_authorization(short) {
            prop_assert!(p.signature.bytes().all(|b| b.is_ascii_hexdigit()));
        }
        let _ = tc3::parse_authorization(&mutate_ascii(&header, at, xor));
    }

    #[test]
    fn v1_order_free_sign_verify_and_any_value_change_breaks_it(
        params in v1_params(),
        key in "[A-Za-z0-9]{1,40}",
        sha256 in any::<bool>(),
        rotate in any::<usize>(),
        at in any::<usize>(),
        xor in any::<u8>(),
    ) {
        let m = if sha256 { V1Method::HmacSha256 } else { V1Method::HmacSha1 };
        let host = "gaap.example.com";
        let s = v1::string_to_sign("GET", host, "/", &params);
        prop_assert!(s.starts_with("GETgaap.example.com/?"));
        let mut shuffled = params.clone();
        shuffled.rotate_left(rotate % params.len());
        prop_assert_eq!(&v1::string_to_sign("get", host, "/", &shuffled), &s);
        let sig = v1::sign(m, &key, &s);
        prop_assert!(v1::verify(m, &key, &s, &sig));
        // The Signature parameter itself is never part of what is signed.
        let mut with_sig = params.clone();
        with_sig.push((v1::SIGNATURE_PARAM.to_string(), sig.clone()));
        prop_assert_eq!(&v1::string_to_sign("GET", host, "/", &with_sig), &s);
        let i = at % params.len();
        let mut changed = params.clone();
        changed[i].1 = mutate_ascii(&changed[i].1, at / 7, xor);
        let s2 = v1::string_to_sign("GET", host, "/", &changed);
        prop_assert!(!v1::verify(m, &key, &s2, &sig));
        prop_assert!(!v1::verify(m, &key, &s, &mutate_ascii(&sig, at, xor)));
        let other = if sha256 { V1Method::HmacSha1 } else { V1Method::HmacSha256 };
        prop_assert!(!v1::verify(other, &key, &s, &sig));
    }

    #[test]
    fn v1_string_to_sign_takes_anything(
        method in "\\PC{0,8}", host in "\\PC{0,20}", path in "\\PC{0,20}",
        params in prop::collection::vec(("\\PC{0,12}", "\\PC{0,12}"), 0..12),
    ) {
        let s = v1::string_to_sign(&method, &host, &path, &params);
        let sig = v1::sign(V1Method::HmacSha1, "k", &s);
        prop_assert!(v1::verify(V1Method::HmacSha1, "k", &s, &sig));
        prop_assert!(!v1::verify(V1Method::HmacSha1, "k", &s, ""));
    }

    #[test]
    fn huawei_sign_parse_verify_and_any_change_breaks_it(
        ak in "[A-Z0-9]{1,30}",
        sk in "[A-Za-z0-9]{1,40}",
        path in "/v1/[a-z0-9/_-]{0,30}",
        query in "([a-z_]{1,8}=[ -~]{0,8}&){0,3}",
        headers in signed_headers(),
        body in prop::collection::vec(any::<u8>(), 1..200),
        ts in 0i64..253_402_300_799,
        at in any::<usize>(),
        xor in any::<u8>(),
    ) {
        let date = time::OffsetDateTime::from_unix_timestamp(ts).unwrap();
        let sdk_date = format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
            date.year(), u8::from(date.month()), date.day(), date.hour(), date.minute(), date.second()
        );
        prop_assert_eq!(huawei::parse_sdk_date(&sdk_date), Some(ts));
        let sign = |body: &[u8], path: &str| {
            let c = huawei::canonical_request("POST", path, &query, &headers, &huawei::payload_hash(body));
            huawei::sign(&sk, &huawei::string_to_sign(&sdk_date, &c))
        };
        let sig = sign(&body, &path);
        let names: Vec<String> = headers.iter().map(|(n, _)| n.clone()).collect();
        let header = huawei::format_authorization(&ak, &names, &sig);
        let parsed = huawei::parse_authorization(&header).unwrap();
        prop_assert_eq!(&parsed.access, &ak);
        prop_assert_eq!(&parsed.signed_headers, &names);
        prop_assert!(verify_hex(&sig, &parsed.signature));
        prop_assert!(!verify_hex(&sign(&flip(&body, at, xor), &path), &parsed.signature));
        let longer_path = path.clone() + "x";
        prop_assert!(!verify_hex(&sign(&body, &longer_path), &parsed.signature));
        prop_assert!(!verify_hex(&sig, &mutate_ascii(&parsed.signature, at, xor)));
    }

    #[test]
    fn huawei_date_parser_takes_anything(s in "[0-9TZ: -]{0,20}|\\PC{0,20}") {
        if let Some(ts) = huawei::parse_sdk_date(&s) {
            prop_assert!(s.len() == 16 && s.ends_with('Z'));
            prop_assert!(ts >= -62_167_219_200); // year 0 or later
        }
    }

    #[test]
    fn flattened_params_round_trip(v in nested()) {
        let mut pairs = Vec::new();
        flatten(&v, "", &mut pairs);
        prop_assert_eq!(unflatten(&pairs).unwrap(), v);
    }

    #[test]
    fn flattened_params_take_anything(
        pairs in prop::collection::vec(("[A-Za-z0-9._\\PC]{0,30}", "\\PC{0,10}"), 0..40)
    ) {
        if let Ok(v) = unflatten(&pairs) {
            prop_assert!(v.is_object());
            // A key without array positions is found again with its value.
            for (k, want) in &pairs {
                if k.split('.').skip(1).all(|s| !s.bytes().all(|b| b.is_ascii_digit())) {
                    prop_assert_eq!(lookup(&v, k), Some(want.as_str()), "key {}", k);
                }
            }
        }
    }
}

/// Nested objects and arrays with string leaves, as the flattened dialects can express them
/// (no empty containers, object keys never all digits).
fn nested() -> impl Strategy<Value = Value> {
    let leaf = "\\PC{0,12}".prop_map(Value::String);
    let tree = leaf.prop_recursive(4, 40, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..5).prop_map(Value::Array),
            prop::collection::btree_map("[A-Za-z][A-Za-z0-9]{0,6}", inner, 1..5)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    });
    prop::collection::btree_map("[A-Za-z][A-Za-z0-9]{0,6}", tree, 0..5)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
}

/// The encoder the SDKs use for GET and form requests: `A.0.B=v`.
fn flatten(v: &Value, prefix: &str, out: &mut Vec<(String, String)>) {
    let key = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match v {
        Value::Object(m) => m.iter().for_each(|(k, v)| flatten(v, &key(k), out)),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, v)| flatten(v, &key(&i.to_string()), out)),
        Value::String(s) => out.push((prefix.to_string(), s.clone())),
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

/// The leaf at dotted `key` (object fields only).
fn lookup<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    key.split('.')
        .try_fold(v, |node, seg| node.as_object()?.get(seg))?
        .as_str()
}
