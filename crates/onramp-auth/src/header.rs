//! Shared parser for `ALGORITHM k1=v1, k2=v2, ...` style `Authorization`
//! headers (TC3 and Huawei SDK-HMAC-SHA256 use this layout).

use crate::AuthError;

/// The `key=value` fields of an `Authorization` header, in order.
pub(crate) struct Fields<'a> {
    pairs: Vec<(&'a str, &'a str)>,
}

impl<'a> Fields<'a> {
    /// Split `header` into its algorithm and fields, requiring `algorithm`.
    ///
    /// Whitespace around the algorithm, commas and `=` is ignored. Empty
    /// fields (for instance a trailing comma) are skipped. A field without
    /// `=` or a repeated field name is an error.
    pub(crate) fn parse(header: &'a str, algorithm: &str) -> Result<Self, AuthError> {
        let header = header.trim();
        let (alg, rest) = header
            .split_once(|c: char| c.is_ascii_whitespace())
            .ok_or_else(|| malformed("missing fields after algorithm"))?;
        if alg != algorithm {
            return Err(AuthError::UnsupportedAlgorithm(truncate(alg)));
        }
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        for field in rest.split(',').map(str::trim).filter(|f| !f.is_empty()) {
            let (k, v) = field
                .split_once('=')
                .ok_or_else(|| malformed("field without '='"))?;
            let (k, v) = (k.trim(), v.trim());
            if pairs.iter().any(|(seen, _)| *seen == k) {
                return Err(malformed(&format!("repeated field {}", truncate(k))));
            }
            pairs.push((k, v));
        }
        Ok(Self { pairs })
    }

    /// The non-empty value of field `name`.
    pub(crate) fn get(&self, name: &str) -> Result<&'a str, AuthError> {
        self.pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| *v)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| malformed(&format!("missing {name}")))
    }
}

/// Parse a `SignedHeaders` value (`a;b;c`) into lowercase names.
pub(crate) fn signed_headers(value: &str) -> Result<Vec<String>, AuthError> {
    let names: Vec<String> = value
        .split(';')
        .map(|n| n.trim().to_ascii_lowercase())
        .collect();
    let valid = |n: &String| !n.is_empty() && n.bytes().all(is_token_byte);
    if names.iter().all(valid) {
        Ok(names)
    } else {
        Err(malformed("bad SignedHeaders"))
    }
}

/// Require a non-empty lowercase/uppercase hex signature.
pub(crate) fn hex_signature(value: &str) -> Result<String, AuthError> {
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(value.to_ascii_lowercase())
    } else {
        Err(malformed("Signature is not hex"))
    }
}

/// HTTP token characters (RFC 9110 `tchar`).
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

pub(crate) fn malformed(why: &str) -> AuthError {
    AuthError::MalformedAuthorization(why.to_string())
}

/// Bound attacker-controlled text copied into error messages.
fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}
