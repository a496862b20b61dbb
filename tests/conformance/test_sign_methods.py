"""Every way the official Python SDK can sign and send a GAAP request reaches the same result:
TC3-HMAC-SHA256 over POST JSON and GET query, HmacSHA1/HmacSHA256 over form POST and GET query,
including nested parameters flattened as `A.0.B=v`."""
import pytest

import helpers as h

VARIANTS = [(None, "POST"), (None, "GET"), ("HmacSHA1", "POST"), ("HmacSHA1", "GET"),
            ("HmacSHA256", "POST"), ("HmacSHA256", "GET")]
IDS = [f"{s or 'TC3'}-{m}" for s, m in VARIANTS]


@pytest.fixture(scope="module", params=VARIANTS, ids=IDS)
def variant(request, api_factory):
    sign_method, req_method = request.param
    return api_factory(sign_method=sign_method, req_method=req_method)


def test_same_describe_every_way(api, variant, proxy, uniq):
    name = uniq("ln")
    ports = h.listener_ports(2)
    h.create_tcp_listeners(api, proxy, ports, name)
    expected = api("DescribeTCPListeners", {"ProxyId": proxy})
    got = variant("DescribeTCPListeners", {"ProxyId": proxy})
    expected.pop("RequestId")
    got.pop("RequestId")
    assert got == expected
    assert got["TotalCount"] == 2


def test_nested_filters_flattened(api, variant, uniq):
    name = uniq("rs")
    ips = [h.origin_ip(), h.origin_ip(), h.origin_ip()]
    rs = h.add_real_servers(api, name, ips)
    resp = variant("DescribeRealServers", {
        "ProjectId": -1,
        "Filters": [{"Name": "RealServerIP", "Values": [ips[0], ips[2]]},
                    {"Name": "RealServerName", "Values": [name]}],
    })
    assert resp["TotalCount"] == 2
    assert sorted(r["RealServerId"] for r in resp["RealServerSet"]) == sorted([rs[ips[0]], rs[ips[2]]])


def test_tagset_flattened(api, variant, uniq):
    t = h.tag(uniq("tag"))
    proxy_id = h.create_proxy(api, uniq("px"), tags=[t])
    resp = variant("DescribeProxies", {"TagSet": [t]})
    assert [p["ProxyId"] for p in resp["ProxySet"]] == [proxy_id]


def test_bind_through_flattened_set(api, variant, proxy, uniq):
    [lid] = h.create_tcp_listeners(api, proxy, [h.listener_port()], uniq("ln"), Scheduler="wrr")
    ips = [h.origin_ip(), h.origin_ip()]
    rs = h.add_real_servers(api, uniq("rs"), ips)
    variant("BindListenerRealServers", {"ListenerId": lid, "RealServerBindSet": [
        h.bind_item(rs[ips[0]], ips[0], 8080, weight=3), h.bind_item(rs[ips[1]], ips[1], 8081, weight=9)]})
    h.wait_listener_ready(api, lid)
    got = h.bound_set(api, lid)
    assert {k: (v["RealServerPort"], v["RealServerWeight"]) for k, v in got.items()} == \
        {rs[ips[0]]: (8080, 3), rs[ips[1]]: (8081, 9)}


def test_create_through_every_way(variant, uniq):
    """Writes too: CreateTCPListeners with a list of ports flattened as Ports.0, Ports.1."""
    proxy_id = h.create_proxy(variant, uniq("px"))
    ports = h.listener_ports(2)
    ids = h.create_tcp_listeners(variant, proxy_id, ports, uniq("ln"))
    assert sorted(h.describe_listener(variant, i)["Port"] for i in ids) == sorted(ports)


def test_endpoint_with_scheme_prefix(server, proxy):
    """tccli's way: endpoint 'http://127.0.0.1:PORT', so the signed Host is that literal string."""
    via_prefix = server.gaap(endpoint=f"http://{server.host}")
    assert via_prefix("DescribeProxyDetail", {"ProxyId": proxy})["ProxyDetail"]["ProxyId"] == proxy


def test_region_header_is_accepted(server, proxy):
    """GAAP needs no region; a client that sends one (tccli always does) is served the same."""
    from tencentcloud.common.common_client import CommonClient
    api = server.gaap()
    regional = CommonClient("gaap", h.GAAP_VERSION, api.cred, "ap-guangzhou", api.profile)
    body = regional.call_json("DescribeProxyDetail", {"ProxyId": proxy})
    assert body["Response"]["ProxyDetail"]["ProxyId"] == proxy
