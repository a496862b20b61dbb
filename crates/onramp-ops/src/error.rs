//! `OpError`: every way an operation can refuse, typed, with no dialect's codes or words.
//!
//! Field names in `Invalid` and `Missing` are the model's (`scheduler`, `health.timeout`, …);
//! each dialect maps them to its own parameter names in the one place it maps these errors.

use onramp_core::validate::Invalid;
use onramp_core::Protocol;
use onramp_store::StoreError;

/// The kinds of resources an error can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Res {
    Accelerator,
    Group,
    Listener,
    EndpointGroup,
    /// A binding, as a dialect with endpoints names it.
    Endpoint,
    /// An endpoint group's health check.
    HealthCheck,
    Origin,
    Task,
    IpGroup,
    /// A listener's log tank.
    LogTank,
}

#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// No such resource of the caller's (another account's resource is not found either).
    #[error("{0:?} {1} does not exist")]
    NotFound(Res, String),
    /// The accelerator or group is closed (or otherwise not running).
    #[error("{0:?} {1} is not running")]
    NotRunning(Res, String),
    /// Another listener of the same protocol already serves `port` on this accelerator (or its
    /// group); `listener` is unknown when the store caught it.
    #[error("{} port {port} is already used by {listener:?}", protocol.upper())]
    PortTaken {
        protocol: Protocol,
        port: u16,
        listener: Option<String>,
    },
    /// The origin's `port` is already bound to `listener`, another listener of the same
    /// protocol of the accelerator: one port of a host serves one listener per protocol.
    #[error("{origin} port {port} is already bound to {} listener {listener}", protocol.upper())]
    OriginPortTaken {
        origin: String,
        port: u16,
        protocol: Protocol,
        listener: String,
    },
    /// The listener exists but speaks the other protocol.
    #[error("listener {listener} is a {} listener", protocol.upper())]
    WrongProtocol {
        listener: String,
        protocol: Protocol,
    },
    /// Deletion order: the resource still has origins bound (to `listener`).
    #[error("{res:?} {id} is still bound (listener {listener})")]
    StillBound {
        res: Res,
        id: String,
        listener: String,
    },
    /// Deletion order: the group still has `count` accelerators.
    #[error("group {group} still has {count} accelerators")]
    HasMembers { group: String, count: usize },
    /// An origin with this address exists in the project.
    #[error("origin {address} already exists in project {project}")]
    DuplicateAddress { address: String, project: i64 },
    /// The origin is banned and cannot be bound.
    #[error("origin {origin} ({address}) is banned")]
    Banned { origin: String, address: String },
    /// An accelerator joining a group asks for a `field` value other than the group's.
    #[error("{field}: '{given}' differs from the group's '{group}'")]
    GroupMismatch {
        field: &'static str,
        given: String,
        group: String,
    },
    /// The group already has an accelerator in this access region.
    #[error("group {group} already has an accelerator in {region}")]
    RegionTaken { group: String, region: String },
    /// Deletion order: `count` resources of kind `by` (listeners of an accelerator, endpoint
    /// groups of a listener, …) still hang off it; they go first.
    #[error("{res:?} {id} still has {count} {by:?} resources")]
    InUse {
        res: Res,
        id: String,
        by: Res,
        count: usize,
    },
    /// No edge serves this region.
    #[error("region {0} is not served")]
    RegionNotServed(String),
    /// Deletion order: `by` (e.g. "endpoint x", "health check y") still depends on the resource.
    #[error("{res:?} {id} is still used by {by}")]
    UsedBy { res: Res, id: String, by: String },
    /// The resource `of` already has the one `res` it may have.
    #[error("{of} already has a {res:?}")]
    Exists { res: Res, of: String },
    /// A model field the request left out and nothing else provides.
    #[error("{0} is required")]
    Missing(&'static str),
    /// A value the stored records make invalid (model field names).
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// More than the model allows.
    #[error("at most {limit} {what}, got {given}")]
    Quota {
        what: &'static str,
        limit: usize,
        given: usize,
    },
    /// `value` is already there (`in_request`: it is given twice in the same request).
    #[error("{what} {value} already exists")]
    Duplicate {
        what: &'static str,
        value: String,
        in_request: bool,
    },
    /// Item `index` of a list the request gave was refused.
    #[error("item {index}: {error}")]
    Item { index: usize, error: Box<OpError> },
    /// The store failed for another reason than a uniqueness conflict.
    #[error("store: {0}")]
    Store(#[source] StoreError),
}

impl OpError {
    pub fn item(index: usize, error: OpError) -> Self {
        OpError::Item {
            index,
            error: Box::new(error),
        }
    }

    pub fn invalid(field: &str, reason: impl Into<String>) -> Self {
        OpError::Invalid(Invalid::new(field, reason))
    }
}
