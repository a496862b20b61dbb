//! The legacy API v2 transport (`/v2/index.php`): HmacSHA1/HmacSHA256 over a GET query or a POST
//! form, nonce replay protection, the `{code, message, codeDesc}` envelope (always HTTP 200), and
//! the v2 action table.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use bytes::Bytes;
use http::request::Parts;
use http::{header, Method, StatusCode};
use onramp_auth::v1;
use onramp_core::ids;
use onramp_core::policy::NamedResource;
use serde_json::{json, Map, Value};

use super::{backends, balancers, errors, info, layer7, listeners, Answer, Style};
use crate::caller::{verify_any, Caller};
use crate::tencent::Ctx;
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
}

type BmResult = Result<Map<String, Value>, BmError>;

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
    envelope(result)
}

fn envelope(result: BmResult) -> Response {
    let out = match result {
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
    let body = serde_json::to_vec(&Value::Object(out)).unwrap_or_default();
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

fn form_pairs(parts: &Parts, body: &Bytes) -> Result<Vec<(String, String)>, BmError> {
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
    Ok(form_urlencoded::parse(raw.as_bytes())
        .into_owned()
        .collect())
}

async fn process(api: &Api, parts: &Parts, body: &Bytes, source: &str) -> BmResult {
    let params = form_pairs(parts, body)?;
    let caller = authenticate(api, parts, &params)?;
    let action = params
        .iter()
        .find(|(k, _)| k == "Action")
        .map(|(_, v)| v.clone())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| BmError::missing("Action"))?;
    let own: Vec<(String, String)> = params
        .into_iter()
        .filter(|(k, _)| !COMMON.contains(&k.as_str()))
        .collect();
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
        .authorize(
            api,
            &format!("bm:{action}"),
            own.iter().map(|(_, v)| v.as_str()),
        )
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
    let ctx = Ctx {
        api,
        account: caller.account.clone(),
        request_id: request_id.clone(),
        action: action.clone(),
        now: crate::now_millis(),
    };
    let result = match onramp_auth::params::unflatten(&own) {
        Ok(p) => dispatch(&ctx, &action, p).await.map_err(errors::v2),
        Err(e) => Err(BmError::param(e)),
    };
    match &result {
        Ok(m) => audit(&named, Ok(&Value::Object(m.clone()))),
        Err(e) => audit(&named, Err(&e.code.to_string())),
    }
    result
}

/// Every v2 action of a layer-4 load balancer, and the layer-7 ones refused.
pub async fn dispatch(ctx: &Ctx<'_>, action: &str, p: Value) -> Answer {
    const S: Style = Style::V2;
    match action {
        "CreateBmLoadBalancer" => balancers::create(ctx, p, S).await,
        "DescribeBmLoadBalancers" => balancers::describe(ctx, p, S),
        "ModifyBmLoadBalancerAttributes" => balancers::modify(ctx, p, S).await,
        "DeleteBmLoadBalancers" => balancers::delete(ctx, p, S).await,
        "InquiryBmLBPrice" => balancers::price(p),
        "CreateBmListeners" => listeners::create(ctx, p, S).await,
        "DescribeBmListeners" => listeners::describe(ctx, p, S),
        "DescribeBmListenerInfo" => listeners::info(ctx, p, S),
        "ModifyBmListener" => listeners::modify(ctx, p, S).await,
        "DeleteBmListeners" => listeners::delete(ctx, p, S).await,
        "BindBmL4ListenerRs" => backends::bind(ctx, p, S, Some(backends::Form::Instance)).await,
        "BindBmL4ListenerVmIp" => backends::bind(ctx, p, S, Some(backends::Form::VmIp)).await,
        "UnbindBmL4ListenerRs" => backends::unbind(ctx, p, S, Some(backends::Form::Instance)).await,
        "UnbindBmL4ListenerVmIp" => backends::unbind(ctx, p, S, Some(backends::Form::VmIp)).await,
        "DescribeBmL4ListenerBackends" => backends::describe(ctx, p, S),
        "ModifyBmL4ListenerBackendWeight" => backends::weight(ctx, p, S).await,
        "ModifyBmL4ListenerBackendPort" => backends::port_change(ctx, p, S).await,
        "ModifyBmL4ListenerBackendProbePort" => backends::probe_port(ctx, p, S).await,
        "DescribeBmLoadBalancersTaskResult" => info::task_result(ctx, p, S),
        "DescribeBmBindInfo" => info::bind_info(ctx, p, S),
        "DescribeBmVportInfo" => info::port_info(ctx, p, S),
        a if layer7::V2.contains(&a) => Err(super::Refusal::Layer7(a.to_string())),
        a => Err(super::Refusal::NoAction(a.to_string())),
    }
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
