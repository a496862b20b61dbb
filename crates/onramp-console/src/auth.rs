//! Login, logout, and the session every other page needs.
//!
//! A login is a SecretId and SecretKey checked by the caller step (any account's key or sub-key;
//! one answer for an unknown key, a wrong secret and a disabled key), rate-limited like the APIs
//! (per source address and per account, `console:Login`), from a form this console served (a
//! double-submit cookie). A change is accepted only with the session's CSRF token.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use http::{header, HeaderMap, StatusCode};
use maud::html;
use onramp_api::caller::{self, Caller};

use crate::layout;
use crate::session::{cookie, same, set_cookie, token, COOKIE, LOGIN_COOKIE};
use crate::{Console, Shared};

/// The header the refresh script sends: an expired session answers 401 instead of a redirect.
pub const REFRESH_HEADER: &str = "x-console-refresh";

/// A logged-in request.
pub struct Authed {
    pub caller: Caller,
    pub token: String,
    pub csrf: String,
    /// A message left by the last change.
    pub flash: Option<String>,
}

impl Authed {
    pub fn account(&self) -> &str {
        &self.caller.account.id
    }
}

/// Whether the request comes from the refresh script.
pub fn is_refresh(headers: &HeaderMap) -> bool {
    headers.contains_key(REFRESH_HEADER)
}

/// The session of a page request, or the answer that sends the browser to the login page.
pub fn session(c: &Console, headers: &HeaderMap, path: &str) -> Result<Authed, Box<Response>> {
    let token = cookie(headers, COOKIE).unwrap_or("").to_string();
    let now = Instant::now();
    let Some(s) = c.sessions.touch(&token, now) else {
        return Err(Box::new(to_login(headers, path)));
    };
    let Ok(caller) = caller::resume(&c.api, &s.secret_id) else {
        // The key was disabled or deleted since the login: the session ends with it.
        c.sessions.close(&token);
        return Err(Box::new(to_login(headers, path)));
    };
    let flash = if is_refresh(headers) {
        None
    } else {
        c.sessions.take_flash(&token)
    };
    Ok(Authed {
        caller,
        csrf: s.csrf,
        token,
        flash,
    })
}

/// The session of a change, which must carry its CSRF token in the form.
pub fn change(
    c: &Console,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<Authed, Box<Response>> {
    let a = session(c, headers, "/console/")?;
    match form.get("csrf") {
        Some(t) if same(t, &a.csrf) => Ok(a),
        _ => Err(Box::new(layout::bare(
            StatusCode::FORBIDDEN,
            "Change refused",
            html! {
                p { "This change did not carry the session's CSRF token (the form is stale or was not served by this console). Nothing was changed." }
                p { a href="/console/" { "Back to the console" } }
            },
        ))),
    }
}

fn to_login(headers: &HeaderMap, path: &str) -> Response {
    if is_refresh(headers) {
        return (StatusCode::UNAUTHORIZED, "log in again\n").into_response();
    }
    let next = form_urlencoded::byte_serialize(path.as_bytes()).collect::<String>();
    Redirect::to(&format!("/console/login?next={next}")).into_response()
}

/// Only a console page is a place to go back to after a login (no open redirect).
fn safe_next(next: Option<&String>) -> String {
    match next {
        Some(n) if n.starts_with("/console/") && !n.contains("//") && !n.contains('\\') => {
            n.clone()
        }
        _ => "/console/".into(),
    }
}

pub async fn login_page(
    State(c): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if session(&c, &headers, "/console/").is_ok() {
        return Redirect::to(&safe_next(q.get("next"))).into_response();
    }
    let note = q.contains_key("bye").then_some("You are logged out.");
    login_form(
        &c,
        StatusCode::OK,
        &safe_next(q.get("next")),
        "",
        note,
        None,
    )
}

fn login_form(
    c: &Console,
    status: StatusCode,
    next: &str,
    secret_id: &str,
    note: Option<&str>,
    error: Option<&str>,
) -> Response {
    let form_token = token();
    let body = html! {
        form.login method="post" action="/console/login" {
            h1 { "Sign in to onramp" }
            p.muted { "Use an API key of your account: the console can do exactly what the key may do through the APIs." }
            @if let Some(n) = note { p.flash { (n) } }
            @if let Some(e) = error { p.form-error role="alert" { (e) } }
            input type="hidden" name="login_token" value=(form_token);
            input type="hidden" name="next" value=(next);
            label for="secret_id" { "SecretId" }
            input #secret_id type="text" name="secret_id" value=(secret_id) autocomplete="username" required autofocus;
            label for="secret_key" { "SecretKey" }
            input #secret_key type="password" name="secret_key" autocomplete="current-password" required;
            button.primary type="submit" { "Sign in" }
            p.muted.small { "The first start of " code { "onramp serve" } " writes the root key to " code { "DATA_DIR/credentials.json" } "." }
        }
    };
    let mut resp = layout::bare(status, "Sign in", body);
    let cookie = set_cookie(
        LOGIN_COOKIE,
        &form_token,
        "/console/login",
        3600,
        c.cfg.secure_cookies,
    );
    if let Ok(v) = cookie.parse() {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

pub async fn login(
    State(c): State<Shared>,
    ext: http::Extensions,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let next = safe_next(form.get("next"));
    let (secret_id, secret_key) = (get("secret_id").trim(), get("secret_key"));
    let served = cookie(&headers, LOGIN_COOKIE).is_some_and(|t| same(t, get("login_token")));
    if !served {
        let msg = "The login form had expired; please sign in again.";
        return login_form(&c, StatusCode::FORBIDDEN, &next, secret_id, None, Some(msg));
    }
    let ip = ext
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_string(), |ci| ci.0.ip().to_string());
    if !c.api.allow(&format!("console-login:{ip}"), "console:Login") {
        return throttled(&c, &next, secret_id);
    }
    match caller::login(&c.api, secret_id, secret_key) {
        Ok(caller) => {
            if !c.api.allow(&caller.account.id, "console:Login") {
                return throttled(&c, &next, secret_id);
            }
            tracing::info!(key = %caller.key_id, account = %caller.account.id, source = %ip, "console login");
            let t = c.sessions.open(&caller.key_id, Instant::now());
            let max_age = c.cfg.session_ttl.as_secs();
            let mut resp = Redirect::to(&next).into_response();
            let h = resp.headers_mut();
            for v in [
                set_cookie(COOKIE, &t, "/console", max_age, c.cfg.secure_cookies),
                set_cookie(LOGIN_COOKIE, "", "/console/login", 0, c.cfg.secure_cookies),
            ] {
                if let Ok(v) = v.parse() {
                    h.append(header::SET_COOKIE, v);
                }
            }
            resp
        }
        Err(_) => {
            tracing::info!(source = %ip, "console login refused");
            let msg = "That SecretId and SecretKey do not sign in: the key is unknown, the secret is wrong, or the key is disabled.";
            login_form(
                &c,
                StatusCode::UNAUTHORIZED,
                &next,
                secret_id,
                None,
                Some(msg),
            )
        }
    }
}

fn throttled(c: &Console, next: &str, secret_id: &str) -> Response {
    let msg = "Too many sign-in attempts; wait a second and try again.";
    login_form(
        c,
        StatusCode::TOO_MANY_REQUESTS,
        next,
        secret_id,
        None,
        Some(msg),
    )
}

pub async fn logout(
    State(c): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let a = match change(&c, &headers, &form) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    c.sessions.close(&a.token);
    let mut resp = Redirect::to("/console/login?bye=1").into_response();
    let gone = set_cookie(COOKIE, "", "/console", 0, c.cfg.secure_cookies);
    if let Ok(v) = gone.parse() {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}
