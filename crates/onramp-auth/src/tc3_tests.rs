//! Unit tests for [`super`] (TC3-HMAC-SHA256). The fixed vectors were
//! computed independently with Python `hmac`/`hashlib` following the
//! reference algorithm step by step.

use super::*;

const DOC_KEY: &str = "Gu5t9xGARNpq86cd98joQYCN3Cozk1qA";

fn hdrs(ct: &str, host: &str) -> Vec<(String, String)> {
    vec![
        ("content-type".to_string(), ct.to_string()),
        ("host".to_string(), host.to_string()),
    ]
}

fn req<'a>(
    method: &'a str,
    query: &'a str,
    headers: &'a [(String, String)],
    body: &[u8],
    timestamp: i64,
) -> Tc3Request<'a> {
    Tc3Request {
        method,
        canonical_uri: "/",
        canonical_query: query,
        headers,
        payload_hash: payload_hash(body),
        timestamp,
        service: "gaap",
    }
}

#[test]
fn get_with_query_vector() {
    let h = hdrs(
        "application/x-www-form-urlencoded",
        "gaap.tencentcloudapi.com",
    );
    let q = "Limit=10&Offset=0&Filters.0.Name=RealServerIP&Filters.0.Values.0=1.1.1.1";
    let r = req("GET", q, &h, b"", 1_700_000_000);
    assert_eq!(
        canonical_request(&r),
        "GET\n/\nLimit=10&Offset=0&Filters.0.Name=RealServerIP&Filters.0.Values.0=1.1.1.1\n\
         content-type:application/x-www-form-urlencoded\nhost:gaap.tencentcloudapi.com\n\n\
         content-type;host\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        string_to_sign(&r, "2023-11-14"),
        "TC3-HMAC-SHA256\n1700000000\n2023-11-14/gaap/tc3_request\n\
         be8a990db0fde6307755377d17be9b85a9d4091107683b2e2ac39b79808b749f"
    );
    assert_eq!(
        sign(DOC_KEY, &r),
        "c92d09166621338c935da08c2f0c8a9e8396617fad8dff5f6a25cb2c428c6276"
    );
}

#[test]
fn post_json_vector() {
    let h = hdrs("application/json", "gaap.tencentcloudapi.com");
    let r = req(
        "POST",
        "",
        &h,
        br#"{"ProxyId": "link-abc", "Limit": 20}"#,
        1_700_000_000,
    );
    assert_eq!(
        r.payload_hash,
        "228ec48555a31ab2ade04acd6c0920a383c50d2f5b67a5987cb3e851951e1810"
    );
    assert_eq!(
        sign(DOC_KEY, &r),
        "ba206f7b6fafdfd4f592b1ddbd4a5a7594810ce7dbfe6502687d7bc5036b9d95"
    );
}

#[test]
fn literal_http_host_vector() {
    let h = hdrs("application/json", "http://127.0.0.1:8080");
    let r = req("POST", "", &h, br#"{"Limit": 20}"#, 1_551_113_065);
    assert!(canonical_request(&r).contains("\nhost:http://127.0.0.1:8080\n\n"));
    assert_eq!(
        sign("secretKeyBar", &r),
        "3ce9183e79fc30ffba66e0ef244561da604c5001728972a1bbea6f9efdd100b3"
    );
}

#[test]
fn authorization_roundtrip() {
    let h = hdrs("application/json", "127.0.0.1:8080");
    let r = req("POST", "", &h, b"{}", 1_551_113_065);
    let header = authorization_header("AKIDtest", "sk", &r);
    let auth = parse_authorization(&header).unwrap();
    assert_eq!(auth.secret_id, "AKIDtest");
    assert_eq!(auth.date, "2019-02-25");
    assert_eq!(auth.service, "gaap");
    assert_eq!(auth.signed_headers, vec!["content-type", "host"]);
    assert!(verify_hex(&sign("sk", &r), &auth.signature));
    assert!(!verify_hex(&sign("other", &r), &auth.signature));
    assert!(check_scope(&auth, 1_551_113_065, "gaap").is_ok());
    assert_eq!(
        check_scope(&auth, 1_551_113_065 + 86_400, "gaap"),
        Err(AuthError::BadDate)
    );
    assert!(check_scope(&auth, 1_551_113_065, "cvm").is_err());
}

#[test]
fn parse_tolerates_whitespace() {
    let a = parse_authorization(
        "  TC3-HMAC-SHA256   Credential=AK/2024-01-01/gaap/tc3_request ,SignedHeaders=Content-Type;host ,  Signature=ABCDEF01 ",
    )
    .unwrap();
    assert_eq!(a.secret_id, "AK");
    assert_eq!(a.signed_headers, vec!["content-type", "host"]);
    assert_eq!(a.signature, "abcdef01");
}

#[test]
fn parse_rejects_malformed() {
    let bad = [
        "",
        "TC3-HMAC-SHA256",
        "SKIP",
        "HMAC-SHA256 Credential=AK/2024-01-01/gaap/tc3_request, SignedHeaders=host, Signature=ab",
        "TC3-HMAC-SHA256 Credential=AK/2024-01-01/gaap, SignedHeaders=host, Signature=ab",
        "TC3-HMAC-SHA256 Credential=AK/2024-01-01/gaap/tc3_requestx, SignedHeaders=host, Signature=ab",
        "TC3-HMAC-SHA256 Credential=/2024-01-01/gaap/tc3_request, SignedHeaders=host, Signature=ab",
        "TC3-HMAC-SHA256 Credential=AK/2024-01-01/gaap/tc3_request, SignedHeaders=host",
        "TC3-HMAC-SHA256 Credential=AK/2024-01-01/gaap/tc3_request, SignedHeaders=, Signature=ab",
        "TC3-HMAC-SHA256 Credential=AK/2024-01-01/gaap/tc3_request, SignedHeaders=a;;b, Signature=ab",
        "TC3-HMAC-SHA256 Credential=AK/2024-01-01/gaap/tc3_request, SignedHeaders=host, Signature=zz",
        "TC3-HMAC-SHA256 Credential=AK/2024-01-01/gaap/tc3_request, SignedHeaders=host, Signature",
        "TC3-HMAC-SHA256 Credential=AK/d/gaap/tc3_request, Credential=AK/d/gaap/tc3_request, SignedHeaders=host, Signature=ab",
    ];
    for h in bad {
        assert!(parse_authorization(h).is_err(), "accepted {h:?}");
    }
}

#[test]
fn dates() {
    assert_eq!(date_of(0).as_deref(), Some("1970-01-01"));
    assert_eq!(date_of(1_551_113_065).as_deref(), Some("2019-02-25"));
    assert_eq!(date_of(1_700_000_000).as_deref(), Some("2023-11-14"));
    assert_eq!(date_of(i64::MAX), None);
    assert_eq!(date_of(i64::MIN), None);
    // Signing with an undated timestamp must not panic.
    let h = hdrs("a", "b");
    let r = req("POST", "", &h, b"", i64::MAX);
    assert_eq!(sign("k", &r).len(), 64);
}
