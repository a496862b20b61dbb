//! Proxy creation, checks and listings, driven through `dispatch` over a real SQLite store.

use onramp_core::*;
use serde_json::{json, Map, Value};

use super::test_env::{ids_of, Env};

#[tokio::test]
async fn create_then_describe() {
    let env = Env::new().await;
    let tags = json!([{"TagKey": "team", "TagValue": "edge"}]);
    let id = env
        .proxy(
            "a",
            json!({"ProxyName": "web", "Bandwidth": 50, "TagSet": tags, "ProjectId": 3}),
        )
        .await;
    assert!(ids::is_short(ids::PROXY, &id), "{id}");
    let d = env.detail("a", &id).await;
    assert_eq!(d["ProxyId"], json!(id));
    assert_eq!(d["InstanceId"], json!(id));
    assert_eq!(d["ProxyName"], "web");
    assert_eq!(d["Status"], "RUNNING");
    assert_eq!(d["Bandwidth"], 50);
    assert_eq!(d["Concurrent"], 2);
    assert_eq!(d["ProjectId"], 3);
    assert_eq!(d["GroupId"], Value::Null);
    assert_eq!(d["TagSet"], tags);
    assert_eq!(d["IPAddressVersion"], "IPv4");
    assert_eq!(d["NetworkType"], "normal");
    assert_eq!(d["PackageType"], "Thunder");
    assert_eq!(d["IP"], "127.0.0.1");
    assert_eq!(d["CreateTime"], 1_700_000_000);
    assert_eq!(d["ModifyConfigTime"], Value::Null);
    let acc = env.api.control.state().accelerators[&id].clone();
    assert_eq!(
        (acc.area.as_str(), acc.enterprise_project_id.as_str()),
        ("OUTOFCM", "0")
    );
    assert_eq!(
        (acc.created_by, acc.change, acc.enabled),
        (Dialect::Gaap, AcceleratorChange::Create, true)
    );

    let list = env.ok("a", "DescribeProxies", json!({})).await;
    assert_eq!(list["TotalCount"], 1);
    assert_eq!(list["ProxySet"], list["InstanceSet"]);
    assert_eq!(ids_of(&list["ProxySet"]), vec![id.clone()]);
    let st = env
        .ok("a", "DescribeProxiesStatus", json!({"ProxyIds": [id]}))
        .await;
    assert_eq!(
        st["InstanceStatusSet"],
        json!([{"InstanceId": id, "Status": "RUNNING"}])
    );
    // The task of the create is recorded under the request ID.
    assert_eq!(env.api.control.state().tasks.len(), 1);
}

#[tokio::test]
async fn create_validates_every_input() {
    let env = Env::new().await;
    let base = json!({"ProjectId": 0, "ProxyName": "p", "AccessRegion": "local",
        "RealServerRegion": "local", "Bandwidth": 10, "Concurrent": 2});
    let with = |k: &str, v: Value| {
        let mut p = base.clone();
        p[k] = v;
        p
    };
    let without = |k: &str| {
        let mut p = base.clone();
        p.as_object_mut().unwrap().remove(k);
        p
    };
    let cases = [
        (
            with("AccessRegion", json!("Mars")),
            "InvalidParameterValue.UnknownAccessRegion",
        ),
        (
            with("RealServerRegion", json!("Mars")),
            "InvalidParameterValue.UnknownDestRegion",
        ),
        (
            with("Bandwidth", json!(0)),
            "InvalidParameterValue.InvalidBandwidth",
        ),
        (
            with("Bandwidth", json!(100_001)),
            "InvalidParameterValue.InvalidBandwidth",
        ),
        (with("Bandwidth", json!("ten")), "InvalidParameter"),
        (
            with("Concurrent", json!(0)),
            "InvalidParameterValue.InvalidConcurrency",
        ),
        (
            with("Concurrent", json!("1001")),
            "InvalidParameterValue.InvalidConcurrency",
        ),
        (
            with("ProxyName", json!("x".repeat(31))),
            "InvalidParameterValue",
        ),
        (with("ProxyName", json!("")), "InvalidParameterValue"),
        (with("ProjectId", json!(-1)), "InvalidParameterValue"),
        (
            with("IPAddressVersion", json!("IPv5")),
            "InvalidParameterValue",
        ),
        (with("NetworkType", json!("fiber")), "InvalidParameterValue"),
        (with("PackageType", json!("Gold")), "InvalidParameterValue"),
        (with("BillingType", json!(2)), "InvalidParameterValue"),
        (
            with("ClientToken", json!("t".repeat(65))),
            "InvalidParameterValue",
        ),
        (with("GroupId", json!("lg-nothere")), "ResourceNotFound"),
        (
            with("ClonedProxyId", json!("link-nothere")),
            "ResourceNotFound",
        ),
        (with("Colour", json!("red")), "UnknownParameter"),
        (without("ProxyName"), "MissingParameter"),
        (without("Bandwidth"), "MissingParameter"),
        (without("RealServerRegion"), "MissingParameter"),
    ];
    for (params, code) in cases {
        let e = env.err("a", "CreateProxy", params.clone()).await;
        assert_eq!(e.code, code, "{params}: {}", e.message);
    }
    let e = env
        .err("a", "CreateProxy", with("Bandwidth", json!(0)))
        .await;
    assert!(e.message.contains("Bandwidth"), "{}", e.message);
    assert_eq!(
        env.ok("a", "DescribeProxies", json!({})).await["TotalCount"],
        0
    );
    // The documented bounds themselves are accepted.
    env.proxy(
        "a",
        json!({"Bandwidth": 100_000, "Concurrent": 1000, "ProxyName": "x".repeat(30)}),
    )
    .await;
    env.proxy("a", json!({"Bandwidth": "1", "Concurrent": "1"}))
        .await;
}

#[tokio::test]
async fn client_token_makes_create_idempotent() {
    let env = Env::new().await;
    let first = env.proxy("a", json!({"ClientToken": "tok-1"})).await;
    let again = env
        .proxy("a", json!({"ClientToken": "tok-1", "ProxyName": "other"}))
        .await;
    assert_eq!(first, again);
    // The repeated request still gets a task to poll (TaskId = its RequestId).
    assert_eq!(env.api.control.state().tasks.len(), 2);
    let other = env.proxy("a", json!({"ClientToken": "tok-2"})).await;
    assert_ne!(first, other);
    // Tokens are per account.
    let b = env.proxy("b", json!({"ClientToken": "tok-1"})).await;
    assert_ne!(first, b);
    assert_eq!(
        env.ok("a", "DescribeProxies", json!({})).await["TotalCount"],
        2
    );
    assert_eq!(env.detail("a", &first).await["ProxyName"], "p");
}

#[tokio::test]
async fn describe_filters_orders_and_pages() {
    let env = Env::new().await;
    let t = |k: &str, v: &str| json!([{"TagKey": k, "TagValue": v}]);
    let p1 = env
        .proxy(
            "a",
            json!({"Bandwidth": 30, "ProjectId": 1, "TagSet": t("env", "prod")}),
        )
        .await;
    let p2 = env
        .proxy(
            "a",
            json!({"Bandwidth": 10, "ProjectId": 2, "TagSet": t("env", "dev")}),
        )
        .await;
    let p3 = env
        .proxy(
            "a",
            json!({"Bandwidth": 20, "ProjectId": 1, "PackageType": "Accelerator"}),
        )
        .await;
    env.proxy("b", json!({})).await;
    let ids = |m: Map<String, Value>| ids_of(&m["ProxySet"]);

    assert_eq!(
        ids(env.ok("a", "DescribeProxies", json!({})).await),
        vec![p3.clone(), p2.clone(), p1.clone()]
    );
    let asc = json!({"Order": "asc", "OrderField": "bandwidth"});
    assert_eq!(
        ids(env.ok("a", "DescribeProxies", asc).await),
        vec![p2.clone(), p3.clone(), p1.clone()]
    );
    let f = json!({"Filters": [{"Name": "ProjectId", "Values": ["1"]}], "Order": "asc"});
    assert_eq!(
        ids(env.ok("a", "DescribeProxies", f).await),
        vec![p1.clone(), p3.clone()]
    );
    let f = json!({"Filters": [{"Name": "PackageType", "Values": ["Accelerator"]}]});
    assert_eq!(
        ids(env.ok("a", "DescribeProxies", f).await),
        vec![p3.clone()]
    );
    let tags = json!({"TagSet": [{"TagKey": "env", "TagValue": "prod"}, {"TagKey": "env", "TagValue": "dev"}]});
    assert_eq!(
        ids(env.ok("a", "DescribeProxies", tags).await),
        vec![p2.clone(), p1.clone()]
    );
    let by_id = json!({"ProxyIds": [p1, p3], "OrderField": "proxy_id", "Order": "asc"});
    assert_eq!(ids(env.ok("a", "DescribeProxies", by_id).await).len(), 2);
    let legacy = json!({"InstanceIds": [p2]});
    assert_eq!(
        ids(env.ok("a", "DescribeProxies", legacy).await),
        vec![p2.clone()]
    );

    let page = env
        .ok("a", "DescribeProxies", json!({"Offset": 1, "Limit": 1}))
        .await;
    assert_eq!(page["TotalCount"], 3);
    assert_eq!(ids_of(&page["ProxySet"]), vec![p2.clone()]);
    assert_eq!(
        env.ok("a", "DescribeProxies", json!({"Independent": 0}))
            .await["TotalCount"],
        0
    );
    assert_eq!(
        env.ok("a", "DescribeProxies", json!({"Independent": 1}))
            .await["TotalCount"],
        3
    );
}

#[tokio::test]
async fn describe_rejects_bad_queries() {
    let env = Env::new().await;
    let f = |name: &str, values: Value| json!({"Filters": [{"Name": name, "Values": values}]});
    let many: Vec<Value> = (0..11)
        .map(|_| json!({"Name": "ProjectId", "Values": ["1"]}))
        .collect();
    let ids: Vec<String> = (0..101).map(|i| format!("link-{i:08}")).collect();
    let cases = [
        (f("Colour", json!(["red"])), "InvalidParameterValue"),
        (
            f("ProjectId", json!(["1", "2", "3", "4", "5", "6"])),
            "InvalidParameterValue",
        ),
        (f("ProjectId", json!([])), "InvalidParameterValue"),
        (f("ProjectId", json!(["one"])), "InvalidParameterValue"),
        (json!({"Filters": many}), "InvalidParameterValue"),
        (json!({"ProxyIds": ids}), "InvalidParameterValue"),
        (
            json!({"ProxyIds": ["link-1"], "Filters": [{"Name": "ProjectId", "Values": ["1"]}]}),
            "InvalidParameter.ConflictParameters",
        ),
        (
            json!({"ProxyIds": ["link-1"], "InstanceIds": ["link-2"]}),
            "InvalidParameter.ConflictParameters",
        ),
        (json!({"Limit": 101}), "InvalidParameterValue"),
        (json!({"Order": "up"}), "InvalidParameterValue"),
        (json!({"OrderField": "name"}), "InvalidParameterValue"),
        (json!({"Independent": 2}), "InvalidParameterValue"),
    ];
    for (params, code) in cases {
        let e = env.err("a", "DescribeProxies", params.clone()).await;
        assert_eq!(e.code, code, "{params}: {}", e.message);
    }
}

#[tokio::test]
async fn check_proxy_create() {
    let env = Env::new().await;
    let base = json!({"AccessRegion": "local", "RealServerRegion": "local", "Bandwidth": 10, "Concurrent": 2});
    assert_eq!(
        env.ok("a", "CheckProxyCreate", base.clone()).await["CheckFlag"],
        1
    );
    let mut bad = base.clone();
    bad["AccessRegion"] = json!("Mars");
    assert_eq!(
        env.code("a", "CheckProxyCreate", bad).await,
        "InvalidParameterValue.UnknownAccessRegion"
    );
    let mut bad = base.clone();
    bad["Concurrent"] = json!(0);
    assert_eq!(
        env.code("a", "CheckProxyCreate", bad).await,
        "InvalidParameterValue.InvalidConcurrency"
    );
    let mut bad = base.clone();
    bad["GroupId"] = json!("lg-zzzzzzzz");
    assert_eq!(
        env.code("a", "CheckProxyCreate", bad).await,
        "ResourceNotFound"
    );

    let g = json!({"ProjectId": 0, "GroupName": "g", "RealServerRegion": "local"});
    let gid = env.ok("a", "CreateProxyGroup", g).await["GroupId"].clone();
    let mut in_group =
        json!({"AccessRegion": "local", "Bandwidth": 10, "Concurrent": 2, "GroupId": gid});
    assert_eq!(
        env.ok("a", "CheckProxyCreate", in_group.clone()).await["CheckFlag"],
        1
    );
    in_group["IPAddressVersion"] = json!("IPv6");
    assert_eq!(
        env.ok("a", "CheckProxyCreate", in_group).await["CheckFlag"],
        0,
        "the group is IPv4"
    );
}
