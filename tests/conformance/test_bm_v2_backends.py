"""BM legacy v2, backends and the general actions, through `qcloudapi-sdk-python` over TLS:
BindBmL4ListenerRs (an origin registered through GAAP AddRealServers, by its ID), BindBmL4ListenerVmIp (an
address: its origin found or made), DescribeBmL4ListenerBackends (filters, health status), the weight, port and
probe-port changes, both unbinds, DescribeBmLoadBalancersTaskResult, DescribeBmBindInfo, DescribeBmVportInfo,
and the documented refusals: a host port bound twice (-12022), over 255 bound ports (12013), unknown instances
(30011)."""
import pytest

import bm
import helpers as h
from bm import bm_server, tls, v2  # noqa: F401  (fixtures)


@pytest.fixture
def lst(v2):
    """A load balancer with a TCP listener and a UDP listener on the same port."""
    lb = bm.new_lb(v2)
    port = h.listener_port()
    r = v2("CreateBmListeners", {"loadBalancerId": lb, "listeners": [{"loadBalancerPort": port, "protocol": "tcp"},
                                                                      {"loadBalancerPort": port, "protocol": "udp"}]})
    v2.wait_task(r["requestId"])
    ls = {l["protocol"]: l["listenerId"] for l in v2("DescribeBmListeners", {"loadBalancerId": lb})["listenerSet"]}
    yield lb, ls
    v2("DeleteBmLoadBalancers", {"loadBalancerId": lb})


def backends(v2, lb, lid, **kw) -> list[dict]:
    return v2("DescribeBmL4ListenerBackends", {"loadBalancerId": lb, "listenerId": lid, **kw})["data"]


@pytest.mark.parametrize("method,sign", [("GET", "HmacSHA256"), ("POST", "HmacSHA1")])
def test_bind_by_instance_and_by_address(v2, lst, bm_server, tls, method, sign):
    c = v2.with_(method=method, sign_method=sign)
    lb, ls = lst
    ip_rs, ip_vm = h.origin_ip(), h.origin_ip()
    rs = h.add_real_servers(bm_server.gaap(ca=tls[2]), "cpm", [ip_rs])[ip_rs]
    task = c("BindBmL4ListenerRs", {"loadBalancerId": lb, "listenerId": ls["tcp"],
                                    "backends": [{"port": 8080, "instanceId": rs, "weight": 30, "probePort": 9090}]})
    c.wait_task(task["requestId"])
    task = c("BindBmL4ListenerVmIp", {"loadBalancerId": lb, "listenerId": ls["tcp"],
                                      "vmList": [{"port": 8081, "vmIp": ip_vm, "weight": 0}]})["requestId"]
    c.wait_task(task)
    got = {b["lanIp"]: b for b in backends(c, lb, ls["tcp"])}
    for b in got.values():
        h.check_shape(b, bm.BACKEND_V2, "data[]")
        assert b["status"] in ("Alive", "Dead")
    cpm, vm = got[ip_rs], got[ip_vm]
    assert (cpm["bindType"], cpm["instanceId"], cpm["rsPort"], cpm["weight"], cpm["probePort"]) == \
        (0, rs, 8080, 30, 9090)
    assert isinstance(cpm["operates"], list) and isinstance(cpm["alias"], str)
    assert (vm["bindType"], vm["rsPort"], vm["weight"], vm["probePort"]) == (1, 8081, 0, -1)
    assert [b["lanIp"] for b in backends(c, lb, ls["tcp"], backends=[{"port": 8081}])] == [ip_vm]
    assert [b["lanIp"] for b in backends(c, lb, ls["tcp"], backends=[{"instanceId": rs}])] == [ip_rs]
    # Changes, one at a time: the weight answers at once (no task in v2), the others with a task.
    assert "requestId" not in c("ModifyBmL4ListenerBackendWeight", {"loadBalancerId": lb, "listenerId": ls["tcp"],
                                                                    "instanceId": rs, "port": 8080, "weight": 55})
    c.wait_task(c("ModifyBmL4ListenerBackendPort", {"loadBalancerId": lb, "listenerId": ls["tcp"],
                                                    "instanceId": ip_vm, "port": 8081, "newPort": 8082})["requestId"])
    c.wait_task(c("ModifyBmL4ListenerBackendProbePort", {"loadBalancerId": lb, "listenerId": ls["tcp"],
                                                         "instanceId": rs, "port": 8080,
                                                         "probePort": 9191})["requestId"])
    got = {b["lanIp"]: b for b in backends(c, lb, ls["tcp"])}
    assert (got[ip_rs]["weight"], got[ip_rs]["probePort"], got[ip_vm]["rsPort"]) == (55, 9191, 8082)
    # The GAAP view of the same listener.
    bound = h.bound_set(bm_server.gaap(ca=tls[2]), ls["tcp"])
    assert bound[rs]["RealServerWeight"] == 55 and bound[rs]["RealServerPort"] == 8080
    c.wait_task(c("UnbindBmL4ListenerRs", {"loadBalancerId": lb, "listenerId": ls["tcp"],
                                           "backends": [{"port": 8080, "instanceId": rs}]})["requestId"])
    c.wait_task(c("UnbindBmL4ListenerVmIp", {"loadBalancerId": lb, "listenerId": ls["tcp"],
                                             "vmList": [{"port": 8082, "vmIp": ip_vm}]})["requestId"])
    assert backends(c, lb, ls["tcp"]) == []


def test_an_address_binds_the_origin_gaap_knows(v2, lst, bm_server, tls):
    lb, ls = lst
    ip = h.origin_ip()
    api = bm_server.gaap(ca=tls[2])
    v2("BindBmL4ListenerVmIp", {"loadBalancerId": lb, "listenerId": ls["tcp"],
                                "vmList": [{"port": 80, "vmIp": ip, "weight": 5}]})
    made = [o for o in api("DescribeRealServers", {"ProjectId": -1, "SearchValue": ip})["RealServerSet"]
            if o["RealServerIP"] == ip]
    assert len(made) == 1, made
    # The same address again (the UDP listener): the same origin, not a second one.
    v2("BindBmL4ListenerVmIp", {"loadBalancerId": lb, "listenerId": ls["udp"],
                                "vmList": [{"port": 80, "vmIp": ip, "weight": 5}]})
    again = [o for o in api("DescribeRealServers", {"ProjectId": -1, "SearchValue": ip})["RealServerSet"]
             if o["RealServerIP"] == ip]
    assert again == made


def test_documented_refusals(v2, lst):
    lb, ls = lst
    ip = h.origin_ip()
    vm = lambda port, **kw: {"port": port, "vmIp": ip, "weight": 10, **kw}  # noqa: E731
    v2("BindBmL4ListenerVmIp", {"loadBalancerId": lb, "listenerId": ls["tcp"], "vmList": [vm(7000)]})
    # A second TCP listener of the load balancer may not take the same host port.
    port2 = h.listener_port()
    r = v2("CreateBmListeners", {"loadBalancerId": lb, "listeners": [{"loadBalancerPort": port2, "protocol": "tcp"}]})
    v2.wait_task(r["requestId"])
    tcp2 = bm.listener_ids(v2, lb)[port2]
    e = v2.error("BindBmL4ListenerVmIp", {"loadBalancerId": lb, "listenerId": tcp2, "vmList": [vm(7000)]})
    assert (e.code, e.module, e.desc) == (4000, "-12022", "InvalidParameter.InvalidMultiL4VportToRsport"), e
    # The UDP listener may.
    v2("BindBmL4ListenerVmIp", {"loadBalancerId": lb, "listenerId": ls["udp"], "vmList": [vm(7000)]})
    e = v2.error("ModifyBmL4ListenerBackendPort", {"loadBalancerId": lb, "listenerId": ls["tcp"], "instanceId": ip,
                                                   "port": 7000, "newPort": 0})
    assert e.module == "9003", e
    for bad in ({"weight": 101}, {"port": 0}, {"probePort": 70000}, {"vmIp": "not-an-ip"}):
        e = v2.error("BindBmL4ListenerVmIp", {"loadBalancerId": lb, "listenerId": ls["tcp"],
                                              "vmList": [{**vm(7001), **bad}]})
        assert (e.code, e.module) == (4000, "9003"), (bad, e)
    e = v2.error("BindBmL4ListenerRs", {"loadBalancerId": lb, "listenerId": ls["tcp"],
                                        "backends": [{"port": 1, "instanceId": "cpm-nothere", "weight": 1}]})
    assert (e.code, e.module, e.desc) == (5000, "30011", "InvalidRs.NotExist"), e
    assert "AddRealServers" in e.message, e
    e = v2.error("UnbindBmL4ListenerVmIp", {"loadBalancerId": lb, "listenerId": ls["tcp"],
                                            "vmList": [{"port": 7999, "vmIp": ip}]})
    assert e.module == "30011", e
    e = v2.error("ModifyBmL4ListenerBackendWeight", {"loadBalancerId": lb, "listenerId": ls["tcp"],
                                                     "instanceId": ip, "port": 7999, "weight": 1})
    assert e.module == "30011", e
    e = v2.error("BindBmL4ListenerVmIp", {"loadBalancerId": lb, "listenerId": "lbl-00000000", "vmList": [vm(1)]})
    assert e.module == "-12023", e
    items = [{"port": p, "vmIp": ip, "weight": 1} for p in range(10001, 10256)]
    v2("BindBmL4ListenerVmIp", {"loadBalancerId": lb, "listenerId": tcp2, "vmList": items[:254]})
    e = v2.error("BindBmL4ListenerVmIp", {"loadBalancerId": lb, "listenerId": tcp2, "vmList": items[254:] + [vm(1)]})
    assert (e.code, e.module, e.desc) == (5100, "12013", "InvalidResource.BindCPMNumberOverLimit"), e
    v2("BindBmL4ListenerVmIp", {"loadBalancerId": lb, "listenerId": tcp2, "vmList": items[254:]})


def test_task_result_bind_info_and_vport_info(v2, lst, bm_server, tls):
    lb, ls = lst
    ip = h.origin_ip()
    rs = h.add_real_servers(bm_server.gaap(ca=tls[2]), "cpm", [h.origin_ip()])
    [rs_id] = rs.values()
    task = v2("BindBmL4ListenerVmIp", {"loadBalancerId": lb, "listenerId": ls["tcp"],
                                       "vmList": [{"port": 81, "vmIp": ip, "weight": 1}]})["requestId"]
    v2.wait_task(task)
    assert v2("DescribeBmLoadBalancersTaskResult", {"requestId": task})["data"] == {"status": 0}
    e = v2.error("DescribeBmLoadBalancersTaskResult", {"requestId": 1})
    assert e.code == 5000, e
    v2("BindBmL4ListenerRs", {"loadBalancerId": lb, "listenerId": ls["udp"],
                              "backends": [{"port": 53, "instanceId": rs_id, "weight": 1}]})
    info = v2("DescribeBmBindInfo", {"instanceIds": [ip, rs_id]})
    [one] = [x for x in info["loadBalancerSet"] if x["loadBalancerId"] == lb]
    assert info["totalCount"] == len(info["loadBalancerSet"])
    assert (one["vip"], one["unVpcId"], one["tgwSetType"], one["L7ListenerSet"]) == \
        ("127.0.0.1", "vpc-onramp01", "fullnat", [])
    assert isinstance(one["appId"], int)
    by_listener = {l["listenerId"]: l for l in one["L4ListenerSet"]}
    assert by_listener[ls["tcp"]]["rsList"] == [{"instanceId": ip, "rsPort": 81}]
    assert by_listener[ls["udp"]]["rsList"] == [{"instanceId": rs_id, "rsPort": 53}]
    assert v2("DescribeBmBindInfo", {"instanceIds": [ip], "unVpcId": "vpc-other"})["totalCount"] == 0
    ports = v2("DescribeBmVportInfo", {"loadBalancerId": lb})
    assert ports["totalCount"] == 2
    assert sorted((p["protocol"], p["status"]) for p in ports["listenerSet"]) == [("tcp", 1), ("udp", 1)]
    for p in ports["listenerSet"]:
        h.check_shape(p, {"listenerId": str, "listenerName": str, "protocol": str, "loadBalancerPort": int,
                          "bandwidth": int, "status": int}, "listenerSet[]")
    e = v2.error("DescribeBmVportInfo", {"loadBalancerId": "lb-00000000"})
    assert e.module == "11041", e
