"""Huawei Cloud GA v1 through the official `huaweicloudsdkga` (SDK-HMAC-SHA256 AK/SK): a GAAP proxy is an
accelerator, a GAAP listener is a listener with one port range. ShowListener and ListListeners."""
import json
import re

import pytest
import requests
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkga.v1 import ListListenersRequest, ShowListenerRequest

import helpers as h

TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
LISTENER = {"id": str, "name": str, "description": str, "protocol": str, "status": str,
            "port_ranges": [{"from_port": int, "to_port": int}], "client_affinity": str, "accelerator_id": str,
            "created_at": str, "updated_at": str, "domain_id": str, "tags": [{"key": str, "value": str}]}


def _show(huawei, listener_id: str) -> dict:
    """ShowListener through the SDK; returns the raw JSON body (types as sent)."""
    resp = huawei.show_listener(ShowListenerRequest(listener_id=listener_id))
    assert resp.listener.id == listener_id  # the SDK model deserialized it
    return json.loads(resp.raw_content)


def _list(huawei, **query) -> dict:
    resp = huawei.list_listeners(ListListenersRequest(**query))
    return json.loads(resp.raw_content)


def _wait_active(huawei, listener_id: str) -> dict:
    return h.wait_until(lambda: (b := _show(huawei, listener_id))["listener"]["status"] == "ACTIVE" and b,
                        what=f"huawei listener {listener_id} ACTIVE")


def test_show_tcp_listener(api, huawei, creds, proxy, uniq):
    name, port = uniq("ln"), h.listener_port()
    [lid] = h.create_tcp_listeners(api, proxy, [port], name)
    body = _wait_active(huawei, lid)
    assert isinstance(body["request_id"], str) and body["request_id"]
    l = body["listener"]
    h.check_shape(l, LISTENER, "listener")
    assert (l["id"], l["name"], l["protocol"], l["status"]) == (lid, name, "TCP", "ACTIVE")
    assert l["port_ranges"] == [{"from_port": port, "to_port": port}]
    assert l["client_affinity"] == "NONE"
    assert l["accelerator_id"] == proxy
    assert l["domain_id"] == creds["domain_id"]
    assert TS_RE.match(l["created_at"]) and TS_RE.match(l["updated_at"]), (l["created_at"], l["updated_at"])
    # The typed model parses the timestamps as datetimes (they end in Z).
    typed = huawei.show_listener(ShowListenerRequest(listener_id=lid)).listener
    assert typed.port_ranges[0].from_port == port and typed.protocol == "TCP"
    assert not isinstance(typed.created_at, str)


def test_show_udp_listener(api, huawei, proxy, uniq):
    port = h.listener_port()
    [lid] = h.create_udp_listeners(api, proxy, [port], uniq("ln"))
    l = _wait_active(huawei, lid)["listener"]
    assert l["protocol"] == "UDP"
    assert l["port_ranges"] == [{"from_port": port, "to_port": port}]


def test_list_filters(api, huawei, proxy, uniq):
    names = [uniq("ln"), uniq("ln")]
    ports = h.listener_ports(3)
    ids = h.create_tcp_listeners(api, proxy, ports[:2], names[0])
    ids += h.create_udp_listeners(api, proxy, ports[2:], names[1])
    for lid in ids:
        _wait_active(huawei, lid)

    mine = _list(huawei, accelerator_id=proxy)
    assert sorted(l["id"] for l in mine["listeners"]) == sorted(ids)
    assert mine["page_info"]["current_count"] == 3
    for l in mine["listeners"]:
        h.check_shape(l, LISTENER, "listeners[]")
        assert l["accelerator_id"] == proxy

    assert [l["id"] for l in _list(huawei, id=ids[1])["listeners"]] == [ids[1]]
    assert sorted(l["id"] for l in _list(huawei, name=names[0])["listeners"]) == sorted(ids[:2])
    assert [l["id"] for l in _list(huawei, name=names[1], accelerator_id=proxy)["listeners"]] == [ids[2]]
    assert len(_list(huawei, accelerator_id=proxy, status="ACTIVE")["listeners"]) == 3
    pending = _list(huawei, accelerator_id=proxy, status="PENDING")
    assert pending["listeners"] == [] and pending["page_info"]["current_count"] == 0
    assert _list(huawei, accelerator_id="link-00000000")["listeners"] == []


def test_list_pagination(api, huawei, proxy, uniq):
    ids = h.create_tcp_listeners(api, proxy, h.listener_ports(5), uniq("ln"))
    pages, marker = [], None
    for _ in range(5):  # bounded: 3 pages expected
        q = {"accelerator_id": proxy, "limit": 2}
        if marker:
            q["marker"] = marker
        page = _list(huawei, **q)
        items = [l["id"] for l in page["listeners"]]
        assert page["page_info"]["current_count"] == len(items)
        pages.append(items)
        marker = page["page_info"].get("next_marker")
        if not marker:
            break
        assert marker == items[-1]  # the marker is the last id of the page
    assert [len(p) for p in pages] == [2, 2, 1]
    flat = [i for p in pages for i in p]
    assert sorted(flat) == sorted(ids) and len(set(flat)) == 5

    # GUESS: page_reverse=true from a marker pages backwards: the items before the marker.
    back = _list(huawei, accelerator_id=proxy, limit=2, marker=pages[1][0], page_reverse=True)
    assert sorted(l["id"] for l in back["listeners"]) == sorted(pages[0])

    everything = _list(huawei, accelerator_id=proxy, limit=2000)
    assert len(everything["listeners"]) == 5 and not everything["page_info"].get("next_marker")


def test_unknown_listener_is_404(huawei):
    for missing in ("listener-00000000", "1b11747a-b139-492f-9692-2df0b1c87193"):
        with pytest.raises(ClientRequestException) as info:
            huawei.show_listener(ShowListenerRequest(listener_id=missing))
        e = info.value
        assert (e.status_code, e.error_code) == (404, "GA.9002"), str(e)
        assert e.request_id and e.error_msg  # request_id comes from the X-Request-Id header


def test_deleted_gaap_listener_is_404(api, huawei, proxy, uniq):
    [lid] = h.create_tcp_listeners(api, proxy, [h.listener_port()], uniq("ln"))
    _wait_active(huawei, lid)
    api("DeleteListeners", {"ProxyId": proxy, "ListenerIds": [lid], "Force": 1})

    def gone():
        try:
            _show(huawei, lid)
        except ClientRequestException as e:
            return e.status_code == 404 and e.error_code == "GA.9002"
        return False
    h.wait_until(gone, what="deleted listener -> 404 GA.9002")


def test_bad_signature_is_401(huawei_factory, api, proxy, uniq):
    [lid] = h.create_tcp_listeners(api, proxy, [h.listener_port()], uniq("ln"))
    for client in (huawei_factory(sk="wrong" * 8), huawei_factory(ak="AKIDnobodyHasThisKey0000000000000000")):
        with pytest.raises(ClientRequestException) as info:
            client.show_listener(ShowListenerRequest(listener_id=lid))
        assert (info.value.status_code, info.value.error_code) == (401, "APIG.0301"), str(info.value)
        assert info.value.request_id


def test_unsigned_request_error_envelope(server):
    resp = requests.get(f"{server.url}/v1/listeners", timeout=30)
    assert resp.status_code == 401
    assert resp.headers.get("Content-Type", "").startswith("application/json")
    body = resp.json()
    assert body["error_code"] == "APIG.0301" and body["error_msg"]
    assert body["request_id"] == resp.headers.get("X-Request-Id"), (body, dict(resp.headers))
