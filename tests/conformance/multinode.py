"""Processes of a many-machine layout on one box: `onramp control` nodes over a private PostgreSQL
schema, and `onramp edge` nodes on distinct 127.x addresses.

Everything talks only to 127.0.0.0/8. Every wait is bounded.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests

import helpers as h

PG_URL = os.environ.get("ONRAMP_TEST_POSTGRES_URL", "")


def require_postgres() -> None:
    if not PG_URL:
        pytest.skip("ONRAMP_TEST_POSTGRES_URL is not set: the many-machine tests need PostgreSQL (CI sets it)")
    if not shutil.which("psql"):
        pytest.skip("psql is not installed: the many-machine tests make their own PostgreSQL schema with it")


def psql(sql: str) -> str:
    r = subprocess.run(["psql", PG_URL, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql],
                       capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, f"psql {sql!r}: {r.stderr}"
    return r.stdout


class Schema:
    """A private schema of the test database; its sessions carry `application_name` = the schema, so
    the test can cut exactly its own connections (`terminate`)."""

    def __init__(self):
        self.name = f"onramp_multi_{uuid.uuid4().hex[:10]}"
        psql(f"CREATE SCHEMA {self.name}")
        sep = "&" if "?" in PG_URL else "?"
        self.url = f"{PG_URL}{sep}options[search_path]={self.name}&application_name={self.name}"

    def terminate(self) -> int:
        """pg_terminate_backend on every session of this schema's nodes; how many were cut."""
        out = psql(f"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                   f"WHERE application_name = '{self.name}'")
        return int(out.strip() or 0)

    def drop(self):
        psql(f"DROP SCHEMA IF EXISTS {self.name} CASCADE")


class Proc:
    """One onramp process with its logs; `ready()` says when it answers."""

    def __init__(self, name: str, base: Path, env: dict):
        self.name, self.base, self.env = name, base, env
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        base.mkdir(parents=True, exist_ok=True)

    def command(self) -> list[str]:
        raise NotImplementedError

    def ready(self) -> bool:
        raise NotImplementedError

    def start(self, timeout: float = h.START_TIMEOUT) -> "Proc":
        self.starts += 1
        self.stderr_path = self.base / f"{self.name}.{self.starts}.stderr"
        self.stdout_path = self.base / f"{self.name}.{self.starts}.stdout"
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                         env=h.server_env(self.env))
        deadline = time.monotonic() + timeout
        while not self.ready():
            code = self.proc.poll()
            if code is not None:
                pytest.fail(f"{self.name} exited with {code}\n{self.tail()}", pytrace=False)
            if time.monotonic() > deadline:
                self.kill()
                pytest.fail(f"{self.name} was not ready within {timeout}s\n{self.tail()}", pytrace=False)
            time.sleep(0.05)
        return self

    def kill(self):
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 15.0) -> int:
        if not self.alive():
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"{self.name} ignored SIGTERM\n{self.tail()}", pytrace=False)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def logs(self) -> str:
        return "".join(p.read_text(errors="replace") for p in sorted(self.base.glob(f"{self.name}.*.std*")))

    def tail(self, n: int = 3000) -> str:
        return f"--- {self.name} ---\n{self.logs()[-n:]}"


def _answers(port: int, path: str) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}{path}", timeout=1).status_code == 200
    except requests.RequestException:
        return False


class ControlNode(Proc):
    def __init__(self, name: str, base: Path, schema: Schema, master_key: Path, token: str,
                 tls: tuple[Path, Path, Path] | None = None):
        super().__init__(name, base, {"ONRAMP_EDGE_TOKEN": token, "ONRAMP_EDGE_LOST_AFTER": "3"})
        self.schema, self.master_key = schema, master_key
        self.api_port, self.admin_port = h.ephemeral_port(), h.ephemeral_port()
        self.root_key = (h.ROOT_SECRET_ID, h.ROOT_SECRET_KEY)
        self.tls = tls  # (certificate chain, key, CA) or None

    def command(self) -> list[str]:
        tls = ["--tls-cert", str(self.tls[0]), "--tls-key", str(self.tls[1])] if self.tls else []
        return [str(h.require_binary()), "control", "--store", self.schema.url,
                "--data-dir", str(self.base / "data"), "--master-key", str(self.master_key),
                "--api-listen", f"127.0.0.1:{self.api_port}", "--admin-listen", f"127.0.0.1:{self.admin_port}",
                "--rate-limit", "0", "--quota-accelerators", "1000", "--quota-listeners", "1000", *tls]

    def ready(self) -> bool:
        if not _answers(self.admin_port, "/healthz"):
            return False
        try:
            return requests.get(f"{self.url}/healthz", timeout=1,
                                verify=str(self.tls[2]) if self.tls else True).status_code == 200
        except requests.RequestException:
            return False

    # OnrampServer's addressing, so helpers.GaapApi works with a control node.
    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.api_port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}"

    def gaap(self) -> h.GaapApi:
        return h.GaapApi(self, *self.root_key)

    def edges(self) -> dict:
        r = requests.get(f"http://127.0.0.1:{self.admin_port}/edges", timeout=5)
        r.raise_for_status()
        return r.json()


class EdgeNode(Proc):
    def __init__(self, name: str, base: Path, region: str, ip: str, controls: list[ControlNode], token: str,
                 extra: tuple = ()):
        super().__init__(name, base, {"ONRAMP_EDGE_TOKEN": token})
        self.region, self.ip, self.controls, self.extra = region, ip, controls, list(extra)
        self.admin_port = h.ephemeral_port()

    def command(self) -> list[str]:
        urls = ",".join(c.url for c in self.controls)
        return [str(h.require_binary()), "edge", "--control", urls, "--name", self.name,
                "--region", self.region, "--bind-address", self.ip,
                "--admin-listen", f"127.0.0.1:{self.admin_port}", "--state-dir", str(self.base / "state"),
                *self.extra]

    def ready(self) -> bool:
        return _answers(self.admin_port, "/status")

    def status(self) -> dict:
        return requests.get(f"http://127.0.0.1:{self.admin_port}/status", timeout=5).json()


def tag_via(ip: str, port: int, line: bytes = b"hello", timeout: float = 3.0) -> str | None:
    """The tag of the origin that answers a connection to ip:port, or None when nothing answers."""
    try:
        with socket.create_connection((ip, port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(line + b"\n")
            buf = b""
            while b"\n" not in buf:
                chunk = s.recv(4096)
                if not chunk:
                    return None
                buf += chunk
            return buf.split(b":", 1)[0].decode()
    except OSError:
        return None


def wait_for(fn, *, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = fn()
        except Exception as e:  # a node may be restarting: keep asking until the deadline
            last = e
        else:
            if last:
                return last
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {what}; last: {last!r}", pytrace=False)
