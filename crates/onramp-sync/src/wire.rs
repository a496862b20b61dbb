//! The edge protocol's wire format: JSON documents, one set of serde types for both ends and
//! the edge's state directory. The core types stay free of wire derives beyond what the store
//! already needs: these DTOs copy the snapshot's specs in and out. Fields at their default are
//! left out, so a large snapshot stays small.

use std::sync::Arc;

use onramp_core::acl::{AccessKind, AccessSpec, PrefixSet};
use onramp_core::health::{BindingHealth, MinuteSample};
use onramp_core::snapshot::{
    AcceleratorSpec, BackendSpec, Delta, GroupSpec, ListenerSpec, Snapshot, Update,
};
use onramp_core::{
    ClientIpMethod, FailoverRole, HealthCheck, OriginKind, PortRange, Protocol, Scheduler,
};
use serde::{Deserialize, Serialize};

/// The path every edge request starts with, on the control node's API port.
pub const PREFIX: &str = "/edge/v1";

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceleratorDto {
    pub id: String,
    #[serde(default, skip_serializing_if = "is_default")]
    pub bandwidth_mbps: u64,
    #[serde(default, skip_serializing_if = "is_default")]
    pub max_connections: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackendDto {
    pub binding: String,
    pub group: String,
    pub origin: String,
    pub address: String,
    #[serde(default, skip_serializing_if = "is_default")]
    pub kind: OriginKind,
    pub port: u16,
    pub weight: u32,
    #[serde(default, skip_serializing_if = "is_default")]
    pub role: FailoverRole,
    #[serde(default, skip_serializing_if = "is_default")]
    pub banned: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe_port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupDto {
    pub id: String,
    pub traffic_dial: u8,
    pub health: HealthCheck,
    pub health_protocol: Protocol,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessDto {
    pub ip_group: String,
    pub kind: AccessKind,
    /// The group's blocks as inclusive ranges of the 128-bit address space, each `[lo, hi]`
    /// in hexadecimal (JSON numbers do not hold 128 bits).
    #[serde(with = "hex_ranges")]
    pub ranges: Vec<(u128, u128)>,
}

mod hex_ranges {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(r: &[(u128, u128)], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(
            r.iter()
                .map(|(lo, hi)| [format!("{lo:x}"), format!("{hi:x}")]),
        )
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(u128, u128)>, D::Error> {
        let text: Vec<[String; 2]> = Vec::deserialize(d)?;
        let hex = |s: &str| u128::from_str_radix(s, 16).map_err(D::Error::custom);
        text.iter()
            .map(|[lo, hi]| Ok((hex(lo)?, hex(hi)?)))
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenerDto {
    pub id: String,
    pub accelerator: String,
    pub protocol: Protocol,
    pub ports: Vec<PortRange>,
    pub scheduler: Scheduler,
    #[serde(default, skip_serializing_if = "is_default")]
    pub affinity: bool,
    #[serde(default, skip_serializing_if = "is_default")]
    pub persist_secs: u32,
    #[serde(default, skip_serializing_if = "is_default")]
    pub failover: bool,
    #[serde(default, skip_serializing_if = "is_default")]
    pub client_ip: ClientIpMethod,
    pub health: HealthCheck,
    #[serde(default, skip_serializing_if = "is_default")]
    pub bandwidth_mbps: u64,
    #[serde(default, skip_serializing_if = "is_default")]
    pub max_connections: u64,
    pub traffic_dial: u8,
    #[serde(default)]
    pub groups: Vec<GroupDto>,
    #[serde(default)]
    pub backends: Vec<BackendDto>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<AccessDto>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub access_log: bool,
}

/// What an edge receives: everything, the changes since its revision, or nothing new.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum UpdateDto {
    Full {
        revision: u64,
        accelerators: Vec<AcceleratorDto>,
        listeners: Vec<ListenerDto>,
    },
    Delta {
        from: u64,
        revision: u64,
        #[serde(default)]
        accelerators: Vec<AcceleratorDto>,
        #[serde(default)]
        removed_accelerators: Vec<String>,
        #[serde(default)]
        listeners: Vec<ListenerDto>,
        #[serde(default)]
        removed_listeners: Vec<String>,
    },
    /// Nothing after the edge's revision within the wait; `revision` is the node's.
    None { revision: u64 },
}

impl From<&AcceleratorSpec> for AcceleratorDto {
    fn from(a: &AcceleratorSpec) -> Self {
        Self {
            id: a.id.clone(),
            bandwidth_mbps: a.bandwidth_mbps,
            max_connections: a.max_connections,
        }
    }
}

impl From<AcceleratorDto> for AcceleratorSpec {
    fn from(a: AcceleratorDto) -> Self {
        Self {
            id: a.id,
            bandwidth_mbps: a.bandwidth_mbps,
            max_connections: a.max_connections,
        }
    }
}

impl From<&BackendSpec> for BackendDto {
    fn from(b: &BackendSpec) -> Self {
        Self {
            binding: b.binding_id.clone(),
            group: b.group_id.clone(),
            origin: b.origin_id.clone(),
            address: b.address.clone(),
            kind: b.kind,
            port: b.port,
            weight: b.weight,
            role: b.role,
            banned: b.banned,
            probe_port: b.probe_port,
        }
    }
}

impl From<BackendDto> for BackendSpec {
    fn from(b: BackendDto) -> Self {
        Self {
            binding_id: b.binding,
            group_id: b.group,
            origin_id: b.origin,
            address: b.address,
            kind: b.kind,
            port: b.port,
            weight: b.weight,
            role: b.role,
            banned: b.banned,
            probe_port: b.probe_port,
        }
    }
}

impl From<&GroupSpec> for GroupDto {
    fn from(g: &GroupSpec) -> Self {
        Self {
            id: g.id.clone(),
            traffic_dial: g.traffic_dial,
            health: g.health.clone(),
            health_protocol: g.health_protocol,
        }
    }
}

impl From<GroupDto> for GroupSpec {
    fn from(g: GroupDto) -> Self {
        Self {
            id: g.id,
            traffic_dial: g.traffic_dial,
            health: g.health,
            health_protocol: g.health_protocol,
        }
    }
}

impl From<&ListenerSpec> for ListenerDto {
    fn from(l: &ListenerSpec) -> Self {
        Self {
            id: l.id.clone(),
            accelerator: l.accelerator_id.clone(),
            protocol: l.protocol,
            ports: l.ports.clone(),
            scheduler: l.scheduler,
            affinity: l.affinity,
            persist_secs: l.persist_secs,
            failover: l.failover,
            client_ip: l.client_ip,
            health: l.health.clone(),
            bandwidth_mbps: l.bandwidth_mbps,
            max_connections: l.max_connections,
            traffic_dial: l.traffic_dial,
            groups: l.groups.iter().map(GroupDto::from).collect(),
            backends: l.backends.iter().map(BackendDto::from).collect(),
            access: l.access.as_ref().map(|a| AccessDto {
                ip_group: a.ip_group_id.clone(),
                kind: a.kind,
                ranges: a.set.ranges().to_vec(),
            }),
            access_log: l.access_log,
        }
    }
}

impl From<ListenerDto> for ListenerSpec {
    fn from(l: ListenerDto) -> Self {
        Self {
            id: l.id,
            accelerator_id: l.accelerator,
            protocol: l.protocol,
            ports: l.ports,
            scheduler: l.scheduler,
            affinity: l.affinity,
            persist_secs: l.persist_secs,
            failover: l.failover,
            client_ip: l.client_ip,
            health: l.health,
            bandwidth_mbps: l.bandwidth_mbps,
            max_connections: l.max_connections,
            traffic_dial: l.traffic_dial,
            groups: l.groups.into_iter().map(GroupSpec::from).collect(),
            backends: l.backends.into_iter().map(BackendSpec::from).collect(),
            access: l.access.map(|a| AccessSpec {
                ip_group_id: a.ip_group,
                kind: a.kind,
                set: PrefixSet::from_ranges(a.ranges),
            }),
            access_log: l.access_log,
        }
    }
}

fn listeners_out<'a>(ls: impl Iterator<Item = &'a Arc<ListenerSpec>>) -> Vec<ListenerDto> {
    ls.map(|l| ListenerDto::from(l.as_ref())).collect()
}

fn listeners_in(ls: Vec<ListenerDto>) -> Vec<Arc<ListenerSpec>> {
    ls.into_iter().map(|l| Arc::new(l.into())).collect()
}

impl From<&Update> for UpdateDto {
    fn from(u: &Update) -> Self {
        match u {
            Update::Full(s) => UpdateDto::full(s),
            Update::Delta(d) => UpdateDto::Delta {
                from: d.from,
                revision: d.revision,
                accelerators: d.accelerators.iter().map(AcceleratorDto::from).collect(),
                removed_accelerators: d.removed_accelerators.clone(),
                listeners: listeners_out(d.listeners.iter()),
                removed_listeners: d.removed_listeners.clone(),
            },
        }
    }
}

impl UpdateDto {
    pub fn full(s: &Snapshot) -> Self {
        UpdateDto::Full {
            revision: s.revision,
            accelerators: s.accelerators.values().map(AcceleratorDto::from).collect(),
            listeners: listeners_out(s.listeners.values()),
        }
    }

    /// The update this carries; `None` for "nothing new".
    pub fn into_update(self) -> Option<Update> {
        Some(match self {
            UpdateDto::Full {
                revision,
                accelerators,
                listeners,
            } => {
                let mut s = Snapshot {
                    revision,
                    ..Default::default()
                };
                for a in accelerators {
                    s.accelerators.insert(a.id.clone(), a.into());
                }
                for l in listeners_in(listeners) {
                    s.listeners.insert(l.id.clone(), l);
                }
                Update::Full(Arc::new(s))
            }
            UpdateDto::Delta {
                from,
                revision,
                accelerators,
                removed_accelerators,
                listeners,
                removed_listeners,
            } => Update::Delta(Arc::new(Delta {
                from,
                revision,
                accelerators: accelerators.into_iter().map(Into::into).collect(),
                removed_accelerators,
                listeners: listeners_in(listeners),
                removed_listeners,
            })),
            UpdateDto::None { .. } => return None,
        })
    }
}

/// `POST /edge/v1/register`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Register {
    pub name: String,
    pub region: String,
    /// The addresses clients reach this edge's listeners on.
    pub addresses: Vec<String>,
    /// The revision it serves now (from its state directory), if any.
    #[serde(default)]
    pub applied: Option<u64>,
}

/// The answer to a registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registered {
    /// The control node's committed revision.
    pub revision: u64,
    /// How long the node holds a poll for updates when nothing changes, seconds.
    pub poll_secs: u64,
    /// How often the node expects a report, milliseconds.
    pub report_ms: u64,
    /// How long the node waits for a report before it shows the edge as lost, milliseconds.
    pub lost_after_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthDto {
    pub binding: String,
    pub healthy: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub down: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_micros: Option<u64>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub resolve_failed: bool,
}

impl HealthDto {
    pub fn new(binding: &str, h: &BindingHealth) -> Self {
        Self {
            binding: binding.to_string(),
            healthy: h.healthy,
            down: h.down.clone(),
            rtt_micros: h.rtt_micros,
            resolve_failed: h.resolve_failed,
        }
    }

    pub fn into_pair(self) -> (String, BindingHealth) {
        let h = BindingHealth {
            healthy: self.healthy,
            down: self.down,
            rtt_micros: self.rtt_micros,
            resolve_failed: self.resolve_failed,
        };
        (self.binding, h)
    }
}

/// One listener's traffic in one minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinuteDto {
    pub minute: i64,
    #[serde(default, skip_serializing_if = "is_default")]
    pub bytes_in: u64,
    #[serde(default, skip_serializing_if = "is_default")]
    pub bytes_out: u64,
    #[serde(default, skip_serializing_if = "is_default")]
    pub packets_in: u64,
    #[serde(default, skip_serializing_if = "is_default")]
    pub packets_out: u64,
    #[serde(default, skip_serializing_if = "is_default")]
    pub peak_conns: u64,
    #[serde(default, skip_serializing_if = "is_default")]
    pub new_conns: u64,
}

impl From<&MinuteSample> for MinuteDto {
    fn from(m: &MinuteSample) -> Self {
        Self {
            minute: m.minute,
            bytes_in: m.bytes_in,
            bytes_out: m.bytes_out,
            packets_in: m.packets_in,
            packets_out: m.packets_out,
            peak_conns: m.peak_conns,
            new_conns: m.new_conns,
        }
    }
}

impl From<MinuteDto> for MinuteSample {
    fn from(m: MinuteDto) -> Self {
        Self {
            minute: m.minute,
            bytes_in: m.bytes_in,
            bytes_out: m.bytes_out,
            packets_in: m.packets_in,
            packets_out: m.packets_out,
            peak_conns: m.peak_conns,
            new_conns: m.new_conns,
        }
    }
}

/// A listener that could not open on the edge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureDto {
    pub listener: String,
    pub error: String,
}

/// `POST /edge/v1/report`: health and series are changes since the node's last answer to this
/// edge (`health_full` after a (re)registration).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportDto {
    pub name: String,
    pub applied: u64,
    /// Listeners it has open.
    #[serde(default)]
    pub listeners_open: usize,
    #[serde(default)]
    pub failures: Vec<FailureDto>,
    #[serde(default)]
    pub health_full: bool,
    #[serde(default)]
    pub health: Vec<HealthDto>,
    #[serde(default)]
    pub health_forget: Vec<String>,
    /// Per-minute traffic by listener.
    #[serde(default)]
    pub series: Vec<(String, Vec<MinuteDto>)>,
    /// Health by binding as the change points written since the node's last answer (all of
    /// them after a registration): (minute, value of every minute from this one on until the
    /// next point: 1.0 healthy all minute, 0.0 down at some point, null nothing known); see
    /// `onramp_core::health::HealthSeries`.
    #[serde(default)]
    pub binding_changes: onramp_core::health::BindingPoints,
    /// Unix seconds when this edge process started keeping its series: a new value tells the
    /// node the edge restarted, so what it held of the edge's health ends where it last heard.
    #[serde(default)]
    pub started: i64,
}

impl ReportDto {
    pub fn into_report(self) -> onramp_control::edges::Report {
        onramp_control::edges::Report {
            applied: self.applied,
            listeners_open: self.listeners_open,
            failures: self
                .failures
                .into_iter()
                .map(|f| (f.listener, f.error))
                .collect(),
            health_full: self.health_full,
            health: self.health.into_iter().map(HealthDto::into_pair).collect(),
            health_forget: self.health_forget,
            series: self
                .series
                .into_iter()
                .map(|(l, ms)| (l, ms.into_iter().map(Into::into).collect()))
                .collect(),
            binding_changes: self.binding_changes,
            started: self.started,
        }
    }
}

/// An error answer: `{"error": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDto {
    pub error: String,
}

#[cfg(test)]
mod tests;
