"""Process behaviour of `onramp serve`: acknowledged writes survive SIGKILL, the root key is created once
(credentials.json, mode 0600, never rotated, secret never on stdout), and bad start-ups (corrupt config,
port in use) end cleanly with a message instead of a panic."""
import os
import socket
import stat
import subprocess

import pytest

import helpers as h


def _snapshot(api, proxy_id: str, group_id: str, rs_name: str) -> dict:
    """Everything a client can see of the resources made in the test."""
    detail = h.proxy_detail(api, proxy_id)
    tcp = api("DescribeTCPListeners", {"ProxyId": proxy_id, "Limit": 100})
    udp = api("DescribeUDPListeners", {"ProxyId": proxy_id, "Limit": 100})
    bindings = {l["ListenerId"]: sorted((b["RealServerId"], b["RealServerPort"], b["RealServerWeight"])
                                        for b in api("DescribeListenerRealServers",
                                                     {"ListenerId": l["ListenerId"]})["BindRealServerSet"])
                for l in tcp["ListenerSet"]}
    origins = api("DescribeRealServers", {"ProjectId": -1, "Limit": 50,
                                          "Filters": [{"Name": "RealServerName", "Values": [rs_name]}]})
    group = api("DescribeProxyGroupDetails", {"GroupId": group_id})["ProxyGroupDetail"]
    return {
        "proxy": (detail["ProxyName"], detail["Bandwidth"], detail["Concurrent"], detail["TagSet"]),
        "tcp": sorted((l["ListenerId"], l["Port"], l["ListenerName"], l["DelayLoop"]) for l in tcp["ListenerSet"]),
        "udp": sorted((l["ListenerId"], l["Port"]) for l in udp["ListenerSet"]),
        "bindings": bindings,
        "origins": sorted((r["RealServerId"], r["RealServerIP"]) for r in origins["RealServerSet"]),
        "group": (group["GroupId"], group["GroupName"]),
    }


def test_acknowledged_writes_survive_sigkill(server_factory):
    srv = server_factory("durable")
    api = srv.gaap()
    u = h.Uniq("durability")
    rs_name = u("rs")
    t = h.tag(u("tag"))
    group_id = h.create_group(api, u("lg"))
    proxy_id = h.create_proxy(api, u("px"), tags=[t])
    tcp_ids = h.create_tcp_listeners(api, proxy_id, h.listener_ports(3), u("ln"), HealthCheck=1, DelayLoop=9,
                                     ConnectTimeout=3)
    h.create_udp_listeners(api, proxy_id, [h.listener_port()], u("ln"))
    ips = [h.origin_ip() for _ in range(3)]
    rs = h.add_real_servers(api, rs_name, ips)
    h.bind(api, tcp_ids[0], [h.bind_item(rs[ips[0]], ips[0], 80, weight=3),
                             h.bind_item(rs[ips[1]], ips[1], 81, weight=4)])
    # The last writes are killed right after their answer, without waiting for anything.
    api("ModifyProxiesAttribute", {"ProxyIds": [proxy_id], "ProxyName": u("final")})
    api("ModifyTCPListenerAttribute", {"ListenerId": tcp_ids[1], "ListenerName": u("renamed")})
    extra = [h.origin_ip() for _ in range(10)]
    for ip in extra:  # many small acknowledged writes, the last one just before the kill
        api("AddRealServers", {"ProjectId": 0, "RealServerIP": [ip], "RealServerName": rs_name})
    api("BindListenerRealServers", {"ListenerId": tcp_ids[2], "RealServerBindSet": [
        h.bind_item(rs[ips[2]], ips[2], 82, weight=5)]})
    before = h.wait_until(lambda: _snapshot(api, proxy_id, group_id, rs_name), what="snapshot")
    srv.kill()
    assert srv.proc.returncode == -9

    srv.start()
    after = _snapshot(srv.gaap(), proxy_id, group_id, rs_name)
    assert after == before
    assert len(after["origins"]) == 13
    assert after["bindings"][tcp_ids[2]] == [(rs[ips[2]], 82, 5)]
    # And the store still takes writes.
    h.create_tcp_listeners(srv.gaap(), proxy_id, [h.listener_port()], u("ln"))
    srv.stop()


def test_writes_survive_graceful_stop(server_factory):
    srv = server_factory("graceful")
    api = srv.gaap()
    proxy_id = h.create_proxy(api, h.Uniq("graceful")("px"))
    # GUESS: a graceful SIGTERM shutdown exits 0.
    assert srv.stop() == 0, srv.output_tail()
    srv.start()
    assert h.proxy_detail(srv.gaap(), proxy_id)["ProxyId"] == proxy_id
    srv.stop()


def test_credentials_file(server_factory):
    srv = server_factory("creds")
    path = srv.data_dir / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600, oct(path.stat().st_mode)
    first = srv.credentials()
    assert first["secret_id"] == h.ROOT_SECRET_ID and first["secret_key"] == h.ROOT_SECRET_KEY
    for key in ("domain_id", "app_id"):
        assert first[key] not in (None, ""), first
    raw = path.read_bytes()
    srv.kill()
    srv.start()
    assert path.read_bytes() == raw, "credentials.json changed on the second start"
    srv.stop()
    # A second start with another key in the environment does not rotate the root key either.
    srv.root_key = ("AKIDsomeOtherKeyAtSecondStart0000000", "someOtherSecretKeyAtSecondStart0")
    srv.start()
    assert path.read_bytes() == raw
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert srv.gaap(h.ROOT_SECRET_ID, h.ROOT_SECRET_KEY)("DescribeAccessRegions")["TotalCount"] == 1
    srv.stop()


def test_generated_root_key(server_factory):
    srv = server_factory("genkey", root_key=None)
    c = srv.credentials()
    assert c["secret_id"] and c["secret_key"] and c["domain_id"]
    assert c["secret_id"] != h.ROOT_SECRET_ID
    assert srv.gaap(c["secret_id"], c["secret_key"])("DescribeAccessRegions")["TotalCount"] == 1
    srv.stop()
    assert c["secret_key"] not in srv.stdout(), "the secret key was printed on stdout"
    assert "credentials.json" in srv.stdout() + srv.stderr(), "the start-up does not say where the key is"


def _run_to_exit(cmd: list[str], timeout: float = 30.0) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                              env=h.server_env())
    except subprocess.TimeoutExpired:
        pytest.fail(f"`{' '.join(cmd)}` kept running for {timeout}s; it should have refused to start")


def _assert_clean_refusal(result: subprocess.CompletedProcess) -> str:
    text = result.stdout + result.stderr
    assert result.returncode not in (0, None), result
    assert result.returncode > 0, f"killed by signal {-result.returncode}: {text[-2000:]}"
    assert h.PANIC_TEXT not in text, text[-4000:]
    assert result.stderr.strip(), f"no error message on stderr: {text[-2000:]}"
    return text


def test_corrupt_config_file(tmp_path):
    config = tmp_path / "onramp.toml"
    config.write_text("this is [[[ not toml = = \n")
    cmd = [str(h.require_binary()), "serve", "--config", str(config), "--data-dir", str(tmp_path / "data"),
           "--api-listen", f"127.0.0.1:{h.ephemeral_port()}", "--admin-listen", f"127.0.0.1:{h.ephemeral_port()}",
           "--region", h.REGION, "--bind-address", "127.0.0.1"]
    text = _assert_clean_refusal(_run_to_exit(cmd))
    assert str(config) in text or "config" in text.lower(), text[-2000:]


def test_api_port_in_use(tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        cmd = [str(h.require_binary()), "serve", "--data-dir", str(tmp_path / "data"),
               "--api-listen", f"127.0.0.1:{port}", "--admin-listen", f"127.0.0.1:{h.ephemeral_port()}",
               "--region", h.REGION, "--bind-address", "127.0.0.1"]
        text = _assert_clean_refusal(_run_to_exit(cmd))
    # GUESS: the message names the address or says it is in use.
    assert str(port) in text or "in use" in text.lower(), text[-2000:]


def test_data_dir_not_writable(tmp_path):
    if os.geteuid() == 0:
        # root ignores permission bits: use a path under a regular file instead.
        (tmp_path / "file").write_text("x")
        data_dir = tmp_path / "file" / "data"
    else:
        data_dir = tmp_path / "ro"
        data_dir.mkdir(mode=0o500)
    cmd = [str(h.require_binary()), "serve", "--data-dir", str(data_dir),
           "--api-listen", f"127.0.0.1:{h.ephemeral_port()}", "--admin-listen", f"127.0.0.1:{h.ephemeral_port()}",
           "--region", h.REGION, "--bind-address", "127.0.0.1"]
    _assert_clean_refusal(_run_to_exit(cmd))
