//! Huawei Cloud `SDK-HMAC-SHA256` signatures: parsing the `Authorization`
//! header, canonicalising URI and query the way the official SDK signer
//! does, and recomputing the signature.

use percent_encoding::{percent_decode_str, percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::crypto::{hmac_sha256, sha256_hex};
use crate::header::{self, Fields};
use crate::AuthError;

/// Algorithm name used in the header and the string to sign.
pub const ALGORITHM: &str = "SDK-HMAC-SHA256";

/// Everything except the unreserved characters `A-Za-z0-9_.-~` is encoded.
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~');

/// Format of `X-Sdk-Date`, e.g. `20240101T000000Z`.
const SDK_DATE: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");

/// A parsed `Authorization: SDK-HMAC-SHA256 ...` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HuaweiAuthorization {
    /// The access key (AK).
    pub access: String,
    /// Lowercase names of the signed headers, in header order.
    pub signed_headers: Vec<String>,
    /// Lowercase hex signature.
    pub signature: String,
}

/// Parse `SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b, Signature=hex`.
pub fn parse_authorization(header: &str) -> Result<HuaweiAuthorization, AuthError> {
    let fields = Fields::parse(header, ALGORITHM)?;
    Ok(HuaweiAuthorization {
        access: fields.get("Access")?.to_string(),
        signed_headers: header::signed_headers(fields.get("SignedHeaders")?)?,
        signature: header::hex_signature(fields.get("Signature")?)?,
    })
}

/// Format the header value a client would send.
pub fn format_authorization(access: &str, signed_headers: &[String], signature: &str) -> String {
    format!(
        "{ALGORITHM} Access={access}, SignedHeaders={}, Signature={signature}",
        signed_headers.join(";")
    )
}

fn encode(bytes: &[u8]) -> String {
    percent_encode(bytes, ENCODE).to_string()
}

fn decode(s: &str) -> Vec<u8> {
    percent_decode_str(s).collect()
}

/// Canonical URI: percent-decode, split on `/`, re-encode each segment
/// keeping only unreserved characters, and end with `/`.
pub fn canonical_uri(path: &str) -> String {
    let decoded = decode(path);
    let mut out = decoded
        .split(|b| *b == b'/')
        .map(encode)
        .collect::<Vec<_>>()
        .join("/");
    if !out.ends_with('/') {
        out.push('/');
    }
    out
}

/// Canonical query string: split the raw query into pairs, percent-decode
/// (`+` is kept literally), sort by key then value, re-encode and join.
/// Empty pieces are skipped; a piece without `=` has an empty value.
pub fn canonical_query(raw_query: &str) -> String {
    let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = raw_query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), Vec::new()),
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The canonical request. `headers` are `(lowercase name, value)` for each
/// signed header in `SignedHeaders` order (sorted by the client); values
/// are trimmed. `payload_hash` is the lowercase hex SHA-256 of the body, or
/// the literal `X-Sdk-Content-Sha256` value when that header is present.
pub fn canonical_request(
    method: &str,
    path: &str,
    raw_query: &str,
    headers: &[(String, String)],
    payload_hash: &str,
) -> String {
    let mut canonical_headers = String::new();
    let mut names = Vec::with_capacity(headers.len());
    for (name, value) in headers {
        let name = name.to_ascii_lowercase();
        canonical_headers.push_str(&name);
        canonical_headers.push(':');
        canonical_headers.push_str(value.trim());
        canonical_headers.push('\n');
        names.push(name);
    }
    format!(
        "{method}\n{}\n{}\n{canonical_headers}\n{}\n{payload_hash}",
        canonical_uri(path),
        canonical_query(raw_query),
        names.join(";")
    )
}

/// Lowercase hex SHA-256 of a request body.
pub fn payload_hash(body: &[u8]) -> String {
    sha256_hex(body)
}

/// `SDK-HMAC-SHA256\n<X-Sdk-Date>\n<hex sha256(canonical request)>`.
pub fn string_to_sign(sdk_date: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{sdk_date}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// Lowercase hex HMAC-SHA256 of `string_to_sign` keyed by the SK bytes.
pub fn sign(sk: &str, string_to_sign: &str) -> String {
    hex::encode(hmac_sha256(sk.as_bytes(), string_to_sign.as_bytes()))
}

/// Parse an `X-Sdk-Date` (`%Y%m%dT%H%M%SZ`, UTC) into Unix seconds.
pub fn parse_sdk_date(s: &str) -> Option<i64> {
    time::PrimitiveDateTime::parse(s, SDK_DATE)
        .ok()
        .map(|dt| dt.assume_utc().unix_timestamp())
}

#[cfg(test)]
#[path = "huawei_tests.rs"]
mod tests;
