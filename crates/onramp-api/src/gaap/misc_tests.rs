//! Tasks, regions and tags, driven through `dispatch` over a real SQLite store.

use onramp_core::*;
use serde_json::json;

use super::super::origins::tests::Harness;
use crate::{ApiConfig, Region};

#[tokio::test]
async fn task_status_follows_the_applied_revision() {
    let h = Harness::new().await;
    let add = json!({"ProjectId": 0, "RealServerIP": ["10.0.0.1"], "RealServerName": "n"});
    let (done, r) = h.call_as("a", "AddRealServers", add.clone()).await;
    r.unwrap();
    let s = h.ok("DescribeTaskStatus", json!({"TaskId": done})).await;
    assert_eq!(
        s,
        json!({"TaskId": done, "Status": "SUCCESS"}),
        "no edge attached: applied at once"
    );

    h.api.control.attach_edge();
    let (running, r) = h
        .call_as(
            "a",
            "AddRealServers",
            json!({"ProjectId": 1, "RealServerIP": ["10.0.0.1"], "RealServerName": "n"}),
        )
        .await;
    r.unwrap();
    assert_eq!(
        h.ok("DescribeTaskStatus", json!({"TaskId": running})).await["Status"],
        "RUNNING"
    );
    assert_eq!(
        h.ok("DescribeTaskStatus", json!({"TaskId": done})).await["Status"],
        "SUCCESS"
    );

    let failed = Task {
        id: "t-failed".into(),
        account_id: "a".into(),
        failed: true,
        ..Default::default()
    };
    h.put(vec![Record::Task(failed)]).await;
    assert_eq!(
        h.ok("DescribeTaskStatus", json!({"TaskId": "t-failed"}))
            .await["Status"],
        "FAIL"
    );

    // A refused write records no task.
    let (refused, r) = h.call_as("a", "AddRealServers", add).await;
    assert!(r.is_err());
    assert_eq!(
        h.err("DescribeTaskStatus", json!({"TaskId": refused}))
            .await
            .code,
        "ResourceNotFound"
    );
    assert_eq!(
        h.call_as("b", "DescribeTaskStatus", json!({"TaskId": done}))
            .await
            .1
            .unwrap_err()
            .code,
        "ResourceNotFound"
    );
    assert_eq!(
        h.err("DescribeTaskStatus", json!({"TaskId": ""}))
            .await
            .code,
        "MissingParameter"
    );
    assert_eq!(
        h.err("DescribeTaskStatus", json!({})).await.code,
        "MissingParameter"
    );
}

#[tokio::test]
async fn regions_list_the_edges_regions() {
    let regions = vec![
        Region {
            id: "eu".into(),
            name: "Europe".into(),
        },
        Region {
            id: "ap".into(),
            name: "Asia".into(),
        },
    ];
    let h = Harness::with_config(ApiConfig {
        regions,
        ..Default::default()
    })
    .await;
    let access = h.ok("DescribeAccessRegions", json!({})).await;
    assert_eq!(access["TotalCount"], 2);
    let first = &access["AccessRegionSet"][0];
    assert_eq!(
        (first["RegionId"].as_str(), first["RegionName"].as_str()),
        (Some("eu"), Some("Europe"))
    );
    assert_eq!(first["IDCType"], "ec");
    let dest = h
        .ok("DescribeDestRegions", json!({"QualityType": "1"}))
        .await;
    assert_eq!(dest["DestRegionSet"], access["AccessRegionSet"]);
    assert_eq!(dest["TotalCount"], 2);
    assert_eq!(
        h.ok("DescribeDestRegions", json!({})).await["TotalCount"],
        2
    );
    assert_eq!(
        h.err("DescribeDestRegions", json!({"QualityType": 2}))
            .await
            .code,
        "InvalidParameterValue"
    );
    assert_eq!(
        h.err("DescribeAccessRegions", json!({"X": 1})).await.code,
        "UnknownParameter"
    );

    let none = Harness::with_config(ApiConfig {
        regions: vec![],
        ..Default::default()
    })
    .await;
    let r = none.ok("DescribeAccessRegions", json!({})).await;
    assert_eq!(r, json!({"TotalCount": 0, "AccessRegionSet": []}));
}

#[tokio::test]
async fn resources_by_tag_scans_the_accounts_resources() {
    let h = Harness::new().await;
    let tag = |k: &str, v: &str| Tag {
        key: k.into(),
        value: v.into(),
    };
    let prod = vec![tag("env", "prod")];
    let acc = |id: &str, account: &str, tags: Vec<Tag>| {
        Record::Accelerator(Accelerator {
            id: id.into(),
            account_id: account.into(),
            tags,
            ..Default::default()
        })
    };
    let grp = Record::Group(AcceleratorGroup {
        id: "lg-aaaaaaaa".into(),
        account_id: "a".into(),
        tags: prod.clone(),
        ..Default::default()
    });
    h.put(vec![
        acc("link-aaaaaaaa", "a", prod.clone()),
        acc("link-bbbbbbbb", "a", vec![tag("env", "dev")]),
        acc("link-cccccccc", "b", prod.clone()),
        grp,
    ])
    .await;
    let add = |ip: &str, value: &str| json!({"ProjectId": 0, "RealServerIP": [ip], "RealServerName": "n", "TagSet": [{"TagKey": "env", "TagValue": value}]});
    let rs = h.ok("AddRealServers", add("10.0.0.1", "prod")).await["RealServerSet"][0]
        ["RealServerId"]
        .clone();
    h.ok("AddRealServers", add("10.0.0.2", "dev")).await;
    h.call_as("b", "AddRealServers", add("10.0.0.3", "prod"))
        .await
        .1
        .unwrap();

    let all = h
        .ok(
            "DescribeResourcesByTag",
            json!({"TagKey": "env", "TagValue": "prod"}),
        )
        .await;
    assert_eq!(all["TotalCount"], 3);
    assert_eq!(
        all["ResourceSet"],
        json!([
            {"ResourceType": "Proxy", "ResourceId": "link-aaaaaaaa"},
            {"ResourceType": "ProxyGroup", "ResourceId": "lg-aaaaaaaa"},
            {"ResourceType": "RealServer", "ResourceId": rs},
        ])
    );
    let only = h
        .ok(
            "DescribeResourcesByTag",
            json!({"TagKey": "env", "TagValue": "prod", "ResourceType": "RealServer"}),
        )
        .await;
    assert_eq!(
        only["ResourceSet"],
        json!([{"ResourceType": "RealServer", "ResourceId": rs}])
    );
    let none = h
        .ok(
            "DescribeResourcesByTag",
            json!({"TagKey": "env", "TagValue": "staging"}),
        )
        .await;
    assert_eq!(none, json!({"TotalCount": 0, "ResourceSet": []}));
    let e = h
        .err(
            "DescribeResourcesByTag",
            json!({"TagKey": "env", "TagValue": "prod", "ResourceType": "Listener"}),
        )
        .await;
    assert_eq!(e.code, "InvalidParameterValue");
    assert!(e.message.contains("ResourceType"));
    assert_eq!(
        h.err("DescribeResourcesByTag", json!({"TagKey": "env"}))
            .await
            .code,
        "MissingParameter"
    );
    assert_eq!(
        h.err("DescribeResourcesByTag", json!({"TagValue": "prod"}))
            .await
            .code,
        "MissingParameter"
    );
}
