"""Huawei GA endpoint groups, endpoints and health checks through the official `huaweicloudsdkga` (issue 9),
over listeners made through GAAP: every write answers as the reference says (201/200/204, the
`EndpointGroupDetail` / `EndpointDetail` / `HealthCheckDetail` shapes) and each documented refusal (GA.9105 a
region no edge serves, GA.9104 a second group in a region / a duplicate endpoint / a second health check,
GA.9005 deletion order, GA.9002 unknown ids, GA.9001 out-of-range values); and in the data plane an endpoint
takes traffic on the port the client connected to (TCP and UDP), weight 0 takes none, a traffic dial of 0 takes
none, and `health_state` follows the group's TCP or UDP health check (NO_MONITOR without one, UNHEALTHY when the
endpoint dies, HEALTHY again when it is back).

The split across two groups by traffic dial needs two endpoint regions; `onramp serve` serves one (`--region`),
so a listener has one group here and the split is tested on a real edge in crates/onramp-edge/tests/groups.rs."""
import json

import pytest
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException, ServerResponseException
from huaweicloudsdkga.v1 import (
    CreateEndpointGroupOption, CreateEndpointGroupRequest, CreateEndpointGroupRequestBody, CreateEndpointOption,
    CreateEndpointRequest, CreateEndpointRequestBody, CreateHealthCheckOption, CreateHealthCheckRequest,
    CreateHealthCheckRequestBody, DeleteEndpointGroupRequest, DeleteEndpointRequest, DeleteHealthCheckRequest, Id,
    ListEndpointGroupsRequest, ListEndpointsRequest, ListHealthChecksRequest, ShowEndpointGroupRequest,
    ShowEndpointRequest, ShowHealthCheckRequest, UpdateEndpointGroupOption, UpdateEndpointGroupRequest,
    UpdateEndpointGroupRequestBody, UpdateEndpointOption, UpdateEndpointRequest, UpdateEndpointRequestBody,
    UpdateHealthCheckOption, UpdateHealthCheckRequest, UpdateHealthCheckRequestBody,
)

import dataplane as dp
import helpers as h

FROZEN = {"status": int, "effect": int, "scene": [str]}
ENDPOINT_GROUP = {"id": str, "name": str, "description": str, "status": str, "traffic_dial_percentage": int,
                  "region_id": str, "listeners": [{"id": str}], "created_at": str, "updated_at": str,
                  "domain_id": str, "frozen_info": FROZEN}
ENDPOINT = {"id": str, "resource_id": str, "endpoint_group_id": str, "resource_type": str, "status": str,
            "weight": int, "health_state": str, "created_at": str, "updated_at": str, "domain_id": str,
            "ip_address": str, "frozen_info": FROZEN}
HEALTH_CHECK = {"id": str, "endpoint_group_id": str, "protocol": str, "status": str, "port": int, "interval": int,
                "timeout": int, "max_retries": int, "created_at": str, "updated_at": str, "domain_id": str,
                "enabled": bool, "frozen_info": FROZEN}
MISSING = "1b11747a-b139-492f-9692-2df0b1c87193"


def raw(resp) -> dict:
    return json.loads(resp.raw_content) if resp.raw_content else {}


def refused(fn, status: int, code: str) -> str:
    with pytest.raises((ClientRequestException, ServerResponseException)) as info:
        fn()
    e = info.value
    assert (e.status_code, e.error_code) == (status, code), str(e)
    assert e.request_id and e.error_msg, str(e)
    return e.error_msg


def new_group(huawei, listener_id: str, region: str = h.REGION, dial: int | None = None, name: str = "eg") -> dict:
    opt = CreateEndpointGroupOption(name=name, region_id=region, listeners=[Id(id=listener_id)],
                                    traffic_dial_percentage=dial)
    resp = huawei.create_endpoint_group(CreateEndpointGroupRequest(body=CreateEndpointGroupRequestBody(opt)))
    assert resp.status_code == 201
    return raw(resp)["endpoint_group"]


def new_endpoint(huawei, group_id: str, ip: str, weight: int | None = None, rid: str = "eip-1") -> dict:
    opt = CreateEndpointOption(resource_id=rid, resource_type="CUSTOM_IP", ip_address=ip, weight=weight)
    resp = huawei.create_endpoint(CreateEndpointRequest(endpoint_group_id=group_id,
                                                        body=CreateEndpointRequestBody(opt)))
    assert resp.status_code == 201
    return raw(resp)["endpoint"]


def new_check(huawei, group_id: str, port: int, enabled: bool = True, interval: int = 1, retries: int = 1,
              protocol: str = "TCP") -> dict:
    opt = CreateHealthCheckOption(endpoint_group_id=group_id, protocol=protocol, port=port, interval=interval,
                                  timeout=1, max_retries=retries, enabled=enabled)
    resp = huawei.create_health_check(CreateHealthCheckRequest(body=CreateHealthCheckRequestBody(opt)))
    assert resp.status_code == 201
    return raw(resp)["health_check"]


def set_weight(huawei, group_id: str, endpoint_id: str, weight: int) -> dict:
    body = UpdateEndpointRequestBody(UpdateEndpointOption(weight=weight))
    return raw(huawei.update_endpoint(UpdateEndpointRequest(endpoint_group_id=group_id, endpoint_id=endpoint_id,
                                                            body=body)))["endpoint"]


def set_dial(huawei, group_id: str, dial: int) -> dict:
    body = UpdateEndpointGroupRequestBody(UpdateEndpointGroupOption(traffic_dial_percentage=dial))
    return raw(huawei.update_endpoint_group(UpdateEndpointGroupRequest(endpoint_group_id=group_id,
                                                                       body=body)))["endpoint_group"]


def endpoints(huawei, group_id: str) -> list[dict]:
    return raw(huawei.list_endpoints(ListEndpointsRequest(endpoint_group_id=group_id)))["endpoints"]


def settled(huawei, group_id: str) -> None:
    """Wait until the group and its endpoints are ACTIVE: the edge applied the last change."""
    def active():
        g = raw(huawei.show_endpoint_group(ShowEndpointGroupRequest(endpoint_group_id=group_id)))["endpoint_group"]
        return g["status"] == "ACTIVE" and all(e["status"] == "ACTIVE" for e in endpoints(huawei, group_id))
    h.wait_until(active, what="the endpoint group applied")


# -- endpoint groups --------------------------------------------------------------------------------------------

def test_endpoint_group_create_update_delete_and_refusals(lab, huawei, creds):
    lst = lab.tcp_listener([])
    implicit = raw(huawei.list_endpoint_groups(ListEndpointGroupsRequest(listener_id=lst.id)))["endpoint_groups"]
    assert len(implicit) == 1, "a GAAP listener has its implicit group"
    eg = new_group(huawei, lst.id, dial=40, name="eg-one")
    h.check_shape(eg, ENDPOINT_GROUP, "endpoint_group")
    assert (eg["name"], eg["region_id"], eg["traffic_dial_percentage"]) == ("eg-one", h.REGION, 40)
    assert eg["listeners"] == [{"id": lst.id}] and eg["domain_id"] == creds["domain_id"]
    assert h.UUID_RE.match(eg["id"]) and eg["status"] in ("PENDING", "ACTIVE")
    listed = raw(huawei.list_endpoint_groups(ListEndpointGroupsRequest(listener_id=lst.id)))["endpoint_groups"]
    assert [g["id"] for g in listed] == [eg["id"]], "the empty implicit group gave its region to the new one"

    msg = refused(lambda: new_group(huawei, lst.id), 400, "GA.9104")
    assert h.REGION in msg, msg
    msg = refused(lambda: new_group(huawei, lst.id, region="mars-1"), 400, "GA.9105")
    assert "mars-1" in msg, msg
    refused(lambda: new_group(huawei, "listener-00000000"), 404, "GA.9002")
    msg = refused(lambda: new_group(huawei, lst.id, dial=101), 400, "GA.9001")
    assert "traffic_dial_percentage" in msg, msg

    body = UpdateEndpointGroupRequestBody(UpdateEndpointGroupOption(name="eg-two", description="d",
                                                                    traffic_dial_percentage=0))
    resp = huawei.update_endpoint_group(UpdateEndpointGroupRequest(endpoint_group_id=eg["id"], body=body))
    assert resp.status_code == 200
    up = raw(resp)["endpoint_group"]
    assert (up["name"], up["description"], up["traffic_dial_percentage"]) == ("eg-two", "d", 0)
    shown = raw(huawei.show_endpoint_group(ShowEndpointGroupRequest(endpoint_group_id=eg["id"])))["endpoint_group"]
    assert shown["name"] == "eg-two"
    refused(lambda: huawei.update_endpoint_group(UpdateEndpointGroupRequest(endpoint_group_id=MISSING, body=body)),
            404, "GA.9002")

    resp = huawei.delete_endpoint_group(DeleteEndpointGroupRequest(endpoint_group_id=eg["id"]))
    assert resp.status_code == 204
    refused(lambda: huawei.show_endpoint_group(ShowEndpointGroupRequest(endpoint_group_id=eg["id"])), 404, "GA.9002")


# -- endpoints, health checks, deletion order -------------------------------------------------------------------

def test_endpoints_health_checks_and_deletion_order(lab, huawei):
    lst = lab.tcp_listener([])
    eg = new_group(huawei, lst.id)
    ip = lab.next_ip()
    ep = new_endpoint(huawei, eg["id"], ip, rid="eip-web")
    h.check_shape(ep, ENDPOINT, "endpoint")
    assert (ep["ip_address"], ep["resource_id"], ep["resource_type"]) == (ip, "eip-web", "CUSTOM_IP")
    assert (ep["endpoint_group_id"], ep["weight"], ep["health_state"]) == (eg["id"], 1, "NO_MONITOR")
    shown = raw(huawei.show_endpoint(ShowEndpointRequest(endpoint_group_id=eg["id"], endpoint_id=ep["id"])))
    assert shown["endpoint"]["id"] == ep["id"]
    msg = refused(lambda: new_endpoint(huawei, eg["id"], ip), 400, "GA.9104")
    assert ip in msg, msg
    refused(lambda: new_endpoint(huawei, MISSING, ip), 404, "GA.9002")
    msg = refused(lambda: new_endpoint(huawei, eg["id"], lab.next_ip(), weight=101), 400, "GA.9001")
    assert "endpoint.weight" in msg, msg
    msg = refused(lambda: new_endpoint(huawei, eg["id"], "not an address"), 400, "GA.9001")
    assert "ip_address" in msg, msg
    assert set_weight(huawei, eg["id"], ep["id"], 0)["weight"] == 0
    refused(lambda: set_weight(huawei, eg["id"], MISSING, 1), 404, "GA.9002")

    # GAAP sees the endpoint as a bound real server of its listener.
    assert {b["RealServerIP"] for b in lab.bound(lst).values()} == {ip}

    msg = refused(lambda: huawei.delete_endpoint_group(DeleteEndpointGroupRequest(endpoint_group_id=eg["id"])),
                  409, "GA.9005")
    assert ep["id"] in msg, msg
    hc = new_check(huawei, eg["id"], port=lst.port, interval=5, retries=3)
    h.check_shape(hc, HEALTH_CHECK, "health_check")
    assert (hc["endpoint_group_id"], hc["protocol"], hc["port"], hc["interval"], hc["max_retries"], hc["enabled"]) \
        == (eg["id"], "TCP", lst.port, 5, 3, True)
    refused(lambda: new_check(huawei, eg["id"], port=80), 400, "GA.9104")
    refused(lambda: new_check(huawei, MISSING, port=80), 404, "GA.9002")
    msg = refused(lambda: new_check(huawei, eg["id"], port=80, interval=61), 400, "GA.9001")
    assert "health_check.interval" in msg, msg

    listed = raw(huawei.list_health_checks(ListHealthChecksRequest(endpoint_group_id=eg["id"])))
    assert [c["id"] for c in listed["health_checks"]] == [hc["id"]] and listed["page_info"]["current_count"] == 1
    assert raw(huawei.list_health_checks(ListHealthChecksRequest(endpoint_group_id=MISSING)))["health_checks"] == []
    shown = raw(huawei.show_health_check(ShowHealthCheckRequest(health_check_id=hc["id"])))["health_check"]
    assert shown["id"] == hc["id"]
    body = UpdateHealthCheckRequestBody(UpdateHealthCheckOption(interval=10, enabled=False))
    up = raw(huawei.update_health_check(UpdateHealthCheckRequest(health_check_id=hc["id"], body=body)))
    assert (up["health_check"]["interval"], up["health_check"]["enabled"]) == (10, False)
    assert endpoints(huawei, eg["id"])[0]["health_state"] == "NO_MONITOR", "a disabled check monitors nothing"
    refused(lambda: huawei.update_health_check(UpdateHealthCheckRequest(health_check_id=MISSING, body=body)),
            404, "GA.9002")

    resp = huawei.delete_endpoint(DeleteEndpointRequest(endpoint_group_id=eg["id"], endpoint_id=ep["id"]))
    assert resp.status_code == 204
    assert endpoints(huawei, eg["id"]) == []
    msg = refused(lambda: huawei.delete_endpoint_group(DeleteEndpointGroupRequest(endpoint_group_id=eg["id"])),
                  409, "GA.9005")
    assert hc["id"] in msg, msg
    assert huawei.delete_health_check(DeleteHealthCheckRequest(health_check_id=hc["id"])).status_code == 204
    refused(lambda: huawei.show_health_check(ShowHealthCheckRequest(health_check_id=hc["id"])), 404, "GA.9002")
    assert huawei.delete_endpoint_group(DeleteEndpointGroupRequest(endpoint_group_id=eg["id"])).status_code == 204


def test_a_group_holds_at_most_ten_endpoints(lab, huawei):
    lst = lab.tcp_listener([])
    eg = new_group(huawei, lst.id)
    for _ in range(10):
        new_endpoint(huawei, eg["id"], lab.next_ip())
    msg = refused(lambda: new_endpoint(huawei, eg["id"], lab.next_ip()), 400, "GA.9103")
    assert "10" in msg, msg


# -- the data plane ---------------------------------------------------------------------------------------------

def test_traffic_reaches_endpoints_on_the_clients_port_by_weight_and_dial(lab, huawei):
    port = h.listener_port()
    a = lab.tcp_origin("a", port=port)  # each endpoint listens on the listener's own port
    b = lab.tcp_origin("b", port=port)
    lst = lab.tcp_listener([], port=port, Scheduler="wrr")
    eg = new_group(huawei, lst.id)
    ea = new_endpoint(huawei, eg["id"], a.ip, weight=1)
    eb = new_endpoint(huawei, eg["id"], b.ip, weight=0)
    settled(huawei, eg["id"])
    tags = [dp.tcp_tag(port, line=b"w%d" % i) for i in range(8)]
    assert dp.counts(tags) == {"a": 8}, "weight 0 takes no new traffic"

    set_weight(huawei, eg["id"], eb["id"], 3)
    settled(huawei, eg["id"])
    tags = [dp.tcp_tag(port, line=b"x%d" % i) for i in range(40)]
    assert dp.counts(tags) == {"a": 10, "b": 30}, "wrr by endpoint weight"

    set_dial(huawei, eg["id"], 0)
    settled(huawei, eg["id"])
    assert dp.tcp_refused(port), "a traffic dial of 0 takes no connection"
    set_dial(huawei, eg["id"], 100)
    settled(huawei, eg["id"])
    assert dp.tcp_tag(port) in ("a", "b")
    for e in (ea, eb):
        huawei.delete_endpoint(DeleteEndpointRequest(endpoint_group_id=eg["id"], endpoint_id=e["id"]))


def test_health_state_follows_the_groups_check(lab, huawei):
    port = h.listener_port()
    alive = lab.tcp_origin("a", port=port)
    doomed = lab.tcp_origin("d", port=port)
    lst = lab.tcp_listener([], port=port)
    eg = new_group(huawei, lst.id)
    ea = new_endpoint(huawei, eg["id"], alive.ip)
    ed = new_endpoint(huawei, eg["id"], doomed.ip)
    settled(huawei, eg["id"])
    assert {e["health_state"] for e in endpoints(huawei, eg["id"])} == {"NO_MONITOR"}
    hc = new_check(huawei, eg["id"], port=port, interval=1, retries=1)

    def states():
        return {e["ip_address"]: e["health_state"] for e in endpoints(huawei, eg["id"])}
    h.wait_until(lambda: states() == {alive.ip: "HEALTHY", doomed.ip: "HEALTHY"}, timeout=20,
                 what="both endpoints HEALTHY")
    doomed.kill()
    h.wait_until(lambda: states() == {alive.ip: "HEALTHY", doomed.ip: "UNHEALTHY"}, timeout=20,
                 what="the killed endpoint UNHEALTHY")
    tags = [dp.tcp_tag(port, line=b"h%d" % i) for i in range(6)]
    assert dp.counts(tags) == {"a": 6}, "an unhealthy endpoint gets no traffic"
    doomed.restart()
    h.wait_until(lambda: states()[doomed.ip] == "HEALTHY", timeout=20, what="the endpoint HEALTHY again")

    huawei.delete_health_check(DeleteHealthCheckRequest(health_check_id=hc["id"]))
    for e in (ea, ed):
        huawei.delete_endpoint(DeleteEndpointRequest(endpoint_group_id=eg["id"], endpoint_id=e["id"]))
    huawei.delete_endpoint_group(DeleteEndpointGroupRequest(endpoint_group_id=eg["id"]))


def test_udp_endpoint_gets_the_port_the_client_sent_to(lab, huawei):
    port = h.listener_port()
    origin = lab.udp_origin("u", port=port)
    lst = lab.udp_listener([], port=port)
    eg = new_group(huawei, lst.id)
    ep = new_endpoint(huawei, eg["id"], origin.ip)
    settled(huawei, eg["id"])
    client = dp.UdpClient(port)
    lab.clients.append(client)
    assert client.tag(b"ping") == "u"
    assert origin.peers(), "the origin saw the flow on its own port"

    # A UDP check: an empty datagram to the port, down on the ICMP error a dead endpoint draws.
    hc = new_check(huawei, eg["id"], port=port, protocol="UDP")
    assert hc["protocol"] == "UDP"

    def state():
        return endpoints(huawei, eg["id"])[0]["health_state"]
    h.wait_until(lambda: state() == "HEALTHY", timeout=20, what="the UDP endpoint HEALTHY")
    origin.kill()
    h.wait_until(lambda: state() == "UNHEALTHY", timeout=20, what="the dead UDP endpoint UNHEALTHY")
    origin.restart()
    h.wait_until(lambda: state() == "HEALTHY", timeout=20, what="the UDP endpoint HEALTHY again")
    huawei.delete_health_check(DeleteHealthCheckRequest(health_check_id=hc["id"]))
    huawei.delete_endpoint(DeleteEndpointRequest(endpoint_group_id=eg["id"], endpoint_id=ep["id"]))
