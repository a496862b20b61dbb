use super::*;
use axum::body::Body;
use http_body_util::BodyExt;
use onramp_core::{Accelerator, Listener, Op, Owner, Record};
use onramp_store_sql::SqlStore;
use tower::ServiceExt;

async fn control() -> (tempfile::TempDir, Arc<Control>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqlStore::sqlite(&dir.path().join("db")).await.unwrap());
    let c = Control::open(store).await.unwrap();
    let ops = vec![
        Op::Put(Record::Accelerator(Accelerator {
            id: "a".into(),
            access_region: "r1".into(),
            enabled: true,
            ..Default::default()
        })),
        Op::Put(Record::Listener(Listener {
            id: "l".into(),
            owner: Owner::Accelerator("a".into()),
            ..Default::default()
        })),
    ];
    c.write(|_| Ok::<_, ()>((ops, ()))).await.unwrap();
    (dir, c)
}

async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: &str,
) -> (StatusCode, serde_json::Value) {
    let mut req = http::Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let mut req = req.body(Body::from(body.to_string())).unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 9], 4000))));
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

const REG: &str = r#"{"name":"e1","region":"r1","addresses":["127.0.1.1"]}"#;

#[tokio::test]
async fn a_wrong_or_missing_token_gets_401_and_nothing_else() {
    let (_d, c) = control().await;
    let app = router(EdgeApi::new(c.clone(), Some("s3cret".into())));
    for token in [None, Some("wrong"), Some("s3cret-but-longer")] {
        let (s, body) = call(&app, "POST", "/edge/v1/register", token, REG).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{token:?}");
        assert!(body["error"].as_str().unwrap().contains("token"), "{body}");
        let (s, body) = call(&app, "GET", "/edge/v1/updates?name=e1", token, "").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert!(body.get("listeners").is_none());
    }
    assert!(c.edges().list().is_empty(), "no edge was registered");
    let closed = router(EdgeApi::new(c, None));
    let (s, body) = call(&closed, "POST", "/edge/v1/register", Some(""), REG).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(body["error"]
        .as_str()
        .unwrap()
        .contains("ONRAMP_EDGE_TOKEN"));
}

#[tokio::test]
async fn an_edge_registers_gets_its_region_then_changes_and_reports() {
    let (_d, c) = control().await;
    let app = router(EdgeApi::new(c.clone(), Some("t".into())));
    let (s, _) = call(&app, "GET", "/edge/v1/updates?name=e1", Some("t"), "").await;
    assert_eq!(s, StatusCode::CONFLICT, "register first");
    let (s, reg) = call(&app, "POST", "/edge/v1/register", Some("t"), REG).await;
    assert_eq!(s, StatusCode::OK, "{reg}");
    let rev = reg["revision"].as_u64().unwrap();
    let (_, full) = call(&app, "GET", "/edge/v1/updates?name=e1", Some("t"), "").await;
    assert_eq!(full["kind"], "full");
    assert_eq!(full["listeners"][0]["id"], "l");
    let (_, none) = call(
        &app,
        "GET",
        &format!("/edge/v1/updates?name=e1&since={rev}&wait=0"),
        Some("t"),
        "",
    )
    .await;
    assert_eq!(none, serde_json::json!({"kind": "none", "revision": rev}));
    let report = format!(
        r#"{{"name":"e1","applied":{rev},"health":[{{"binding":"b","healthy":false,"down":["127.0.0.2:80"]}}]}}"#
    );
    let (s, _) = call(&app, "POST", "/edge/v1/report", Some("t"), &report).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(c.applied_in("r1"), rev);
    use onramp_core::health::HealthSource;
    assert_eq!(c.edges().binding("b").unwrap().down, ["127.0.0.2:80"]);
    for bad in [
        r#"{"name":"e1"}"#,
        "not json",
        r#"{"name":"","region":"r","addresses":[]}"#,
    ] {
        let (s, body) = call(&app, "POST", "/edge/v1/register", Some("t"), bad).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
}
