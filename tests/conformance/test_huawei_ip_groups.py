"""Huawei GA IP address groups through `huaweicloudsdkga`: the nine operations (success and each documented
refusal), and access control enforced by the data plane: WHITE and BLACK lists for TCP and UDP with clients
bound to different 127.x source addresses, a change applied to a live listener without cutting an admitted
connection, and `onramp_acl_refused_total`. Listeners are made through GAAP and named by id (one model)."""
import json
import re
import subprocess
import time

import pytest
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException, ServerResponseException
from huaweicloudsdkga.v1 import (
    AddIpGroupIpRequest, AddIpGroupIpRequestBody, AssociateListenerRequest, AssociateListenerRequestBody,
    CreateIpGroupIpOption, CreateIpGroupOption, CreateIpGroupRequest, CreateIpGroupRequestBody,
    DeleteIpGroupRequest, DisassociateListenerRequest, DisassociateListenerRequestBody, ListIpGroupsRequest,
    ListRegionsRequest, RemoveIpGroupIpRequest, RemoveIpGroupIpRequestBody, ShowIpGroupRequest,
    UpdateIpGroupOption, UpdateIpGroupRequest, UpdateIpGroupRequestBody,
)

import dataplane as dp
import helpers as h

TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
IP_GROUP = {"id": str, "name": str, "description": str, "status": str,
            "ip_list": [{"cidr": str, "description": str, "created_at": str}],
            "associated_listeners": [{"listener_id": str, "type": str}], "created_at": str, "updated_at": str}
# Client source addresses of these tests (dataplane.CLIENT_IPS range, away from the Lab's origins).
ALLOWED, DENIED = "127.0.0.61", "127.0.0.62"


def raw(resp) -> dict:
    return json.loads(resp.raw_content) if resp.raw_content else {}


def refused(fn, status: int, code: str):
    with pytest.raises((ClientRequestException, ServerResponseException)) as info:
        fn()
    e = info.value
    assert (e.status_code, e.error_code) == (status, code), str(e)
    assert e.request_id and e.error_msg, str(e)
    return e


class Groups:
    """IP groups of one test, through the SDK; `close()` lets their listeners go and deletes them."""

    def __init__(self, client):
        self.c, self.ids = client, []

    def create(self, name, cidrs=(), description=None) -> dict:
        ips = [CreateIpGroupIpOption(cidr=c, description=f"d-{i}") for i, c in enumerate(cidrs)]
        body = CreateIpGroupRequestBody(ip_group=CreateIpGroupOption(name=name, description=description,
                                                                     ip_list=ips or None))
        g = raw(self.c.create_ip_group(CreateIpGroupRequest(body=body)))["ip_group"]
        self.ids.append(g["id"])
        return g

    def show(self, gid) -> dict:
        return raw(self.c.show_ip_group(ShowIpGroupRequest(ip_group_id=gid)))["ip_group"]

    def active(self, gid) -> dict:
        return h.wait_until(lambda: (g := self.show(gid))["status"] == "ACTIVE" and g, what=f"ip group {gid} ACTIVE")

    def add(self, gid, *cidrs):
        body = AddIpGroupIpRequestBody(ip_list=[CreateIpGroupIpOption(cidr=c) for c in cidrs])
        return raw(self.c.add_ip_group_ip(AddIpGroupIpRequest(ip_group_id=gid, body=body)))

    def remove(self, gid, *cidrs):
        body = RemoveIpGroupIpRequestBody(ip_list=list(cidrs))
        return raw(self.c.remove_ip_group_ip(RemoveIpGroupIpRequest(ip_group_id=gid, body=body)))

    def associate(self, gid, listener_id, kind):
        body = AssociateListenerRequestBody(listener_id=listener_id, type=kind)
        return raw(self.c.associate_listener(AssociateListenerRequest(ip_group_id=gid, body=body)))

    def disassociate(self, gid, listener_id):
        body = DisassociateListenerRequestBody(listener_id=listener_id)
        return raw(self.c.disassociate_listener(DisassociateListenerRequest(ip_group_id=gid, body=body)))

    def delete(self, gid):
        resp = self.c.delete_ip_group(DeleteIpGroupRequest(ip_group_id=gid))
        self.ids.remove(gid)
        return resp

    def close(self):
        for gid in list(self.ids):
            try:
                for a in self.show(gid)["associated_listeners"]:
                    self.disassociate(gid, a["listener_id"])
                self.delete(gid)
            except (ClientRequestException, ServerResponseException):
                pass


@pytest.fixture
def groups(huawei):
    g = Groups(huawei)
    yield g
    g.close()


# -- the operations ---------------------------------------------------------------------------------------------

def test_create_show_list_update_delete(huawei, groups, uniq):
    name = uniq("ipg")
    g = groups.create(name, ["10.0.0.0/8", "2001:db8::/32", "192.0.2.7"], description="office")
    h.check_shape(g, IP_GROUP, "ip_group")
    assert (g["name"], g["description"]) == (name, "office")
    assert [(i["cidr"], i["description"]) for i in g["ip_list"]] == [
        ("10.0.0.0/8", "d-0"), ("2001:db8::/32", "d-1"), ("192.0.2.7", "d-2")]
    assert g["associated_listeners"] == [] and g["status"] in ("PENDING", "ACTIVE")
    assert all(TS_RE.match(t) for t in (g["created_at"], g["updated_at"], g["ip_list"][0]["created_at"]))
    shown = groups.active(g["id"])
    assert shown["id"] == g["id"]
    typed = huawei.show_ip_group(ShowIpGroupRequest(ip_group_id=g["id"])).ip_group
    assert typed.ip_list[1].cidr == "2001:db8::/32" and not isinstance(typed.created_at, str)

    other = groups.create(uniq("ipg"))
    listed = raw(huawei.list_ip_groups(ListIpGroupsRequest(limit=500)))
    ids = [x["id"] for x in listed["ip_groups"]]
    assert g["id"] in ids and other["id"] in ids and ids.index(g["id"]) < ids.index(other["id"])
    page = raw(huawei.list_ip_groups(ListIpGroupsRequest(limit=1, marker=g["id"])))
    assert [x["id"] for x in page["ip_groups"]] == [ids[ids.index(g["id"]) + 1]]
    assert page["page_info"]["current_count"] == 1

    resp = huawei.update_ip_group(UpdateIpGroupRequest(ip_group_id=g["id"], body=UpdateIpGroupRequestBody(
        ip_group=UpdateIpGroupOption(name=name + "-2", description=""))))
    body = raw(resp)
    assert resp.status_code == 200 and body["request_id"]
    assert (body["ip_group"]["name"], body["ip_group"]["description"]) == (name + "-2", "")
    assert len(body["ip_group"]["ip_list"]) == 3

    resp = groups.delete(other["id"])
    assert resp.status_code == 204
    refused(lambda: groups.show(other["id"]), 404, "GA.9002")
    time.sleep(1.1)  # the same signed request within its second is a repeat, answered as the first was
    refused(lambda: huawei.delete_ip_group(DeleteIpGroupRequest(ip_group_id=other["id"])), 404, "GA.9002")


def test_add_and_remove_ips(huawei, groups, uniq):
    g = groups.create(uniq("ipg"), ["10.0.0.0/8"])
    resp = huawei.add_ip_group_ip(AddIpGroupIpRequest(ip_group_id=g["id"], body=AddIpGroupIpRequestBody(
        ip_list=[CreateIpGroupIpOption(cidr="172.16.0.0/12", description="lab"), CreateIpGroupIpOption(cidr="::1")])))
    assert resp.status_code == 200 and raw(resp)["request_id"]
    assert [i["cidr"] for i in groups.show(g["id"])["ip_list"]] == ["10.0.0.0/8", "172.16.0.0/12", "::1"]
    # A block already in the group, or twice in one request.
    refused(lambda: groups.add(g["id"], "10.0.0.0/8"), 400, "GA.9104")
    refused(lambda: groups.add(g["id"], "198.51.100.0/24", "198.51.100.0/24"), 400, "GA.9110")
    groups.remove(g["id"], "10.0.0.0/8", "::1/128")
    assert [i["cidr"] for i in groups.show(g["id"])["ip_list"]] == ["172.16.0.0/12"]
    e = refused(lambda: groups.remove(g["id"], "10.0.0.0/8"), 400, "GA.9001")
    assert "ip_list[0]" in e.error_msg
    refused(lambda: groups.add("1b11747a-b139-492f-9692-2df0b1c87193", "10.0.0.0/8"), 404, "GA.9002")


@pytest.mark.parametrize("cidr", ["10.0.0.1/8", "10.0.0.0/33", "300.1.1.1", "2001:db8::/129", "not-an-ip", ""])
def test_bad_cidrs_are_400_naming_the_field(huawei, groups, uniq, cidr):
    body = CreateIpGroupRequestBody(ip_group=CreateIpGroupOption(
        name=uniq("ipg"), ip_list=[CreateIpGroupIpOption(cidr="10.1.0.0/16"), CreateIpGroupIpOption(cidr=cidr)]))
    e = refused(lambda: huawei.create_ip_group(CreateIpGroupRequest(body=body)), 400, "GA.9001")
    assert "ip_group.ip_list[1].cidr" in e.error_msg, e.error_msg
    g = groups.create(uniq("ipg"))
    e = refused(lambda: groups.add(g["id"], cidr), 400, "GA.9001")
    assert "ip_list[0].cidr" in e.error_msg, e.error_msg


def test_bad_bodies_are_400(huawei, groups, uniq):
    g = groups.create(uniq("ipg"))
    e = refused(lambda: groups.associate(g["id"], "listener-00000000", "GREY"), 400, "GA.9001")
    assert "type" in e.error_msg
    body = CreateIpGroupRequestBody(ip_group=CreateIpGroupOption(name=""))
    e = refused(lambda: huawei.create_ip_group(CreateIpGroupRequest(body=body)), 400, "GA.9001")
    assert "ip_group.name" in e.error_msg
    many = [CreateIpGroupIpOption(cidr=f"10.9.{i}.0/24") for i in range(21)]
    e = refused(lambda: huawei.add_ip_group_ip(AddIpGroupIpRequest(
        ip_group_id=g["id"], body=AddIpGroupIpRequestBody(ip_list=many))), 400, "GA.9001")
    assert "ip_list" in e.error_msg


def test_quotas_of_blocks_and_groups(huawei, groups, uniq):
    # 200 blocks per group, 20 per call.
    g = groups.create(uniq("ipg"), [f"10.200.{i}.0/24" for i in range(20)])
    for n in range(1, 10):
        groups.add(g["id"], *[f"10.{n}.{i}.0/24" for i in range(20)])
    assert len(groups.show(g["id"])["ip_list"]) == 200
    e = refused(lambda: groups.add(g["id"], "192.0.2.0/24"), 400, "GA.9103")
    assert "200" in e.error_msg
    # 50 groups per account.
    held = len(raw(huawei.list_ip_groups(ListIpGroupsRequest()))["ip_groups"])
    for _ in range(50 - held):
        groups.create(uniq("ipg"))
    e = refused(lambda: groups.create(uniq("ipg")), 400, "GA.9103")
    assert "50" in e.error_msg


def test_list_queries_are_checked(huawei, groups, uniq):
    groups.create(uniq("ipg"))
    refused(lambda: huawei.list_ip_groups(ListIpGroupsRequest(limit=0)), 400, "GA.9001")
    refused(lambda: huawei.list_ip_groups(ListIpGroupsRequest(marker="1b11747a-b139-492f-9692-2df0b1c87193")),
            400, "GA.9001")
    assert raw(huawei.list_ip_groups(ListIpGroupsRequest(listener_id="listener-00000000")))["ip_groups"] == []


def test_associate_disassociate_and_the_deletion_order(api, huawei, groups, proxy, uniq):
    tcp, udp = h.listener_ports(2)
    [lt] = h.create_tcp_listeners(api, proxy, [tcp], uniq("ln"))
    [lu] = h.create_udp_listeners(api, proxy, [udp], uniq("ln"))
    g, other = groups.create(uniq("ipg"), ["127.0.0.0/8"]), groups.create(uniq("ipg"))
    resp = huawei.associate_listener(AssociateListenerRequest(ip_group_id=g["id"], body=AssociateListenerRequestBody(
        listener_id=lt, type="WHITE")))
    assert resp.status_code == 200 and raw(resp)["request_id"]
    groups.associate(g["id"], lu, "BLACK")
    shown = groups.active(g["id"])
    assert sorted((a["listener_id"], a["type"]) for a in shown["associated_listeners"]) == sorted(
        [(lt, "WHITE"), (lu, "BLACK")])
    # Filtered by listener: only that listener is shown among the associated ones.
    only = raw(huawei.list_ip_groups(ListIpGroupsRequest(listener_id=lu)))["ip_groups"]
    assert [x["id"] for x in only] == [g["id"]]
    assert only[0]["associated_listeners"] == [{"listener_id": lu, "type": "BLACK"}]
    # Associating again changes the type; a listener uses one group at a time.
    groups.associate(g["id"], lu, "WHITE")
    assert {a["listener_id"]: a["type"] for a in groups.show(g["id"])["associated_listeners"]}[lu] == "WHITE"
    refused(lambda: groups.associate(other["id"], lt, "WHITE"), 409, "GA.9005")
    refused(lambda: groups.associate(g["id"], "listener-00000000", "WHITE"), 404, "GA.9002")
    e = refused(lambda: groups.disassociate(other["id"], lt), 400, "GA.9001")
    assert "listener_id" in e.error_msg
    # Deletion order: a group still associated cannot be deleted.
    e = refused(lambda: groups.delete(g["id"]), 409, "GA.9005")
    assert g["id"] in e.error_msg
    resp = huawei.disassociate_listener(DisassociateListenerRequest(
        ip_group_id=g["id"], body=DisassociateListenerRequestBody(listener_id=lt)))
    assert resp.status_code == 200 and raw(resp)["request_id"]
    # Deleting the listener (through GAAP) lets the group go too.
    api("DeleteListeners", {"ProxyId": proxy, "ListenerIds": [lu], "Force": 1})
    h.wait_until(lambda: groups.show(g["id"])["associated_listeners"] == [], what="the listener gone from the group")
    assert groups.delete(g["id"]).status_code == 204


def _admin(server, *args) -> dict:
    out = subprocess.run([str(h.onramp_bin()), "admin", "--data-dir", str(server.data_dir), *args],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_another_accounts_groups_are_not_found(server, api, huawei_factory, groups, proxy, uniq):
    [lid] = h.create_tcp_listeners(api, proxy, [h.listener_port()], uniq("ln"))
    g = groups.create(uniq("ipg"), ["10.0.0.0/8"])
    other = _admin(server, "create-account", "--name", "huawei-ipg-b")
    theirs = huawei_factory(other["secret_id"], other["secret_key"])

    def loaded():
        try:
            theirs.list_regions(ListRegionsRequest())
            return True
        except ClientRequestException as e:
            return e.status_code != 401
    h.wait_until(loaded, what="the new key to be loaded")
    assert raw(theirs.list_ip_groups(ListIpGroupsRequest()))["ip_groups"] == []
    refused(lambda: theirs.show_ip_group(ShowIpGroupRequest(ip_group_id=g["id"])), 404, "GA.9002")
    refused(lambda: theirs.delete_ip_group(DeleteIpGroupRequest(ip_group_id=g["id"])), 404, "GA.9002")
    mine = Groups(theirs)
    refused(lambda: mine.add(g["id"], "10.1.0.0/16"), 404, "GA.9002")
    refused(lambda: mine.associate(g["id"], lid, "WHITE"), 404, "GA.9002")
    try:
        # Their own group cannot take our listener either.
        t = mine.create(uniq("ipg"))
        refused(lambda: mine.associate(t["id"], lid, "BLACK"), 404, "GA.9002")
    finally:
        mine.close()


# -- enforced by the data plane ---------------------------------------------------------------------------------

def _udp_silent(port: int, src: str) -> bool:
    c = dp.UdpClient(port, src)
    try:
        return all(c.silent(b"knock-%d" % i, wait=0.5) for i in range(2))
    finally:
        c.close()


def _tcp_refused_from(port: int, src: str) -> bool:
    """Connect from `src`: True if the connection is closed without a byte reaching an origin."""
    try:
        with dp.TcpClient(port, src, timeout=3) as c:
            c.ask(b"hello")
            return False
    except (dp.ClientError, ConnectionError):
        return True


def test_tcp_white_and_black(lab, groups, uniq):
    origin = lab.tcp_origin("t")
    lst = lab.tcp_listener([origin])
    assert dp.tcp_tag(lst.port, ALLOWED) == "t" and dp.tcp_tag(lst.port, DENIED) == "t"
    before = len(origin.data_conns())
    g = groups.create(uniq("ipg"), [f"{ALLOWED}/32"])
    groups.associate(g["id"], lst.id, "WHITE")
    groups.active(g["id"])
    lab.ready(lst)
    assert dp.tcp_tag(lst.port, ALLOWED) == "t"
    assert _tcp_refused_from(lst.port, DENIED)
    # The refused client never reached the origin: one more data connection (the allowed one).
    assert len(origin.data_conns()) == before + 1
    groups.associate(g["id"], lst.id, "BLACK")
    groups.active(g["id"])
    h.wait_until(lambda: _tcp_refused_from(lst.port, ALLOWED), what="BLACK applied")
    assert dp.tcp_tag(lst.port, DENIED) == "t"
    assert lab.metric("onramp_acl_refused_total", lst.id) >= 2
    groups.disassociate(g["id"], lst.id)
    h.wait_until(lambda: not _tcp_refused_from(lst.port, ALLOWED), what="access control lifted")


def test_udp_white_and_black(lab, groups, uniq):
    origin = lab.udp_origin("u")
    lst = lab.udp_listener([origin])
    g = groups.create(uniq("ipg"), [f"{ALLOWED}/32"])
    groups.associate(g["id"], lst.id, "WHITE")
    groups.active(g["id"])
    lab.ready(lst)
    c = dp.UdpClient(lst.port, ALLOWED)
    lab.clients.append(c)
    assert c.tag(b"hi") == "u"
    # A refused source gets no flow: its datagrams are dropped, nothing comes back.
    assert _udp_silent(lst.port, DENIED)
    refusals = lab.metric("onramp_acl_refused_total", lst.id)
    assert refusals >= 2
    groups.associate(g["id"], lst.id, "BLACK")
    groups.active(g["id"])
    # New flows are judged by the new rule: the listed source is refused, the other admitted.
    h.wait_until(lambda: _udp_silent(lst.port, ALLOWED), what="BLACK applied")
    d = dp.UdpClient(lst.port, DENIED)
    lab.clients.append(d)
    assert d.tag(b"now") == "u"
    # The flow admitted before the change lives on.
    assert c.tag(b"still") == "u"
    assert lab.metric("onramp_acl_refused_total", lst.id) > refusals


def test_a_change_keeps_admitted_tcp_connections(lab, groups, uniq):
    origin = lab.tcp_origin("t")
    lst = lab.tcp_listener([origin])
    g = groups.create(uniq("ipg"), [f"{ALLOWED}/32"])
    groups.associate(g["id"], lst.id, "WHITE")
    groups.active(g["id"])
    with dp.TcpClient(lst.port, ALLOWED) as live:
        assert live.tag(b"one") == "t"
        # The group no longer admits this client: new connections are refused, the open one goes on.
        groups.add(g["id"], "10.0.0.0/8")
        groups.remove(g["id"], f"{ALLOWED}/32")
        groups.active(g["id"])
        h.wait_until(lambda: _tcp_refused_from(lst.port, ALLOWED), what="the new list applied")
        assert live.tag(b"two") == "t"
    assert lab.metric("onramp_acl_refused_total", lst.id) >= 1
