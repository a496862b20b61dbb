//! Tencent Cloud API 3.0 `TC3-HMAC-SHA256` signatures: parsing the
//! `Authorization` header and recomputing the canonical request, string to
//! sign and signature exactly as the official SDKs do.

use crate::crypto::{hmac_sha256, sha256_hex};
use crate::header::{self, Fields};
use crate::AuthError;

pub use crate::crypto::verify_hex;

/// Algorithm name used in the header and the string to sign.
pub const ALGORITHM: &str = "TC3-HMAC-SHA256";

/// Last element of the credential scope.
const TERMINATOR: &str = "tc3_request";

/// A parsed `Authorization: TC3-HMAC-SHA256 ...` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tc3Authorization {
    /// The SecretId of the signing key.
    pub secret_id: String,
    /// Credential scope date, `YYYY-MM-DD` (not validated here).
    pub date: String,
    /// Credential scope service, e.g. `gaap`.
    pub service: String,
    /// Lowercase names of the signed headers, in header order.
    pub signed_headers: Vec<String>,
    /// Lowercase hex signature.
    pub signature: String,
}

/// Parse `TC3-HMAC-SHA256 Credential=<id>/<date>/<service>/tc3_request,
/// SignedHeaders=a;b, Signature=<hex>`.
pub fn parse_authorization(header: &str) -> Result<Tc3Authorization, AuthError> {
    let fields = Fields::parse(header, ALGORITHM)?;
    let credential = fields.get("Credential")?;
    let parts: Vec<&str> = credential.split('/').collect();
    let [secret_id, date, service, terminator] = parts.as_slice() else {
        return Err(header::malformed("Credential must have 4 parts"));
    };
    if *terminator != TERMINATOR || [secret_id, date, service].iter().any(|p| p.is_empty()) {
        return Err(header::malformed("bad Credential scope"));
    }
    Ok(Tc3Authorization {
        secret_id: (*secret_id).to_string(),
        date: (*date).to_string(),
        service: (*service).to_string(),
        signed_headers: header::signed_headers(fields.get("SignedHeaders")?)?,
        signature: header::hex_signature(fields.get("Signature")?)?,
    })
}

/// The parts of a request that a TC3 signature covers.
#[derive(Debug, Clone)]
pub struct Tc3Request<'a> {
    /// HTTP method, e.g. `POST`.
    pub method: &'a str,
    /// Canonical URI; always `/` for API 3.0.
    pub canonical_uri: &'a str,
    /// Raw query string as received for GET, `""` for POST.
    pub canonical_query: &'a str,
    /// `(lowercase name, value verbatim)` for each signed header, in
    /// `SignedHeaders` order.
    pub headers: &'a [(String, String)],
    /// Lowercase hex SHA-256 of the body (see [`payload_hash`]).
    pub payload_hash: String,
    /// `X-TC-Timestamp`, Unix seconds.
    pub timestamp: i64,
    /// Credential scope service, e.g. `gaap`.
    pub service: &'a str,
}

/// Lowercase hex SHA-256 of a request body.
pub fn payload_hash(body: &[u8]) -> String {
    sha256_hex(body)
}

/// UTC calendar date (`YYYY-MM-DD`) of a Unix timestamp, or `None` when the
/// timestamp is out of range or before year 0.
pub fn date_of(timestamp: i64) -> Option<String> {
    let dt = time::OffsetDateTime::from_unix_timestamp(timestamp).ok()?;
    if dt.year() < 0 {
        return None;
    }
    Some(format!(
        "{:04}-{:02}-{:02}",
        dt.year(),
        u8::from(dt.month()),
        dt.day()
    ))
}

/// The canonical request: method, URI, query, headers, signed header list
/// and payload hash joined by `\n`.
pub fn canonical_request(r: &Tc3Request) -> String {
    let mut headers = String::new();
    for (name, value) in r.headers {
        headers.push_str(&name.to_ascii_lowercase());
        headers.push(':');
        headers.push_str(value);
        headers.push('\n');
    }
    let signed: Vec<String> = r
        .headers
        .iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .collect();
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        r.method,
        r.canonical_uri,
        r.canonical_query,
        headers,
        signed.join(";"),
        r.payload_hash
    )
}

/// The credential scope `<date>/<service>/tc3_request`.
pub fn credential_scope(date: &str, service: &str) -> String {
    format!("{date}/{service}/{TERMINATOR}")
}

/// The string to sign for `r`, with `date` as the credential scope date.
pub fn string_to_sign(r: &Tc3Request, date: &str) -> String {
    format!(
        "{ALGORITHM}\n{}\n{}\n{}",
        r.timestamp,
        credential_scope(date, r.service),
        sha256_hex(canonical_request(r).as_bytes())
    )
}

/// Lowercase hex signature of `r` under `secret_key`.
///
/// The scope date is the UTC date of `r.timestamp`. For a timestamp that
/// has no date (see [`date_of`]) the date is empty; callers should reject
/// such requests before (see [`check_scope`]).
pub fn sign(secret_key: &str, r: &Tc3Request) -> String {
    let date = date_of(r.timestamp).unwrap_or_default();
    let k_date = hmac_sha256(format!("TC3{secret_key}").as_bytes(), date.as_bytes());
    let k_service = hmac_sha256(&k_date, r.service.as_bytes());
    let k_signing = hmac_sha256(&k_service, TERMINATOR.as_bytes());
    hex::encode(hmac_sha256(&k_signing, string_to_sign(r, &date).as_bytes()))
}

/// Check that the header's scope matches the request: the date must be the
/// UTC date of `timestamp` and the service must equal `service`.
pub fn check_scope(
    auth: &Tc3Authorization,
    timestamp: i64,
    service: &str,
) -> Result<(), AuthError> {
    let date = date_of(timestamp).ok_or(AuthError::BadTimestamp)?;
    if auth.date != date {
        return Err(AuthError::BadDate);
    }
    if auth.service != service {
        return Err(header::malformed("credential scope service mismatch"));
    }
    Ok(())
}

/// Build the full `Authorization` header value a client would send
/// (useful for tests and for self-issued requests).
pub fn authorization_header(secret_id: &str, secret_key: &str, r: &Tc3Request) -> String {
    let date = date_of(r.timestamp).unwrap_or_default();
    let signed: Vec<String> = r
        .headers
        .iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .collect();
    format!(
        "{ALGORITHM} Credential={secret_id}/{}, SignedHeaders={}, Signature={}",
        credential_scope(&date, r.service),
        signed.join(";"),
        sign(secret_key, r)
    )
}

#[cfg(test)]
#[path = "tc3_tests.rs"]
mod tests;
