"""BM load balancer clients for the suite: the legacy v2 API through `qcloudapi-sdk-python` 2.0.15 (HTTPS only,
so against a TLS server; the unlisted module name 'bmlblocal' makes the SDK use its 'endpoint' config) and API
3.0 through `tencentcloud-sdk-python`'s typed `bmlb` 2018-06-25 models (`BmlbClient`, each request built as its
`<Action>Request` model and each answer read back through its `<Action>Response` model).

Fixtures: `tls` (a trustme CA and a leaf for 127.0.0.1), `bm_server` (a TLS `onramp serve` for the module),
`v2` and `v3` clients on it.
"""
from __future__ import annotations

import json
import time

import pytest
import trustme
from tencentcloud.bmlb.v20180625 import bmlb_client, models
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

import helpers as h

REGION = "ap-guangzhou"


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1", "localhost", key_type=trustme.KeyType.RSA)
    d = tmp_path_factory.mktemp("tls")
    cert, key, ca_file = d / "cert.pem", d / "key.pem", d / "ca.pem"
    cert.write_bytes(b"".join(p.bytes() for p in leaf.cert_chain_pems))
    leaf.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(ca_file))
    return cert, key, ca_file


@pytest.fixture(scope="module")
def bm_server(server_factory, tls):
    return server_factory("bm", rate_limit=0, tls=(tls[0], tls[1]),
                          extra_args=["--quota-accelerators", "1000", "--quota-listeners", "1000"])


class BmError(Exception):
    def __init__(self, body: dict):
        super().__init__(f"{body['code']} {body['codeDesc']}: {body['message']}")
        self.code, self.desc, self.message = body["code"], body["codeDesc"], body["message"]

    @property
    def module(self) -> str:
        """The module code in parentheses at the start of the message ('' without one)."""
        return self.message[1:self.message.index(")")] if self.message.startswith("(") else ""


class V2:
    """The legacy client: `v2(action, params)` returns the answer (code 0) or raises BmError."""

    def __init__(self, server: h.OnrampServer, ca, *, method: str = "GET", sign_method: str = "HmacSHA1",
                 secret_id: str = h.ROOT_SECRET_ID, secret_key: str = h.ROOT_SECRET_KEY):
        self.server, self.ca = server, ca
        self.method, self.sign_method, self.secret_id, self.secret_key = method, sign_method, secret_id, secret_key

    def with_(self, **kw) -> "V2":
        args = dict(method=self.method, sign_method=self.sign_method, secret_id=self.secret_id,
                    secret_key=self.secret_key)
        args.update(kw)
        return V2(self.server, self.ca, **args)

    def raw(self, action: str, params: dict | None = None) -> dict:
        from QcloudApi.qcloudapi import QcloudApi
        service = QcloudApi("bmlblocal", {"secretId": self.secret_id, "secretKey": self.secret_key, "Region": "gz",
                                          "endpoint": self.server.host, "method": self.method,
                                          "SignatureMethod": self.sign_method})
        body = json.loads(service.call(action, params or {}, req_timeout=30))
        assert isinstance(body["code"], int) and isinstance(body["message"], str), body
        assert isinstance(body["codeDesc"], str), body
        return body

    def __call__(self, action: str, params: dict | None = None) -> dict:
        body = self.raw(action, params)
        if body["code"] != 0:
            raise BmError(body)
        assert (body["message"], body["codeDesc"]) == ("", "Success"), body
        return body

    def error(self, action: str, params: dict | None = None) -> BmError:
        body = self.raw(action, params)
        assert body["code"] != 0, f"{action} {params} succeeded: {body}"
        return BmError(body)

    def wait_task(self, request_id: int, timeout: float = h.POLL_TIMEOUT) -> None:
        """Poll DescribeBmLoadBalancersTaskResult until the task is done (0); fail on 1."""
        def done():
            status = self("DescribeBmLoadBalancersTaskResult", {"requestId": request_id})["data"]["status"]
            assert status in (0, 2), f"task {request_id} failed"
            return status == 0
        h.wait_until(done, timeout=timeout, what=f"task {request_id}")


class V3:
    """The 3.0 client: `v3(action, params)` builds the typed request, calls `BmlbClient.<action>` and returns
    the typed answer as a dict (raises TencentCloudSDKException on an error)."""

    def __init__(self, server: h.OnrampServer, ca, *, sign_method: str | None = None, req_method: str = "POST",
                 secret_id: str = h.ROOT_SECRET_ID, secret_key: str = h.ROOT_SECRET_KEY):
        hp = HttpProfile(protocol=server.scheme, endpoint=server.host, reqMethod=req_method, reqTimeout=30)
        if ca is not None:
            hp.certification = str(ca)
        cp = ClientProfile(httpProfile=hp)
        if sign_method:
            cp.signMethod = sign_method
        self.client = bmlb_client.BmlbClient(credential.Credential(secret_id, secret_key), REGION, cp)

    def __call__(self, action: str, params: dict | None = None) -> dict:
        req = getattr(models, f"{action}Request")()
        req.from_json_string(json.dumps(params or {}))
        resp = getattr(self.client, action)(req)
        assert isinstance(resp, getattr(models, f"{action}Response")), resp
        out = json.loads(resp.to_json_string())
        assert out.get("RequestId"), out
        return out

    def error(self, action: str, params: dict | None = None) -> TencentCloudSDKException:
        try:
            out = self(action, params)
        except TencentCloudSDKException as e:
            assert e.requestId, e
            return e
        pytest.fail(f"{action} {params} succeeded: {out}")

    def wait_task(self, task_id: str, timeout: float = h.POLL_TIMEOUT) -> None:
        def done():
            status = self("DescribeLoadBalancerTaskResult", {"TaskId": task_id})["Status"]
            assert status in (0, 2), f"task {task_id} failed"
            return status == 0
        h.wait_until(done, timeout=timeout, what=f"task {task_id}")


@pytest.fixture
def v2(bm_server, tls, monkeypatch) -> V2:
    monkeypatch.setenv("SSL_CERT_FILE", str(tls[2]))
    return V2(bm_server, tls[2])


@pytest.fixture
def v3(bm_server, tls) -> V3:
    return V3(bm_server, tls[2])


def new_lb(v2: V2, **extra) -> str:
    params = {"unVpcId": "vpc-onramp01", "loadBalancerType": "open"}
    params.update(extra)
    [lb] = v2("CreateBmLoadBalancer", params)["loadBalancerIds"]
    return lb


def listener_ids(v2: V2, lb: str) -> dict[int, str]:
    """{loadBalancerPort: listenerId} of a load balancer."""
    return {l["loadBalancerPort"]: l["listenerId"]
            for l in v2("DescribeBmListeners", {"loadBalancerId": lb})["listenerSet"]}


def wait_alive(read, want: dict[str, str], timeout: float = 30.0) -> None:
    """Poll `read()` ({instance: status}) until it equals `want` (bounded by `timeout`)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = read()
        if last == want:
            return
        time.sleep(0.5)
    pytest.fail(f"backend status never became {want} within {timeout}s; last seen {last}")


# v2 shapes (the documented fields; more may be present)
LB_V2 = {
    "loadBalancerId": str, "loadBalancerName": str, "loadBalancerType": str, "domain": str,
    "loadBalancerVips": [str], "status": int, "createTime": str, "statusTime": str, "unVpcId": str,
    "unSubnetId": str, "vpcId": int, "subnetId": int, "projectId": int, "latestPayMode": str, "payMode": str,
    "bandwidth": int, "tgwSetType": str, "ipProtocolType": str,
}
LISTENER_V2 = {
    "listenerId": str, "listenerName": str, "protocol": str, "loadBalancerPort": int, "bandwidth": int,
    "listenerType": str, "sessionExpire": int, "healthSwitch": int, "timeOut": int, "intervalTime": int,
    "healthNum": int, "unhealthNum": int, "customHealthSwitch": int, "inputType": str, "lineSeparatorType": int,
    "healthRequest": str, "healthResponse": str, "toaFlag": int, "status": int, "addTimestamp": str,
}
BACKEND_V2 = {"bindType": int, "rsPort": int, "weight": int, "status": str, "lanIp": str}


class Lab:
    """One data-plane test through the v2 client: origins on unique 127.x addresses, load balancers, listeners
    and backends bound by address (`vmIp`); `close()` deletes the load balancers and stops the origins."""

    def __init__(self, v2: V2):
        self.v2 = v2
        self.origins: list = []
        self.lbs: list[str] = []

    def tcp_origin(self, tag: str, mode: str = "line", ip: str | None = None, port: int = 0):
        import dataplane as dp
        o = dp.TcpOrigin(ip or h.origin_ip(), port, tag, mode).start()
        self.origins.append(o)
        return o

    def udp_origin(self, tag: str, ip: str | None = None):
        import dataplane as dp
        o = dp.UdpOrigin(ip or h.origin_ip(), 0, tag).start()
        self.origins.append(o)
        return o

    def lb(self) -> str:
        lb = new_lb(self.v2)
        self.lbs.append(lb)
        return lb

    def listener(self, lb: str, protocol: str = "tcp", **fields) -> tuple[str, int]:
        port = h.listener_port()
        r = self.v2("CreateBmListeners", {"loadBalancerId": lb, "listeners": [
            {"loadBalancerPort": port, "protocol": protocol, **fields}]})
        self.v2.wait_task(r["requestId"])
        [lid] = r["listenerIds"]
        return lid, port

    def bind(self, lb: str, lid: str, origins, weights=None, probe_ports=None) -> None:
        items = []
        for i, o in enumerate(origins):
            item = {"port": o.port, "vmIp": o.ip, "weight": 10 if weights is None else weights[i]}
            if probe_ports and probe_ports[i]:
                item["probePort"] = probe_ports[i]
            items.append(item)
        r = self.v2("BindBmL4ListenerVmIp", {"loadBalancerId": lb, "listenerId": lid, "vmList": items})
        self.v2.wait_task(r["requestId"])

    def statuses(self, lb: str, lid: str) -> dict[str, str]:
        """{origin ip: Alive/Dead} of a listener's backends."""
        data = self.v2("DescribeBmL4ListenerBackends", {"loadBalancerId": lb, "listenerId": lid})["data"]
        return {b["lanIp"]: b["status"] for b in data}

    def close(self):
        for lb in self.lbs:
            try:
                self.v2("DeleteBmLoadBalancers", {"loadBalancerId": lb})
            except Exception:  # the test may have deleted it already
                pass
        for o in self.origins:
            o.stop()


@pytest.fixture
def bm_lab(v2):
    lab = Lab(v2)
    yield lab
    lab.close()
