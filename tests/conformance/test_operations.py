"""Operators (issue 12): `--log-format json` writes one JSON object per log line; SIGHUP reloads the TLS
certificate and key for new connections while an open connection carries on (a bad pair is refused and the
old one kept); `--access-log PATH` logs the connections of every listener, not only those with a log tank;
`onramp status --json` (the admin endpoint's `/status`) agrees with what the GAAP API shows: listeners per
state, bound origins per health, the edge and its applied revision; the Grafana dashboard and the alert rules
(docs/grafana, docs/prometheus) name only metrics that docs/metrics.md lists and a node exposes."""
import json
import re
import signal
import socket
import ssl
import subprocess
import time

import pytest
import trustme
import yaml

import dataplane as dp
import helpers as h

FAST = {"HealthCheck": 1, "DelayLoop": 5, "ConnectTimeout": 2, "HealthyThreshold": 1, "UnhealthyThreshold": 1}


def write_leaf(ca: trustme.CA, cert, key) -> bytes:
    """Issue a new leaf for 127.0.0.1 into `cert`/`key`; return its DER."""
    leaf = ca.issue_cert("127.0.0.1", key_type=trustme.KeyType.RSA)
    cert.write_bytes(b"".join(p.bytes() for p in leaf.cert_chain_pems))
    leaf.private_key_pem.write_to_path(str(key))
    return ssl.PEM_cert_to_DER_cert(leaf.cert_chain_pems[0].bytes().decode())


def tls_conn(srv, ca_file) -> ssl.SSLSocket:
    ctx = ssl.create_default_context(cafile=str(ca_file))
    raw = socket.create_connection(("127.0.0.1", srv.api_port), timeout=5)
    return ctx.wrap_socket(raw, server_hostname="127.0.0.1")


def presented(srv, ca_file) -> bytes:
    with tls_conn(srv, ca_file) as s:
        return s.getpeercert(binary_form=True)


def healthz(s: ssl.SSLSocket) -> int:
    """One keep-alive `GET /healthz` on `s`; the HTTP status."""
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    buf = b""
    deadline = time.monotonic() + 5
    while b"\r\n\r\n" not in buf or not buf.endswith(b"ok\n"):
        assert time.monotonic() < deadline, buf
        chunk = s.recv(4096)
        assert chunk, f"the connection was closed: {buf!r}"
        buf += chunk
    return int(buf.split(b" ", 2)[1])


def log_events(srv) -> list[dict]:
    return [json.loads(line) for line in srv.stderr().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def tls_server(server_factory, tmp_path_factory):
    ca = trustme.CA()
    d = tmp_path_factory.mktemp("ops-tls")
    cert, key, ca_file, access = d / "cert.pem", d / "key.pem", d / "ca.pem", d / "all.log"
    first = write_leaf(ca, cert, key)
    ca.cert_pem.write_to_path(str(ca_file))
    srv = server_factory("ops-tls", tls=(cert, key),
                         extra_args=["--log-format", "json", "--access-log", str(access)])
    return srv, ca, ca_file, (cert, key), first, access


def test_logs_are_json_objects(tls_server):
    srv = tls_server[0]
    events = log_events(srv)
    assert events, "the server logged nothing at start"
    for e in events:
        assert {"timestamp", "level", "message", "target"} <= set(e), e
    assert any(e["message"] == "data plane descriptor budget" and "budget" in e for e in events), events


def test_sighup_reloads_the_certificate_without_dropping_connections(tls_server):
    srv, ca, ca_file, (cert, key), first, _ = tls_server
    assert presented(srv, ca_file) == first
    kept = tls_conn(srv, ca_file)
    try:
        assert healthz(kept) == 200
        second = write_leaf(ca, cert, key)
        srv.proc.send_signal(signal.SIGHUP)
        h.wait_until(lambda: presented(srv, ca_file) == second, what="new connections get the new certificate")
        assert healthz(kept) == 200, "the connection opened before the reload was dropped"
        assert kept.getpeercert(binary_form=True) == first

        # A broken pair is refused with a log line; the server keeps offering the last good one.
        cert.write_text("not a certificate\n")
        srv.proc.send_signal(signal.SIGHUP)
        h.wait_until(lambda: any(e["message"].startswith("TLS reload failed") for e in log_events(srv)),
                     what="the failed reload logged")
        assert presented(srv, ca_file) == second
        assert srv.alive()
        assert any(e["message"].startswith("reloaded the TLS certificate") for e in log_events(srv))
    finally:
        kept.close()


def test_access_log_for_every_listener(tls_server, uniq):
    srv, _, ca_file, _, _, access = tls_server
    lab = dp.Lab(srv.gaap(ca=ca_file), srv, uniq)
    try:
        origin = lab.tcp_origin("a")
        lst = lab.tcp_listener([origin])  # no log tank
        assert dp.tcp_tag(lst.port, line=b"hello") == "a"

        def lines():
            if not access.exists():
                return []
            return [x for x in map(json.loads, access.read_text().splitlines()) if x["listener"] == lst.id]
        [line] = h.wait_until(lines, timeout=10, what="the access-log line of a listener without a log tank")
        assert (line["protocol"], line["end"], line["endpoint"]) == ("TCP", "closed", f"{origin.ip}:{origin.port}")
        assert (line["bytes_in"], line["bytes_out"]) == (len(b"hello\n"), len(b"a:hello\n")), line
    finally:
        lab.close()


# -- onramp status ----------------------------------------------------------------------------------------------

def status(srv, *extra) -> subprocess.CompletedProcess:
    cmd = [str(h.require_binary()), "status", "--admin", f"127.0.0.1:{srv.admin_port}", *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)


def api_view(api) -> tuple[dict, dict]:
    """(listeners per ListenerStatus, bound origins per RealServerStatus) of every proxy, from GAAP."""
    listeners: dict[int, int] = {}
    origins: dict[int, int] = {}
    for p in api("DescribeProxies", {"Limit": 100})["ProxySet"]:
        for proto in ("TCP", "UDP"):
            for l in api(f"Describe{proto}Listeners", {"ProxyId": p["ProxyId"], "Limit": 100})["ListenerSet"]:
                listeners[l["ListenerStatus"]] = listeners.get(l["ListenerStatus"], 0) + 1
                for b in h.bound_set(api, l["ListenerId"]).values():
                    origins[b["RealServerStatus"]] = origins.get(b["RealServerStatus"], 0) + 1
    return listeners, origins


def test_status_agrees_with_the_api(server_factory, uniq):
    srv = server_factory("ops-status")
    api = srv.gaap()
    lab = dp.Lab(api, srv, uniq)
    taken = socket.socket()
    try:
        up, down = lab.tcp_origin("up"), lab.tcp_origin("down")
        lst = lab.tcp_listener([up, down], **FAST)
        down.kill()
        h.wait_until(lambda: lab.status_of(lst, down) == 1 and lab.status_of(lst, up) == 0,
                     timeout=dp.health_bound(5, 1, 2) * 2, what="one origin healthy, one abnormal")
        lab.tcp_listener([], proxy=lst.proxy)
        # A listener whose port is taken on the edge cannot open: it stays "creating" for GAAP, failed here.
        port = h.listener_port()
        taken.bind(("127.0.0.1", port))
        taken.listen()
        [stuck] = api("CreateTCPListeners", {"ListenerName": uniq("stuck"), "Ports": [port], "Scheduler": "rr",
                                             "HealthCheck": 0, "RealServerType": "IP",
                                             "ProxyId": lst.proxy})["ListenerIds"]

        def settled():
            out = status(srv, "--json")
            assert out.returncode == 0, out.stderr
            s = json.loads(out.stdout)
            return s if s["listeners"]["failed"] == 1 else None
        s = h.wait_until(settled, what="the stuck listener reported as failed")
        listeners, origins = api_view(api)
        assert s["listeners"]["running"] == listeners.get(0, 0) == 2, (s, listeners)
        assert s["listeners"]["failed"] + s["listeners"]["creating"] == listeners.get(1, 0) == 1, (s, listeners)
        assert sum(s["listeners"].values()) == sum(listeners.values())
        assert (s["origins"]["healthy"], s["origins"]["unhealthy"]) == (origins.get(0, 0), origins.get(1, 0)) \
            == (1, 1), (s, origins)
        assert s["accelerators"]["running"] == 1 and sum(s["accelerators"].values()) == 1, s
        [edge] = s["edges"]
        assert (edge["name"], edge["region"], edge["live"]) == ("local", h.REGION, True), edge
        assert edge["applied_revision"] == s["applied_revision"] == s["revision"], s
        assert edge["listeners_failed"] == 1 and edge["listeners_open"] == 2, edge
        assert s["regions"] == [{"region": h.REGION, "edges": 1, "live_edges": 1}], s
        assert (s["role"], s["version"]) == ("serve", s["version"]) and s["version"]

        table = status(srv)
        assert table.returncode == 0, table.stderr
        assert "listeners      failed 1, running 2" in table.stdout, table.stdout
        assert "bound origins  healthy 1, unhealthy 1" in table.stdout, table.stdout
        assert "local" in table.stdout and "live" in table.stdout, table.stdout
        # The dashboard and the alerts read names this node really exposes.
        exposed = set(re.findall(r"^(onramp_[a-z_]+)", lab.metrics(), re.M))
        for name in dashboard_and_alert_names():
            assert name in exposed, f"{name} is in the dashboard or the alerts but not on /metrics"
        api("DeleteListeners", {"ProxyId": lst.proxy, "ListenerIds": [stuck], "Force": 1})
    finally:
        taken.close()
        lab.close()


# -- the Grafana dashboard and the alert rules ------------------------------------------------------------------

DASHBOARD = h.REPO / "docs" / "grafana" / "onramp.json"
ALERTS = h.REPO / "docs" / "prometheus" / "alerts.yml"
NAME_RE = re.compile(r"\bonramp_[a-z_]+\b")


def dashboard_exprs() -> list[str]:
    d = json.loads(DASHBOARD.read_text())
    return [t["expr"] for p in d["panels"] for t in p.get("targets", [])]


def alert_rules() -> list[dict]:
    return [r for g in yaml.safe_load(ALERTS.read_text())["groups"] for r in g["rules"]]


def dashboard_and_alert_names() -> set[str]:
    exprs = dashboard_exprs() + [r["expr"] for r in alert_rules()]
    return {n for e in exprs for n in NAME_RE.findall(e)}


def test_dashboard_and_alerts_are_well_formed_and_documented():
    d = json.loads(DASHBOARD.read_text())
    ids = [p["id"] for p in d["panels"]]
    assert len(ids) == len(set(ids)), "panel ids are unique"
    assert [v["name"] for v in d["templating"]["list"]] == ["datasource", "listener"]
    for p in d["panels"]:
        assert {"h", "w", "x", "y"} <= set(p["gridPos"]) and p["gridPos"]["x"] + p["gridPos"]["w"] <= 24, p
        if p["type"] != "row":
            assert p["datasource"]["uid"] == "${datasource}" and p["targets"], p["title"]
    documented = set(re.findall(r"`(onramp_[a-z_]+)`", (h.REPO / "docs" / "metrics.md").read_text()))
    names = dashboard_and_alert_names()
    assert len(names) >= 25, names
    assert names <= documented, f"not in docs/metrics.md: {names - documented}"
    rules = alert_rules()
    wanted = {"OnrampOriginDown", "OnrampEdgeLost", "OnrampListenerStuckCreating", "OnrampConnectFailureRate"}
    assert wanted <= {r["alert"] for r in rules}
    for r in rules:
        assert r["labels"]["severity"] in ("critical", "warning", "info") and r["annotations"]["summary"], r
        assert re.fullmatch(r"\d+[smh]", r["for"]), r


def test_status_of_a_node_that_is_not_there():
    port = h.ephemeral_port()
    out = subprocess.run([str(h.require_binary()), "status", "--admin", f"127.0.0.1:{port}"],
                         capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert out.returncode == 1 and "is it running?" in out.stderr, out
