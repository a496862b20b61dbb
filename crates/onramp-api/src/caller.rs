//! Who is calling, and may they: the one key lookup, timestamp window, nonce memory and
//! authorization step that every dialect's transport calls. Each dialect only maps the typed
//! refusals here to its own codes (GAAP `AuthFailure.*`, Huawei 401/403, BM 4100–4104/4500).

use onramp_core::policy::{NamedResource, Policy};
use onramp_core::{Account, State};
use serde_json::Value;

use crate::{now_millis, now_secs, Api};

/// The authenticated caller of one request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub account: Account,
    /// The SecretId that signed the request.
    pub key_id: String,
    policy: Option<Policy>,
}

/// Why a key cannot sign: unknown, disabled, or its account is gone (one answer for all three,
/// so a probe learns nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownKey;

/// The caller may not run this operation on these resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    /// `dialect:Name`.
    pub operation: String,
    /// The named resources the policy does not cover (empty: the operation itself is refused).
    pub resources: Vec<String>,
    /// Every resource the request named (for the audit log).
    pub named: Vec<NamedResource>,
}

impl Denied {
    /// A sentence for the dialect's message.
    pub fn message(&self) -> String {
        if self.resources.is_empty() {
            format!("This key is not authorized to call `{}`.", self.operation)
        } else {
            format!(
                "This key is not authorized to call `{}` on {}.",
                self.operation,
                self.resources.join(", ")
            )
        }
    }
}

/// The caller behind `secret_id` and the secrets that may sign for it now (the current one,
/// then a rotated-out one during its grace period).
pub fn lookup(api: &Api, secret_id: &str) -> Result<(Caller, Vec<String>), UnknownKey> {
    let st = api.control.state();
    let key = st.key(secret_id).ok_or(UnknownKey)?;
    let account = st
        .accounts
        .get(&key.account_id)
        .cloned()
        .ok_or(UnknownKey)?;
    let secrets = key.secrets_at(now_millis()).map(str::to_string).collect();
    let caller = Caller {
        account,
        key_id: key.secret_id.clone(),
        policy: key.effective_policy().map(|p| p.into_owned()),
    };
    Ok((caller, secrets))
}

/// The caller whose key is `secret_id`, when `secret_key` is a secret that may sign for it now
/// (the console's login; compared in constant time). The same one answer as `lookup` for an
/// unknown or disabled key, and for a wrong secret.
pub fn login(api: &Api, secret_id: &str, secret_key: &str) -> Result<Caller, UnknownKey> {
    use subtle::ConstantTimeEq;
    let (caller, secrets) = lookup(api, secret_id)?;
    let given = secret_key.as_bytes();
    let ok = secrets.iter().fold(subtle::Choice::from(0), |acc, s| {
        let same = if s.len() == given.len() {
            s.as_bytes().ct_eq(given)
        } else {
            subtle::Choice::from(0)
        };
        acc | same
    });
    if bool::from(ok) {
        Ok(caller)
    } else {
        Err(UnknownKey)
    }
}

/// The caller behind `secret_id` now, without a signature (a console session, opened by a
/// `login`, asks on every request, so a disabled key or a removed account ends it).
pub fn resume(api: &Api, secret_id: &str) -> Result<Caller, UnknownKey> {
    lookup(api, secret_id).map(|(caller, _)| caller)
}

/// Whether any of `secrets` produces the signature `verify` checks.
pub fn verify_any(secrets: &[String], verify: impl Fn(&str) -> bool) -> bool {
    secrets.iter().any(|s| verify(s))
}

/// Whether a request timestamp (unix seconds) is inside the replay window.
pub fn timestamp_ok(api: &Api, ts: i64) -> bool {
    onramp_auth::replay::timestamp_ok(ts, now_secs(), api.cfg.replay_window_secs)
}

impl Caller {
    /// Check `operation` (`dialect:Name`) against the key's policy, with the resources named by
    /// `strings` (every string of the request: path segments, parameter values). Returns the
    /// named resources (for the audit log) when allowed.
    pub fn authorize<'a>(
        &self,
        api: &Api,
        operation: &str,
        strings: impl IntoIterator<Item = &'a str>,
    ) -> Result<Vec<NamedResource>, Denied> {
        self.authorize_in(&api.control.state(), operation, strings)
    }

    /// `authorize` against a state the caller already holds (a page that reads the state and
    /// asks about each thing it shows; the state's lock is not taken twice).
    pub fn authorize_in<'a>(
        &self,
        st: &State,
        operation: &str,
        strings: impl IntoIterator<Item = &'a str>,
    ) -> Result<Vec<NamedResource>, Denied> {
        let named = named_in(st, &self.account.id, strings);
        let Some(policy) = &self.policy else {
            return Ok(named);
        };
        if policy.allows(operation, &named) {
            return Ok(named);
        }
        // Name what is refused: none when the operation itself is not allowed, else the
        // resources that alone would not pass.
        if !policy.names_operation(operation) {
            return Err(Denied {
                operation: operation.to_string(),
                resources: Vec::new(),
                named,
            });
        }
        let refused: Vec<String> = named
            .iter()
            .filter(|r| !policy.allows(operation, std::slice::from_ref(r)))
            .map(|r| r.id.clone())
            .collect();
        Err(Denied {
            operation: operation.to_string(),
            resources: refused,
            named,
        })
    }
}

/// The account's resources among `strings`, each once, in order of appearance.
pub(crate) fn named_resources<'a>(
    api: &Api,
    account: &str,
    strings: impl IntoIterator<Item = &'a str>,
) -> Vec<NamedResource> {
    named_in(&api.control.state(), account, strings)
}

fn named_in<'a>(
    st: &State,
    account: &str,
    strings: impl IntoIterator<Item = &'a str>,
) -> Vec<NamedResource> {
    let mut out: Vec<NamedResource> = Vec::new();
    for s in strings {
        if s.is_empty() || s.len() > 128 || out.iter().any(|r| r.id == s) {
            continue;
        }
        if let Some(r) = st.named_resource(account, s) {
            out.push(r);
        }
    }
    out
}

/// Every string inside a JSON value (object values, array items), depth first.
pub fn json_strings(v: &Value) -> Vec<&str> {
    fn walk<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::String(s) => out.push(s),
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            Value::Object(m) => m.values().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, &mut out);
    out
}

/// Whether a request declares a body larger than `max` (refused before reading it).
pub fn declares_too_large(parts: &http::request::Parts, max: usize) -> bool {
    parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u128>().ok())
        .is_some_and(|n| n > max as u128)
}
