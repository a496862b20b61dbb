//! PROXY protocol (HAProxy's spec, versions 1 and 2): encoders and a parser, sans-IO.
//!
//! The edge writes a header in front of the first bytes it relays to an origin so the origin
//! learns the client's address (GAAP `ClientIPMethod=1`, BM `toaFlag`). Health checks send the v2
//! `LOCAL` command ([`v2_local`]), which tells the origin the connection is the proxy's own.
//!
//! The parser is used by tests and by test origins; it accepts exactly one header at the start of
//! a buffer, never panics on any input, and asks for more bytes (`Ok(None)`) while the buffer is a
//! proper prefix of something that could still become a valid header.
//!
//! # Mixed address families
//! When the client and the listener address are of different families (a v4 client reaching a
//! v6 listener through a dual-stack socket, or the reverse), both are put in one family: if the
//! IPv6 one is IPv4-mapped (`::ffff:a.b.c.d`) both are sent as IPv4; otherwise the IPv4 one is
//! sent as its IPv4-mapped IPv6 form. So a header is never `UNKNOWN` for want of a family.

mod encode;
mod parse;

use std::net::SocketAddr;

pub use encode::{v1_header, v2_header, v2_local, V1_MAX_LEN};
pub use parse::parse;

/// The 12-byte signature that starts every v2 header.
pub const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";

/// The transport carried by the proxied connection (v2 only; v1 always says TCP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// TCP (`SOCK_STREAM`).
    Stream,
    /// UDP (`SOCK_DGRAM`).
    Datagram,
}

/// Protocol version of a parsed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// The text format.
    V1,
    /// The binary format.
    V2,
}

/// A parsed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Header {
    /// v2 `LOCAL`: the proxy's own connection (e.g. a health check); use the real peer address.
    Local,
    /// v1 `PROXY UNKNOWN`, or v2 `PROXY` with a family or transport that carries no IP address
    /// (unspecified, AF_UNIX): the addresses are not known.
    Unknown {
        /// Which format it came in.
        version: Version,
    },
    /// A proxied connection from `src` to `dst`.
    Proxy {
        /// Which format it came in.
        version: Version,
        /// Stream or datagram (always `Stream` for v1).
        transport: Transport,
        /// The client's address.
        src: SocketAddr,
        /// The address the client connected to.
        dst: SocketAddr,
    },
}

/// Why a buffer is not a valid PROXY header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The bytes start neither with `PROXY ` nor with the v2 signature.
    #[error("not a PROXY protocol header")]
    NotProxy,
    /// No CRLF within the 107 bytes a v1 line may take.
    #[error("PROXY v1 line longer than 107 bytes")]
    V1TooLong,
    /// A malformed v1 line; the text names the part.
    #[error("malformed PROXY v1 header: {0}")]
    V1Malformed(&'static str),
    /// The v2 version nibble is not 2.
    #[error("unsupported PROXY v2 version")]
    V2Version,
    /// The v2 command nibble is neither LOCAL nor PROXY.
    #[error("unsupported PROXY v2 command")]
    V2Command,
    /// The v2 family or transport nibble is not defined.
    #[error("unsupported PROXY v2 address family or transport")]
    V2Family,
    /// The v2 length is too small for the declared address family.
    #[error("PROXY v2 address block shorter than its family needs")]
    V2Length,
}
