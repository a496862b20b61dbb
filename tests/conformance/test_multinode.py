"""Many machines on one box: two `onramp control` nodes over PostgreSQL (a private schema) and three
`onramp edge` nodes in two regions on distinct loopback addresses (e1, e2 in r1; e3 in r2).

The tests run in order and share the cluster: regions and placement first, then every failure the
issue names, each asserted on traffic (which edge forwards to which origin) and on what the APIs
report. Skipped, with a message, without ONRAMP_TEST_POSTGRES_URL.
"""
from __future__ import annotations

import json
import signal
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
        self.rs: dict[str, str] = {}  # origin address -> rs id

    def procs(self):
        return [self.a, self.b, *self.edges]

    def live(self, node: m.ControlNode) -> set[str]:
        return {e["name"] for e in node.edges()["edges"] if e["state"] == "live"}

    def origin(self, tag: str, ip: str) -> TcpOrigin:
        o = TcpOrigin(ip, 0, tag).start()
        self.origins.append(o)
        return o

    def bind(self, api: h.GaapApi, lid: str, origin: TcpOrigin, wait: bool = True, weight: int | None = None):
        """Bind `origin` (registered once) as the listener's only origin; `wait`: until running."""
        if origin.ip not in self.rs:
            self.rs.update(h.add_real_servers(api, f"rs-{origin.tag}", [origin.ip]))
        items = [h.bind_item(self.rs[origin.ip], origin.ip, origin.port, weight)]
        if wait:
            h.bind(api, lid, items)
        else:
            api("BindListenerRealServers", {"ListenerId": lid, "RealServerBindSet": items})

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




@pytest.fixture(scope="module")
def placed(cluster):
    """A proxy in each region, made through control node B, each with one TCP listener and origin."""
    api = cluster.b.gaap()
    o1, o2 = cluster.origin("o1", "127.0.63.1"), cluster.origin("o2", "127.0.63.2")
    p1, p2 = proxy(api, "r1", "mn-r1"), proxy(api, "r2", "mn-r2")
    x, y = h.listener_port(), h.listener_port()
    [l1] = h.create_tcp_listeners(api, p1, [x], "mn-l1", HealthCheck=0)
    [l2] = h.create_tcp_listeners(api, p2, [y], "mn-l2", HealthCheck=0)
    cluster.bind(api, l1, o1)
    cluster.bind(api, l2, o2)
    return {"x": x, "y": y, "l1": l1, "l2": l2, "p1": p1, "p2": p2, "o1": o1, "o2": o2}


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


def test_switching_a_listener_between_origins_and_back_reaches_every_edge(cluster, placed):
    """A → B → A, each bind on control node B (the deltas of the same listener, one after another), seen
    through both edges of the region each time. (Each bind differs in its weight: two identical writes signed
    in the same second are one request, docs/api.md "Replay".)"""
    api = cluster.b.gaap()
    a, b = placed["o1"], cluster.origin("o1b", "127.0.63.3")
    for i, o in enumerate((b, a, b, a)):
        cluster.bind(api, placed["l1"], o, wait=False, weight=10 + i)
        m.wait_for(lambda: m.tag_via(E1, placed["x"]) == o.tag and m.tag_via(E2, placed["x"]) == o.tag,
                   timeout=10, what=f"{o.tag} answering through e1 and e2")


def test_a_bm_load_balancer_made_on_a_control_node_is_served_by_the_edges_of_its_region(cluster, placed):
    """BM through a control node (no region of its own): the load balancer goes to the first region the
    edges registered (r1), shows those edges' addresses as its VIPs, and a TCP listener with a backend
    bound by address forwards through both r1 edges and not through r2's; GAAP on the other node sees it."""
    from bm import V3
    v3 = V3(cluster.a, None)
    [lb] = v3("CreateLoadBalancers", {"VpcId": "vpc-multinode", "LoadBalancerType": "open"})["LoadBalancerIds"]
    [got] = v3("DescribeLoadBalancers", {"LoadBalancerIds": [lb]})["LoadBalancerSet"]
    assert sorted(got["LoadBalancerVips"]) == [E1, E2], got
    port = h.listener_port()
    v3.wait_task(v3("CreateL4Listeners", {"LoadBalancerId": lb, "ListenerSet": [
        {"LoadBalancerPort": port, "Protocol": "tcp", "ListenerName": "mn-bm", "HealthSwitch": 0}]})["TaskId"])
    [lid] = [l["ListenerId"] for l in v3("DescribeL4Listeners", {"LoadBalancerId": lb})["ListenerSet"]]
    o = cluster.origin("bm", "127.0.63.9")
    v3.wait_task(v3("BindL4Backends", {"LoadBalancerId": lb, "ListenerId": lid, "BindType": 1,
                                       "BackendSet": [{"Port": o.port, "InstanceId": o.ip, "Weight": 10}]})["TaskId"])
    m.wait_for(lambda: m.tag_via(E1, port) == "bm" and m.tag_via(E2, port) == "bm", timeout=MOVE,
               what="the BM listener forwards through both r1 edges")
    assert m.tag_via(E3, port) is None
    proxies = [p for p in cluster.b.gaap()("DescribeProxies", {"Limit": 100})["ProxySet"] if p["ProxyId"] == lb]
    assert [p["AccessRegion"] for p in proxies] == ["r1"], proxies
    v3.wait_task(v3("DeleteLoadBalancer", {"LoadBalancerId": lb})["TaskId"])
    m.wait_for(lambda: m.tag_via(E1, port, timeout=1) is None, timeout=MOVE, what="the BM listener closed")


def origin_ids(api: h.GaapApi) -> set[str]:
    """Every origin of project 0, page by page."""
    ids: set[str] = set()
    for offset in range(0, 10_000, 50):
        page = api("DescribeRealServers", {"ProjectId": 0, "Limit": 50, "Offset": offset})["RealServerSet"]
        ids |= {r["RealServerId"] for r in page}
        if len(page) < 50:
            return ids
    return ids


def has_all(api: h.GaapApi, ids: set[str]) -> bool:
    got = origin_ids(api)
    assert ids <= got, f"missing {sorted(ids - got)[:5]} of {len(ids)} ({len(got)} listed)"
    return True


def test_concurrent_creates_on_two_control_nodes_keep_uniqueness(cluster, placed):
    a, b = cluster.a.gaap(), cluster.b.gaap()
    port = h.listener_port()
    start = threading.Barrier(2)
    won, lost = [], []

    def create(api, name):
        start.wait(5)
        try:
            won.append(api("CreateTCPListeners", {"ProxyId": placed["p1"], "ListenerName": name, "Ports": [port],
                                                 "Scheduler": "rr", "HealthCheck": 0, "RealServerType": "IP"}))
        except Exception as e:  # the SDK raises the loser's error
            lost.append(e)

    threads = [threading.Thread(target=create, args=(api, n)) for api, n in ((a, "race-a"), (b, "race-b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert (len(won), len(lost)) == (1, 1), (won, lost)
    for api in (a, b):
        def one_on_port():
            on_port = [l for l in api("DescribeTCPListeners", {"ProxyId": placed["p1"]})["ListenerSet"]
                       if l["Port"] == port]
            assert len(on_port) == 1, on_port
            return True
        m.wait_for(one_on_port, timeout=10, what="one listener on the raced port, on both nodes")


def test_concurrent_writes_on_two_control_nodes_lose_nothing(cluster, placed):
    a, b = cluster.a.gaap(), cluster.b.gaap()
    made = []

    def many(api, tag):
        for i in range(8):
            made.append(h.add_real_servers(api, f"many-{tag}-{i}", [f"10.61.{len(tag)}.{i + 1}"]))

    threads = [threading.Thread(target=many, args=(api, t)) for api, t in ((a, "a"), (b, "bb"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    ids = {i for d in made for i in d.values()}
    assert len(ids) == 16
    for api in (a, b):
        m.wait_for(lambda: has_all(api, ids), timeout=10, what="every origin made on either node, on both")


def test_a_control_node_killed_mid_write_loses_no_acknowledged_write(cluster, placed):
    a = cluster.a.gaap()
    acked, errors = [], []
    stop = threading.Event()

    def write():
        i = 0
        while not stop.is_set() and i < 500:
            try:
                acked.append(h.add_real_servers(a, f"mid-{i}", [f"10.62.{i // 250}.{i % 250 + 1}"]))
            except Exception as e:
                errors.append(e)
                return
            i += 1

    t = threading.Thread(target=write)
    t.start()
    m.wait_for(lambda: len(acked) >= 5, timeout=30, what="writes through control node A")
    cluster.a.kill()
    stop.set()
    t.join(30)
    ids = {i for d in acked for i in d.values()}
    b = cluster.b.gaap()

    m.wait_for(lambda: has_all(b, ids), timeout=10, what=f"all {len(ids)} acknowledged writes, through B")
    # e1 and e2 followed A: they move to B and apply what is written there.
    o3 = cluster.origin("o3", "127.0.63.3")
    t0 = time.monotonic()
    cluster.bind(b, placed["l1"], o3)
    for ip in (E1, E2):
        m.wait_for(lambda: m.tag_via(ip, placed["x"]) == "o3", timeout=MOVE, what=f"{ip} forwards to o3")
    moved = time.monotonic() - t0
    assert moved < MOVE, moved
    h.wait_listener_ready(b, placed["l1"])
    assert cluster.live(cluster.b) == {"e1", "e2", "e3"}


def test_every_control_node_down_edges_keep_forwarding_and_a_restarted_edge_serves_its_copy(cluster, placed):
    x, y = placed["x"], placed["y"]
    kept = socket_to(E3, y)
    cluster.b.kill()
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        assert m.tag_via(E1, x) == "o3" and m.tag_via(E3, y) == "o2"
        time.sleep(0.1)
    assert ask(kept) == "o2", "a connection open through the outage keeps going"
    cluster.e1.kill()
    cluster.e1.start()
    m.wait_for(lambda: m.tag_via(E1, x) == "o3", timeout=10, what="the restarted e1 serves its state directory")
    assert "kept in the state directory" in cluster.e1.logs()
    cluster.kept = kept


def socket_to(ip: str, port: int):
    import socket
    s = socket.create_connection((ip, port), timeout=5)
    s.settimeout(5)
    return s


def ask(s) -> str:
    s.sendall(b"still\n")
    buf = b""
    while b"\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            return ""
        buf += chunk
    return buf.split(b":", 1)[0].decode()


def test_control_back_edges_catch_up_without_a_restart(cluster, placed):
    pids = {e.name: e.proc.pid for e in cluster.edges}
    cluster.a.start()
    cluster.b.start()
    a = cluster.a.gaap()
    cluster.bind(a, placed["l1"], placed["o1"])
    for ip in (E1, E2):
        m.wait_for(lambda: m.tag_via(ip, placed["x"]) == "o1", timeout=MOVE, what=f"{ip} back on o1")
    assert {e.name: e.proc.pid for e in cluster.edges} == pids, "no edge restarted"
    assert ask(cluster.kept) == "o2", "e3's open connection lived through it all"
    for node in (cluster.a, cluster.b):
        m.wait_for(lambda: cluster.live(node) == {"e1", "e2", "e3"}, timeout=MOVE, what=f"{node.name} sees 3 edges")
    h.wait_listener_ready(a, placed["l1"])


def test_postgres_connections_dropped_control_nodes_reconnect(cluster, placed):
    assert cluster.schema.terminate() > 0
    o4 = cluster.origin("o4", "127.0.63.4")
    for node in (cluster.a, cluster.b):
        api = node.gaap()
        m.wait_for(lambda: api("DescribeProxies", {"InstanceIds": [placed["p1"]]})["TotalCount"] == 1,
                   timeout=10, what=f"{node.name} answers after its connections were cut")
    m.wait_for(lambda: cluster.bind(cluster.b.gaap(), placed["l1"], o4) or True, timeout=10,
               what="a write after the connections were cut")
    m.wait_for(lambda: m.tag_via(E1, placed["x"]) == "o4", timeout=MOVE, what="e1 forwards to o4")


def test_health_is_aggregated_from_the_edges_of_the_region_on_both_nodes(cluster, placed):
    a, b = cluster.a.gaap(), cluster.b.gaap()
    o6 = cluster.origin("o6", "127.0.63.6")
    port = h.listener_port()
    [lid] = h.create_tcp_listeners(b, placed["p1"], [port], "mn-health", HealthCheck=1, DelayLoop=5,
                                   ConnectTimeout=2, HealthyThreshold=1, UnhealthyThreshold=1)
    cluster.bind(b, lid, o6)
    rs = cluster.rs[o6.ip]
    for api in (a, b):
        m.wait_for(lambda: h.bound_set(api, lid)[rs]["RealServerStatus"] == 0, timeout=20,
                   what="the origin normal on both nodes")
    o6.kill()
    for api in (a, b):
        m.wait_for(lambda: h.bound_set(api, lid)[rs]["RealServerStatus"] == 1, timeout=20,
                   what="the killed origin abnormal on both nodes")
    o6.restart()
    for api in (a, b):
        m.wait_for(lambda: h.bound_set(api, lid)[rs]["RealServerStatus"] == 0, timeout=20,
                   what="the origin normal again")


def test_a_silent_edge_stops_holding_statuses_back_and_is_shown_lost(cluster, placed):
    import signal
    a = cluster.a.gaap()
    cluster.e2.proc.send_signal(signal.SIGSTOP)
    stopped = time.monotonic()
    try:
        cluster.bind(a, placed["l1"], placed["o1"], wait=False)
        status = h.describe_listener(a, placed["l1"])["ListenerStatus"]
        assert status == 3, "still binding: e2 has not applied it"
        # Another region's listener does not wait for e2: running long before e2 can be lost
        # (3 s after its last report, which came at most 1 s before it stopped).
        cluster.bind(a, placed["l2"], cluster.origin("o5", "127.0.63.5"), wait=False)
        m.wait_for(lambda: h.describe_listener(a, placed["l2"])["ListenerStatus"] == 0, timeout=1.5,
                   what="the r2 listener running while e2 (r1) is silent")
        assert time.monotonic() - stopped < 1.9
        m.wait_for(lambda: h.describe_listener(a, placed["l1"])["ListenerStatus"] == 0, timeout=10,
                   what="running once e2 is lost")
        lost = {e["name"]: e["state"] for e in cluster.a.edges()["edges"]}
        assert lost["e2"] == "lost", lost
        assert m.tag_via(E1, placed["x"]) == "o1"
    finally:
        cluster.e2.proc.send_signal(signal.SIGCONT)
    m.wait_for(lambda: m.tag_via(E2, placed["x"]) == "o1", timeout=MOVE, what="e2 catches up")
    m.wait_for(lambda: "e2" in cluster.live(cluster.a), timeout=MOVE, what="e2 live again")


def test_a_wrong_token_is_refused_and_logged_on_both_sides(cluster, placed):
    # This edge also logs JSON (`--log-format json` holds for the edge role) and shrugs off a SIGHUP.
    bad = m.EdgeNode("e4", cluster.base / "e4", "r2", "127.0.62.2", [cluster.a], "not-the-token",
                     extra=("--log-format", "json"))
    bad.start()
    try:
        m.wait_for(lambda: "refused this edge's token" in bad.logs(), timeout=10, what="the edge logs the 401")
        m.wait_for(lambda: "edge request refused" in cluster.a.logs(), timeout=10, what="control logs the 401")
        assert "e4" not in {e["name"] for e in cluster.a.edges()["edges"]}
        assert m.tag_via("127.0.62.2", placed["y"]) is None, "nothing was sent to it"
        events = [json.loads(line) for line in bad.stderr_path.read_text().splitlines() if line.strip()]
        assert all({"timestamp", "level", "message"} <= set(e) for e in events), events
        assert any("refused this edge's token" in e["message"] and e["level"] in ("WARN", "ERROR")
                   for e in events), events
        bad.proc.send_signal(signal.SIGHUP)
        m.wait_for(lambda: "SIGHUP" in bad.logs(), timeout=10, what="the edge logs the SIGHUP")
        time.sleep(0.5)
        assert bad.proc.poll() is None, "a SIGHUP ended the edge"
    finally:
        bad.stop()


def test_edges_verify_https_control_nodes(cluster, placed, tmp_path):
    import trustme
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1")
    cert, key, ca_file = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    cert.write_bytes(b"".join(p.bytes() for p in leaf.cert_chain_pems))
    leaf.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(ca_file))
    c = m.ControlNode("control-c", cluster.base / "c", cluster.schema, cluster.base / "master.key", cluster.token,
                      tls=(cert, key, ca_file))
    c.start()
    good = m.EdgeNode("e5", cluster.base / "e5", "r2", "127.0.62.3", [c], cluster.token,
                      extra=("--control-ca", str(ca_file)))
    bad = m.EdgeNode("e6", cluster.base / "e6", "r2", "127.0.62.4", [c], cluster.token)
    try:
        good.start()
        bad.start()
        y = placed["y"]
        m.wait_for(lambda: m.tag_via("127.0.62.3", y) == m.tag_via(E3, y) != None, timeout=MOVE,  # noqa: E711
                   what="e5 follows the control node over verified TLS")
        assert "e5" in {e["name"] for e in c.edges()["edges"]}
        m.wait_for(lambda: "certificate" in bad.logs().lower(), timeout=10,
                   what="e6 refuses a control node it cannot verify")
        assert "e6" not in {e["name"] for e in c.edges()["edges"]}
        assert m.tag_via("127.0.62.4", y) is None
    finally:
        for p in (good, bad, c):
            p.stop()
