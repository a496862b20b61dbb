//! Huawei Cloud GA v1 (`/v1/…`): SDK-HMAC-SHA256 (AK/SK) authentication, the
//! `{"error_code","error_msg","request_id"}` envelope with `X-Request-Id`, and dispatch of the
//! operation table (`routes`) to the handlers.
//!
//! A GAAP proxy appears here as an accelerator and a GAAP listener as a listener with one
//! single-port range (see ARCHITECTURE.md for the mapping).

mod accelerators;
#[cfg(test)]
mod deleting_tests;
pub mod dto;
mod endpoint_writes;
mod endpoints;
mod errors;
mod ip_groups;
mod listeners;
mod log_tanks;
mod misc;
mod query;
mod routes;
mod tags;
mod views;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use bytes::Bytes;
use http::request::Parts;
use http::{header, StatusCode};
use onramp_auth::huawei as sig;
use onramp_core::{ids, Account};

use crate::caller::{verify_any, Caller};
use crate::once::Once;
use onramp_core::policy::NamedResource;
use serde_json::{json, Value};

use crate::Api;
use routes::Route;

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
    /// The request's id: the task id of a write.
    pub request_id: String,
    /// The operation's SDK name (kept on a write's task).
    pub operation: &'static str,
    /// Unix milliseconds at the start of the request.
    pub now: i64,
}

/// Run an operation of the model (`onramp_ops`) through the one commit path, and answer its
/// refusal in Huawei's codes (`errors::hw`).
pub async fn commit<R>(
    ctx: &HwCtx<'_>,
    f: impl FnOnce(
        &onramp_ops::Cx,
        &onramp_core::State,
        &mut onramp_ops::ids::Ids,
    ) -> Result<onramp_ops::Plan<R>, onramp_ops::OpError>,
) -> Result<R, HwError> {
    let call = onramp_ops::Call {
        account: &ctx.account.id,
        now: ctx.now,
        task_id: &ctx.request_id,
        action: ctx.operation,
    };
    onramp_ops::commit(&ctx.api.control, &call, f)
        .await
        .map(|(_, out)| out)
        .map_err(errors::hw)
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
    let op = call.route.op;
    // A signed write runs once: a repeat of its signature gets the first answer.
    let first = if op.is_read() {
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
        request_id: request_id.clone(),
        operation: op.name(),
        now: crate::now_millis(),
    };
    let result = run(&ctx, &parts, &call.route, &body).await;
    if !op.is_read() {
        let outcome = match &result {
            Ok((_, v)) => Ok(v),
            Err(e) => Err(e.code),
        };
        call.audit(&api, &request_id, &source, outcome);
    }
    let done = result.is_ok();
    let resp = respond_as(result, &request_id, op.body_has_request_id());
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
    respond_as(result, request_id, true)
}

/// The answer; `with_id`: the success body carries `request_id` too.
fn respond_as(result: HwResult, request_id: &str, with_id: bool) -> Response {
    let (status, body) = match result {
        Ok((status, Value::Null)) => (status, Vec::new()),
        Ok((status, mut v)) => {
            if let (Value::Object(m), true) = (&mut v, with_id) {
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
            operation: self.route.op.name(),
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
    let op = route.op;
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
        .authorize(api, &format!("huawei:{}", op.name()), strings)
    {
        Ok(named) => call.named = named,
        Err(d) => {
            let e = HwError::new(
                StatusCode::FORBIDDEN,
                "APIG.0306",
                format!("API access denied: {}", d.message()),
            );
            if !op.is_read() {
                call.named = d.named;
                call.audit(api, request_id, source, Err(e.code));
            }
            return Err(e);
        }
    }
    if !api.allow(&call.caller.account.id, &format!("huawei:{}", op.name())) {
        return Err(HwError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "APIG.0308",
            "The request is throttled: too many requests per second.",
        ));
    }
    Ok(call)
}

/// Answer the operation.
async fn run(ctx: &HwCtx<'_>, parts: &Parts, route: &Route, body: &[u8]) -> HwResult {
    use routes::Op::*;
    let query = parts.uri.query().unwrap_or("");
    let (p0, p1) = (route.param(0), route.param(1));
    match route.op {
        ListAccelerators => accelerators::list(ctx, query),
        ShowAccelerator => accelerators::show(ctx, p0),
        ListListeners => listeners::list(ctx, query),
        ShowListener => listeners::show(ctx, p0),
        ListEndpointGroups => endpoints::list_groups(ctx, query),
        ShowEndpointGroup => endpoints::show_group(ctx, p0),
        ListEndpoints => endpoints::list(ctx, p0, query),
        ShowEndpoint => endpoints::show(ctx, p0, p1),
        CreateAccelerator => accelerators::create(ctx, body).await,
        UpdateAccelerator => accelerators::update(ctx, p0, body).await,
        DeleteAccelerator => accelerators::delete(ctx, p0).await,
        CreateListener => listeners::create(ctx, body).await,
        UpdateListener => listeners::update(ctx, p0, body).await,
        DeleteListener => listeners::delete(ctx, p0).await,
        CreateTags => tags::create(ctx, p0, p1, body).await,
        DeleteTags => tags::delete(ctx, p0, p1, body).await,
        ListTenantQuotas => misc::quotas(ctx, p0),
        CreateIpGroup => ip_groups::create(ctx, body).await,
        ListIpGroups => ip_groups::list(ctx, query),
        ShowIpGroup => ip_groups::show(ctx, p0),
        UpdateIpGroup => ip_groups::update(ctx, p0, body).await,
        DeleteIpGroup => ip_groups::delete(ctx, p0).await,
        AddIpGroupIp => ip_groups::add_ips(ctx, p0, body).await,
        RemoveIpGroupIp => ip_groups::remove_ips(ctx, p0, body).await,
        AssociateListener => ip_groups::associate(ctx, p0, body).await,
        DisassociateListener => ip_groups::disassociate(ctx, p0, body).await,
        CreateEndpointGroup => endpoint_writes::create_group(ctx, body).await,
        UpdateEndpointGroup => endpoint_writes::update_group(ctx, p0, body).await,
        DeleteEndpointGroup => endpoint_writes::delete_group(ctx, p0).await,
        CreateEndpoint => endpoint_writes::create_endpoint(ctx, p0, body).await,
        UpdateEndpoint => endpoint_writes::update_endpoint(ctx, p0, p1, body).await,
        DeleteEndpoint => endpoint_writes::delete_endpoint(ctx, p0, p1).await,
        CreateHealthCheck => endpoint_writes::create_check(ctx, body).await,
        ListHealthChecks => endpoint_writes::list_checks(ctx, query),
        ShowHealthCheck => endpoint_writes::show_check(ctx, p0),
        UpdateHealthCheck => endpoint_writes::update_check(ctx, p0, body).await,
        DeleteHealthCheck => endpoint_writes::delete_check(ctx, p0).await,
        ListByoipPools => misc::empty_list(query),
        CreateLogtank => log_tanks::create(ctx, body).await,
        ListLogtanks => log_tanks::list(ctx, query),
        ShowLogtank => log_tanks::show(ctx, p0),
        UpdateLogtank => log_tanks::update(ctx, p0, body).await,
        DeleteLogtank => log_tanks::delete(ctx, p0).await,
        ListRegions => misc::regions(ctx),
        ListAllPops => misc::pops(ctx, query),
        ShowResourceTags => tags::show(ctx, p0, p1),
        ListTags => tags::list(ctx, p0, query),
        ListResourcesByTag => tags::filter(ctx, p0, query, body),
        CountResourcesByTag => tags::count(ctx, p0, body),
    }
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
            return Err(HwError::auth(
                "onramp takes AK/SK signatures (SDK-HMAC-SHA256), not X-Auth-Token IAM tokens",
            ));
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
