//! Property tests of every dialect's request decoding and dispatch (issue 8, "fuzzing that
//! stays"): correctly signed requests carrying arbitrary JSON bodies or flattened parameters go
//! through the real router over a temporary SQLite store. Whatever the content, the answer is
//! never a 5xx, never a panic, always in the dialect's envelope, and never an authentication
//! failure (so the arbitrary input really reaches the actions).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::Router;
use http::{Request, StatusCode};
use onramp_auth::v1::V1Method;
use onramp_auth::{huawei, tc3, v1};
use onramp_core::{Account, ApiKey, Op, Record};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Map, Value};
use tower::ServiceExt;

const ID: &str = "AKIDfuzzfuzzfuzzfuzz";
const KEY: &str = "fuzz-secret-key";
const HOST: &str = "127.0.0.1:7080";

/// The GAAP actions and a name that is not one (the empty name is added by `actions`).
const ACTIONS: &str = "\
    CreateProxy DescribeProxies DescribeProxyDetail DescribeProxiesStatus \
    ModifyProxiesAttribute ModifyProxyConfiguration OpenProxies CloseProxies DestroyProxies \
    CheckProxyCreate CreateProxyGroup DescribeProxyGroupList DescribeProxyGroupDetails \
    ModifyProxyGroupAttribute DeleteProxyGroup OpenProxyGroup CloseProxyGroup \
    CreateTCPListeners CreateUDPListeners DescribeTCPListeners DescribeUDPListeners \
    ModifyTCPListenerAttribute ModifyUDPListenerAttribute DeleteListeners AddRealServers \
    DescribeRealServers ModifyRealServerName RemoveRealServers BindListenerRealServers \
    DescribeListenerRealServers DescribeRealServersStatus DescribeListenerStatistics \
    DescribeProxyStatistics DescribeRealServerStatistics DescribeTaskStatus \
    DescribeAccessRegions DescribeDestRegions DescribeResourcesByTag NoSuchAction";

/// Parameter names the actions read, so arbitrary values meet real decoders.
const NAMES: &str = "\
    ProxyId ProxyIds InstanceIds ProxyName ProjectId AccessRegion RealServerRegion Bandwidth \
    Concurrent GroupId GroupName ListenerId ListenerIds ListenerName Ports Port Scheduler \
    HealthCheck DelayLoop ConnectTimeout RealServerType ClientIPMethod RealServerBindSet \
    RealServerId RealServerIds RealServerIP RealServerName RealServers Weight Limit Offset \
    Filters Name Values TagSet TagKey TagValue Force TaskId StartTime EndTime MetricNames \
    Granularity SessionPersist Protocol loadBalancerId listenerIds offset limit name id \
    port_ranges from_port to_port";

fn words(s: &'static str) -> Vec<&'static str> {
    s.split_whitespace().collect()
}

fn actions() -> Vec<&'static str> {
    let mut v = words(ACTIONS);
    v.push("");
    v
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1000i64..70000).prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "\\PC{0,20}".prop_map(Value::String),
        "[\\x00-\\x1f a-z-]{0,8}".prop_map(Value::String),
        prop::sample::select(vec![
            "link-00000000",
            "lg-00000000",
            "listener-00000000",
            "rs-00000000",
            "local",
            "TCP",
            "rr",
            "127.0.0.1"
        ])
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((name(), inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(words(NAMES)).prop_map(str::to_string),
        1 => "[A-Za-z.0-9]{1,10}",
    ]
}

fn params() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::vec((name(), value()), 0..6).prop_map(|kv| kv.into_iter().collect())
}

/// Flattened `key=value` pairs as GET requests carry them.
fn pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    let key = prop_oneof![
        3 => (prop::sample::select(words(NAMES)), prop::option::of(0u8..3), prop::option::of(prop::sample::select(words(NAMES))))
            .prop_map(|(n, i, sub)| {
                let mut k = n.to_string();
                if let Some(i) = i { k += &format!(".{i}"); }
                if let Some(s) = sub { k += &format!(".{s}"); }
                k
            }),
        1 => "[A-Za-z0-9._]{0,12}",
    ];
    prop::collection::vec((key, "\\PC{0,12}"), 0..8)
}

struct Env {
    rt: tokio::runtime::Runtime,
    app: Router,
    nonce: AtomicU64,
    _dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let app = rt.block_on(async {
            let store = onramp_store_sql::SqlStore::sqlite(&dir.path().join("db"))
                .await
                .unwrap();
            let control = onramp_control::Control::open(Arc::new(store))
                .await
                .unwrap();
            let account = Account {
                id: "1300000001".into(),
                name: "fuzz".into(),
                app_id: 1_300_000_001,
                uin: "1300000001".into(),
                domain_id: "0123456789abcdef0123456789abcdef".into(),
                ..Default::default()
            };
            let key = ApiKey {
                secret_id: ID.into(),
                secret_key: KEY.into(),
                account_id: account.id.clone(),
                enabled: true,
                ..Default::default()
            };
            let ops = vec![Op::Put(Record::Account(account)), Op::Put(Record::Key(key))];
            control.write(|_| Ok::<_, ()>((ops, ()))).await.unwrap();
            let cfg = onramp_api::ApiConfig {
                rate_limit: 0,
                bind_address: "127.0.0.1".into(),
                regions: vec![onramp_api::Region {
                    id: "local".into(),
                    name: "local".into(),
                }],
                ..onramp_api::ApiConfig::default()
            };
            onramp_api::router(onramp_api::Api::new(
                control,
                Arc::new(onramp_core::health::NoHealth),
                cfg,
            ))
        });
        Self {
            rt,
            app,
            nonce: AtomicU64::new(1),
            _dir: dir,
        }
    }

    /// Send `req`; returns status, `X-Request-Id` and the body as JSON (if it is JSON).
    fn send(&self, req: Request<Body>) -> (StatusCode, Option<String>, Value) {
        self.rt.block_on(async {
            let resp = self.app.clone().oneshot(req).await.unwrap();
            let status = resp.status();
            let rid = resp
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let bytes = axum::body::to_bytes(resp.into_body(), 1 << 24)
                .await
                .unwrap();
            (
                status,
                rid,
                serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            )
        })
    }

    fn nonce(&self) -> u64 {
        self.nonce.fetch_add(1, Ordering::Relaxed)
    }
}

fn now() -> i64 {
    onramp_api::now_secs()
}

fn query(pairs: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// API 3.0: HTTP 200 and `{"Response":{"RequestId", "Error"?:{"Code","Message"}}}`, not an auth failure.
fn check_api3(status: StatusCode, v: &Value) -> Result<(), TestCaseError> {
    prop_assert_eq!(status, StatusCode::OK, "{}", v);
    let r = &v["Response"];
    prop_assert!(r["RequestId"].is_string(), "{}", v);
    if let Some(e) = r.get("Error") {
        prop_assert!(e["Code"].is_string() && e["Message"].is_string(), "{}", v);
        let code = e["Code"].as_str().unwrap_or("");
        prop_assert!(
            !code.starts_with("AuthFailure") && !code.starts_with("Internal"),
            "{}",
            v
        );
    }
    Ok(())
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

#[test]
fn gaap_tc3_json_bodies() {
    let env = Env::new();
    let strategy = (
        prop::sample::select(actions()),
        params(),
        any::<bool>(),
        value(),
    );
    runner(384)
        .run(&strategy, |(action, params, whole, other)| {
            let body = if whole {
                other.to_string()
            } else {
                Value::Object(params).to_string()
            };
            let ts = now();
            let headers = vec![
                ("content-type".to_string(), "application/json".to_string()),
                ("host".to_string(), HOST.to_string()),
            ];
            let r = tc3::Tc3Request {
                method: "POST",
                canonical_uri: "/",
                canonical_query: "",
                headers: &headers,
                payload_hash: tc3::payload_hash(body.as_bytes()),
                timestamp: ts,
                service: "gaap",
            };
            let req = Request::post("/")
                .header("content-type", "application/json")
                .header("host", HOST)
                .header("x-tc-action", action)
                .header("x-tc-version", "2018-05-29")
                .header("x-tc-timestamp", ts.to_string())
                .header("authorization", tc3::authorization_header(ID, KEY, &r))
                .body(Body::from(body))
                .unwrap();
            let (status, _, v) = env.send(req);
            check_api3(status, &v)
        })
        .unwrap();
}

#[test]
fn gaap_v1_flattened_params() {
    let env = Env::new();
    let strategy = (prop::sample::select(actions()), pairs(), any::<bool>());
    runner(256)
        .run(&strategy, |(action, mut pairs, sha256)| {
            pairs.retain(|(k, _)| !k.is_empty());
            let m = if sha256 {
                V1Method::HmacSha256
            } else {
                V1Method::HmacSha1
            };
            for (k, v) in [
                ("Action", action.to_string()),
                ("Version", "2018-05-29".into()),
                ("SecretId", ID.into()),
                ("Timestamp", now().to_string()),
                ("Nonce", env.nonce().to_string()),
                ("SignatureMethod", m.as_param().into()),
            ] {
                pairs.retain(|(p, _)| p != k);
                pairs.push((k.into(), v));
            }
            let sig = v1::sign(m, KEY, &v1::string_to_sign("GET", HOST, "/", &pairs));
            pairs.push(("Signature".into(), sig));
            let req = Request::get(format!("/?{}", query(&pairs)))
                .header("host", HOST)
                .body(Body::empty())
                .unwrap();
            let (status, _, v) = env.send(req);
            check_api3(status, &v)
        })
        .unwrap();
}

#[test]
fn bm_v2_params() {
    let env = Env::new();
    let action = prop_oneof![Just("DescribeBmListeners".to_string()), "[A-Za-z]{0,12}"];
    runner(256)
        .run(&(action, pairs()), |(action, mut pairs)| {
            pairs.retain(|(k, _)| !k.is_empty());
            for (k, v) in [
                ("Action", action.clone()),
                ("Region", "gz".into()),
                ("SecretId", ID.into()),
                ("Timestamp", now().to_string()),
                ("Nonce", env.nonce().to_string()),
                ("SignatureMethod", "HmacSHA1".into()),
            ] {
                pairs.retain(|(p, _)| p != k);
                pairs.push((k.into(), v));
            }
            let s = v1::string_to_sign("GET", HOST, "/v2/index.php", &pairs);
            pairs.push(("Signature".into(), v1::sign(V1Method::HmacSha1, KEY, &s)));
            let req = Request::get(format!("/v2/index.php?{}", query(&pairs)))
                .header("host", HOST)
                .body(Body::empty())
                .unwrap();
            let (status, _, v) = env.send(req);
            prop_assert!(!status.is_server_error(), "{} {}", status, v);
            prop_assert!(v["code"].is_i64() && v["message"].is_string(), "{}", v);
            prop_assert!(v["codeDesc"].is_string(), "{}", v);
            prop_assert!(v["codeDesc"] != "AuthFailure", "{}", v);
            Ok(())
        })
        .unwrap();
}

#[test]
fn huawei_paths_queries_and_bodies() {
    let env = Env::new();
    let method = prop::sample::select(vec!["GET", "POST", "PUT", "DELETE"]);
    let seg = prop_oneof![
        prop::sample::select(vec![
            "listeners",
            "accelerators",
            "endpoint-groups",
            "endpoints",
            "listener-00000000"
        ])
        .prop_map(str::to_string),
        "[A-Za-z0-9_%-]{1,12}",
    ];
    let path = prop::collection::vec(seg, 0..4);
    runner(256)
        .run(
            &(method, path, pairs(), params()),
            |(method, segs, query_pairs, body)| {
                let path = format!("/v1/{}", segs.join("/"));
                let raw_query = query(&query_pairs);
                let body = if method == "GET" || method == "DELETE" {
                    String::new()
                } else {
                    Value::Object(body).to_string()
                };
                let date = time::OffsetDateTime::now_utc();
                let sdk_date = format!(
                    "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
                    date.year(),
                    u8::from(date.month()),
                    date.day(),
                    date.hour(),
                    date.minute(),
                    date.second()
                );
                let headers = vec![
                    ("host".to_string(), HOST.to_string()),
                    ("x-sdk-date".to_string(), sdk_date.clone()),
                ];
                let c = huawei::canonical_request(
                    method,
                    &path,
                    &raw_query,
                    &headers,
                    &huawei::payload_hash(body.as_bytes()),
                );
                let sig = huawei::sign(KEY, &huawei::string_to_sign(&sdk_date, &c));
                let names = vec!["host".to_string(), "x-sdk-date".to_string()];
                let uri = if raw_query.is_empty() {
                    path.clone()
                } else {
                    format!("{path}?{raw_query}")
                };
                let req = Request::builder()
                    .method(method)
                    .uri(uri)
                    .header("host", HOST)
                    .header("x-sdk-date", sdk_date)
                    .header("content-type", "application/json")
                    .header(
                        "authorization",
                        huawei::format_authorization(ID, &names, &sig),
                    )
                    .body(Body::from(body))
                    .unwrap();
                let (status, rid, v) = env.send(req);
                prop_assert!(!status.is_server_error(), "{} {}", status, v);
                prop_assert!(
                    status != StatusCode::UNAUTHORIZED,
                    "{} {} {}",
                    path,
                    status,
                    v
                );
                let rid = rid.unwrap_or_default();
                prop_assert!(!rid.is_empty(), "no X-Request-Id: {} {}", status, v);
                if status.is_client_error() {
                    prop_assert!(
                        v["error_code"].is_string() && v["error_msg"].is_string(),
                        "{}",
                        v
                    );
                    prop_assert_eq!(v["request_id"].as_str(), Some(rid.as_str()), "{}", v);
                }
                Ok(())
            },
        )
        .unwrap();
}
