//! Tencent BM load balancer legacy API v2 (`/v2/index.php`): HmacSHA1/HmacSHA256 over GET query
//! or POST form, nonce replay protection, and the `{code, message, codeDesc}` envelope (HTTP 200).
//!
//! An accelerator of any dialect appears here as a load balancer and its listeners as L4
//! listeners.

mod listeners;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use bytes::Bytes;
use http::request::Parts;
use http::{header, Method, StatusCode};
use onramp_auth::v1;
use onramp_core::policy::NamedResource;
use onramp_core::{ids, Account};
use serde_json::{json, Map, Value};

use crate::caller::{verify_any, Caller};
use crate::Api;

/// A v2 error: common code, `codeDesc`, message (module code in parentheses where there is one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BmError {
    pub code: i64,
    pub desc: &'static str,
    pub message: String,
}

impl BmError {
    pub fn new(code: i64, desc: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            desc,
            message: message.into(),
        }
    }
    /// Parameter error (module code 9003).
    pub fn param(message: impl std::fmt::Display) -> Self {
        Self::new(4000, "InvalidParameter", format!("(9003){message}"))
    }
    pub fn missing(name: &str) -> Self {
        Self::param(format!("the parameter {name} is required"))
    }
    /// The load balancer does not exist (module code 11041).
    pub fn no_lb(id: &str) -> Self {
        Self::new(
            5000,
            "InvalidParameter.CCDBLBNotExist",
            format!("(11041)the load balancer {id} does not exist"),
        )
    }
}

pub type BmResult = Result<Map<String, Value>, BmError>;

/// A decoded, authenticated v2 request.
pub struct BmCtx<'a> {
    pub api: &'a Api,
    pub account: Account,
    pub params: Vec<(String, String)>,
}

impl BmCtx<'_> {
    pub fn get(&self, k: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }
    pub fn req(&self, k: &str) -> Result<&str, BmError> {
        self.get(k)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| BmError::missing(k))
    }
    /// Values of `name.N` in index order (any base, sparse allowed).
    pub fn list(&self, name: &str) -> Vec<String> {
        let prefix = format!("{name}.");
        let mut items: Vec<(u64, String)> = self
            .params
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix(&prefix)
                    .and_then(|i| i.parse().ok())
                    .map(|i| (i, v.clone()))
            })
            .collect();
        items.sort();
        items.into_iter().map(|(_, v)| v).collect()
    }
}

/// Parameters every v2 request carries beside the action's own.
const COMMON: &[&str] = &[
    "Action",
    "Region",
    "Timestamp",
    "Nonce",
    "SecretId",
    "Signature",
    "SignatureMethod",
    "Token",
    "RequestClient",
    "Version",
];

pub async fn handle(State(api): State<Arc<Api>>, req: Request) -> Response {
    let source = crate::audit::source(req.extensions());
    let (parts, body) = req.into_parts();
    let too_large = || {
        BmError::param(format!(
            "the request body is larger than {} bytes",
            api.cfg.max_body
        ))
    };
    let result = if crate::caller::declares_too_large(&parts, api.cfg.max_body) {
        Err(too_large())
    } else {
        match axum::body::to_bytes(body, api.cfg.max_body).await {
            Ok(body) => process(&api, &parts, &body, &source).await,
            Err(_) => Err(too_large()),
        }
    };
    let mut out = match result {
        Ok(m) => {
            let mut head = Map::new();
            head.insert("code".into(), json!(0));
            head.insert("message".into(), json!(""));
            head.insert("codeDesc".into(), json!("Success"));
            head.extend(m);
            head
        }
        Err(e) => {
            tracing::debug!(code = e.code, message = %e.message, "bm v2 error");
            let mut m = Map::new();
            m.insert("code".into(), json!(e.code));
            m.insert("message".into(), json!(e.message));
            m.insert("codeDesc".into(), json!(e.desc));
            m
        }
    };
    let body = serde_json::to_vec(&Value::Object(std::mem::take(&mut out))).unwrap_or_default();
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap_or_default()
}

/// Reads change nothing; everything else is a write.
fn is_write(action: &str) -> bool {
    !["Describe", "Inquiry"]
        .iter()
        .any(|p| action.starts_with(p))
}

async fn process(api: &Api, parts: &Parts, body: &Bytes, source: &str) -> BmResult {
    let raw = match parts.method {
        Method::GET => parts.uri.query().unwrap_or("").to_string(),
        Method::POST => String::from_utf8_lossy(body).into_owned(),
        _ => {
            return Err(BmError::new(
                4600,
                "UnsupportedProtocol",
                format!("HTTP method {} is not supported", parts.method),
            ))
        }
    };
    let params: Vec<(String, String)> = form_urlencoded::parse(raw.as_bytes())
        .into_owned()
        .collect();
    let caller = authenticate(api, parts, &params)?;
    let action = params
        .iter()
        .find(|(k, _)| k == "Action")
        .map(|(_, v)| v.clone())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| BmError::missing("Action"))?;
    let own_values = params
        .iter()
        .filter(|(k, _)| !COMMON.contains(&k.as_str()))
        .map(|(_, v)| v.as_str());
    let write = is_write(&action);
    let request_id = ids::uuid();
    let audit = |named: &[NamedResource], outcome: Result<&Value, &str>| {
        if write {
            crate::audit::Write {
                caller: &caller,
                dialect: "bm",
                operation: &action,
                request_id: &request_id,
                source,
                named,
            }
            .record(api, outcome);
        }
    };
    let named = caller
        .authorize(api, &format!("bm:{action}"), own_values)
        .map_err(|d| {
            // 4101: the action is not allowed; 4102: not on the named resources.
            let code = if d.resources.is_empty() { 4101 } else { 4102 };
            let e = BmError::new(code, "AuthFailure.UnauthorizedOperation", d.message());
            audit(&d.named, Err(&e.code.to_string()));
            e
        })?;
    if !api.allow(&caller.account.id, &action) {
        return Err(BmError::new(
            4400,
            "RequestLimitExceeded",
            format!(
                "the request rate of {action} exceeds {} per second",
                api.cfg.rate_limit
            ),
        ));
    }
    let ctx = BmCtx {
        api,
        account: caller.account.clone(),
        params,
    };
    let result = dispatch(&ctx, &action);
    match &result {
        Ok(m) => audit(&named, Ok(&Value::Object(m.clone()))),
        Err(e) => audit(&named, Err(&e.code.to_string())),
    }
    result
}

fn dispatch(ctx: &BmCtx<'_>, action: &str) -> BmResult {
    let own = |allowed: &[&str]| check_params(ctx, allowed);
    match action {
        "DescribeBmListeners" => {
            own(&["loadBalancerId", "listenerIds"])?;
            listeners::describe_bm_listeners(ctx)
        }
        _ => Err(BmError::new(
            6100,
            "InvalidAction",
            format!("the action {action} is not supported"),
        )),
    }
}

/// Refuse parameters the action does not take (`name` or `name.N…`).
fn check_params(ctx: &BmCtx<'_>, allowed: &[&str]) -> Result<(), BmError> {
    for (k, _) in &ctx.params {
        let base = k.split('.').next().unwrap_or("");
        if !COMMON.contains(&k.as_str()) && !allowed.contains(&base) {
            return Err(BmError::param(format!("unknown parameter {k}")));
        }
    }
    Ok(())
}

fn authenticate(api: &Api, parts: &Parts, params: &[(String, String)]) -> Result<Caller, BmError> {
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let auth_fail = |m: &str| BmError::new(4100, "AuthFailure", m.to_string());
    let signature = get("Signature").ok_or_else(|| BmError::missing("Signature"))?;
    let secret_id = get("SecretId").ok_or_else(|| BmError::missing("SecretId"))?;
    let ts: i64 = get("Timestamp")
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| BmError::param("Timestamp must be unix seconds"))?;
    let nonce: u64 = get("Nonce")
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| BmError::param("Nonce must be a positive integer"))?;
    let (caller, secrets) = crate::caller::lookup(api, secret_id).map_err(|_| {
        BmError::new(
            4104,
            "AuthFailure.SecretIdNotFound",
            "SecretId does not exist",
        )
    })?;
    if !crate::caller::timestamp_ok(api, ts) {
        return Err(BmError::new(
            4500,
            "AuthFailure.SignatureExpire",
            "the Timestamp is outside the replay window",
        ));
    }
    let host = parts
        .headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let to_sign = v1::string_to_sign(parts.method.as_str(), host, parts.uri.path(), params);
    let method = v1::V1Method::from_param(get("SignatureMethod"));
    if !verify_any(&secrets, |k| v1::verify(method, k, &to_sign, signature)) {
        return Err(auth_fail(
            "Authentication failed: the signature does not match",
        ));
    }
    api.check_nonce(&caller.account.id, secret_id, nonce, ts)
        .map_err(|_| {
            BmError::new(
                4500,
                "AuthFailure.SignatureExpire",
                "replay: this Nonce was already used inside the window",
            )
        })?;
    Ok(caller)
}
