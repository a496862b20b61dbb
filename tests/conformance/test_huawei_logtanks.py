"""Huawei GA log tanks through the official `huaweicloudsdkga` (issue 9): create, list (filters `id`, `status`,
repeated `resource_ids`, `resource_type`, paging), show, update, delete answer as the reference says (201/200/204,
the `LogtankDetail` shape), and each refusal: GA.9002 for an unknown listener or log tank, GA.9104 for a second
log tank on a listener, GA.9001 for a bad `resource_type` or an empty log group. A log tank goes with its
listener."""
import json
import re

import pytest
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException, ServerResponseException
from huaweicloudsdkga.v1 import (
    CreateLogtankOption, CreateLogtankRequest, CreateLogtankRequestBody, DeleteLogtankRequest, ListLogtanksRequest,
    ShowLogtankRequest, UpdateLogtankOption, UpdateLogtankRequest, UpdateLogtankRequestBody,
)

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
