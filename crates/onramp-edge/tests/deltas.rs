//! Deltas through a real edge on loopback: a delta changes only the listeners it names (an
//! open connection on another listener never notices), adds and removes listeners, moves the
//! applied revision even when it is empty, and a listener that could not open is retried until
//! its port is free.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use onramp_core::snapshot::{Delta, Update};
use onramp_core::PortRange;

mod common;
use common::*;

/// An origin that echoes every line of one connection, for at most 30 s.
fn echo_origin(addr: SocketAddr) -> std::thread::JoinHandle<()> {
    let l = TcpListener::bind(addr).expect("echo bind");
    std::thread::spawn(move || {
        let Ok((s, _)) = l.accept() else { return };
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut w = s.try_clone().unwrap();
        for line in BufReader::new(s).lines() {
            let Ok(line) = line else { return };
            if w.write_all(format!("{line}\n").as_bytes()).is_err() {
                return;
            }
        }
    })
}

fn spec(id: &str, port: u16, origin: &str) -> onramp_core::snapshot::ListenerSpec {
    let mut l = listener(
        PortRange::single(port),
        vec![group("g", 100)],
        vec![backend(&format!("b-{id}-{origin}"), "g", origin, 1)],
    );
    l.id = id.into();
    l
}

fn delta(from: u64, revision: u64) -> Delta {
    Delta {
        from,
        revision,
        ..Default::default()
    }
}

#[test]
fn a_delta_touches_only_the_listeners_it_names() {
    let (p, q) = (free_pair(), free_pair());
    let _echo = echo_origin(SocketAddr::from(([127, 0, 0, 61], p)));
    let _b = Origin::start(SocketAddr::from(([127, 0, 0, 62], p + 1)), "b");
    let _c = Origin::start(SocketAddr::from(([127, 0, 0, 63], p + 1)), "c");
    let _d = Origin::start(SocketAddr::from(([127, 0, 0, 64], q)), "d");
    let edge = Running::start(snapshot(
        1,
        vec![spec("l1", p, "127.0.0.61"), spec("l2", p + 1, "127.0.0.62")],
    ));
    let mut kept = TcpStream::connect(("127.0.0.1", p)).unwrap();
    kept.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut lines = BufReader::new(kept.try_clone().unwrap()).lines();
    let mut echo = |text: &str| {
        kept.write_all(format!("{text}\n").as_bytes()).unwrap();
        lines.next().unwrap().unwrap()
    };
    assert_eq!(echo("one"), "one");
    assert_eq!(ask(p + 1).as_deref(), Some("b"));

    // l2 moves to origin c and l3 opens; l1's open connection does not notice.
    let mut d = delta(1, 2);
    d.listeners = vec![
        Arc::new(spec("l2", p + 1, "127.0.0.63")),
        Arc::new(spec("l3", q, "127.0.0.64")),
    ];
    edge.send(Update::Delta(Arc::new(d)));
    assert_eq!(ask(p + 1).as_deref(), Some("c"));
    assert_eq!(ask(q).as_deref(), Some("d"));
    assert_eq!(echo("two"), "two");

    // Removed: its port closes. An empty delta still moves the revision.
    let mut d = delta(2, 3);
    d.removed_listeners = vec!["l3".into(), "never-had-it".into()];
    edge.send(Update::Delta(Arc::new(d)));
    assert!(TcpStream::connect(("127.0.0.1", q)).is_err());
    edge.send(Update::Delta(Arc::new(delta(3, 4))));
    assert_eq!(echo("three"), "three");
}

#[test]
fn a_listener_whose_port_is_taken_is_retried_until_it_opens() {
    let p = free_pair();
    let _a = Origin::start(SocketAddr::from(([127, 0, 0, 65], p + 1)), "a");
    let taken = TcpListener::bind(("127.0.0.1", p + 1)).unwrap();
    let edge = Running::start(snapshot(1, vec![]));
    let mut d = delta(1, 2);
    d.listeners = vec![Arc::new(spec("l1", p + 1, "127.0.0.65"))];
    edge.send(Update::Delta(Arc::new(d)));
    let failures = edge.failures();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].1.contains("cannot bind"), "{failures:?}");
    drop(taken);
    let end = Instant::now() + Duration::from_secs(15);
    while !edge.failures().is_empty() {
        assert!(Instant::now() < end, "the listener was retried");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(ask(p + 1).as_deref(), Some("a"));
}
