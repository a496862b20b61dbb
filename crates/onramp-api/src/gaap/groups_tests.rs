//! Proxy-group actions driven through `dispatch` over a real SQLite store.

use onramp_core::*;
use serde_json::{json, Value};

use crate::gaap::proxies::test_env::Env;

async fn group(env: &Env, account: &str, extra: Value) -> String {
    let mut p = json!({"ProjectId": 0, "GroupName": "g", "RealServerRegion": "here"});
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        p[k] = v;
    }
    env.ok(account, "CreateProxyGroup", p).await["GroupId"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn details(env: &Env, account: &str, id: &str) -> Value {
    env.ok(account, "DescribeProxyGroupDetails", json!({"GroupId": id}))
        .await["ProxyGroupDetail"]
        .clone()
}

async fn list(env: &Env, body: Value) -> Value {
    Value::Object(env.ok("a", "DescribeProxyGroupList", body).await)
}

fn access(region: &str, bandwidth: i64) -> Value {
    json!({"AccessRegion": region, "Bandwidth": bandwidth, "Concurrent": 2})
}

#[tokio::test]
async fn create_with_access_regions_makes_member_proxies() {
    let env = Env::with_regions(&["here", "there"]).await;
    let tags = json!([{"TagKey": "t", "TagValue": "1"}]);
    let extra = json!({"AccessRegionSet": [access("here", 10), access("there", 20)], "TagSet": tags, "ProjectId": 4});
    let gid = group(&env, "a", extra).await;
    assert!(ids::is_short(ids::GROUP, &gid), "{gid}");
    let d = details(&env, "a", &gid).await;
    assert_eq!(d["ProxyNum"], 2);
    assert_eq!(d["Status"], 0);
    assert_eq!(d["OwnerUin"], "uin-a");
    assert_eq!(d["DnsDefaultIp"], "127.0.0.1");
    assert_eq!(d["RealServerRegionInfo"]["RegionId"], "here");
    assert_eq!(
        (d["IPAddressVersion"].clone(), d["PackageType"].clone()),
        (json!("IPv4"), json!("Thunder"))
    );
    assert_eq!(
        (d["TagSet"].clone(), d["ProjectId"].clone()),
        (tags.clone(), json!(4))
    );
    assert_eq!(d["Domain"], Value::Null);

    let filter = json!({"Filters": [{"Name": "GroupId", "Values": [gid]}], "OrderField": "bandwidth", "Order": "asc"});
    let members = env.ok("a", "DescribeProxies", filter).await;
    assert_eq!(members["TotalCount"], 2);
    let first = &members["ProxySet"][0];
    assert_eq!(first["ProxyName"], "g-here");
    assert_eq!(
        (first["GroupId"].clone(), first["TagSet"].clone()),
        (json!(gid), tags)
    );
    assert_eq!(members["ProxySet"][1]["AccessRegion"], "there");
    assert_eq!(
        env.ok("a", "DescribeProxies", json!({"Independent": 1}))
            .await["TotalCount"],
        0
    );
}

#[tokio::test]
async fn create_validates_every_input() {
    let env = Env::with_regions(&["here", "there"]).await;
    let base = json!({"ProjectId": 0, "GroupName": "g", "RealServerRegion": "here"});
    let with = |k: &str, v: Value| {
        let mut p = base.clone();
        p[k] = v;
        p
    };
    let cases = [
        (
            with("RealServerRegion", json!("Mars")),
            "InvalidParameterValue.UnknownDestRegion",
            "RealServerRegion",
        ),
        (
            with("GroupName", json!("x".repeat(31))),
            "InvalidParameterValue",
            "GroupName",
        ),
        (
            with("ProjectId", json!(-2)),
            "InvalidParameterValue",
            "ProjectId",
        ),
        (
            with("PackageType", json!("CrossBorder")),
            "InvalidParameterValue",
            "PackageType",
        ),
        (
            with("IPAddressVersion", json!("v4")),
            "InvalidParameterValue",
            "IPAddressVersion",
        ),
        (
            with("AccessRegionSet", json!([access("Mars", 10)])),
            "InvalidParameterValue.UnknownAccessRegion",
            "AccessRegionSet.0.AccessRegion",
        ),
        (
            with(
                "AccessRegionSet",
                json!([access("here", 10), access("there", 0)]),
            ),
            "InvalidParameterValue.InvalidBandwidth",
            "AccessRegionSet.1.Bandwidth",
        ),
        (
            with(
                "AccessRegionSet",
                json!([access("here", 10), access("here", 10)]),
            ),
            "InvalidParameterValue",
            "AccessRegionSet.1.AccessRegion",
        ),
        (
            with(
                "AccessRegionSet",
                json!([{"AccessRegion": "here", "Bandwidth": 10}]),
            ),
            "MissingParameter",
            "AccessRegionSet.0.Concurrent",
        ),
        (
            with(
                "AccessRegionSet",
                json!([{"AccessRegion": "here", "Bandwidth": 10, "Concurrent": 2000}]),
            ),
            "InvalidParameterValue.InvalidConcurrency",
            "Concurrent",
        ),
        (
            json!({"ProjectId": 0, "RealServerRegion": "here"}),
            "MissingParameter",
            "GroupName",
        ),
        (
            json!({"GroupName": "g", "RealServerRegion": "here"}),
            "MissingParameter",
            "ProjectId",
        ),
    ];
    for (params, code, field) in cases {
        let e = env.err("a", "CreateProxyGroup", params.clone()).await;
        assert_eq!(e.code, code, "{params}: {}", e.message);
        assert!(e.message.contains(field), "{params}: {}", e.message);
    }
    assert!(
        env.api.control.state().groups.is_empty()
            && env.api.control.state().accelerators.is_empty()
    );
}

#[tokio::test]
async fn proxies_join_a_group_on_its_terms() {
    let env = Env::with_regions(&["here", "there"]).await;
    let gid = group(&env, "a", json!({"AccessRegionSet": [access("here", 10)]})).await;
    let p = json!({"ProjectId": 0, "ProxyName": "m", "AccessRegion": "there", "Bandwidth": 10,
        "Concurrent": 2, "GroupId": gid});
    let id = env.ok("a", "CreateProxy", p.clone()).await["InstanceId"]
        .as_str()
        .unwrap()
        .to_string();
    let d = env
        .ok("a", "DescribeProxyDetail", json!({"ProxyId": id}))
        .await["ProxyDetail"]
        .clone();
    assert_eq!(
        (d["GroupId"].clone(), d["RealServerRegion"].clone()),
        (json!(gid), json!("here"))
    );
    assert_eq!(details(&env, "a", &gid).await["ProxyNum"], 2);

    let mut again = p.clone();
    again["AccessRegion"] = json!("here");
    assert_eq!(
        env.code("a", "CreateProxy", again).await,
        "InvalidParameterValue"
    );
    let mut conflict = p.clone();
    conflict["PackageType"] = json!("Accelerator");
    assert_eq!(
        env.code("a", "CreateProxy", conflict).await,
        "InvalidParameterValue.ProxyAndGroupFeatureConflict"
    );
    let mut conflict = p;
    conflict["RealServerRegion"] = json!("there");
    assert_eq!(
        env.code("a", "CreateProxy", conflict).await,
        "InvalidParameterValue.ProxyAndGroupFeatureConflict"
    );
}

#[tokio::test]
async fn list_filters_and_pages() {
    let env = Env::with_regions(&["here", "there"]).await;
    let g1 = group(
        &env,
        "a",
        json!({"ProjectId": 1, "TagSet": [{"TagKey": "k", "TagValue": "1"}]}),
    )
    .await;
    let g2 = group(
        &env,
        "a",
        json!({"ProjectId": 2, "PackageType": "Accelerator", "RealServerRegion": "there"}),
    )
    .await;
    group(&env, "b", json!({})).await;
    let ids = |v: &Value| -> Vec<String> {
        v["ProxyGroupList"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["GroupId"].as_str().unwrap().to_string())
            .collect()
    };
    let all = env
        .ok("a", "DescribeProxyGroupList", json!({"ProjectId": -1}))
        .await;
    assert_eq!(all["TotalCount"], 2);
    assert_eq!(
        ids(&Value::Object(all.clone())),
        vec![g2.clone(), g1.clone()]
    );
    let info = &all["ProxyGroupList"][1];
    assert_eq!(
        (info["Status"].clone(), info["GroupName"].clone()),
        (json!("RUNNING"), json!("g"))
    );
    assert_eq!(
        (info["Version"].clone(), info["Domain"].clone()),
        (json!("2.0"), Value::Null)
    );
    assert_eq!(info["RealServerRegionInfo"]["RegionId"], "here");

    assert_eq!(
        ids(&list(&env, json!({"ProjectId": 1})).await),
        vec![g1.clone()]
    );
    assert_eq!(
        ids(&list(&env, json!({"ProjectId": 0})).await),
        Vec::<String>::new()
    );
    let f =
        json!({"ProjectId": -1, "Filters": [{"Name": "PackageType", "Values": ["Accelerator"]}]});
    assert_eq!(ids(&list(&env, f).await), vec![g2.clone()]);
    let f = json!({"ProjectId": -1, "Filters": [{"Name": "RealServerRegion", "Values": ["here"]}]});
    assert_eq!(ids(&list(&env, f).await), vec![g1.clone()]);
    let t = json!({"ProjectId": -1, "TagSet": [{"TagKey": "k", "TagValue": "1"}]});
    assert_eq!(ids(&list(&env, t).await), vec![g1.clone()]);
    let page = list(&env, json!({"ProjectId": -1, "Offset": 1, "Limit": 1})).await;
    assert_eq!(
        (page["TotalCount"].clone(), ids(&page)),
        (json!(2), vec![g1])
    );

    let cases = [
        (json!({}), "MissingParameter"),
        (json!({"ProjectId": -2}), "InvalidParameterValue"),
        (
            json!({"ProjectId": -1, "Limit": 101}),
            "InvalidParameterValue",
        ),
        (
            json!({"ProjectId": -1, "Filters": [{"Name": "GroupId", "Values": ["x"]}]}),
            "InvalidParameterValue",
        ),
    ];
    for (params, code) in cases {
        assert_eq!(
            env.code("a", "DescribeProxyGroupList", params.clone())
                .await,
            code,
            "{params}"
        );
    }
}

#[tokio::test]
async fn modify_open_close_and_delete() {
    let env = Env::with_regions(&["here", "there"]).await;
    let gid = group(
        &env,
        "a",
        json!({"AccessRegionSet": [access("here", 10), access("there", 10)]}),
    )
    .await;
    env.ok(
        "a",
        "ModifyProxyGroupAttribute",
        json!({"GroupId": gid, "GroupName": "new", "ProjectId": 7}),
    )
    .await;
    let d = details(&env, "a", &gid).await;
    assert_eq!(
        (d["GroupName"].clone(), d["ProjectId"].clone()),
        (json!("new"), json!(7))
    );
    let long = json!({"GroupId": gid, "GroupName": "x".repeat(31)});
    assert_eq!(
        env.code("a", "ModifyProxyGroupAttribute", long).await,
        "InvalidParameterValue"
    );

    let members: Vec<String> = env
        .api
        .control
        .state()
        .members_of(&gid)
        .map(|a| a.id.clone())
        .collect();
    env.ok("a", "CloseProxies", json!({"ProxyIds": [members[0]]}))
        .await;
    let out = env
        .ok("a", "CloseProxyGroup", json!({"GroupId": gid}))
        .await;
    assert_eq!(out["InvalidStatusInstanceSet"], json!([members[0]]));
    assert_eq!(out["OperationFailedInstanceSet"], json!([]));
    assert!(env.api.control.state().members_of(&gid).all(|a| !a.enabled));
    let list = env
        .ok("a", "DescribeProxyGroupList", json!({"ProjectId": -1}))
        .await;
    assert_eq!(list["ProxyGroupList"][0]["Status"], "CLOSED");
    let out = env
        .ok("a", "CloseProxyGroup", json!({"GroupId": gid}))
        .await;
    assert_eq!(
        out["InvalidStatusInstanceSet"].as_array().unwrap().len(),
        3,
        "the group and both members"
    );
    let out = env.ok("a", "OpenProxyGroup", json!({"GroupId": gid})).await;
    assert_eq!(out["InvalidStatusInstanceSet"], json!([]));
    assert!(env.api.control.state().members_of(&gid).all(|a| a.enabled));

    let e = env
        .err("a", "DeleteProxyGroup", json!({"GroupId": gid}))
        .await;
    assert_eq!(e.code, "FailedOperation.DeleteProxyGroupProxyRemained");
    env.ok(
        "a",
        "DestroyProxies",
        json!({"Force": 0, "ProxyIds": members}),
    )
    .await;
    env.ok("a", "DeleteProxyGroup", json!({"GroupId": gid, "Force": 0}))
        .await;
    assert_eq!(
        env.code("a", "DescribeProxyGroupDetails", json!({"GroupId": gid}))
            .await,
        "ResourceNotFound"
    );
}

#[tokio::test]
async fn delete_with_bound_origins_needs_force() {
    let env = Env::with_regions(&["here"]).await;
    let gid = group(&env, "a", json!({})).await;
    env.bound_listener("a", Owner::Group(gid.clone()), 80).await;
    let e = env
        .err("a", "DeleteProxyGroup", json!({"GroupId": gid}))
        .await;
    assert_eq!(e.code, "FailedOperation.RealServerAlreadyBound");
    assert_eq!(
        env.code("a", "DeleteProxyGroup", json!({"GroupId": gid, "Force": 2}))
            .await,
        "InvalidParameterValue"
    );

    let gid2 = group(&env, "a", json!({"AccessRegionSet": [access("here", 10)]})).await;
    let member = env
        .api
        .control
        .state()
        .members_of(&gid2)
        .next()
        .unwrap()
        .id
        .clone();
    env.bound_listener("a", Owner::Accelerator(member), 81)
        .await;
    env.bound_listener("a", Owner::Group(gid2.clone()), 82)
        .await;
    env.ok("a", "DeleteProxyGroup", json!({"GroupId": gid, "Force": 1}))
        .await;
    env.ok(
        "a",
        "DeleteProxyGroup",
        json!({"GroupId": gid2, "Force": 1}),
    )
    .await;
    let st = env.api.control.state();
    assert!(st.groups.is_empty() && st.accelerators.is_empty() && st.listeners.is_empty());
    assert!(st.endpoint_groups.is_empty() && st.bindings.is_empty());
}

#[tokio::test]
async fn other_accounts_see_no_groups() {
    let env = Env::with_regions(&["here"]).await;
    let gid = group(&env, "a", json!({"AccessRegionSet": [access("here", 10)]})).await;
    let actions = [
        ("DescribeProxyGroupDetails", json!({"GroupId": gid})),
        (
            "ModifyProxyGroupAttribute",
            json!({"GroupId": gid, "GroupName": "mine"}),
        ),
        ("DeleteProxyGroup", json!({"GroupId": gid, "Force": 1})),
        ("OpenProxyGroup", json!({"GroupId": gid})),
        ("CloseProxyGroup", json!({"GroupId": gid})),
        (
            "CreateProxy",
            json!({"ProjectId": 0, "ProxyName": "x", "AccessRegion": "here",
            "Bandwidth": 10, "Concurrent": 2, "GroupId": gid}),
        ),
    ];
    for (action, params) in actions {
        let e = env.err("b", action, params).await;
        assert_eq!(e.code, "ResourceNotFound", "{action}");
        assert!(e.message.contains(&gid), "{}", e.message);
    }
    assert_eq!(
        env.ok("b", "DescribeProxyGroupList", json!({"ProjectId": -1}))
            .await["TotalCount"],
        0
    );
    let d = details(&env, "a", &gid).await;
    assert_eq!(
        (d["GroupName"].clone(), d["ProxyNum"].clone()),
        (json!("g"), json!(1))
    );
}
