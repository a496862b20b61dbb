//! Huawei Cloud GA v1 (`/v1/…`): SDK-HMAC-SHA256 (AK/SK) authentication, the
//! `{"error_code","error_msg","request_id"}` envelope with `X-Request-Id`, and routing.
//!
//! A GAAP proxy appears here as an accelerator and a GAAP listener as a listener with one
//! single-port range (see ARCHITECTURE.md for the mapping).

mod listeners;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use bytes::Bytes;
use http::request::Parts;
use http::{header, Method, StatusCode};
use onramp_auth::huawei as sig;
use onramp_core::{ids, Account};

use crate::caller::{verify_any, Caller};
use crate::once::Once;
use onramp_core::policy::NamedResource;
use serde_json::{json, Value};

use crate::Api;

/// A Huawei error: HTTP status, code, message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HwError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl HwError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }
    pub fn invalid(what: &str, why: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "GA.9001",
            format!("Invalid {what}: {why}"),
        )
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "GA.9002",
            format!("Not found: {what}"),
        )
    }
    fn auth(why: &str) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "APIG.0301",
            format!("Incorrect IAM authentication information: {why}"),
        )
    }
    fn no_api() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "APIG.0101",
            "The API does not exist or has not been published in the environment",
        )
    }
}

pub type HwResult = Result<(StatusCode, Value), HwError>;

/// What a handler sees.
pub struct HwCtx<'a> {
    pub api: &'a Api,
    pub account: Account,
}

pub async fn handle(State(api): State<Arc<Api>>, req: Request) -> Response {
    let request_id = ids::uuid();
    let source = crate::audit::source(req.extensions());
    let (parts, body) = req.into_parts();
    let too_large = || {
        HwError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "APIG.0201",
            "Request entity too large.",
        )
    };
    if crate::caller::declares_too_large(&parts, api.cfg.max_body) {
        return respond(Err(too_large()), &request_id);
    }
    let body = match axum::body::to_bytes(body, api.cfg.max_body).await {
        Ok(body) => body,
        Err(_) => return respond(Err(too_large()), &request_id),
    };
    let call = match authenticate(&api, &parts, &body)
        .and_then(|a| admit(&api, &parts, &body, a, (&request_id, &source)))
    {
        Ok(call) => call,
        Err(e) => return respond(Err(e), &request_id),
    };
    // A signed write runs once: a repeat of its signature gets the first answer.
    let first = if parts.method == Method::GET {
        None
    } else {
        match api
            .once(&call.caller.account.id, &call.signature, call.timestamp)
            .await
        {
            Once::Repeat(resp) => return resp,
            Once::First(first) => Some(first),
        }
    };
    let ctx = HwCtx {
        api: &api,
        account: call.caller.account.clone(),
    };
    let result = run(&ctx, &parts, call.route);
    if parts.method != Method::GET {
        let outcome = match &result {
            Ok((_, v)) => Ok(v),
            Err(e) => Err(e.code),
        };
        call.audit(&api, &request_id, &source, outcome);
    }
    let done = result.is_ok();
    let resp = respond(result, &request_id);
    match first {
        Some(first) => first.finish(resp, done).await,
        None => resp,
    }
}

/// Any path no dialect serves. The body is read first (up to `--max-body`): answering before it
/// has arrived would make the server close the connection after the answer, without saying so,
/// and a keep-alive client's next request would find it gone.
pub async fn not_found(State(api): State<Arc<Api>>, req: Request) -> Response {
    let _ = axum::body::to_bytes(req.into_body(), api.cfg.max_body).await;
    respond(Err(HwError::no_api()), &ids::uuid())
}

fn respond(result: HwResult, request_id: &str) -> Response {
    let (status, body) = match result {
        Ok((status, Value::Null)) => (status, Vec::new()),
        Ok((status, mut v)) => {
            if let Value::Object(m) = &mut v {
                m.insert("request_id".into(), json!(request_id));
            }
            (status, serde_json::to_vec(&v).unwrap_or_default())
        }
        Err(e) => {
            tracing::debug!(request_id, code = e.code, message = %e.message, "huawei error");
            let v = json!({"error_code": e.code, "error_msg": e.message, "request_id": request_id});
            (e.status, serde_json::to_vec(&v).unwrap_or_default())
        }
    };
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json;charset=UTF-8")
        .header("X-Request-Id", request_id)
        .body(Body::from(body))
        .unwrap_or_default()
}

/// The operations this dialect answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    ListListeners,
    ShowListener,
}

impl Route {
    /// The route of a request, by method and path shape.
    fn of(method: &Method, path: &str) -> Option<Self> {
        let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match (method, segs.as_slice()) {
            (&Method::GET, ["v1", "listeners"]) => Some(Self::ListListeners),
            (&Method::GET, ["v1", "listeners", _]) => Some(Self::ShowListener),
            _ => None,
        }
    }

    /// The operation's name (the SDK's, in CamelCase), as policies name it.
    fn name(self) -> &'static str {
        match self {
            Self::ListListeners => "ListListeners",
            Self::ShowListener => "ShowListener",
        }
    }
}

/// An authenticated, authorized, rate-charged request.
struct Call {
    caller: Caller,
    signature: String,
    timestamp: i64,
    route: Route,
    named: Vec<NamedResource>,
}

impl Call {
    fn audit(&self, api: &Api, request_id: &str, source: &str, outcome: Result<&Value, &str>) {
        crate::audit::Write {
            caller: &self.caller,
            dialect: "huawei",
            operation: self.route.name(),
            request_id,
            source,
            named: &self.named,
        }
        .record(api, outcome);
    }
}

/// Route the request, check the caller's policy (path segments, query values and body strings
/// name the resources) and charge the rate limit.
fn admit(
    api: &Api,
    parts: &Parts,
    body: &Bytes,
    auth: Authenticated,
    (request_id, source): (&str, &str),
) -> Result<Call, HwError> {
    let route = Route::of(&parts.method, parts.uri.path()).ok_or_else(HwError::no_api)?;
    let segs: Vec<String> = parts.uri.path().split('/').map(decode).collect();
    let query: Vec<(String, String)> =
        form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let strings = segs
        .iter()
        .map(String::as_str)
        .chain(query.iter().map(|(_, v)| v.as_str()))
        .chain(crate::caller::json_strings(&json));
    let mut call = Call {
        caller: auth.caller,
        signature: auth.signature,
        timestamp: auth.timestamp,
        route,
        named: Vec::new(),
    };
    match call
        .caller
        .authorize(api, &format!("huawei:{}", route.name()), strings)
    {
        Ok(named) => call.named = named,
        Err(d) => {
            let e = HwError::new(
                StatusCode::FORBIDDEN,
                "APIG.0306",
                format!("API access denied: {}", d.message()),
            );
            if parts.method != Method::GET {
                call.named = d.named;
                call.audit(api, request_id, source, Err(e.code));
            }
            return Err(e);
        }
    }
    if !api.allow(
        &call.caller.account.id,
        &route_name(&parts.method, parts.uri.path()),
    ) {
        return Err(HwError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "APIG.0308",
            "The request is throttled: too many requests per second.",
        ));
    }
    Ok(call)
}

fn run(ctx: &HwCtx<'_>, parts: &Parts, route: Route) -> HwResult {
    let query = parts.uri.query().unwrap_or("");
    match route {
        Route::ListListeners => listeners::list(ctx, query),
        Route::ShowListener => {
            let id = parts.uri.path().rsplit('/').next().unwrap_or("");
            listeners::show(ctx, &decode(id))
        }
    }
}

/// A rate-limit key per route shape (IDs replaced).
fn route_name(method: &Method, path: &str) -> String {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').take(3).collect();
    let shape = if segs.len() > 2 {
        format!("{}/{}/{{id}}", segs[0], segs[1])
    } else {
        segs.join("/")
    };
    format!("{method} /{shape}")
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

fn header_str<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts.headers.get(name).and_then(|v| v.to_str().ok())
}

/// A request whose SDK-HMAC-SHA256 signature verified.
struct Authenticated {
    caller: Caller,
    signature: String,
    timestamp: i64,
}

/// Verify the SDK-HMAC-SHA256 signature and return the caller.
fn authenticate(api: &Api, parts: &Parts, body: &Bytes) -> Result<Authenticated, HwError> {
    let Some(auth_header) = header_str(parts, "authorization") else {
        if parts.headers.contains_key("x-auth-token") {
            return Err(HwError::auth("decrypt token fail"));
        }
        return Err(HwError::auth("x-auth-token not found"));
    };
    let auth = sig::parse_authorization(auth_header)
        .map_err(|_| HwError::auth("verify aksk signature fail"))?;
    let (caller, secrets) =
        crate::caller::lookup(api, &auth.access).map_err(|_| HwError::auth("ak not exist"))?;
    let date =
        header_str(parts, "x-sdk-date").ok_or_else(|| HwError::auth("X-Sdk-Date not found"))?;
    let ts = sig::parse_sdk_date(date).ok_or_else(|| HwError::auth("X-Sdk-Date is invalid"))?;
    if !crate::caller::timestamp_ok(api, ts) {
        return Err(HwError::auth(
            "the request has expired (X-Sdk-Date is too far from the server time)",
        ));
    }
    let mut headers = Vec::with_capacity(auth.signed_headers.len());
    for name in &auth.signed_headers {
        let v = parts
            .headers
            .get(name.as_str())
            .ok_or_else(|| HwError::auth("verify aksk signature fail"))?;
        headers.push((
            name.clone(),
            String::from_utf8_lossy(v.as_bytes()).into_owned(),
        ));
    }
    let payload_hash = match header_str(parts, "x-sdk-content-sha256") {
        Some(h) => h.to_string(),
        None => sig::payload_hash(body),
    };
    let cr = sig::canonical_request(
        parts.method.as_str(),
        parts.uri.path(),
        parts.uri.query().unwrap_or(""),
        &headers,
        &payload_hash,
    );
    let to_sign = sig::string_to_sign(date, &cr);
    if !verify_any(&secrets, |k| {
        onramp_auth::verify_hex(&sig::sign(k, &to_sign), &auth.signature)
    }) {
        return Err(HwError::auth("verify aksk signature fail"));
    }
    Ok(Authenticated {
        caller,
        signature: auth.signature.to_ascii_lowercase(),
        timestamp: ts,
    })
}
