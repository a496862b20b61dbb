"""Data plane, scheduling: wrr spreads by weight (weight 0 gets nothing), lc picks the origin with
the fewest open connections, lrtt picks the origin whose health check answers fastest, and source-IP
affinity holds a client on its origin and moves it only when that origin dies."""
import time

import dataplane as dp


def test_wrr_spreads_by_weight(lab):
    a, b, z = lab.tcp_origin("a"), lab.tcp_origin("b"), lab.tcp_origin("z")
    lst = lab.tcp_listener([a, b, z], Scheduler="wrr", weights=[3, 1, 0])
    n = 400
    got = dp.counts(dp.tcp_tag(lst.port, line=b"w%d" % i) for i in range(n))
    assert got.get("z", 0) == 0, f"weight 0 got traffic: {got}"
    share_a = got.get("a", 0) / n
    assert abs(share_a - 0.75) <= 0.75 * 0.15, f"3:1 expected, got {got}"
    assert got.get("a", 0) + got.get("b", 0) == n

    # A weight change applies to new connections: 1:1 now, and z (weight 2) joins.
    lab.rebind(lst, [a, b, z], weights=[1, 1, 2])
    got = dp.counts(dp.tcp_tag(lst.port, line=b"x%d" % i) for i in range(200))
    assert abs(got.get("z", 0) / 200 - 0.5) <= 0.5 * 0.15, got
    assert abs(got.get("a", 0) - got.get("b", 0)) <= 200 * 0.25 * 0.3, got


def test_lc_picks_least_open_connections(lab):
    origins = [lab.tcp_origin(t) for t in ("a", "b", "c")]
    lst = lab.tcp_listener(origins, Scheduler="lc")

    held: dict[str, list] = {"a": [], "b": [], "c": []}
    for i in range(6):  # each new connection goes where the fewest are open: 2/2/2
        c = dp.TcpClient(lst.port)
        lab.clients.append(c)
        held[c.tag(b"hold-%d" % i)].append(c)
    assert {k: len(v) for k, v in held.items()} == {"a": 2, "b": 2, "c": 2}

    # Close everything on two origins; only the third keeps 2 open connections.
    busy = "c"
    for t in ("a", "b"):
        for c in held[t]:
            c.close()
        held[t] = []
    dp.poll(lambda: lab.metric("onramp_connections_open", lst.id) == 2, timeout=10,
            what="onramp_connections_open == 2 after closing four connections")

    new = []
    for i in range(4):  # a and b (0 open) fill up to 2 each before c (2 open) gets any
        c = dp.TcpClient(lst.port)
        lab.clients.append(c)
        new.append(c.tag(b"new-%d" % i))
    assert busy not in new, new
    assert dp.counts(new) == {"a": 2, "b": 2}, new

    # And the next one, with 2/2/2 open again, may go anywhere; with c's closed it must go to c.
    for c in held[busy]:
        c.close()
    dp.poll(lambda: lab.metric("onramp_connections_open", lst.id) == 4, timeout=10,
            what="onramp_connections_open == 4")
    nxt = [dp.TcpClient(lst.port) for _ in range(2)]
    lab.clients += nxt
    assert [c.tag(b"next") for c in nxt] == ["c", "c"]


def test_lrtt_picks_fastest_health_check(lab):
    """UDP PORT check: the origin that answers the probe 200 ms late loses to the one that answers at once."""
    slow = lab.udp_origin("slow", probe_delay=0.2)
    fast = lab.udp_origin("fast")
    lst = lab.udp_listener([slow, fast], Scheduler="lrtt", HealthCheck=1, DelayLoop=5, ConnectTimeout=2,
                           HealthyThreshold=1, UnhealthyThreshold=2, CheckType="PORT", ContextType="TEXT",
                           SendContext=dp.PROBE, RecvContext=dp.PROBE)
    # Both origins measured: each answered at least one probe (the slow one 200 ms late).
    dp.poll(lambda: slow.probe_replies >= 1 and fast.probe_replies >= 1, timeout=15,
            what="a health-check probe answered by both origins")
    time.sleep(0.3)  # the slow reply's round trip is recorded when it arrives
    tags = []
    for i in range(20):
        f = dp.UdpClient(lst.port, src=dp.CLIENT_IPS[i])
        lab.clients.append(f)
        tags.append(f.tag(b"lrtt-%d" % i))
    assert set(tags) == {"fast"}, dp.counts(tags)


def test_tcp_affinity_holds_and_moves_only_when_origin_dies(lab):
    origins = {t: lab.tcp_origin(t) for t in ("a", "b", "c")}
    lst = lab.tcp_listener(list(origins.values()), Scheduler="rr", SessionPersist=120)
    clients = dp.CLIENT_IPS[:24]

    home: dict[str, str] = {}
    for ip in clients:
        tags = {dp.tcp_tag(lst.port, src=ip, line=b"aff-%d" % k) for k in range(4)}
        assert len(tags) == 1, f"client {ip} spread over {tags}"
        home[ip] = tags.pop()
    by_origin = dp.counts(home.values())
    assert len(by_origin) >= 2, f"24 client addresses all on {by_origin}"

    # Kill the origin with the most clients. Its clients move (without a failed connection: the
    # edge retries another origin) and then stay put; everyone else stays where they were.
    dead = max(by_origin, key=by_origin.get)
    origins[dead].kill()
    moved: dict[str, str] = {}
    for ip in clients:
        tags = [dp.tcp_tag(lst.port, src=ip, line=b"after-%d" % k) for k in range(3)]
        assert dead not in tags, (ip, tags)
        if home[ip] == dead:
            assert len(set(tags)) == 1, f"moved client {ip} did not settle: {tags}"
            moved[ip] = tags[0]
        else:
            assert set(tags) == {home[ip]}, f"client {ip} left its live origin {home[ip]}: {tags}"
    assert len(moved) == by_origin[dead]
