"""Helpers of the onramp conformance suite: the server process, clients, signers, polling, resources.

Everything here talks only to 127.0.0.0/8. Every wait is bounded.
"""
from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import hmac
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest
import requests
from tencentcloud.common import credential
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

REPO = Path(__file__).resolve().parents[2]
GAAP_VERSION = "2018-05-29"
# The root key handed to every server this suite starts (ONRAMP_ROOT_SECRET_ID / _KEY on first start).
ROOT_SECRET_ID = "AKIDonrampConformanceSuite0000000001"  # 36 chars, like a real SecretId
ROOT_SECRET_KEY = "onrampConformanceSecretKey000001"  # 32 chars
REGION = "local"
START_TIMEOUT = 30.0  # seconds until the API port must accept connections
POLL_TIMEOUT = 10.0  # seconds a change may take to be applied (no data plane yet: ~immediately)
PANIC_TEXT = "panicked at"
# ONRAMP_TEST_BUSY_POLL=1: every server of the run starts with --busy-poll (its edge spins instead of
# sleeping); scripts/test.sh runs the data-plane forwarding tests once more that way.
BUSY_POLL = os.environ.get("ONRAMP_TEST_BUSY_POLL") == "1"

ID_RE = {
    "proxy": re.compile(r"^link-[a-z0-9]{8}$"),
    "group": re.compile(r"^lg-[a-z0-9]{8}$"),
    "listener": re.compile(r"^listener-[a-z0-9]{8}$"),
    "rs": re.compile(r"^rs-[a-z0-9]{8}$"),
}
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


# --------------------------------------------------------------------------------------------
# Ports and unique values
# --------------------------------------------------------------------------------------------

def ephemeral_port() -> int:
    """A free TCP port on 127.0.0.1 from the kernel's ephemeral range (for API/admin listeners)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_free(port: int) -> bool:
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


# Listener ports: unique for the whole pytest process (every server of the session binds its
# listeners on 127.0.0.1, so two proxies must never share a port), inside 20000-29999, which is
# below the kernel's ephemeral range, and free for both TCP and UDP when handed out.
_listener_port_seq = itertools.count(20000 + (os.getpid() % 100) * 50)
_handed_out: set[int] = set()


def listener_port() -> int:
    for _ in range(10000):
        p = 20000 + (next(_listener_port_seq) - 20000) % 10000
        if p not in _handed_out and _port_free(p):
            _handed_out.add(p)
            return p
    raise RuntimeError("no free listener port in 20000-29999")


def listener_ports(n: int) -> list[int]:
    return [listener_port() for _ in range(n)]


_origin_seq = itertools.count(1)


def origin_ip() -> str:
    """A unique origin address inside 127.0.0.0/8 (a health checker may really probe it)."""
    n = next(_origin_seq)
    return f"127.77.{(n // 250) % 250}.{n % 250 + 1}"


class Uniq:
    """Short unique names per test: letters, digits and '-' only (valid in every dialect)."""

    _seq = itertools.count(1)

    def __init__(self, nodeid: str):
        self.base = "t" + hashlib.sha1(nodeid.encode()).hexdigest()[:6]

    def __call__(self, prefix: str = "n") -> str:
        return f"{prefix}-{self.base}-{next(self._seq)}"


# --------------------------------------------------------------------------------------------
# Polling
# --------------------------------------------------------------------------------------------

def wait_until(fn, *, timeout: float = POLL_TIMEOUT, interval: float = 0.1, what: str = "condition"):
    """Call fn() until it returns a truthy value; fail after `timeout` seconds with the last value."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = fn()
        except TencentCloudSDKException as e:  # e.g. still CREATING and not yet visible
            last = e
        else:
            if last:
                return last
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")
        time.sleep(interval)


# --------------------------------------------------------------------------------------------
# The server process
# --------------------------------------------------------------------------------------------

class ServerError(Exception):
    pass


def onramp_bin() -> Path:
    return Path(os.environ.get("ONRAMP_BIN") or REPO / "target" / "debug" / "onramp")


def require_binary() -> Path:
    """Stop the whole run at once, with one clear message, when there is no binary to test."""
    path = onramp_bin()
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.exit(
            f"onramp binary not found or not executable: {path}\n"
            "Build it with `cargo build -p onramp --bin onramp` or set ONRAMP_BIN.",
            returncode=3,
        )
    return path


def server_env(extra: dict | None = None, *, root_key=(ROOT_SECRET_ID, ROOT_SECRET_KEY)) -> dict:
    """The environment of a server: no ONRAMP_* from the caller (flags come from the command line),
    no proxies, the given root key."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("ONRAMP_") and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    if root_key:
        env["ONRAMP_ROOT_SECRET_ID"], env["ONRAMP_ROOT_SECRET_KEY"] = root_key
    env.update(extra or {})
    return env


class OnrampServer:
    """One `onramp serve` process on loopback ports picked at start."""

    def __init__(self, data_dir: Path, log_dir: Path, *, rate_limit=0, tls: tuple[Path, Path] | None = None,
                 root_key=(ROOT_SECRET_ID, ROOT_SECRET_KEY), extra_args=(), name="onramp", preexec_fn=None):
        self.data_dir = Path(data_dir)
        self.log_dir = Path(log_dir)
        self.rate_limit = rate_limit
        self.tls = tls
        self.root_key = root_key
        self.extra_args = list(extra_args)
        self.name = name
        self.preexec_fn = preexec_fn  # runs in the child before exec (e.g. lower its descriptor limit)
        self.proc: subprocess.Popen | None = None
        self.api_port = self.admin_port = 0
        self.starts = 0

    # -- lifecycle ---------------------------------------------------------------------------
    def command(self) -> list[str]:
        cmd = [str(require_binary()), "serve",
               "--data-dir", str(self.data_dir),
               "--api-listen", f"127.0.0.1:{self.api_port}",
               "--admin-listen", f"127.0.0.1:{self.admin_port}",
               "--region", REGION,
               "--bind-address", "127.0.0.1"]
        if self.rate_limit is not None:
            cmd += ["--rate-limit", str(self.rate_limit)]
        if self.tls:
            cmd += ["--tls-cert", str(self.tls[0]), "--tls-key", str(self.tls[1])]
        if BUSY_POLL:
            cmd.append("--busy-poll")
        return cmd + self.extra_args

    def start(self, timeout: float = START_TIMEOUT) -> "OnrampServer":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.api_port, self.admin_port = ephemeral_port(), ephemeral_port()
        self.starts += 1
        self.stdout_path = self.log_dir / f"{self.name}.{self.starts}.stdout"
        self.stderr_path = self.log_dir / f"{self.name}.{self.starts}.stderr"
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                         env=server_env(root_key=self.root_key), preexec_fn=self.preexec_fn)
        deadline = time.monotonic() + timeout
        while True:
            code = self.proc.poll()
            if code is not None:
                raise ServerError(f"{self.name} exited with code {code} before accepting connections\n"
                                  f"command: {' '.join(self.command())}\n{self.output_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.api_port), timeout=0.5):
                    return self
            except OSError:
                pass
            if time.monotonic() >= deadline:
                self.kill()
                raise ServerError(f"{self.name} did not accept connections on 127.0.0.1:{self.api_port} "
                                  f"within {timeout}s\n{self.output_tail()}")
            time.sleep(0.05)

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM, then wait; returns the exit code (SIGKILL and raise if it does not stop)."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise ServerError(f"{self.name} ignored SIGTERM for {timeout}s\n{self.output_tail()}")

    def kill(self) -> None:
        """SIGKILL, as in a crash."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def edge_wakeups(self) -> int:
        """Voluntary context switches so far of the server's edge threads (named onramp-edge): how
        often the data plane went to sleep in the kernel."""
        total = 0
        task_dir = Path(f"/proc/{self.proc.pid}/task")
        for task in task_dir.iterdir():
            try:
                if (task / "comm").read_text().strip() != "onramp-edge":
                    continue
                for line in (task / "status").read_text().splitlines():
                    if line.startswith("voluntary_ctxt_switches:"):
                        total += int(line.split()[1])
            except OSError:
                continue  # the thread ended meanwhile
        return total

    # -- output --------------------------------------------------------------------------------
    def stdout(self) -> str:
        return Path(self.stdout_path).read_text(errors="replace")

    def stderr(self) -> str:
        return Path(self.stderr_path).read_text(errors="replace")

    def output_tail(self, n: int = 4000) -> str:
        return (f"--- stderr ({self.stderr_path}) ---\n{self.stderr()[-n:]}\n"
                f"--- stdout ({self.stdout_path}) ---\n{self.stdout()[-n:]}")

    # -- addressing ------------------------------------------------------------------------------
    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.api_port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}"

    def credentials(self) -> dict:
        return json.loads((self.data_dir / "credentials.json").read_text())

    def gaap(self, secret_id=None, secret_key=None, **kw) -> "GaapApi":
        return GaapApi(self, secret_id or self.root_key[0], secret_key or self.root_key[1], **kw)


# --------------------------------------------------------------------------------------------
# GAAP (API 3.0) through the official SDK
# --------------------------------------------------------------------------------------------

class GaapApi:
    """Raw-JSON GAAP calls through the official `CommonClient` (signing and transport are the SDK's;
    the returned dict is the server's JSON, so tests can check the real field types)."""

    def __init__(self, server: OnrampServer, secret_id: str, secret_key: str, *, sign_method: str | None = None,
                 req_method: str = "POST", ca: Path | None = None, endpoint: str | None = None):
        hp = HttpProfile(protocol=server.scheme, endpoint=endpoint or server.host, reqMethod=req_method,
                         reqTimeout=30)
        if ca is not None:
            hp.certification = str(ca)
        cp = ClientProfile(httpProfile=hp)
        if sign_method:
            cp.signMethod = sign_method
        self.profile = cp
        self.cred = credential.Credential(secret_id, secret_key)
        self.client = CommonClient("gaap", GAAP_VERSION, self.cred, "", cp)

    def __call__(self, action: str, params: dict | None = None) -> dict:
        """Call `action`; return `Response` (without it, the RequestId is still inside)."""
        body = self.client.call_json(action, params or {})
        assert set(body) == {"Response"}, body
        resp = body["Response"]
        assert isinstance(resp.get("RequestId"), str) and resp["RequestId"], resp
        return resp

    def error(self, action: str, params: dict | None = None) -> TencentCloudSDKException:
        """Call `action`, which must fail; return the SDK exception (code, message, requestId)."""
        try:
            resp = self(action, params)
        except TencentCloudSDKException as e:
            assert e.requestId, f"error without RequestId: {e}"
            return e
        pytest.fail(f"{action} {params} succeeded but an error was expected: {resp}")


def assert_code(err: TencentCloudSDKException, *codes: str, prefix: bool = False) -> None:
    """The error code is one of `codes` (or, with prefix=True, starts with one of them)."""
    ok = any(err.code.startswith(c) if prefix else err.code == c for c in codes)
    assert ok, f"expected error code {'prefix ' if prefix else ''}{codes}, got {err.code}: {err.message}"


def assert_invalid_value(err: TencentCloudSDKException) -> None:
    """`InvalidParameterValue` or one of its sub-codes (`InvalidParameterValue.X`)."""
    assert err.code == "InvalidParameterValue" or err.code.startswith("InvalidParameterValue."), \
        f"expected InvalidParameterValue[.*], got {err.code}: {err.message}"


# --------------------------------------------------------------------------------------------
# JSON type checks
# --------------------------------------------------------------------------------------------

class Nullable:
    def __init__(self, kind):
        self.kind = kind


def _is(value, kind) -> bool:
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, kind)


def check_shape(obj: dict, spec: dict, where: str = "") -> None:
    """Every field of `spec` is present in `obj` with the JSON type given (lists must be lists, never
    null, unless wrapped in Nullable). A nested dict spec checks a nested object; [spec] checks items."""
    assert isinstance(obj, dict), f"{where}: expected an object, got {obj!r}"
    for field, kind in spec.items():
        path = f"{where}.{field}" if where else field
        assert field in obj, f"{path} missing in {sorted(obj)}"
        value = obj[field]
        nullable = isinstance(kind, Nullable)
        if nullable:
            kind = kind.kind
            if value is None:
                continue
        if isinstance(kind, dict):
            check_shape(value, kind, path)
        elif isinstance(kind, list):
            assert isinstance(value, list), f"{path}: expected a list, got {value!r}"
            for i, item in enumerate(value):
                if isinstance(kind[0], dict):
                    check_shape(item, kind[0], f"{path}[{i}]")
                else:
                    assert _is(item, kind[0]), f"{path}[{i}]: expected {kind[0].__name__}, got {item!r}"
        else:
            assert _is(value, kind), f"{path}: expected {kind.__name__}, got {value!r}"


TAG_PAIR = {"TagKey": str, "TagValue": str}
REGION_DETAIL = {"RegionId": str, "RegionName": str, "RegionArea": str, "RegionAreaName": str, "IDCType": str,
                 "FeatureBitmap": int, "SupportFeature": Nullable({"NetworkType": [str]})}
IP_DETAIL = {"IP": str, "Provider": str, "Bandwidth": int}
PROXY_INFO = {
    "InstanceId": str, "CreateTime": int, "ProjectId": int, "ProxyName": str, "AccessRegion": str,
    "RealServerRegion": str, "Bandwidth": int, "Concurrent": int, "Status": str, "Domain": str, "IP": str,
    "Version": str, "ProxyId": str, "Scalarable": int, "SupportProtocols": [str], "GroupId": Nullable(str),
    "PolicyId": Nullable(str), "AccessRegionInfo": REGION_DETAIL, "RealServerRegionInfo": REGION_DETAIL,
    "ForwardIP": str, "TagSet": [TAG_PAIR], "SupportSecurity": int, "BillingType": int,
    "RelatedGlobalDomains": [str], "ModifyConfigTime": Nullable(int), "ProxyType": int, "ClientIPMethod": [int],
    "IPAddressVersion": str, "NetworkType": str, "PackageType": str, "BanStatus": str, "IPList": [IP_DETAIL],
    "Http3Supported": int, "InBanBlacklist": int, "FeatureBitmap": Nullable(int),
}
PROXY_STATUS = {"InstanceId": str, "Status": str}
PROXY_GROUP_INFO = {
    "GroupId": str, "Domain": Nullable(str), "GroupName": str, "ProjectId": int,
    "RealServerRegionInfo": REGION_DETAIL, "Status": str, "TagSet": [TAG_PAIR], "Version": str,
    "CreateTime": int, "ProxyType": int, "Http3Supported": int, "FeatureBitmap": int,
}
PROXY_GROUP_DETAIL = {
    "CreateTime": int, "ProjectId": int, "ProxyNum": int, "Status": int, "OwnerUin": str, "CreateUin": str,
    "GroupName": str, "DnsDefaultIp": str, "Domain": Nullable(str), "RealServerRegionInfo": REGION_DETAIL,
    "IsOldGroup": bool, "GroupId": str, "TagSet": [TAG_PAIR], "PolicyId": str, "Version": str,
    "ClientIPMethod": [int], "IPAddressVersion": str, "PackageType": str, "Http3Supported": int,
    "FeatureBitmap": int,
}
BIND_REAL_SERVER = {
    "RealServerId": str, "RealServerIP": str, "RealServerWeight": int, "RealServerStatus": int,
    "RealServerPort": int, "DownIPList": [str], "RealServerFailoverRole": str,
}
REAL_SERVER = {"RealServerIP": str, "RealServerId": str, "RealServerName": str, "ProjectId": int,
               "InBanBlacklist": int}
BIND_REAL_SERVER_INFO = {"RealServerIP": str, "RealServerId": str, "RealServerName": str, "ProjectId": int,
                         "TagSet": [TAG_PAIR]}
NEW_REAL_SERVER = {"RealServerId": str, "RealServerIP": str}
REAL_SERVER_STATUS = {"RealServerId": str, "BindStatus": int, "ProxyId": str, "GroupId": Nullable(str)}
TAG_RESOURCE_INFO = {"ResourceType": str, "ResourceId": str}
# GUESS: RealServerPort of a listener on a (non-1.0) proxy has no meaning; the TCP table allows null,
# the UDP table does not say, so both accept an integer or null.
TCP_LISTENER = {
    "ListenerId": str, "ListenerName": str, "Port": int, "RealServerPort": Nullable(int), "RealServerType": str,
    "Protocol": str, "ListenerStatus": int, "Scheduler": str, "ConnectTimeout": int, "DelayLoop": int,
    "HealthCheck": int, "BindStatus": int, "RealServerSet": [BIND_REAL_SERVER], "CreateTime": int,
    "ClientIPMethod": int, "HealthyThreshold": int, "UnhealthyThreshold": int, "FailoverSwitch": int,
    "SessionPersist": int, "ProxyId": str, "GroupId": Nullable(str),
}
UDP_LISTENER = {
    "ListenerId": str, "ListenerName": str, "Port": int, "RealServerPort": Nullable(int), "RealServerType": str,
    "Protocol": str, "ListenerStatus": int, "Scheduler": str, "BindStatus": int,
    "RealServerSet": [BIND_REAL_SERVER], "CreateTime": int, "SessionPersist": int, "DelayLoop": int,
    "ConnectTimeout": int, "HealthyThreshold": int, "UnhealthyThreshold": int, "FailoverSwitch": int,
    "HealthCheck": int, "CheckType": str, "CheckPort": int, "ContextType": str, "SendContext": str,
    "RecvContext": str, "ProxyId": str, "GroupId": Nullable(str),
}


# --------------------------------------------------------------------------------------------
# GAAP resources (each waits, bounded, until the change is applied)
# --------------------------------------------------------------------------------------------

def tag(value: str, key: str = "onramp-test") -> dict:
    return {"TagKey": key, "TagValue": value}


def proxy_detail(api: GaapApi, proxy_id: str) -> dict:
    return api("DescribeProxyDetail", {"ProxyId": proxy_id})["ProxyDetail"]


def wait_proxy_status(api: GaapApi, proxy_id: str, status: str = "RUNNING") -> dict:
    return wait_until(lambda: (d := proxy_detail(api, proxy_id))["Status"] == status and d,
                      what=f"proxy {proxy_id} Status == {status}")


def wait_task(api: GaapApi, task_id: str) -> dict:
    def done():
        r = api("DescribeTaskStatus", {"TaskId": task_id})
        assert r["Status"] in ("RUNNING", "SUCCESS"), r
        return r["Status"] == "SUCCESS" and r
    return wait_until(done, what=f"task {task_id} SUCCESS")


def create_proxy(api: GaapApi, name: str, *, tags=(), wait: bool = True, **extra) -> str:
    params = {"ProjectId": 0, "ProxyName": name, "AccessRegion": REGION, "Bandwidth": 10, "Concurrent": 2}
    if "GroupId" not in extra:
        params["RealServerRegion"] = REGION
    if tags:
        params["TagSet"] = list(tags)
    params.update(extra)
    resp = api("CreateProxy", params)
    proxy_id = resp["InstanceId"]
    assert ID_RE["proxy"].match(proxy_id), proxy_id
    if wait:
        wait_proxy_status(api, proxy_id)
    return proxy_id


def create_group(api: GaapApi, name: str, *, tags=(), **extra) -> str:
    params = {"ProjectId": 0, "GroupName": name, "RealServerRegion": REGION}
    if tags:
        params["TagSet"] = list(tags)
    params.update(extra)
    group_id = api("CreateProxyGroup", params)["GroupId"]
    assert ID_RE["group"].match(group_id), group_id
    wait_until(lambda: api("DescribeProxyGroupDetails", {"GroupId": group_id})["ProxyGroupDetail"]["Status"] == 0,
               what=f"group {group_id} Status == 0")
    return group_id


def describe_listener(api: GaapApi, listener_id: str, protocol: str = "TCP") -> dict:
    resp = api(f"Describe{protocol}Listeners", {"ListenerId": listener_id})
    assert resp["TotalCount"] == 1 and len(resp["ListenerSet"]) == 1, resp
    return resp["ListenerSet"][0]


def wait_listener_ready(api: GaapApi, listener_id: str, protocol: str = "TCP") -> dict:
    return wait_until(lambda: (l := describe_listener(api, listener_id, protocol))["ListenerStatus"] == 0 and l,
                      what=f"listener {listener_id} ListenerStatus == 0")


def create_tcp_listeners(api: GaapApi, proxy_id: str, ports: list[int], name: str, **extra) -> list[str]:
    params = {"ListenerName": name, "Ports": ports, "Scheduler": "rr", "HealthCheck": 0, "RealServerType": "IP",
              "ProxyId": proxy_id}
    params.update(extra)
    ids = api("CreateTCPListeners", params)["ListenerIds"]
    assert len(ids) == len(ports) and all(ID_RE["listener"].match(i) for i in ids), ids
    for i in ids:
        wait_listener_ready(api, i, "TCP")
    return ids


def create_udp_listeners(api: GaapApi, proxy_id: str, ports: list[int], name: str, **extra) -> list[str]:
    params = {"ListenerName": name, "Ports": ports, "Scheduler": "rr", "RealServerType": "IP",
              "ProxyId": proxy_id}
    params.update(extra)
    ids = api("CreateUDPListeners", params)["ListenerIds"]
    assert len(ids) == len(ports) and all(ID_RE["listener"].match(i) for i in ids), ids
    for i in ids:
        wait_listener_ready(api, i, "UDP")
    return ids


def add_real_servers(api: GaapApi, name: str, ips: list[str], *, tags=(), project_id: int = 0) -> dict[str, str]:
    """Register origins; returns {ip: rs-id}."""
    params = {"ProjectId": project_id, "RealServerIP": ips, "RealServerName": name}
    if tags:
        params["TagSet"] = list(tags)
    got = api("AddRealServers", params)["RealServerSet"]
    for item in got:
        check_shape(item, NEW_REAL_SERVER, "RealServerSet[]")
        assert ID_RE["rs"].match(item["RealServerId"]), item
    result = {item["RealServerIP"]: item["RealServerId"] for item in got}
    assert sorted(result) == sorted(ips), got
    return result


def bind_item(rs_id: str, ip: str, port: int, weight: int | None = None, role: str | None = None) -> dict:
    item = {"RealServerId": rs_id, "RealServerPort": port, "RealServerIP": ip}
    if weight is not None:
        item["RealServerWeight"] = weight
    if role is not None:
        item["RealServerFailoverRole"] = role
    return item


def bind(api: GaapApi, listener_id: str, items: list[dict], protocol: str = "TCP") -> dict:
    api("BindListenerRealServers", {"ListenerId": listener_id, "RealServerBindSet": items})
    return wait_listener_ready(api, listener_id, protocol)


def bound_set(api: GaapApi, listener_id: str) -> dict[str, dict]:
    """{rs-id: BindRealServer} from DescribeListenerRealServers."""
    resp = api("DescribeListenerRealServers", {"ListenerId": listener_id})
    return {b["RealServerId"]: b for b in resp["BindRealServerSet"]}


# --------------------------------------------------------------------------------------------
# Raw signers (to send what the SDK never sends: stale timestamps, broken headers, replays)
# --------------------------------------------------------------------------------------------

def tc3_authorization(secret_id: str, secret_key: str, *, method: str, host: str, content_type: str,
                      query: str, body: bytes, timestamp: int, service: str = "gaap") -> str:
    date = _dt.datetime.fromtimestamp(timestamp, _dt.timezone.utc).strftime("%Y-%m-%d")
    canonical = "\n".join([method, "/", query, f"content-type:{content_type}\nhost:{host}\n",
                           "content-type;host", hashlib.sha256(body).hexdigest()])
    scope = f"{date}/{service}/tc3_request"
    to_sign = "\n".join(["TC3-HMAC-SHA256", str(timestamp), scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])

    def _h(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    k = _h(_h(_h(("TC3" + secret_key).encode(), date), service), "tc3_request")
    sig = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders=content-type;host, Signature={sig}"


def raw_tc3_post(server: OnrampServer, action: str, params: dict | bytes, *, secret_id=None, secret_key=None,
                 timestamp: int | None = None, version: str = GAAP_VERSION, authorization: str | None = None,
                 verify=True, extra_headers: dict | None = None) -> requests.Response:
    """A TC3-signed `POST /` built by hand (same canonical form as the SDK)."""
    body = params if isinstance(params, bytes) else json.dumps(params).encode()
    ts = int(time.time()) if timestamp is None else timestamp
    ct = "application/json"
    auth = authorization or tc3_authorization(secret_id or ROOT_SECRET_ID, secret_key or ROOT_SECRET_KEY,
                                              method="POST", host=server.host, content_type=ct, query="",
                                              body=body, timestamp=ts)
    headers = {"Content-Type": ct, "Host": server.host, "X-TC-Action": action, "X-TC-Version": version,
               "X-TC-Timestamp": str(ts), "Authorization": auth}
    headers.update(extra_headers or {})
    return requests.post(server.url + "/", data=body, headers=headers, timeout=30, verify=verify)


def flatten(params: dict, prefix: str = "") -> dict[str, str]:
    """Flatten nested params the way the SDKs do for GET/form (`A.0.B=v`, 0-based)."""
    out: dict[str, str] = {}
    items = params.items() if isinstance(params, dict) else enumerate(params)
    for k, v in items:
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, (dict, list, tuple)):
            out.update(flatten(v, key))
        else:
            out[key] = str(v)
    return out


def v1_signature(secret_key: str, *, method: str, host: str, path: str, params: dict[str, str],
                 sign_method: str = "HmacSHA1") -> str:
    """Legacy HmacSHA1/HmacSHA256 signature (API 3.0 v1 and BM v2 use the same recipe)."""
    pairs = "&".join(f"{k.replace('_', '.')}={params[k]}" for k in sorted(params) if k != "Signature")
    msg = f"{method}{host}{path}?{pairs}"
    digest = hashlib.sha256 if sign_method == "HmacSHA256" else hashlib.sha1
    return base64.b64encode(hmac.new(secret_key.encode(), msg.encode(), digest).digest()).decode()


def bm_params(action: str, params: dict, *, host: str, method: str = "GET", secret_id: str = ROOT_SECRET_ID,
              secret_key: str = ROOT_SECRET_KEY, nonce: int | None = None, timestamp: int | None = None,
              sign_method: str = "HmacSHA1") -> dict[str, str]:
    """Signed BM legacy v2 parameters (as qcloudapi-sdk-python 2.0.15 builds them)."""
    p = flatten(params)
    p.update({"Action": action, "Region": "gz", "SecretId": secret_id,
              "Nonce": str(nonce if nonce is not None else int.from_bytes(os.urandom(7), "big") + 1),
              "Timestamp": str(int(time.time()) if timestamp is None else timestamp),
              "SignatureMethod": sign_method, "RequestClient": "SDK_PYTHON_2.0.15"})
    p["Signature"] = v1_signature(secret_key, method=method, host=host, path="/v2/index.php", params=p,
                                  sign_method=sign_method)
    return p


def query_string(params: dict[str, str]) -> str:
    return urllib.parse.urlencode(params)


def venv_tool(name: str) -> str:
    """A console script installed beside the interpreter running the suite (the .venv)."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name
