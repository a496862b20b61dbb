"""docs/bm.md stays true, and is issue 10's "done when" with each client: its two Python scripts run unchanged
against a TLS server of the suite, the legacy one through `qcloudapi-sdk-python`, the 3.0 one through
`tencentcloud-sdk-python`'s typed `bmlb` models. Each builds a load balancer with a TCP listener that has a
custom text health check and two backends, sees the backend with the wrong health answer marked Dead and
traffic go only to the Alive one, lets it recover and sets a weight to 0 (traffic moves), and tears it down.
The scripts assert each step themselves; this test gives them a server, a free port and two loopback
addresses, and checks that they ran to their end."""
import os
import re
import subprocess
import sys

import pytest

import helpers as h
from bm import bm_server, tls  # noqa: F401  (fixtures)

DOC = h.REPO / "docs" / "bm.md"


def scripts() -> list[str]:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) == 2, "docs/bm.md has two python blocks: the v2 and the 3.0 walk-throughs"
    return blocks


@pytest.mark.parametrize("which", [0, 1], ids=["v2-qcloudapi", "v3-bmlb"])
def test_the_walkthrough_runs_as_written(bm_server, tls, tmp_path, which):
    path = tmp_path / f"walkthrough{which}.py"
    path.write_text(scripts()[which])
    port = h.listener_port()
    env = dict(os.environ, ONRAMP_HOST=bm_server.host, ONRAMP_SECRET_ID=bm_server.root_key[0],
               ONRAMP_SECRET_KEY=bm_server.root_key[1], LISTENER_PORT=str(port),
               BACKEND_IPS=f"{h.origin_ip()},{h.origin_ip()}", SSL_CERT_FILE=str(tls[2]))
    run = subprocess.run([sys.executable, str(path)], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=240)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    assert "'Dead'" in out and "10 connections, all to a" in out, out
    assert "a at weight 0: 10 connections, all to b" in out, out
    assert f"torn down: port {port} closed" in out, out
