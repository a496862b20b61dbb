"""BM legacy v2, load balancers, through `qcloudapi-sdk-python` over TLS: CreateBmLoadBalancer (an order of
goodsNum, the network attributes recorded, VIPs = the edges' address), DescribeBmLoadBalancers (filters,
search, ordering, paging), ModifyBmLoadBalancerAttributes (name, unique domain prefix), DeleteBmLoadBalancers
(with its listeners), InquiryBmLBPrice, the task of each write, and the documented refusals. Each flow runs
over GET and POST, HmacSHA1 and HmacSHA256."""
import re

import pytest

import bm
import helpers as h
from bm import bm_server, tls, v2  # noqa: F401  (fixtures)

TIME_RE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
TRANSPORTS = [("GET", "HmacSHA1"), ("GET", "HmacSHA256"), ("POST", "HmacSHA1"), ("POST", "HmacSHA256")]


def vpc(u) -> str:
    return "vpc-" + u("v")[-8:]


@pytest.mark.parametrize("method,sign", TRANSPORTS)
def test_order_describe_modify_delete(v2, method, sign):
    c = v2.with_(method=method, sign_method=sign)
    u = h.Uniq(f"bm-lb-{method}-{sign}")
    net = vpc(u)
    ids = c("CreateBmLoadBalancer", {"unVpcId": net, "unSubnetId": "subnet-1", "loadBalancerType": "open",
                                     "goodsNum": 2, "payMode": "bandwidth", "exclusive": 1, "projectId": 0,
                                     "tgwSetType": "fullnat", "ipProtocolType": "ipv4"})["loadBalancerIds"]
    assert len(ids) == 2 and all(re.match(r"^lb-[a-z0-9]{8}$", i) for i in ids), ids
    got = c("DescribeBmLoadBalancers", {"unVpcId": net})
    assert got["totalCount"] == 2 and sorted(x["loadBalancerId"] for x in got["loadBalancerSet"]) == sorted(ids)
    for lb in got["loadBalancerSet"]:
        h.check_shape(lb, bm.LB_V2, "loadBalancerSet[]")
        assert (lb["loadBalancerType"], lb["payMode"], lb["unSubnetId"]) == ("open", "bandwidth", "subnet-1")
        assert (lb["tgwSetType"], lb["ipProtocolType"], lb["exclusive"]) == ("fullnat", "ipv4", 1)
        assert lb["loadBalancerVips"] == ["127.0.0.1"] and lb["status"] == 1
        assert lb["domain"] == f"{lb['loadBalancerId']}.bmlb.onramp.internal"
        assert TIME_RE.match(lb["createTime"]) and TIME_RE.match(lb["statusTime"])
    name, prefix = u("n")[-20:].replace(".", "-"), u("d")[-20:].lower().replace(".", "-").replace("_", "-")
    task = c("ModifyBmLoadBalancerAttributes", {"loadBalancerId": ids[0], "loadBalancerName": name,
                                                "domainPrefix": prefix})["requestId"]
    assert isinstance(task, int)
    c.wait_task(task)
    [lb] = c("DescribeBmLoadBalancers", {"loadBalancerIds": [ids[0]]})["loadBalancerSet"]
    assert (lb["loadBalancerName"], lb["domain"]) == (name, f"{prefix}.bmlb.onramp.internal")
    # The prefix is taken: the other load balancer may not have it.
    e = c.error("ModifyBmLoadBalancerAttributes", {"loadBalancerId": ids[1], "domainPrefix": prefix})
    assert (e.code, e.module) == (4000, "9003"), e
    for lb_id in ids:
        c.wait_task(c("DeleteBmLoadBalancers", {"loadBalancerId": lb_id})["requestId"])
    assert c("DescribeBmLoadBalancers", {"unVpcId": net})["totalCount"] == 0
    e = c.error("DeleteBmLoadBalancers", {"loadBalancerId": ids[0]})
    assert (e.code, e.module) == (5000, "11041"), e


def test_filters_search_order_and_paging(v2):
    u = h.Uniq("bm-lb-filters")
    net = vpc(u)
    public = v2("CreateBmLoadBalancer", {"unVpcId": net, "loadBalancerType": "open", "goodsNum": 3})["loadBalancerIds"]
    [internal] = v2("CreateBmLoadBalancer", {"unVpcId": net, "loadBalancerType": "internal",
                                             "exclusive": 2})["loadBalancerIds"]
    names = ["b-lb", "c-lb", "a-lb"]
    for lb, n in zip(public, names):
        v2("ModifyBmLoadBalancerAttributes", {"loadBalancerId": lb, "loadBalancerName": n})
    q = lambda **kw: v2("DescribeBmLoadBalancers", {"unVpcId": net, **kw})  # noqa: E731
    assert [x["loadBalancerId"] for x in q(loadBalancerType="internal")["loadBalancerSet"]] == [internal]
    [inner] = q(loadBalancerIds=[internal])["loadBalancerSet"]
    assert inner["domain"] == "" and inner["exclusive"] == 2
    assert q(exclusive=2)["totalCount"] == 1
    assert q(loadBalancerName="c-lb")["loadBalancerSet"][0]["loadBalancerId"] == public[1]
    assert q(searchKey="-lb")["totalCount"] == 3
    assert q(domain=f"{public[0]}.bmlb.onramp.internal")["loadBalancerSet"][0]["loadBalancerId"] == public[0]
    assert q(loadBalancerVips=["127.0.0.1"])["totalCount"] == 4
    assert q(loadBalancerVips=["127.0.0.9"])["totalCount"] == 0
    assert q(tgwSetType="tunnel")["totalCount"] == 0 and q(tgwSetType="fullnat")["totalCount"] == 4
    by_name = q(loadBalancerType="open", orderBy="loadBalancerName")["loadBalancerSet"]
    assert [x["loadBalancerName"] for x in by_name] == ["a-lb", "b-lb", "c-lb"]
    desc = q(loadBalancerType="open", orderBy="loadBalancerName", orderType=1)["loadBalancerSet"]
    assert [x["loadBalancerName"] for x in desc] == ["c-lb", "b-lb", "a-lb"]
    page = q(orderBy="loadBalancerName", offset=1, limit=2)
    assert page["totalCount"] == 4 and len(page["loadBalancerSet"]) == 2
    e = v2.error("DescribeBmLoadBalancers", {"orderBy": "price"})
    assert (e.code, e.module) == (4000, "9003") and "orderBy" in e.message, e
    for lb in public + [internal]:
        v2("DeleteBmLoadBalancers", {"loadBalancerId": lb})


def test_documented_refusals(v2):
    e = v2.error("CreateBmLoadBalancer", {"loadBalancerType": "open"})
    assert (e.code, e.module) == (4000, "9003") and "unVpcId" in e.message, e
    for bad in ({"loadBalancerType": "private"}, {"payMode": "monthly"}, {"exclusive": 5},
                {"ipProtocolType": "ipv6"}, {"specifiedVips": ["10.0.0.1"]}, {"bzConf": {"bzPayMode": "x"}},
                {"goodsNum": 0}, {"surprise": 1}):
        params = {"unVpcId": "vpc-a", "loadBalancerType": "open", **bad}
        e = v2.error("CreateBmLoadBalancer", params)
        assert (e.code, e.module) == (4000, "9003"), (bad, e)
    e = v2.error("CreateBmLoadBalancer", {"unVpcId": "vpc-a", "loadBalancerType": "open", "tgwSetType": "tunnel"})
    assert "fullnat" in e.message, e
    e = v2.error("CreateBmLoadBalancer", {"unVpcId": "vpc-a", "loadBalancerType": "open", "goodsNum": 21})
    assert (e.code, e.module, e.desc) == (5100, "12010", "InvalidResource.LBNumberOverOrderLimit"), e
    [lb] = v2("CreateBmLoadBalancer", {"unVpcId": "vpc-a", "loadBalancerType": "internal",
                                       "specifiedVips": ["127.0.0.1"]})["loadBalancerIds"]
    e = v2.error("ModifyBmLoadBalancerAttributes", {"loadBalancerId": lb, "domainPrefix": "inner"})
    assert "internal" in e.message, e
    for bad in ("UPPER", "a" * 21, "", "a.b"):
        e = v2.error("ModifyBmLoadBalancerAttributes", {"loadBalancerId": lb, "domainPrefix": bad})
        assert e.module == "9003", (bad, e)
    e = v2.error("ModifyBmLoadBalancerAttributes", {"loadBalancerId": lb, "loadBalancerName": "x" * 21})
    assert "loadBalancerName" in e.message, e
    e = v2.error("ModifyBmLoadBalancerAttributes", {"loadBalancerId": "lb-00000000", "loadBalancerName": "x"})
    assert (e.code, e.module, e.desc) == (5000, "11041", "InvalidParameter.CCDBLBNotExist"), e
    v2("DeleteBmLoadBalancers", {"loadBalancerId": lb})


def test_price_is_zero(v2):
    assert v2("InquiryBmLBPrice", {"loadBalancerType": "open"})["price"] == 0
    e = v2.error("InquiryBmLBPrice", {"loadBalancerType": "closed"})
    assert e.module == "9003", e


def test_a_v2_load_balancer_is_a_gaap_proxy_and_a_huawei_accelerator(v2, bm_server, tls):
    lb = bm.new_lb(v2)
    api = bm_server.gaap(ca=tls[2])
    [proxy] = api("DescribeProxies", {"ProxyIds": [lb]})["ProxySet"]
    assert proxy["ProxyId"] == lb and proxy["Status"] == "RUNNING"
    # A GAAP rename shows in v2.
    api("ModifyProxiesAttribute", {"ProxyIds": [lb], "ProxyName": "renamed-by-gaap"})
    [got] = v2("DescribeBmLoadBalancers", {"loadBalancerIds": [lb]})["loadBalancerSet"]
    assert got["loadBalancerName"] == "renamed-by-gaap"
    # A GAAP proxy is a load balancer too.
    proxy_id = h.create_proxy(api, h.Uniq("bm-gaap")("px"))
    [seen] = v2("DescribeBmLoadBalancers", {"loadBalancerIds": [proxy_id]})["loadBalancerSet"]
    assert (seen["loadBalancerType"], seen["status"]) == ("open", 1)
    v2("DeleteBmLoadBalancers", {"loadBalancerId": lb})
    assert api("DescribeProxies", {"ProxyIds": [lb]})["TotalCount"] == 0


def test_every_layer7_certificate_and_mirror_action_is_refused(v2):
    names = ["CreateBmForwardListeners", "DescribeBmForwardListeners", "DescribeBmForwardListenerInfo",
             "ModifyBmForwardListener", "CreateBmForwardRules", "DescribeBmForwardRules", "ModifyBmForwardLocation",
             "DeleteBmForwardRules", "DeleteBmForwardDomains", "BindBmLocationInstances",
             "UnbindBmLocationInstances", "BindBmL7LocationVmIp", "UnbindBmL7LocationVmIp",
             "DescribeBmLocationBackends", "ModifyBmLocationBackendWeight", "ModifyBmLocationBackendPort",
             "UploadBmCert", "GetBmCertDetail", "ReplaceBmCert", "AddTrafficMirror", "DeleteTrafficMirror",
             "GetTrafficMirror", "GetTrafficMirrorList", "BindTrafficMirrorListeners",
             "UnbindTrafficMirrorListeners", "BindTrafficMirrorReceivers", "UnbindTrafficMirrorReceivers",
             "GetTrafficMirrorListenerList", "GetTrafficMirrorReceiverList", "SetTrafficMirrorAlias",
             "SetTrafficMirrorLBType", "SetTrafficMirrorHealthSwitch"]
    for a in names:
        e = v2.error(a, {"loadBalancerId": "lb-00000000"})
        assert (e.code, e.desc) == (6100, "UnsupportedOperation") and "outside a layer-4 system" in e.message, (a, e)
    e = v2.error("DescribeBmWeather", {})
    assert (e.code, e.desc) == (6100, "InvalidAction"), e
