//! Tencent Cloud API 3.0 transport: decode, authenticate, rate-limit, dispatch, encode.
//!
//! Accepted shapes: TC3-HMAC-SHA256 over POST JSON or GET query (or POST form), and the older
//! HmacSHA1/HmacSHA256 signature over GET query or POST form. Every answer is HTTP 200 with
//! `Content-Type: application/json` exactly (the Python SDK compares the string).

mod decode;
pub mod error;
pub mod params;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use bytes::Bytes;
use http::request::Parts;
use http::{header, StatusCode};
use onramp_core::{ids, Account};

use crate::caller::{json_strings, Caller};
use crate::once::Once;
use onramp_core::policy::NamedResource;
use serde_json::{Map, Value};

pub use error::{TcError, TcResult};
pub use params::Params;

use crate::{now_millis, Api};

pub const GAAP_VERSION: &str = "2018-05-29";

/// An authenticated API 3.0 request.
pub struct Call {
    pub action: String,
    pub version: String,
    pub params: Value,
    pub caller: Caller,
    /// The service named in a TC3 credential scope.
    pub service: Option<String>,
    /// A TC3 signature and its timestamp (v1 requests carry a nonce instead).
    pub signature: Option<(String, i64)>,
}

/// What a handler sees.
pub struct Ctx<'a> {
    pub api: &'a Api,
    pub account: Account,
    pub request_id: String,
    pub action: String,
    /// Unix milliseconds at the start of the request.
    pub now: i64,
}

pub async fn handle(State(api): State<Arc<Api>>, req: axum::extract::Request) -> Response {
    let request_id = ids::uuid();
    let source = crate::audit::source(req.extensions());
    let (parts, body) = req.into_parts();
    let call = match read_body(&api, &parts, body).await {
        Ok(body) => decode::authenticate(&api, &parts, &body),
        Err(e) => Err(e),
    };
    let call = match call {
        Ok(call) => call,
        Err(e) => return refuse(e, &request_id),
    };
    let req = Request {
        caller: &call.caller,
        action: &call.action,
        params: &call.params,
        request_id: &request_id,
        source: &source,
        dialect: "gaap",
    };
    let named = match req.admit(&api) {
        Ok(named) => named,
        Err(e) => return refuse(e, &request_id),
    };
    // A TC3-signed write runs once: a repeat of its signature gets the first answer.
    let first = match (&call.signature, is_write(&call.action)) {
        (Some((sig, ts)), true) => match api.once(&call.caller.account.id, sig, *ts).await {
            Once::Repeat(resp) => return resp,
            Once::First(first) => Some(first),
        },
        _ => None,
    };
    let result = req.run(&api, &named).await;
    let done = result.is_ok();
    let resp = envelope(result, &request_id);
    match first {
        Some(first) => first.finish(resp, done).await,
        None => resp,
    }
}

fn refuse(e: TcError, request_id: &str) -> Response {
    tracing::debug!(request_id, code = %e.code, message = %e.message, "api 3.0 error");
    envelope(Err(e), request_id)
}

/// An authenticated caller's GAAP request, past its transport: what the key's policy, the rate
/// limit, the action and the audit log see. The API 3.0 transport makes one per signed request;
/// the console makes one per form it accepts (`dialect` "console"), so both go through the same
/// steps.
pub struct Request<'a> {
    pub caller: &'a Caller,
    pub action: &'a str,
    pub params: &'a Value,
    pub request_id: &'a str,
    /// The client's address, for the audit log.
    pub source: &'a str,
    /// The dialect the audit log names (`gaap`, `console`).
    pub dialect: &'static str,
}

impl Request<'_> {
    /// The key's policy (a refused write is audited), then the rate limit.
    pub fn admit(&self, api: &Api) -> Result<Vec<NamedResource>, TcError> {
        let operation = format!("gaap:{}", self.action);
        let named = match self
            .caller
            .authorize(api, &operation, json_strings(self.params))
        {
            Ok(named) => named,
            Err(denied) => {
                let e = TcError::new("AuthFailure.UnauthorizedOperation", denied.message());
                if is_write(self.action) {
                    self.audit(api, &denied.named, Err(e.code.as_ref()));
                }
                return Err(e);
            }
        };
        if !api.allow(&self.caller.account.id, self.action) {
            return Err(TcError::new(
                "RequestLimitExceeded",
                format!(
                    "The request rate of `{}` exceeds {} per second; retry later.",
                    self.action, api.cfg.rate_limit
                ),
            ));
        }
        Ok(named)
    }

    /// Run the action; a write is audited with its outcome.
    pub async fn run(&self, api: &Api, named: &[NamedResource]) -> TcResult<Map<String, Value>> {
        let ctx = Ctx {
            api,
            account: self.caller.account.clone(),
            request_id: self.request_id.to_string(),
            action: self.action.to_string(),
            now: now_millis(),
        };
        let result = {
            let span = tracing::debug_span!("api", dialect = self.dialect, action = %self.action, request_id = %self.request_id);
            let _e = span.enter();
            crate::gaap::dispatch(&ctx, self.action, self.params.clone()).await
        };
        if is_write(self.action) {
            let outcome = match &result {
                Ok(m) => Ok(Value::Object(m.clone())),
                Err(e) => Err(e.code.to_string()),
            };
            self.audit(api, named, outcome.as_ref().map_err(String::as_str));
        }
        if let Err(e) = &result {
            tracing::debug!(request_id = %self.request_id, code = %e.code, message = %e.message, "api 3.0 error");
        }
        result
    }

    fn audit(&self, api: &Api, named: &[NamedResource], outcome: Result<&Value, &str>) {
        crate::audit::Write {
            caller: self.caller,
            dialect: self.dialect,
            operation: self.action,
            request_id: self.request_id,
            source: self.source,
            named,
        }
        .record(api, outcome);
    }
}

/// `req` admitted and run: the whole path of a request that needs no execute-once memory (the
/// console's forms carry a CSRF token, not a signature).
pub async fn execute(api: &Api, req: &Request<'_>) -> TcResult<Map<String, Value>> {
    let named = req.admit(api)?;
    req.run(api, &named).await
}

/// Reads change nothing; everything else is a write.
pub fn is_write(action: &str) -> bool {
    !["Describe", "Inquiry", "Check"]
        .iter()
        .any(|p| action.starts_with(p))
}

/// The body, refused at once when its declared length is above `--max-body`.
async fn read_body(api: &Api, parts: &Parts, body: Body) -> TcResult<Bytes> {
    let too_large = || {
        TcError::new(
            "InvalidParameter",
            format!(
                "The request body is larger than {} bytes or could not be read.",
                api.cfg.max_body
            ),
        )
    };
    if crate::caller::declares_too_large(parts, api.cfg.max_body) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, api.cfg.max_body)
        .await
        .map_err(|_| too_large())
}

/// Encode a result in the API 3.0 envelope.
pub fn envelope(result: TcResult<Map<String, Value>>, request_id: &str) -> Response {
    let mut inner = match result {
        Ok(m) => m,
        Err(e) => {
            let mut m = Map::new();
            m.insert(
                "Error".into(),
                serde_json::json!({"Code": e.code, "Message": e.message}),
            );
            m
        }
    };
    inner.insert("RequestId".into(), Value::String(request_id.to_string()));
    let body = serde_json::to_vec(&serde_json::json!({ "Response": inner })).unwrap_or_default();
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap_or_default()
}
