"""Data plane, limits: per-listener MaxConnections (TCP connections, UDP flows) and the proxy's
Bandwidth (Mbps) as one token bucket over all its traffic, both directions, every listener."""
import socket
import threading
import time

import dataplane as dp
import helpers as h


def test_tcp_max_connections(lab):
    o = lab.tcp_origin("m")
    lst = lab.tcp_listener([o], MaxConnections=3)
    held = [dp.TcpClient(lst.port) for _ in range(3)]
    lab.clients += held
    assert [c.tag(b"h%d" % i) for i, c in enumerate(held)] == ["m"] * 3

    # The 4th is accepted and closed at once, without a byte, and never reaches the origin.
    before = o.requests
    assert dp.tcp_refused(lst.port), "a 4th connection was served past MaxConnections=3"
    assert o.requests == before
    # The held ones are unaffected.
    assert [c.tag(b"again%d" % i) for i, c in enumerate(held)] == ["m"] * 3

    held.pop().close()

    def fourth_works():
        try:
            return dp.tcp_tag(lst.port, timeout=2) == "m"
        except (OSError, dp.ClientError):
            return False
    dp.poll(fourth_works, timeout=10, interval=0.2, what="a new connection once one of the three closed")

    # Raising the limit applies to new connections without touching the open ones.
    lab.modify(lst, MaxConnections=5)
    more = [dp.TcpClient(lst.port) for _ in range(3)]
    lab.clients += more
    assert [c.tag(b"m%d" % i) for i, c in enumerate(more)] == ["m"] * 3
    assert [c.tag(b"still%d" % i) for i, c in enumerate(held)] == ["m"] * 2


def test_udp_max_flows(lab):
    """MaxConnections on UDP counts flows: past it a new flow's datagrams are dropped; once a flow
    expires (idle past SessionPersist) a new one is served."""
    o = lab.udp_origin("m")
    lst = lab.udp_listener([o], MaxConnections=2, SessionPersist=2)
    flows = [dp.UdpClient(lst.port, src=ip) for ip in ("127.0.0.20", "127.0.0.21")]
    lab.clients += flows
    assert [f.tag(b"f%d" % i) for i, f in enumerate(flows)] == ["m", "m"]

    extra = dp.UdpClient(lst.port, src="127.0.0.22")
    lab.clients.append(extra)
    assert extra.silent(b"third-flow", wait=1.0), "a 3rd flow was served past MaxConnections=2"
    assert not any(d.endswith(b"third-flow") for _, d in o.datagrams), "the 3rd flow reached the origin"
    # The two admitted flows still work.
    assert [f.tag(b"g%d" % i) for i, f in enumerate(flows)] == ["m", "m"]

    # Let the two flows idle out (SessionPersist 2 s); the third is then served.
    def served():
        try:
            return extra.tag(b"third-later") == "m"
        except dp.ClientError:
            return False
    extra.sock.settimeout(0.5)
    dp.poll(served, timeout=15, interval=0.5, what="the 3rd flow served after the others idled out")


# --------------------------------------------------------------------------------------------
# Bandwidth
# --------------------------------------------------------------------------------------------

WARM_UP = 0.7  # seconds skipped (initial burst of the bucket, socket buffers filling)
WINDOW = 3.0  # seconds measured


class Pump(threading.Thread):
    """Push (or pull) bytes through one connection as fast as the proxy lets them, for a bounded
    time; `samples` holds (monotonic time, bytes so far) as seen by the receiving side here."""

    def __init__(self, port: int, direction: str, seconds: float):
        super().__init__(daemon=True)
        self.port, self.direction, self.seconds = port, direction, seconds
        self.error: BaseException | None = None
        self.sent = 0
        self.received = 0
        self.samples: list[tuple[float, int]] = []

    def run(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
                end = time.monotonic() + self.seconds
                chunk = b"x" * 16384
                if self.direction == "up":
                    s.sendall(b"go\n")
                    s.settimeout(0.5)
                    while time.monotonic() < end:
                        try:
                            self.sent += s.send(chunk)
                        except socket.timeout:
                            pass
                else:
                    s.sendall(b"go\n")
                    s.settimeout(0.5)
                    while time.monotonic() < end:
                        try:
                            n = len(s.recv(65536))
                        except socket.timeout:
                            n = 0
                        self.received += n
                        self.samples.append((time.monotonic(), self.received))
        except BaseException as e:
            self.error = e


class SinkMeter(threading.Thread):
    """Samples a sink origin's received byte count every 50 ms for a bounded time."""

    def __init__(self, origin, seconds: float):
        super().__init__(daemon=True)
        self.origin, self.seconds = origin, seconds
        self.samples: list[tuple[float, int]] = []

    def run(self):
        end = time.monotonic() + self.seconds
        while time.monotonic() < end:
            self.samples.append((time.monotonic(), self.origin.rx_bytes))
            time.sleep(0.05)


def rate(samples: list[tuple[float, int]], start: float, window: float) -> float:
    """Bytes per second over [start + WARM_UP, start + WARM_UP + window] from cumulative samples."""
    t0, t1 = start + WARM_UP, start + WARM_UP + window
    inside = [(t, n) for t, n in samples if t0 <= t <= t1]
    assert len(inside) >= 2, f"too few samples in the window: {len(inside)}"
    (ta, na), (tb, nb) = inside[0], inside[-1]
    assert tb - ta >= window * 0.8, (ta, tb)
    return (nb - na) / (tb - ta)


def measure_upload(lab, lst, sink: dp.TcpOrigin) -> float:
    seconds = WARM_UP + WINDOW + 0.3
    meter = SinkMeter(sink, seconds)
    pump = Pump(lst.port, "up", seconds)
    start = time.monotonic()
    meter.start()
    pump.start()
    pump.join(seconds + 10)
    meter.join(seconds + 10)
    assert pump.error is None, pump.error
    return rate(meter.samples, start, WINDOW)


def test_bandwidth_cap_holds_and_follows_changes(lab, api):
    sink = lab.tcp_origin("sink", mode="sink")
    proxy = lab.proxy(bandwidth=8)  # 8 Mbps = 1,000,000 bytes/s
    lst = lab.tcp_listener([sink], proxy=proxy)
    got = measure_upload(lab, lst, sink)
    assert abs(got - 1_000_000) <= 100_000, f"8 Mbps cap: measured {got * 8 / 1e6:.2f} Mbps"

    api("ModifyProxyConfiguration", {"ProxyId": proxy, "Bandwidth": 16})
    assert h.wait_proxy_status(api, proxy, "RUNNING")["Bandwidth"] == 16
    lab.ready(lst)  # the edge has applied the proxy's new configuration
    got = measure_upload(lab, lst, sink)
    assert abs(got - 2_000_000) <= 200_000, f"16 Mbps cap: measured {got * 8 / 1e6:.2f} Mbps"


def test_bandwidth_shared_by_directions_and_listeners(lab):
    """Upload through one listener and download through another of the same proxy at once: together
    they stay within the one cap."""
    sink = lab.tcp_origin("sink", mode="sink")
    source = lab.tcp_origin("source", mode="source")
    proxy = lab.proxy(bandwidth=8)
    up_l = lab.tcp_listener([sink], proxy=proxy)
    down_l = lab.tcp_listener([source], proxy=proxy)

    seconds = WARM_UP + WINDOW + 0.3
    meter = SinkMeter(sink, seconds)
    up = Pump(up_l.port, "up", seconds)
    down = Pump(down_l.port, "down", seconds)
    start = time.monotonic()
    for t in (meter, up, down):
        t.start()
    for t in (meter, up, down):
        t.join(seconds + 10)
    assert up.error is None and down.error is None, (up.error, down.error)
    up_rate = rate(meter.samples, start, WINDOW)
    down_rate = rate(down.samples, start, WINDOW)
    total = up_rate + down_rate
    assert abs(total - 1_000_000) <= 100_000, (
        f"8 Mbps shared: up {up_rate * 8 / 1e6:.2f} + down {down_rate * 8 / 1e6:.2f} = {total * 8 / 1e6:.2f} Mbps")
    # Both directions moved (neither starved).
    assert up_rate > 100_000 and down_rate > 100_000, (up_rate, down_rate)


def test_bandwidth_cap_polices_udp(lab):
    """UDP sent at 3× the proxy's cap: datagrams past the cap are dropped, and what gets through
    stays at the cap (within 10 %) for the whole run instead of collapsing or overshooting."""
    sink = lab.udp_origin("sink", reply=False)
    lst = lab.udp_listener([sink], proxy=lab.proxy(bandwidth=4))  # 4 Mbps = 500,000 bytes/s
    seconds = WARM_UP + WINDOW + 0.3
    meter = SinkMeter(sink, seconds)
    f = dp.UdpClient(lst.port)
    lab.clients.append(f)
    payload = b"b" * 1000
    start = time.monotonic()
    meter.start()
    sent = 0
    for tick in range(int(seconds * 100) + 1):  # 15 datagrams every 10 ms = 1.5 MB/s offered
        if time.monotonic() - start > seconds:
            break
        for _ in range(15):
            f.sock.sendto(payload, ("127.0.0.1", lst.port))
            sent += 1
        pause = start + (tick + 1) * 0.01 - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    meter.join(seconds + 10)
    offered = sent * 1000 / (time.monotonic() - start)
    assert offered > 1_000_000, f"the test could only offer {offered:.0f} B/s"
    got = rate(meter.samples, start, WINDOW)
    assert abs(got - 500_000) <= 50_000, f"4 Mbps cap on UDP: measured {got * 8 / 1e6:.2f} Mbps"
