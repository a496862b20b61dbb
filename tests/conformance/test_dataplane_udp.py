"""Data plane, UDP: flows forwarded both ways, one origin per flow, the PROXY v2 header in front of
the first datagram of each flow only, source-IP affinity across flows, batched bursts in order and
large datagrams whole."""
import pytest

import dataplane as dp


def test_udp_forwards_flows_both_ways(lab):
    a, b = lab.udp_origin("a"), lab.udp_origin("b")
    lst = lab.udp_listener([a, b], Scheduler="rr")

    flows = [dp.UdpClient(lst.port) for _ in range(10)]
    lab.clients += flows
    first = [f.tag(b"hello-%d" % i) for i, f in enumerate(flows)]
    got = dp.counts(first)
    assert set(got) == {"a", "b"}, got
    assert abs(got["a"] - got["b"]) <= 2, got  # rr across new flows
    # A flow keeps its origin; every datagram comes back whole.
    for i, f in enumerate(flows):
        for k in range(3):
            payload = b"flow-%d-msg-%d-" % (i, k) + bytes(range(256)) * 4
            assert f.ask(payload) == first[i].encode() + b":" + payload
    # The origins saw the client datagrams untouched (no header without ClientIPMethod), each flow
    # from one upstream address.
    for o in (a, b):
        peers = o.peers()
        assert peers, o.tag
        assert all(p[0].startswith("127.") for p in peers)
    assert sum(len(o.datagrams) for o in (a, b)) == 10 * 4


@pytest.mark.parametrize("method", [1, 2])
def test_udp_proxy_v2_header_on_first_datagram_only(lab, method):
    o = lab.udp_origin("pp")
    lst = lab.udp_listener([o], ClientIPMethod=method)
    for n, src in enumerate(("127.0.0.12", "127.0.0.13")):  # two flows, each gets its own header
        f = dp.UdpClient(lst.port, src=src)
        lab.clients.append(f)
        assert f.tag(b"first-%d" % n) == "pp"
        assert f.tag(b"second-%d" % n) == "pp"
        assert f.tag(b"third-%d" % n) == "pp"
        mine = [d for _, d in o.datagrams if d.endswith((b"first-%d" % n, b"second-%d" % n, b"third-%d" % n))]
        want = dp.proxy_v2(f.local, ("127.0.0.1", lst.port), 0x12)
        assert mine == [want + b"first-%d" % n, b"second-%d" % n, b"third-%d" % n], [d.hex() for d in mine]


def test_udp_source_ip_affinity(lab):
    """SessionPersist: every flow from one client address reaches the same origin."""
    origins = [lab.udp_origin(t) for t in ("a", "b", "c")]
    lst = lab.udp_listener(origins, Scheduler="rr", SessionPersist=60)
    seen: dict[str, set] = {}
    for ip in dp.CLIENT_IPS[:16]:
        for k in range(3):  # three sockets (source ports) = three flows per client address
            f = dp.UdpClient(lst.port, src=ip)
            lab.clients.append(f)
            seen.setdefault(ip, set()).add(f.tag(b"%s-%d" % (ip.encode(), k)))
    assert all(len(t) == 1 for t in seen.values()), seen
    used = set().union(*seen.values())
    assert len(used) >= 2, f"16 client addresses all hashed to {used}"


def test_udp_bursts_keep_order_and_large_datagrams_arrive_whole(lab):
    """The edge takes datagrams in batches (recvmmsg/sendmmsg): bursts from several flows at once
    come back complete and in order per flow, and a 60,000-byte datagram crosses both ways whole."""
    o = lab.udp_origin("b")
    lst = lab.udp_listener([o])
    flows = [dp.UdpClient(lst.port) for _ in range(4)]
    lab.clients += flows
    for f in flows:
        assert f.tag(b"open") == "b"
    burst = 20  # 80 datagrams in flight stay well inside the origin's default receive buffer
    for k in range(burst):  # interleaved: every flow has datagrams queued at the edge together
        for i, f in enumerate(flows):
            f.sock.sendto(b"f%d-%03d-" % (i, k) + bytes(200), ("127.0.0.1", lst.port))
    for i, f in enumerate(flows):
        got = []
        while len(got) < burst:
            data, _ = f.sock.recvfrom(65536)  # the client's 2 s timeout fails the test on a loss
            got.append(data)
        assert got == [b"b:f%d-%03d-" % (i, k) + bytes(200) for k in range(burst)]
    big = bytes(range(256)) * 234 + b"end"  # 59,907 bytes
    assert flows[0].ask(big) == b"b:" + big


def test_udp_flow_fails_over_when_its_origin_goes_away(lab):
    """No health check: a kept UDP flow whose origin stops listening (the origin answers ICMP port
    unreachable) moves to another origin within a few datagrams instead of staying on the dead one
    until it comes back."""
    a, b = lab.udp_origin("a"), lab.udp_origin("b")
    lst = lab.udp_listener([a, b], Scheduler="rr")
    f = dp.UdpClient(lst.port, timeout=0.5)
    lab.clients.append(f)
    first = f.tag(b"before")
    dead, alive = (a, "b") if first == "a" else (b, "a")
    dead.kill()
    got = []
    for i in range(10):  # bounded: the first datagram after the kill meets the ICMP error
        try:
            got.append(f.tag(b"after-%d" % i))
        except dp.ClientError:
            got.append(None)
        if got[-1] == alive:
            break
    assert got[-1] == alive, f"the flow stayed on the dead origin: {got}"
    assert got.count(None) <= 2, got
    # It stays on the live origin.
    assert [f.tag(b"then-%d" % i) for i in range(5)] == [alive] * 5
    dead.restart()
