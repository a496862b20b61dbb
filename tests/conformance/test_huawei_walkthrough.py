"""docs/huawei.md stays true: its Python script (the one ```python block) runs unchanged with the real
`huaweicloudsdkga` against the suite's server, and walks the whole of issue 9's story: accelerator → TCP
listener on a two-port range → endpoint group → health check → two endpoints → IP white list → traffic on
both ports, each reaching an endpoint on the client's own port → a client off the white list closed → an
endpoint killed and reported UNHEALTHY → the deletion order refused step by step with 409 GA.9005 → teardown
in order, the range closed. The script asserts each step itself; this test gives it a server, free ports and
unique loopback addresses, and checks that it ran to its end."""
import os
import re
import subprocess
import sys

import helpers as h

DOC = h.REPO / "docs" / "huawei.md"


def script() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) == 1, "docs/huawei.md has exactly one python block: the walk-through"
    return blocks[0]


def consecutive_ports() -> int:
    for _ in range(50):
        a, b = h.listener_port(), h.listener_port()
        if b == a + 1:
            return a
    raise RuntimeError("no two consecutive free listener ports")


def test_the_walkthrough_runs_as_written(server, tmp_path):
    path = tmp_path / "walkthrough.py"
    path.write_text(script())
    first = consecutive_ports()
    env = dict(os.environ, ONRAMP_URL=server.url, ONRAMP_AK=server.root_key[0], ONRAMP_SK=server.root_key[1],
               FIRST_PORT=str(first), ENDPOINT_IPS=f"{h.origin_ip()},{h.origin_ip()}", STRANGER_IP=h.origin_ip())
    run = subprocess.run([sys.executable, str(path)], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=180)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    assert "UNHEALTHY" in out and out.count("refused as expected: 409 GA.9005") == 4, out
    assert f"torn down: ports [{first}, {first + 1}] closed" in out, out
