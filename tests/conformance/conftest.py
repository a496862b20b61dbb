"""Fixtures of the onramp conformance suite.

One `onramp serve` is shared by the whole session (rate limit off, fresh data dir, known root key);
modules that need their own server (rate limit, TLS, durability) start it themselves through
`server_factory`. Every test makes its own proxies, names, ports and origin addresses.
"""
from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

# Client hygiene before any SDK is imported: no proxies (all traffic is loopback), no credentials or
# profiles from the environment, and a throw-away HOME (tccli reads ~/.tccli, the Huawei SDK writes
# ~/.huaweicloud).
for _var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
    os.environ.pop(_var, None)
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
for _var in list(os.environ):
    if _var.startswith(("TENCENTCLOUD_", "HUAWEICLOUD_", "TCCLI_")):
        del os.environ[_var]
_HOME = tempfile.mkdtemp(prefix="onramp-conformance-home-")
os.environ["HOME"] = _HOME
atexit.register(shutil.rmtree, _HOME, True)

import pytest  # noqa: E402

import helpers as h  # noqa: E402


@pytest.fixture(scope="session")
def server_factory(tmp_path_factory):
    """Start extra servers: `server_factory(name, **OnrampServer kwargs)`; all are stopped at the end."""
    started: list[h.OnrampServer] = []

    def make(name: str = "onramp", *, start: bool = True, **kw) -> h.OnrampServer:
        h.require_binary()
        base = tmp_path_factory.mktemp(name)
        srv = h.OnrampServer(base / "data", base / "logs", name=name, **kw)
        started.append(srv)
        if start:
            try:
                srv.start()
            except h.ServerError as e:
                pytest.fail(str(e), pytrace=False)
        return srv

    yield make
    for srv in started:
        if srv.alive():
            srv.stop()


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """The shared server: rate limit off (0 = unlimited), root key from the environment, and quotas far above
    what the whole suite makes with its one account (test_huawei_writes checks the default-sized ones)."""
    h.require_binary()
    base = tmp_path_factory.mktemp("main")
    srv = h.OnrampServer(base / "data", base / "logs", name="main", rate_limit=0,
                         extra_args=["--quota-accelerators", "100000", "--quota-listeners", "100000"])
    try:
        srv.start()
    except h.ServerError as e:
        # Nothing in the suite can pass without it: stop the run here, with the server's own words.
        pytest.exit(f"the onramp server did not start:\n{e}", returncode=3)
    yield srv
    alive = srv.alive()
    code = srv.stop()
    errors = []
    if not alive:
        errors.append(f"the server died during the run (exit code {code})")
    # GUESS: a graceful SIGTERM shutdown exits 0 (DESIGN does not name the code).
    elif code != 0:
        errors.append(f"SIGTERM gave exit code {code}, expected 0")
    if h.PANIC_TEXT in srv.stderr() or h.PANIC_TEXT in srv.stdout():
        errors.append("the server panicked")
    if errors:
        pytest.fail("; ".join(errors) + "\n" + srv.output_tail(), pytrace=False)


@pytest.fixture(scope="session")
def creds(server) -> dict:
    return server.credentials()


@pytest.fixture(scope="session")
def api(server) -> h.GaapApi:
    """GAAP raw-JSON client: official SDK, TC3-HMAC-SHA256, POST (the SDK default)."""
    return server.gaap()


@pytest.fixture(scope="session")
def api_factory(server):
    """Other signing/transport variants: api_factory(sign_method="HmacSHA1", req_method="GET", ...)."""
    def make(**kw) -> h.GaapApi:
        return server.gaap(**kw)
    return make


@pytest.fixture(scope="session")
def gaap_client(server):
    """The typed official client (`GaapClient` + `models`), TC3 POST."""
    from tencentcloud.common import credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.gaap.v20180529 import gaap_client

    hp = HttpProfile(protocol="http", endpoint=server.host, reqTimeout=30)
    return gaap_client.GaapClient(credential.Credential(*server.root_key), "", ClientProfile(httpProfile=hp))


class TccliError(Exception):
    def __init__(self, result: subprocess.CompletedProcess):
        self.result = result
        super().__init__(f"tccli exit {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}")


@pytest.fixture(scope="session")
def tccli(server):
    """run(action, Param=value, ...) -> parsed JSON stdout of `tccli gaap <action> ...`.
    Lists/dicts are passed as JSON, scalars as text, like a user types them."""
    exe = h.venv_tool("tccli")

    def run(action: str, **params) -> dict:
        cmd = [exe, "gaap", action, "--endpoint", f"http://{server.host}", "--region", "ap-guangzhou",
               "--secretId", server.root_key[0], "--secretKey", server.root_key[1]]
        for k, v in params.items():
            cmd += [f"--{k}", json.dumps(v) if isinstance(v, (list, dict)) else str(v)]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            raise TccliError(result)
        return json.loads(result.stdout)

    run.error_class = TccliError
    return run


@pytest.fixture(scope="session")
def huawei_factory(server):
    """huawei_factory(ak=None, sk=None) -> GaClient pointed at the server (BasicCredentials)."""
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkcore.http.http_config import HttpConfig
    from huaweicloudsdkga.v1 import GaClient

    def make(ak: str | None = None, sk: str | None = None):
        cfg = HttpConfig.get_default_config()
        cfg.timeout = (10, 30)
        return (GaClient.new_builder()
                .with_http_config(cfg)
                .with_credentials(BasicCredentials(ak or server.root_key[0], sk or server.root_key[1]))
                .with_endpoints([server.url])
                .build())
    return make


@pytest.fixture(scope="session")
def huawei(huawei_factory):
    return huawei_factory()


@pytest.fixture
def uniq(request) -> h.Uniq:
    """uniq("px") -> a name no other test uses."""
    return h.Uniq(request.node.nodeid)


@pytest.fixture
def proxy(api, uniq) -> str:
    """A RUNNING proxy of this test alone."""
    return h.create_proxy(api, uniq("px"))


@pytest.fixture
def lab(api, server, uniq):
    """Data-plane resources of one test (dataplane.Lab): origins, proxies, listeners; torn down after."""
    import dataplane

    lab = dataplane.Lab(api, server, uniq)
    yield lab
    lab.close()
