//! The web console at `/console/`, served on the API listener by whatever role serves the APIs.
//!
//! Pages are rendered on the server (maud) from the one model, with SVG charts drawn on the
//! server (`onramp-chart`) and one small script of our own that refreshes the live parts of a
//! page. Nothing is fetched from elsewhere at run time (the stylesheet and script are inside the
//! binary) and the pages are served with a strict Content-Security-Policy.
//!
//! The console is a client of the same steps as the APIs, never of the store:
//! - login with a SecretId and SecretKey through the caller step (`caller::login`), rate-limited
//!   like the APIs; a session re-checks its key on every request (`caller::resume`);
//! - every page read asks `Caller::authorize` with the GAAP operation it corresponds to
//!   (`gaap:DescribeProxies`, …), and reads `State` only through its account-taking helpers;
//! - every change is a GAAP action run in-process (`onramp_api::tencent::Request`: the policy,
//!   the rate limit, the action's decoding, `onramp-ops`, the audit log with dialect `console`),
//!   so a key limited by a policy can do here exactly what it can through the APIs, and a refused
//!   form shows the API's own message next to the field it names;
//! - every change carries the session's CSRF token.
#![forbid(unsafe_code)]

mod auth;
mod charts;
mod exec;
mod layout;
mod pages;
mod session;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::Path;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use http::{header, HeaderValue, StatusCode};
use onramp_api::Api;

/// How the console runs.
#[derive(Debug, Clone)]
pub struct ConsoleConfig {
    /// Mark cookies `Secure` (the API listener speaks TLS).
    pub secure_cookies: bool,
    /// A session ends this long after login.
    pub session_ttl: Duration,
    /// A session ends after this long without a request.
    pub idle_timeout: Duration,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self {
            secure_cookies: false,
            session_ttl: Duration::from_secs(12 * 3600),
            idle_timeout: Duration::from_secs(3600),
        }
    }
}

pub(crate) struct Console {
    pub api: Arc<Api>,
    pub sessions: session::Sessions,
    pub cfg: ConsoleConfig,
}

pub(crate) type Shared = Arc<Console>;

/// The console's routes (all under `/console`), to merge into the API router.
pub fn router(api: Arc<Api>, cfg: ConsoleConfig) -> Router {
    let console = Arc::new(Console {
        api,
        sessions: session::Sessions::new(cfg.session_ttl, cfg.idle_timeout),
        cfg,
    });
    use pages::{accelerators as acc, listener as lst, origins as org, overview};
    Router::new()
        .route("/console", get(|| async { Redirect::to("/console/") }))
        .route("/console/", get(overview::view))
        .route("/console/login", get(auth::login_page).post(auth::login))
        .route("/console/logout", post(auth::logout))
        .route("/console/accelerators", get(acc::list).post(acc::create))
        .route("/console/accelerators/{id}", get(acc::detail))
        .route("/console/accelerators/{id}/delete", post(acc::delete))
        .route("/console/accelerators/{id}/listeners", post(lst::create))
        .route("/console/listeners/{id}", get(lst::detail))
        .route("/console/listeners/{id}/delete", post(lst::delete))
        .route("/console/listeners/{id}/origins", post(lst::bind))
        .route(
            "/console/listeners/{id}/origins/{binding}",
            post(lst::change_binding),
        )
        .route("/console/origins", get(org::list).post(org::add))
        .route("/console/origins/{id}/delete", post(org::remove))
        .route("/console/assets/{file}", get(asset))
        .route("/console/{*rest}", get(not_found).post(not_found))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(console)
}

const CSS: &str = include_str!("../assets/console.css");
const JS: &str = include_str!("../assets/console.js");

async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "console.css" => (CSS, "text/css; charset=utf-8"),
        "console.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return (StatusCode::NOT_FOUND, "not found\n").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

async fn not_found() -> Response {
    layout::bare(
        StatusCode::NOT_FOUND,
        "Not found",
        maud::html! { p { "There is no such page in the console. " a href="/console/" { "Go to the overview" } "." } },
    )
}

/// What every console answer carries: nothing from elsewhere may run, frame it or be loaded, and
/// pages (which hold the CSRF token) are not cached.
async fn security_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    let set = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
    ];
    for (k, v) in set {
        h.insert(k, HeaderValue::from_static(v));
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

#[cfg(test)]
mod tests;
