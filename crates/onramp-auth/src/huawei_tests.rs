//! Unit and property tests for [`super`] (SDK-HMAC-SHA256), including the
//! three reference vectors V1..V3 computed with the official SDK signer.

use super::*;
use proptest::prelude::*;

const SK: &str = "SKEXAMPLE00000000000000000000000000000000";
const DATE: &str = "20240101T000000Z";
const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn headers(project: bool) -> Vec<(String, String)> {
    let mut h = vec![
        ("content-type", "application/json"),
        ("host", "127.0.0.1:8080"),
        ("user-agent", "huaweicloud-usdk-python/3.0"),
    ];
    if project {
        h.push(("x-project-id", "p1"));
    }
    h.push(("x-sdk-date", DATE));
    h.into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn signature(method: &str, path: &str, query: &str, h: &[(String, String)], ph: &str) -> String {
    let cr = canonical_request(method, path, query, h, ph);
    sign(SK, &string_to_sign(DATE, &cr))
}

#[test]
fn vector_v1_get() {
    let h = headers(false);
    let path = "/v1/listeners/1b11747a-b139-492f-9692-2df0b1c87193";
    let cr = canonical_request("GET", path, "", &h, &payload_hash(b""));
    assert_eq!(
        cr,
        "GET\n/v1/listeners/1b11747a-b139-492f-9692-2df0b1c87193/\n\n\
         content-type:application/json\nhost:127.0.0.1:8080\n\
         user-agent:huaweicloud-usdk-python/3.0\nx-sdk-date:20240101T000000Z\n\n\
         content-type;host;user-agent;x-sdk-date\n"
            .to_string()
            + EMPTY
    );
    let sts = string_to_sign(DATE, &cr);
    assert!(sts.ends_with("\n813f20bb67b6d1abcec119527ddcc205815ece8f5294107c4e98a48d93b25cb2"));
    assert_eq!(
        sign(SK, &sts),
        "d7821ade6680d37713ecc339207d564e491e5a2ff4c11e72c591777e27839185"
    );
}

#[test]
fn vector_v2_query() {
    let h = headers(false);
    let sent = "accelerator_id=abc&limit=10&name=a%20b&page_reverse=true";
    assert_eq!(canonical_query(sent), sent);
    let shuffled = "page_reverse=true&name=a%20b&limit=10&accelerator_id=abc";
    assert_eq!(canonical_query(shuffled), sent);
    let want = "b54c37e03722b8f163089a3096874373d337a2a025abdd34ad180cdb5432ce7a";
    assert_eq!(signature("GET", "/v1/listeners", sent, &h, EMPTY), want);
    assert_eq!(signature("GET", "/v1/listeners", shuffled, &h, EMPTY), want);
}

#[test]
fn vector_v3_post() {
    let h = headers(true);
    let body = br#"{"listener": {"name": "l1", "protocol": "TCP", "port_ranges": [{"from_port": 80, "to_port": 80}], "accelerator_id": "abc"}}"#;
    let ph = payload_hash(body);
    assert_eq!(
        ph,
        "042a5597c6f1b05be63d21c6d230384cf9b933e519559c58f5d980248adb14bd"
    );
    assert_eq!(
        signature("POST", "/v1/listeners", "", &h, &ph),
        "d22c2160e6f5488cac2c018cbb9d74997f5bdfc6d28f60bafbd343c47ff076be"
    );
}

#[test]
fn header_values_are_trimmed() {
    let mut h = headers(false);
    h[1].1 = "  127.0.0.1:8080 \t".to_string();
    assert_eq!(
        signature("GET", "/v1/listeners", "", &h, EMPTY),
        signature("GET", "/v1/listeners", "", &headers(false), EMPTY)
    );
}

#[test]
fn uri_canonicalisation() {
    assert_eq!(canonical_uri(""), "/");
    assert_eq!(canonical_uri("/"), "/");
    assert_eq!(canonical_uri("/v1/a b/"), "/v1/a%20b/");
    assert_eq!(canonical_uri("/v1/a%20b"), "/v1/a%20b/");
    assert_eq!(canonical_uri("/v1/a%2Fb"), "/v1/a/b/");
    assert_eq!(canonical_uri("/x/~a_b.c-d"), "/x/~a_b.c-d/");
    assert_eq!(canonical_uri("/%E4%B8%AD"), "/%E4%B8%AD/");
    assert_eq!(canonical_uri("/%zz"), "/%25zz/");
}

#[test]
fn query_canonicalisation() {
    assert_eq!(canonical_query(""), "");
    assert_eq!(canonical_query("b=2&a=1&a=0"), "a=0&a=1&b=2");
    assert_eq!(canonical_query("&flag&&x=1&"), "flag=&x=1");
    assert_eq!(canonical_query("k=a+b"), "k=a%2Bb");
    assert_eq!(canonical_query("k=%7e%2a"), "k=~%2A");
}

#[test]
fn authorization_header() {
    let names: Vec<String> = headers(false).into_iter().map(|(k, _)| k).collect();
    let text = format_authorization("AKEXAMPLE0000000000", &names, "d7821ade");
    let a = parse_authorization(&text).unwrap();
    assert_eq!(a.access, "AKEXAMPLE0000000000");
    assert_eq!(a.signed_headers, names);
    assert_eq!(a.signature, "d7821ade");
    for bad in [
        "",
        "SDK-HMAC-SHA256",
        "SDK-HMAC-SM3 Access=a, SignedHeaders=host, Signature=ab",
        "SDK-HMAC-SHA256 Access=, SignedHeaders=host, Signature=ab",
        "SDK-HMAC-SHA256 Access=a, SignedHeaders=host",
        "SDK-HMAC-SHA256 Access=a, SignedHeaders=host, Signature=xyz",
        "SDK-HMAC-SHA256 Access=a SignedHeaders=host Signature=ab",
    ] {
        assert!(parse_authorization(bad).is_err(), "accepted {bad:?}");
    }
}

#[test]
fn sdk_dates() {
    assert_eq!(parse_sdk_date("20240101T000000Z"), Some(1_704_067_200));
    assert_eq!(parse_sdk_date("19700101T000001Z"), Some(1));
    for bad in [
        "",
        "20240101T000000",
        "2024-01-01T00:00:00Z",
        "20241301T000000Z",
        "20240101T250000Z",
        "20240101T000000Z ",
    ] {
        assert_eq!(parse_sdk_date(bad), None, "{bad:?}");
    }
}

proptest! {
    #[test]
    fn uri_never_panics(path in "\\PC*") {
        let out = canonical_uri(&path);
        prop_assert!(out.ends_with('/'));
    }

    #[test]
    fn query_never_panics(q in "[a-z%=&+0-9A-F\\PC]*") {
        let once = canonical_query(&q);
        prop_assert_eq!(canonical_query(&once), once.clone());
    }

    #[test]
    fn date_never_panics(s in "\\PC{0,20}") {
        let _ = parse_sdk_date(&s);
    }
}
