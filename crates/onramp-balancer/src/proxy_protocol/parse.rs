//! The header parser (v1 and v2), total over all inputs.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::encode::V1_MAX_LEN;
use super::{Header, ParseError, Transport, Version, V2_SIGNATURE};

const V1_PREFIX: &[u8] = b"PROXY ";
/// Signature, version/command, family/transport, 16-bit length.
const V2_FIXED: usize = 16;

/// Parse one header at the start of `buf`.
///
/// `Ok(Some((header, n)))`: a complete header of `n` bytes (the payload starts at `buf[n]`;
/// v2 TLVs are skipped). `Ok(None)`: `buf` is a proper prefix of a possible header; read more.
/// `Err(_)`: `buf` cannot start with a valid header.
pub fn parse(buf: &[u8]) -> Result<Option<(Header, usize)>, ParseError> {
    if is_prefix_of(buf, &V2_SIGNATURE) || is_prefix_of(buf, V1_PREFIX) {
        return Ok(None);
    }
    if buf.starts_with(&V2_SIGNATURE) {
        parse_v2(buf)
    } else if buf.starts_with(V1_PREFIX) {
        parse_v1(buf)
    } else {
        Err(ParseError::NotProxy)
    }
}

/// `buf` is shorter than `full` and matches its beginning.
fn is_prefix_of(buf: &[u8], full: &[u8]) -> bool {
    buf.len() < full.len() && full.starts_with(buf)
}

fn parse_v1(buf: &[u8]) -> Result<Option<(Header, usize)>, ParseError> {
    let window = buf.get(..buf.len().min(V1_MAX_LEN)).unwrap_or(buf);
    let Some(end) = window.windows(2).position(|w| w == b"\r\n") else {
        return if buf.len() >= V1_MAX_LEN {
            Err(ParseError::V1TooLong)
        } else {
            Ok(None)
        };
    };
    let line = window.get(..end).ok_or(ParseError::V1Malformed("line"))?;
    let text = std::str::from_utf8(line).map_err(|_| ParseError::V1Malformed("not ASCII"))?;
    let header = parse_v1_line(text)?;
    Ok(Some((header, end + 2)))
}

fn parse_v1_line(text: &str) -> Result<Header, ParseError> {
    let mut parts = text.split(' ');
    let _proxy = parts.next();
    let proto = parts.next().ok_or(ParseError::V1Malformed("protocol"))?;
    if proto == "UNKNOWN" {
        return Ok(Header::Unknown {
            version: Version::V1,
        });
    }
    let v6 = match proto {
        "TCP4" => false,
        "TCP6" => true,
        _ => return Err(ParseError::V1Malformed("protocol")),
    };
    let src_ip = v1_ip(parts.next(), v6)?;
    let dst_ip = v1_ip(parts.next(), v6)?;
    let src_port = v1_port(parts.next())?;
    let dst_port = v1_port(parts.next())?;
    if parts.next().is_some() {
        return Err(ParseError::V1Malformed("trailing fields"));
    }
    Ok(Header::Proxy {
        version: Version::V1,
        transport: Transport::Stream,
        src: SocketAddr::new(src_ip, src_port),
        dst: SocketAddr::new(dst_ip, dst_port),
    })
}

fn v1_ip(field: Option<&str>, v6: bool) -> Result<IpAddr, ParseError> {
    let field = field.ok_or(ParseError::V1Malformed("address"))?;
    let ip = if v6 {
        field.parse::<Ipv6Addr>().map(IpAddr::V6)
    } else {
        field.parse::<Ipv4Addr>().map(IpAddr::V4)
    };
    ip.map_err(|_| ParseError::V1Malformed("address"))
}

fn v1_port(field: Option<&str>) -> Result<u16, ParseError> {
    let field = field.ok_or(ParseError::V1Malformed("port"))?;
    let digits_only =
        !field.is_empty() && field.len() <= 5 && field.bytes().all(|b| b.is_ascii_digit());
    if !digits_only {
        return Err(ParseError::V1Malformed("port"));
    }
    field.parse().map_err(|_| ParseError::V1Malformed("port"))
}

fn parse_v2(buf: &[u8]) -> Result<Option<(Header, usize)>, ParseError> {
    let Some(fixed) = buf.get(..V2_FIXED) else {
        return Ok(None);
    };
    let (ver_cmd, fam) = match fixed {
        [.., vc, f, _, _] => (*vc, *f),
        _ => return Ok(None),
    };
    if ver_cmd >> 4 != 2 {
        return Err(ParseError::V2Version);
    }
    let local = match ver_cmd & 0x0f {
        0 => true,
        1 => false,
        _ => return Err(ParseError::V2Command),
    };
    let len = match fixed {
        [.., hi, lo] => usize::from(u16::from_be_bytes([*hi, *lo])),
        _ => return Ok(None),
    };
    let total = V2_FIXED + len;
    let Some(body) = buf.get(V2_FIXED..total) else {
        return Ok(None);
    };
    let header = if local {
        Header::Local
    } else {
        v2_addresses(fam, body)?
    };
    Ok(Some((header, total)))
}

fn v2_addresses(fam: u8, body: &[u8]) -> Result<Header, ParseError> {
    let transport = match fam & 0x0f {
        0 => None,
        1 => Some(Transport::Stream),
        2 => Some(Transport::Datagram),
        _ => return Err(ParseError::V2Family),
    };
    let unknown = Header::Unknown {
        version: Version::V2,
    };
    let (src_ip, dst_ip, ports) = match fam >> 4 {
        0 | 3 => return Ok(unknown),
        1 => {
            let a: [u8; 4] = take(body, 0)?;
            let b: [u8; 4] = take(body, 4)?;
            (IpAddr::from(a), IpAddr::from(b), 8)
        }
        2 => {
            let a: [u8; 16] = take(body, 0)?;
            let b: [u8; 16] = take(body, 16)?;
            (IpAddr::from(a), IpAddr::from(b), 32)
        }
        _ => return Err(ParseError::V2Family),
    };
    let sp: [u8; 2] = take(body, ports)?;
    let dp: [u8; 2] = take(body, ports + 2)?;
    let Some(transport) = transport else {
        return Ok(unknown);
    };
    Ok(Header::Proxy {
        version: Version::V2,
        transport,
        src: SocketAddr::new(src_ip, u16::from_be_bytes(sp)),
        dst: SocketAddr::new(dst_ip, u16::from_be_bytes(dp)),
    })
}

/// `N` bytes of `body` at `at`, or a length error.
fn take<const N: usize>(body: &[u8], at: usize) -> Result<[u8; N], ParseError> {
    body.get(at..at.saturating_add(N))
        .and_then(|s| <[u8; N]>::try_from(s).ok())
        .ok_or(ParseError::V2Length)
}
