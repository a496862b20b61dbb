"""Data plane, counters: /metrics (Prometheus text) and the GAAP statistics actions report the
traffic that was really sent.

Statistics contract (onramp): buckets of `Granularity` seconds starting at multiples of it (unix
time); InBandwidth/OutBandwidth = average Mbps over the bucket (bits / 1e6 / granularity),
InPackets/OutPackets = average packets per second over the bucket, Concurrent = peak open connections
in the bucket. So sum(Data) × Granularity × 1e6 / 8 = bytes, and sum(InPackets) × Granularity =
datagrams. Times are UTC `YYYY-MM-DD HH:MM:SS` in, unix seconds out."""
import datetime as dt
import time

import dataplane as dp
import helpers as h

TRAFFIC = ["InBandwidth", "OutBandwidth", "Concurrent", "InPackets", "OutPackets"]
STATS_TIMEOUT = 10.0  # seconds the counters may take to reach the statistics


def utc(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def window(minutes: int = 20) -> dict:
    now = time.time()
    return {"StartTime": utc(now - minutes * 60), "EndTime": utc(now)}


def series(resp: dict, granularity: int, names: list[str]) -> dict[str, list[tuple[int, float | None]]]:
    """{MetricName: [(Time, Data)]} after checking the shape of StatisticsData."""
    data = resp["StatisticsData"]
    assert isinstance(data, list), resp
    out = {}
    for item in data:
        h.check_shape(item, {"MetricName": str, "MetricData": [{"Time": int, "Data": h.Nullable(float)}]},
                      "StatisticsData[]")
        points = [(p["Time"], p["Data"]) for p in item["MetricData"]]
        times = [t for t, _ in points]
        assert times == sorted(times), f"{item['MetricName']}: times not ascending"
        assert all(t % granularity == 0 for t in times), f"{item['MetricName']}: bucket starts {times}"
        assert all(t <= time.time() + 1 for t in times), times
        out[item["MetricName"]] = points
    assert sorted(out) == sorted(names), f"asked {names}, got {sorted(out)}"
    return out


def total(points, granularity: int, scale: float = 1.0) -> float:
    return sum((d or 0.0) for _, d in points) * granularity * scale


def mbps_to_bytes(points, granularity: int) -> float:
    return total(points, granularity, 1e6 / 8)


def close_to(got: float, want: float, rel: float = 0.01, slack: float = 400) -> bool:
    return abs(got - want) <= want * rel + slack


# --------------------------------------------------------------------------------------------
# /metrics (implemented)
# --------------------------------------------------------------------------------------------

def test_metrics_count_connections_bytes_and_packets(lab):
    o = lab.tcp_origin("m")
    u = lab.udp_origin("u")
    proxy = lab.proxy()
    tl = lab.tcp_listener([o], proxy=proxy)
    ul = lab.udp_listener([u], proxy=proxy)

    sent = received = 0
    for i in range(5):
        line = b"metric-%d-" % i + b"y" * (1000 * (i + 1))
        with dp.TcpClient(tl.port) as c:
            reply = c.ask(line)
        sent += len(line) + 1
        received += len(reply) + 1
    f = dp.UdpClient(ul.port)
    lab.clients.append(f)
    usent = urecv = 0
    for i in range(7):
        payload = b"dgram-%d" % i
        reply = f.ask(payload, tries=1)
        usent += len(payload)
        urecv += len(reply)

    want = {
        ("onramp_connections_total", tl.id): 5,
        ("onramp_bytes_in_total", tl.id): sent,
        ("onramp_bytes_out_total", tl.id): received,
        ("onramp_connections_open", tl.id): 0,
        ("onramp_packets_in_total", ul.id): 7,
        ("onramp_packets_out_total", ul.id): 7,
        ("onramp_bytes_in_total", ul.id): usent,
        ("onramp_bytes_out_total", ul.id): urecv,
    }

    deadline = time.monotonic() + 5  # counters are bumped right after each write: allow a moment
    while True:
        got = {k: lab.metric(*k) for k in want}
        if got == want or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert got == want


# --------------------------------------------------------------------------------------------
# GAAP statistics actions
# --------------------------------------------------------------------------------------------

def _listener_stats(lab, listener_id: str, names=TRAFFIC, granularity: int = 300) -> dict:
    resp = lab.api("DescribeListenerStatistics", {"ListenerId": listener_id, **window(), "MetricNames": names,
                                                  "Granularity": granularity})
    return series(resp, granularity, names)


def test_listener_statistics_tcp_bytes_and_concurrent(lab):
    o = lab.tcp_origin("s")
    lst = lab.tcp_listener([o], proxy=lab.proxy(bandwidth=1000))
    sent = received = 0
    for i in range(10):
        line = b"stat-%d-" % i + b"z" * 100_000
        with dp.TcpClient(lst.port) as c:
            reply = c.ask(line)
        sent += len(line) + 1
        received += len(reply) + 1
    # Three connections open together for a few seconds: the peak in the bucket is 3.
    held = [dp.TcpClient(lst.port) for _ in range(3)]
    lab.clients += held
    for c in held:
        sent += len(b"held") + 1
        received += len(c.ask(b"held")) + 1
    time.sleep(2.5)
    for c in held:
        c.close()

    last = {}

    def settled():
        s = _listener_stats(lab, lst.id)
        last["s"] = s
        return (close_to(mbps_to_bytes(s["InBandwidth"], 300), sent)
                and close_to(mbps_to_bytes(s["OutBandwidth"], 300), received)
                and max((d or 0) for _, d in s["Concurrent"]) == 3)
    try:
        dp.poll(settled, timeout=STATS_TIMEOUT, interval=1.0, what="listener statistics of the traffic sent")
    finally:
        if "s" in last:
            s = last["s"]
            print(f"sent {sent} received {received}; In {mbps_to_bytes(s['InBandwidth'], 300):.0f} "
                  f"Out {mbps_to_bytes(s['OutBandwidth'], 300):.0f} Concurrent {s['Concurrent']}")
    s = last["s"]
    # TCP carries no datagrams: packet series present, and never negative.
    assert all((d or 0) >= 0 for _, d in s["InPackets"] + s["OutPackets"])


def test_listener_statistics_udp_packets(lab):
    u = lab.udp_origin("u")
    lst = lab.udp_listener([u], proxy=lab.proxy(bandwidth=1000))
    f = dp.UdpClient(lst.port)
    lab.clients.append(f)
    n, size = 240, 500
    sent = received = 0
    for i in range(n):
        payload = (b"%05d" % i) + b"p" * (size - 5)
        reply = f.ask(payload)
        sent += len(payload)
        received += len(reply)
    assert len(u.datagrams) == n, "a datagram was resent (lost on loopback?)"

    last = {}

    def settled():
        s = _listener_stats(lab, lst.id)
        last["s"] = s
        return (abs(total(s["InPackets"], 300) - n) <= n * 0.01 + 1
                and abs(total(s["OutPackets"], 300) - n) <= n * 0.01 + 1
                and close_to(mbps_to_bytes(s["InBandwidth"], 300), sent)
                and close_to(mbps_to_bytes(s["OutBandwidth"], 300), received))
    try:
        dp.poll(settled, timeout=STATS_TIMEOUT, interval=1.0, what=f"UDP statistics of {n} datagrams each way")
    finally:
        if "s" in last:
            s = last["s"]
            print(f"sent {n} dgrams / {sent} B, received {received} B; InPackets {total(s['InPackets'], 300):.1f} "
                  f"OutPackets {total(s['OutPackets'], 300):.1f} In {mbps_to_bytes(s['InBandwidth'], 300):.0f} "
                  f"Out {mbps_to_bytes(s['OutBandwidth'], 300):.0f}")


def test_proxy_statistics_sum_over_listeners(lab):
    a, b = lab.tcp_origin("a"), lab.tcp_origin("b")
    u = lab.udp_origin("u")
    proxy = lab.proxy(bandwidth=1000)
    la = lab.tcp_listener([a], proxy=proxy)
    lb = lab.tcp_listener([b], proxy=proxy)
    lu = lab.udp_listener([u], proxy=proxy)
    sent = received = 0
    for port, k in ((la.port, 3), (lb.port, 5)):
        for i in range(k):
            line = b"px-%d-" % i + b"q" * 40_000
            with dp.TcpClient(port) as c:
                reply = c.ask(line)
            sent += len(line) + 1
            received += len(reply) + 1
    f = dp.UdpClient(lu.port)
    lab.clients.append(f)
    for i in range(30):
        payload = b"pxu-%02d" % i
        received += len(f.ask(payload))
        sent += len(payload)

    names = TRAFFIC + ["Latency", "PacketLoss"]
    last = {}

    def settled():
        resp = lab.api("DescribeProxyStatistics", {"ProxyId": proxy, **window(), "MetricNames": names,
                                                   "Granularity": 60})
        s = series(resp, 60, names)
        last["s"] = s
        return (close_to(mbps_to_bytes(s["InBandwidth"], 60), sent)
                and close_to(mbps_to_bytes(s["OutBandwidth"], 60), received)
                and abs(total(s["InPackets"], 60) - 30) <= 1
                and abs(total(s["OutPackets"], 60) - 30) <= 1)
    try:
        dp.poll(settled, timeout=STATS_TIMEOUT, interval=1.0, what="proxy statistics summed over its listeners")
    finally:
        if "s" in last:
            s = last["s"]
            print(f"sent {sent} received {received}; In {mbps_to_bytes(s['InBandwidth'], 60):.0f} "
                  f"Out {mbps_to_bytes(s['OutBandwidth'], 60):.0f} InPackets {total(s['InPackets'], 60):.1f}")


def test_real_server_statistics_health(lab):
    a, b = lab.tcp_origin("a"), lab.tcp_origin("b")
    lst = lab.tcp_listener([a, b], HealthCheck=1, DelayLoop=5, ConnectTimeout=2, HealthyThreshold=1,
                           UnhealthyThreshold=1)
    rs = lst.rs[b]
    killed_at = time.time()
    b.kill()
    dp.poll(lambda: lab.status_of(lst, b) == 1, timeout=dp.health_bound(5, 1, 2), what="the killed origin abnormal")

    last = {}

    def latest_is_down():
        resp = lab.api("DescribeRealServerStatistics", {"RealServerId": rs, "ListenerId": lst.id, "WithinTime": 1,
                                                        "Granularity": 60})
        h.check_shape(resp, {"StatisticsData": [{"Time": int, "Data": h.Nullable(float)}], "RsStatisticsData": list})
        points = [(p["Time"], p["Data"]) for p in resp["StatisticsData"]]
        last["p"] = points
        now_bucket = int(time.time()) // 60 * 60
        return points and points[-1][0] == now_bucket and points[-1][1] == 0
    dp.poll(latest_is_down, timeout=STATS_TIMEOUT, interval=1.0,
            what="health 0 in the bucket containing now (DescribeRealServerStatistics)")
    points = last["p"]
    assert all(t % 60 == 0 for t, _ in points)
    assert points[0][0] >= int(time.time()) - 3600 - 60, "WithinTime 1 = the last hour"
    kill_bucket = int(killed_at) // 60 * 60
    before = [(t, d) for t, d in points if t < kill_bucket and d is not None]
    assert all(d == 1 for _, d in before), f"buckets before the kill should be healthy: {before}"
    assert all(d in (0, 1, None) for _, d in points), points

    # The live origin of the same listener: healthy in the latest bucket.
    resp = lab.api("DescribeRealServerStatistics", {"RealServerId": lst.rs[a], "ListenerId": lst.id,
                                                    "WithinTime": 1, "Granularity": 60})
    live = [(p["Time"], p["Data"]) for p in resp["StatisticsData"]]
    assert live and live[-1][1] == 1, live
