"""The API's HTTP edges under abuse (issue 8): answers reach clients that half-close after their request;
slow-header connections are closed after `--header-timeout` (TLS handshake included) while a normal client
keeps being answered; `--max-conns-per-source` closes extra connections from one address while another
address still gets in; keep-alive connections are closed after `--idle-timeout`. Every loop is bounded."""
import json
import signal
import socket
import ssl
import time

import pytest
import requests
import trustme

import helpers as h


def signed_post(server, action: str, params: dict) -> bytes:
    """The bytes of a TC3-signed `POST /` (HTTP/1.1, keep-alive)."""
    body = json.dumps(params).encode()
    ts = int(time.time())
    ct = "application/json"
    auth = h.tc3_authorization(h.ROOT_SECRET_ID, h.ROOT_SECRET_KEY, method="POST", host=server.host,
                               content_type=ct, query="", body=body, timestamp=ts)
    head = (f"POST / HTTP/1.1\r\nHost: {server.host}\r\nContent-Type: {ct}\r\nX-TC-Action: {action}\r\n"
            f"X-TC-Version: {h.GAAP_VERSION}\r\nX-TC-Timestamp: {ts}\r\nAuthorization: {auth}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


def read_response(sock: socket.socket, timeout: float = 10.0) -> tuple[int, dict, bytes]:
    """One HTTP/1.1 response with a Content-Length body: (status, headers, body)."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before the response head; got {data!r}")
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {len(rest)} of {length} body bytes")
        rest += chunk
    return status, headers, rest[:length]


def closed_by_server(sock: socket.socket, within: float) -> bool:
    """True when the server closes `sock` (EOF or reset) within `within` seconds; data is drained."""
    deadline = time.monotonic() + within
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            if not sock.recv(65536):
                return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False
    return False


def connect(server, source: str = "127.0.0.1") -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.api_port), timeout=5, source_address=(source, 0))


def api_ok(server) -> bool:
    r = h.raw_tc3_post(server, "DescribeAccessRegions", {})
    assert r.status_code == 200 and "Error" not in r.json()["Response"], r.text
    return True


def metric(server, name: str, **labels) -> float:
    text = requests.get(f"http://127.0.0.1:{server.admin_port}/metrics", timeout=10).text
    want = name + "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"
    for line in text.splitlines():
        if line.startswith(want + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{want} not in /metrics")


def test_half_closed_clients_get_the_whole_answer(server):
    for i in range(50):
        with connect(server) as s:
            s.sendall(signed_post(server, "DescribeProxies", {"Limit": 5}))
            s.shutdown(socket.SHUT_WR)
            status, headers, body = read_response(s)
            assert status == 200, (i, status, body)
            assert "Error" not in json.loads(body)["Response"], (i, body)
            # After the answer the server closes its side too.
            assert closed_by_server(s, 5), i


@pytest.fixture(scope="module")
def short(server_factory):
    return server_factory("http-short", extra_args=["--header-timeout", "1", "--idle-timeout", "2",
                                                    "--max-conns-per-source", "400"])


def test_slow_headers_are_closed_while_others_are_answered(short):
    slow = []
    try:
        for _ in range(100):
            s = connect(short)
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")
            slow.append(s)
        started = time.monotonic()
        # Trickle a header line every 0.25 s on every connection, and call the API as a normal client.
        while time.monotonic() - started < 1.5:
            for s in slow:
                try:
                    s.sendall(b"X-Slow: 1\r\n")
                except OSError:
                    pass
            assert api_ok(short)
            time.sleep(0.25)
        still_open = [s for s in slow if not closed_by_server(s, 3.0)]
        assert not still_open, f"{len(still_open)} of {len(slow)} slow-header connections still open"
        assert api_ok(short)
        assert metric(short, "onramp_api_connections_timed_out_total", endpoint="api", reason="header") >= 100
    finally:
        for s in slow:
            s.close()


def test_slow_bodies_are_closed_like_slow_headers(short):
    slow = []
    try:
        for _ in range(20):
            s = connect(short)
            # A whole head announcing 1,000 body bytes, then the body one byte at a time.
            s.sendall(f"POST / HTTP/1.1\r\nHost: {short.host}\r\nContent-Type: application/json\r\n"
                      f"Content-Length: 1000\r\n\r\n{{".encode())
            slow.append(s)
        for _ in range(6):
            for s in slow:
                try:
                    s.sendall(b" ")
                except OSError:
                    pass
            time.sleep(0.25)
        still_open = [s for s in slow if not closed_by_server(s, 3.0)]
        assert not still_open, f"{len(still_open)} of {len(slow)} slow-body connections still open"
        assert api_ok(short)
    finally:
        for s in slow:
            s.close()


def test_silent_connection_is_closed_by_the_header_timeout(short):
    with connect(short) as s:
        t0 = time.monotonic()
        assert closed_by_server(s, 5)
        assert 0.8 <= time.monotonic() - t0 <= 3.5


def test_idle_keep_alive_connection_is_closed_after_the_idle_timeout(short):
    with connect(short) as s:
        # Two requests 1.5 s apart (above the header timeout, below the idle one) on one connection.
        for _ in range(2):
            s.sendall(signed_post(short, "DescribeAccessRegions", {}))
            status, _, body = read_response(s)
            assert status == 200, body
            if _ == 0:
                assert not closed_by_server(s, 1.5), "closed while idle for less than --idle-timeout"
        t0 = time.monotonic()
        assert closed_by_server(s, 6), "idle connection still open"
        assert 1.5 <= time.monotonic() - t0 <= 4.5
    assert metric(short, "onramp_api_connections_timed_out_total", endpoint="api", reason="idle") >= 1


def test_per_source_cap_closes_extra_connections_only_from_that_source(server_factory):
    srv = server_factory("http-capped", extra_args=["--max-conns-per-source", "5", "--header-timeout", "30"])
    def open_now() -> float:
        return metric(srv, "onramp_api_connections_open", endpoint="api")

    # The start-up probe's connection must be gone first, or it takes one of the five places.
    h.wait_until(lambda: open_now() == 0, timeout=5, what="no connection open")
    held = [connect(srv) for _ in range(5)]
    try:
        # Once the five are admitted, a sixth from the same address is closed at once.
        h.wait_until(lambda: open_now() == 5, timeout=5, what="five connections admitted")
        for _ in range(3):
            with connect(srv) as extra:
                assert closed_by_server(extra, 2), "a connection over the per-source cap stayed open"
        assert metric(srv, "onramp_api_connections_refused_total", endpoint="api", reason="per_source") >= 3
        # Another source address is not affected, and the capped one is served again once it closes one.
        with connect(srv, "127.0.0.2") as other:
            other.sendall(signed_post(srv, "DescribeAccessRegions", {}))
            assert read_response(other)[0] == 200
        held.pop().close()
        h.wait_until(lambda: open_now() == 4, timeout=5, what="a held connection released")
        assert api_ok(srv)
        # The held ones were not disturbed: each still gets an answer.
        for s in held:
            s.sendall(signed_post(srv, "DescribeAccessRegions", {}))
            assert read_response(s)[0] == 200
    finally:
        for s in held:
            s.close()


def test_total_cap_closes_connections_from_any_source(server_factory):
    srv = server_factory("http-total", extra_args=["--max-api-connections", "3", "--header-timeout", "30"])

    def open_now() -> float:
        return metric(srv, "onramp_api_connections_open", endpoint="api")

    h.wait_until(lambda: open_now() == 0, timeout=5, what="no connection open")
    held = [connect(srv, f"127.0.0.{i}") for i in (1, 2, 3)]
    try:
        h.wait_until(lambda: open_now() == 3, timeout=5, what="three connections admitted")
        with connect(srv, "127.0.0.4") as extra:
            assert closed_by_server(extra, 2), "a connection over the total cap stayed open"
        assert metric(srv, "onramp_api_connections_refused_total", endpoint="api", reason="total") >= 1
        # The admin endpoint has its own places: /metrics answered above while the API was full.
        held.pop().close()
        h.wait_until(lambda: open_now() == 2, timeout=5, what="a held connection released")
        assert api_ok(srv)
    finally:
        for s in held:
            s.close()


@pytest.fixture(scope="module")
def tls_short(server_factory, tmp_path_factory):
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1", key_type=trustme.KeyType.RSA)
    d = tmp_path_factory.mktemp("tls-short")
    cert, key, ca_file = d / "cert.pem", d / "key.pem", d / "ca.pem"
    cert.write_bytes(b"".join(p.bytes() for p in leaf.cert_chain_pems))
    leaf.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(ca_file))
    srv = server_factory("https-short", tls=(cert, key), extra_args=["--header-timeout", "1"])
    return srv, ca_file


def test_tls_handshake_counts_in_the_header_timeout(tls_short):
    srv, ca_file = tls_short
    # A client that opens TCP and never starts the handshake is closed like a slow header.
    with connect(srv) as s:
        assert closed_by_server(s, 4)
    # A client that completes it and sends a request is served.
    ctx = ssl.create_default_context(cafile=str(ca_file))
    with ctx.wrap_socket(connect(srv), server_hostname="127.0.0.1") as s:
        assert s.selected_alpn_protocol() in (None, "http/1.1")
        s.sendall(signed_post(srv, "DescribeAccessRegions", {}))
        status, _, body = read_response(s)
        assert status == 200, body
    assert metric(srv, "onramp_api_tls_handshake_failures_total", endpoint="api") >= 1


def test_sigterm_answers_the_request_under_way_and_closes_the_rest(server_factory):
    srv = server_factory("http-drain", extra_args=["--header-timeout", "1"])
    idle = connect(srv)
    idle.sendall(signed_post(srv, "DescribeAccessRegions", {}))
    assert read_response(idle)[0] == 200
    silent = connect(srv)
    under_way = connect(srv)
    request = signed_post(srv, "DescribeAccessRegions", {})
    under_way.sendall(request[:20])
    time.sleep(0.2)
    srv.proc.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    try:
        # The request whose head had begun is finished and answered; nothing new is accepted.
        under_way.sendall(request[20:])
        assert read_response(under_way)[0] == 200
        assert closed_by_server(idle, 2), "an idle keep-alive connection was kept open after SIGTERM"
        assert closed_by_server(silent, 3), "a silent connection outlived the header timeout after SIGTERM"
        assert srv.proc.wait(5) == 0
    finally:
        for s in (idle, silent, under_way):
            s.close()
