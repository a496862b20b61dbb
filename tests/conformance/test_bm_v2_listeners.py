"""BM legacy v2, L4 listeners, through `qcloudapi-sdk-python` over TLS: CreateBmListeners (every field, TCP
and UDP), DescribeBmListeners, DescribeBmListenerInfo (by name, by bound instance), ModifyBmListener (each
field), DeleteBmListeners, the task of each write, and the documented refusals: a port in use (-12013), values
out of range, timeOut not below intervalTime, bad hex, unknown ids (11041, -12023), more than 50 listeners
(12014)."""
import pytest

import bm
import helpers as h
from bm import bm_server, tls, v2  # noqa: F401  (fixtures)

FULL = {"listenerName": "full", "sessionExpire": 900, "healthSwitch": 1, "timeOut": 3, "intervalTime": 7,
        "healthNum": 4, "unhealthNum": 5, "bandwidth": 20, "customHealthSwitch": 1, "inputType": "text",
        "lineSeparatorType": 3, "healthRequest": "GET / HTTP/1.1\nHost: a\n\n", "healthResponse": "200 OK",
        "toaFlag": 1}


def make(v2, lb, items) -> dict[int, dict]:
    r = v2("CreateBmListeners", {"loadBalancerId": lb, "listeners": items})
    assert isinstance(r["requestId"], int), r
    v2.wait_task(r["requestId"])
    return {l["loadBalancerPort"]: l for l in v2("DescribeBmListeners", {"loadBalancerId": lb})["listenerSet"]}


@pytest.mark.parametrize("method,sign", [("GET", "HmacSHA1"), ("POST", "HmacSHA256")])
def test_create_every_field_then_describe(v2, method, sign):
    c = v2.with_(method=method, sign_method=sign)
    lb = bm.new_lb(c)
    tcp, udp = h.listener_ports(2)
    got = make(c, lb, [{"loadBalancerPort": tcp, "protocol": "tcp", **FULL},
                       {"loadBalancerPort": udp, "protocol": "udp", "listenerName": "dns"}])
    assert sorted(got) == sorted([tcp, udp])
    for l in got.values():
        h.check_shape(l, bm.LISTENER_V2, "listenerSet[]")
        assert l["listenerId"].startswith("lbl-") and l["status"] == 1 and l["listenerType"] == "L4Listener"
    t = got[tcp]
    for k, v in FULL.items():
        assert t[k] == v, (k, t[k], v)
    assert t["protocol"] == "tcp"
    u = got[udp]
    # Defaults: checks off, 2 s / 5 s, 3 and 3, no persistence, no cap, no custom check.
    assert (u["protocol"], u["healthSwitch"], u["timeOut"], u["intervalTime"]) == ("udp", 0, 2, 5)
    assert (u["healthNum"], u["unhealthNum"], u["sessionExpire"], u["bandwidth"]) == (3, 3, 0, 0)
    assert (u["customHealthSwitch"], u["inputType"], u["lineSeparatorType"], u["toaFlag"]) == (0, "", 0, 0)
    one = c("DescribeBmListeners", {"loadBalancerId": lb, "listenerIds": [t["listenerId"]]})
    assert one["totalCount"] == 1 and one["listenerSet"][0]["listenerId"] == t["listenerId"]
    c.wait_task(c("DeleteBmLoadBalancers", {"loadBalancerId": lb})["requestId"])


def test_modify_each_field_and_delete(v2):
    lb = bm.new_lb(v2)
    port = h.listener_port()
    lid = make(v2, lb, [{"loadBalancerPort": port, "protocol": "tcp"}])[port]["listenerId"]
    for k, v in FULL.items():
        task = v2("ModifyBmListener", {"loadBalancerId": lb, "listenerId": lid, k: v})["requestId"]
        v2.wait_task(task)
        [l] = v2("DescribeBmListeners", {"loadBalancerId": lb, "listenerIds": [lid]})["listenerSet"]
        assert l[k] == v, (k, l)
    # Hex, then session persistence off again.
    hexa = {"inputType": "hexadecimal", "healthRequest": "68690a", "healthResponse": "613a6869"}
    v2("ModifyBmListener", {"loadBalancerId": lb, "listenerId": lid, **hexa, "sessionExpire": 0})
    [l] = v2("DescribeBmListeners", {"loadBalancerId": lb, "listenerIds": [lid]})["listenerSet"]
    assert {k: l[k] for k in hexa} == hexa and l["sessionExpire"] == 0
    task = v2("DeleteBmListeners", {"loadBalancerId": lb, "listenerIds": [lid]})["requestId"]
    v2.wait_task(task)
    assert v2("DescribeBmListeners", {"loadBalancerId": lb})["totalCount"] == 0
    e = v2.error("DeleteBmListeners", {"loadBalancerId": lb, "listenerIds": [lid]})
    assert (e.code, e.module, e.desc) == (5000, "-12023", "InvalidL4Listener.NotExist"), e
    v2("DeleteBmLoadBalancers", {"loadBalancerId": lb})


def test_listener_info_by_name_and_instance(v2):
    lb = bm.new_lb(v2)
    a, b = h.listener_ports(2)
    got = make(v2, lb, [{"loadBalancerPort": a, "protocol": "tcp", "listenerName": "web-front"},
                        {"loadBalancerPort": b, "protocol": "tcp", "listenerName": "db"}])
    ip = h.origin_ip()
    v2("BindBmL4ListenerVmIp", {"loadBalancerId": lb, "listenerId": got[b]["listenerId"],
                                "vmList": [{"port": 5432, "vmIp": ip, "weight": 10}]})
    info = v2("DescribeBmListenerInfo", {"loadBalancerId": lb, "searchKey": "front"})["listenerSet"]
    assert [l["listenerId"] for l in info] == [got[a]["listenerId"]]
    info = v2("DescribeBmListenerInfo", {"loadBalancerId": lb, "instanceIds": [ip]})["listenerSet"]
    assert [l["listenerId"] for l in info] == [got[b]["listenerId"]]
    assert len(v2("DescribeBmListenerInfo", {"loadBalancerId": lb})["listenerSet"]) == 2
    v2("DeleteBmLoadBalancers", {"loadBalancerId": lb})


def test_documented_refusals(v2):
    lb = bm.new_lb(v2)
    port, udp_port = h.listener_ports(2)
    make(v2, lb, [{"loadBalancerPort": port, "protocol": "tcp"}])
    e = v2.error("CreateBmListeners", {"loadBalancerId": lb, "listeners": [{"loadBalancerPort": port,
                                                                             "protocol": "tcp"}]})
    assert (e.code, e.module, e.desc) == (4000, "-12013", "InvalidParameter.VportIsDuplicate"), e
    # The same port with the other protocol is another listener.
    make(v2, lb, [{"loadBalancerPort": port, "protocol": "udp"}])
    item = {"loadBalancerPort": udp_port, "protocol": "tcp"}
    for bad in ({"protocol": "http"}, {"loadBalancerPort": 0}, {"loadBalancerPort": 65536},
                {"sessionExpire": 100}, {"sessionExpire": 3601}, {"timeOut": 61}, {"intervalTime": 4},
                {"healthNum": 1}, {"unhealthNum": 11}, {"bandwidth": 1001}, {"inputType": "binary"},
                {"lineSeparatorType": 4}, {"toaFlag": 2}, {"healthSwitch": 2}, {"colour": "red"},
                {"timeOut": 5, "intervalTime": 5},
                {"inputType": "hexadecimal", "healthRequest": "zz"},
                {"inputType": "hexadecimal", "healthRequest": "abc"}):
        e = v2.error("CreateBmListeners", {"loadBalancerId": lb, "listeners": [{**item, **bad}]})
        assert (e.code, e.module) == (4000, "9003"), (bad, e)
    e = v2.error("CreateBmListeners", {"loadBalancerId": lb, "listeners": [{**item, "timeOut": 5,
                                                                             "intervalTime": 5}]})
    assert "timeOut" in e.message, e
    e = v2.error("CreateBmListeners", {"loadBalancerId": lb, "listeners": [{**item, "inputType": "hexadecimal",
                                                                             "healthRequest": "zz"}]})
    assert "healthRequest" in e.message and "hex" in e.message, e
    e = v2.error("CreateBmListeners", {"loadBalancerId": lb, "listeners": [{**item, "protocol": "udp",
                                                                             "toaFlag": 1}]})
    assert "toaFlag" in e.message, e
    e = v2.error("CreateBmListeners", {"loadBalancerId": "lb-00000000", "listeners": [item]})
    assert (e.code, e.module) == (5000, "11041"), e
    e = v2.error("ModifyBmListener", {"loadBalancerId": lb, "listenerId": "lbl-00000000", "bandwidth": 1})
    assert (e.code, e.module) == (5000, "-12023"), e
    lid = bm.listener_ids(v2, lb)[port]
    e = v2.error("ModifyBmListener", {"loadBalancerId": lb, "listenerId": lid, "inputType": "hexadecimal",
                                      "healthRequest": "not hex"})
    assert e.module == "9003" and "healthRequest" in e.message, e
    v2("DeleteBmLoadBalancers", {"loadBalancerId": lb})


def test_at_most_50_listeners(v2):
    lb = bm.new_lb(v2)
    ports = h.listener_ports(26)
    items = [{"loadBalancerPort": p, "protocol": proto} for p in ports[:25] for proto in ("tcp", "udp")]
    make(v2, lb, items)
    assert v2("DescribeBmListeners", {"loadBalancerId": lb})["totalCount"] == 50
    e = v2.error("CreateBmListeners", {"loadBalancerId": lb, "listeners": [{"loadBalancerPort": ports[25],
                                                                             "protocol": "tcp"}]})
    assert (e.code, e.module, e.desc) == (5100, "12014", "InvalidResource.ListenerNumberOverLimit"), e
    v2("DeleteBmLoadBalancers", {"loadBalancerId": lb})


def test_v2_listeners_are_gaap_and_huawei_listeners(v2, bm_server, tls):
    lb = bm.new_lb(v2)
    port = h.listener_port()
    lid = make(v2, lb, [{"loadBalancerPort": port, "protocol": "tcp", "healthSwitch": 1, "intervalTime": 9,
                         "timeOut": 4, "listenerName": "seen"}])[port]["listenerId"]
    api = bm_server.gaap(ca=tls[2])
    [l] = api("DescribeTCPListeners", {"ProxyId": lb})["ListenerSet"]
    assert (l["ListenerId"], l["Port"], l["DelayLoop"], l["ConnectTimeout"]) == (lid, port, 9, 4)
    api("ModifyTCPListenerAttribute", {"ListenerId": lid, "ListenerName": "renamed"})
    [seen] = v2("DescribeBmListeners", {"loadBalancerId": lb})["listenerSet"]
    assert seen["listenerName"] == "renamed"
    v2("DeleteBmLoadBalancers", {"loadBalancerId": lb})
