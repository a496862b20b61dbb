"""Hardening of the API (issue 8): a limited key is limited in every dialect (GAAP, Huawei, BM) by
actions and by resources; a TC3-signed write runs once; names refuse control characters; a body
declared above --max-body is refused at once, in each dialect's envelope."""
import json
import socket
import subprocess
import time

import pytest
import requests
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkga.v1 import ListListenersRequest, ShowListenerRequest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

import helpers as h


def _admin(server, *args) -> dict:
    out = subprocess.run([str(h.onramp_bin()), "admin", "--data-dir", str(server.data_dir), *args],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _sub_key(server, **how) -> dict:
    """A key of the root account made with `onramp admin create-key`, usable once the server has it."""
    args = ["create-key", "--account", server.credentials()["account_id"]]
    if "actions" in how:
        args += ["--actions", ",".join(how["actions"])]
    if "policy" in how:
        args += ["--policy", json.dumps(how["policy"])]
    key = _admin(server, *args)
    gaap = h.GaapApi(server, key["secret_id"], key["secret_key"])

    def known():
        try:
            gaap("DescribeAccessRegions", {})
            return True
        except TencentCloudSDKException as e:
            return e.code != "AuthFailure.SecretIdNotFound"
    h.wait_until(known, what="the new key to be loaded")
    return key


def _bm(server, action: str, params: dict, key: dict) -> dict:
    p = h.bm_params(action, params, host=server.host, secret_id=key["secret_id"], secret_key=key["secret_key"])
    return requests.get(f"{server.url}/v2/index.php", params=p, timeout=10).json()


def _hw_status(fn) -> int:
    try:
        fn()
        return 200
    except ClientRequestException as e:
        return e.status_code


@pytest.fixture(scope="module")
def two_proxies(api, server):
    """Two proxies, each with one TCP listener: (proxy_a, listener_a, proxy_b, listener_b)."""
    out = []
    for tag in ("authz-a", "authz-b"):
        proxy = h.create_proxy(api, tag)
        [lid] = h.create_tcp_listeners(api, proxy, [h.listener_port()], tag)
        h.wait_listener_ready(api, lid)
        out += [proxy, lid]
    return tuple(out)


def test_action_limited_key_is_limited_in_every_dialect(server, huawei_factory, two_proxies):
    proxy_a, listener_a, _, _ = two_proxies
    key = _sub_key(server, actions=["DescribeProxies", "DescribeProxyDetail"])
    gaap = h.GaapApi(server, key["secret_id"], key["secret_key"])
    assert gaap("DescribeProxyDetail", {"ProxyId": proxy_a})["ProxyDetail"]["ProxyId"] == proxy_a
    h.assert_code(gaap.error("DescribeTCPListeners", {"ProxyId": proxy_a}), "AuthFailure.UnauthorizedOperation")
    hw = huawei_factory(key["secret_id"], key["secret_key"])
    assert _hw_status(lambda: hw.show_listener(ShowListenerRequest(listener_id=listener_a))) == 403
    assert _hw_status(lambda: hw.list_listeners(ListListenersRequest())) == 403
    body = _bm(server, "DescribeBmListeners", {"loadBalancerId": proxy_a}, key)
    assert body["code"] == 4101 and body["codeDesc"] == "AuthFailure.UnauthorizedOperation", body
    assert "bm:DescribeBmListeners" in body["message"]


def test_resource_limited_key(server, huawei_factory, two_proxies):
    proxy_a, listener_a, proxy_b, listener_b = two_proxies
    policy = {"statements": [
        {"effect": "allow", "actions": ["gaap:Describe*", "huawei:ShowListener", "bm:DescribeBmListeners"],
         "resources": [proxy_a]},
        {"effect": "allow", "actions": ["gaap:DescribeAccessRegions"], "resources": ["*"]},
    ]}
    key = _sub_key(server, policy=policy)
    gaap = h.GaapApi(server, key["secret_id"], key["secret_key"])
    # Its accelerator, and a listener it owns (matched through the owner).
    assert gaap("DescribeProxyDetail", {"ProxyId": proxy_a})["ProxyDetail"]["ProxyId"] == proxy_a
    assert gaap("DescribeTCPListeners", {"ProxyId": proxy_a})["TotalCount"] == 1
    assert gaap("DescribeTCPListeners", {"ListenerId": listener_a})["TotalCount"] == 1
    # Another accelerator, or a list naming both, or an unfiltered list: refused, naming what.
    err = gaap.error("DescribeProxyDetail", {"ProxyId": proxy_b})
    h.assert_code(err, "AuthFailure.UnauthorizedOperation")
    assert proxy_b in err.message
    h.assert_code(gaap.error("DescribeProxies", {"ProxyIds": [proxy_a, proxy_b]}),
                  "AuthFailure.UnauthorizedOperation")
    h.assert_code(gaap.error("DescribeProxies", {}), "AuthFailure.UnauthorizedOperation")
    assert gaap("DescribeProxies", {"ProxyIds": [proxy_a]})["TotalCount"] == 1
    hw = huawei_factory(key["secret_id"], key["secret_key"])
    assert _hw_status(lambda: hw.show_listener(ShowListenerRequest(listener_id=listener_a))) == 200
    assert _hw_status(lambda: hw.show_listener(ShowListenerRequest(listener_id=listener_b))) == 403
    assert _bm(server, "DescribeBmListeners", {"loadBalancerId": proxy_a}, key)["code"] == 0
    body = _bm(server, "DescribeBmListeners", {"loadBalancerId": proxy_b}, key)
    assert body["code"] == 4102 and proxy_b in body["message"], body


def test_deny_statement_wins(server, api, uniq):
    target = h.create_proxy(api, uniq("deny"))
    policy = {"statements": [
        {"effect": "allow", "actions": ["*"], "resources": ["*"]},
        {"effect": "deny", "actions": ["gaap:DestroyProxies", "gaap:ModifyProxiesAttribute"],
         "resources": [target]},
    ]}
    key = _sub_key(server, policy=policy)
    gaap = h.GaapApi(server, key["secret_id"], key["secret_key"])
    h.assert_code(gaap.error("ModifyProxiesAttribute", {"ProxyIds": [target], "ProxyName": "renamed"}),
                  "AuthFailure.UnauthorizedOperation")
    assert h.proxy_detail(api, target)["ProxyName"] != "renamed"
    # Everything else is allowed.
    assert gaap("DescribeProxyDetail", {"ProxyId": target})["ProxyDetail"]["ProxyId"] == target


def test_set_policy_and_clear(server, two_proxies):
    proxy_a = two_proxies[0]
    key = _sub_key(server, actions=["DescribeAccessRegions"])
    gaap = h.GaapApi(server, key["secret_id"], key["secret_key"])
    h.assert_code(gaap.error("DescribeProxyDetail", {"ProxyId": proxy_a}), "AuthFailure.UnauthorizedOperation")
    _admin(server, "set-policy", "--secret-id", key["secret_id"], "--clear")
    h.wait_until(lambda: gaap("DescribeProxyDetail", {"ProxyId": proxy_a}), what="the lifted limit")


def test_bad_policy_is_refused_by_admin(server):
    out = subprocess.run([str(h.onramp_bin()), "admin", "--data-dir", str(server.data_dir), "create-key",
                          "--account", server.credentials()["account_id"], "--policy",
                          '{"statements":[{"effect":"perhaps","actions":["*"]}]}'],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode != 0 and "policy" in out.stderr, out.stderr


def test_tc3_signed_write_runs_once(server, api, uniq):
    name = uniq("replay")
    params = {"ProjectId": 0, "ProxyName": name, "AccessRegion": "local", "RealServerRegion": "local",
              "Bandwidth": 10, "Concurrent": 2, "TagSet": [h.tag(name)]}
    body = json.dumps(params).encode()
    ts = int(time.time())
    first = h.raw_tc3_post(server, "CreateProxy", body, timestamp=ts).json()["Response"]
    again = h.raw_tc3_post(server, "CreateProxy", body, timestamp=ts).json()["Response"]
    assert "Error" not in first, first
    assert again == first  # the first answer, RequestId included
    listed = api("DescribeProxies", {"TagSet": [h.tag(name)]})
    assert listed["TotalCount"] == 1, listed
    # A new signature (another second) is another request.
    third = h.raw_tc3_post(server, "CreateProxy", body, timestamp=ts + 1).json()["Response"]
    assert third["InstanceId"] != first["InstanceId"]


def test_tc3_signed_read_is_not_cached(server):
    ts = int(time.time())
    a = h.raw_tc3_post(server, "DescribeAccessRegions", {}, timestamp=ts).json()["Response"]
    b = h.raw_tc3_post(server, "DescribeAccessRegions", {}, timestamp=ts).json()["Response"]
    assert a["RequestId"] != b["RequestId"]


def test_refused_write_is_not_kept(server, api, proxy):
    """A refused write changed nothing, so it is not remembered: the same bytes run again (a
    client that fixes the cause and retries at once is not answered with the old refusal)."""
    body = json.dumps({"ProxyIds": [proxy], "ProxyName": "bad\u0000name"}).encode()
    ts = int(time.time())
    a = h.raw_tc3_post(server, "ModifyProxiesAttribute", body, timestamp=ts).json()["Response"]
    b = h.raw_tc3_post(server, "ModifyProxiesAttribute", body, timestamp=ts).json()["Response"]
    assert a["Error"]["Code"].startswith("InvalidParameter")
    assert b["Error"] == a["Error"] and b["RequestId"] != a["RequestId"]


def test_same_body_for_another_action_is_another_request(server, api, proxy):
    """The SDK signs only content-type and host: the action is not in the signature, so the same
    body in the same second for another action must run, not get the other's answer."""
    body = json.dumps({"ProxyIds": [proxy]}).encode()
    ts = int(time.time())
    closed = h.raw_tc3_post(server, "CloseProxies", body, timestamp=ts).json()["Response"]
    assert closed["InvalidStatusInstanceSet"] == [], closed
    opened = h.raw_tc3_post(server, "OpenProxies", body, timestamp=ts).json()["Response"]
    assert opened["RequestId"] != closed["RequestId"]
    h.wait_until(lambda: h.proxy_detail(api, proxy)["Status"] in ("RUNNING", "CLOSED"), what="settled")


@pytest.mark.parametrize("action,params", [
    ("CreateProxy", {"ProjectId": 0, "ProxyName": "nul\u0000name", "AccessRegion": "local",
                     "RealServerRegion": "local", "Bandwidth": 10, "Concurrent": 2}),
    ("CreateProxy", {"ProjectId": 0, "ProxyName": "line\nbreak", "AccessRegion": "local",
                     "RealServerRegion": "local", "Bandwidth": 10, "Concurrent": 2}),
    ("CreateProxyGroup", {"ProjectId": 0, "GroupName": "esc\u001b[31m", "RealServerRegion": "local",
                          "AccessRegionSet": [{"Region": "local", "Bandwidth": 10, "Concurrent": 2}]}),
    ("AddRealServers", {"ProjectId": 0, "RealServerIP": ["127.0.0.9"], "RealServerName": "tab\there"}),
    ("CreateProxy", {"ProjectId": 0, "ProxyName": "ok", "AccessRegion": "local", "RealServerRegion": "local",
                     "Bandwidth": 10, "Concurrent": 2, "TagSet": [{"TagKey": "k\u0007", "TagValue": "v"}]}),
])
def test_names_refuse_control_characters(api, action, params):
    err = api.error(action, params)
    h.assert_code(err, "InvalidParameterValue", "InvalidParameter", prefix=True)
    assert "control character" in err.message


def test_listener_name_refuses_control_characters(api, proxy):
    err = api.error("CreateTCPListeners", {"ProxyId": proxy, "ListenerName": "del\u007f", "Ports": [h.listener_port()],
                                           "Scheduler": "rr", "HealthCheck": 0, "RealServerType": "IP"})
    assert "control character" in err.message


def _declared_huge(server, request_line: str, extra: str = "") -> tuple[float, bytes]:
    """Send only headers declaring a 10^12-byte body; return (seconds to the answer, answer)."""
    with socket.create_connection((server.host.split(":")[0], int(server.host.split(":")[1])), timeout=10) as s:
        start = time.monotonic()
        s.sendall(f"{request_line}\r\nHost: {server.host}\r\nContent-Type: application/json\r\n{extra}"
                  f"Content-Length: 1000000000000\r\n\r\n".encode())
        data = b""
        while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) == 0:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        return time.monotonic() - start, data


@pytest.mark.parametrize("line,extra,expect", [
    ("POST / HTTP/1.1", "X-TC-Action: DescribeProxies\r\n", b'"Error"'),
    ("POST /v2/index.php HTTP/1.1", "", b'"code"'),
    ("POST /v1/listeners HTTP/1.1", "", b'"error_code"'),
])
def test_declared_body_above_max_is_refused_at_once(server, line, extra, expect):
    took, answer = _declared_huge(server, line, extra)
    assert took < 3, f"answered after {took:.1f} s"
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 "), answer[:200]
    assert expect in body, answer[:400]


def _audit(server, *args) -> list[dict]:
    out = subprocess.run([str(h.onramp_bin()), "admin", "--data-dir", str(server.data_dir), "audit", "--json", *args],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def test_writes_are_audited(server, api, uniq):
    """Every write (executed, refused by the model, refused by the policy) is in the audit log with
    its account, key, dialect, operation, resources, request id, client address and outcome; reads
    are not."""
    creds = server.credentials()
    created = api("CreateProxy", {"ProjectId": 0, "ProxyName": uniq("aud"), "AccessRegion": "local",
                                  "RealServerRegion": "local", "Bandwidth": 10, "Concurrent": 2})
    proxy = created["InstanceId"]
    bad = api.error("ModifyProxiesAttribute", {"ProxyIds": [proxy], "ProxyName": "x" * 200})
    api("DescribeProxyDetail", {"ProxyId": proxy})
    limited = _sub_key(server, actions=["DescribeAccessRegions"])
    gaap = h.GaapApi(server, limited["secret_id"], limited["secret_key"])
    denied = gaap.error("DestroyProxies", {"ProxyIds": [proxy], "Force": 1})

    def entries():
        got = _audit(server, "--resource", proxy)
        return got if len(got) >= 3 else None
    got = h.wait_until(entries, what="three audit entries for the proxy")
    by_request = {e["request_id"]: e for e in got}
    ok = by_request[created["RequestId"]]
    assert ok["operation"] == "CreateProxy" and ok["dialect"] == "gaap" and ok["outcome"] == "ok", ok
    assert ok["account_id"] == creds["account_id"] and ok["key_id"] == creds["secret_id"], ok
    assert proxy in ok["resource_ids"], ok
    assert ok["source"].startswith("127.0.0.1:"), ok
    failed = by_request[bad.requestId]
    assert failed["operation"] == "ModifyProxiesAttribute" and failed["outcome"] == bad.code, failed
    refused = by_request[denied.requestId]
    assert refused["outcome"] == "AuthFailure.UnauthorizedOperation", refused
    assert refused["key_id"] == limited["secret_id"], refused
    assert not any(e["operation"] == "DescribeProxyDetail" for e in _audit(server, "--operation", "DescribeProxyDetail"))
