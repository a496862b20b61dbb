"""Secrets at rest, key rotations and the audit log (issue 8).

Each test starts its own server (server_factory) so it can read, rotate and break its files:
- the master key file is made on first start with mode 0600, and the database files (main file, WAL,
  shared memory, read as bytes) never hold a usable secret key;
- `onramp admin rotate-master-key` while the server runs: signed calls keep working, keys made after
  the rotation work, and the database still holds no plain secret;
- `onramp admin rotate-key`: the new secret signs; with `--grace 0` the old one is refused;
- a wrong or missing master key file stops the start with a message naming the file;
- `onramp admin audit` lists the admin commands that wrote.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import subprocess
import time

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

import helpers as h


def admin(server: h.OnrampServer, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([str(h.onramp_bin()), "admin", "--data-dir", str(server.data_dir), *args],
                            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
                            env=h.server_env(root_key=None))
    if check:
        assert result.returncode == 0, f"onramp admin {' '.join(args)}: {result.stderr}"
    return result


def admin_json(server: h.OnrampServer, *args: str) -> dict:
    return json.loads(admin(server, *args).stdout)


def db_bytes(server: h.OnrampServer) -> bytes:
    files = sorted(p for p in server.data_dir.iterdir() if p.name.startswith("onramp.db"))
    assert any(p.name == "onramp.db" for p in files), files
    return b"".join(p.read_bytes() for p in files)


def assert_no_plain_secret(server: h.OnrampServer, *secrets: str) -> None:
    data = db_bytes(server)
    # The test reads the right bytes: the root key's id is stored in clear.
    assert h.ROOT_SECRET_ID.encode() in data
    for s in secrets:
        assert s.encode() not in data, "a secret key is stored in plain text"


def signs(server: h.OnrampServer, secret_id: str, secret_key: str) -> bool:
    try:
        h.GaapApi(server, secret_id, secret_key)("DescribeAccessRegions")
        return True
    except TencentCloudSDKException as e:
        if e.code.startswith("AuthFailure"):
            return False
        raise


def until_signs(server, secret_id, secret_key, want=True, timeout=10.0) -> None:
    """The server follows the store within a second: wait for the key to (stop to) sign."""
    h.wait_until(lambda: signs(server, secret_id, secret_key) == want, timeout=timeout,
                 what=f"{secret_id} {'signing' if want else 'refused'}")


def key_ids(server: h.OnrampServer) -> list[str]:
    ring = json.loads((server.data_dir / "master.key").read_text())
    return [k["id"] for k in ring["keys"]]


def test_master_key_file_is_private_and_the_database_holds_no_secret(server_factory):
    srv = server_factory("secrets-at-rest")
    key_file = srv.data_dir / "master.key"
    assert key_file.is_file(), "the master key file is made on first start"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert srv.gaap()("DescribeAccessRegions")["TotalCount"] == 1
    made = admin_json(srv, "create-key", "--account", srv.credentials()["account_id"])
    until_signs(srv, made["secret_id"], made["secret_key"])
    assert_no_plain_secret(srv, h.ROOT_SECRET_KEY, made["secret_key"])
    ring_before = key_file.read_text()

    srv.stop()
    srv.start()
    assert srv.gaap()("DescribeAccessRegions")["TotalCount"] == 1
    assert signs(srv, made["secret_id"], made["secret_key"])
    assert key_file.read_text() == ring_before, "a restart keeps the master key"
    assert_no_plain_secret(srv, h.ROOT_SECRET_KEY, made["secret_key"])


def test_rotate_master_key_while_the_server_runs(server_factory):
    srv = server_factory("secrets-rotate-master")
    api = srv.gaap()
    proxy = h.create_proxy(api, "rotate-master")
    before = key_ids(srv)
    out = admin_json(srv, "rotate-master-key")
    assert out["previous"] == before[0] and out["current"] != before[0]
    assert key_ids(srv) == [out["current"]], "the old key is dropped from the file"
    assert stat.S_IMODE((srv.data_dir / "master.key").stat().st_mode) == 0o600
    # Signed calls keep working, through the reload of the re-sealed state (within a second).
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        assert api("DescribeProxies", {"ProxyIds": [proxy]})["TotalCount"] == 1
        time.sleep(0.2)
    # A key made after the rotation is sealed with the new key, and the server opens it.
    made = admin_json(srv, "create-key", "--account", srv.credentials()["account_id"])
    until_signs(srv, made["secret_id"], made["secret_key"])
    assert_no_plain_secret(srv, h.ROOT_SECRET_KEY, made["secret_key"])
    assert "cannot read the store" not in srv.stderr()
    # And it still starts afterwards.
    srv.stop()
    srv.start()
    assert signs(srv, *srv.root_key)


def test_rotate_key_new_secret_signs_and_grace_zero_refuses_the_old(server_factory):
    srv = server_factory("secrets-rotate-key")
    acct = admin_json(srv, "create-account", "--name", "rotating")
    sid, first = acct["secret_id"], acct["secret_key"]
    until_signs(srv, sid, first)

    second = admin_json(srv, "rotate-key", "--secret-id", sid)
    assert second["secret_id"] == sid and second["secret_key"] != first
    assert second["previous_valid_until"] > time.time() * 1000 + 86_000_000, "default grace: a day"
    until_signs(srv, sid, second["secret_key"])

    third = admin_json(srv, "rotate-key", "--secret-id", sid, "--grace", "0")
    until_signs(srv, sid, third["secret_key"])
    assert not signs(srv, sid, second["secret_key"]), "with --grace 0 the old secret is refused"
    assert not signs(srv, sid, first)
    assert_no_plain_secret(srv, first, second["secret_key"], third["secret_key"])
    bad = admin(srv, "rotate-key", "--secret-id", "AKIDnoSuchKey", check=False)
    assert bad.returncode != 0 and "no key" in bad.stderr


def test_rotate_key_old_secret_signs_during_the_grace(server_factory):
    srv = server_factory("secrets-grace")
    acct = admin_json(srv, "create-account", "--name", "grace")
    sid, first = acct["secret_id"], acct["secret_key"]
    until_signs(srv, sid, first)
    second = admin_json(srv, "rotate-key", "--secret-id", sid, "--grace", "600")
    until_signs(srv, sid, second["secret_key"])
    assert signs(srv, sid, first), "the old secret signs during the grace"


def _foreign_keyring() -> str:
    """A valid key file with a key this store was not sealed with (same format as the server's)."""
    key = os.urandom(32)
    kid = "mk-" + hashlib.sha256(b"onramp master key id\0" + key).digest()[:8].hex()
    return json.dumps({"version": 1, "current": kid, "keys": [{"id": kid, "key": base64.b64encode(key).decode()}]})


def _start_fails(srv: h.OnrampServer) -> str:
    with pytest.raises(h.ServerError) as e:
        srv.start(timeout=15)
    return str(e.value)


def test_a_wrong_or_missing_master_key_stops_the_start(server_factory):
    srv = server_factory("secrets-wrong-key")
    key_file = srv.data_dir / "master.key"
    good = key_file.read_text()
    srv.stop()

    key_file.write_text(_foreign_keyring())
    msg = _start_fails(srv)
    assert str(key_file) in msg and "does not hold" in msg, msg
    assert h.PANIC_TEXT not in msg

    key_file.write_text("not a key file")
    msg = _start_fails(srv)
    assert str(key_file) in msg and "not a master key file" in msg, msg

    key_file.unlink()
    msg = _start_fails(srv)
    assert str(key_file) in msg and "does not exist" in msg, msg
    assert not key_file.exists(), "no fresh key is made for a sealed store"

    key_file.write_text(good)
    key_file.chmod(0o600)
    srv.start()
    assert signs(srv, *srv.root_key)


def test_admin_audit_lists_the_admin_writes(server_factory):
    srv = server_factory("secrets-audit")
    acct = admin_json(srv, "create-account", "--name", "audited")
    key = admin_json(srv, "create-key", "--account", acct["account_id"])
    admin(srv, "disable-key", "--secret-id", key["secret_id"])
    admin(srv, "rotate-key", "--secret-id", acct["secret_id"], "--grace", "0")
    admin(srv, "rotate-master-key")

    lines = admin(srv, "audit", "--json", "--dialect", "admin").stdout.splitlines()
    entries = [json.loads(line) for line in lines]
    assert [e["operation"] for e in entries] == [
        "rotate-master-key", "rotate-key", "disable-key", "create-key", "create-account"], "newest first"
    for e in entries:
        assert e["dialect"] == "admin" and e["source"] == "local" and e["outcome"] == "ok", e
        assert h.UUID_RE.match(e["request_id"]), e
        assert isinstance(e["time"], int) and abs(e["time"] / 1000 - time.time()) < 120, e
    assert entries[3]["account_id"] == acct["account_id"]
    assert key["secret_id"] in entries[3]["resource_ids"]

    only = [json.loads(x) for x in admin(srv, "audit", "--json", "--resource", key["secret_id"]).stdout.splitlines()]
    assert [e["operation"] for e in only] == ["disable-key", "create-key"]
    assert len(admin(srv, "audit", "--json", "--limit", "2").stdout.splitlines()) == 2
    later = admin(srv, "audit", "--json", "--since", str(int(time.time() * 1000) + 60_000)).stdout
    assert later.strip() == ""
    table = admin(srv, "audit", "--operation", "create-key").stdout.splitlines()
    assert table[0].split()[:3] == ["TIME", "ACCOUNT", "KEY"] and len(table) == 2
    assert "create-key" in table[1]
    bad = admin(srv, "audit", "--since", "yesterday", check=False)
    assert bad.returncode != 0 and "RFC 3339" in bad.stderr
