//! Legacy `HmacSHA1` / `HmacSHA256` signatures, shared by the Tencent Cloud
//! API 3.0 v1-style requests and the Black Stone LB v2 API: building the
//! string to sign from form-decoded parameters, signing and verifying.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::crypto::{hmac_sha1, hmac_sha256, verify_hex};

/// Name of the parameter carrying the signature (excluded from signing).
pub const SIGNATURE_PARAM: &str = "Signature";

/// HMAC flavour selected by the `SignatureMethod` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum V1Method {
    /// `HmacSHA1`, the default.
    HmacSha1,
    /// `HmacSHA256`, used only when `SignatureMethod=HmacSHA256` exactly.
    HmacSha256,
}

impl V1Method {
    /// Choose the method from the `SignatureMethod` parameter value:
    /// `HmacSHA256` only for exactly that string, otherwise `HmacSHA1`.
    pub fn from_param(value: Option<&str>) -> V1Method {
        match value {
            Some("HmacSHA256") => V1Method::HmacSha256,
            _ => V1Method::HmacSha1,
        }
    }

    /// The parameter spelling of this method.
    pub fn as_param(self) -> &'static str {
        match self {
            V1Method::HmacSha1 => "HmacSHA1",
            V1Method::HmacSha256 => "HmacSHA256",
        }
    }
}

/// Build `METHOD + host + path + "?" + k1=v1&k2=v2...`.
///
/// `params` are the form-decoded request parameters. `Signature` is left
/// out; `_` in names becomes `.`; on POST, values starting with `@` are
/// left out; pairs are sorted by name bytewise (stable for repeated names)
/// and joined with raw, unencoded values. `method` is upper-cased.
pub fn string_to_sign(method: &str, host: &str, path: &str, params: &[(String, String)]) -> String {
    let method = method.to_ascii_uppercase();
    let is_post = method == "POST";
    let mut pairs: Vec<(String, &str)> = params
        .iter()
        .filter(|(k, _)| k != SIGNATURE_PARAM)
        .filter(|(_, v)| !(is_post && v.starts_with('@')))
        .map(|(k, v)| (k.replace('_', "."), v.as_str()))
        .collect();
    pairs.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut out = format!("{method}{host}{path}?");
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// Base64 (standard alphabet, padded) HMAC of `s` under `secret_key`.
pub fn sign(m: V1Method, secret_key: &str, s: &str) -> String {
    let mac = match m {
        V1Method::HmacSha1 => hmac_sha1(secret_key.as_bytes(), s.as_bytes()),
        V1Method::HmacSha256 => hmac_sha256(secret_key.as_bytes(), s.as_bytes()),
    };
    STANDARD.encode(mac)
}

/// Constant-time check of a base64 signature (already form-decoded).
pub fn verify(m: V1Method, secret_key: &str, s: &str, given_b64: &str) -> bool {
    verify_hex(&sign(m, secret_key, s), given_b64)
}

#[cfg(test)]
#[path = "v1_tests.rs"]
mod tests;
