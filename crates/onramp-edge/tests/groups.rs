//! Endpoint groups in the data plane, through a real edge on loopback: a binding to `ANY_PORT`
//! is reached on the port the client connected to (every port of a listener's range), new
//! connections are split across a listener's groups by traffic dial, weight 0 takes none, and a
//! listener whose dials are all 0 takes no connection.

use std::collections::HashMap;
use std::net::SocketAddr;

use onramp_core::snapshot::ListenerSpec;
use onramp_core::PortRange;

mod common;
use common::*;

fn serve(spec: ListenerSpec) -> Running {
    Running::start(snapshot(1, vec![spec]))
}

#[test]
fn any_port_bindings_get_the_port_the_client_connected_to() {
    let p = free_pair();
    let _a = Origin::start(SocketAddr::from(([127, 0, 0, 51], p)), "first");
    let _b = Origin::start(SocketAddr::from(([127, 0, 0, 51], p + 1)), "second");
    let spec = listener(
        PortRange { from: p, to: p + 1 },
        vec![group("g1", 100)],
        vec![backend("b1", "g1", "127.0.0.51", 1)],
    );
    let _edge = serve(spec);
    for _ in 0..3 {
        assert_eq!(ask(p).as_deref(), Some("first"));
        assert_eq!(ask(p + 1).as_deref(), Some("second"));
    }
}

#[test]
fn new_connections_split_across_groups_by_dial_and_weight_zero_takes_none() {
    let p = free_pair();
    let _a = Origin::start(SocketAddr::from(([127, 0, 0, 52], p)), "a");
    let _b = Origin::start(SocketAddr::from(([127, 0, 0, 53], p)), "b");
    let _c = Origin::start(SocketAddr::from(([127, 0, 0, 54], p)), "c");
    let spec = listener(
        PortRange::single(p),
        vec![group("g1", 25), group("g2", 75)],
        vec![
            backend("b1", "g1", "127.0.0.52", 1),
            backend("b2", "g2", "127.0.0.53", 1),
            backend("b3", "g2", "127.0.0.54", 0),
        ],
    );
    let _edge = serve(spec);
    let mut seen: HashMap<String, u32> = HashMap::new();
    for _ in 0..100 {
        let tag = ask(p).expect("every connection is forwarded");
        *seen.entry(tag).or_default() += 1;
    }
    assert_eq!(seen.get("a"), Some(&25), "{seen:?}");
    assert_eq!(seen.get("b"), Some(&75), "{seen:?}");
    assert_eq!(
        seen.get("c"),
        None,
        "weight 0 takes no new connection: {seen:?}"
    );
}

#[test]
fn a_listener_whose_dials_are_all_zero_takes_no_connection() {
    let p = free_pair();
    let _a = Origin::start(SocketAddr::from(([127, 0, 0, 55], p)), "a");
    let spec = listener(
        PortRange::single(p),
        vec![group("g1", 0), group("g2", 0)],
        vec![
            backend("b1", "g1", "127.0.0.55", 1),
            backend("b2", "g2", "127.0.0.55", 1),
        ],
    );
    let _edge = serve(spec);
    for _ in 0..3 {
        assert_eq!(ask(p), None);
    }
}
