"""Many machines on one box: two `onramp control` nodes over PostgreSQL (a private schema) and three
`onramp edge` nodes in two regions on distinct loopback addresses (e1, e2 in r1; e3 in r2).

The tests run in order and share the cluster: regions and placement first, then every failure the
issue names, each asserted on traffic (which edge forwards to which origin) and on what the APIs
report. Skipped, with a message, without ONRAMP_TEST_POSTGRES_URL.
"""
from __future__ import annotations

import threading
import time
import uuid

import pytest

import helpers as h
import multinode as m
from dataplane import TcpOrigin

E1, E2, E3 = "127.0.61.1", "127.0.61.2", "127.0.62.1"
# Edges of a region move to another control node "within seconds"; the lost timeout is 3 s here.
MOVE = 15.0


class Cluster:
    def __init__(self, base):
        self.base = base
        self.schema = m.Schema()
        self.token = uuid.uuid4().hex
        key = base / "master.key"
        self.a = m.ControlNode("control-a", base / "a", self.schema, key, self.token)
        self.b = m.ControlNode("control-b", base / "b", self.schema, key, self.token)
        self.a.start()  # first: it makes the root key and the master key
        self.b.start()
        both, b_first = [self.a, self.b], [self.b, self.a]
        self.e1 = m.EdgeNode("e1", base / "e1", "r1", E1, both, self.token)
        self.e2 = m.EdgeNode("e2", base / "e2", "r1", E2, both, self.token)
        self.e3 = m.EdgeNode("e3", base / "e3", "r2", E3, b_first, self.token)
        self.edges = [self.e1, self.e2, self.e3]
        for e in self.edges:
            e.start()
        self.origins: list[TcpOrigin] = []

    def procs(self):
        return [self.a, self.b, *self.edges]

    def live(self, node: m.ControlNode) -> set[str]:
        return {e["name"] for e in node.edges()["edges"] if e["state"] == "live"}

    def origin(self, tag: str, ip: str) -> TcpOrigin:
        o = TcpOrigin(ip, 0, tag).start()
        self.origins.append(o)
        return o

    def close(self):
        for p in self.procs():
            p.kill()
        for o in self.origins:
            o.stop()
        self.schema.drop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    m.require_postgres()
    h.require_binary()
    c = Cluster(tmp_path_factory.mktemp("multinode"))
    try:
        for node in (c.a, c.b):
            m.wait_for(lambda: c.live(node) == {"e1", "e2", "e3"}, timeout=20, what=f"{node.name} sees 3 edges")
        yield c
        panics = [p.name for p in c.procs() if h.PANIC_TEXT in p.logs()]
        assert not panics, f"panicked: {panics}\n" + "\n".join(p.tail() for p in c.procs())
    finally:
        c.close()


def proxy(api: h.GaapApi, region: str, name: str) -> str:
    return h.create_proxy(api, name, AccessRegion=region, RealServerRegion=region, Bandwidth=100)


def listener(api: h.GaapApi, proxy_id: str, port: int, origin: TcpOrigin, name: str) -> str:
    [lid] = h.create_tcp_listeners(api, proxy_id, [port], name, HealthCheck=0)
    rs = h.add_real_servers(api, name, [origin.ip])
    h.bind(api, lid, [h.bind_item(rs[origin.ip], origin.ip, origin.port)])
    return lid


def rebind(api: h.GaapApi, lid: str, origin: TcpOrigin, name: str):
    rs = h.add_real_servers(api, name, [origin.ip])
    h.bind(api, lid, [h.bind_item(rs[origin.ip], origin.ip, origin.port)])


@pytest.fixture(scope="module")
def placed(cluster):
    """A proxy in each region, made through control node B, each with one TCP listener and origin."""
    api = cluster.b.gaap()
    o1, o2 = cluster.origin("o1", "127.0.63.1"), cluster.origin("o2", "127.0.63.2")
    p1, p2 = proxy(api, "r1", "mn-r1"), proxy(api, "r2", "mn-r2")
    x, y = h.listener_port(), h.listener_port()
    l1 = listener(api, p1, x, o1, "mn-l1")
    l2 = listener(api, p2, y, o2, "mn-l2")
    return {"x": x, "y": y, "l1": l1, "l2": l2, "p1": p1, "p2": p2}


def test_regions_are_the_edges_regions_on_every_control_node(cluster):
    for node in (cluster.a, cluster.b):
        regions = node.gaap()("DescribeAccessRegions")["AccessRegionSet"]
        assert [r["RegionId"] for r in regions] == ["r1", "r2"]
        hw = node.edges()["regions"]
        assert {r["region"]: sorted(r["addresses"]) for r in hw} == {"r1": [E1, E2], "r2": [E3]}


def test_a_proxy_opens_on_every_edge_of_its_region_and_nowhere_else(cluster, placed):
    x, y = placed["x"], placed["y"]
    a = cluster.a.gaap()
    h.wait_listener_ready(a, placed["l1"])
    h.wait_listener_ready(a, placed["l2"])
    assert m.tag_via(E1, x) == "o1" and m.tag_via(E2, x) == "o1"
    assert m.tag_via(E3, x) is None
    assert m.tag_via(E3, y) == "o2"
    assert m.tag_via(E1, y) is None and m.tag_via(E2, y) is None
    info = a("DescribeProxies", {"InstanceIds": [placed["p1"]]})["ProxySet"][0]
    assert sorted(i["IP"] for i in info["IPList"]) == [E1, E2]
    assert info["Status"] == "RUNNING"
