//! The control node's end of the edge protocol: routes under `/edge/v1`, merged into the API
//! router. Every request must carry the shared edge token; a missing or wrong one gets 401, is
//! logged (at most once per 10 s per client address, with the count since), and is told
//! nothing else. An edge that is not registered with this node (the node restarted) gets 409 and
//! registers again.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use bytes::Bytes;
use onramp_control::{reconcile, Control};
use serde::Deserialize;
use serde::Serialize;
use subtle::ConstantTimeEq;

use crate::wire::{ErrorDto, Register, Registered, ReportDto, UpdateDto, PREFIX};

/// Longest a poll is held when nothing changes.
pub const MAX_WAIT: Duration = Duration::from_secs(30);
/// How often edges should report.
pub const REPORT_EVERY: Duration = Duration::from_secs(1);
/// Largest report or registration body (a full health report of a big region).
const MAX_BODY: usize = 256 << 20;
/// Longest name, region or address an edge may give.
const MAX_NAME: usize = 128;

/// What the routes share.
pub struct EdgeApi {
    control: Arc<Control>,
    /// The shared edge token; `None`: this node accepts no edge.
    token: Option<Vec<u8>>,
    refusals: Mutex<HashMap<IpAddr, (Instant, u64)>>,
}

impl EdgeApi {
    pub fn new(control: Arc<Control>, token: Option<String>) -> Arc<Self> {
        Arc::new(Self {
            control,
            token: token.map(String::into_bytes),
            refusals: Mutex::default(),
        })
    }

    /// `Err(why)` unless `headers` carry the token; logs refusals, rate-limited.
    fn authorize(&self, headers: &HeaderMap, from: SocketAddr) -> Result<(), &'static str> {
        let given = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let why = match (&self.token, given) {
            (None, _) => "this control node has no edge token (set ONRAMP_EDGE_TOKEN)",
            (Some(_), None) => "the request carries no edge token",
            (Some(t), Some(g)) if bool::from(t.as_slice().ct_eq(g.as_bytes())) => return Ok(()),
            (Some(_), Some(_)) => "the edge token is wrong",
        };
        self.log_refusal(from.ip(), why);
        Err(why)
    }

    fn log_refusal(&self, ip: IpAddr, why: &str) {
        let mut m = self.refusals.lock().unwrap_or_else(|p| p.into_inner());
        let (last, count) = m
            .entry(ip)
            .or_insert((Instant::now() - Duration::from_secs(60), 0));
        *count += 1;
        if last.elapsed() >= Duration::from_secs(10) {
            tracing::warn!(client = %ip, refused = *count, "edge request refused: {why}");
            *last = Instant::now();
            *count = 0;
        }
    }
}

fn json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (
            status,
            [(http::header::CONTENT_TYPE, "application/json")],
            bytes,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn error(status: StatusCode, why: &str) -> Response {
    json(
        status,
        &ErrorDto {
            error: why.to_string(),
        },
    )
}

/// `body` as a `T`, or what is wrong with it.
fn decode<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| format!("bad request body: {e}"))
}

fn bad_name(what: &str, s: &str) -> Option<Response> {
    let ok = !s.is_empty() && s.len() <= MAX_NAME && !s.chars().any(char::is_control);
    (!ok).then(|| {
        error(
            StatusCode::BAD_REQUEST,
            &format!("{what} must be 1-{MAX_NAME} characters without control characters"),
        )
    })
}

/// The `/edge/v1` routes.
pub fn router(api: Arc<EdgeApi>) -> Router {
    Router::new()
        .route(&format!("{PREFIX}/register"), post(register))
        .route(&format!("{PREFIX}/updates"), get(updates))
        .route(&format!("{PREFIX}/report"), post(report))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(api)
}

type Ctx = State<Arc<EdgeApi>>;
type From_ = ConnectInfo<SocketAddr>;

async fn register(
    State(api): Ctx,
    ConnectInfo(from): From_,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(why) = api.authorize(&headers, from) {
        return error(StatusCode::UNAUTHORIZED, why);
    }
    let r: Register = match decode(&body) {
        Ok(r) => r,
        Err(why) => return error(StatusCode::BAD_REQUEST, &why),
    };
    let bad = bad_name("name", &r.name)
        .or_else(|| bad_name("region", &r.region))
        .or_else(|| r.addresses.iter().find_map(|a| bad_name("address", a)));
    if let Some(resp) = bad {
        return resp;
    }
    let edges = api.control.edges();
    let applied = r.applied.unwrap_or(0);
    tracing::info!(edge = %r.name, region = %r.region, client = %from, applied, "edge registered");
    edges.register(&r.name, &r.region, r.addresses, applied);
    let answer = Registered {
        revision: api.control.committed_revision(),
        poll_secs: MAX_WAIT.as_secs(),
        report_ms: REPORT_EVERY.as_millis() as u64,
        lost_after_ms: edges.lost_after().as_millis() as u64,
    };
    json(StatusCode::OK, &answer)
}

#[derive(Deserialize)]
struct Poll {
    name: String,
    since: Option<u64>,
    wait: Option<u64>,
}

async fn updates(
    State(api): Ctx,
    ConnectInfo(from): From_,
    headers: HeaderMap,
    q: Result<Query<Poll>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if let Err(why) = api.authorize(&headers, from) {
        return error(StatusCode::UNAUTHORIZED, why);
    }
    let Query(q) = match q {
        Ok(q) => q,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e.body_text()),
    };
    let Some(region) = api.control.edges().region_of(&q.name) else {
        return error(
            StatusCode::CONFLICT,
            "not registered with this control node",
        );
    };
    let wait = Duration::from_secs(q.wait.unwrap_or(MAX_WAIT.as_secs())).min(MAX_WAIT);
    let control = api.control.clone();
    let update = reconcile::next(&control, &region, q.since, wait).await;
    // A full snapshot of a big region takes a while to encode: not on a runtime thread.
    let body = tokio::task::spawn_blocking(move || {
        let dto = match &update {
            Some(u) => UpdateDto::from(u),
            None => UpdateDto::None {
                revision: control.committed_revision(),
            },
        };
        serde_json::to_vec(&dto)
    })
    .await;
    match body {
        Ok(Ok(bytes)) => {
            ([(http::header::CONTENT_TYPE, "application/json")], bytes).into_response()
        }
        _ => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot encode the update",
        ),
    }
}

async fn report(
    State(api): Ctx,
    ConnectInfo(from): From_,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(why) = api.authorize(&headers, from) {
        return error(StatusCode::UNAUTHORIZED, why);
    }
    let r: ReportDto = match decode(&body) {
        Ok(r) => r,
        Err(why) => return error(StatusCode::BAD_REQUEST, &why),
    };
    let name = r.name.clone();
    if api.control.edges().report(&name, r.into_report()) {
        json(StatusCode::OK, &serde_json::json!({"ok": true}))
    } else {
        error(
            StatusCode::CONFLICT,
            "not registered with this control node",
        )
    }
}

#[cfg(test)]
mod tests;
