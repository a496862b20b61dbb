use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn set(blocks: &[&str]) -> PrefixSet {
    PrefixSet::new(blocks.iter().map(|b| Cidr::parse("cidr", b).unwrap()))
}

#[test]
fn ipv4_blocks_match_their_addresses_only() {
    let s = set(&["10.0.0.0/8", "192.168.1.7/32", "172.16.0.0/12"]);
    assert!(s.contains(ip("10.0.0.0")) && s.contains(ip("10.255.255.255")));
    assert!(!s.contains(ip("11.0.0.0")) && !s.contains(ip("9.255.255.255")));
    assert!(s.contains(ip("192.168.1.7")) && !s.contains(ip("192.168.1.8")));
    assert!(s.contains(ip("172.31.255.255")) && !s.contains(ip("172.32.0.0")));
}

#[test]
fn a_bare_address_is_its_host_block() {
    let s = set(&["127.0.0.2", "2001:db8::1"]);
    assert!(s.contains(ip("127.0.0.2")) && !s.contains(ip("127.0.0.3")));
    assert!(s.contains(ip("2001:db8::1")) && !s.contains(ip("2001:db8::2")));
}

#[test]
fn ipv6_blocks_and_the_128_bit_host() {
    let s = set(&["2001:db8::/32", "fe80::1/128"]);
    assert!(s.contains(ip("2001:db8:ffff::1")));
    assert!(!s.contains(ip("2001:db9::")));
    assert!(s.contains(ip("fe80::1")) && !s.contains(ip("fe80::2")));
    assert!(!s.contains(ip("10.0.0.1")));
}

#[test]
fn ipv4_mapped_ipv6_clients_match_ipv4_blocks() {
    let s = set(&["10.1.0.0/16"]);
    assert!(s.contains(ip("::ffff:10.1.2.3")));
    assert!(!s.contains(ip("::ffff:10.2.0.1")));
    // The mapped range itself, written as IPv6, holds every IPv4 address.
    let mapped = set(&["::ffff:0:0/96"]);
    assert!(mapped.contains(ip("10.1.2.3")) && !mapped.contains(ip("2001:db8::1")));
}

#[test]
fn slash_zero_is_its_whole_family() {
    let v4 = set(&["0.0.0.0/0"]);
    assert!(v4.contains(ip("1.2.3.4")) && v4.contains(ip("255.255.255.255")));
    assert!(!v4.contains(ip("2001:db8::1")));
    let v6 = set(&["::/0"]);
    assert!(v6.contains(ip("2001:db8::1")) && v6.contains(ip("1.2.3.4")));
}

#[test]
fn overlapping_and_adjacent_blocks_merge() {
    let s = set(&["10.0.0.0/25", "10.0.0.128/25", "10.0.0.0/24", "10.0.2.0/24"]);
    assert_eq!(s.ranges.len(), 2);
    assert!(s.contains(ip("10.0.0.200")) && !s.contains(ip("10.0.1.1")));
    assert!(s.contains(ip("10.0.2.9")));
}

#[test]
fn bad_blocks_are_refused_naming_the_field() {
    for bad in [
        "",
        "10.0.0.0/33",
        "10.0.0.1/8",
        "::1/129",
        "10.0.0/8",
        "x",
        "10.0.0.0/",
        "10.0.0.0/+8",
        "10.0.0.0/08x",
        "2001:db8::1/32",
    ] {
        let e = Cidr::parse("ip_list.cidr", bad).unwrap_err();
        assert_eq!(e.field, "ip_list.cidr", "{bad}");
    }
    assert_eq!(
        Cidr::parse("f", "10.0.0.0/8").unwrap().to_string(),
        "10.0.0.0/8"
    );
    assert_eq!(
        Cidr::parse("f", "2001:DB8::/32").unwrap().to_string(),
        "2001:db8::/32"
    );
}

#[test]
fn white_and_black_rules_and_the_empty_group() {
    let rule = |kind, blocks: &[&str]| AccessSpec {
        ip_group_id: "g".into(),
        kind,
        set: set(blocks),
    };
    let white = rule(AccessKind::White, &["127.0.0.2/32"]);
    assert!(white.admits(ip("127.0.0.2")) && !white.admits(ip("127.0.0.3")));
    let black = rule(AccessKind::Black, &["127.0.0.2/32"]);
    assert!(!black.admits(ip("127.0.0.2")) && black.admits(ip("127.0.0.3")));
    // An empty WHITE list admits nobody; an empty BLACK list refuses nobody.
    assert!(!rule(AccessKind::White, &[]).admits(ip("127.0.0.1")));
    assert!(rule(AccessKind::Black, &[]).admits(ip("127.0.0.1")));
}
