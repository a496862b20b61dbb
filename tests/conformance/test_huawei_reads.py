"""Huawei GA v1 reads through the official `huaweicloudsdkga`, over what GAAP made (issue 9 groundwork): a GAAP
proxy is an accelerator, a GAAP listener's implicit endpoint group is an endpoint group, a binding is an endpoint
with the edge's `health_state`; regions, pops, BYOIP pools, tags; empty lists and 404 for what the model does not
hold (no log tank, no health check of a missing group); 404 `APIG.0101` for a path that is none; paging, filters, bad query values, tenancy and
policies."""
import hashlib
import hmac
import json
import re
import subprocess
import time
import urllib.parse

import pytest
import requests
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException, ServerResponseException
from huaweicloudsdkga.v1 import (
    CountResourcesByTagRequest, ListAcceleratorsRequest, ListAllPopsRequest,
    ListByoipPoolsRequest, ListEndpointGroupsRequest, ListEndpointsRequest, ListHealthChecksRequest,
    ListIpGroupsRequest, ListLogtanksRequest, ListRegionsRequest, ListResourcesByTagRequest,
    ListResourcesByTagRequestBody, ListTagsRequest, Match, ShowAcceleratorRequest,
    ShowEndpointGroupRequest, ShowEndpointRequest, ShowHealthCheckRequest, ShowIpGroupRequest, ShowLogtankRequest,
    ShowResourceTagsRequest, Tag,
)

import helpers as h

TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
FROZEN = {"status": int, "effect": int, "scene": [str]}
ACCELERATOR = {"id": str, "name": str, "description": str, "status": str,
               "ip_sets": [{"ip_type": str, "ip_address": str, "area": str}], "created_at": str, "updated_at": str,
               "domain_id": str, "enterprise_project_id": str, "flavor_id": str, "frozen_info": FROZEN,
               "tags": [{"key": str, "value": str}]}
ENDPOINT_GROUP = {"id": str, "name": str, "description": str, "status": str, "traffic_dial_percentage": int,
                  "region_id": str, "listeners": [{"id": str}], "created_at": str, "updated_at": str,
                  "domain_id": str, "frozen_info": FROZEN}
ENDPOINT = {"id": str, "resource_id": str, "endpoint_group_id": str, "resource_type": str, "status": str,
            "weight": int, "health_state": str, "created_at": str, "updated_at": str, "domain_id": str,
            "ip_address": str, "frozen_info": FROZEN}
PAGE_INFO = {"current_count": int}
FAST = {"HealthCheck": 1, "DelayLoop": 5, "ConnectTimeout": 2, "HealthyThreshold": 1, "UnhealthyThreshold": 1}


def raw(resp) -> dict:
    return json.loads(resp.raw_content)


def refused(fn) -> ClientRequestException | ServerResponseException:
    with pytest.raises((ClientRequestException, ServerResponseException)) as info:
        fn()
    e = info.value
    assert e.request_id and e.error_msg, str(e)  # request_id comes from the X-Request-Id header
    return e


def not_found(fn) -> None:
    e = refused(fn)
    assert (e.status_code, e.error_code) == (404, "GA.9002"), str(e)


def _admin(server, *args) -> dict:
    out = subprocess.run([str(h.onramp_bin()), "admin", "--data-dir", str(server.data_dir), *args],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _loaded(client) -> None:
    """Wait until the server has picked up a key made with `onramp admin` (it follows the store within ~1 s)."""
    def known():
        try:
            client.list_regions(ListRegionsRequest())
            return True
        except ClientRequestException as e:
            return e.status_code != 401
    h.wait_until(known, what="the new key to be loaded")


def _signed(server, method: str, path: str, body: bytes = b"", headers: dict | None = None) -> requests.Response:
    """A request signed like the SDK signs it (SDK-HMAC-SHA256, root key), for paths the SDK cannot send."""
    date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    signed = [("content-type", "application/json"), ("host", server.host), ("x-sdk-date", date)]
    uri = "/".join(urllib.parse.quote(urllib.parse.unquote(s), safe="~") for s in path.split("/"))
    canonical = "\n".join([method, uri if uri.endswith("/") else uri + "/", "",
                           "".join(f"{k}:{v}\n" for k, v in signed), ";".join(k for k, _ in signed),
                           hashlib.sha256(body).hexdigest()])
    to_sign = f"SDK-HMAC-SHA256\n{date}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    sig = hmac.new(h.ROOT_SECRET_KEY.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    auth = (f"SDK-HMAC-SHA256 Access={h.ROOT_SECRET_ID}, SignedHeaders={';'.join(k for k, _ in signed)}, "
            f"Signature={sig}")
    hdrs = {"Content-Type": "application/json", "X-Sdk-Date": date, "Authorization": auth, **(headers or {})}
    return requests.request(method, server.url + path, data=body, headers=hdrs, timeout=30)


# -- accelerators -----------------------------------------------------------------------------------------------

def test_gaap_proxy_is_an_accelerator(api, huawei, creds, uniq):
    name = uniq("acc")
    proxy = h.create_proxy(api, name, tags=[h.tag("blue", key="color")])
    body = raw(huawei.show_accelerator(ShowAcceleratorRequest(accelerator_id=proxy)))
    assert isinstance(body["request_id"], str) and body["request_id"]
    a = body["accelerator"]
    h.check_shape(a, ACCELERATOR, "accelerator")
    assert (a["id"], a["name"], a["status"]) == (proxy, name, "ACTIVE")
    assert a["ip_sets"] == [{"ip_type": "IPV4", "ip_address": "127.0.0.1", "area": "OUTOFCM"}]
    assert a["domain_id"] == creds["domain_id"] and a["enterprise_project_id"] == "0"
    assert a["tags"] == [{"key": "color", "value": "blue"}]
    assert a["frozen_info"] == {"status": 0, "effect": 1, "scene": []}
    assert TS_RE.match(a["created_at"]) and TS_RE.match(a["updated_at"]), a
    typed = huawei.show_accelerator(ShowAcceleratorRequest(accelerator_id=proxy)).accelerator
    assert typed.status == "ACTIVE" and typed.ip_sets[0].ip_address == "127.0.0.1"
    assert not isinstance(typed.created_at, str)  # the SDK parsed it as a datetime
    for missing in ("link-00000000", "1b11747a-b139-492f-9692-2df0b1c87193"):
        not_found(lambda: huawei.show_accelerator(ShowAcceleratorRequest(accelerator_id=missing)))


def test_list_accelerators_filters_and_pages(api, huawei, uniq):
    name = uniq("accs")
    # Distinct tags: identical writes signed in the same second would be one request.
    ids = [h.create_proxy(api, name, tags=[h.tag(str(i))]) for i in range(3)]
    mine = raw(huawei.list_accelerators(ListAcceleratorsRequest(name=name)))
    assert [a["id"] for a in mine["accelerators"]] == ids, "oldest first"
    h.check_shape(mine["page_info"], PAGE_INFO, "page_info")
    assert mine["page_info"]["current_count"] == 3 and not mine["page_info"].get("next_marker")
    for a in mine["accelerators"]:
        h.check_shape(a, ACCELERATOR, "accelerators[]")
    assert [a["id"] for a in raw(huawei.list_accelerators(ListAcceleratorsRequest(id=ids[1])))["accelerators"]] \
        == [ids[1]]
    assert len(raw(huawei.list_accelerators(
        ListAcceleratorsRequest(name=name, status="ACTIVE", enterprise_project_id="0")))["accelerators"]) == 3
    assert raw(huawei.list_accelerators(ListAcceleratorsRequest(name=name, status="PENDING")))["accelerators"] == []
    first = raw(huawei.list_accelerators(ListAcceleratorsRequest(name=name, limit=2)))
    assert [a["id"] for a in first["accelerators"]] == ids[:2]
    assert first["page_info"] == {"next_marker": ids[1], "current_count": 2}
    rest = raw(huawei.list_accelerators(ListAcceleratorsRequest(name=name, limit=2, marker=ids[1])))
    assert [a["id"] for a in rest["accelerators"]] == ids[2:] and not rest["page_info"].get("next_marker")
    back = raw(huawei.list_accelerators(ListAcceleratorsRequest(name=name, limit=1, marker=ids[2],
                                                                page_reverse=True)))
    assert [a["id"] for a in back["accelerators"]] == [ids[1]] and back["page_info"]["next_marker"] == ids[1]


@pytest.mark.parametrize("query,field", [
    ({"limit": 0}, "limit"), ({"limit": 2001}, "limit"), ({"status": "RUNNING"}, "status"),
    ({"marker": "link-nothere"}, "marker"), ({"name": "n" * 65}, "name"),
])
def test_bad_query_values_are_ga_9001_naming_the_field(huawei, query, field):
    e = refused(lambda: huawei.list_accelerators(ListAcceleratorsRequest(**query)))
    assert (e.status_code, e.error_code) == (400, "GA.9001"), str(e)
    assert field in e.error_msg, e.error_msg


# -- endpoint groups and endpoints ------------------------------------------------------------------------------

def _group_of(huawei, listener_id: str) -> dict:
    groups = raw(huawei.list_endpoint_groups(ListEndpointGroupsRequest(listener_id=listener_id)))
    assert groups["page_info"]["current_count"] == 1, groups
    return groups["endpoint_groups"][0]


def _endpoints(huawei, group_id: str, **query) -> dict:
    return raw(huawei.list_endpoints(ListEndpointsRequest(endpoint_group_id=group_id, **query)))


def test_gaap_listener_has_an_endpoint_group_and_its_bindings_are_endpoints(lab, huawei, creds):
    alive, doomed = lab.tcp_origin("a"), lab.tcp_origin("b")
    lst = lab.tcp_listener([alive, doomed], weights=[30, 70], **FAST)
    eg = _group_of(huawei, lst.id)
    h.check_shape(eg, ENDPOINT_GROUP, "endpoint_group")
    assert h.UUID_RE.match(eg["id"]), eg["id"]
    assert (eg["listeners"], eg["region_id"], eg["traffic_dial_percentage"]) == ([{"id": lst.id}], h.REGION, 100)
    assert eg["status"] == "ACTIVE" and eg["domain_id"] == creds["domain_id"]
    shown = raw(huawei.show_endpoint_group(ShowEndpointGroupRequest(endpoint_group_id=eg["id"])))["endpoint_group"]
    assert shown == eg
    assert [g["id"] for g in raw(huawei.list_endpoint_groups(
        ListEndpointGroupsRequest(id=eg["id"], status="ACTIVE")))["endpoint_groups"]] == [eg["id"]]

    listed = _endpoints(huawei, eg["id"])
    assert listed["page_info"]["current_count"] == 2
    by_ip = {e["ip_address"]: e for e in listed["endpoints"]}
    assert sorted(by_ip) == sorted([alive.ip, doomed.ip])
    for origin, weight in ((alive, 30), (doomed, 70)):
        e = by_ip[origin.ip]
        h.check_shape(e, ENDPOINT, "endpoints[]")
        assert (e["resource_id"], e["resource_type"], e["weight"]) == (lst.rs[origin], "CUSTOM_IP", weight)
        assert (e["endpoint_group_id"], e["status"]) == (eg["id"], "ACTIVE")
        assert e["health_state"] in ("INITIAL", "HEALTHY"), e
    one = raw(huawei.show_endpoint(ShowEndpointRequest(endpoint_group_id=eg["id"],
                                                       endpoint_id=by_ip[alive.ip]["id"])))["endpoint"]
    assert one["id"] == by_ip[alive.ip]["id"] and one["ip_address"] == alive.ip

    # health_state is what the edge's checks say: the killed origin turns UNHEALTHY, the other stays HEALTHY.
    doomed.kill()

    def states():
        return {e["ip_address"]: e["health_state"] for e in _endpoints(huawei, eg["id"])["endpoints"]}
    h.wait_until(lambda: states() == {alive.ip: "HEALTHY", doomed.ip: "UNHEALTHY"}, timeout=30,
                 what="health_state HEALTHY / UNHEALTHY")

    page = _endpoints(huawei, eg["id"], limit=1)
    assert page["page_info"]["current_count"] == 1 and page["page_info"]["next_marker"]
    rest = _endpoints(huawei, eg["id"], limit=1, marker=page["page_info"]["next_marker"])
    assert {e["id"] for e in page["endpoints"] + rest["endpoints"]} == {e["id"] for e in listed["endpoints"]}
    assert [e["id"] for e in _endpoints(huawei, eg["id"], id=one["id"])["endpoints"]] == [one["id"]]

    not_found(lambda: huawei.show_endpoint(ShowEndpointRequest(endpoint_group_id=eg["id"],
                                                               endpoint_id="1b11747a-b139-492f-9692-2df0b1c87193")))
    missing = "1b11747a-b139-492f-9692-2df0b1c87193"
    not_found(lambda: huawei.show_endpoint_group(ShowEndpointGroupRequest(endpoint_group_id=missing)))
    not_found(lambda: huawei.list_endpoints(ListEndpointsRequest(endpoint_group_id=missing)))


def test_endpoint_without_health_check_is_no_monitor(lab, huawei):
    origin = lab.tcp_origin("n")
    lst = lab.tcp_listener([origin])  # HealthCheck 0
    eg = _group_of(huawei, lst.id)
    [e] = _endpoints(huawei, eg["id"])["endpoints"]
    assert e["health_state"] == "NO_MONITOR", e


# -- regions, pops, pools, and what the model does not hold yet -------------------------------------------------

def test_regions_pops_and_byoip_pools(huawei):
    regions = raw(huawei.list_regions(ListRegionsRequest()))
    assert regions["regions"] == [{"region_id": h.REGION, "area": "OUTOFCM",
                                   "supported_endpoint_types": ["EIP", "CUSTOM_IP", "CUSTOM_DOMAIN_NAME"]}]
    assert isinstance(regions["request_id"], str)
    pops = raw(huawei.list_all_pops(ListAllPopsRequest()))
    assert pops["pops"] == [{"id": h.REGION}] and pops["page_info"]["current_count"] == 1
    pools = raw(huawei.list_byoip_pools(ListByoipPoolsRequest(limit=10)))
    assert pools["byoip_pools"] == [] and pools["page_info"]["current_count"] == 0


def test_resources_the_model_lacks_list_empty_and_are_not_found(huawei, proxy):
    missing = "1b11747a-b139-492f-9692-2df0b1c87193"
    assert raw(huawei.list_health_checks(ListHealthChecksRequest(endpoint_group_id=missing)))["health_checks"] == []
    assert raw(huawei.list_logtanks(ListLogtanksRequest(resource_type="LISTENER")))["logtanks"] == []
    not_found(lambda: huawei.show_health_check(ShowHealthCheckRequest(health_check_id=missing)))
    not_found(lambda: huawei.show_ip_group(ShowIpGroupRequest(ip_group_id=missing)))  # a group never made
    not_found(lambda: huawei.show_logtank(ShowLogtankRequest(logtank_id=missing)))


# -- tags -----------------------------------------------------------------------------------------------------

def test_tags_of_accelerators(api, huawei, uniq):
    key = uniq("k")
    red = h.create_proxy(api, uniq("web"), tags=[h.tag("red", key=key)])
    blue = h.create_proxy(api, uniq("db"), tags=[h.tag("blue", key=key), h.tag("x", key=uniq("k2"))])
    shown = raw(huawei.show_resource_tags(ShowResourceTagsRequest(resource_type="ga-accelerators", resource_id=red)))
    assert shown["tags"] == [{"key": key, "value": "red"}]
    not_found(lambda: huawei.show_resource_tags(ShowResourceTagsRequest(resource_type="ga-accelerators",
                                                                        resource_id="link-00000000")))
    listed = raw(huawei.list_tags(ListTagsRequest(resource_type="ga-accelerators")))
    assert {"key": key, "values": ["blue", "red"]} in listed["tags"]
    assert listed["total_count"] == len(listed["tags"])

    def filtered(tags=None, matches=None, **query):
        body = ListResourcesByTagRequestBody(tags=tags, matches=matches)
        return raw(huawei.list_resources_by_tag(ListResourcesByTagRequest(resource_type="ga-accelerators",
                                                                          body=body, **query)))
    both = filtered([Tag(key=key, values=[])])
    assert [r["resource_id"] for r in both["resources"]] == [red, blue] and both["total_count"] == 2
    assert both["resources"][0]["tags"] == [{"key": key, "value": "red"}]
    assert [r["resource_id"] for r in filtered([Tag(key=key, values=["blue"])])["resources"]] == [blue]
    named = filtered([Tag(key=key, values=[])], [Match(key="resource_name", value="web")])
    assert [r["resource_id"] for r in named["resources"]] == [red]
    paged = filtered([Tag(key=key, values=[])], limit=1, offset=1)
    assert [r["resource_id"] for r in paged["resources"]] == [blue] and paged["total_count"] == 2
    count = raw(huawei.count_resources_by_tag(CountResourcesByTagRequest(
        resource_type="ga-accelerators", body=ListResourcesByTagRequestBody(tags=[Tag(key=key, values=["red"])]))))
    assert count["total_count"] == 1
    e = refused(lambda: filtered([Tag(key=key, values=[]), Tag(key=key, values=["red"])]))
    assert (e.status_code, e.error_code) == (400, "GA.9107"), str(e)


def test_tags_of_listeners_and_bad_resource_type(api, server, huawei, proxy, uniq):
    [lid] = h.create_tcp_listeners(api, proxy, [h.listener_port()], uniq("ln"))
    shown = raw(huawei.show_resource_tags(ShowResourceTagsRequest(resource_type="ga-listeners", resource_id=lid)))
    assert shown["tags"] == []
    resp = _signed(server, "GET", f"/v1/ga-things/{lid}/tags")
    assert resp.status_code == 400 and resp.json()["error_code"] == "GA.9001", resp.text
    assert "resource_type" in resp.json()["error_msg"]


# -- what is not available, what does not exist ---------------------------------------------------------------

def test_unknown_route_is_404_apig_0101_and_tokens_are_explained(server):
    for method, path in (("GET", "/v1/nothing"), ("PATCH", "/v1/listeners/x"), ("GET", "/v1/listeners/x/y")):
        resp = _signed(server, method, path)
        assert resp.status_code == 404, (method, path, resp.text)
        assert resp.json()["error_code"] == "APIG.0101"
        assert resp.json()["request_id"] == resp.headers["X-Request-Id"]
    resp = requests.get(f"{server.url}/v1/accelerators", headers={"X-Auth-Token": "MIIxyz"}, timeout=30)
    assert resp.status_code == 401 and resp.json()["error_code"] == "APIG.0301"
    assert "AK/SK" in resp.json()["error_msg"], resp.text


# -- tenancy and policies --------------------------------------------------------------------------------------

def test_another_account_sees_nothing_of_ours(lab, server, huawei_factory, huawei):
    origin = lab.tcp_origin("t")
    lst = lab.tcp_listener([origin])
    eg = _group_of(huawei, lst.id)
    [ep] = _endpoints(huawei, eg["id"])["endpoints"]
    other = _admin(server, "create-account", "--name", "huawei-reads-b")
    theirs = huawei_factory(other["secret_id"], other["secret_key"])
    _loaded(theirs)
    assert raw(theirs.list_accelerators(ListAcceleratorsRequest()))["accelerators"] == []
    assert raw(theirs.list_endpoint_groups(ListEndpointGroupsRequest()))["endpoint_groups"] == []
    assert raw(theirs.list_tags(ListTagsRequest(resource_type="ga-accelerators")))["tags"] == []
    not_found(lambda: theirs.show_accelerator(ShowAcceleratorRequest(accelerator_id=lst.proxy)))
    not_found(lambda: theirs.show_endpoint_group(ShowEndpointGroupRequest(endpoint_group_id=eg["id"])))
    not_found(lambda: theirs.list_endpoints(ListEndpointsRequest(endpoint_group_id=eg["id"])))
    not_found(lambda: theirs.show_endpoint(ShowEndpointRequest(endpoint_group_id=eg["id"], endpoint_id=ep["id"])))
    not_found(lambda: theirs.show_resource_tags(ShowResourceTagsRequest(resource_type="ga-accelerators",
                                                                        resource_id=lst.proxy)))


def test_key_limited_to_show_reads_but_may_not_list(server, api, huawei_factory, huawei, proxy):
    [lid] = h.create_tcp_listeners(api, proxy, [h.listener_port()], "show-only")
    eg = _group_of(huawei, lid)
    policy = {"statements": [{"effect": "allow", "actions": ["huawei:Show*"], "resources": ["*"]}]}
    key = _admin(server, "create-key", "--account", server.credentials()["account_id"],
                 "--policy", json.dumps(policy))
    limited = huawei_factory(key["secret_id"], key["secret_key"])

    def shown():
        try:
            return limited.show_accelerator(ShowAcceleratorRequest(accelerator_id=proxy)).accelerator.id == proxy
        except ClientRequestException as e:
            if e.status_code != 401:
                raise
            return False
    h.wait_until(shown, what="the limited key to be loaded")
    assert raw(limited.show_endpoint_group(ShowEndpointGroupRequest(endpoint_group_id=eg["id"])))
    for call in (lambda: limited.list_accelerators(ListAcceleratorsRequest()),
                 lambda: limited.list_endpoint_groups(ListEndpointGroupsRequest(listener_id=lid)),
                 lambda: limited.list_regions(ListRegionsRequest())):
        e = refused(call)
        assert (e.status_code, e.error_code) == (403, "APIG.0306"), str(e)
        assert "huawei:List" in e.error_msg, e.error_msg
