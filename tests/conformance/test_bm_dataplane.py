"""Everything a BM listener says reaches the data plane (v2 client over TLS, traffic through the edge on
loopback): custom text and hexadecimal checks telling a right answer from a wrong one at the origin (`Dead`,
and no traffic), the plain TCP check on a probe port, UDP checks (custom send/expect, ping), session
persistence, the bandwidth cap, weights (wrr spread, weight 0 = no new traffic), UDP forwarding, and a
listener deleted while a connection is open (it drains: the open connection keeps working, new ones are
refused). Checks run every 5 s (the minimum) with 2 results to flip."""
import time

import dataplane as dp
import helpers as h
from bm import bm_lab, bm_server, tls, v2, wait_alive  # noqa: F401  (fixtures)
from test_dataplane_limits import measure_upload

CHECK = {"healthSwitch": 1, "intervalTime": 5, "timeOut": 2, "healthNum": 2, "unhealthNum": 2}
# A check flips after 2 results 5 s apart (+10 % jitter), the last taking up to 2 s, plus slack.
FLIP = dp.health_bound(5, 2, 2, slack=8.0)


def tags(port: int, n: int, src: str | None = None) -> dict[str, int]:
    return dp.counts(dp.tcp_tag(port, src=src, line=b"t%d" % i) for i in range(n))


def test_custom_text_and_hex_checks_tell_right_from_wrong(bm_lab):
    lab = bm_lab
    lb = lab.lb()
    text_a, text_b = lab.tcp_origin("a"), lab.tcp_origin("b")
    hex_a, hex_b = lab.tcp_origin("a"), lab.tcp_origin("b")
    # Each origin answers a line with "<tag>:<line>": only "a" gives the expected answer.
    text, tport = lab.listener(lb, **CHECK, customHealthSwitch=1, inputType="text", lineSeparatorType=1,
                               healthRequest="ping\n", healthResponse="a:ping")
    hexa, hport = lab.listener(lb, **CHECK, customHealthSwitch=1, inputType="hexadecimal",
                               healthRequest="70696e670a", healthResponse="613a70696e67")
    lab.bind(lb, text, [text_a, text_b])
    lab.bind(lb, hexa, [hex_a, hex_b])
    wait_alive(lambda: lab.statuses(lb, text), {text_a.ip: "Alive", text_b.ip: "Dead"}, FLIP)
    wait_alive(lambda: lab.statuses(lb, hexa), {hex_a.ip: "Alive", hex_b.ip: "Dead"}, FLIP)
    assert tags(tport, 20) == {"a": 20} and tags(hport, 20) == {"a": 20}
    # The probe really sent the decoded bytes: the origins saw "ping" lines from the checker.
    assert any(c.raw.startswith(b"ping\n") for c in hex_b.conns), [c.raw[:16] for c in hex_b.conns]
    # A right answer from "b" too, and both take traffic.
    lab.v2("ModifyBmListener", {"loadBalancerId": lb, "listenerId": text, "healthResponse": ":ping"})
    wait_alive(lambda: lab.statuses(lb, text), {text_a.ip: "Alive", text_b.ip: "Alive"}, FLIP)
    assert set(tags(tport, 20)) == {"a", "b"}


def test_plain_tcp_check_on_the_probe_port(bm_lab):
    lab = bm_lab
    lb = lab.lb()
    ip_a, ip_b = h.origin_ip(), h.origin_ip()
    serve_a, serve_b = lab.tcp_origin("a", ip=ip_a), lab.tcp_origin("b", ip=ip_b)
    probe_a = lab.tcp_origin("pa", ip=ip_a)  # a health port beside a's service port
    closed_b = h.ephemeral_port()  # nothing listens there on b's address
    lid, port = lab.listener(lb, **CHECK)
    lab.bind(lab.lbs[0], lid, [serve_a, serve_b], probe_ports=[probe_a.port, closed_b])
    wait_alive(lambda: lab.statuses(lb, lid), {ip_a: "Alive", ip_b: "Dead"}, FLIP)
    assert tags(port, 10) == {"a": 10}
    # The probe port follows a change: b's service port itself answers.
    lab.v2("ModifyBmL4ListenerBackendProbePort", {"loadBalancerId": lb, "listenerId": lid, "instanceId": ip_b,
                                                  "port": serve_b.port, "probePort": serve_b.port})
    wait_alive(lambda: lab.statuses(lb, lid), {ip_a: "Alive", ip_b: "Alive"}, FLIP)
    # Kill a's health port only: a goes Dead though its service still runs.
    probe_a.kill()
    wait_alive(lambda: lab.statuses(lb, lid), {ip_a: "Dead", ip_b: "Alive"}, FLIP)
    assert tags(port, 10) == {"b": 10}


def test_udp_forwarding_and_checks(bm_lab):
    lab = bm_lab
    lb = lab.lb()
    a, b = lab.udp_origin("a"), lab.udp_origin("b")
    custom, cport = lab.listener(lb, "udp", **CHECK, customHealthSwitch=1, inputType="text",
                                 healthRequest=dp.PROBE, healthResponse=f"a:{dp.PROBE}")
    lab.bind(lb, custom, [a, b])
    wait_alive(lambda: lab.statuses(lb, custom), {a.ip: "Alive", b.ip: "Dead"}, FLIP)
    clients = [dp.UdpClient(cport, src=ip) for ip in dp.CLIENT_IPS[:6]]
    try:
        assert {c.tag(b"hi") for c in clients} == {"a"}
        assert clients[0].ask(b"hello") == b"a:hello"
    finally:
        for c in clients:
            c.close()
    # Without a custom check UDP is checked by ping: a dead origin's port draws an ICMP error.
    c, d = lab.udp_origin("c"), lab.udp_origin("d")
    ping, _ = lab.listener(lb, "udp", **CHECK)
    lab.bind(lb, ping, [c, d])
    d.kill()
    wait_alive(lambda: lab.statuses(lb, ping), {c.ip: "Alive", d.ip: "Dead"}, FLIP)


def test_session_persistence_and_weights(bm_lab):
    lab = bm_lab
    lb = lab.lb()
    a, b = lab.tcp_origin("a"), lab.tcp_origin("b")
    sticky, sport = lab.listener(lb, sessionExpire=900)
    lab.bind(lb, sticky, [a, b])
    for src in dp.CLIENT_IPS[:4]:
        seen = tags(sport, 8, src=src)
        assert len(seen) == 1, (src, seen)
    # Weighted round robin: 3 to 1.
    c, d = lab.tcp_origin("c"), lab.tcp_origin("d")
    wrr, wport = lab.listener(lb)
    lab.bind(lb, wrr, [c, d], weights=[30, 10])
    assert tags(wport, 40) == {"c": 30, "d": 10}
    # Weight 0: no new traffic to c; an open connection to it keeps going.
    held = dp.TcpClient(wport)
    assert held.tag() in ("c", "d")
    lab.v2("ModifyBmL4ListenerBackendWeight", {"loadBalancerId": lb, "listenerId": wrr, "instanceId": c.ip,
                                               "port": c.port, "weight": 0})
    dp.poll(lambda: tags(wport, 4) == {"d": 4}, timeout=10, what="weight 0 applied")
    assert tags(wport, 20) == {"d": 20}
    assert held.tag() in ("c", "d")
    held.close()


def test_bandwidth_cap(bm_lab):
    lab = bm_lab
    lb = lab.lb()
    sink = lab.tcp_origin("sink", mode="sink")
    lid, port = lab.listener(lb, bandwidth=8)  # 8 Mbps = 1,000,000 bytes/s
    lab.bind(lb, lid, [sink])

    class L:
        pass
    lst = L()
    lst.port = port
    got = measure_upload(lab, lst, sink)
    assert abs(got - 1_000_000) <= 100_000, f"8 Mbps cap: measured {got * 8 / 1e6:.2f} Mbps"
    lab.v2("ModifyBmListener", {"loadBalancerId": lb, "listenerId": lid, "bandwidth": 16})
    dp.poll(lambda: lab.v2("DescribeBmListeners", {"loadBalancerId": lb})["listenerSet"][0]["status"] == 1,
            timeout=10, what="listener running")
    got = measure_upload(lab, lst, sink)
    assert abs(got - 2_000_000) <= 200_000, f"16 Mbps cap: measured {got * 8 / 1e6:.2f} Mbps"


def test_a_listener_deleted_while_a_connection_is_open_drains(bm_lab):
    lab = bm_lab
    lb = lab.lb()
    a = lab.tcp_origin("a")
    lid, port = lab.listener(lb)
    lab.bind(lb, lid, [a])
    held = dp.TcpClient(port)
    assert held.ask(b"before") == b"a:before"
    task = lab.v2("DeleteBmListeners", {"loadBalancerId": lb, "listenerIds": [lid]})["requestId"]
    lab.v2.wait_task(task)
    dp.poll(lambda: dp.tcp_refused(port), timeout=10, what="the listener's port closed")
    # The open connection drains: it still reaches its origin.
    for i in range(3):
        assert held.ask(b"after%d" % i) == b"a:after%d" % i
        time.sleep(0.2)
    held.close()
