//! Unit tests for [`super`] (legacy v1/v2 signatures): every vector of the
//! Black Stone LB reference §1.4 table.

use super::*;

const DOC_KEY: &str = "Gu5t9xGARNpq86cd98joQYCN3Cozk1qA";

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

/// The generic doc example, deliberately unsorted.
fn doc_params(with_method: bool) -> Vec<(String, String)> {
    let mut p = owned(&[
        ("limit", "20"),
        ("offset", "0"),
        ("instanceIds.0", "ins-09dx96dg"),
        ("Timestamp", "1465185768"),
        ("Action", "DescribeInstances"),
        ("Nonce", "11886"),
        ("Region", "gz"),
        ("SecretId", "AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA"),
        ("Signature", "ignored"),
    ]);
    if with_method {
        p.push(("SignatureMethod".into(), "HmacSHA256".into()));
    }
    p
}

#[test]
fn generic_doc_sha256() {
    let s = string_to_sign(
        "GET",
        "cvm.api.qcloud.com",
        "/v2/index.php",
        &doc_params(true),
    );
    assert_eq!(
        s,
        "GETcvm.api.qcloud.com/v2/index.php?Action=DescribeInstances&Nonce=11886&Region=gz\
         &SecretId=AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA&SignatureMethod=HmacSHA256\
         &Timestamp=1465185768&instanceIds.0=ins-09dx96dg&limit=20&offset=0"
    );
    let m = V1Method::from_param(Some("HmacSHA256"));
    assert_eq!(
        sign(m, DOC_KEY, &s),
        "PSWUwVv4TfW2sQP1FT9KbbLjIZ9bmK8f1cL6fbpf3KI="
    );
    assert!(verify(
        m,
        DOC_KEY,
        &s,
        "PSWUwVv4TfW2sQP1FT9KbbLjIZ9bmK8f1cL6fbpf3KI="
    ));
}

#[test]
fn generic_doc_sha1() {
    let s = string_to_sign(
        "get",
        "cvm.api.qcloud.com",
        "/v2/index.php",
        &doc_params(false),
    );
    assert!(!s.contains("SignatureMethod"));
    assert!(s.starts_with("GETcvm"));
    let m = V1Method::from_param(None);
    assert_eq!(sign(m, DOC_KEY, &s), "NSI3UqqD99b/UJb4tbG/xZpRW64=");
}

#[test]
fn bm_doc_raw_hmac() {
    let s = "GETbmeip.api.qcloud.com/v2/index.php?Action=EipBmBindRs&Nonce=11886&Region=gz\
             &SecretId=AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA&Timestamp=1465185768\
             &instanceId=cpm-09dx96dg&eipId=eip-testcpm";
    assert_eq!(
        sign(V1Method::HmacSha1, DOC_KEY, s),
        "iMn4MF6H0mDBCTOhx/t/LjMWs2g="
    );
}

fn sdk_params(method: &str) -> Vec<(String, String)> {
    owned(&[
        ("SecretId", "secretIdFoo"),
        ("Region", "ap-guangzhou"),
        ("SignatureMethod", method),
        ("Nonce", "1290303896666895346"),
        ("Timestamp", "1512393162"),
        ("Action", "DescribeInstances"),
        ("Version", "2017-03-12"),
    ])
}

fn sdk_case(http: &str, method: &str) -> String {
    let p = sdk_params(method);
    let s = string_to_sign(http, "cvm.api.qcloud.com", "/v2/index.php", &p);
    sign(V1Method::from_param(Some(method)), "secretKeyBar", &s)
}

#[test]
fn sdk_unit_test_vectors() {
    assert_eq!(sdk_case("POST", "HmacSHA1"), "p3n+pxBqF5JGZtDSxoVn5tGngf0=");
    assert_eq!(sdk_case("GET", "HmacSHA1"), "5HAq1BOKNLEE2/uauWnp6Zv9Z3c=");
    assert_eq!(
        sdk_case("POST", "HmacSHA256"),
        "B2T37FRSP6Fk0/q/cdfrTE0p3zX5ooB/2BPWZUFpsj4="
    );
}

#[test]
fn method_selection() {
    assert_eq!(
        V1Method::from_param(Some("HmacSHA256")),
        V1Method::HmacSha256
    );
    assert_eq!(V1Method::from_param(Some("hmacsha256")), V1Method::HmacSha1);
    assert_eq!(V1Method::from_param(Some("HmacSHA1")), V1Method::HmacSha1);
    assert_eq!(V1Method::from_param(Some("")), V1Method::HmacSha1);
    assert_eq!(V1Method::from_param(None), V1Method::HmacSha1);
    assert_eq!(V1Method::HmacSha256.as_param(), "HmacSHA256");
}

#[test]
fn underscore_and_at_rules() {
    let p = owned(&[
        ("b_c", "1"),
        ("a", "@file"),
        ("Signature", "x"),
        ("d", "a b&c"),
    ]);
    assert_eq!(string_to_sign("POST", "h", "/", &p), "POSTh/?b.c=1&d=a b&c");
    assert_eq!(
        string_to_sign("GET", "h", "/", &p),
        "GETh/?a=@file&b.c=1&d=a b&c"
    );
    assert_eq!(string_to_sign("GET", "h", "/", &[]), "GETh/?");
}

#[test]
fn verify_rejects_wrong() {
    let s = "GETh/?a=1";
    let good = sign(V1Method::HmacSha1, "k", s);
    assert!(verify(V1Method::HmacSha1, "k", s, &good));
    assert!(!verify(V1Method::HmacSha256, "k", s, &good));
    assert!(!verify(V1Method::HmacSha1, "k2", s, &good));
    assert!(!verify(V1Method::HmacSha1, "k", s, ""));
}

#[test]
fn form_decoded_wire_body() {
    // What the server sees on the wire (quote_plus encoding, `+` = space).
    let body = "name=a+b%26c&Action=X&Signature=abc%2B%2F%3D&Nonce=1";
    let params: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    assert_eq!(
        string_to_sign("POST", "127.0.0.1:18443", "/v2/index.php", &params),
        "POST127.0.0.1:18443/v2/index.php?Action=X&Nonce=1&name=a b&c"
    );
    let sig = params.iter().find(|(k, _)| k == SIGNATURE_PARAM).unwrap();
    assert_eq!(sig.1, "abc+/=");
}
