//! A deleted accelerator or listener is shown `DELETING` (Show and List, filter `status=DELETING`)
//! until the edges applied the revision that deleted it, then it is gone (404).

use onramp_core::Account;
use serde_json::Value;

use super::{accelerators, listeners, HwCtx};
use crate::ApiConfig;

fn ctx(api: &crate::Api) -> HwCtx<'_> {
    HwCtx {
        api,
        account: Account {
            id: "a".into(),
            ..Default::default()
        },
        request_id: "req".into(),
        operation: "Test",
        now: 1_700_000_000_000,
    }
}

fn ids(v: &Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x["id"].as_str().map(String::from))
        .collect()
}

#[tokio::test]
async fn a_deletion_shows_deleting_until_the_edges_applied_it() {
    let (api, _dir) = crate::test_support::temp_api(ApiConfig::default()).await;
    let cx = ctx(&api);
    let body = br#"{"accelerator":{"name":"x","ip_sets":[{"ip_type":"IPV4","area":"OUTOFCM"}]}}"#;
    let acc = accelerators::create(&cx, body).await.unwrap().1["accelerator"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let body = format!(
        r#"{{"listener":{{"name":"l","protocol":"TCP","accelerator_id":"{acc}","port_ranges":[{{"from_port":4000,"to_port":4001}}]}}}}"#
    );
    let lst = listeners::create(&cx, body.as_bytes()).await.unwrap().1["listener"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    api.control.attach_edge(); // from now on the edges must report what they applied
    listeners::delete(&cx, &lst).await.unwrap();
    let shown = listeners::show(&cx, &lst).unwrap().1;
    assert_eq!(shown["listener"]["status"], "DELETING");
    let listed = listeners::list(&cx, "status=DELETING").unwrap().1;
    assert_eq!(ids(&listed, "listeners"), vec![lst.clone()]);
    assert!(ids(
        &listeners::list(&cx, "status=ACTIVE").unwrap().1,
        "listeners"
    )
    .is_empty());

    accelerators::delete(&cx, &acc).await.unwrap();
    let shown = accelerators::show(&cx, &acc).unwrap().1;
    assert_eq!(shown["accelerator"]["status"], "DELETING");
    let listed = accelerators::list(&cx, "").unwrap().1;
    assert_eq!(ids(&listed, "accelerators"), vec![acc.clone()]);
    // Another account sees nothing of it.
    let mut other = ctx(&api);
    other.account.id = "b".into();
    assert!(accelerators::show(&other, &acc).is_err());

    let applied = api.control.state().revision;
    api.control.set_applied(applied);
    assert!(accelerators::show(&cx, &acc).is_err());
    assert!(listeners::show(&cx, &lst).is_err());
    assert!(ids(&accelerators::list(&cx, "").unwrap().1, "accelerators").is_empty());
}
