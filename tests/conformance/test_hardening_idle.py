"""What held before the hardening and must keep holding (issue 8): 3,000 idle TCP connections
through a listener do not disturb a normal client, nor the API."""
import socket
import time

import dataplane as dp

IDLE = 3000


def test_idle_connections_do_not_disturb_a_normal_client(lab, api):
    o = lab.tcp_origin("idle")
    lst = lab.tcp_listener([o])
    held: list[socket.socket] = []
    try:
        deadline = time.monotonic() + 60
        for _ in range(IDLE):
            assert time.monotonic() < deadline, f"only {len(held)} idle connections opened in 60 s"
            s = socket.create_connection(("127.0.0.1", lst.port), timeout=5)
            held.append(s)
        dp.poll(lambda: o.open_count() >= IDLE, timeout=60, interval=0.5,
                what=f"{IDLE} idle connections to reach the origin")
        # A normal client: round trips on new connections, and the API, all answer promptly.
        for i in range(20):
            start = time.monotonic()
            assert dp.tcp_tag(lst.port, line=b"n%d" % i, timeout=5) == "idle"
            assert time.monotonic() - start < 2
        start = time.monotonic()
        assert api("DescribeAccessRegions", {})["TotalCount"] >= 1
        assert time.monotonic() - start < 2
        # The idle ones are still served.
        for s in held[:: IDLE // 10]:
            s.sendall(b"still\n")
            assert s.recv(100).startswith(b"idle:still")
    finally:
        for s in held:
            s.close()
