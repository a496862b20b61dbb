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
use serde_json::{json, Value};

use crate::{now_secs, Api};

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
    let (parts, body) = req.into_parts();
    let result = match axum::body::to_bytes(body, api.cfg.max_body).await {
        Ok(body) => process(&api, &parts, &body).await,
        Err(_) => Err(HwError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "APIG.0201",
            "Request entity too large.",
        )),
    };
    respond(result, &request_id)
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

async fn process(api: &Api, parts: &Parts, body: &Bytes) -> HwResult {
    let account = authenticate(api, parts, body)?;
    let route = route_name(&parts.method, parts.uri.path());
    if !api.allow(&account.id, &route) {
        return Err(HwError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "APIG.0308",
            "The request is throttled: too many requests per second.",
        ));
    }
    let ctx = HwCtx { api, account };
    let segs: Vec<&str> = parts
        .uri
        .path()
        .trim_start_matches('/')
        .split('/')
        .collect();
    let query = parts.uri.query().unwrap_or("");
    match (&parts.method, segs.as_slice()) {
        (&Method::GET, ["v1", "listeners"]) => listeners::list(&ctx, query),
        (&Method::GET, ["v1", "listeners", id]) => listeners::show(&ctx, &decode(id)),
        _ => Err(HwError::no_api()),
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

/// Verify the SDK-HMAC-SHA256 signature and return the key's account.
fn authenticate(api: &Api, parts: &Parts, body: &Bytes) -> Result<Account, HwError> {
    let Some(auth_header) = header_str(parts, "authorization") else {
        if parts.headers.contains_key("x-auth-token") {
            return Err(HwError::auth("decrypt token fail"));
        }
        return Err(HwError::auth("x-auth-token not found"));
    };
    let auth = sig::parse_authorization(auth_header)
        .map_err(|_| HwError::auth("verify aksk signature fail"))?;
    let (secret_key, account) = {
        let st = api.control.state();
        let key = st
            .key(&auth.access)
            .ok_or_else(|| HwError::auth("ak not exist"))?;
        let account = st
            .accounts
            .get(&key.account_id)
            .cloned()
            .ok_or_else(|| HwError::auth("ak not exist"))?;
        (key.secret_key.clone(), account)
    };
    let date =
        header_str(parts, "x-sdk-date").ok_or_else(|| HwError::auth("X-Sdk-Date not found"))?;
    let ts = sig::parse_sdk_date(date).ok_or_else(|| HwError::auth("X-Sdk-Date is invalid"))?;
    if (now_secs() - ts).abs() > api.cfg.replay_window_secs {
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
    let expected = sig::sign(&secret_key, &sig::string_to_sign(date, &cr));
    if !onramp_auth::verify_hex(&expected, &auth.signature) {
        return Err(HwError::auth("verify aksk signature fail"));
    }
    Ok(account)
}
