//! A listener's settings as sentences an operator reads at a glance.

use onramp_core::{ClientIpMethod, Listener, Protocol, Scheduler, UdpCheck};

fn plural(n: u32, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

fn ports(l: &Listener) -> String {
    let parts: Vec<String> = l
        .ports
        .iter()
        .map(|r| {
            if r.from == r.to {
                r.from.to_string()
            } else {
                format!("{}–{}", r.from, r.to)
            }
        })
        .collect();
    let word = if parts.len() == 1 && l.ports[0].from == l.ports[0].to {
        "port"
    } else {
        "ports"
    };
    format!("{word} {}", parts.join(", "))
}

/// One sentence per aspect: where it listens, how it picks, how it checks, what it passes on.
pub fn settings(l: &Listener, address: &str) -> Vec<String> {
    let mut out = vec![format!(
        "Listens for {} on {} of {address}.",
        l.protocol.upper(),
        ports(l)
    )];
    out.push(match l.scheduler {
        Scheduler::Rr => "New connections go to the origins in turn (round robin).".into(),
        Scheduler::Wrr => "New connections go to the origins in proportion to their weights (weighted round robin).".into(),
        Scheduler::Lc => "New connections go to the origin with the fewest open connections.".into(),
        Scheduler::Lrtt => "New connections go to the origin with the lowest measured round-trip time.".into(),
    });
    if l.session_persist_secs > 0 {
        out.push(format!(
            "A client keeps its origin for {} s after its last connection (session persistence).",
            l.session_persist_secs
        ));
    }
    let h = &l.health;
    out.push(if !h.enabled {
        "Health checks are off: every origin gets traffic.".into()
    } else {
        let probe = match (l.protocol, h.udp_check) {
            (Protocol::Tcp, _) if h.custom => "a request and an expected answer".to_string(),
            (Protocol::Tcp, _) => "a TCP connect".into(),
            (Protocol::Udp, UdpCheck::Ping) => "a reachability probe".into(),
            (Protocol::Udp, UdpCheck::Port) if h.custom => "a datagram and an expected answer".into(),
            (Protocol::Udp, UdpCheck::Port) => "a datagram to the port".into(),
        };
        let port = h
            .port
            .map_or(String::new(), |p| format!(" on port {p}"));
        format!(
            "Health: {probe}{port} every {} s with a {} s timeout; an origin comes back after {} and goes out after {} in a row.",
            h.interval_secs,
            h.timeout_secs,
            plural(h.healthy_threshold, "passed check"),
            plural(h.unhealthy_threshold, "failed check"),
        )
    });
    if l.failover {
        out.push("Failover: backup origins take traffic only while no primary is healthy.".into());
    }
    out.push(match l.client_ip {
        ClientIpMethod::None => "The client's address is not passed to the origin.".into(),
        ClientIpMethod::Toa => "The client's address is asked for by TOA, which needs a kernel module (onramp forwards without it).".into(),
        ClientIpMethod::ProxyV1 => "The client's address is passed in a PROXY protocol v1 header.".into(),
        ClientIpMethod::ProxyV2 => "The client's address is passed in a PROXY protocol v2 header.".into(),
    });
    out.push(match (l.max_connections, l.bandwidth_mbps) {
        (0, 0) => "No connection or bandwidth limit of its own.".into(),
        (n, 0) => format!("At most {n} connections at once."),
        (0, b) => format!("At most {b} Mbit/s."),
        (n, b) => format!("At most {n} connections at once and {b} Mbit/s."),
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use onramp_core::{HealthCheck, PortRange};

    #[test]
    fn a_listener_reads_as_sentences() {
        let l = Listener {
            protocol: Protocol::Tcp,
            ports: vec![PortRange::single(8080)],
            scheduler: Scheduler::Wrr,
            health: HealthCheck {
                healthy_threshold: 1,
                ..HealthCheck::default()
            },
            client_ip: ClientIpMethod::ProxyV2,
            max_connections: 100,
            ..Default::default()
        };
        let s = settings(&l, "127.0.0.1");
        assert_eq!(s[0], "Listens for TCP on port 8080 of 127.0.0.1.");
        assert!(s[1].contains("weights"));
        assert_eq!(
            s[2],
            "Health: a TCP connect every 5 s with a 2 s timeout; an origin comes back after 1 passed check and goes out after 3 failed checks in a row."
        );
        assert!(s[3].contains("PROXY protocol v2"));
        assert_eq!(s[4], "At most 100 connections at once.");
        let udp = Listener {
            protocol: Protocol::Udp,
            ports: vec![PortRange {
                from: 5000,
                to: 5009,
            }],
            health: HealthCheck {
                enabled: false,
                ..HealthCheck::default()
            },
            session_persist_secs: 30,
            ..Default::default()
        };
        let s = settings(&udp, "::1");
        assert_eq!(s[0], "Listens for UDP on ports 5000–5009 of ::1.");
        assert!(s[2].contains("30 s"));
        assert!(s[3].starts_with("Health checks are off"));
    }
}
