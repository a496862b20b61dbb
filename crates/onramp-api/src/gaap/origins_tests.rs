//! Real-server and binding actions, driven through `dispatch` over a real SQLite store.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use onramp_core::*;
use serde_json::{json, Map, Value};

use crate::tencent::{Ctx, TcError, TcResult};
use crate::{Api, ApiConfig};

/// An Api over a temporary store. Each call gets a fresh RequestId and a clock one second later
/// than the previous call, so creation order is deterministic.
pub(crate) struct Harness {
    pub api: Arc<Api>,
    clock: AtomicI64,
    _dir: tempfile::TempDir,
}

impl Harness {
    pub async fn new() -> Self {
        Self::with_config(ApiConfig::default()).await
    }

    pub async fn with_config(cfg: ApiConfig) -> Self {
        let (api, dir) = crate::test_support::temp_api(cfg).await;
        Self {
            api,
            clock: AtomicI64::new(1_700_000_000_000),
            _dir: dir,
        }
    }

    /// Call `action` as `account`; returns the RequestId (= TaskId) and the result.
    pub async fn call_as(
        &self,
        account: &str,
        action: &str,
        params: Value,
    ) -> (String, TcResult<Map<String, Value>>) {
        let request_id = ids::uuid();
        let ctx = Ctx {
            api: &self.api,
            account: Account {
                id: account.into(),
                ..Default::default()
            },
            request_id: request_id.clone(),
            action: action.into(),
            now: self.clock.fetch_add(1000, Ordering::SeqCst),
        };
        let out = crate::gaap::dispatch(&ctx, action, params).await;
        (request_id, out)
    }

    pub async fn ok(&self, action: &str, params: Value) -> Value {
        match self.call_as("a", action, params).await.1 {
            Ok(m) => Value::Object(m),
            Err(e) => panic!("{action} failed: {e:?}"),
        }
    }

    pub async fn err(&self, action: &str, params: Value) -> TcError {
        self.call_as("a", action, params).await.1.expect_err(action)
    }

    /// Write records directly, as the other dialects or admin tools would.
    pub async fn put(&self, records: Vec<Record>) {
        let ops = records.into_iter().map(Op::Put).collect();
        self.api
            .control
            .write(|_| Ok::<_, ()>((ops, ())))
            .await
            .unwrap();
    }

    /// Register one origin for account `a`; returns its ID.
    pub async fn add(&self, address: &str, project: i64) -> String {
        let r = self
            .ok(
                "AddRealServers",
                json!({"ProjectId": project, "RealServerIP": [address], "RealServerName": "n"}),
            )
            .await;
        r["RealServerSet"][0]["RealServerId"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub async fn listener(&self, id: &str, owner: Owner, kind: OriginKind, failover: bool) {
        self.put(vec![Record::Listener(listener(
            id, "a", owner, kind, failover,
        ))])
        .await;
    }
}

pub(crate) fn listener(
    id: &str,
    account: &str,
    owner: Owner,
    kind: OriginKind,
    failover: bool,
) -> Listener {
    Listener {
        id: id.into(),
        account_id: account.into(),
        owner,
        ports: vec![PortRange::single(80)],
        origin_kind: kind,
        failover,
        ..Default::default()
    }
}

fn proxy(id: &str) -> Owner {
    Owner::Accelerator(id.into())
}

fn item(id: &str, ip: &str, port: u16) -> Value {
    json!({"RealServerId": id, "RealServerIP": ip, "RealServerPort": port})
}

async fn bind(h: &Harness, listener: &str, set: Vec<Value>) -> TcResult<Map<String, Value>> {
    h.call_as(
        "a",
        "BindListenerRealServers",
        json!({"ListenerId": listener, "RealServerBindSet": set}),
    )
    .await
    .1
}

/// (origin, port) → binding ID of a listener.
fn bindings(h: &Harness, listener: &str) -> Vec<(String, u16, String)> {
    let st = h.api.control.state();
    let mut v: Vec<_> = st
        .bindings_of(listener)
        .map(|b| (b.origin_id.clone(), b.port, b.id.clone()))
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn add_registers_in_order_and_refuses_duplicates() {
    let h = Harness::new().await;
    let body = json!({"ProjectId": "0", "RealServerIP": ["10.0.0.1", "Www.Example.COM."], "RealServerName": "web",
        "TagSet": [{"TagKey": "env", "TagValue": "prod"}]});
    let r = h.ok("AddRealServers", body).await;
    let set = r["RealServerSet"].as_array().unwrap();
    assert_eq!(set.len(), 2);
    assert_eq!(set[0]["RealServerIP"], "10.0.0.1");
    assert_eq!(set[1]["RealServerIP"], "www.example.com");
    let id = set[0]["RealServerId"].as_str().unwrap();
    assert!(ids::is_short(ids::ORIGIN, id), "{id}");
    let o = h.api.control.state().origins[id].clone();
    assert_eq!(
        (o.kind, o.project_id, o.name.as_str(), o.created_by),
        (OriginKind::Ip, 0, "web", Dialect::Gaap)
    );
    assert_eq!(
        o.tags,
        vec![Tag {
            key: "env".into(),
            value: "prod".into()
        }]
    );

    let dup = |ips: Value, project: i64| json!({"ProjectId": project, "RealServerIP": ips, "RealServerName": "x"});
    assert_eq!(
        h.err("AddRealServers", dup(json!(["10.0.0.1"]), 0))
            .await
            .code,
        "InvalidParameterValue.DuplicateRS"
    );
    assert_eq!(
        h.err("AddRealServers", dup(json!(["www.example.com"]), 0))
            .await
            .code,
        "InvalidParameterValue.DuplicateRS"
    );
    let twice = h
        .err("AddRealServers", dup(json!(["10.0.0.9", "10.0.0.9"]), 0))
        .await;
    assert_eq!(twice.code, "InvalidParameterValue.DuplicateRS");
    // Nothing of a refused call is kept; another project may hold the same address.
    assert_eq!(h.api.control.state().origins.len(), 2);
    h.ok("AddRealServers", dup(json!(["10.0.0.1"]), 7)).await;
    // Another account has its own namespace.
    assert!(h
        .call_as("b", "AddRealServers", dup(json!(["10.0.0.1"]), 0))
        .await
        .1
        .is_ok());
}

#[tokio::test]
async fn add_validates_every_parameter() {
    let h = Harness::new().await;
    let e = h.err("AddRealServers", json!({"ProjectId": 0, "RealServerIP": ["1.1.1.1", "not a host"], "RealServerName": "x"})).await;
    assert_eq!(e.code, "InvalidParameterValue");
    assert!(e.message.contains("RealServerIP.1"), "{}", e.message);
    let cases = [
        (
            json!({"RealServerIP": ["1.1.1.1"], "RealServerName": "x"}),
            "MissingParameter",
            "ProjectId",
        ),
        (
            json!({"ProjectId": -1, "RealServerIP": ["1.1.1.1"], "RealServerName": "x"}),
            "InvalidParameterValue",
            "ProjectId",
        ),
        (
            json!({"ProjectId": 0, "RealServerName": "x"}),
            "MissingParameter",
            "RealServerIP",
        ),
        (
            json!({"ProjectId": 0, "RealServerIP": [], "RealServerName": "x"}),
            "InvalidParameterValue",
            "RealServerIP",
        ),
        (
            json!({"ProjectId": 0, "RealServerIP": ["1.1.1.1"]}),
            "MissingParameter",
            "RealServerName",
        ),
        (
            json!({"ProjectId": 0, "RealServerIP": ["1.1.1.1"], "RealServerName": ""}),
            "InvalidParameterValue",
            "RealServerName",
        ),
        (
            json!({"ProjectId": 0, "RealServerIP": ["1.1.1.1"], "RealServerName": "n".repeat(65)}),
            "InvalidParameterValue",
            "RealServerName",
        ),
        (
            json!({"ProjectId": 0, "RealServerIP": ["1.1.1.1"], "RealServerName": "x", "Foo": 1}),
            "UnknownParameter",
            "Foo",
        ),
    ];
    for (body, code, field) in cases {
        let e = h.err("AddRealServers", body.clone()).await;
        assert_eq!(e.code, code, "{body}");
        assert!(e.message.contains(field), "{body}: {}", e.message);
    }
    let many: Vec<String> = (0..101)
        .map(|i| format!("10.1.{}.{}", i / 250, i % 250))
        .collect();
    let e = h
        .err(
            "AddRealServers",
            json!({"ProjectId": 0, "RealServerIP": many, "RealServerName": "x"}),
        )
        .await;
    assert_eq!(e.code, "InvalidParameterValue");
    let tags: Vec<Value> = (0..51)
        .map(|i| json!({"TagKey": format!("k{i}"), "TagValue": "v"}))
        .collect();
    let e = h.err("AddRealServers", json!({"ProjectId": 0, "RealServerIP": ["1.1.1.1"], "RealServerName": "x", "TagSet": tags})).await;
    assert_eq!(e.code, "InvalidParameterValue");
    assert!(h.api.control.state().origins.is_empty());
}

#[tokio::test]
async fn describe_filters_searches_and_pages() {
    let h = Harness::new().await;
    for (i, ip) in ["10.0.0.1", "10.0.0.2", "192.168.1.1", "a.example.com"]
        .iter()
        .enumerate()
    {
        let tags = json!([{"TagKey": "n", "TagValue": i.to_string()}]);
        let body = json!({"ProjectId": i as i64 % 2, "RealServerIP": [ip], "RealServerName": format!("s{i}"), "TagSet": tags});
        h.ok("AddRealServers", body).await;
    }
    h.call_as(
        "b",
        "AddRealServers",
        json!({"ProjectId": 0, "RealServerIP": ["10.0.0.3"], "RealServerName": "s"}),
    )
    .await
    .1
    .unwrap();
    let ips = |r: &Value| -> Vec<String> {
        r["RealServerSet"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["RealServerIP"].as_str().unwrap().to_string())
            .collect()
    };
    let all = h.ok("DescribeRealServers", json!({"ProjectId": -1})).await;
    assert_eq!(all["TotalCount"], 4);
    assert_eq!(
        ips(&all),
        ["10.0.0.1", "10.0.0.2", "192.168.1.1", "a.example.com"]
    );
    let first = &all["RealServerSet"][0];
    assert_eq!(first["RealServerName"], "s0");
    assert_eq!(first["ProjectId"], 0);
    assert_eq!(first["TagSet"], json!([{"TagKey": "n", "TagValue": "0"}]));

    let p1 = h.ok("DescribeRealServers", json!({"ProjectId": 1})).await;
    assert_eq!(ips(&p1), ["10.0.0.2", "a.example.com"]);
    let s = h
        .ok(
            "DescribeRealServers",
            json!({"ProjectId": -1, "SearchValue": "10.0.0"}),
        )
        .await;
    assert_eq!(ips(&s), ["10.0.0.1", "10.0.0.2"]);
    let s = h
        .ok(
            "DescribeRealServers",
            json!({"ProjectId": -1, "SearchValue": "EXAMPLE"}),
        )
        .await;
    assert_eq!(ips(&s), ["a.example.com"]);
    let f = json!([{"Name": "RealServerIP", "Values": ["10.0.0.2", "A.example.com"]}, {"Name": "RealServerName", "Values": ["s3"]}]);
    let r = h
        .ok(
            "DescribeRealServers",
            json!({"ProjectId": -1, "Filters": f}),
        )
        .await;
    assert_eq!(ips(&r), ["a.example.com"]);
    let t = json!([{"TagKey": "n", "TagValue": "0"}, {"TagKey": "n", "TagValue": "2"}]);
    let r = h
        .ok("DescribeRealServers", json!({"ProjectId": -1, "TagSet": t}))
        .await;
    assert_eq!(ips(&r), ["10.0.0.1", "192.168.1.1"]);

    let page = h
        .ok(
            "DescribeRealServers",
            json!({"ProjectId": -1, "Offset": "1", "Limit": "2"}),
        )
        .await;
    assert_eq!(page["TotalCount"], 4);
    assert_eq!(ips(&page), ["10.0.0.2", "192.168.1.1"]);
    let none = h.ok("DescribeRealServers", json!({"ProjectId": 5})).await;
    assert_eq!(none["RealServerSet"], json!([]));
    assert_eq!(none["TotalCount"], 0);

    let bad = [
        json!({}),
        json!({"ProjectId": -2}),
        json!({"ProjectId": -1, "Limit": 51}),
        json!({"ProjectId": -1, "Filters": [{"Name": "Colour", "Values": ["x"]}]}),
        json!({"ProjectId": -1, "Filters": [{"Name": "RealServerIP"}]}),
        json!({"ProjectId": -1, "TagSet": (0..6).map(|i| json!({"TagKey": i.to_string(), "TagValue": ""})).collect::<Vec<_>>()}),
    ];
    for body in bad {
        assert!(
            h.call_as("a", "DescribeRealServers", body.clone())
                .await
                .1
                .is_err(),
            "{body}"
        );
    }
    let e = h
        .err(
            "DescribeRealServers",
            json!({"ProjectId": -1, "Filters": [{"Name": "Colour", "Values": ["x"]}]}),
        )
        .await;
    assert_eq!(e.code, "InvalidParameterValue");
    assert!(e.message.contains("Filters.0.Name"), "{}", e.message);
}

#[tokio::test]
async fn rename_and_tenancy() {
    let h = Harness::new().await;
    let id = h.add("10.0.0.1", 0).await;
    h.ok(
        "ModifyRealServerName",
        json!({"RealServerId": id, "RealServerName": "renamed"}),
    )
    .await;
    assert_eq!(h.api.control.state().origins[&id].name, "renamed");
    let e = h
        .err(
            "ModifyRealServerName",
            json!({"RealServerId": "rs-00000000", "RealServerName": "x"}),
        )
        .await;
    assert_eq!(e.code, "ResourceNotFound");
    let e = h
        .call_as(
            "b",
            "ModifyRealServerName",
            json!({"RealServerId": id, "RealServerName": "x"}),
        )
        .await
        .1
        .unwrap_err();
    assert_eq!(e.code, "ResourceNotFound");
    let e = h
        .err(
            "ModifyRealServerName",
            json!({"RealServerId": id, "RealServerName": ""}),
        )
        .await;
    assert_eq!(e.code, "InvalidParameterValue");
    assert_eq!(
        h.err("ModifyRealServerName", json!({"RealServerName": "x"}))
            .await
            .code,
        "MissingParameter"
    );
    let other = h
        .call_as("b", "DescribeRealServers", json!({"ProjectId": -1}))
        .await
        .1
        .unwrap();
    assert_eq!(other["TotalCount"], 0);
    let e = h
        .call_as("b", "RemoveRealServers", json!({"RealServerIds": [id]}))
        .await
        .1
        .unwrap_err();
    assert_eq!(e.code, "ResourceNotFound");
}

#[tokio::test]
async fn remove_refuses_bound_origins_atomically() {
    let h = Harness::new().await;
    let a = h.add("10.0.0.1", 0).await;
    let b = h.add("10.0.0.2", 0).await;
    let c = h.add("10.0.0.3", 0).await;
    h.listener(
        "listener-aaaaaaaa",
        proxy("link-aaaaaaaa"),
        OriginKind::Ip,
        false,
    )
    .await;
    bind(&h, "listener-aaaaaaaa", vec![item(&b, "10.0.0.2", 8080)])
        .await
        .unwrap();

    let e = h
        .err("RemoveRealServers", json!({"RealServerIds": [a, b]}))
        .await;
    assert_eq!(e.code, "FailedOperation.RealServerAlreadyBound");
    assert!(e.message.contains(&b), "{}", e.message);
    let e = h
        .err(
            "RemoveRealServers",
            json!({"RealServerIds": [a, "rs-zzzzzzzz"]}),
        )
        .await;
    assert_eq!(e.code, "ResourceNotFound");
    assert!(e.message.contains("rs-zzzzzzzz"));
    assert_eq!(
        h.api.control.state().origins.len(),
        3,
        "a refused removal removes nothing"
    );
    assert_eq!(
        h.err("RemoveRealServers", json!({"RealServerIds": []}))
            .await
            .code,
        "InvalidParameterValue"
    );

    h.ok("RemoveRealServers", json!({"RealServerIds": [a, c, a]}))
        .await;
    assert_eq!(
        h.api
            .control
            .state()
            .origins
            .keys()
            .cloned()
            .collect::<Vec<_>>(),
        vec![b.clone()]
    );
    bind(&h, "listener-aaaaaaaa", vec![]).await.unwrap();
    h.ok("RemoveRealServers", json!({"RealServerIds": [b]}))
        .await;
    assert!(h.api.control.state().origins.is_empty());
}

#[tokio::test]
async fn bind_replaces_the_set_and_keeps_stable_ids() {
    let h = Harness::new().await;
    let (a, b, c) = (
        h.add("10.0.0.1", 0).await,
        h.add("10.0.0.2", 0).await,
        h.add("10.0.0.3", 0).await,
    );
    let l = "listener-aaaaaaaa";
    h.listener(l, proxy("link-aaaaaaaa"), OriginKind::Ip, false)
        .await;
    bind(
        &h,
        l,
        vec![item(&a, "10.0.0.1", 80), item(&b, "10.0.0.2", 80)],
    )
    .await
    .unwrap();
    let before = bindings(&h, l);
    assert_eq!(before.len(), 2);
    let b_id = before.iter().find(|x| x.0 == b).unwrap().2.clone();
    let eg: Vec<String> = h
        .api
        .control
        .state()
        .endpoint_groups_of(l)
        .map(|e| e.id.clone())
        .collect();
    assert_eq!(eg.len(), 1);

    let weighted = json!({"RealServerId": c, "RealServerIP": "10.0.0.3", "RealServerPort": "81", "RealServerWeight": "7",
        "RealServerFailoverRole": "slave"});
    bind(&h, l, vec![item(&b, "10.0.0.2", 80), weighted])
        .await
        .unwrap();
    let after = bindings(&h, l);
    assert_eq!(
        after.iter().map(|x| (x.0.clone(), x.1)).collect::<Vec<_>>(),
        {
            let mut v = vec![(b.clone(), 80), (c.clone(), 81)];
            v.sort();
            v
        }
    );
    assert_eq!(
        after.iter().find(|x| x.0 == b).unwrap().2,
        b_id,
        "B keeps its binding"
    );
    {
        let st = h.api.control.state();
        assert_eq!(
            st.endpoint_groups_of(l).count(),
            1,
            "the implicit group is reused"
        );
        let bc = st.bindings_of(l).find(|x| x.origin_id == c).unwrap();
        assert_eq!(
            (bc.weight, bc.role, bc.endpoint_group_id.clone()),
            (7, FailoverRole::None, eg[0].clone())
        );
        let bb = st.bindings_of(l).find(|x| x.origin_id == b).unwrap();
        assert_eq!(bb.weight, 1, "weight defaults to 1");
        assert_eq!(st.listeners[l].change, ListenerChange::Origins);
    }

    // Same origin on two ports is two bindings; an absent set unbinds everything.
    bind(
        &h,
        l,
        vec![item(&a, "10.0.0.1", 80), item(&a, "10.0.0.1", 81)],
    )
    .await
    .unwrap();
    assert_eq!(bindings(&h, l).len(), 2);
    h.ok("BindListenerRealServers", json!({"ListenerId": l}))
        .await;
    assert!(bindings(&h, l).is_empty());
}

#[tokio::test]
async fn bind_validates_each_item() {
    let h = Harness::new().await;
    let a = h.add("10.0.0.1", 0).await;
    let d = h.add("origin.example.com", 0).await;
    let theirs = h
        .call_as(
            "b",
            "AddRealServers",
            json!({"ProjectId": 0, "RealServerIP": ["10.9.9.9"], "RealServerName": "x"}),
        )
        .await;
    let theirs = theirs.1.unwrap()["RealServerSet"][0]["RealServerId"]
        .as_str()
        .unwrap()
        .to_string();
    let mut banned = h.api.control.state().origins[&a].clone();
    banned.id = "rs-banned00".into();
    banned.address = "10.6.6.6".into();
    banned.banned = true;
    h.put(vec![Record::Origin(banned)]).await;
    let l = "listener-aaaaaaaa";
    h.listener(l, proxy("link-aaaaaaaa"), OriginKind::Ip, false)
        .await;
    h.put(vec![Record::Listener(listener(
        "listener-bbbbbbbb",
        "b",
        proxy("link-bbbbbbbb"),
        OriginKind::Ip,
        false,
    ))])
    .await;

    let with = |k: &str, v: Value| {
        let mut x = item(&a, "10.0.0.1", 80);
        x[k] = v;
        x
    };
    let cases = [
        (
            vec![item(&a, "10.0.0.2", 80)],
            "InvalidParameterValue",
            "RealServerBindSet.0.RealServerIP",
        ),
        (
            vec![item(&a, "10.0.0.1", 0)],
            "InvalidParameterValue",
            "RealServerBindSet.0.RealServerPort",
        ),
        (
            vec![
                item(&a, "10.0.0.1", 80),
                with("RealServerWeight", json!(101)),
            ],
            "InvalidParameterValue",
            "RealServerBindSet.1.RealServerWeight",
        ),
        (
            vec![with("RealServerFailoverRole", json!("boss"))],
            "InvalidParameterValue",
            "RealServerFailoverRole",
        ),
        (
            vec![with("Extra", json!(1))],
            "UnknownParameter",
            "RealServerBindSet.0.Extra",
        ),
        (
            vec![json!({"RealServerId": a, "RealServerIP": "10.0.0.1"})],
            "MissingParameter",
            "RealServerBindSet.0.RealServerPort",
        ),
        (
            vec![item(&theirs, "10.9.9.9", 80)],
            "InvalidParameterValue.RealServerNotBelong",
            &theirs,
        ),
        (
            vec![item("rs-nothere0", "10.9.9.9", 80)],
            "InvalidParameterValue.RealServerNotBelong",
            "rs-nothere0",
        ),
        (
            vec![item(&d, "origin.example.com", 80)],
            "InvalidParameterValue",
            "RealServerBindSet.0.RealServerId",
        ),
        (
            vec![item("rs-banned00", "10.6.6.6", 80)],
            "InvalidParameterValue.HitBanBlacklist",
            "rs-banned00",
        ),
        (
            vec![item(&a, "10.0.0.1", 80), item(&a, "10.0.0.1", 80)],
            "InvalidParameterValue",
            "RealServerBindSet.1",
        ),
    ];
    for (set, code, needle) in cases {
        let e = bind(&h, l, set.clone()).await.unwrap_err();
        assert_eq!(e.code, code, "{set:?}: {}", e.message);
        assert!(e.message.contains(needle), "{set:?}: {}", e.message);
    }
    let too_many: Vec<Value> = (1..=256).map(|p| item(&a, "10.0.0.1", p)).collect();
    assert_eq!(
        bind(&h, l, too_many).await.unwrap_err().code,
        "FailedOperation.LimitRealServerNum"
    );
    assert_eq!(
        bind(&h, "listener-zzzzzzzz", vec![])
            .await
            .unwrap_err()
            .code,
        "ResourceNotFound"
    );
    assert_eq!(
        bind(&h, "listener-bbbbbbbb", vec![])
            .await
            .unwrap_err()
            .code,
        "ResourceNotFound"
    );
    assert!(bindings(&h, l).is_empty(), "refused binds write nothing");
    // The address may be given in any spelling that normalises to the origin's.
    h.listener(
        "listener-dddddddd",
        proxy("link-dddddddd"),
        OriginKind::Domain,
        false,
    )
    .await;
    bind(
        &h,
        "listener-dddddddd",
        vec![item(&d, "Origin.Example.com", 443)],
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn failover_roles_default_to_master() {
    let h = Harness::new().await;
    let (a, b) = (h.add("10.0.0.1", 0).await, h.add("10.0.0.2", 0).await);
    let l = "listener-ffffffff";
    h.listener(l, proxy("link-aaaaaaaa"), OriginKind::Ip, true)
        .await;
    let mut slave = item(&b, "10.0.0.2", 80);
    slave["RealServerFailoverRole"] = json!("slave");
    bind(&h, l, vec![item(&a, "10.0.0.1", 80), slave])
        .await
        .unwrap();
    let r = h
        .ok("DescribeListenerRealServers", json!({"ListenerId": l}))
        .await;
    let mut roles: Vec<(String, String)> = r["BindRealServerSet"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["RealServerIP"].as_str().unwrap().into(),
                x["RealServerFailoverRole"].as_str().unwrap().into(),
            )
        })
        .collect();
    roles.sort();
    assert_eq!(
        roles,
        [
            ("10.0.0.1".into(), "master".into()),
            ("10.0.0.2".into(), "slave".into())
        ]
    );
    // Changing only the role updates the binding in place.
    let id = bindings(&h, l).into_iter().find(|x| x.0 == a).unwrap().2;
    let mut now_slave = item(&a, "10.0.0.1", 80);
    now_slave["RealServerFailoverRole"] = json!("slave");
    bind(&h, l, vec![now_slave]).await.unwrap();
    let st = h.api.control.state();
    assert_eq!(st.bindings[&id].role, FailoverRole::Slave);
}

#[tokio::test]
async fn describe_listener_real_servers_has_the_seed_shape() {
    let h = Harness::new().await;
    let l = "listener-aaaaaaaa";
    h.listener(l, proxy("link-aaaaaaaa"), OriginKind::Ip, false)
        .await;
    let empty = h
        .ok("DescribeListenerRealServers", json!({"ListenerId": l}))
        .await;
    assert_eq!(
        empty,
        json!({"TotalCount": 0, "RealServerSet": [], "BindRealServerTotalCount": 0, "BindRealServerSet": []})
    );

    let a = h.add("10.0.0.1", 3).await;
    let b = h.add("10.0.0.2", 0).await;
    h.add("www.example.com", 0).await;
    let mut banned = h.api.control.state().origins[&a].clone();
    (banned.id, banned.address, banned.banned) = ("rs-banned00".into(), "10.6.6.6".into(), true);
    h.put(vec![Record::Origin(banned)]).await;
    let mut weighted = item(&a, "10.0.0.1", 8080);
    weighted["RealServerWeight"] = json!(0);
    bind(&h, l, vec![weighted]).await.unwrap();

    let r = h
        .ok("DescribeListenerRealServers", json!({"ListenerId": l}))
        .await;
    assert_eq!(
        r["TotalCount"], 1,
        "IP origins of the listener's project (0) that are not banned"
    );
    assert_eq!(
        r["RealServerSet"][0],
        json!({"RealServerIP": "10.0.0.2", "RealServerId": b, "RealServerName": "n", "ProjectId": 0, "InBanBlacklist": 0})
    );
    assert_eq!(r["BindRealServerTotalCount"], 1);
    assert_eq!(
        r["BindRealServerSet"][0],
        json!({"RealServerId": a, "RealServerIP": "10.0.0.1", "RealServerWeight": 0, "RealServerStatus": 0, "RealServerPort": 8080,
            "DownIPList": [], "RealServerFailoverRole": ""})
    );
    assert_eq!(
        h.err(
            "DescribeListenerRealServers",
            json!({"ListenerId": "listener-zzzzzzzz"})
        )
        .await
        .code,
        "ResourceNotFound"
    );
    assert_eq!(
        h.err("DescribeListenerRealServers", json!({})).await.code,
        "MissingParameter"
    );
    let e = h
        .call_as("b", "DescribeListenerRealServers", json!({"ListenerId": l}))
        .await
        .1
        .unwrap_err();
    assert_eq!(e.code, "ResourceNotFound");
}

#[tokio::test]
async fn real_servers_status_names_the_owner() {
    let h = Harness::new().await;
    let (a, b, c) = (
        h.add("10.0.0.1", 0).await,
        h.add("10.0.0.2", 0).await,
        h.add("10.0.0.3", 0).await,
    );
    h.listener(
        "listener-aaaaaaaa",
        proxy("link-aaaaaaaa"),
        OriginKind::Ip,
        false,
    )
    .await;
    h.listener(
        "listener-gggggggg",
        Owner::Group("lg-aaaaaaaa".into()),
        OriginKind::Ip,
        false,
    )
    .await;
    bind(&h, "listener-aaaaaaaa", vec![item(&a, "10.0.0.1", 80)])
        .await
        .unwrap();
    bind(&h, "listener-gggggggg", vec![item(&b, "10.0.0.2", 80)])
        .await
        .unwrap();
    let r = h
        .ok(
            "DescribeRealServersStatus",
            json!({"RealServerIds": [a, b, c]}),
        )
        .await;
    assert_eq!(r["TotalCount"], 3);
    assert_eq!(
        r["RealServerStatusSet"],
        json!([
            {"RealServerId": a, "BindStatus": 1, "ProxyId": "link-aaaaaaaa", "GroupId": ""},
            {"RealServerId": b, "BindStatus": 1, "ProxyId": "", "GroupId": "lg-aaaaaaaa"},
            {"RealServerId": c, "BindStatus": 0, "ProxyId": "", "GroupId": ""},
        ])
    );
    let e = h
        .err(
            "DescribeRealServersStatus",
            json!({"RealServerIds": [a, "rs-zzzzzzzz"]}),
        )
        .await;
    assert_eq!(e.code, "ResourceNotFound");
    assert_eq!(
        h.err("DescribeRealServersStatus", json!({})).await.code,
        "MissingParameter"
    );
    let e = h
        .call_as(
            "b",
            "DescribeRealServersStatus",
            json!({"RealServerIds": [a]}),
        )
        .await
        .1
        .unwrap_err();
    assert_eq!(e.code, "ResourceNotFound");
}

#[tokio::test]
async fn bind_reports_adjusting_until_the_edges_apply_it() {
    let h = Harness::new().await;
    let a = h.add("10.0.0.1", 0).await;
    let l = "listener-aaaaaaaa";
    h.listener(l, proxy("link-aaaaaaaa"), OriginKind::Ip, false)
        .await;
    h.api.control.attach_edge();
    let (task, r) = h
        .call_as(
            "a",
            "BindListenerRealServers",
            json!({"ListenerId": l, "RealServerBindSet": [item(&a, "10.0.0.1", 80)]}),
        )
        .await;
    assert_eq!(r.unwrap(), Map::new());
    let status = |h: &Harness| {
        let st = h.api.control.state();
        crate::gaap::views::listener_status(&h.api, &st.listeners[l])
    };
    assert_eq!(status(&h), 3);
    assert_eq!(
        h.ok("DescribeTaskStatus", json!({"TaskId": task})).await["Status"],
        "RUNNING"
    );
    h.api
        .control
        .set_applied(h.api.control.committed_revision());
    assert_eq!(status(&h), 0);
    assert_eq!(
        h.ok("DescribeTaskStatus", json!({"TaskId": task})).await["Status"],
        "SUCCESS"
    );
}
