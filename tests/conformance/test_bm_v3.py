"""BM load balancer API 3.0 (service `bmlb`, 2018-06-25) through `tencentcloud-sdk-python`'s typed models
(`BmlbClient`; every request an `<Action>Request` model, every answer read as its `<Action>Response`), on the
same port and transport as GAAP: TC3 (POST JSON, GET) and the v1 HmacSHA1/HmacSHA256 signatures, routed by the
credential scope or the Version. Every layer-4 action of the reference's §3.3, string TaskIds polled through
DescribeLoadBalancerTaskResult, the documented refusals in `Error.Code`, layer 7 refused, and one model: what
3.0 does is seen through v2 and GAAP, and the other way round."""
import time

import pytest

import bm
import helpers as h
from bm import bm_server, tls, v2, v3  # noqa: F401  (fixtures)

SIGNS = [(None, "POST"), (None, "GET"), ("HmacSHA256", "POST"), ("HmacSHA1", "GET")]


@pytest.mark.parametrize("sign,method", SIGNS)
def test_load_balancers(bm_server, tls, sign, method):
    c = bm.V3(bm_server, tls[2], sign_method=sign, req_method=method)
    u = h.Uniq(f"bm3-lb-{sign}-{method}")
    net = "vpc-" + u("v")[-8:]
    out = c("CreateLoadBalancers", {"VpcId": net, "LoadBalancerType": "open", "GoodsNum": 2, "PayMode": "flow",
                                    "TgwSetType": "fullnat", "Exclusive": 0, "IpProtocolType": "ipv4"})
    ids, task = out["LoadBalancerIds"], out["TaskId"]
    assert len(ids) == 2 and isinstance(task, str) and task.isdigit(), out
    c.wait_task(task)
    got = c("DescribeLoadBalancers", {"VpcId": net, "OrderBy": "createTime"})
    assert got["TotalCount"] == 2 and sorted(x["LoadBalancerId"] for x in got["LoadBalancerSet"]) == sorted(ids)
    for lb in got["LoadBalancerSet"]:
        assert (lb["LoadBalancerType"], lb["VpcId"], lb["TgwSetType"], lb["Status"]) == ("open", net, "fullnat", 1)
        assert lb["LoadBalancerVips"] == ["127.0.0.1"] and lb["SupportListenerTypes"] == ["tcp", "udp"]
        assert lb["Domain"].endswith(".bmlb.onramp.internal") and lb["IntVpcId"] == 0
    t = c("ModifyLoadBalancer", {"LoadBalancerId": ids[0], "LoadBalancerName": "three", "DomainPrefix": u("p")})
    c.wait_task(t["TaskId"])
    [lb] = c("DescribeLoadBalancers", {"LoadBalancerIds": [ids[0]]})["LoadBalancerSet"]
    assert lb["LoadBalancerName"] == "three"
    assert c("DescribeLoadBalancers", {"VpcId": net, "SearchKey": "three"})["TotalCount"] == 1
    assert c("DescribeLoadBalancers", {"VpcId": net, "Limit": 1, "Offset": 1})["TotalCount"] == 2
    for lb_id in ids:
        c.wait_task(c("DeleteLoadBalancer", {"LoadBalancerId": lb_id})["TaskId"])
    assert c("DescribeLoadBalancers", {"LoadBalancerIds": ids})["TotalCount"] == 0
    # (The same signed delete again within its second would be the same request, answered as the first: an
    # unknown ID shows the refusal.)
    e = c.error("DeleteLoadBalancer", {"LoadBalancerId": "lb-00000000"})
    h.assert_code(e, "ResourceNotFound")


@pytest.fixture
def lb(v3, request):
    # A VPC of its own: two identical signed creates in one second would be one request.
    vpc = "vpc-" + h.Uniq(request.node.nodeid)("v")[-8:]
    out = v3("CreateLoadBalancers", {"VpcId": vpc, "LoadBalancerType": "open"})
    [lb_id] = out["LoadBalancerIds"]
    yield lb_id
    v3("DeleteLoadBalancer", {"LoadBalancerId": lb_id})


def vpc_of(v3, lb: str) -> str:
    return v3("DescribeLoadBalancers", {"LoadBalancerIds": [lb]})["LoadBalancerSet"][0]["VpcId"]


def listeners(v3, lb) -> dict[str, dict]:
    return {l["Protocol"]: l for l in v3("DescribeL4Listeners", {"LoadBalancerId": lb})["ListenerSet"]}


def test_listeners(v3, lb):
    port = h.listener_port()
    # The documented example: SessionExpire 0 is no persistence.
    task = v3("CreateL4Listeners", {"LoadBalancerId": lb, "ListenerSet": [
        {"LoadBalancerPort": port, "Protocol": "tcp", "ListenerName": str(port), "SessionExpire": 0,
         "HealthSwitch": 1, "CustomHealthSwitch": 1, "InputType": "hexadecimal", "HealthRequest": "50494e47",
         "HealthResponse": "504f4e47", "TimeOut": 2, "IntervalTime": 6, "HealthNum": 2, "UnhealthNum": 2},
        {"LoadBalancerPort": port, "Protocol": "udp", "ListenerName": "u", "Bandwidth": 5}]})["TaskId"]
    v3.wait_task(task)
    got = listeners(v3, lb)
    t = got["tcp"]
    assert (t["ListenerName"], t["LoadBalancerPort"], t["ListenerType"], t["Status"]) == \
        (str(port), port, "L4Listener", 1)
    assert (t["InputType"], t["HealthRequest"], t["HealthResponse"], t["IntervalTime"]) == \
        ("hexadecimal", "50494e47", "504f4e47", 6)
    assert t["BalanceMode"] == "wrr" and got["udp"]["Bandwidth"] == 5
    task = v3("ModifyL4Listener", {"LoadBalancerId": lb, "ListenerId": t["ListenerId"], "BalanceMode": "wlc",
                                   "SessionExpire": 1800, "ToaFlag": 1, "ListenerName": "renamed"})["TaskId"]
    v3.wait_task(task)
    t = listeners(v3, lb)["tcp"]
    assert (t["BalanceMode"], t["SessionExpire"], t["ToaFlag"], t["ListenerName"]) == ("wlc", 1800, 1, "renamed")
    info = v3("DescribeL4ListenerInfo", {"LoadBalancerId": lb, "SearchKey": "renam"})["ListenerSet"]
    assert [x["ListenerId"] for x in info] == [t["ListenerId"]]
    e = v3.error("CreateL4Listeners", {"LoadBalancerId": lb, "ListenerSet": [
        {"LoadBalancerPort": port, "Protocol": "tcp", "ListenerName": "again"}]})
    h.assert_code(e, "InvalidParameter")
    assert "VportIsDuplicate" in e.message, e
    e = v3.error("ModifyL4Listener", {"LoadBalancerId": lb, "ListenerId": t["ListenerId"], "BalanceMode": "rr"})
    h.assert_code(e, "InvalidParameterValue")
    e = v3.error("ModifyL4Listener", {"LoadBalancerId": lb, "ListenerId": t["ListenerId"], "TimeOut": 9,
                                      "IntervalTime": 8})
    h.assert_code(e, "InvalidParameterValue")
    assert "TimeOut" in e.message, e
    v3.wait_task(v3("DeleteListeners", {"LoadBalancerId": lb, "ListenerIds": [t["ListenerId"]]})["TaskId"])
    assert list(listeners(v3, lb)) == ["udp"]
    e = v3.error("DeleteListeners", {"LoadBalancerId": lb, "ListenerIds": [t["ListenerId"], "lbl-00000000"]})
    h.assert_code(e, "ResourceNotFound")


def test_backends_tasks_bind_and_port_info(v3, lb, bm_server, tls):
    port = h.listener_port()
    v3.wait_task(v3("CreateL4Listeners", {"LoadBalancerId": lb, "ListenerSet": [
        {"LoadBalancerPort": port, "Protocol": "tcp", "ListenerName": "t"}]})["TaskId"])
    lid = listeners(v3, lb)["tcp"]["ListenerId"]
    ip, cpm_ip = h.origin_ip(), h.origin_ip()
    rs = h.add_real_servers(bm_server.gaap(ca=tls[2]), "cpm", [cpm_ip])[cpm_ip]
    t1 = v3("BindL4Backends", {"LoadBalancerId": lb, "ListenerId": lid, "BindType": 1,
                               "BackendSet": [{"Port": 80, "InstanceId": ip, "Weight": 10}]})["TaskId"]
    t0 = v3("BindL4Backends", {"LoadBalancerId": lb, "ListenerId": lid, "BindType": 0,
                               "BackendSet": [{"Port": 81, "InstanceId": rs, "Weight": 20, "ProbePort": 8181}]})
    v3.wait_task(t1)
    v3.wait_task(t0["TaskId"])
    assert v3("DescribeLoadBalancerTaskResult", {"TaskId": t1})["Status"] == 0
    e = v3.error("BindL4Backends", {"LoadBalancerId": lb, "ListenerId": lid, "BindType": 2,
                                    "BackendSet": [{"Port": 82, "InstanceId": "x", "Weight": 1}]})
    h.assert_code(e, "InvalidParameterValue")
    assert "semi-managed" in e.message, e
    got = {b["LanIp"]: b for b in v3("DescribeL4Backends", {"LoadBalancerId": lb, "ListenerId": lid})["BackendSet"]}
    assert (got[ip]["BindType"], got[ip]["InstanceId"], got[ip]["Port"], got[ip]["ProbePort"]) == (1, ip, 80, -1)
    assert (got[cpm_ip]["BindType"], got[cpm_ip]["InstanceId"], got[cpm_ip]["ProbePort"]) == (0, rs, 8181)
    assert all(b["Status"] in ("Alive", "Dead") for b in got.values())
    only = v3("DescribeL4Backends", {"LoadBalancerId": lb, "ListenerId": lid, "BackendSet": [{"Port": 81}]})
    assert [b["InstanceId"] for b in only["BackendSet"]] == [rs]
    for action, extra in (("ModifyL4BackendWeight", {"Weight": 0}), ("ModifyL4BackendProbePort", {"ProbePort": 9}),
                          ("ModifyL4BackendPort", {"NewPort": 90})):
        task = v3(action, {"LoadBalancerId": lb, "ListenerId": lid, "InstanceId": ip, "Port": 80, "BindType": 1,
                           **extra})["TaskId"]
        v3.wait_task(task)
    got = {b["LanIp"]: b for b in v3("DescribeL4Backends", {"LoadBalancerId": lb, "ListenerId": lid})["BackendSet"]}
    assert (got[ip]["Weight"], got[ip]["ProbePort"], got[ip]["Port"]) == (0, 9, 90)
    info = v3("DescribeDevicesBindInfo", {"VpcId": vpc_of(v3, lb), "InstanceIds": [ip, rs]})["LoadBalancerSet"]
    [mine] = [x for x in info if x["LoadBalancerId"] == lb]
    [l4] = mine["L4ListenerSet"]
    assert (l4["ListenerId"], l4["Protocol"], l4["LoadBalancerPort"]) == (lid, "tcp", port)
    assert sorted((b["InstanceId"], b["Port"]) for b in l4["BackendSet"]) == sorted([(ip, 90), (rs, 81)])
    [p] = v3("DescribeLoadBalancerPortInfo", {"LoadBalancerId": lb})["ListenerSet"]
    assert (p["ListenerId"], p["LoadBalancerPort"], p["Port"], p["Status"]) == (lid, port, 81, 1)
    v3.wait_task(v3("UnbindL4Backends", {"LoadBalancerId": lb, "ListenerId": lid, "BindType": 1,
                                         "BackendSet": [{"Port": 90, "InstanceId": ip}]})["TaskId"])
    v3.wait_task(v3("UnbindL4Backends", {"LoadBalancerId": lb, "ListenerId": lid, "BindType": 0,
                                         "BackendSet": [{"Port": 81, "InstanceId": rs}]})["TaskId"])
    assert v3("DescribeL4Backends", {"LoadBalancerId": lb, "ListenerId": lid})["BackendSet"] == []
    e = v3.error("DescribeLoadBalancerTaskResult", {"TaskId": "999"})
    h.assert_code(e, "ResourceNotFound")


def test_one_model_across_v2_v3_and_gaap(v2, v3, bm_server, tls):
    [lb] = v2("CreateBmLoadBalancer", {"unVpcId": "vpc-mixed", "loadBalancerType": "internal"})["loadBalancerIds"]
    [seen] = v3("DescribeLoadBalancers", {"LoadBalancerIds": [lb]})["LoadBalancerSet"]
    assert (seen["LoadBalancerType"], seen["VpcId"], seen["Domain"]) == ("internal", "vpc-mixed", "")
    port = h.listener_port()
    task = v3("CreateL4Listeners", {"LoadBalancerId": lb, "ListenerSet": [
        {"LoadBalancerPort": port, "Protocol": "tcp", "ListenerName": "from-3"}]})["TaskId"]
    # A 3.0 TaskId is the v2 requestId of the same task.
    v2.wait_task(int(task))
    [l] = v2("DescribeBmListeners", {"loadBalancerId": lb})["listenerSet"]
    assert (l["listenerName"], l["loadBalancerPort"]) == ("from-3", port)
    gaap = bm_server.gaap(ca=tls[2])
    [g] = gaap("DescribeTCPListeners", {"ProxyId": lb})["ListenerSet"]
    assert g["ListenerId"] == l["listenerId"]
    v2("ModifyBmListener", {"loadBalancerId": lb, "listenerId": l["listenerId"], "listenerName": "from-2"})
    assert listeners(v3, lb)["tcp"]["ListenerName"] == "from-2"
    v3("DeleteLoadBalancer", {"LoadBalancerId": lb})
    assert gaap("DescribeProxies", {"ProxyIds": [lb]})["TotalCount"] == 0


def test_refusals_and_routing(v3, bm_server, tls):
    e = v3.error("CreateLoadBalancers", {"LoadBalancerType": "open"})
    h.assert_code(e, "MissingParameter")
    e = v3.error("CreateLoadBalancers", {"VpcId": "vpc-a", "LoadBalancerType": "open", "GoodsNum": 21})
    h.assert_code(e, "LimitExceeded")
    e = v3.error("CreateLoadBalancers", {"VpcId": "vpc-a", "LoadBalancerType": "open", "TgwSetType": "dnat"})
    h.assert_code(e, "InvalidParameterValue")
    e = v3.error("DescribeL4Listeners", {"LoadBalancerId": "lb-00000000"})
    h.assert_code(e, "ResourceNotFound")
    e = v3.error("ModifyL4BackendWeight", {"LoadBalancerId": "lb-00000000", "ListenerId": "lbl-00000000",
                                           "InstanceId": "127.0.0.1", "Weight": 1, "Port": 1, "BindType": 1})
    h.assert_code(e, "ResourceNotFound")
    for action, params in (("CreateL7Listeners", {"LoadBalancerId": "lb-00000000", "ListenerSet": []}),
                           ("DescribeL7Listeners", {"LoadBalancerId": "lb-00000000"}),
                           ("UploadCert", {"CertType": "SVR", "Cert": "x"}),
                           ("CreateTrafficMirror", {"Alias": "m", "VpcId": "vpc-a"}),
                           ("DescribeTrafficMirrors", {})):
        e = v3.error(action, params)
        h.assert_code(e, "UnsupportedOperation")
        assert "outside a layer-4 system" in e.message, (action, e)
    # The same port serves GAAP by its scope and version; a GAAP action is not a bmlb one.
    gaap = bm_server.gaap(ca=tls[2])
    assert isinstance(gaap("DescribeProxies", {})["TotalCount"], int)
    def raw(action: str, service: str, version: str) -> dict:
        ts = int(time.time())
        auth = h.tc3_authorization(h.ROOT_SECRET_ID, h.ROOT_SECRET_KEY, method="POST", host=bm_server.host,
                                   content_type="application/json", query="", body=b"{}", timestamp=ts,
                                   service=service)
        r = h.raw_tc3_post(bm_server, action, b"{}", timestamp=ts, version=version, authorization=auth,
                           verify=str(tls[2]))
        return r.json()["Response"]
    assert raw("DescribeProxies", "bmlb", "2018-06-25")["Error"]["Code"] == "InvalidAction"
    assert raw("DescribeLoadBalancers", "gaap", "2018-06-25")["Error"]["Code"] == "NoSuchVersion"
    assert raw("DescribeLoadBalancers", "bmlb", "2018-05-29")["Error"]["Code"] == "NoSuchVersion"
    assert raw("DescribeLoadBalancers", "cvm", "2018-06-25")["Error"]["Code"].startswith("AuthFailure")
    assert isinstance(raw("DescribeLoadBalancers", "bmlb", "2018-06-25")["TotalCount"], int)


def test_charge_mode(v3, lb):
    port = h.listener_port()
    v3.wait_task(v3("CreateL4Listeners", {"LoadBalancerId": lb, "ListenerSet": [
        {"LoadBalancerPort": port, "Protocol": "tcp", "ListenerName": "c"}]})["TaskId"])
    lid = listeners(v3, lb)["tcp"]["ListenerId"]
    v3("ModifyLoadBalancerChargeMode", {"LoadBalancerId": lb, "PayMode": "bandwidth",
                                        "ListenerSet": [{"ListenerId": lid, "Protocol": "tcp", "Bandwidth": 40}]})
    [got] = v3("DescribeLoadBalancers", {"LoadBalancerIds": [lb]})["LoadBalancerSet"]
    assert got["PayMode"] == "bandwidth" and listeners(v3, lb)["tcp"]["Bandwidth"] == 40
    e = v3.error("ModifyLoadBalancerChargeMode", {"LoadBalancerId": lb, "PayMode": "monthly"})
    h.assert_code(e, "InvalidParameterValue")
