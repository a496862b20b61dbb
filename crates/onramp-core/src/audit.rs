//! The audit log's entries and the filter that lists them.
//!
//! Every write made through an API dialect or `onramp admin` is recorded as one `AuditEntry`.
//! The log lives beside the records, not among them: it does not bump the revision and is not
//! loaded into `State`. Entries are plain data; the store keeps them and answers `AuditFilter`s
//! newest first.

use serde::{Deserialize, Serialize};

use crate::Millis;

/// How many entries a listing returns when the filter names no limit.
pub const AUDIT_DEFAULT_LIMIT: u32 = 100;
/// The most entries one listing returns.
pub const AUDIT_MAX_LIMIT: u32 = 10_000;
/// Entries older than this may be pruned.
pub const AUDIT_RETENTION_MS: Millis = 90 * 24 * 3600 * 1000;

/// One write: who, through what, on which resources, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct AuditEntry {
    pub time: Millis,
    pub account_id: String,
    /// The secret id of the key that signed the request (empty for local admin commands).
    pub key_id: String,
    /// "gaap", "huawei", "bm", "admin", …
    pub dialect: String,
    /// The operation's name in its dialect (GAAP action, Huawei operation, admin command).
    pub operation: String,
    pub resource_ids: Vec<String>,
    pub request_id: String,
    /// The client's address ("ip:port"), or "local" for admin commands.
    pub source: String,
    /// "ok", or the error code the client was given.
    pub outcome: String,
}

/// Which entries to list; every `Some` must match. `since` is inclusive, `until` exclusive.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditFilter {
    pub account_id: Option<String>,
    pub key_id: Option<String>,
    pub operation: Option<String>,
    pub dialect: Option<String>,
    /// An entry matches when this is one of its `resource_ids`.
    pub resource_id: Option<String>,
    pub since: Option<Millis>,
    pub until: Option<Millis>,
    pub limit: Option<u32>,
}

impl AuditFilter {
    /// The limit a store applies: the filter's, default 100, at most 10,000, at least 1.
    pub fn effective_limit(&self) -> u32 {
        self.limit
            .unwrap_or(AUDIT_DEFAULT_LIMIT)
            .clamp(1, AUDIT_MAX_LIMIT)
    }

    /// Whether `e` passes the filter (the limit aside): the reference the stores' SQL follows.
    pub fn matches(&self, e: &AuditEntry) -> bool {
        fn eq(want: &Option<String>, have: &str) -> bool {
            want.as_deref().is_none_or(|w| w == have)
        }
        eq(&self.account_id, &e.account_id)
            && eq(&self.key_id, &e.key_id)
            && eq(&self.operation, &e.operation)
            && eq(&self.dialect, &e.dialect)
            && self
                .resource_id
                .as_ref()
                .is_none_or(|r| e.resource_ids.contains(r))
            && self.since.is_none_or(|s| e.time >= s)
            && self.until.is_none_or(|u| e.time < u)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_bounded() {
        let f = AuditFilter::default();
        assert_eq!(f.effective_limit(), 100);
        let f = AuditFilter {
            limit: Some(1_000_000),
            ..Default::default()
        };
        assert_eq!(f.effective_limit(), 10_000);
        let f = AuditFilter {
            limit: Some(0),
            ..Default::default()
        };
        assert_eq!(f.effective_limit(), 1);
    }

    #[test]
    fn filter_matches_every_named_field() {
        let e = AuditEntry {
            time: 10,
            account_id: "a".into(),
            dialect: "gaap".into(),
            operation: "CreateProxy".into(),
            resource_ids: vec!["link-1".into(), "lg-1".into()],
            ..Default::default()
        };
        assert!(AuditFilter::default().matches(&e));
        let f = AuditFilter {
            account_id: Some("a".into()),
            resource_id: Some("lg-1".into()),
            since: Some(10),
            until: Some(11),
            ..Default::default()
        };
        assert!(f.matches(&e));
        for f in [
            AuditFilter {
                account_id: Some("b".into()),
                ..Default::default()
            },
            AuditFilter {
                resource_id: Some("link-2".into()),
                ..Default::default()
            },
            AuditFilter {
                until: Some(10),
                ..Default::default()
            },
            AuditFilter {
                since: Some(11),
                ..Default::default()
            },
            AuditFilter {
                dialect: Some("bm".into()),
                ..Default::default()
            },
        ] {
            assert!(!f.matches(&e), "{f:?}");
        }
    }
}
