"""Tencent BM load balancer legacy v2 (`/v2/index.php`) through `qcloudapi-sdk-python` 2.0.15 on a server of
its own with TLS (the SDK speaks HTTPS only), the transport: GET and POST, HmacSHA1 and HmacSHA256, replay and
expiry, bad keys; a GAAP proxy is a load balancer, its listeners are listed by DescribeBmListeners. The module
name 'bmlblocal' is unlisted in the SDK, so its 'endpoint' config is used; the trustme CA is trusted through
SSL_CERT_FILE. The actions themselves: test_bm_v2_*.py."""
import json
import re
import time

import pytest
import requests

import helpers as h
from bm import bm_server, tls  # noqa: F401  (fixtures)

ADD_TS_RE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
BM_LISTENER = {
    "listenerId": str, "listenerName": str, "protocol": str, "loadBalancerPort": int, "bandwidth": int,
    "listenerType": str, "sessionExpire": int, "healthSwitch": int, "timeOut": int, "intervalTime": int,
    "healthNum": int, "unhealthNum": int, "customHealthSwitch": int, "inputType": str, "lineSeparatorType": int,
    "healthRequest": str, "healthResponse": str, "toaFlag": int, "status": int, "addTimestamp": str,
}


@pytest.fixture(scope="module")
def tls_server(bm_server):
    return bm_server


@pytest.fixture(scope="module")
def tls_api(tls_server, tls):
    return tls_server.gaap(ca=tls[2])


@pytest.fixture(scope="module")
def lb(tls_api):
    """A proxy with two TCP listeners (health check on) and one UDP listener, made through GAAP."""
    u = h.Uniq("bm-module")
    proxy_id = h.create_proxy(tls_api, u("px"))
    tcp_ports = h.listener_ports(2)
    udp_port = h.listener_port()
    tcp_name, udp_name = u("tcp"), u("udp")
    tcp_ids = h.create_tcp_listeners(tls_api, proxy_id, tcp_ports, tcp_name, HealthCheck=1, DelayLoop=7,
                                     ConnectTimeout=3, HealthyThreshold=4, UnhealthyThreshold=5)
    [udp_id] = h.create_udp_listeners(tls_api, proxy_id, [udp_port], udp_name)
    return {"proxy": proxy_id, "tcp": dict(zip(tcp_ids, tcp_ports)), "udp": {udp_id: udp_port},
            "tcp_name": tcp_name, "udp_name": udp_name}


@pytest.fixture
def qcloud(tls_server, tls, monkeypatch):
    """qcloud(params, method=, sign_method=, secret_id=, secret_key=) -> parsed DescribeBmListeners answer."""
    monkeypatch.setenv("SSL_CERT_FILE", str(tls[2]))
    from QcloudApi.qcloudapi import QcloudApi

    def call(params: dict, *, method: str = "GET", sign_method: str = "HmacSHA1", secret_id: str = h.ROOT_SECRET_ID,
             secret_key: str = h.ROOT_SECRET_KEY, action: str = "DescribeBmListeners") -> dict:
        service = QcloudApi("bmlblocal", {"secretId": secret_id, "secretKey": secret_key, "Region": "gz",
                                          "endpoint": tls_server.host, "method": method,
                                          "SignatureMethod": sign_method})
        raw = service.call(action, params, req_timeout=30)
        body = json.loads(raw)
        assert isinstance(body["code"], int) and isinstance(body["message"], str), body
        assert isinstance(body["codeDesc"], str), body
        return body
    return call


def _ok(body: dict) -> dict:
    assert (body["code"], body["message"], body["codeDesc"]) == (0, "", "Success"), body
    return body


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("sign_method", ["HmacSHA1", "HmacSHA256"])
def test_describe_bm_listeners(qcloud, lb, method, sign_method):
    body = _ok(qcloud({"loadBalancerId": lb["proxy"]}, method=method, sign_method=sign_method))
    assert body["totalCount"] == 3 == len(body["listenerSet"])
    by_id = {l["listenerId"]: l for l in body["listenerSet"]}
    assert sorted(by_id) == sorted([*lb["tcp"], *lb["udp"]])
    for l in body["listenerSet"]:
        h.check_shape(l, BM_LISTENER, "listenerSet[]")
        assert l["status"] == 1
        assert l["listenerType"] == "L4Listener"
        assert ADD_TS_RE.match(l["addTimestamp"]), l["addTimestamp"]
    for lid, port in lb["tcp"].items():
        l = by_id[lid]
        assert (l["protocol"], l["loadBalancerPort"], l["listenerName"]) == ("tcp", port, lb["tcp_name"])
        assert (l["healthSwitch"], l["timeOut"], l["intervalTime"]) == (1, 3, 7)
        assert (l["healthNum"], l["unhealthNum"]) == (4, 5)
    [(udp_id, udp_port)] = lb["udp"].items()
    assert (by_id[udp_id]["protocol"], by_id[udp_id]["loadBalancerPort"]) == ("udp", udp_port)


def test_listener_ids_filter(qcloud, lb):
    wanted = [next(iter(lb["tcp"])), next(iter(lb["udp"]))]
    body = _ok(qcloud({"loadBalancerId": lb["proxy"], "listenerIds": wanted}))
    assert sorted(l["listenerId"] for l in body["listenerSet"]) == sorted(wanted)
    assert body["totalCount"] == 2
    body = _ok(qcloud({"loadBalancerId": lb["proxy"], "listenerIds": [wanted[0]]}, method="POST"))
    assert [l["listenerId"] for l in body["listenerSet"]] == [wanted[0]]


def test_empty_load_balancer(qcloud, tls_api):
    proxy_id = h.create_proxy(tls_api, h.Uniq("bm-empty")("px"))
    body = _ok(qcloud({"loadBalancerId": proxy_id}))
    assert body["listenerSet"] == [] and body["totalCount"] == 0


def test_unknown_load_balancer(qcloud):
    body = qcloud({"loadBalancerId": "link-00000000"})
    assert body["code"] != 0 and body["message"], body
    body = qcloud({"loadBalancerId": "lb-00000000"}, method="POST", sign_method="HmacSHA256")
    assert body["code"] != 0, body


def test_missing_load_balancer_id(qcloud):
    body = qcloud({})
    assert body["code"] != 0 and "loadBalancerId" in body["message"], body


def test_unknown_action(qcloud, lb):
    body = qcloud({"loadBalancerId": lb["proxy"]}, action="DescribeBmWeather")
    assert body["code"] != 0, body


def test_bad_signature(qcloud, lb):
    for sm in ("HmacSHA1", "HmacSHA256"):
        body = qcloud({"loadBalancerId": lb["proxy"]}, sign_method=sm, secret_key="z" * 32)
        assert (body["code"], body["codeDesc"]) == (4100, "AuthFailure"), body


def test_unknown_secret_id(qcloud, lb):
    body = qcloud({"loadBalancerId": lb["proxy"]}, secret_id="AKIDnobodyHasThisKey0000000000000000")
    assert body["code"] == 4104, body


def _raw(server, ca, params: dict, method: str = "GET") -> dict:
    url = f"https://{server.host}/v2/index.php"
    if method == "GET":
        resp = requests.get(url, params=params, verify=str(ca), timeout=30)
    else:
        resp = requests.post(url, data=params, verify=str(ca), timeout=30)
    assert resp.status_code == 200, (resp.status_code, resp.text[:300])
    return resp.json()


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_nonce_reuse_is_refused(tls_server, tls, lb, method):
    params = h.bm_params("DescribeBmListeners", {"loadBalancerId": lb["proxy"]}, host=tls_server.host,
                         method=method)
    first = _raw(tls_server, tls[2], params, method)
    assert first["code"] == 0, first
    again = _raw(tls_server, tls[2], params, method)  # same Nonce, Timestamp and Signature
    assert again["code"] == 4500, again


def test_expired_timestamp_is_refused(tls_server, tls, lb):
    params = h.bm_params("DescribeBmListeners", {"loadBalancerId": lb["proxy"]}, host=tls_server.host,
                         timestamp=int(time.time()) - 3 * 3600)
    body = _raw(tls_server, tls[2], params)
    assert body["code"] in (4500, 4200), body


def test_raw_signer_matches(tls_server, tls, lb):
    """The suite's own v2 signer (used for the replay tests) agrees with the server."""
    for sm in ("HmacSHA1", "HmacSHA256"):
        params = h.bm_params("DescribeBmListeners", {"loadBalancerId": lb["proxy"], "listenerIds": [
            next(iter(lb["tcp"]))]}, host=tls_server.host, sign_method=sm)
        body = _raw(tls_server, tls[2], params)
        assert body["code"] == 0 and body["totalCount"] == 1, body


def test_whole_api_port_is_https(tls_server, tls, lb):
    """GAAP (TC3) and Huawei answer on the TLS port too."""
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkcore.http.http_config import HttpConfig
    from huaweicloudsdkga.v1 import GaClient, ShowListenerRequest

    cfg = HttpConfig.get_default_config()
    cfg.ssl_ca_cert = str(tls[2])
    cfg.timeout = (10, 30)
    client = (GaClient.new_builder().with_http_config(cfg)
              .with_credentials(BasicCredentials(h.ROOT_SECRET_ID, h.ROOT_SECRET_KEY))
              .with_endpoints([tls_server.url]).build())
    lid = next(iter(lb["tcp"]))
    assert client.show_listener(ShowListenerRequest(listener_id=lid)).listener.accelerator_id == lb["proxy"]
    # Plain HTTP on the TLS port is not served (a connection error, or at most a 4xx refusal).
    try:
        plain = requests.get(f"http://{tls_server.host}/v2/index.php", timeout=10)
    except requests.exceptions.ConnectionError:
        return
    assert 400 <= plain.status_code < 500, plain.status_code
