//! The console over an in-process API (SQLite in a temporary directory, no edge): login and its
//! refusals, the rate limit on attempts, CSRF on changes, tenancy, and a change through the
//! GAAP action with its field-level refusal. The browser test (tests/conformance/test_console.py)
//! drives the same pages through Chromium.

use std::sync::Arc;

use axum::body::Body;
use http::{header, Request, StatusCode};
use onramp_api::{Api, ApiConfig};
use onramp_core::{Account, ApiKey, Op, Record};
use tower::ServiceExt;

use super::*;

struct Env {
    api: Arc<Api>,
    app: Router,
    _dir: tempfile::TempDir,
}

fn account(id: &str) -> (Account, ApiKey) {
    let a = Account {
        id: id.into(),
        name: format!("tenant {id}"),
        ..Default::default()
    };
    let k = ApiKey {
        secret_id: format!("AKID{id}"),
        secret_key: format!("secret-{id}"),
        account_id: id.into(),
        enabled: true,
        ..Default::default()
    };
    (a, k)
}

async fn env(rate_limit: u32) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        onramp_store_sql::SqlStore::sqlite(&dir.path().join("db"))
            .await
            .unwrap(),
    );
    let control = onramp_control::Control::open(store).await.unwrap();
    let mut ops = Vec::new();
    for id in ["100", "200"] {
        let (a, k) = account(id);
        ops.push(Op::Put(Record::Account(a)));
        ops.push(Op::Put(Record::Key(k)));
    }
    control.write(|_| Ok::<_, ()>((ops, ()))).await.unwrap();
    let cfg = ApiConfig {
        rate_limit,
        ..ApiConfig::default()
    };
    let api = Api::new(control, Arc::new(onramp_core::health::NoHealth), cfg);
    let app = router(api.clone(), ConsoleConfig::default());
    Env {
        api,
        app,
        _dir: dir,
    }
}

struct Answer {
    status: StatusCode,
    headers: http::HeaderMap,
    body: String,
}

impl Env {
    async fn send(&self, req: Request<Body>) -> Answer {
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 22)
            .await
            .unwrap();
        Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    async fn get(&self, path: &str, cookie: &str) -> Answer {
        let req = Request::get(path)
            .header(header::COOKIE, cookie)
            .body(Body::empty())
            .unwrap();
        self.send(req).await
    }

    async fn post(&self, path: &str, cookie: &str, form: &[(&str, &str)]) -> Answer {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let req = Request::post(path)
            .header(header::COOKIE, cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        self.send(req).await
    }

    /// Log in as account `id`; the session cookie and the page's CSRF token.
    async fn login(&self, id: &str) -> (String, String) {
        let a = self
            .try_login(&format!("AKID{id}"), &format!("secret-{id}"))
            .await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let cookie = set_cookie_value(&a.headers, session::COOKIE).expect("a session cookie");
        let page = self.get("/console/", &cookie).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let csrf = between(&page.body, "name=\"csrf\" value=\"", "\"").expect("a CSRF token");
        (cookie, csrf)
    }

    async fn try_login(&self, secret_id: &str, secret_key: &str) -> Answer {
        let form = self.get("/console/login", "").await;
        let login = set_cookie_value(&form.headers, session::LOGIN_COOKIE).unwrap();
        let token = between(&form.body, "name=\"login_token\" value=\"", "\"").unwrap();
        self.post(
            "/console/login",
            &login,
            &[
                ("login_token", &token),
                ("secret_id", secret_id),
                ("secret_key", secret_key),
                ("next", "/console/"),
            ],
        )
        .await
    }
}

/// `name=value` of cookie `name` in the answer's `Set-Cookie` headers.
fn set_cookie_value(h: &http::HeaderMap, name: &str) -> Option<String> {
    h.get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .map(str::to_string)
}

fn between(s: &str, a: &str, b: &str) -> Option<String> {
    let i = s.find(a)? + a.len();
    let j = s[i..].find(b)? + i;
    Some(s[i..j].to_string())
}

#[tokio::test]
async fn login_opens_a_strict_session_and_logout_ends_it() {
    let e = env(0).await;
    let page = e.get("/console/", "").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(
        page.headers[header::LOCATION],
        "/console/login?next=%2Fconsole%2F"
    );
    let ok = e.try_login("AKID100", "secret-100").await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let set: Vec<&str> = ok
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let session = set
        .iter()
        .find(|c| c.starts_with("onramp_session="))
        .unwrap();
    assert!(
        session.contains("HttpOnly")
            && session.contains("SameSite=Strict")
            && session.contains("Path=/console"),
        "{session}"
    );
    assert!(!session.contains("Secure"), "plain HTTP: no Secure flag");
    let (cookie, csrf) = e.login("100").await;
    let page = e.get("/console/", &cookie).await;
    assert!(page.body.contains("tenant 100"), "the account is named");
    for h in [header::CONTENT_SECURITY_POLICY, header::X_FRAME_OPTIONS] {
        assert!(page.headers.contains_key(&h), "{h}");
    }
    assert_eq!(page.headers[header::CACHE_CONTROL], "no-store");
    let out = e.post("/console/logout", &cookie, &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(
        e.get("/console/", &cookie).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn a_wrong_key_is_one_answer_and_a_login_needs_the_served_form() {
    let e = env(0).await;
    for (id, key) in [("AKID100", "wrong"), ("AKIDnope", "secret-100"), ("", "")] {
        let a = e.try_login(id, key).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{id}");
        assert!(a.body.contains("do not sign in"), "{}", a.body);
        assert!(set_cookie_value(&a.headers, session::COOKIE).is_none());
    }
    // A form posted from elsewhere (no double-submit cookie) is refused before any key is checked.
    let forged = e
        .post(
            "/console/login",
            "",
            &[
                ("login_token", "x"),
                ("secret_id", "AKID100"),
                ("secret_key", "secret-100"),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn login_attempts_are_rate_limited_like_the_apis() {
    let e = env(2).await;
    let mut limited = 0;
    for _ in 0..6 {
        if e.try_login("AKID100", "wrong").await.status == StatusCode::TOO_MANY_REQUESTS {
            limited += 1;
        }
    }
    assert!(
        limited >= 3,
        "past 2 attempts a second the answer is 429 ({limited} of 6)"
    );
}

#[tokio::test]
async fn a_change_needs_the_session_csrf_token() {
    let e = env(0).await;
    let (cookie, csrf) = e.login("100").await;
    let form = [
        ("name", "px"),
        ("access_region", "local"),
        ("origin_region", "local"),
        ("bandwidth", "10"),
        ("concurrent", "2"),
        ("project", "0"),
    ];
    for token in [None, Some("0".repeat(64))] {
        let mut f = form.to_vec();
        if let Some(t) = &token {
            f.push(("csrf", t));
        }
        let a = e.post("/console/accelerators", &cookie, &f).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    }
    assert_eq!(
        e.api.control.state().accelerators.len(),
        0,
        "nothing was written"
    );
    let mut f = form.to_vec();
    f.push(("csrf", &csrf));
    let a = e.post("/console/accelerators", &cookie, &f).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let id = e
        .api
        .control
        .state()
        .accelerators
        .keys()
        .next()
        .cloned()
        .unwrap();
    assert_eq!(
        a.headers[header::LOCATION],
        format!("/console/accelerators/{id}")
    );
}

#[tokio::test]
async fn a_bad_value_shows_the_api_message_on_its_field_and_writes_nothing() {
    let e = env(0).await;
    let (cookie, csrf) = e.login("100").await;
    let a = e
        .post(
            "/console/accelerators",
            &cookie,
            &[
                ("csrf", &csrf),
                ("name", "px"),
                ("access_region", "local"),
                ("origin_region", "local"),
                ("bandwidth", "lots"),
                ("concurrent", "2"),
                ("project", "0"),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let err = between(&a.body, "data-field=\"bandwidth\">", "</span>")
        .expect("an error on the bandwidth field");
    assert!(
        err.contains("`Bandwidth`") && err.contains("InvalidParameter"),
        "{err}"
    );
    assert!(
        a.body.contains("value=\"lots\""),
        "the form keeps what was typed"
    );
    assert_eq!(e.api.control.state().accelerators.len(), 0);
}

#[tokio::test]
async fn another_accounts_resources_are_not_found() {
    let e = env(0).await;
    let (c100, csrf100) = e.login("100").await;
    let made = e
        .post(
            "/console/accelerators",
            &c100,
            &[
                ("csrf", &csrf100),
                ("name", "mine"),
                ("access_region", "local"),
                ("origin_region", "local"),
                ("bandwidth", "10"),
                ("concurrent", "2"),
                ("project", "0"),
            ],
        )
        .await;
    let path = made.headers[header::LOCATION].to_str().unwrap().to_string();
    assert_eq!(e.get(&path, &c100).await.status, StatusCode::OK);
    let (c200, csrf200) = e.login("200").await;
    let theirs = e.get(&path, &c200).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    assert!(!theirs.body.contains("mine"));
    assert!(!e
        .get("/console/accelerators", &c200)
        .await
        .body
        .contains("mine"));
    let del = e
        .post(&format!("{path}/delete"), &c200, &[("csrf", &csrf200)])
        .await;
    assert_eq!(del.status, StatusCode::NOT_FOUND, "not theirs to delete");
    assert_eq!(e.api.control.state().accelerators.len(), 1, "still there");
}

#[tokio::test]
async fn assets_are_inside_the_binary() {
    let e = env(0).await;
    let css = e.get("/console/assets/console.css", "").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
    let js = e.get("/console/assets/console.js", "").await;
    assert!(js.body.contains("data-live"));
    assert_eq!(
        e.get("/console/assets/other.js", "").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        e.get("/console/nowhere", "").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_listener_and_an_accelerator_are_made_and_deleted_from_the_forms() {
    let e = env(0).await;
    let (cookie, csrf) = e.login("100").await;
    let made = e
        .post(
            "/console/accelerators",
            &cookie,
            &[
                ("csrf", &csrf),
                ("name", "px"),
                ("access_region", "local"),
                ("origin_region", "local"),
                ("bandwidth", "10"),
                ("concurrent", "2"),
                ("project", "0"),
            ],
        )
        .await;
    let acc = made.headers[header::LOCATION].to_str().unwrap().to_string();
    let ln = e
        .post(
            &format!("{acc}/listeners"),
            &cookie,
            &[
                ("csrf", &csrf),
                ("name", "web"),
                ("protocol", "UDP"),
                ("port", "5353"),
                ("scheduler", "rr"),
                ("origin_type", "IP"),
                ("health", "0"),
            ],
        )
        .await;
    assert_eq!(ln.status, StatusCode::SEE_OTHER, "{}", ln.body);
    let listener = ln.headers[header::LOCATION].to_str().unwrap().to_string();
    let page = e.get(&listener, &cookie).await;
    assert!(
        page.body.contains("Listens for UDP on port 5353"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("chart-packets"),
        "a UDP listener charts its packets"
    );
    // Without an edge attached a commit counts as applied: the listener runs at once.
    assert!(page.body.contains("data-state=\"running\""));
    let gone = e
        .post(&format!("{listener}/delete"), &cookie, &[("csrf", &csrf)])
        .await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER, "{}", gone.body);
    assert_eq!(gone.headers[header::LOCATION], acc.as_str());
    assert!(e.api.control.state().listeners.is_empty());
    let gone = e
        .post(&format!("{acc}/delete"), &cookie, &[("csrf", &csrf)])
        .await;
    assert_eq!(gone.headers[header::LOCATION], "/console/accelerators");
    assert!(e.api.control.state().accelerators.is_empty());
    let back = e.get("/console/accelerators", &cookie).await;
    assert!(
        back.body.contains("is being deleted"),
        "the flash says what was done"
    );
}
