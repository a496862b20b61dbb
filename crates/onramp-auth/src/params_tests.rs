//! Unit and property tests for [`super`] (flattened parameter decoding).

use super::*;
use proptest::prelude::*;
use serde_json::json;

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

#[test]
fn example_from_brief() {
    let p = pairs(&[
        ("Ports.0", "80"),
        ("Ports.1", "81"),
        ("RealServerBindSet.0.RealServerId", "rs-1"),
        ("Filters.0.Values.0", "a"),
        ("Name", "x"),
    ]);
    assert_eq!(
        unflatten(&p).unwrap(),
        json!({
            "Ports": ["80", "81"],
            "RealServerBindSet": [{"RealServerId": "rs-1"}],
            "Filters": [{"Values": ["a"]}],
            "Name": "x"
        })
    );
}

#[test]
fn sparse_one_based_and_unordered_indices() {
    let p = pairs(&[
        ("listeners.10.port", "90"),
        ("listeners.1.port", "80"),
        ("listeners.1.protocol", "tcp"),
        ("ids.3", "c"),
        ("ids.1", "a"),
        ("ids.2", "b"),
    ]);
    assert_eq!(
        unflatten(&p).unwrap(),
        json!({
            "listeners": [{"port": "80", "protocol": "tcp"}, {"port": "90"}],
            "ids": ["a", "b", "c"]
        })
    );
}

#[test]
fn nested_filters_and_empty() {
    let p = pairs(&[
        ("ProjectId", "-1"),
        ("Filters.0.Name", "RealServerIP"),
        ("Filters.0.Values.0", "1.1.1.1"),
        ("Filters.0.Values.1", "2.2.2.2"),
    ]);
    assert_eq!(
        unflatten(&p).unwrap(),
        json!({"ProjectId": "-1", "Filters": [{"Name": "RealServerIP", "Values": ["1.1.1.1", "2.2.2.2"]}]})
    );
    assert_eq!(unflatten(&[]).unwrap(), json!({}));
}

#[test]
fn numeric_first_segment_is_a_name() {
    let p = pairs(&[("0", "a"), ("1.0", "b")]);
    assert_eq!(unflatten(&p).unwrap(), json!({"0": "a", "1": ["b"]}));
}

#[test]
fn conflicts_name_the_key() {
    let cases: &[(&[(&str, &str)], ParamError)] = &[
        (
            &[("Ports", "1"), ("Ports.0", "2")],
            ParamError::Conflict("Ports".into()),
        ),
        (
            &[("Ports.0", "2"), ("Ports", "1")],
            ParamError::Conflict("Ports".into()),
        ),
        (
            &[("Ports.0", "1"), ("Ports.a", "2")],
            ParamError::Conflict("Ports".into()),
        ),
        (
            &[("A.0.b", "1"), ("A.0.1", "2")],
            ParamError::Conflict("A.0".into()),
        ),
        (
            &[("A.0.b", "1"), ("A.0", "2")],
            ParamError::Conflict("A.0".into()),
        ),
        (&[("A", "1"), ("A", "2")], ParamError::Duplicate("A".into())),
        (
            &[("A.1", "1"), ("A.01", "2")],
            ParamError::Duplicate("A.01".into()),
        ),
    ];
    for (input, want) in cases {
        assert_eq!(unflatten(&pairs(input)).unwrap_err(), *want, "{input:?}");
    }
}

#[test]
fn limits() {
    let bad_keys = ["", ".", "a.", ".a", "a..b"];
    for k in bad_keys {
        assert!(
            matches!(
                unflatten(&pairs(&[(k, "v")])),
                Err(ParamError::InvalidKey(_))
            ),
            "{k:?}"
        );
    }
    let deep = "a.b.c.d.e.f.g.h.i";
    assert_eq!(
        unflatten(&pairs(&[(deep, "v")])).unwrap_err(),
        ParamError::TooDeep(deep.into())
    );
    assert!(unflatten(&pairs(&[("a.b.c.d.e.f.g.h", "v")])).is_ok());
    let huge = "a.99999999999999999999999";
    assert_eq!(
        unflatten(&pairs(&[(huge, "v")])).unwrap_err(),
        ParamError::BadIndex(huge.into())
    );
    let long = "k".repeat(MAX_KEY_LEN + 1);
    assert!(unflatten(&pairs(&[(long.as_str(), "v")])).is_err());
    let many: Vec<(String, String)> = (0..=MAX_PARAMS)
        .map(|i| (format!("k{i}"), String::new()))
        .collect();
    assert_eq!(unflatten(&many).unwrap_err(), ParamError::TooMany);
}

proptest! {
    #[test]
    fn never_panics_on_arbitrary_keys(
        input in prop::collection::vec(("\\PC{0,40}", "\\PC{0,8}"), 0..24)
    ) {
        let _ = unflatten(&input);
    }

    #[test]
    fn never_panics_on_dotted_keys(
        input in prop::collection::vec(("[a-c0-2.]{0,12}", "[a-z]{0,3}"), 0..32)
    ) {
        if let Ok(v) = unflatten(&input) {
            prop_assert!(v.is_object());
        }
    }
}
