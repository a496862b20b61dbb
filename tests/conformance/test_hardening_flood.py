"""Hardening, data plane: a UDP flood from thousands of source addresses cannot exhaust the
process's descriptors. The server runs with a descriptor limit of 1024; the data plane draws from a
budget below it (the rest is kept for the API, the store and health checks), a busy UDP listener
sheds its idlest flows for new ones, and one source address holds at most --udp-flows-per-source
flows. During and after the flood the API answers and other listeners carry TCP and UDP."""
import os
import re
import resource
import socket
import threading
import time

import pytest

import dataplane as dp
import helpers as h

FD_LIMIT = 1024
PER_SOURCE = 8
FLOOD_FLOWS = 3000
FLOOD_SECONDS = 6.0


def _low_fd_limit():  # runs in the server process before exec
    resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, FD_LIMIT))


@pytest.fixture(scope="module")
def small(server_factory):
    """A server whose process may open 1024 descriptors."""
    return server_factory("small-fds", rate_limit=0, preexec_fn=_low_fd_limit,
                          extra_args=["--udp-flows-per-source", str(PER_SOURCE)])


@pytest.fixture
def lab(small, uniq):
    lab = dp.Lab(small.gaap(), small, uniq)
    yield lab
    lab.close()


def gauge(text: str, name: str) -> float:
    m = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    assert m, f"{name} missing from /metrics"
    return float(m.group(1))


def refused(text: str, reason: str) -> float:
    m = re.search(rf'^onramp_edge_refused_total\{{reason="{reason}"\}} (\S+)$', text, re.M)
    assert m, f"onramp_edge_refused_total{{reason={reason}}} missing from /metrics"
    return float(m.group(1))


def plain_log(server: h.OnrampServer) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", server.stderr())


def api_answers(server: h.OnrampServer) -> None:
    """A signed DescribeProxies on a new connection (a kept-alive one would hide a refused accept)."""
    r = h.raw_tc3_post(server, "DescribeProxies", {"Limit": 1})
    assert r.status_code == 200, r.text
    body = r.json()["Response"]
    assert "Error" not in body and body["TotalCount"] >= 1, body


def flood(port: int, stop: threading.Event, sent: list):
    """One datagram from each of FLOOD_FLOWS source addresses 127.100.b.c (a new flow each),
    paced over FLOOD_SECONDS; every socket is closed right after its datagram."""
    start = time.monotonic()
    for i in range(FLOOD_FLOWS):
        if stop.is_set() or time.monotonic() - start > 3 * FLOOD_SECONDS:
            break
        ip = f"127.100.{i // 250}.{i % 250 + 1}"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((ip, 0))
            s.sendto(b"flood-%d" % i, ("127.0.0.1", port))
        sent[0] += 1
        ahead = start + (i + 1) * FLOOD_SECONDS / FLOOD_FLOWS - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)


def test_udp_flood_from_many_sources_leaves_the_api_and_other_listeners_serving(lab, small):
    target = lab.udp_listener([lab.udp_origin("flood")])
    tcp = lab.tcp_listener([lab.tcp_origin("t")])
    udp = lab.udp_listener([lab.udp_origin("u")])
    held = dp.UdpClient(udp.port, src="127.0.0.30")  # a flow that exists before the flood
    lab.clients.append(held)
    assert held.tag(b"before") == "u"
    limit = gauge(lab.metrics(), "onramp_edge_budget_limit_descriptors")
    assert 0 < limit < FD_LIMIT - 256, limit

    stop, sent = threading.Event(), [0]
    t = threading.Thread(target=flood, args=(target.port, stop, sent), daemon=True)
    t.start()
    rounds = 0
    peak = 0.0
    began = time.monotonic()
    try:
        while t.is_alive():
            # The API answers a signed call, TCP and UDP round trips work on the other listeners:
            # through the flow that was there before and through a new one.
            api_answers(small)
            assert dp.tcp_tag(tcp.port, line=b"during-%d" % rounds) == "t"
            assert held.tag(b"during-%d" % rounds) == "u"
            fresh = dp.UdpClient(udp.port, src=f"127.0.0.{31 + rounds % 100}")
            try:
                assert fresh.tag(b"new-%d" % rounds) == "u"
            finally:
                fresh.close()
            m = lab.metrics()
            in_use = gauge(m, "onramp_edge_budget_in_use_descriptors")
            assert in_use <= limit, (in_use, limit)
            peak = max(peak, in_use)
            fds = len(os.listdir(f"/proc/{small.proc.pid}/fd"))
            assert fds <= FD_LIMIT - 200, f"the server holds {fds} descriptors: the reserve is gone"
            rounds += 1
            time.sleep(0.2)
    finally:
        stop.set()
        t.join(10)
    took = time.monotonic() - began
    assert sent[0] == FLOOD_FLOWS, sent
    assert rounds >= 5, rounds
    print(f"flood: {sent[0]} flows in {took:.1f} s, {rounds} client rounds, budget peak {peak:.0f} of {limit:.0f}")

    # The flood filled the budget (more flows than descriptors) and the busy listener shed its
    # idlest flows for new ones instead of taking descriptors the API needs.
    assert FLOOD_FLOWS > limit
    assert peak >= limit * 0.8, (peak, limit)
    shed = lab.metric("onramp_udp_flows_shed_total", target.id)
    assert shed and shed >= FLOOD_FLOWS - limit, (shed, limit)
    log = plain_log(small)
    lines = [l for l in log.splitlines() if "idlest UDP flows shed" in l]
    assert lines, f"no log line about shed flows\n{small.output_tail()}"
    assert len(lines) <= took / 5 + 2, f"the shed line is not rate-limited: {len(lines)} lines in {took:.1f} s"
    assert "Too many open files" not in log, small.output_tail()

    # After the flood: everything still answers, and the newest flood flows are served.
    api_answers(small)
    assert dp.tcp_tag(tcp.port, line=b"after") == "t"
    assert held.tag(b"after") == "u"
    late = dp.UdpClient(target.port, src="127.100.200.1")
    lab.clients.append(late)
    assert late.tag(b"late") == "flood"
    assert small.alive()


def test_one_source_holds_at_most_udp_flows_per_source(lab, small):
    o = lab.udp_origin("s")
    lst = lab.udp_listener([o], SessionPersist=2)
    before = refused(lab.metrics(), "source")
    mine = [dp.UdpClient(lst.port, src="127.0.0.60") for _ in range(PER_SOURCE)]
    lab.clients += mine
    assert [f.tag(b"mine-%d" % i) for i, f in enumerate(mine)] == ["s"] * PER_SOURCE

    extra = dp.UdpClient(lst.port, src="127.0.0.60")
    lab.clients.append(extra)
    assert extra.silent(b"one-too-many", wait=1.0), f"a flow past --udp-flows-per-source {PER_SOURCE} was served"
    assert not any(d == b"one-too-many" for _, d in o.datagrams), "the refused flow reached the origin"
    assert refused(lab.metrics(), "source") > before
    assert "reason=\"source\"" in plain_log(small)
    # Other sources are not affected, and the held flows keep working.
    other = dp.UdpClient(lst.port, src="127.0.0.61")
    lab.clients.append(other)
    assert other.tag(b"other") == "s"
    assert [f.tag(b"again-%d" % i) for i, f in enumerate(mine)] == ["s"] * PER_SOURCE

    # Once the source's flows idle out (SessionPersist 2 s), it may open new ones.
    for f in mine:
        f.close()
    lab.clients = [c for c in lab.clients if c not in mine]

    def served():
        try:
            return extra.tag(b"later") == "s"
        except dp.ClientError:
            return False
    dp.poll(served, timeout=15, interval=0.5, what="a new flow once the source's flows expired")


def test_tcp_connections_past_the_budget_are_refused_and_the_api_still_answers(server_factory, uniq):
    """--max-flows 8: the TCP listener's socket takes 1 unit and each connection 2 (client and
    origin), so a 4th connection is accepted and closed at once, without reaching the origin."""
    srv = server_factory("tight-budget", rate_limit=0, extra_args=["--max-flows", "8"])
    lab = dp.Lab(srv.gaap(), srv, uniq)
    try:
        o = lab.tcp_origin("b")
        lst = lab.tcp_listener([o])
        assert gauge(lab.metrics(), "onramp_edge_budget_limit_descriptors") == 8
        held = [dp.TcpClient(lst.port) for _ in range(3)]
        lab.clients += held
        assert [c.tag(b"h%d" % i) for i, c in enumerate(held)] == ["b"] * 3
        assert gauge(lab.metrics(), "onramp_edge_budget_in_use_descriptors") == 7

        before = o.requests
        assert dp.tcp_refused(lst.port), "a 4th connection was served past the budget"
        assert o.requests == before
        assert refused(lab.metrics(), "budget") >= 1
        assert 'reason="budget"' in plain_log(srv)
        api_answers(srv)

        held.pop().close()

        def fourth_works():
            try:
                return dp.tcp_tag(lst.port, timeout=2) == "b"
            except (OSError, dp.ClientError):
                return False
        dp.poll(fourth_works, timeout=10, interval=0.2, what="a new connection once one closed")
    finally:
        lab.close()
        srv.stop()
