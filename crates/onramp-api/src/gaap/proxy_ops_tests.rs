//! Proxy changes (rename, resize, open/close, destroy, clone) and tenancy, through `dispatch`.

use onramp_core::*;
use serde_json::json;

use super::test_env::Env;

#[tokio::test]
async fn rename_and_resize() {
    let env = Env::new().await;
    let id = env.proxy("a", json!({})).await;
    env.ok(
        "a",
        "ModifyProxiesAttribute",
        json!({"ProxyIds": [id], "ProxyName": "renamed"}),
    )
    .await;
    assert_eq!(env.detail("a", &id).await["ProxyName"], "renamed");
    assert_eq!(
        env.code("a", "ModifyProxiesAttribute", json!({"ProxyIds": [id]}))
            .await,
        "MissingParameter"
    );
    let long = json!({"ProxyIds": [id], "ProxyName": "x".repeat(33)});
    assert_eq!(
        env.code("a", "ModifyProxiesAttribute", long).await,
        "InvalidParameterValue"
    );
    let unknown = json!({"ProxyIds": ["link-zzzzzzzz"], "ProxyName": "n"});
    assert_eq!(
        env.code("a", "ModifyProxiesAttribute", unknown).await,
        "ResourceNotFound"
    );

    env.ok(
        "a",
        "ModifyProxyConfiguration",
        json!({"ProxyId": id, "Bandwidth": 200}),
    )
    .await;
    env.ok(
        "a",
        "ModifyProxyConfiguration",
        json!({"InstanceId": id, "Concurrent": 5}),
    )
    .await;
    let d = env.detail("a", &id).await;
    assert_eq!(
        (d["Bandwidth"].clone(), d["Concurrent"].clone()),
        (json!(200), json!(5))
    );
    assert!(d["ModifyConfigTime"].as_i64().unwrap() > 1_700_000_000);
    assert_eq!(
        env.api.control.state().accelerators[&id].change,
        AcceleratorChange::Config
    );
    let cases = [
        (json!({"ProxyId": id}), "MissingParameter"),
        (json!({"Bandwidth": 10}), "MissingParameter"),
        (
            json!({"ProxyId": id, "InstanceId": id, "Bandwidth": 10}),
            "InvalidParameter.ConflictParameters",
        ),
        (
            json!({"ProxyId": id, "Bandwidth": 0}),
            "InvalidParameterValue.InvalidBandwidth",
        ),
        (
            json!({"ProxyId": id, "Concurrent": 1001}),
            "InvalidParameterValue.InvalidConcurrency",
        ),
        (
            json!({"ProxyId": "link-zzzzzzzz", "Bandwidth": 10}),
            "ResourceNotFound",
        ),
    ];
    for (params, code) in cases {
        assert_eq!(
            env.code("a", "ModifyProxyConfiguration", params.clone())
                .await,
            code,
            "{params}"
        );
    }
    env.ok("a", "CloseProxies", json!({"ProxyIds": [id]})).await;
    let closed = json!({"ProxyId": id, "Bandwidth": 10});
    assert_eq!(
        env.code("a", "ModifyProxyConfiguration", closed).await,
        "FailedOperation.InstanceStatusNotInRuning"
    );
}

#[tokio::test]
async fn open_and_close_report_state_sets() {
    let env = Env::new().await;
    let (p1, p2) = (
        env.proxy("a", json!({})).await,
        env.proxy("a", json!({})).await,
    );
    let out = env
        .ok(
            "a",
            "CloseProxies",
            json!({"ProxyIds": [p1, "link-zzzzzzzz"]}),
        )
        .await;
    assert_eq!(out["InvalidStatusInstanceSet"], json!([]));
    assert_eq!(out["OperationFailedInstanceSet"], json!(["link-zzzzzzzz"]));
    assert_eq!(env.detail("a", &p1).await["Status"], "CLOSED");
    let out = env
        .ok("a", "CloseProxies", json!({"InstanceIds": [p1, p2]}))
        .await;
    assert_eq!(out["InvalidStatusInstanceSet"], json!([p1]));
    assert_eq!(out["OperationFailedInstanceSet"], json!([]));
    let out = env
        .ok("a", "OpenProxies", json!({"ProxyIds": [p1, p2]}))
        .await;
    assert_eq!(out["InvalidStatusInstanceSet"], json!([]));
    assert_eq!(env.detail("a", &p2).await["Status"], "RUNNING");
    let out = env.ok("a", "OpenProxies", json!({"ProxyIds": [p2]})).await;
    assert_eq!(out["InvalidStatusInstanceSet"], json!([p2]));
    assert_eq!(
        env.code("a", "OpenProxies", json!({})).await,
        "MissingParameter"
    );
}

#[tokio::test]
async fn statuses_follow_the_edges() {
    let env = Env::new().await;
    env.api.control.attach_edge();
    let id = env.proxy("a", json!({})).await;
    assert_eq!(env.detail("a", &id).await["Status"], "CREATING");
    // A rename before the edges caught up still reports the creation.
    env.ok(
        "a",
        "ModifyProxiesAttribute",
        json!({"ProxyIds": [id], "ProxyName": "n"}),
    )
    .await;
    assert_eq!(env.detail("a", &id).await["Status"], "CREATING");
    env.api
        .control
        .set_applied(env.api.control.committed_revision());
    assert_eq!(env.detail("a", &id).await["Status"], "RUNNING");
    env.ok("a", "CloseProxies", json!({"ProxyIds": [id]})).await;
    assert_eq!(env.detail("a", &id).await["Status"], "CLOSING");
    env.api
        .control
        .set_applied(env.api.control.committed_revision());
    env.ok("a", "OpenProxies", json!({"ProxyIds": [id]})).await;
    assert_eq!(env.detail("a", &id).await["Status"], "OPENING");
    env.api
        .control
        .set_applied(env.api.control.committed_revision());
    env.ok(
        "a",
        "ModifyProxyConfiguration",
        json!({"ProxyId": id, "Bandwidth": 20}),
    )
    .await;
    assert_eq!(env.detail("a", &id).await["Status"], "ADJUSTING");
}

#[tokio::test]
async fn destroy_needs_force_when_origins_are_bound() {
    let env = Env::new().await;
    let (bound, free) = (
        env.proxy("a", json!({})).await,
        env.proxy("a", json!({})).await,
    );
    let lid = env
        .bound_listener("a", Owner::Accelerator(bound.clone()), 80)
        .await;
    assert_eq!(
        env.code("a", "DestroyProxies", json!({"ProxyIds": [free]}))
            .await,
        "MissingParameter"
    );
    let e = env
        .err(
            "a",
            "DestroyProxies",
            json!({"Force": 0, "ProxyIds": [free, bound]}),
        )
        .await;
    assert_eq!(e.code, "FailedOperation.RealServerAlreadyBound");
    assert!(e.message.contains(&bound), "{}", e.message);
    assert_eq!(
        env.ok("a", "DescribeProxies", json!({})).await["TotalCount"],
        2,
        "nothing destroyed"
    );

    let out = env
        .ok(
            "a",
            "DestroyProxies",
            json!({"Force": 0, "ProxyIds": [free, "link-zzzzzzzz"]}),
        )
        .await;
    assert_eq!(out["InvalidStatusInstanceSet"], json!(["link-zzzzzzzz"]));
    assert_eq!(out["OperationFailedInstanceSet"], json!([]));
    let out = env
        .ok(
            "a",
            "DestroyProxies",
            json!({"Force": 1, "InstanceIds": [bound]}),
        )
        .await;
    assert_eq!(out["InvalidStatusInstanceSet"], json!([]));
    let st = env.api.control.state();
    assert!(
        st.accelerators.is_empty() && st.listeners.is_empty(),
        "{lid} left behind"
    );
    assert!(st.endpoint_groups.is_empty() && st.bindings.is_empty());
    assert_eq!(st.origins.len(), 1, "origins are not owned by the proxy");
}

#[tokio::test]
async fn clone_copies_settings_and_listeners_but_not_bindings() {
    let env = Env::new().await;
    let tags = json!([{"TagKey": "k", "TagValue": "v"}]);
    let src = env
        .proxy(
            "a",
            json!({"NetworkType": "cn2", "BillingType": 1, "TagSet": tags}),
        )
        .await;
    let lid = env
        .bound_listener("a", Owner::Accelerator(src.clone()), 443)
        .await;
    let mut p = json!({"ProjectId": 0, "ProxyName": "copy", "AccessRegion": "local",
        "Bandwidth": 20, "Concurrent": 2, "ClonedProxyId": src});
    let copy = env.ok("a", "CreateProxy", p.clone()).await["InstanceId"]
        .as_str()
        .unwrap()
        .to_string();
    let d = env.detail("a", &copy).await;
    assert_eq!(
        (d["NetworkType"].clone(), d["BillingType"].clone()),
        (json!("cn2"), json!(1))
    );
    assert_eq!(
        (d["TagSet"].clone(), d["Bandwidth"].clone()),
        (tags, json!(20))
    );
    {
        let st = env.api.control.state();
        let copied: Vec<&Listener> = st.listeners_of(&copy).collect();
        assert_eq!(copied.len(), 1);
        assert_ne!(copied[0].id, lid);
        assert_eq!(copied[0].ports, vec![PortRange::single(443)]);
        assert_eq!(st.endpoint_groups_of(&copied[0].id).count(), 1);
        assert_eq!(st.bindings_of(&copied[0].id).count(), 0);
        assert_eq!(
            st.bindings_of(&lid).count(),
            1,
            "the source keeps its bindings"
        );
    }
    env.ok("a", "CloseProxies", json!({"ProxyIds": [src]}))
        .await;
    assert_eq!(
        env.code("a", "CreateProxy", p.clone()).await,
        "FailedOperation.InstanceStatusNotInRuning"
    );
    p["ClonedProxyId"] = json!("link-zzzzzzzz");
    assert_eq!(env.code("a", "CreateProxy", p).await, "ResourceNotFound");
}

#[tokio::test]
async fn other_accounts_see_nothing() {
    let env = Env::new().await;
    let id = env.proxy("a", json!({})).await;
    let not_found = [
        ("DescribeProxyDetail", json!({"ProxyId": id})),
        ("DescribeProxiesStatus", json!({"ProxyIds": [id]})),
        (
            "ModifyProxiesAttribute",
            json!({"ProxyIds": [id], "ProxyName": "mine"}),
        ),
        (
            "ModifyProxyConfiguration",
            json!({"ProxyId": id, "Bandwidth": 10}),
        ),
        (
            "CreateProxy",
            json!({"ProjectId": 0, "ProxyName": "c", "AccessRegion": "local",
            "Bandwidth": 10, "Concurrent": 2, "ClonedProxyId": id}),
        ),
    ];
    for (action, params) in not_found {
        let e = env.err("b", action, params).await;
        assert_eq!(e.code, "ResourceNotFound", "{action}");
        assert!(e.message.contains(&id), "{}", e.message);
    }
    assert_eq!(
        env.ok("b", "DescribeProxies", json!({"ProxyIds": [id]}))
            .await["TotalCount"],
        0
    );
    let out = env.ok("b", "CloseProxies", json!({"ProxyIds": [id]})).await;
    assert_eq!(out["OperationFailedInstanceSet"], json!([id]));
    let out = env
        .ok("b", "DestroyProxies", json!({"Force": 1, "ProxyIds": [id]}))
        .await;
    assert_eq!(out["InvalidStatusInstanceSet"], json!([id]));
    let d = env.detail("a", &id).await;
    assert_eq!(
        (d["Status"].clone(), d["ProxyName"].clone()),
        (json!("RUNNING"), json!("p"))
    );
}
