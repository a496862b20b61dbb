//! Resource types of the one model behind all dialects.
//!
//! Every resource belongs to one account and carries `revision`, the global store revision of its
//! last write; a resource whose revision is above the edges' applied revision is reported as being
//! created/adjusted. Serde derives exist only so the store can keep each record as a JSON document;
//! `#[serde(default)]` keeps old documents readable when fields are added.

use serde::{Deserialize, Serialize};

/// Unix time in milliseconds.
pub type Millis = i64;

/// Which dialect created a resource; decides the ID shape it keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Dialect {
    #[default]
    Gaap,
    Huawei,
    Bm,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// A tenant. `app_id`/`uin` are its GAAP identity, `domain_id` its Huawei one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub app_id: u64,
    pub uin: String,
    pub domain_id: String,
    pub created_at: Millis,
    pub revision: u64,
}

/// An API key pair. The same pair signs every dialect.
///
/// A rotated key keeps its former secret in `previous_secret_key` (empty = none) until
/// `previous_valid_until`, so clients can move to the new secret without downtime. Both secrets
/// are sealed in the store (see `onramp_store::sealed`); in memory they are plain.
#[derive(Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ApiKey {
    pub secret_id: String,
    pub secret_key: String,
    pub account_id: String,
    pub enabled: bool,
    /// Actions this key may call; empty means all (a root key). Kept for keys made before
    /// policies; `effective_policy` folds it in.
    pub allowed_actions: Vec<String>,
    /// What this key may do (see `policy`); `None` = everything its account may.
    pub policy: Option<crate::policy::Policy>,
    pub created_at: Millis,
    pub revision: u64,
    /// The secret before the last rotation; empty when there is none.
    pub previous_secret_key: String,
    /// `previous_secret_key` signs requests while `now < previous_valid_until`.
    pub previous_valid_until: Millis,
}

impl ApiKey {
    /// The secrets that sign for this key at `now_ms`: the current one, then the previous one
    /// while its grace lasts.
    pub fn secrets_at(&self, now_ms: Millis) -> impl Iterator<Item = &str> {
        let previous = (!self.previous_secret_key.is_empty() && now_ms < self.previous_valid_until)
            .then_some(self.previous_secret_key.as_str());
        std::iter::once(self.secret_key.as_str()).chain(previous)
    }
}

impl ApiKey {
    /// The policy that governs this key: its document, or the `allowed_actions` list, or none.
    pub fn effective_policy(&self) -> Option<std::borrow::Cow<'_, crate::policy::Policy>> {
        use std::borrow::Cow;
        match (&self.policy, self.allowed_actions.is_empty()) {
            (Some(p), _) => Some(Cow::Borrowed(p)),
            (None, false) => Some(Cow::Owned(crate::policy::Policy::allow_actions(
                &self.allowed_actions,
            ))),
            (None, true) => None,
        }
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKey")
            .field("secret_id", &self.secret_id)
            .field("secret_key", &"<redacted>")
            .field("account_id", &self.account_id)
            .field("enabled", &self.enabled)
            .field("policy", &self.policy)
            .field("allowed_actions", &self.allowed_actions)
            .field(
                "previous_secret_key",
                &if self.previous_secret_key.is_empty() {
                    ""
                } else {
                    "<redacted>"
                },
            )
            .field("previous_valid_until", &self.previous_valid_until)
            .finish()
    }
}

/// The last change made to an accelerator, reported until the edges have applied it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AcceleratorChange {
    #[default]
    Create,
    Open,
    Close,
    Config,
}

/// A set of access addresses served by the edges of a region: GAAP proxy, Huawei accelerator,
/// BM load balancer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Accelerator {
    pub id: String,
    pub account_id: String,
    pub created_by: Dialect,
    pub name: String,
    pub description: String,
    pub project_id: i64,
    pub access_region: String,
    pub origin_region: String,
    /// Shared bandwidth limit of all the accelerator's traffic, Mbps; 0 = unlimited.
    pub bandwidth_mbps: u64,
    /// Concurrent-connection limit in units of 10,000; 0 = unlimited.
    pub concurrent: u64,
    pub group_id: Option<String>,
    /// Desired state: open (serving) or closed.
    pub enabled: bool,
    pub tags: Vec<Tag>,
    pub billing_type: i64,
    pub ip_version: String,
    pub network_type: String,
    pub package_type: String,
    pub client_token: Option<String>,
    pub enterprise_project_id: String,
    /// Huawei `ip_sets[].area` (`OUTOFCM`/`CM`).
    pub area: String,
    pub banned: bool,
    pub frozen: FrozenInfo,
    pub change: AcceleratorChange,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub config_changed_at: Option<Millis>,
    pub revision: u64,
}

/// Huawei `frozen_info`; all zero for a normal resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FrozenInfo {
    pub status: i32,
    pub effect: i32,
    pub scene: Vec<String>,
}

impl Default for FrozenInfo {
    fn default() -> Self {
        Self {
            status: 0,
            effect: 1,
            scene: Vec::new(),
        }
    }
}

/// A GAAP proxy group: accelerators sharing listeners.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct AcceleratorGroup {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub project_id: i64,
    pub origin_region: String,
    pub tags: Vec<Tag>,
    pub enabled: bool,
    pub ip_version: String,
    pub package_type: String,
    pub change: AcceleratorChange,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub revision: u64,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    #[default]
    Tcp,
    Udp,
}

impl Protocol {
    pub fn upper(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
        }
    }
    pub fn lower(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

/// An inclusive range of ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PortRange {
    pub from: u16,
    pub to: u16,
}

impl PortRange {
    pub fn single(p: u16) -> Self {
        Self { from: p, to: p }
    }
    pub fn contains(&self, p: u16) -> bool {
        self.from <= p && p <= self.to
    }
    pub fn iter(&self) -> impl Iterator<Item = u16> {
        self.from..=self.to
    }
    pub fn overlaps(&self, o: &PortRange) -> bool {
        self.from <= o.to && o.from <= self.to
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Scheduler {
    #[default]
    Rr,
    Wrr,
    Lc,
    Lrtt,
}

impl Scheduler {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheduler::Rr => "rr",
            Scheduler::Wrr => "wrr",
            Scheduler::Lc => "lc",
            Scheduler::Lrtt => "lrtt",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "rr" => Scheduler::Rr,
            "wrr" => Scheduler::Wrr,
            "lc" => Scheduler::Lc,
            "lrtt" => Scheduler::Lrtt,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Affinity {
    #[default]
    None,
    SourceIp,
}

/// How the client address reaches the origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ClientIpMethod {
    #[default]
    None,
    /// TCP option address (needs a kernel module on both ends; accepted, not done in user space).
    Toa,
    ProxyV1,
    ProxyV2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OriginKind {
    #[default]
    Ip,
    Domain,
}

impl OriginKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OriginKind::Ip => "IP",
            OriginKind::Domain => "DOMAIN",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FailoverRole {
    #[default]
    None,
    Master,
    Slave,
}

impl FailoverRole {
    pub fn as_str(self) -> &'static str {
        match self {
            FailoverRole::None => "",
            FailoverRole::Master => "master",
            FailoverRole::Slave => "slave",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum UdpCheck {
    #[default]
    Port,
    Ping,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PayloadFormat {
    #[default]
    Text,
    Hex,
}

/// Line separator substituted for line breaks in a text send payload (BM `lineSeparatorType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LineSeparator {
    #[default]
    Unset,
    Lf,
    Cr,
    LfCr,
}

impl LineSeparator {
    pub fn code(self) -> i64 {
        match self {
            LineSeparator::Unset => 0,
            LineSeparator::Lf => 1,
            LineSeparator::Cr => 2,
            LineSeparator::LfCr => 3,
        }
    }
    pub fn from_code(c: i64) -> Option<Self> {
        Some(match c {
            0 => LineSeparator::Unset,
            1 => LineSeparator::Lf,
            2 => LineSeparator::Cr,
            3 => LineSeparator::LfCr,
            _ => return None,
        })
    }
}

/// The health check of a listener's origins. Flat so each dialect round-trips its own fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HealthCheck {
    pub enabled: bool,
    pub interval_secs: u32,
    pub timeout_secs: u32,
    pub healthy_threshold: u32,
    pub unhealthy_threshold: u32,
    /// Probe this port instead of the binding's port.
    pub port: Option<u16>,
    /// UDP: probe by send/expect on the port, or by ping.
    pub udp_check: UdpCheck,
    /// TCP: send/expect instead of a bare connect.
    pub custom: bool,
    pub payload_format: PayloadFormat,
    pub line_separator: LineSeparator,
    pub send: String,
    pub expect: String,
}

impl Default for HealthCheck {
    fn default() -> Self {
        Self {
            enabled: true,
            interval_secs: 5,
            timeout_secs: 2,
            healthy_threshold: 3,
            unhealthy_threshold: 3,
            port: None,
            udp_check: UdpCheck::Port,
            custom: false,
            payload_format: PayloadFormat::Text,
            line_separator: LineSeparator::Unset,
            send: String::new(),
            expect: String::new(),
        }
    }
}

/// What the last write to a listener changed, reported until the edges applied it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ListenerChange {
    #[default]
    Create,
    Origins,
    Config,
}

/// Who owns a listener: one accelerator, or a group (served by all its accelerators).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Owner {
    Accelerator(String),
    Group(String),
}

impl Default for Owner {
    fn default() -> Self {
        Owner::Accelerator(String::new())
    }
}

impl Owner {
    pub fn id(&self) -> &str {
        match self {
            Owner::Accelerator(s) | Owner::Group(s) => s,
        }
    }
    pub fn accelerator(&self) -> Option<&str> {
        match self {
            Owner::Accelerator(s) => Some(s),
            Owner::Group(_) => None,
        }
    }
    pub fn group(&self) -> Option<&str> {
        match self {
            Owner::Group(s) => Some(s),
            Owner::Accelerator(_) => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Listener {
    pub id: String,
    pub account_id: String,
    pub created_by: Dialect,
    pub owner: Owner,
    pub name: String,
    pub description: String,
    pub protocol: Protocol,
    pub ports: Vec<PortRange>,
    pub scheduler: Scheduler,
    pub affinity: Affinity,
    /// Session persistence (affinity entry / UDP flow idle) time in seconds; 0 = off.
    pub session_persist_secs: u32,
    pub health: HealthCheck,
    pub failover: bool,
    pub client_ip: ClientIpMethod,
    /// Listener bandwidth limit, Mbps; 0 = unlimited.
    pub bandwidth_mbps: u64,
    pub origin_kind: OriginKind,
    /// Origin port for group listeners (GAAP `RealServerPort`).
    pub origin_port: Option<u16>,
    /// Concurrent-connection limit of this listener; 0 = unlimited.
    pub max_connections: u64,
    pub tags: Vec<Tag>,
    /// The IP address group that admits (WHITE) or refuses (BLACK) clients; `None` = everyone.
    pub access: Option<AccessControl>,
    /// The listener's log tank (Huawei `logtank`), one at most: while set, the edges write an
    /// access-log line for every connection and UDP flow of this listener.
    pub log_tank: Option<LogTank>,
    pub frozen: FrozenInfo,
    pub change: ListenerChange,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub revision: u64,
}

impl Listener {
    /// The first port (GAAP and BM show one port per listener).
    pub fn first_port(&self) -> u16 {
        self.ports.first().map(|r| r.from).unwrap_or(0)
    }
    pub fn has_port(&self, p: u16) -> bool {
        self.ports.iter().any(|r| r.contains(p))
    }
}

/// Where a listener's access log goes (Huawei LTS log group and stream, stored as given).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct LogTank {
    pub id: String,
    pub log_group_id: String,
    pub log_stream_id: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// The origins of a listener in one region, with a traffic dial. GAAP and BM listeners have one
/// implicit group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EndpointGroup {
    pub id: String,
    pub account_id: String,
    pub listener_id: String,
    pub name: String,
    pub description: String,
    pub region: String,
    /// Share of traffic, 0–100.
    pub traffic_dial: u8,
    pub implicit: bool,
    /// The group's own health check (Huawei `health_check`), one at most. When set it checks
    /// this group's bindings instead of the listener's `health`; an explicit group without one
    /// is not monitored.
    pub health_check: Option<GroupHealthCheck>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub revision: u64,
}

impl EndpointGroup {
    /// The check the edge runs on this group's bindings: its own, or for an implicit group
    /// without one the listener's, else none (`enabled: false`).
    pub fn effective_check(&self, listener: &HealthCheck) -> HealthCheck {
        match (&self.health_check, self.implicit) {
            (Some(h), _) => h.as_check(),
            (None, true) => listener.clone(),
            (None, false) => HealthCheck {
                enabled: false,
                ..HealthCheck::default()
            },
        }
    }
}

/// The health check of one endpoint group: a connect (TCP) or port probe (UDP) of every
/// endpoint on `port`, every `interval_secs`, `max_retries` results in a row to flip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct GroupHealthCheck {
    pub id: String,
    pub protocol: Protocol,
    pub port: u16,
    pub interval_secs: u32,
    pub timeout_secs: u32,
    pub max_retries: u32,
    pub enabled: bool,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl GroupHealthCheck {
    /// As the listener-level check the edge knows how to run. A UDP check sends an empty
    /// datagram to `port` and counts the endpoint down on an ICMP error (it needs no answer).
    pub fn as_check(&self) -> HealthCheck {
        let udp_check = match self.protocol {
            Protocol::Udp => UdpCheck::Ping,
            Protocol::Tcp => UdpCheck::Port,
        };
        HealthCheck {
            enabled: self.enabled,
            udp_check,
            interval_secs: self.interval_secs,
            timeout_secs: self.timeout_secs,
            healthy_threshold: self.max_retries,
            unhealthy_threshold: self.max_retries,
            port: Some(self.port),
            ..HealthCheck::default()
        }
    }
}

impl Default for EndpointGroup {
    fn default() -> Self {
        Self {
            id: String::new(),
            account_id: String::new(),
            listener_id: String::new(),
            name: String::new(),
            description: String::new(),
            region: String::new(),
            traffic_dial: 100,
            implicit: true,
            health_check: None,
            created_at: 0,
            updated_at: 0,
            revision: 0,
        }
    }
}

/// An origin (GAAP real server): an IP address or a domain name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Origin {
    pub id: String,
    pub account_id: String,
    pub created_by: Dialect,
    pub project_id: i64,
    pub name: String,
    /// Normalised IP text or lower-case domain name.
    pub address: String,
    pub kind: OriginKind,
    pub tags: Vec<Tag>,
    /// On the ban list: gets no traffic.
    pub banned: bool,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub revision: u64,
}

/// An origin bound to a listener's endpoint group on a port (`ANY_PORT`: the port the client
/// connected to, as a Huawei endpoint takes a listener's port range).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Binding {
    pub id: String,
    pub account_id: String,
    pub listener_id: String,
    pub endpoint_group_id: String,
    pub origin_id: String,
    pub port: u16,
    pub weight: u32,
    pub role: FailoverRole,
    pub probe_port: Option<u16>,
    /// The resource behind the address as the creating dialect named it (Huawei endpoint
    /// `resource_id`, `resource_type`); empty for bindings made without one.
    pub resource_id: String,
    pub resource_type: String,
    pub created_at: Millis,
    /// Last change of weight (0 = never changed: `created_at`).
    pub updated_at: Millis,
    pub revision: u64,
}

/// A listener's access control: which IP address group, and whether it admits or refuses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct AccessControl {
    pub ip_group_id: String,
    pub kind: crate::acl::AccessKind,
}

/// One CIDR block of an IP address group, as given (checked by `acl::Cidr::parse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct IpEntry {
    pub cidr: String,
    pub description: String,
    pub created_at: Millis,
}

/// An IP address group (Huawei `ip_group`): CIDR blocks that listeners admit or refuse. Which
/// listeners use it is on each listener (`Listener.access`), indexed by `State`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct IpGroup {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub description: String,
    pub entries: Vec<IpEntry>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub revision: u64,
}

/// `Binding::port` of a binding that forwards to the port the client connected to.
pub const ANY_PORT: u16 = 0;

/// An asynchronous change: done when the edges have applied `revision`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Task {
    pub id: String,
    pub account_id: String,
    /// BM legacy `requestId` (an integer task id).
    pub number: u64,
    pub action: String,
    pub resources: Vec<String>,
    pub failed: bool,
    pub created_at: Millis,
    pub revision: u64,
}

/// The kinds of record the store keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Account,
    Key,
    Accelerator,
    Group,
    Listener,
    EndpointGroup,
    Origin,
    Binding,
    Task,
    IpGroup,
}

impl Kind {
    pub const ALL: [Kind; 10] = [
        Kind::Account,
        Kind::Key,
        Kind::Accelerator,
        Kind::Group,
        Kind::Listener,
        Kind::EndpointGroup,
        Kind::Origin,
        Kind::Binding,
        Kind::Task,
        Kind::IpGroup,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Account => "account",
            Kind::Key => "key",
            Kind::Accelerator => "accelerator",
            Kind::Group => "group",
            Kind::Listener => "listener",
            Kind::EndpointGroup => "endpoint_group",
            Kind::Origin => "origin",
            Kind::Binding => "binding",
            Kind::Task => "task",
            Kind::IpGroup => "ip_group",
        }
    }
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One stored record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "doc", rename_all = "snake_case")]
pub enum Record {
    Account(Account),
    Key(ApiKey),
    Accelerator(Accelerator),
    Group(AcceleratorGroup),
    Listener(Listener),
    EndpointGroup(EndpointGroup),
    Origin(Origin),
    Binding(Binding),
    Task(Task),
    IpGroup(IpGroup),
}

macro_rules! each_record {
    ($r:expr, $v:ident => $e:expr) => {
        match $r {
            Record::Account($v) => $e,
            Record::Key($v) => $e,
            Record::Accelerator($v) => $e,
            Record::Group($v) => $e,
            Record::Listener($v) => $e,
            Record::EndpointGroup($v) => $e,
            Record::Origin($v) => $e,
            Record::Binding($v) => $e,
            Record::Task($v) => $e,
            Record::IpGroup($v) => $e,
        }
    };
}

impl Record {
    pub fn kind(&self) -> Kind {
        match self {
            Record::Account(_) => Kind::Account,
            Record::Key(_) => Kind::Key,
            Record::Accelerator(_) => Kind::Accelerator,
            Record::Group(_) => Kind::Group,
            Record::Listener(_) => Kind::Listener,
            Record::EndpointGroup(_) => Kind::EndpointGroup,
            Record::Origin(_) => Kind::Origin,
            Record::Binding(_) => Kind::Binding,
            Record::Task(_) => Kind::Task,
            Record::IpGroup(_) => Kind::IpGroup,
        }
    }
    pub fn id(&self) -> &str {
        match self {
            Record::Key(k) => &k.secret_id,
            Record::Account(a) => &a.id,
            Record::Accelerator(a) => &a.id,
            Record::Group(g) => &g.id,
            Record::Listener(l) => &l.id,
            Record::EndpointGroup(e) => &e.id,
            Record::Origin(o) => &o.id,
            Record::Binding(b) => &b.id,
            Record::Task(t) => &t.id,
            Record::IpGroup(g) => &g.id,
        }
    }
    pub fn account_id(&self) -> &str {
        match self {
            Record::Account(a) => &a.id,
            Record::Key(k) => &k.account_id,
            Record::Accelerator(a) => &a.account_id,
            Record::Group(g) => &g.account_id,
            Record::Listener(l) => &l.account_id,
            Record::EndpointGroup(e) => &e.account_id,
            Record::Origin(o) => &o.account_id,
            Record::Binding(b) => &b.account_id,
            Record::Task(t) => &t.account_id,
            Record::IpGroup(g) => &g.account_id,
        }
    }
    pub fn revision(&self) -> u64 {
        each_record!(self, v => v.revision)
    }
    pub fn set_revision(&mut self, rev: u64) {
        each_record!(self, v => v.revision = rev)
    }
}

/// One write in an atomic batch.
// Batches are short-lived and mostly puts; boxing every record would cost more than it saves.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Put(Record),
    Delete(Kind, String),
}

impl Op {
    /// The op as committed at `rev`: a put record carries the revision it is written at.
    pub fn at_revision(self, rev: u64) -> Op {
        match self {
            Op::Put(mut r) => {
                r.set_revision(rev);
                Op::Put(r)
            }
            delete => delete,
        }
    }
}

#[cfg(test)]
mod key_tests {
    use super::*;

    #[test]
    fn secrets_at_yields_the_previous_secret_only_during_its_grace() {
        let mut k = ApiKey {
            secret_key: "new".into(),
            ..Default::default()
        };
        assert_eq!(k.secrets_at(0).collect::<Vec<_>>(), ["new"]);
        k.previous_secret_key = "old".into();
        k.previous_valid_until = 1_000;
        assert_eq!(k.secrets_at(999).collect::<Vec<_>>(), ["new", "old"]);
        assert_eq!(k.secrets_at(1_000).collect::<Vec<_>>(), ["new"]);
        k.previous_secret_key.clear();
        assert_eq!(k.secrets_at(0).collect::<Vec<_>>(), ["new"]);
        let shown = format!("{k:?}");
        assert!(!shown.contains("new") && !shown.contains("old"), "{shown}");
    }
}

/// The operator's limits on what an account may hold (`onramp serve --quota-*`), enforced by the
/// operations for every dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quotas {
    /// Accelerators per account.
    pub accelerators: usize,
    /// Listeners per accelerator.
    pub listeners: usize,
    /// Endpoints (bindings) per endpoint group.
    pub endpoints: usize,
}

impl Default for Quotas {
    /// Huawei GA's documented defaults: 20 accelerators, 10 listeners each, 10 endpoints a group.
    fn default() -> Self {
        Quotas {
            accelerators: 20,
            listeners: 10,
            endpoints: 10,
        }
    }
}
