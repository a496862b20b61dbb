//! Sans-IO request authentication for the onramp control plane.
//!
//! Everything here is a pure function or a plain data structure: no sockets,
//! no async runtime and no clock reads. Callers pass the current time in.
//!
//! Modules:
//! - [`tc3`]: Tencent Cloud API 3.0 `TC3-HMAC-SHA256` signatures.
//! - [`v1`]: legacy `HmacSHA1` / `HmacSHA256` signatures (GAAP v1 style and
//!   Black Stone LB v2).
//! - [`huawei`]: Huawei Cloud `SDK-HMAC-SHA256` signatures.
//! - [`params`]: decoding of flattened `A.0.B=x` request parameters.
//! - [`ratelimit`]: per (account, action) token buckets.
//! - [`replay`]: timestamp window and nonce reuse detection, per account.
//! - [`once`]: execute-once memory of signed writes, per account.
#![forbid(unsafe_code)]

mod crypto;
mod header;

pub mod huawei;
pub mod once;
pub mod params;
pub mod ratelimit;
pub mod replay;
pub mod tc3;
pub mod v1;

pub use crypto::verify_hex;

/// Errors raised while parsing authentication material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The `Authorization` header could not be parsed; the string says why.
    #[error("malformed Authorization header: {0}")]
    MalformedAuthorization(String),
    /// The `Authorization` header names an algorithm this crate does not verify.
    #[error("unsupported signature algorithm: {0}")]
    UnsupportedAlgorithm(String),
    /// A date (credential scope date or `X-Sdk-Date`) is malformed or does
    /// not match the request timestamp.
    #[error("bad or mismatched date")]
    BadDate,
    /// A timestamp is not a valid Unix time.
    #[error("bad timestamp")]
    BadTimestamp,
}
