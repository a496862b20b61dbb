//! Header encoders (v1 text, v2 binary, v2 LOCAL).

use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6};

use super::{Transport, V2_SIGNATURE};

/// The longest v1 header, CRLF included.
pub const V1_MAX_LEN: usize = 107;

/// Both addresses in one family (see the module docs on mixed families).
enum Pair {
    V4(SocketAddrV4, SocketAddrV4),
    V6(SocketAddrV6, SocketAddrV6),
}

/// `a` as IPv6 (IPv4-mapped when it is IPv4).
fn as_v6(a: SocketAddr) -> SocketAddrV6 {
    match a {
        SocketAddr::V6(v6) => v6,
        SocketAddr::V4(v4) => SocketAddrV6::new(v4.ip().to_ipv6_mapped(), v4.port(), 0, 0),
    }
}

/// `a` as IPv4 if it is IPv4 or IPv4-mapped IPv6.
fn as_v4(a: SocketAddr) -> Option<SocketAddrV4> {
    match a {
        SocketAddr::V4(v4) => Some(v4),
        SocketAddr::V6(v6) => v6
            .ip()
            .to_ipv4_mapped()
            .map(|ip| SocketAddrV4::new(ip, v6.port())),
    }
}

fn pair(src: SocketAddr, dst: SocketAddr) -> Pair {
    match (src, dst) {
        (SocketAddr::V4(s), SocketAddr::V4(d)) => Pair::V4(s, d),
        (SocketAddr::V6(s), SocketAddr::V6(d)) => Pair::V6(s, d),
        _ => match (as_v4(src), as_v4(dst)) {
            (Some(s), Some(d)) => Pair::V4(s, d),
            _ => Pair::V6(as_v6(src), as_v6(dst)),
        },
    }
}

/// The v1 text header `PROXY TCP4|TCP6 <src> <dst> <sport> <dport>\r\n`.
pub fn v1_header(src: SocketAddr, dst: SocketAddr) -> Vec<u8> {
    let line = match pair(src, dst) {
        Pair::V4(s, d) => {
            format!(
                "PROXY TCP4 {} {} {} {}\r\n",
                s.ip(),
                d.ip(),
                s.port(),
                d.port()
            )
        }
        Pair::V6(s, d) => {
            format!(
                "PROXY TCP6 {} {} {} {}\r\n",
                s.ip(),
                d.ip(),
                s.port(),
                d.port()
            )
        }
    };
    line.into_bytes()
}

/// The v2 binary header with the PROXY command for a `transport` connection from `src` to `dst`.
pub fn v2_header(src: SocketAddr, dst: SocketAddr, transport: Transport) -> Vec<u8> {
    let proto: u8 = match transport {
        Transport::Stream => 0x1,
        Transport::Datagram => 0x2,
    };
    let mut out = Vec::with_capacity(16 + 36);
    out.extend_from_slice(&V2_SIGNATURE);
    out.push(0x21);
    match pair(src, dst) {
        Pair::V4(s, d) => {
            out.push(0x10 | proto);
            out.extend_from_slice(&12u16.to_be_bytes());
            out.extend_from_slice(&s.ip().octets());
            out.extend_from_slice(&d.ip().octets());
            out.extend_from_slice(&s.port().to_be_bytes());
            out.extend_from_slice(&d.port().to_be_bytes());
        }
        Pair::V6(s, d) => {
            out.push(0x20 | proto);
            out.extend_from_slice(&36u16.to_be_bytes());
            out.extend_from_slice(&s.ip().octets());
            out.extend_from_slice(&d.ip().octets());
            out.extend_from_slice(&s.port().to_be_bytes());
            out.extend_from_slice(&d.port().to_be_bytes());
        }
    }
    out
}

/// The v2 header with the LOCAL command and no addresses (for health checks).
pub fn v2_local() -> Vec<u8> {
    let mut out = Vec::with_capacity(16);
    out.extend_from_slice(&V2_SIGNATURE);
    out.extend_from_slice(&[0x20, 0x00, 0x00, 0x00]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_shapes() {
        let s: SocketAddr = "192.0.2.1:5000".parse().unwrap();
        let d: SocketAddr = "198.51.100.2:80".parse().unwrap();
        assert_eq!(
            v1_header(s, d),
            b"PROXY TCP4 192.0.2.1 198.51.100.2 5000 80\r\n"
        );
        let d6: SocketAddr = "[2001:db8::1]:443".parse().unwrap();
        assert_eq!(
            v1_header(s, d6),
            b"PROXY TCP6 ::ffff:192.0.2.1 2001:db8::1 5000 443\r\n"
        );
        let m6: SocketAddr = "[::ffff:198.51.100.2]:443".parse().unwrap();
        assert_eq!(
            v1_header(s, m6),
            b"PROXY TCP4 192.0.2.1 198.51.100.2 5000 443\r\n"
        );
        let big: SocketAddr = "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"
            .parse()
            .unwrap();
        assert!(v1_header(big, big).len() <= V1_MAX_LEN);
    }

    #[test]
    fn v2_shapes() {
        let s: SocketAddr = "10.0.0.1:1".parse().unwrap();
        let h = v2_header(s, s, Transport::Datagram);
        assert_eq!(h.len(), 28);
        assert_eq!(&h[12..16], &[0x21, 0x12, 0, 12]);
        assert_eq!(v2_local().len(), 16);
    }
}
