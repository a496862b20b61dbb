"""Huawei GA v1 writes through the official `huaweicloudsdkga` (issue 9): accelerators, listeners, tags and
quotas; each operation's success and its documented refusals; one model with GAAP (a Huawei-made accelerator and
listener are seen and changed through GAAP, a GAAP proxy is changed through Huawei); a Huawei listener with a port
range forwards on two of its ports once an origin is bound."""
import json

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkga.v1 import (
    CreateAcceleratorOption, CreateAcceleratorOptionIpSets, CreateAcceleratorRequest, CreateAcceleratorRequestBody,
    CreateListenerOption, CreateListenerRequest, CreateListenerRequestBody, CreateTagsRequest,
    CreateTagsRequestBody, DeleteAcceleratorRequest, DeleteListenerRequest, DeleteTagsRequest,
    DeleteTagsRequestBody, DeletingResourceTag, GaClient, ListTenantQuotasRequest, PortRange, ResourceTag,
    ShowAcceleratorRequest, ShowListenerRequest, ShowResourceTagsRequest, UpdateAcceleratorOption,
    UpdateAcceleratorRequest, UpdateAcceleratorRequestBody, UpdateListenerOption, UpdateListenerRequest,
    UpdateListenerRequestBody,
)

import dataplane as dp
import helpers as h


def raw(resp) -> dict:
    return json.loads(resp.raw_content) if resp.raw_content else {}


def refused(fn, status: int, code: str) -> ClientRequestException:
    with pytest.raises(ClientRequestException) as info:
        fn()
    e = info.value
    assert (e.status_code, e.error_code) == (status, code), str(e)
    assert e.request_id and e.error_msg, str(e)
    return e


def new_accelerator(client, name: str, tags=None) -> dict:
    body = CreateAcceleratorRequestBody(accelerator=CreateAcceleratorOption(
        name=name, description="made by the SDK",
        ip_sets=[CreateAcceleratorOptionIpSets(ip_type="IPV4", area="OUTOFCM")], enterprise_project_id="0",
        tags=tags))
    resp = client.create_accelerator(CreateAcceleratorRequest(body=body))
    assert resp.status_code == 201
    return raw(resp)["accelerator"]


def new_listener(client, acc: str, name: str, ranges, protocol="TCP", affinity=None, tags=None):
    body = CreateListenerRequestBody(listener=CreateListenerOption(
        name=name, protocol=protocol, port_ranges=[PortRange(from_port=a, to_port=b) for a, b in ranges],
        client_affinity=affinity, accelerator_id=acc, tags=tags))
    return client.create_listener(CreateListenerRequest(body=body))


def active(client, show, key: str) -> dict:
    return h.wait_until(lambda: (v := raw(show())[key])["status"] == "ACTIVE" and v, what=f"{key} ACTIVE")


def gone(show, key: str) -> None:
    """A deleted resource is DELETING until the edges applied its deletion, then 404 GA.9002."""
    def status():
        try:
            return raw(show())[key]["status"]
        except ClientRequestException as e:
            assert (e.status_code, e.error_code) == (404, "GA.9002"), str(e)
            return None
    first = status()
    assert first in ("DELETING", None), first
    h.wait_until(lambda: status() is None, what=f"deleted {key} -> 404 GA.9002")


def consecutive_ports() -> tuple[int, int]:
    for _ in range(50):
        a, b = h.listener_port(), h.listener_port()
        if b == a + 1:
            return a, b
    raise RuntimeError("no two consecutive free listener ports")


def test_accelerator_create_update_delete(huawei, uniq):
    acc = new_accelerator(huawei, uniq("acc"), tags=[ResourceTag(key="env", value="dev")])
    assert len(acc["id"]) == 36 and acc["id"].count("-") == 4, acc["id"]
    assert acc["status"] in ("PENDING", "ACTIVE")
    assert acc["ip_sets"][0]["ip_address"] == "127.0.0.1" and acc["ip_sets"][0]["area"] == "OUTOFCM"
    assert acc["tags"] == [{"key": "env", "value": "dev"}] and acc["enterprise_project_id"] == "0"
    assert acc["created_at"].endswith("Z") and acc["description"] == "made by the SDK"
    show = lambda: huawei.show_accelerator(ShowAcceleratorRequest(accelerator_id=acc["id"]))  # noqa: E731
    active(huawei, show, "accelerator")
    new_name = uniq("renamed")
    body = UpdateAcceleratorRequestBody(accelerator=UpdateAcceleratorOption(name=new_name, description=""))
    resp = huawei.update_accelerator(UpdateAcceleratorRequest(accelerator_id=acc["id"], body=body))
    assert resp.status_code == 200
    updated = raw(resp)["accelerator"]
    assert updated["name"] == new_name and updated["description"] == "" and updated["tags"] == acc["tags"]
    resp = huawei.delete_accelerator(DeleteAcceleratorRequest(accelerator_id=acc["id"]))
    assert resp.status_code == 204
    gone(show, "accelerator")


def test_accelerator_refusals(huawei, uniq):
    no_v4 = CreateAcceleratorRequestBody(accelerator=CreateAcceleratorOption(
        name=uniq("acc"), ip_sets=[CreateAcceleratorOptionIpSets(ip_type="IPV6", area="OUTOFCM")],
        enterprise_project_id="0"))
    e = refused(lambda: huawei.create_accelerator(CreateAcceleratorRequest(body=no_v4)), 400, "GA.9001")
    assert "accelerator.ip_sets" in e.error_msg
    dup = [ResourceTag(key="k", value="1"), ResourceTag(key="k", value="2")]
    refused(lambda: new_accelerator(huawei, uniq("acc"), tags=dup), 400, "GA.9107")
    refused(lambda: new_accelerator(huawei, uniq("acc"), tags=[ResourceTag(key="", value="v")]), 400, "GA.9109")
    body = UpdateAcceleratorRequestBody(accelerator=UpdateAcceleratorOption(name="x" * 65))
    e = refused(lambda: huawei.update_accelerator(UpdateAcceleratorRequest(accelerator_id="nope", body=body)),
                400, "GA.9001")
    assert "accelerator.name" in e.error_msg
    body = UpdateAcceleratorRequestBody(accelerator=UpdateAcceleratorOption(name="ok"))
    refused(lambda: huawei.update_accelerator(UpdateAcceleratorRequest(accelerator_id="nope", body=body)),
            404, "GA.9002")


def test_listener_ranges_affinity_and_deletion_order(huawei, uniq):
    acc = new_accelerator(huawei, uniq("acc"))["id"]
    a, b = consecutive_ports()
    c = h.listener_port()
    resp = new_listener(huawei, acc, uniq("ln"), [(a, b), (c, c)], affinity="SOURCE_IP",
                        tags=[ResourceTag(key="tier", value="web")])
    assert resp.status_code == 201
    lst = raw(resp)["listener"]
    assert len(lst["id"]) == 36 and lst["accelerator_id"] == acc and lst["protocol"] == "TCP"
    assert lst["port_ranges"] == [{"from_port": a, "to_port": b}, {"from_port": c, "to_port": c}]
    assert lst["client_affinity"] == "SOURCE_IP" and lst["tags"] == [{"key": "tier", "value": "web"}]
    show = lambda: huawei.show_listener(ShowListenerRequest(listener_id=lst["id"]))  # noqa: E731
    active(huawei, show, "listener")
    # The same ports on UDP are another listener's to take; an overlap on TCP or a reversed range is GA.9101.
    udp = raw(new_listener(huawei, acc, uniq("ln"), [(a, b)], protocol="UDP"))["listener"]
    refused(lambda: new_listener(huawei, acc, uniq("ln"), [(b, b)]), 400, "GA.9101")
    refused(lambda: new_listener(huawei, acc, uniq("ln"), [(c + 5, c + 4)]), 400, "GA.9101")
    refused(lambda: new_listener(huawei, "no-such-accelerator", uniq("ln"), [(c, c)]), 404, "GA.9002")
    e = refused(lambda: new_listener(huawei, acc, uniq("ln"), [(c, c)], protocol="SCTP"), 400, "GA.9001")
    assert "listener.protocol" in e.error_msg
    # Update: ranges (its own ports may stay), affinity, name.
    body = UpdateListenerRequestBody(listener=UpdateListenerOption(
        name=uniq("ln2"), port_ranges=[PortRange(from_port=a, to_port=b)], client_affinity="NONE"))
    resp = huawei.update_listener(UpdateListenerRequest(listener_id=lst["id"], body=body))
    assert resp.status_code == 200
    updated = raw(resp)["listener"]
    assert updated["port_ranges"] == [{"from_port": a, "to_port": b}] and updated["client_affinity"] == "NONE"
    other = raw(new_listener(huawei, acc, uniq("ln"), [(c, c)]))["listener"]
    clash = UpdateListenerRequestBody(listener=UpdateListenerOption(port_ranges=[PortRange(from_port=b, to_port=b)]))
    refused(lambda: huawei.update_listener(UpdateListenerRequest(listener_id=other["id"], body=clash)), 400,
            "GA.9101")
    # Deletion order: the accelerator waits for its listeners.
    e = refused(lambda: huawei.delete_accelerator(DeleteAcceleratorRequest(accelerator_id=acc)), 409, "GA.9005")
    assert acc in e.error_msg
    for lid in (lst["id"], udp["id"], other["id"]):
        assert huawei.delete_listener(DeleteListenerRequest(listener_id=lid)).status_code == 204
    gone(show, "listener")
    assert huawei.delete_accelerator(DeleteAcceleratorRequest(accelerator_id=acc)).status_code == 204


def test_tags_create_and_delete(huawei, uniq):
    acc = new_accelerator(huawei, uniq("acc"), tags=[ResourceTag(key="env", value="dev")])["id"]
    lid = raw(new_listener(huawei, acc, uniq("ln"), [(h.listener_port(),) * 2]))["listener"]["id"]
    for rtype, rid in (("ga-accelerators", acc), ("ga-listeners", lid)):
        body = CreateTagsRequestBody(tags=[ResourceTag(key="env", value="prod"), ResourceTag(key="team", value="")])
        resp = huawei.create_tags(CreateTagsRequest(resource_type=rtype, resource_id=rid, body=body))
        assert resp.status_code == 204
        shown = raw(huawei.show_resource_tags(ShowResourceTagsRequest(resource_type=rtype, resource_id=rid)))
        assert sorted((t["key"], t["value"]) for t in shown["tags"]) == [("env", "prod"), ("team", "")]
        body = DeleteTagsRequestBody(tags=[DeletingResourceTag(key="env"), DeletingResourceTag(key="absent")])
        resp = huawei.delete_tags(DeleteTagsRequest(resource_type=rtype, resource_id=rid, body=body))
        assert resp.status_code == 204
        shown = raw(huawei.show_resource_tags(ShowResourceTagsRequest(resource_type=rtype, resource_id=rid)))
        assert shown["tags"] == [{"key": "team", "value": ""}]
        dup = CreateTagsRequestBody(tags=[ResourceTag(key="a", value="1"), ResourceTag(key="a", value="2")])
        refused(lambda: huawei.create_tags(CreateTagsRequest(resource_type=rtype, resource_id=rid, body=dup)),
                400, "GA.9107")
        empty = CreateTagsRequestBody(tags=[ResourceTag(key="", value="1")])
        refused(lambda: huawei.create_tags(CreateTagsRequest(resource_type=rtype, resource_id=rid, body=empty)),
                400, "GA.9109")
        twice = DeleteTagsRequestBody(tags=[DeletingResourceTag(key="a"), DeletingResourceTag(key="a")])
        refused(lambda: huawei.delete_tags(DeleteTagsRequest(resource_type=rtype, resource_id=rid, body=twice)),
                400, "GA.9110")
        ok = CreateTagsRequestBody(tags=[ResourceTag(key="a", value="1")])
        refused(lambda: huawei.create_tags(CreateTagsRequest(resource_type=rtype, resource_id="nope", body=ok)),
                404, "GA.9002")
    huawei.delete_listener(DeleteListenerRequest(listener_id=lid))
    huawei.delete_accelerator(DeleteAcceleratorRequest(accelerator_id=acc))


def test_quotas_are_listed_and_enforced(server_factory, uniq):
    srv = server_factory("quotas", extra_args=["--quota-accelerators", "2", "--quota-listeners", "1",
                                               "--quota-endpoints", "7"])
    cfg = HttpConfig.get_default_config()
    cfg.timeout = (10, 30)
    client = (GaClient.new_builder().with_http_config(cfg)
              .with_credentials(BasicCredentials(*srv.root_key)).with_endpoints([srv.url]).build())
    domain = srv.credentials()["domain_id"]
    resp = client.list_tenant_quotas(ListTenantQuotasRequest(domain_id=domain))
    quotas = {r["type"]: r["quota"] for r in raw(resp)["quotas"]["resources"]}
    assert quotas == {"accelerator_per_tenant": 2, "listener_per_accelerator": 1, "endpoint_per_endpoint_group": 7}
    refused(lambda: client.list_tenant_quotas(ListTenantQuotasRequest(domain_id="0" * 32)), 404, "GA.9002")
    first = new_accelerator(client, uniq("a"))["id"]
    new_accelerator(client, uniq("b"))
    e = refused(lambda: new_accelerator(client, uniq("c")), 400, "GA.9103")
    assert "accelerators" in e.error_msg
    # GAAP counts against the same quota (its own code).
    api = srv.gaap()
    e = api.error("CreateProxy", {"ProjectId": 0, "ProxyName": uniq("px"), "AccessRegion": h.REGION,
                                  "RealServerRegion": h.REGION, "Bandwidth": 10, "Concurrent": 2})
    h.assert_code(e, "LimitExceeded")
    new_listener(client, first, uniq("l"), [(h.listener_port(),) * 2])
    e = refused(lambda: new_listener(client, first, uniq("l"), [(h.listener_port(),) * 2]), 400, "GA.9103")
    assert "listeners" in e.error_msg


def test_one_model_with_gaap(huawei, api, proxy, uniq):
    # A Huawei accelerator and listener, seen and changed through GAAP.
    acc = new_accelerator(huawei, uniq("acc"))["id"]
    port = h.listener_port()
    lid = raw(new_listener(huawei, acc, uniq("ln"), [(port, port)]))["listener"]["id"]
    [p] = api("DescribeProxies", {"ProxyIds": [acc]})["ProxySet"]
    assert p["ProxyId"] == acc
    gaap_name = uniq("viagaap")
    api("ModifyProxiesAttribute", {"ProxyIds": [acc], "ProxyName": gaap_name})
    shown = raw(huawei.show_accelerator(ShowAcceleratorRequest(accelerator_id=acc)))["accelerator"]
    assert shown["name"] == gaap_name
    gl = h.describe_listener(api, lid)
    assert gl["Port"] == port
    gaap_name = uniq("lnviagaap")
    api("ModifyTCPListenerAttribute", {"ListenerId": lid, "ListenerName": gaap_name})
    assert raw(huawei.show_listener(ShowListenerRequest(listener_id=lid)))["listener"]["name"] == gaap_name
    huawei.delete_listener(DeleteListenerRequest(listener_id=lid))
    huawei.delete_accelerator(DeleteAcceleratorRequest(accelerator_id=acc))
    # A GAAP proxy, changed through Huawei.
    hw_name = uniq("viahw")
    body = UpdateAcceleratorRequestBody(accelerator=UpdateAcceleratorOption(name=hw_name))
    huawei.update_accelerator(UpdateAcceleratorRequest(accelerator_id=proxy, body=body))
    [p] = api("DescribeProxies", {"ProxyIds": [proxy]})["ProxySet"]
    assert p["ProxyName"] == hw_name


def test_a_range_listener_forwards_on_two_of_its_ports(huawei, api, lab, uniq):
    origin = lab.tcp_origin("r")
    acc = new_accelerator(huawei, uniq("acc"))["id"]
    a, b = consecutive_ports()
    lid = raw(new_listener(huawei, acc, uniq("ln"), [(a, b)]))["listener"]["id"]
    items = lab.bind_items([origin])
    api("BindListenerRealServers", {"ListenerId": lid, "RealServerBindSet": items})
    active(huawei, lambda: huawei.show_listener(ShowListenerRequest(listener_id=lid)), "listener")
    for port in (a, b):
        assert h.wait_until(lambda: dp.tcp_tag(port) == "r", what=f"port {port} forwards")
    # Deletion order: bound endpoints first.
    refused(lambda: huawei.delete_listener(DeleteListenerRequest(listener_id=lid)), 409, "GA.9005")
    api("BindListenerRealServers", {"ListenerId": lid, "RealServerBindSet": []})
    assert huawei.delete_listener(DeleteListenerRequest(listener_id=lid)).status_code == 204
    assert huawei.delete_accelerator(DeleteAcceleratorRequest(accelerator_id=acc)).status_code == 204
    assert h.wait_until(lambda: dp.tcp_refused(a), what="the range closed")


def test_source_ip_affinity_pins_a_client_and_none_spreads(huawei, api, lab, uniq):
    origins = [lab.tcp_origin(t) for t in ("a", "b", "c")]
    acc = new_accelerator(huawei, uniq("acc"))["id"]
    port = h.listener_port()
    lid = raw(new_listener(huawei, acc, uniq("ln"), [(port, port)], affinity="SOURCE_IP"))["listener"]["id"]
    api("BindListenerRealServers", {"ListenerId": lid, "RealServerBindSet": lab.bind_items(origins)})
    active(huawei, lambda: huawei.show_listener(ShowListenerRequest(listener_id=lid)), "listener")
    h.wait_until(lambda: dp.tcp_tag(port) in "abc", what="the listener forwards")
    homes = set()
    for ip in dp.CLIENT_IPS[:12]:
        tags = {dp.tcp_tag(port, src=ip, line=b"aff-%d" % k) for k in range(4)}
        assert len(tags) == 1, f"client {ip} spread over {tags}"
        homes |= tags
    assert len(homes) >= 2, f"12 client addresses all on {homes}"
    # NONE: round robin spreads one client again.
    body = UpdateListenerRequestBody(listener=UpdateListenerOption(client_affinity="NONE"))
    huawei.update_listener(UpdateListenerRequest(listener_id=lid, body=body))
    active(huawei, lambda: huawei.show_listener(ShowListenerRequest(listener_id=lid)), "listener")
    spread = {dp.tcp_tag(port, src=dp.CLIENT_IPS[0], line=b"rr-%d" % k) for k in range(6)}
    assert len(spread) >= 2, spread
    api("BindListenerRealServers", {"ListenerId": lid, "RealServerBindSet": []})
    huawei.delete_listener(DeleteListenerRequest(listener_id=lid))
    huawei.delete_accelerator(DeleteAcceleratorRequest(accelerator_id=acc))


def test_udp_range_forwards_and_a_new_range_moves_the_traffic(huawei, api, lab, uniq):
    origin = lab.udp_origin("u")
    acc = new_accelerator(huawei, uniq("acc"))["id"]
    a, b = consecutive_ports()
    lid = raw(new_listener(huawei, acc, uniq("ln"), [(a, b)], protocol="UDP"))["listener"]["id"]
    api("BindListenerRealServers", {"ListenerId": lid, "RealServerBindSet": lab.bind_items([origin])})
    show = lambda: huawei.show_listener(ShowListenerRequest(listener_id=lid))  # noqa: E731
    active(huawei, show, "listener")
    for port in (a, b):
        c = dp.UdpClient(port)
        lab.clients.append(c)
        assert h.wait_until(lambda: c.tag(b"ping-%d" % port) == "u", what=f"UDP port {port} forwards")
    n = h.listener_port()
    body = UpdateListenerRequestBody(listener=UpdateListenerOption(port_ranges=[PortRange(from_port=n, to_port=n)]))
    huawei.update_listener(UpdateListenerRequest(listener_id=lid, body=body))
    active(huawei, show, "listener")
    c = dp.UdpClient(n)
    lab.clients.append(c)
    assert h.wait_until(lambda: c.tag(b"moved") == "u", what=f"UDP port {n} forwards")
    api("BindListenerRealServers", {"ListenerId": lid, "RealServerBindSet": []})
    huawei.delete_listener(DeleteListenerRequest(listener_id=lid))
    huawei.delete_accelerator(DeleteAcceleratorRequest(accelerator_id=acc))
