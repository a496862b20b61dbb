"""Data plane, TCP: forwarding, PROXY v1/v2 as the origin sees it, Close/OpenProxies, draining,
deleting or changing one listener while connections run on another, a domain origin.

Listeners accept on 127.0.0.1:<port> (the suite runs the server with --bind-address 127.0.0.1);
origins are Python servers on 127.0.0.2, 127.0.0.3, …; clients bind other 127.x addresses."""
import os
import socket
import time

import pytest

import dataplane as dp
import helpers as h


def test_tcp_forwards_both_ways_with_rr(lab):
    a, b = lab.tcp_origin("a"), lab.tcp_origin("b")
    lst = lab.tcp_listener([a, b], Scheduler="rr")

    tags = [dp.tcp_tag(lst.port, line=b"req-%d" % i) for i in range(20)]
    got = dp.counts(tags)
    assert set(got) == {"a", "b"}, got
    # rr cycles: sequential connections alternate.
    assert abs(got["a"] - got["b"]) <= 2, got

    # Payload integrity both ways on one connection, several round trips, then a clean half-close.
    blob = os.urandom(96 * 1024).hex().encode()  # 192 KiB line
    with dp.TcpClient(lst.port) as c:
        first = c.ask(blob)
        t = dp.tag_of(first)
        assert first == t.encode() + b":" + blob
        for i in range(5):
            assert c.ask(b"again-%d" % i) == t.encode() + b":again-%d" % i
    # The origin saw the client bytes and nothing else in front of them (ClientIPMethod not set).
    origin = a if t == "a" else b
    assert any(c.raw.startswith(blob[:1024]) for c in origin.data_conns())


def test_tcp_proxy_protocol_v1_bytes(lab):
    o = lab.tcp_origin("v1")
    lst = lab.tcp_listener([o], ClientIPMethod=1)
    with dp.TcpClient(lst.port, src="127.0.0.10") as c:
        assert c.tag(b"first-line") == "v1"
        client = c.local
    [conn] = [x for x in o.data_conns() if b"first-line" in x.raw]
    want = dp.proxy_v1(client, ("127.0.0.1", lst.port))
    assert client[0] == "127.0.0.10"
    assert bytes(conn.raw) == want + b"first-line\n", bytes(conn.raw)


def test_tcp_proxy_protocol_v2_bytes(lab):
    o = lab.tcp_origin("v2")
    lst = lab.tcp_listener([o], ClientIPMethod=2)
    with dp.TcpClient(lst.port, src="127.0.0.11") as c:
        assert c.tag(b"second") == "v2"
        client = c.local
    [conn] = [x for x in o.data_conns() if b"second" in x.raw]
    want = dp.proxy_v2(client, ("127.0.0.1", lst.port), 0x11)
    assert len(want) == 28
    assert bytes(conn.raw) == want + b"second\n", bytes(conn.raw).hex()


def test_tcp_close_and_open_proxy(lab, api):
    o = lab.tcp_origin("c")
    lst = lab.tcp_listener([o])
    assert dp.tcp_tag(lst.port) == "c"

    api("CloseProxies", {"ProxyIds": [lst.proxy]})
    h.wait_proxy_status(api, lst.proxy, "CLOSED")
    dp.poll(lambda: dp.tcp_refused(lst.port), timeout=10, what="the closed proxy's listener refusing connections")

    api("OpenProxies", {"ProxyIds": [lst.proxy]})
    h.wait_proxy_status(api, lst.proxy, "RUNNING")
    lab.ready(lst)

    def works():
        try:
            return dp.tcp_tag(lst.port, timeout=2) == "c"
        except (OSError, dp.ClientError):
            return False
    dp.poll(works, timeout=10, what="the reopened proxy forwarding again")


def test_tcp_draining_keeps_open_connection(lab):
    """Unbinding an origin: its open connection keeps working, new connections avoid it."""
    a, b = lab.tcp_origin("a"), lab.tcp_origin("b")
    lst = lab.tcp_listener([a, b], Scheduler="rr")

    kept = None
    for _ in range(6):  # rr: one of the first few lands on a
        c = dp.TcpClient(lst.port)
        if c.tag(b"probe") == "a":
            kept = c
            break
        c.close()
    assert kept is not None, "no connection reached origin a"
    lab.clients.append(kept)

    lab.rebind(lst, [b])  # a unbound: draining
    tags = [dp.tcp_tag(lst.port) for _ in range(20)]
    assert set(tags) == {"b"}, dp.counts(tags)

    # The drained connection still relays both ways, a while later too.
    for i in range(3):
        assert kept.ask(b"still-%d" % i) == b"a:still-%d" % i
        time.sleep(0.5)
    assert a.open_count() >= 1
    kept.close()


def test_tcp_delete_or_modify_listener_leaves_other_connections(lab, api):
    a, b = lab.tcp_origin("a"), lab.tcp_origin("b")
    u = lab.udp_origin("u")
    proxy = lab.proxy()
    l1 = lab.tcp_listener([a], proxy=proxy)
    l2 = lab.tcp_listener([b], proxy=proxy)
    l3 = lab.udp_listener([u], proxy=proxy)

    c1 = dp.TcpClient(l1.port)
    c2 = dp.TcpClient(l2.port)
    f3 = dp.UdpClient(l3.port)
    lab.clients += [c1, c2, f3]
    assert c1.tag(b"one") == "a" and c2.tag(b"two") == "b" and f3.tag(b"three") == "u"

    # Delete l1: its port stops accepting; l2's connection and l3's flow never notice.
    resp = api("DeleteListeners", {"ProxyId": proxy, "ListenerIds": [l1.id], "Force": 1})
    assert resp["OperationSucceedListenerSet"] == [l1.id], resp
    lab.listeners.remove(l1)
    dp.poll(lambda: dp.tcp_refused(l1.port), timeout=10, what="the deleted listener's port refusing")
    for i in range(3):
        assert c2.ask(b"after-delete-%d" % i) == b"b:after-delete-%d" % i
        assert f3.ask(b"udp-after-delete-%d" % i) == b"u:udp-after-delete-%d" % i

    # Change l2 itself (name, scheduler, health check): its own open connection is untouched too.
    lab.modify(l2, ListenerName=lab.uniq("renamed"), Scheduler="lc")
    lab.modify(l2, HealthCheck=1, DelayLoop=5, ConnectTimeout=2)
    for i in range(3):
        assert c2.ask(b"after-modify-%d" % i) == b"b:after-modify-%d" % i
    assert dp.tcp_tag(l2.port) == "b"
    # The same connection, not a new one: the origin saw exactly one connection with these lines.
    [conn] = [x for x in b.data_conns() if b"two" in x.raw]
    assert b"after-modify-2" in conn.raw and not conn.closed


def _localhost_addrs() -> list[tuple[int, str]]:
    found = []
    for fam, _, _, _, sa in socket.getaddrinfo("localhost", None, proto=socket.IPPROTO_TCP):
        if (fam, sa[0]) not in found and fam in (socket.AF_INET, socket.AF_INET6):
            found.append((fam, sa[0]))
    return found


def test_tcp_domain_origin(lab):
    """RealServerType DOMAIN with origin "localhost": traffic reaches the origin on every address the
    name resolves to (127.0.0.1 and, where it resolves, ::1), all on the bound port."""
    addrs = _localhost_addrs()
    assert addrs, "localhost does not resolve"
    first = lab.tcp_origin("d0", ip=addrs[0][1], family=addrs[0][0])
    for i, (fam, ip) in enumerate(addrs[1:], 1):
        lab.tcp_origin(f"d{i}", ip=ip, port=first.port, family=fam)
    lst = lab.tcp_listener([first], address="localhost")
    assert h.describe_listener(lab.api, lst.id)["RealServerSet"][0]["RealServerIP"] == "localhost"

    # ListenerStatus 0 means the origins are in rotation: the very first connection is served.
    tags = [dp.tcp_tag(lst.port) for _ in range(10)]
    assert set(tags) <= {f"d{i}" for i in range(len(addrs))}, tags


@pytest.mark.parametrize("how", ["fin", "rst"])
def test_tcp_origin_closing_closes_client_promptly(lab, how):
    """An origin that closes (FIN) or aborts (RST) a connection mid-request: the client connection
    ends at once (EOF or reset), it is not left hanging until the idle timeout."""
    if how == "rst":
        o = lab.tcp_origin("r", mode="reset")
    else:
        o = lab.tcp_origin("f")
    lst = lab.tcp_listener([o])
    c = dp.TcpClient(lst.port, timeout=5)
    lab.clients.append(c)
    if how == "fin":
        assert c.tag(b"warm-up") == "f"
        o.kill()  # closes its end of the open connection
        c.sock.sendall(b"more\n")
    else:
        c.sock.sendall(b"boom\n")
    start = time.monotonic()
    try:
        data = c.sock.recv(100)
    except ConnectionResetError:
        data = b""
    except socket.timeout:
        data = None
    waited = time.monotonic() - start
    assert data == b"", f"client connection still open {waited:.1f}s after the origin's {how.upper()} (recv={data!r})"
    assert waited < 3, waited


def test_tcp_edge_sleeps_between_packets_unless_busy_polling(lab, server):
    """By default the edge sleeps in the kernel between packets and wakes for each; with --busy-poll
    (ONRAMP_TEST_BUSY_POLL=1) it never sleeps while it has listeners, so round trips do not wake it."""
    o = lab.tcp_origin("bp")
    lst = lab.tcp_listener([o])
    with dp.TcpClient(lst.port) as c:
        assert c.ask(b"warm") == b"bp:warm"
        before = server.edge_wakeups()
        for i in range(200):
            assert c.ask(b"rt-%d" % i) == b"bp:rt-%d" % i
            time.sleep(0.0002)  # a pause between round trips, as a real client has
        woke = server.edge_wakeups() - before
    print(f"the edge went to sleep {woke} times in 200 round trips")
    if h.BUSY_POLL:
        assert woke < 20, f"a busy-polling edge went to sleep {woke} times in 200 round trips"
    else:
        assert woke >= 100, f"an edge that sleeps woke only {woke} times in 200 round trips"
