"""Huawei GA log tanks through the official `huaweicloudsdkga` (issue 9): create, list (filters `id`, `status`,
repeated `resource_ids`, `resource_type`, paging), show, update, delete answer as the reference says (201/200/204,
the `LogtankDetail` shape), and each refusal: GA.9002 for an unknown listener or log tank, GA.9104 for a second
log tank on a listener, GA.9001 for a bad `resource_type` or an empty log group. A log tank goes with its
listener. In the data plane, a TCP connection and a UDP flow of a listener with a log tank each write one JSON
line to the access log (the shared server's default sink, DATA_DIR/access.log); a listener without one writes
nothing."""
import json
import re

import pytest
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException, ServerResponseException
from huaweicloudsdkga.v1 import (
    CreateLogtankOption, CreateLogtankRequest, CreateLogtankRequestBody, DeleteLogtankRequest, ListLogtanksRequest,
    ShowLogtankRequest, UpdateLogtankOption, UpdateLogtankRequest, UpdateLogtankRequestBody,
)

import dataplane as dp
import helpers as h

TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
LOGTANK = {"id": str, "domain_id": str, "project_id": str, "resource_type": str, "resource_id": str,
           "log_group_id": str, "log_stream_id": str, "status": str, "created_at": str, "updated_at": str}
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


def create(huawei, listener_id: str, group: str = "lg-1", stream: str = "ls-1", kind: str = "LISTENER"):
    opt = CreateLogtankOption(resource_type=kind, resource_id=listener_id, log_group_id=group,
                              log_stream_id=stream)
    return huawei.create_logtank(CreateLogtankRequest(body=CreateLogtankRequestBody(logtank=opt)))


def test_log_tank_lifecycle(api, huawei, proxy, uniq):
    [lid, other] = h.create_tcp_listeners(api, proxy, [h.listener_port(), h.listener_port()], uniq("ln"))
    resp = create(huawei, lid)
    assert resp.status_code == 201
    body = raw(resp)
    tank = body["logtank"]
    assert isinstance(body["request_id"], str)
    assert {k: type(v) for k, v in tank.items()} == LOGTANK, tank
    assert (tank["resource_type"], tank["resource_id"]) == ("LISTENER", lid)
    assert (tank["log_group_id"], tank["log_stream_id"]) == ("lg-1", "ls-1")
    assert tank["status"] in ("PENDING", "ACTIVE") and TS_RE.match(tank["created_at"])
    shown = raw(huawei.show_logtank(ShowLogtankRequest(logtank_id=tank["id"])))["logtank"]
    assert shown["id"] == tank["id"] and shown["resource_id"] == lid
    second = raw(create(huawei, other, group="lg-2"))["logtank"]

    def ids(**query) -> list[str]:
        return [t["id"] for t in raw(huawei.list_logtanks(ListLogtanksRequest(**query)))["logtanks"]]
    assert {tank["id"], second["id"]} <= set(ids(resource_type="LISTENER"))
    assert ids(resource_ids=[lid]) == [tank["id"]]
    assert ids(resource_ids=[lid, other]) == [tank["id"], second["id"]]
    assert ids(id=second["id"]) == [second["id"]]
    page = raw(huawei.list_logtanks(ListLogtanksRequest(resource_ids=[lid, other], limit=1)))
    assert [t["id"] for t in page["logtanks"]] == [tank["id"]] and page["page_info"]["current_count"] == 1
    assert page["page_info"]["next_marker"] == tank["id"]
    rest = ids(resource_ids=[lid, other], limit=1, marker=tank["id"])
    assert rest == [second["id"]]

    opt = UpdateLogtankOption(log_group_id="lg-9", log_stream_id="ls-9")
    updated = raw(huawei.update_logtank(UpdateLogtankRequest(logtank_id=tank["id"],
                                                             body=UpdateLogtankRequestBody(logtank=opt))))
    assert (updated["logtank"]["log_group_id"], updated["logtank"]["log_stream_id"]) == ("lg-9", "ls-9")
    assert updated["logtank"]["id"] == tank["id"]

    assert huawei.delete_logtank(DeleteLogtankRequest(logtank_id=tank["id"])).status_code == 204
    refused(lambda: huawei.show_logtank(ShowLogtankRequest(logtank_id=tank["id"])), 404, "GA.9002")
    assert ids(resource_ids=[lid]) == []
    # the other one goes with its listener
    api("DeleteListeners", {"ProxyId": proxy, "ListenerIds": [other], "Force": 1})
    refused(lambda: huawei.show_logtank(ShowLogtankRequest(logtank_id=second["id"])), 404, "GA.9002")


def test_log_tank_refusals(api, huawei, proxy, uniq):
    [lid] = h.create_tcp_listeners(api, proxy, [h.listener_port()], uniq("ln"))
    refused(lambda: create(huawei, "listener-00000000"), 404, "GA.9002")
    msg = refused(lambda: create(huawei, lid, group=""), 400, "GA.9001")
    assert "log_group_id" in msg, msg
    msg = refused(lambda: create(huawei, lid, kind="ACCELERATOR"), 400, "GA.9001")
    assert "resource_type" in msg, msg
    tank = raw(create(huawei, lid))["logtank"]
    msg = refused(lambda: create(huawei, lid, group="again"), 400, "GA.9104")
    assert lid in msg, msg
    opt = UpdateLogtankOption(log_group_id="g", log_stream_id="s")
    refused(lambda: huawei.update_logtank(UpdateLogtankRequest(logtank_id=MISSING,
                                                               body=UpdateLogtankRequestBody(logtank=opt))),
            404, "GA.9002")
    refused(lambda: huawei.delete_logtank(DeleteLogtankRequest(logtank_id=MISSING)), 404, "GA.9002")
    refused(lambda: huawei.list_logtanks(ListLogtanksRequest(resource_type="ACCELERATOR")), 400, "GA.9001")
    assert huawei.delete_logtank(DeleteLogtankRequest(logtank_id=tank["id"])).status_code == 204


# -- the access log ---------------------------------------------------------------------------------------------

def log_lines(server, listener_id: str) -> list[dict]:
    path = server.data_dir / "access.log"
    if not path.exists():
        return []
    lines = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    return [x for x in lines if x["listener"] == listener_id]


def logged(huawei, listener_id: str) -> dict:
    tank = raw(create(huawei, listener_id))["logtank"]
    h.wait_until(lambda: raw(huawei.show_logtank(ShowLogtankRequest(logtank_id=tank["id"])))["logtank"]["status"]
                 == "ACTIVE", what="the log tank applied")
    return tank


def test_access_log_lines_of_tcp_connections_and_udp_flows(lab, server, huawei):
    quiet_origin = lab.tcp_origin("q")
    quiet = lab.tcp_listener([quiet_origin])
    assert dp.tcp_tag(quiet.port) == "q"

    origin = lab.tcp_origin("a")
    lst = lab.tcp_listener([origin])
    logged(huawei, lst.id)
    assert dp.tcp_tag(lst.port, line=b"hello") == "a"
    h.wait_until(lambda: log_lines(server, lst.id), timeout=10, what="the TCP access-log line")
    [line] = log_lines(server, lst.id)
    assert set(line) == {"time", "listener", "protocol", "client", "endpoint", "bytes_in", "bytes_out",
                         "duration_ms", "end"}, line
    assert TS_RE.match(line["time"]) and line["protocol"] == "TCP" and line["end"] == "closed", line
    assert line["client"].startswith("127.") and line["endpoint"] == f"{origin.ip}:{origin.port}", line
    assert (line["bytes_in"], line["bytes_out"]) == (len(b"hello\n"), len(b"a:hello\n")), line
    assert isinstance(line["duration_ms"], int) and line["duration_ms"] >= 0
    assert log_lines(server, quiet.id) == [], "a listener without a log tank writes nothing"

    udp_origin = lab.udp_origin("u")
    udp = lab.udp_listener([udp_origin], SessionPersist=1)
    logged(huawei, udp.id)
    client = dp.UdpClient(udp.port)
    lab.clients.append(client)
    reply = client.ask(b"ping")
    h.wait_until(lambda: log_lines(server, udp.id), timeout=15, what="the UDP flow's line when it expires")
    [flow] = log_lines(server, udp.id)
    assert (flow["protocol"], flow["end"], flow["endpoint"]) == ("UDP", "idle", f"{udp_origin.ip}:{udp_origin.port}")
    assert (flow["bytes_in"], flow["bytes_out"]) == (4, len(reply)), flow
    assert flow["client"] == f"127.0.0.1:{client.sock.getsockname()[1]}", flow
