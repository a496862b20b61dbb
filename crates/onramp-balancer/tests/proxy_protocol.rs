//! PROXY protocol: round trips through the parser, fixed vectors, and a total parser.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use onramp_balancer::proxy_protocol::{
    parse, v1_header, v2_header, v2_local, Header, ParseError, Transport, Version, V2_SIGNATURE,
};
use proptest::prelude::*;

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn v4() -> impl Strategy<Value = SocketAddr> {
    (any::<u32>(), any::<u16>())
        .prop_map(|(ip, p)| SocketAddr::new(IpAddr::V4(Ipv4Addr::from(ip)), p))
}

fn v6() -> impl Strategy<Value = SocketAddr> {
    (any::<u128>(), any::<u16>())
        .prop_filter("not v4-mapped", |(ip, _)| {
            Ipv6Addr::from(*ip).to_ipv4_mapped().is_none()
        })
        .prop_map(|(ip, p)| SocketAddr::new(IpAddr::V6(Ipv6Addr::from(ip)), p))
}

fn same_family() -> impl Strategy<Value = (SocketAddr, SocketAddr)> {
    prop_oneof![(v4(), v4()), (v6(), v6())]
}

#[test]
fn v1_vector_and_payload_offset() {
    let mut buf = b"PROXY TCP4 192.0.2.1 198.51.100.2 5000 80\r\nGET /".to_vec();
    let (h, n) = parse(&buf).unwrap().unwrap();
    assert_eq!(&buf[n..], b"GET /");
    let want = Header::Proxy {
        version: Version::V1,
        transport: Transport::Stream,
        src: sa("192.0.2.1:5000"),
        dst: sa("198.51.100.2:80"),
    };
    assert_eq!(h, want);
    buf.truncate(20);
    assert_eq!(parse(&buf), Ok(None));
}

#[test]
fn v1_unknown_and_errors() {
    assert_eq!(
        parse(b"PROXY UNKNOWN\r\n"),
        Ok(Some((
            Header::Unknown {
                version: Version::V1
            },
            15
        )))
    );
    assert_eq!(
        parse(b"PROXY UNKNOWN ffff::1 ::1 1 2\r\nx").map(|o| o.map(|(_, n)| n)),
        Ok(Some(31))
    );
    assert!(matches!(
        parse(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 70000\r\n"),
        Err(ParseError::V1Malformed(_))
    ));
    assert!(matches!(
        parse(b"PROXY TCP4 ::1 ::1 1 2\r\n"),
        Err(ParseError::V1Malformed(_))
    ));
    assert!(matches!(
        parse(b"PROXY TCP6 1.2.3.4 ::1 1 2\r\n"),
        Err(ParseError::V1Malformed(_))
    ));
    assert!(matches!(
        parse(b"PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n"),
        Err(ParseError::V1Malformed(_))
    ));
    assert!(matches!(
        parse(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n"),
        Err(ParseError::V1Malformed(_))
    ));
    assert!(matches!(
        parse(b"PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n"),
        Err(ParseError::V1Malformed(_))
    ));
    assert_eq!(parse(&[b'P'; 1]), Ok(None));
    assert_eq!(parse(b"GET / HTTP/1.1\r\n"), Err(ParseError::NotProxy));
    let mut long = b"PROXY TCP6 ".to_vec();
    long.resize(200, b'1');
    assert_eq!(parse(&long), Err(ParseError::V1TooLong));
    assert_eq!(parse(&long[..106]), Ok(None));
}

#[test]
fn v2_local_unknown_and_tlvs() {
    let local = v2_local();
    assert_eq!(parse(&local), Ok(Some((Header::Local, 16))));
    for cut in 0..local.len() {
        assert_eq!(parse(&local[..cut]), Ok(None), "cut {cut}");
    }
    // PROXY, AF_UNSPEC.
    let mut unspec = V2_SIGNATURE.to_vec();
    unspec.extend_from_slice(&[0x21, 0x00, 0, 0]);
    assert_eq!(
        parse(&unspec),
        Ok(Some((
            Header::Unknown {
                version: Version::V2
            },
            16
        )))
    );
    // A v4 header followed by a 5-byte TLV (type 0x04 NOOP), then payload.
    let mut h = v2_header(sa("10.1.2.3:4"), sa("10.9.9.9:80"), Transport::Datagram);
    h[15] = 12 + 5;
    h.extend_from_slice(&[0x04, 0, 2, 0xaa, 0xbb, b'x']);
    let (hdr, n) = parse(&h).unwrap().unwrap();
    assert_eq!(n, 16 + 17);
    assert_eq!(&h[n..], b"x");
    assert!(matches!(
        hdr,
        Header::Proxy {
            transport: Transport::Datagram,
            ..
        }
    ));
}

#[test]
fn v2_errors() {
    let mut bad = v2_local();
    bad[12] = 0x10;
    assert_eq!(parse(&bad), Err(ParseError::V2Version));
    bad[12] = 0x22;
    assert_eq!(parse(&bad), Err(ParseError::V2Command));
    let mut fam = v2_header(sa("1.1.1.1:1"), sa("2.2.2.2:2"), Transport::Stream);
    fam[13] = 0x41;
    assert_eq!(parse(&fam), Err(ParseError::V2Family));
    fam[13] = 0x13;
    assert_eq!(parse(&fam), Err(ParseError::V2Family));
    let mut short = V2_SIGNATURE.to_vec();
    short.extend_from_slice(&[0x21, 0x21, 0, 12]);
    short.extend_from_slice(&[0; 12]);
    assert_eq!(parse(&short), Err(ParseError::V2Length));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn v1_round_trip((src, dst) in same_family(), tail in prop::collection::vec(any::<u8>(), 0..32)) {
        let mut buf = v1_header(src, dst);
        prop_assert!(buf.len() <= 107);
        let len = buf.len();
        buf.extend_from_slice(&tail);
        let want = Header::Proxy { version: Version::V1, transport: Transport::Stream, src, dst };
        prop_assert_eq!(parse(&buf), Ok(Some((want, len))));
        for cut in 0..len {
            prop_assert_eq!(parse(&buf[..cut]), Ok(None));
        }
    }

    #[test]
    fn v2_round_trip((src, dst) in same_family(), dgram in any::<bool>(), tail in prop::collection::vec(any::<u8>(), 0..32)) {
        let transport = if dgram { Transport::Datagram } else { Transport::Stream };
        let mut buf = v2_header(src, dst, transport);
        let len = buf.len();
        prop_assert_eq!(len, if src.is_ipv4() { 28 } else { 52 });
        buf.extend_from_slice(&tail);
        let want = Header::Proxy { version: Version::V2, transport, src, dst };
        prop_assert_eq!(parse(&buf), Ok(Some((want, len))));
        for cut in 0..len {
            prop_assert_eq!(parse(&buf[..cut]), Ok(None));
        }
    }

    #[test]
    fn mixed_families_round_trip_as_one_family(a in v4(), b in v6(), swap in any::<bool>()) {
        let (src, dst) = if swap { (b, a) } else { (a, b) };
        let (h, _) = parse(&v2_header(src, dst, Transport::Stream)).unwrap().unwrap();
        let Header::Proxy { src: s, dst: d, .. } = h else { panic!("{h:?}") };
        prop_assert!(s.is_ipv6() && d.is_ipv6());
        prop_assert_eq!((s.port(), d.port()), (src.port(), dst.port()));
        let (h1, _) = parse(&v1_header(src, dst)).unwrap().unwrap();
        let v6_src = matches!(h1, Header::Proxy { src, .. } if src.is_ipv6());
        prop_assert!(v6_src);
    }

    #[test]
    fn arbitrary_bytes_never_panic(buf in prop::collection::vec(any::<u8>(), 0..300)) {
        check_total(&buf)?;
    }

    #[test]
    fn arbitrary_v2_bodies_never_panic(head in prop::collection::vec(any::<u8>(), 0..4), body in prop::collection::vec(any::<u8>(), 0..300)) {
        let mut buf = V2_SIGNATURE.to_vec();
        buf.extend_from_slice(&head);
        buf.extend_from_slice(&body);
        check_total(&buf)?;
    }

    #[test]
    fn arbitrary_v1_lines_never_panic(line in "PROXY [ -~]{0,120}(\r\n)?") {
        check_total(line.as_bytes())?;
    }
}

/// Whatever `parse` says must be consistent: a consumed length within the buffer.
fn check_total(buf: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(Some((_, n))) = parse(buf) {
        prop_assert!(n > 0 && n <= buf.len());
    }
    Ok(())
}
