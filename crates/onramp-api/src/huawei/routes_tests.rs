//! The route table against the SDK's own list of operations.

use super::*;

/// Every operation of the SDK's `GaClient` (method, path with its `{params}`, name), as
/// `ga_client.py` of huaweicloudsdkga 3.1.219 declares them.
const SDK: &[(&str, &str, &str)] = &[
    ("POST", "/v1/accelerators", "CreateAccelerator"),
    (
        "DELETE",
        "/v1/accelerators/{accelerator_id}",
        "DeleteAccelerator",
    ),
    ("GET", "/v1/accelerators", "ListAccelerators"),
    (
        "GET",
        "/v1/accelerators/{accelerator_id}",
        "ShowAccelerator",
    ),
    (
        "PUT",
        "/v1/accelerators/{accelerator_id}",
        "UpdateAccelerator",
    ),
    ("GET", "/v1/byoip-pools", "ListByoipPools"),
    (
        "POST",
        "/v1/endpoint-groups/{endpoint_group_id}/endpoints",
        "CreateEndpoint",
    ),
    (
        "DELETE",
        "/v1/endpoint-groups/{endpoint_group_id}/endpoints/{endpoint_id}",
        "DeleteEndpoint",
    ),
    (
        "GET",
        "/v1/endpoint-groups/{endpoint_group_id}/endpoints",
        "ListEndpoints",
    ),
    (
        "GET",
        "/v1/endpoint-groups/{endpoint_group_id}/endpoints/{endpoint_id}",
        "ShowEndpoint",
    ),
    (
        "PUT",
        "/v1/endpoint-groups/{endpoint_group_id}/endpoints/{endpoint_id}",
        "UpdateEndpoint",
    ),
    ("POST", "/v1/endpoint-groups", "CreateEndpointGroup"),
    (
        "DELETE",
        "/v1/endpoint-groups/{endpoint_group_id}",
        "DeleteEndpointGroup",
    ),
    ("GET", "/v1/endpoint-groups", "ListEndpointGroups"),
    (
        "GET",
        "/v1/endpoint-groups/{endpoint_group_id}",
        "ShowEndpointGroup",
    ),
    (
        "PUT",
        "/v1/endpoint-groups/{endpoint_group_id}",
        "UpdateEndpointGroup",
    ),
    ("POST", "/v1/health-checks", "CreateHealthCheck"),
    (
        "DELETE",
        "/v1/health-checks/{health_check_id}",
        "DeleteHealthCheck",
    ),
    ("GET", "/v1/health-checks", "ListHealthChecks"),
    (
        "GET",
        "/v1/health-checks/{health_check_id}",
        "ShowHealthCheck",
    ),
    (
        "PUT",
        "/v1/health-checks/{health_check_id}",
        "UpdateHealthCheck",
    ),
    (
        "POST",
        "/v1/ip-groups/{ip_group_id}/add-ips",
        "AddIpGroupIp",
    ),
    (
        "POST",
        "/v1/ip-groups/{ip_group_id}/associate-listener",
        "AssociateListener",
    ),
    ("POST", "/v1/ip-groups", "CreateIpGroup"),
    ("DELETE", "/v1/ip-groups/{ip_group_id}", "DeleteIpGroup"),
    (
        "POST",
        "/v1/ip-groups/{ip_group_id}/disassociate-listener",
        "DisassociateListener",
    ),
    ("GET", "/v1/ip-groups", "ListIpGroups"),
    (
        "POST",
        "/v1/ip-groups/{ip_group_id}/remove-ips",
        "RemoveIpGroupIp",
    ),
    ("GET", "/v1/ip-groups/{ip_group_id}", "ShowIpGroup"),
    ("PUT", "/v1/ip-groups/{ip_group_id}", "UpdateIpGroup"),
    ("POST", "/v1/listeners", "CreateListener"),
    ("DELETE", "/v1/listeners/{listener_id}", "DeleteListener"),
    ("GET", "/v1/listeners", "ListListeners"),
    ("GET", "/v1/listeners/{listener_id}", "ShowListener"),
    ("PUT", "/v1/listeners/{listener_id}", "UpdateListener"),
    ("POST", "/v1/logtanks", "CreateLogtank"),
    ("DELETE", "/v1/logtanks/{logtank_id}", "DeleteLogtank"),
    ("GET", "/v1/logtanks", "ListLogtanks"),
    ("GET", "/v1/logtanks/{logtank_id}", "ShowLogtank"),
    ("PUT", "/v1/logtanks/{logtank_id}", "UpdateLogtank"),
    ("GET", "/v1/pops", "ListAllPops"),
    ("GET", "/v1/{domain_id}/ga/quotas", "ListTenantQuotas"),
    ("GET", "/v1/regions", "ListRegions"),
    (
        "POST",
        "/v1/{resource_type}/resource-instances/count",
        "CountResourcesByTag",
    ),
    (
        "POST",
        "/v1/{resource_type}/{resource_id}/tags/create",
        "CreateTags",
    ),
    (
        "DELETE",
        "/v1/{resource_type}/{resource_id}/tags/delete",
        "DeleteTags",
    ),
    (
        "POST",
        "/v1/{resource_type}/resource-instances/filter",
        "ListResourcesByTag",
    ),
    ("GET", "/v1/{resource_type}/tags", "ListTags"),
    (
        "GET",
        "/v1/{resource_type}/{resource_id}/tags",
        "ShowResourceTags",
    ),
];

/// The SDK's path with its parameters filled in, and the values used, in path order.
fn fill(template: &str) -> (String, Vec<String>) {
    let mut values = Vec::new();
    let path = template
        .split('/')
        .map(|seg| match seg.strip_prefix('{') {
            Some(name) => {
                let v = match name {
                    "resource_type" => "ga-listeners".to_string(),
                    n => format!("{}-x%2Fy", n.trim_end_matches('}')),
                };
                values.push(v.replace("%2F", "/"));
                v
            }
            None => seg.to_string(),
        })
        .collect::<Vec<_>>()
        .join("/");
    (path, values)
}

#[test]
fn every_sdk_operation_has_its_route_name_and_params() {
    assert_eq!(SDK.len(), 49);
    assert_eq!(Op::ALL.len(), 49);
    for (method, template, name) in SDK {
        let (path, values) = fill(template);
        let m = Method::from_bytes(method.as_bytes()).unwrap();
        let route = Route::of(&m, &path).unwrap_or_else(|| panic!("{method} {path}"));
        assert_eq!(route.op.name(), *name, "{method} {path}");
        assert_eq!(route.params, values, "{method} {path}");
    }
    let named: std::collections::HashSet<_> = SDK.iter().map(|s| s.2).collect();
    assert!(Op::ALL.iter().all(|op| named.contains(op.name())));
}

#[test]
fn unknown_shapes_and_methods_have_no_route() {
    for (m, p) in [
        (Method::GET, "/v1"),
        (Method::GET, "/v1/"),
        (Method::GET, "/v1/listeners/"),
        (Method::GET, "/v1/nothing"),
        (Method::PATCH, "/v1/listeners/x"),
        (Method::POST, "/v1/listeners/x"),
        (Method::GET, "/v2/listeners"),
        (Method::GET, "/v1/endpoint-groups//endpoints"),
        (Method::GET, "/v1/a/b/c/d/e/f"),
        (Method::PUT, "/v1/ga-listeners/x/tags/create"),
    ] {
        assert_eq!(Route::of(&m, p), None, "{m} {p}");
    }
}

#[test]
fn named_collections_win_over_tag_shapes() {
    let r = Route::of(&Method::GET, "/v1/listeners/tags").unwrap();
    assert_eq!((r.op, r.param(0)), (Op::ShowListener, "tags"));
    let r = Route::of(&Method::GET, "/v1/ga-accelerators/tags").unwrap();
    assert_eq!((r.op, r.param(0)), (Op::ListTags, "ga-accelerators"));
}

#[test]
fn reads_and_availability() {
    let reads: Vec<_> = Op::ALL.iter().filter(|o| o.is_read()).collect();
    assert_eq!(reads.len(), 22, "{reads:?}");
    assert!(Op::ListResourcesByTag.is_read() && Op::CountResourcesByTag.is_read());
    assert!(!Op::CreateTags.is_read() && !Op::AddIpGroupIp.is_read());
    assert!(!Op::ListAllPops.body_has_request_id() && Op::ListRegions.body_has_request_id());
}
