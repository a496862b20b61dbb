"""Mutated requests against every dialect (issue 8, "fuzzing that stays"): a few thousand requests per dialect,
built correctly signed and then mutated (parameters, bodies, headers, signatures, timestamps, methods, paths)
from a fixed seed. Every request must get an HTTP answer (no dropped connection), never a 5xx, and the answer
must be in the envelope of the dialect the path selects:

- API 3.0 (`/`): HTTP 200 and `{"Response": {"RequestId", "Error"?: {"Code", "Message"}}}`;
- Huawei GA v1 (`/v1/...` and any other path): `X-Request-Id`, and on 4xx `error_code`/`error_msg`/`request_id`;
- BM legacy v2 (`/v2/index.php`): `{"code", "message", "codeDesc"}` (BM API 3.0 is on `/` with the
  API 3.0 envelope).
"""
import hashlib
import hmac
import http.client
import json
import random
import time
import urllib.parse

import pytest

import helpers as h

SEED = 20261201
PER_DIALECT = 2500  # GAAP gets two transports (TC3 POST JSON, v1 GET), BM two (v2, API 3.0 TC3)
BUDGET_SECONDS = 25  # per dialect; a debug build needs about 5

ACTIONS = ["CreateProxy", "DescribeProxies", "DescribeProxyDetail", "ModifyProxiesAttribute", "DestroyProxies",
           "CreateProxyGroup", "DescribeProxyGroupList", "CreateTCPListeners", "CreateUDPListeners",
           "DescribeTCPListeners", "DescribeUDPListeners", "ModifyTCPListenerAttribute", "DeleteListeners",
           "AddRealServers", "DescribeRealServers", "BindListenerRealServers", "DescribeListenerRealServers",
           "DescribeTaskStatus", "DescribeAccessRegions", "DescribeListenerStatistics", "NoSuchAction"]
BM_ACTIONS = ["CreateBmLoadBalancer", "DescribeBmLoadBalancers", "ModifyBmLoadBalancerAttributes",
              "DeleteBmLoadBalancers", "InquiryBmLBPrice", "CreateBmListeners", "DescribeBmListeners",
              "DescribeBmListenerInfo", "ModifyBmListener", "DeleteBmListeners", "BindBmL4ListenerRs",
              "BindBmL4ListenerVmIp", "UnbindBmL4ListenerRs", "UnbindBmL4ListenerVmIp",
              "DescribeBmL4ListenerBackends", "ModifyBmL4ListenerBackendWeight", "ModifyBmL4ListenerBackendPort",
              "ModifyBmL4ListenerBackendProbePort", "DescribeBmLoadBalancersTaskResult", "DescribeBmBindInfo",
              "DescribeBmVportInfo", "CreateBmForwardListeners", ""]
BM3_ACTIONS = ["CreateLoadBalancers", "DescribeLoadBalancers", "ModifyLoadBalancer", "DeleteLoadBalancer",
               "CreateL4Listeners", "DescribeL4Listeners", "DescribeL4ListenerInfo", "ModifyL4Listener",
               "DeleteListeners", "BindL4Backends", "UnbindL4Backends", "DescribeL4Backends", "ModifyL4BackendWeight",
               "ModifyL4BackendPort", "ModifyL4BackendProbePort", "DescribeLoadBalancerTaskResult",
               "DescribeDevicesBindInfo", "DescribeLoadBalancerPortInfo", "ModifyLoadBalancerChargeMode",
               "CreateL7Listeners", "NoSuchAction"]
BM_NAMES = ["loadBalancerIds", "listeners", "backends", "vmList", "port", "instanceId", "vmIp", "weight", "probePort",
            "newPort", "listenerId", "requestId", "unVpcId", "loadBalancerType", "goodsNum", "protocol",
            "loadBalancerPort", "healthSwitch", "timeOut", "intervalTime", "inputType", "healthRequest",
            "lineSeparatorType", "customHealthSwitch", "sessionExpire", "bandwidth", "toaFlag", "instanceIds",
            "LoadBalancerId", "ListenerSet", "BackendSet", "BindType", "InstanceId", "LoadBalancerPort", "VpcId",
            "LoadBalancerType", "HealthRequest", "InputType", "BalanceMode", "Weight", "Port", "NewPort"]
NAMES = ["ProxyId", "ProxyIds", "InstanceIds", "ProxyName", "ProjectId", "AccessRegion", "RealServerRegion",
         "Bandwidth", "Concurrent", "GroupId", "ListenerId", "ListenerIds", "ListenerName", "Ports", "Port",
         "Scheduler", "HealthCheck", "RealServerBindSet", "RealServerId", "RealServerIP", "RealServers", "Limit",
         "Offset", "Filters", "TagSet", "TaskId", "StartTime", "EndTime", "listenerIds", "loadBalancerId"] + BM_NAMES
PATHS = ["/", "/v2/index.php", "/v1/listeners", "/v1/listeners/listener-00000000", "/v1/accelerators", "/v1/",
         "/v1", "/v2/", "/index.php", "/v3/x", "/v1/listeners/%2e%2e", "/v1/listeners/a%00b", "//", "/?"]
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "FUZZ"]
PRINTABLE = "".join(chr(c) for c in range(0x20, 0x7f)) + "éÿ"


def rand_value(rng: random.Random, depth: int = 0):
    kind = rng.randrange(9 if depth < 3 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 1, 65535, 65536, 2**31, 2**63 - 1, -2**63, 10**30])
    if kind == 3:
        return rng.choice([0.5, -1e308, 1e308, 3.0])
    if kind == 4:
        return "".join(rng.choice(PRINTABLE + "\x00\x01\n\t\u2028") for _ in range(rng.randrange(0, 24)))
    if kind == 5:
        return rng.choice(["link-00000000", "lg-00000000", "listener-00000000", "rs-00000000", "local", "TCP",
                           "127.0.0.1", "x" * 300, "lb-00000000", "lbl-00000000", "tcp", "udp", "hexadecimal",
                           "open", "0a"])
    if kind in (6, 7):
        return [rand_value(rng, depth + 1) for _ in range(rng.randrange(0, 4))]
    return {rng.choice(NAMES): rand_value(rng, depth + 1) for _ in range(rng.randrange(0, 4))}


def rand_params(rng: random.Random) -> dict:
    return {rng.choice(NAMES): rand_value(rng) for _ in range(rng.randrange(0, 5))}


def mutate_text(rng: random.Random, s: str) -> str:
    if not s or rng.random() < 0.2:
        return s + rng.choice(PRINTABLE)
    i = rng.randrange(len(s))
    op = rng.randrange(3)
    if op == 0:
        return s[:i] + s[i + 1:]
    return s[:i] + rng.choice(PRINTABLE) + s[i + (op == 1):]


def uri_safe(s: str) -> str:
    """`s` with the characters a request target cannot carry percent-encoded (`%` itself is kept as is)."""
    return urllib.parse.quote(s, safe="%=&+/:?@!$'()*,;-._~")


def mutate_bytes(rng: random.Random, b: bytes) -> bytes:
    if not b:
        return bytes([rng.randrange(256)])
    i = rng.randrange(len(b))
    return b[:i] + bytes([rng.randrange(256)]) + b[i + 1:]


# -- correctly signed requests --------------------------------------------------------------------------------

def tc3_request(host: str, action: str, params: dict, service: str = "gaap", version: str = h.GAAP_VERSION) -> dict:
    body = json.dumps(params).encode()
    ts = int(time.time())
    auth = h.tc3_authorization(h.ROOT_SECRET_ID, h.ROOT_SECRET_KEY, method="POST", host=host,
                               content_type="application/json", query="", body=body, timestamp=ts,
                               service=service)
    headers = {"Content-Type": "application/json", "Host": host, "X-TC-Action": action,
               "X-TC-Version": version, "X-TC-Timestamp": str(ts), "Authorization": auth}
    return {"method": "POST", "path": "/", "query": "", "headers": headers, "body": body}


def v1_request(host: str, action: str, params: dict, nonce: int) -> dict:
    p = h.flatten(params)
    p.update({"Action": action, "Version": h.GAAP_VERSION, "SecretId": h.ROOT_SECRET_ID,
              "Timestamp": str(int(time.time())), "Nonce": str(nonce), "Region": "ap-guangzhou"})
    p["Signature"] = h.v1_signature(h.ROOT_SECRET_KEY, method="GET", host=host, path="/", params=p)
    return {"method": "GET", "path": "/", "query": h.query_string(p), "headers": {"Host": host}, "body": b""}


def bm_request(host: str, action: str, params: dict, nonce: int) -> dict:
    p = h.bm_params(action, params, host=host, nonce=nonce)
    return {"method": "GET", "path": "/v2/index.php", "query": h.query_string(p), "headers": {"Host": host},
            "body": b""}


def _hw_quote(b: bytes) -> str:
    return urllib.parse.quote(b, safe="-_.~")


def hw_canonical_uri(path: str) -> str:
    out = "/".join(_hw_quote(seg) for seg in urllib.parse.unquote_to_bytes(path).split(b"/"))
    return out if out.endswith("/") else out + "/"


def hw_canonical_query(raw: str) -> str:
    pairs = []
    for p in raw.split("&"):
        if not p:
            continue
        k, _, v = p.partition("=")
        pairs.append((urllib.parse.unquote_to_bytes(k), urllib.parse.unquote_to_bytes(v)))
    return "&".join(f"{_hw_quote(k)}={_hw_quote(v)}" for k, v in sorted(pairs))


def hw_request(host: str, method: str, path: str, query: str, body: bytes) -> dict:
    date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    signed = [("host", host), ("x-sdk-date", date)]
    canonical = "\n".join([method, hw_canonical_uri(path), hw_canonical_query(query),
                           "".join(f"{k}:{v.strip()}\n" for k, v in signed), ";".join(k for k, _ in signed),
                           hashlib.sha256(body).hexdigest()])
    to_sign = f"SDK-HMAC-SHA256\n{date}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    sig = hmac.new(h.ROOT_SECRET_KEY.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    auth = f"SDK-HMAC-SHA256 Access={h.ROOT_SECRET_ID}, SignedHeaders=host;x-sdk-date, Signature={sig}"
    headers = {"Host": host, "X-Sdk-Date": date, "Content-Type": "application/json", "Authorization": auth}
    return {"method": method, "path": path, "query": query, "headers": headers, "body": body}


# -- mutation -------------------------------------------------------------------------------------------------

def corrupt(rng: random.Random, req: dict) -> None:
    """One change after signing: what a broken client, a proxy or an attacker may send."""
    op = rng.randrange(9)
    headers = req["headers"]
    if op == 0:
        req["body"] = mutate_bytes(rng, req["body"])
    elif op == 1 and headers:
        k = rng.choice(list(headers))
        headers[k] = mutate_text(rng, headers[k])
    elif op == 2 and headers:
        del headers[rng.choice([k for k in headers if k != "Host"] or ["Host"])]
    elif op == 3:
        headers[rng.choice(["X-TC-Timestamp", "X-Sdk-Date", "X-TC-Version", "X-TC-Action", "Content-Type",
                            "Authorization", "X-TC-Content-SHA256"])] = rng.choice(
            ["", "0", "-1", "99999999999999999999", "20991231T000000Z", "UNSIGNED-PAYLOAD", "TC3-HMAC-SHA256",
             "SDK-HMAC-SHA256 Access=x", "application/x-www-form-urlencoded", "2017-03-12", "é"])
    elif op == 4:
        req["method"] = rng.choice(METHODS)
    elif op == 5:
        req["path"] = rng.choice(PATHS) if rng.random() < 0.7 else "/" + "/".join(
            "".join(rng.choice("abcXYZ019._~-%") for _ in range(rng.randrange(1, 8)))
            for _ in range(rng.randrange(1, 4)))
    elif op == 6 and req["query"]:
        req["query"] = uri_safe(mutate_text(rng, req["query"]))
    elif op == 7:
        auth = headers.get("Authorization", "")
        if auth:
            headers["Authorization"] = mutate_text(rng, auth)
        else:
            req["query"] = req["query"].replace("Signature=", "Signature=A", 1)
    else:
        req["body"] = rng.choice([b"", b"{", b"[]", b"null", b'{"a":' * 200, b"\xff\xfe", json.dumps(
            rand_value(rng)).encode()])


def build(rng: random.Random, dialect: str, host: str, nonce: int) -> dict:
    if dialect == "tc3":
        req = tc3_request(host, rng.choice(ACTIONS), rand_params(rng))
    elif dialect == "v1":
        req = v1_request(host, rng.choice(ACTIONS), rand_params(rng), nonce)
    elif dialect == "bm3":
        req = tc3_request(host, rng.choice(BM3_ACTIONS), rand_params(rng), "bmlb", "2018-06-25")
    elif dialect == "bm":
        req = bm_request(host, rng.choice(BM_ACTIONS), rand_params(rng), nonce)
    else:
        method = rng.choice(["GET", "GET", "POST", "PUT", "DELETE"])
        path = rng.choice(["/v1/listeners", "/v1/listeners/listener-00000000", "/v1/accelerators",
                           "/v1/listeners/" + urllib.parse.quote(mutate_text(rng, "listener-0"), safe="")])
        query = urllib.parse.urlencode({rng.choice(["limit", "marker", "accelerator_id", "id", "x"]):
                                        str(rand_value(rng)) for _ in range(rng.randrange(0, 3))})
        body = json.dumps(rand_params(rng)).encode() if method in ("POST", "PUT") else b""
        req = hw_request(host, method, path, query, body)
    for _ in range(rng.choice([0, 1, 1, 2, 3])):
        corrupt(rng, req)
    return req


# -- checking -------------------------------------------------------------------------------------------------

def expected_dialect(path: str) -> str:
    if path == "/":
        return "api3"
    if path == "/v2/index.php":
        return "bm"
    return "huawei"


def check(req: dict, resp: http.client.HTTPResponse, body: bytes) -> str | None:
    """None when the answer is right, else what is wrong."""
    status = resp.status
    if status >= 500:
        return f"HTTP {status}"
    if req["method"] == "HEAD":
        return None
    try:
        doc = json.loads(body)
    except ValueError:
        return f"HTTP {status} body is not JSON: {body[:200]!r}"
    dialect = expected_dialect(req["path"].split("?", 1)[0])
    if dialect == "api3":
        r = doc.get("Response") if isinstance(doc, dict) else None
        if status != 200 or not isinstance(r, dict) or not isinstance(r.get("RequestId"), str):
            return f"not an API 3.0 envelope: HTTP {status} {doc}"
        err = r.get("Error")
        if err is not None and not (isinstance(err.get("Code"), str) and isinstance(err.get("Message"), str)):
            return f"bad API 3.0 error: {doc}"
    elif dialect == "bm":
        if not (isinstance(doc, dict) and isinstance(doc.get("code"), int) and isinstance(doc.get("message"), str)
                and isinstance(doc.get("codeDesc"), str)):
            return f"not a BM envelope: HTTP {status} {doc}"
    else:
        rid = resp.getheader("X-Request-Id")
        if not rid:
            return f"Huawei answer without X-Request-Id: HTTP {status} {doc}"
        if status >= 400 and not (isinstance(doc, dict) and isinstance(doc.get("error_code"), str)
                                  and isinstance(doc.get("error_msg"), str) and doc.get("request_id") == rid):
            return f"not a Huawei error envelope: HTTP {status} {doc}"
    return None


@pytest.fixture(scope="module")
def fuzz_server(server_factory):
    return server_factory("fuzz", rate_limit=0)


@pytest.mark.parametrize("dialect", ["tc3", "v1", "huawei", "bm", "bm3"])
def test_mutated_requests_get_an_answer_in_the_dialects_envelope(fuzz_server, dialect):
    rng = random.Random(f"{SEED}-{dialect}")
    host = fuzz_server.host
    conn = http.client.HTTPConnection("127.0.0.1", fuzz_server.api_port, timeout=10)
    problems: list[str] = []
    deadline = time.monotonic() + BUDGET_SECONDS
    sent = 0
    prev = None
    try:
        for i in range(PER_DIALECT):
            if time.monotonic() > deadline:
                break
            req = build(rng, dialect, host, nonce=10_000_000 + i)
            url = req["path"] + ("?" + req["query"] if req["query"] else "")
            headers = dict(req["headers"])
            headers["Content-Length"] = str(len(req["body"]))
            try:
                conn.putrequest(req["method"], url, skip_host=True, skip_accept_encoding=True)
                for k, v in headers.items():
                    conn.putheader(k, v.encode("latin-1"))
                conn.endheaders(req["body"])
                resp = conn.getresponse()
                body = resp.read()
            except (http.client.HTTPException, OSError) as e:
                problems.append(f"#{i} {req['method']} {url[:120]}: no answer ({e!r}); previous: {prev}")
                conn.close()
                continue
            sent += 1
            prev = (req["method"], url[:300], headers, req["body"][:100], resp.status, resp.getheaders(), body[:200])
            if resp.will_close:
                conn.close()
            if (why := check(req, resp, body)) is not None:
                problems.append(f"#{i} {req['method']} {url[:120]} {headers}: {why}")
    finally:
        conn.close()
    assert not problems, f"{len(problems)} of {sent} requests went wrong; first ones:\n" + "\n".join(problems[:10])
    # The time budget is generous; falling short of it means the server became slow, which is a failure too.
    assert sent >= PER_DIALECT, f"only {sent} requests in {BUDGET_SECONDS}s"
    assert fuzz_server.alive()
    assert h.PANIC_TEXT not in fuzz_server.stderr()
