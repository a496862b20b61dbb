//! What one edge must serve: an immutable, fully resolved view of the listeners of its region.
//!
//! The reconciler (onramp-control) builds a full `Snapshot` of a region from the `State` when an
//! edge starts or is too far behind (`build`), and otherwise a `Delta`: the specs of only the
//! listeners and accelerators the revisions since the edge's touched (`delta`, from
//! `State::touched_since`). The edge applies either as a diff. Everything the data plane needs is
//! copied in, so it never looks anything up in the control plane.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::acl::AccessSpec;
use crate::model::*;

/// One origin bound to a listener, as the edge sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BackendSpec {
    pub binding_id: String,
    /// The endpoint group the binding belongs to (one of `ListenerSpec::groups`).
    pub group_id: String,
    pub origin_id: String,
    /// IP text or domain name.
    pub address: String,
    pub kind: OriginKind,
    /// `ANY_PORT` (0): the port the client connected to.
    pub port: u16,
    pub weight: u32,
    pub role: FailoverRole,
    pub banned: bool,
    pub probe_port: Option<u16>,
}

/// One endpoint group of a listener: its share of new connections and the check of its
/// bindings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSpec {
    pub id: String,
    /// 0–100; new connections and flows are split across a listener's groups in proportion to
    /// their dials (0 = none).
    pub traffic_dial: u8,
    /// The check this group's bindings get (`EndpointGroup::effective_check`).
    pub health: HealthCheck,
    /// How it probes: the group check's protocol, else the listener's.
    pub health_protocol: Protocol,
}

/// Limits shared by all listeners of one accelerator.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AcceleratorSpec {
    pub id: String,
    pub bandwidth_mbps: u64,
    /// Concurrent connections allowed across the accelerator; 0 = unlimited.
    pub max_connections: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListenerSpec {
    pub id: String,
    pub accelerator_id: String,
    pub protocol: Protocol,
    pub ports: Vec<PortRange>,
    pub scheduler: Scheduler,
    pub affinity: bool,
    pub persist_secs: u32,
    pub failover: bool,
    pub client_ip: ClientIpMethod,
    pub health: HealthCheck,
    pub bandwidth_mbps: u64,
    pub max_connections: u64,
    /// The highest dial of the listener's groups: 0 = the listener takes no new traffic.
    pub traffic_dial: u8,
    /// The listener's endpoint groups, in ID order.
    pub groups: Vec<GroupSpec>,
    pub backends: Vec<BackendSpec>,
    /// Who may connect (an IP address group, WHITE or BLACK); `None` = everyone.
    pub access: Option<AccessSpec>,
    /// The listener has a log tank: write an access-log line per connection and UDP flow.
    pub access_log: bool,
}

impl ListenerSpec {
    /// Whether a change from `old` to `self` needs the sockets reopened.
    pub fn needs_rebind(&self, old: &ListenerSpec) -> bool {
        self.protocol != old.protocol || self.ports != old.ports
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snapshot {
    pub revision: u64,
    pub accelerators: BTreeMap<String, AcceleratorSpec>,
    pub listeners: BTreeMap<String, Arc<ListenerSpec>>,
}

mod build;
mod delta;

pub use build::{build, listener_spec, serving_accelerator};
pub use delta::{delta, Delta, Update};

#[cfg(test)]
mod incremental_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::AccessKind;
    use crate::state::State;

    fn state(entries: &[&str], kind: Option<AccessKind>) -> State {
        let acc = Accelerator {
            id: "link-1".into(),
            account_id: "a".into(),
            access_region: "r".into(),
            enabled: true,
            ..Default::default()
        };
        let l = Listener {
            id: "listener-1".into(),
            account_id: "a".into(),
            owner: Owner::Accelerator("link-1".into()),
            ports: vec![PortRange::single(80)],
            access: kind.map(|kind| AccessControl {
                ip_group_id: "g".into(),
                kind,
            }),
            ..Default::default()
        };
        let g = IpGroup {
            id: "g".into(),
            account_id: "a".into(),
            entries: entries
                .iter()
                .map(|c| IpEntry {
                    cidr: c.to_string(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        let recs = [
            Record::Accelerator(acc),
            Record::Listener(l),
            Record::IpGroup(g),
        ];
        State::from_records(1, recs)
    }

    #[test]
    fn the_listener_spec_carries_its_access_rule() {
        let open = build(&state(&["127.0.0.2/32"], None), "r");
        assert!(open.listeners["listener-1"].access.is_none());
        let white = build(&state(&["127.0.0.2/32"], Some(AccessKind::White)), "r");
        let rule = white.listeners["listener-1"].access.as_ref().unwrap();
        assert_eq!(
            (rule.ip_group_id.as_str(), rule.kind),
            ("g", AccessKind::White)
        );
        assert!(rule.admits("127.0.0.2".parse().unwrap()));
        assert!(!rule.admits("127.0.0.3".parse().unwrap()));
        // A change of the group's blocks changes the spec (a config swap), not the sockets.
        let wider = build(&state(&["127.0.0.0/8"], Some(AccessKind::White)), "r");
        let (a, b) = (
            &white.listeners["listener-1"],
            &wider.listeners["listener-1"],
        );
        assert!(a != b && !b.needs_rebind(a));
    }
}
