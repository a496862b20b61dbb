//! Fixtures for the operations' unit tests: a state built by running the operations themselves.

use onramp_core::{Dialect, Listener, Op, Owner, PortRange, Protocol, State};

use crate::accelerators::{self, NewAccelerator, Placement};
use crate::ids::Ids;
use crate::Cx;

pub const ACCOUNT: &str = "acct-1";

pub fn cx() -> Cx {
    Cx {
        account: ACCOUNT.into(),
        now: 1_700_000_000_000,
        applied: 0,
        quotas: onramp_core::Quotas::default(),
    }
}

/// Apply a batch as the control plane would, at the next revision.
pub fn apply(st: &mut State, ops: &[Op]) {
    let rev = st.revision + 1;
    st.apply(rev, ops);
}

/// Region `local` both ways, 10 Mbps, 2 (thousand) concurrent.
pub fn local_placement() -> Placement {
    Placement {
        access_region: "local".into(),
        origin_region: Some("local".into()),
        bandwidth_mbps: 10,
        concurrent: 2,
        ..Default::default()
    }
}

/// A running standalone accelerator in region `local`.
pub fn accelerator(st: &mut State) -> String {
    let spec = NewAccelerator {
        place: local_placement(),
        name: "a".into(),
        ..Default::default()
    };
    let plan = accelerators::create(&cx(), st, &mut Ids::new(), Dialect::Gaap, &spec).unwrap();
    apply(st, &plan.ops);
    plan.out
}

/// A listener spec of `protocol` on `ports` (inclusive ranges).
pub fn spec(protocol: Protocol, ports: &[(u16, u16)]) -> Listener {
    Listener {
        name: "l".into(),
        protocol,
        ports: ports
            .iter()
            .map(|&(from, to)| PortRange { from, to })
            .collect(),
        ..Default::default()
    }
}

/// Create one listener and return its ID.
pub fn listener(st: &mut State, owner: &Owner, protocol: Protocol, port: u16) -> String {
    let (ops, ids) = crate::listeners::create(
        &cx(),
        st,
        &mut Ids::new(),
        owner,
        Dialect::Gaap,
        vec![spec(protocol, &[(port, port)])],
    )
    .unwrap();
    apply(st, &ops);
    ids[0].clone()
}
