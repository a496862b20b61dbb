//! The audit trail of API writes: every write that an authenticated caller asked for, executed
//! or refused, becomes one `AuditEntry` (time, account, key, dialect and operation, resource ids,
//! request id, client address, outcome), queued to the control plane's batching writer so no
//! request waits for it.

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use http::Extensions;
use onramp_core::policy::NamedResource;
use onramp_core::AuditEntry;
use serde_json::Value;

use crate::caller::{json_strings, Caller};
use crate::{now_millis, Api};

/// The client's address as the transport saw it ("ip:port"), or "unknown".
pub fn source(ext: &Extensions) -> String {
    ext.get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_string(), |c| c.0.to_string())
}

/// One write to record.
pub struct Write<'a> {
    pub caller: &'a Caller,
    pub dialect: &'static str,
    pub operation: &'a str,
    pub request_id: &'a str,
    pub source: &'a str,
    /// The resources the request named (from authorization).
    pub named: &'a [NamedResource],
}

impl Write<'_> {
    /// Record the write with its outcome: `Ok(answer)` (ids the answer names are added, so a
    /// creation records what it created) or `Err(code)`.
    pub fn record(&self, api: &Api, outcome: Result<&Value, &str>) {
        let mut resource_ids: Vec<String> = self.named.iter().map(|r| r.id.clone()).collect();
        if let Ok(answer) = outcome {
            let created =
                crate::caller::named_resources(api, &self.caller.account.id, json_strings(answer));
            for r in created {
                if !resource_ids.contains(&r.id) {
                    resource_ids.push(r.id);
                }
            }
        }
        api.control.audit(AuditEntry {
            time: now_millis(),
            account_id: self.caller.account.id.clone(),
            key_id: self.caller.key_id.clone(),
            dialect: self.dialect.to_string(),
            operation: self.operation.to_string(),
            resource_ids,
            request_id: self.request_id.to_string(),
            source: self.source.to_string(),
            outcome: match outcome {
                Ok(_) => "ok".to_string(),
                Err(code) => code.to_string(),
            },
        });
    }
}
