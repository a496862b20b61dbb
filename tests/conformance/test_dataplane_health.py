"""Data plane, health: an origin killed mid-run costs no client connection and is marked abnormal
within DelayLoop × UnhealthyThreshold + ConnectTimeout; it recovers; with every origin down the edge
fails open; failover master/slave; UDP PORT checks; per-address health of a domain origin.

These tests wait for real checks (DelayLoop 5 s is the minimum), so they use the smallest thresholds."""
import socket
import threading
import time

import dataplane as dp
import helpers as h

FAST = {"HealthCheck": 1, "DelayLoop": 5, "ConnectTimeout": 2, "HealthyThreshold": 1}


class Traffic(threading.Thread):
    """Sequential short client connections until stopped (bounded in count and time); records
    (time, tag or error) for each."""

    def __init__(self, port: int, max_conns: int = 3000, max_secs: float = 60.0, pause: float = 0.01):
        super().__init__(daemon=True)
        self.port, self.max_conns, self.max_secs, self.pause = port, max_conns, max_secs, pause
        self.results: list[tuple[float, str | None, str | None]] = []
        self.halt = threading.Event()
        # Held for each connection: the test kills an origin between two connections, so no request
        # is in flight to it at that instant (a request the origin dies under cannot be saved).
        self.gate = threading.Lock()

    def run(self):
        end = time.monotonic() + self.max_secs
        for i in range(self.max_conns):
            if self.halt.is_set() or time.monotonic() > end:
                break
            with self.gate:
                try:
                    self.results.append((time.monotonic(), dp.tcp_tag(self.port, line=b"t%d" % i), None))
                except (OSError, dp.ClientError) as e:
                    self.results.append((time.monotonic(), None, repr(e)))
            time.sleep(self.pause)

    def stop(self):
        self.halt.set()
        self.join(15)

    def failures(self):
        return [r for r in self.results if r[2] is not None]

    def tags_since(self, t0: float) -> list[str]:
        return [tag for t, tag, _ in self.results if t >= t0 and tag]


def test_origin_killed_mid_run_no_failed_connection_then_recovers(lab):
    unhealthy = 2
    origins = {t: lab.tcp_origin(t) for t in ("a", "b", "c")}
    lst = lab.tcp_listener(list(origins.values()), Scheduler="rr", UnhealthyThreshold=unhealthy, **FAST)
    victim = origins["b"]

    traffic = Traffic(lst.port)
    traffic.start()
    try:
        dp.poll(lambda: len(traffic.results) >= 30, timeout=15, what="30 client connections")
        assert "b" in traffic.tags_since(0)
        with traffic.gate:
            killed_at = time.monotonic()
            victim.kill()

        bound = dp.health_bound(5, unhealthy, 2)
        dp.poll(lambda: lab.status_of(lst, victim) == 1, timeout=bound,
                what=f"RealServerStatus 1 for the killed origin within {bound:.1f}s")
        marked = time.monotonic() - killed_at
        listener = h.describe_listener(lab.api, lst.id)
        assert listener["BindStatus"] == 0, listener  # TCP: 0 when a bound origin is abnormal
        others = lab.bound(lst)
        assert [others[lst.rs[origins[t]]]["RealServerStatus"] for t in ("a", "c")] == [0, 0]

        # Recovery: the origin comes back, a check marks it normal, traffic reaches it again.
        victim.restart()
        back_at = time.monotonic()
        bound_up = dp.health_bound(5, 1, 2)
        dp.poll(lambda: lab.status_of(lst, victim) == 0, timeout=bound_up,
                what=f"RealServerStatus 0 again within {bound_up:.1f}s of the restart")
        dp.poll(lambda: "b" in traffic.tags_since(time.monotonic() - 1.0), timeout=10,
                what="traffic reaching the recovered origin")
        assert h.describe_listener(lab.api, lst.id)["BindStatus"] == 1
    finally:
        traffic.stop()
    assert not traffic.failures(), f"client connections failed: {traffic.failures()[:5]}"
    dead_window = [tag for t, tag, _ in traffic.results if killed_at + 0.5 <= t <= back_at]
    assert dead_window and "b" not in dead_window
    assert marked <= bound


def test_all_origins_down_fails_open(lab):
    """One origin, marked abnormal: once it listens again it gets connections at once (fail-open),
    before any check has marked it healthy."""
    o = lab.tcp_origin("only")
    lst = lab.tcp_listener([o], UnhealthyThreshold=1, **FAST)
    assert dp.tcp_tag(lst.port) == "only"
    o.close_listener()
    bound = dp.health_bound(5, 1, 2)
    dp.poll(lambda: lab.status_of(lst, o) == 1, timeout=bound, what="the only origin marked abnormal")
    assert h.describe_listener(lab.api, lst.id)["BindStatus"] == 0
    o.restart()
    assert dp.tcp_tag(lst.port, timeout=5) == "only"
    dp.poll(lambda: lab.status_of(lst, o) == 0, timeout=dp.health_bound(5, 1, 2), what="the origin normal again")


def test_failover_master_slave(lab):
    m1, m2, s = lab.tcp_origin("m1"), lab.tcp_origin("m2"), lab.tcp_origin("s")
    lst = lab.tcp_listener([m1, m2, s], Scheduler="rr", FailoverSwitch=1, UnhealthyThreshold=1,
                           roles=["master", "master", "slave"], **FAST)
    roles = {b["RealServerId"]: b["RealServerFailoverRole"] for b in lab.bound(lst).values()}
    assert roles == {lst.rs[m1]: "master", lst.rs[m2]: "master", lst.rs[s]: "slave"}

    tags = [dp.tcp_tag(lst.port) for _ in range(20)]
    assert set(tags) == {"m1", "m2"}, dp.counts(tags)

    m1.kill()  # one master left: the slave still gets nothing
    tags = [dp.tcp_tag(lst.port) for _ in range(20)]
    assert set(tags) == {"m2"}, dp.counts(tags)

    m2.kill()  # no healthy master: the slave takes over, without a failed connection
    tags = [dp.tcp_tag(lst.port) for _ in range(20)]
    assert set(tags) == {"s"}, dp.counts(tags)

    m1.restart()  # a master back (seen by the next check): traffic returns to it, off the slave
    dp.poll(lambda: lab.status_of(lst, m1) == 0 and lab.status_of(lst, m2) == 1,
            timeout=dp.health_bound(5, 1, 2), what="m1 normal and m2 abnormal")

    def back_on_master():
        return set(dp.tcp_tag(lst.port) for _ in range(6)) == {"m1"}
    dp.poll(back_on_master, timeout=12, interval=0.5, what="traffic back on the recovered master only")


def test_udp_port_check_marks_dead_origin_and_moves_its_clients(lab):
    """UDP PORT checks with source-IP affinity: a dead origin is marked abnormal, new flows avoid it,
    its clients move to another origin and stay there, every other client keeps its origin."""
    origins = {t: lab.udp_origin(t) for t in ("a", "b", "c")}
    lst = lab.udp_listener(list(origins.values()), Scheduler="rr", SessionPersist=120, UnhealthyThreshold=1,
                           CheckType="PORT", ContextType="TEXT", SendContext=dp.PROBE, RecvContext=dp.PROBE, **FAST)
    dp.poll(lambda: all(o.probes >= 1 for o in origins.values()), timeout=10, what="every origin probed")
    assert all(x["RealServerStatus"] == 0 for x in lab.bound(lst).values())
    assert h.describe_listener(lab.api, lst.id, "UDP")["BindStatus"] == 0  # UDP: 0 = normal

    def flow_tag(ip: str, payload: bytes) -> str:
        f = dp.UdpClient(lst.port, src=ip)  # a new socket = a new flow
        lab.clients.append(f)
        return f.tag(payload)

    clients = dp.CLIENT_IPS[30:45]
    home = {ip: flow_tag(ip, b"home-" + ip.encode()) for ip in clients}
    per_origin = dp.counts(home.values())
    assert len(per_origin) >= 2, per_origin
    dead = max(per_origin, key=per_origin.get)
    origins[dead].kill()
    bound = dp.health_bound(5, 1, 2)
    dp.poll(lambda: lab.status_of(lst, origins[dead]) == 1, timeout=bound,
            what=f"the dead UDP origin abnormal within {bound:.1f}s")
    assert [lab.status_of(lst, o) for t, o in origins.items() if t != dead] == [0, 0]
    # UDP BindStatus (reference §4 UDPListener): 1 = an origin IP abnormal.
    assert h.describe_listener(lab.api, lst.id, "UDP")["BindStatus"] == 1

    for ip in clients:
        tags = [flow_tag(ip, b"after-%d-" % k + ip.encode()) for k in range(2)]
        assert dead not in tags, (ip, tags)
        if home[ip] == dead:
            assert len(set(tags)) == 1, f"moved client {ip} did not settle: {tags}"
        else:
            assert set(tags) == {home[ip]}, f"client {ip} left its live origin {home[ip]}: {tags}"


def _answers(port: int) -> bool:
    try:
        return bool(dp.tcp_tag(port, timeout=3))
    except (OSError, dp.ClientError):
        return False


def test_domain_origin_down_ip_list(lab):
    """DOMAIN origin "localhost": each resolved address has its own health; a dead address is listed
    in DownIPList as ip:port ([v6]:port for IPv6)."""
    addrs = []
    for fam, _, _, _, sa in socket.getaddrinfo("localhost", None, proto=socket.IPPROTO_TCP):
        if (fam, sa[0]) not in addrs and fam in (socket.AF_INET, socket.AF_INET6):
            addrs.append((fam, sa[0]))
    v4 = [a for a in addrs if a[0] == socket.AF_INET]
    assert v4, addrs
    first = lab.tcp_origin("d4", ip=v4[0][1])
    others = [lab.tcp_origin(f"d{i}", ip=ip, port=first.port, family=fam)
              for i, (fam, ip) in enumerate(addrs) if (fam, ip) != v4[0]]
    lst = lab.tcp_listener([first], address="localhost", UnhealthyThreshold=1, **FAST)

    def entry():
        [b] = lab.bound(lst).values()
        return b
    # (test_tcp_domain_origin holds the edge to "served at ListenerStatus 0"; here only the health matters)
    dp.poll(lambda: _answers(lst.port), timeout=10, what="the domain origin answering")
    e = entry()
    assert e["RealServerIP"] == "localhost" and e["DownIPList"] == [] and e["RealServerStatus"] == 0, e

    first.kill()
    down = f"{first.ip}:{first.port}"
    bound = dp.health_bound(5, 1, 2)
    e = dp.poll(lambda: (x := entry())["DownIPList"] and x, timeout=bound, what=f"{down} in DownIPList")
    assert e["DownIPList"] == [down], e
    # Healthy while another resolved address is up; abnormal when it was the only one.
    assert e["RealServerStatus"] == (0 if others else 1), e
    if others:
        tags = [dp.tcp_tag(lst.port) for _ in range(6)]
        assert set(tags) <= {o.tag for o in others}, tags
