"""GAAP TCP/UDP listeners: CreateTCPListeners, CreateUDPListeners, DescribeTCPListeners,
DescribeUDPListeners, ModifyTCPListenerAttribute, ModifyUDPListenerAttribute, DeleteListeners."""
import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

import helpers as h


def _assert_listener_missing(err: TencentCloudSDKException, listener_id: str) -> None:
    """What terraform treats as "gone": ResourceNotFound, or InvalidParameter 'ListenerId(<id>) Not Exist.'"""
    if err.code == "InvalidParameter":
        assert err.message == f"ListenerId({listener_id}) Not Exist.", err.message
    else:
        h.assert_code(err, "ResourceNotFound")


def test_create_tcp_listeners_one_per_port(api, proxy, uniq):
    name = uniq("ln")
    ports = h.listener_ports(3)
    ids = h.create_tcp_listeners(api, proxy, ports, name, Scheduler="wrr", HealthCheck=1, DelayLoop=10,
                                 ConnectTimeout=4, HealthyThreshold=2, UnhealthyThreshold=5, ClientIPMethod=1)
    assert len(set(ids)) == 3
    resp = api("DescribeTCPListeners", {"ProxyId": proxy})
    assert resp["TotalCount"] == 3
    by_port = {l["Port"]: l for l in resp["ListenerSet"]}
    assert sorted(by_port) == sorted(ports)
    assert sorted(l["ListenerId"] for l in resp["ListenerSet"]) == sorted(ids)
    for l in resp["ListenerSet"]:
        h.check_shape(l, h.TCP_LISTENER, "ListenerSet[]")
        assert l["Protocol"] == "TCP" and l["ListenerName"] == name and l["ProxyId"] == proxy
        assert l["GroupId"] in (None, "")
        assert (l["Scheduler"], l["HealthCheck"], l["DelayLoop"], l["ConnectTimeout"]) == ("wrr", 1, 10, 4)
        assert (l["HealthyThreshold"], l["UnhealthyThreshold"], l["ClientIPMethod"]) == (2, 5, 1)
        assert l["RealServerType"] == "IP" and l["FailoverSwitch"] == 0
        assert l["RealServerSet"] == []
        assert l["ListenerStatus"] == 0


def test_create_tcp_listener_numbers_as_strings(api, proxy, uniq):
    """The official example sends every number as a string."""
    port = h.listener_port()
    resp = api("CreateTCPListeners", {"RealServerType": "IP", "ConnectTimeout": "2", "ProxyId": proxy,
                                      "HealthCheck": "1", "ListenerName": uniq("ln"), "Scheduler": "rr",
                                      "Ports": [str(port)], "DelayLoop": "5"})
    [lid] = resp["ListenerIds"]
    l = h.wait_listener_ready(api, lid)
    assert (l["Port"], l["ConnectTimeout"], l["DelayLoop"], l["HealthCheck"]) == (port, 2, 5, 1)


def test_describe_tcp_listeners_filters(api, proxy, uniq):
    name_a, name_b = uniq("alpha"), uniq("beta")
    pa = h.listener_ports(2)
    pb = h.listener_ports(1)
    ids_a = h.create_tcp_listeners(api, proxy, pa, name_a)
    [id_b] = h.create_tcp_listeners(api, proxy, pb, name_b)

    one = api("DescribeTCPListeners", {"ListenerId": id_b})
    assert one["TotalCount"] == 1 and one["ListenerSet"][0]["ListenerId"] == id_b
    # ListenerId together with its proxy: ownership checked, still found.
    assert api("DescribeTCPListeners", {"ProxyId": proxy, "ListenerId": id_b})["TotalCount"] == 1

    by_port = api("DescribeTCPListeners", {"ProxyId": proxy, "Port": pa[1]})
    assert [l["ListenerId"] for l in by_port["ListenerSet"]] == [ids_a[1]]

    by_name = api("DescribeTCPListeners", {"ProxyId": proxy, "ListenerName": name_a})
    assert by_name["TotalCount"] == 2
    assert sorted(l["ListenerId"] for l in by_name["ListenerSet"]) == sorted(ids_a)

    # SearchValue: fuzzy on the name or the port.
    fuzzy = api("DescribeTCPListeners", {"ProxyId": proxy, "SearchValue": "beta"})
    assert [l["ListenerId"] for l in fuzzy["ListenerSet"]] == [id_b]
    fuzzy_port = api("DescribeTCPListeners", {"ProxyId": proxy, "SearchValue": str(pb[0])})
    assert id_b in [l["ListenerId"] for l in fuzzy_port["ListenerSet"]]

    seen = []
    for offset in (0, 2):
        page = api("DescribeTCPListeners", {"ProxyId": proxy, "Offset": offset, "Limit": 2})
        assert page["TotalCount"] == 3
        seen += [l["ListenerId"] for l in page["ListenerSet"]]
    assert sorted(seen) == sorted(ids_a + [id_b])

    none = api("DescribeTCPListeners", {"ProxyId": proxy, "Port": h.listener_port()})
    assert none["TotalCount"] == 0 and none["ListenerSet"] == []


def test_describe_tcp_listeners_errors(api, proxy):
    _assert_listener_missing(api.error("DescribeTCPListeners", {"ListenerId": "listener-00000000"}),
                             "listener-00000000")
    _assert_listener_missing(api.error("DescribeUDPListeners", {"ListenerId": "listener-00000000"}),
                             "listener-00000000")
    # Documented: at least one of ProxyId / GroupId / ListenerId.
    h.assert_code(api.error("DescribeTCPListeners", {"Port": 80}), "MissingParameter", "InvalidParameter",
                  prefix=True)


def test_duplicate_port_refused_per_protocol(api, proxy, uniq):
    port = h.listener_port()
    h.create_tcp_listeners(api, proxy, [port], uniq("ln"))
    h.assert_code(api.error("CreateTCPListeners", {"ListenerName": uniq("ln"), "Ports": [port], "Scheduler": "rr",
                                                   "HealthCheck": 0, "RealServerType": "IP", "ProxyId": proxy}),
                  "InvalidParameterValue.DuplicatedListenerPort")
    # Ports are unique per protocol: the same port as UDP is fine.
    h.create_udp_listeners(api, proxy, [port], uniq("ln"))
    h.assert_code(api.error("CreateUDPListeners", {"ListenerName": uniq("ln"), "Ports": [port], "Scheduler": "rr",
                                                   "RealServerType": "IP", "ProxyId": proxy}),
                  "InvalidParameterValue.DuplicatedListenerPort")
    # A duplicate inside one request, too (GUESS: any InvalidParameterValue[.*] code).
    p2 = h.listener_port()
    h.assert_invalid_value(api.error("CreateTCPListeners", {"ListenerName": uniq("ln"), "Ports": [p2, p2],
                                                            "Scheduler": "rr", "HealthCheck": 0,
                                                            "RealServerType": "IP", "ProxyId": proxy}))
    assert api("DescribeTCPListeners", {"ProxyId": proxy, "Port": p2})["TotalCount"] == 0


@pytest.mark.parametrize("bad", [
    {"DelayLoop": 3},
    {"DelayLoop": 301},
    {"DelayLoop": 5, "ConnectTimeout": 5},      # ConnectTimeout must be < DelayLoop
    {"DelayLoop": 10, "ConnectTimeout": 1},
    {"DelayLoop": 100, "ConnectTimeout": 61},
    {"HealthyThreshold": 0},
    {"UnhealthyThreshold": 11},
    {"Scheduler": "random"},
    {"RealServerType": "VM"},
    {"ClientIPMethod": 7},
    {"FailoverSwitch": 2},
    {"HealthCheck": 2},
    {"Ports": [0]},
    {"Ports": [65536]},
], ids=lambda b: ",".join(f"{k}={v}" for k, v in b.items()))
def test_create_tcp_listener_bad_values(api, proxy, uniq, bad):
    params = {"ListenerName": uniq("ln"), "Ports": [h.listener_port()], "Scheduler": "rr", "HealthCheck": 1,
              "RealServerType": "IP", "ProxyId": proxy, **bad}
    h.assert_invalid_value(api.error("CreateTCPListeners", params))
    assert api("DescribeTCPListeners", {"ProxyId": proxy})["TotalCount"] == 0


def test_create_tcp_listener_conflicts(api, proxy, uniq):
    base = {"ListenerName": uniq("ln"), "Ports": [h.listener_port()], "Scheduler": "rr", "HealthCheck": 0,
            "RealServerType": "IP"}
    # Failover is not allowed for DOMAIN origins.
    h.assert_code(api.error("CreateTCPListeners", {**base, "ProxyId": proxy, "RealServerType": "DOMAIN",
                                                   "FailoverSwitch": 1}), "InvalidParameter", prefix=True)
    # Exactly one of ProxyId / GroupId.
    group = h.create_group(api, uniq("lg"))
    h.assert_code(api.error("CreateTCPListeners", {**base, "ProxyId": proxy, "GroupId": group}),
                  "InvalidParameter", prefix=True)
    h.assert_code(api.error("CreateTCPListeners", base), "MissingParameter", "InvalidParameter", prefix=True)
    h.assert_code(api.error("CreateTCPListeners", {**base, "ProxyId": "link-00000000"}), "ResourceNotFound")
    missing = dict(base, ProxyId=proxy)
    del missing["Scheduler"]
    err = api.error("CreateTCPListeners", missing)
    h.assert_code(err, "MissingParameter")
    assert "Scheduler" in err.message


def test_create_udp_listeners_port_check(api, proxy, uniq):
    name = uniq("ln")
    ports = h.listener_ports(2)
    check_port = h.listener_port()
    ids = h.create_udp_listeners(api, proxy, ports, name, HealthCheck=1, CheckType="PORT", CheckPort=check_port,
                                 ContextType="TEXT", SendContext="ping", RecvContext="pong", DelayLoop=5,
                                 ConnectTimeout=2, HealthyThreshold=3, UnhealthyThreshold=3, Scheduler="lc")
    resp = api("DescribeUDPListeners", {"ProxyId": proxy})
    assert resp["TotalCount"] == 2
    assert sorted(l["ListenerId"] for l in resp["ListenerSet"]) == sorted(ids)
    assert sorted(l["Port"] for l in resp["ListenerSet"]) == sorted(ports)
    for l in resp["ListenerSet"]:
        h.check_shape(l, h.UDP_LISTENER, "ListenerSet[]")
        assert l["Protocol"] == "UDP" and l["ListenerName"] == name and l["Scheduler"] == "lc"
        assert (l["HealthCheck"], l["CheckType"], l["CheckPort"], l["ContextType"]) == (1, "PORT", check_port, "TEXT")
        assert (l["SendContext"], l["RecvContext"]) == ("ping", "pong")
        assert l["RealServerSet"] == [] and l["ListenerStatus"] == 0


def test_create_udp_listener_ping_check(api, proxy, uniq):
    [lid] = h.create_udp_listeners(api, proxy, [h.listener_port()], uniq("ln"), HealthCheck=1, CheckType="PING")
    l = h.describe_listener(api, lid, "UDP")
    assert (l["HealthCheck"], l["CheckType"]) == (1, "PING")


def test_create_udp_listener_bad_values(api, proxy, uniq):
    base = {"ListenerName": uniq("ln"), "Ports": [h.listener_port()], "Scheduler": "rr", "RealServerType": "IP",
            "ProxyId": proxy, "HealthCheck": 1}
    h.assert_invalid_value(api.error("CreateUDPListeners", {**base, "CheckType": "HTTP"}))
    h.assert_invalid_value(api.error("CreateUDPListeners", {**base, "CheckType": "PORT", "CheckPort": 1,
                                                            "ContextType": "BINARY", "SendContext": "a",
                                                            "RecvContext": "b"}))
    h.assert_invalid_value(api.error("CreateUDPListeners", {**base, "DelayLoop": 4}))
    assert api("DescribeUDPListeners", {"ProxyId": proxy})["TotalCount"] == 0


def test_describe_udp_listeners_filters(api, proxy, uniq):
    name = uniq("udp")
    ports = h.listener_ports(3)
    ids = h.create_udp_listeners(api, proxy, ports, name)
    assert api("DescribeUDPListeners", {"ListenerId": ids[0]})["ListenerSet"][0]["Port"] == ports[0]
    assert [l["ListenerId"] for l in api("DescribeUDPListeners",
                                         {"ProxyId": proxy, "Port": ports[2]})["ListenerSet"]] == [ids[2]]
    assert api("DescribeUDPListeners", {"ProxyId": proxy, "ListenerName": name})["TotalCount"] == 3
    assert api("DescribeUDPListeners", {"ProxyId": proxy, "SearchValue": name[:8]})["TotalCount"] == 3
    page = api("DescribeUDPListeners", {"ProxyId": proxy, "Offset": 1, "Limit": 1})
    assert page["TotalCount"] == 3 and len(page["ListenerSet"]) == 1
    # TCP and UDP listings are separate.
    assert api("DescribeTCPListeners", {"ProxyId": proxy})["TotalCount"] == 0


def test_modify_tcp_listener_attribute(api, proxy, uniq):
    [lid] = h.create_tcp_listeners(api, proxy, [h.listener_port()], uniq("ln"), HealthCheck=1, DelayLoop=5,
                                   ConnectTimeout=2)
    new = uniq("renamed")
    api("ModifyTCPListenerAttribute", {"ListenerId": lid, "ProxyId": proxy, "ListenerName": new, "Scheduler": "lc",
                                       "DelayLoop": 30, "ConnectTimeout": 10, "HealthyThreshold": 4,
                                       "UnhealthyThreshold": 6, "FailoverSwitch": 1})
    l = h.wait_listener_ready(api, lid)
    assert (l["ListenerName"], l["Scheduler"], l["DelayLoop"], l["ConnectTimeout"]) == (new, "lc", 30, 10)
    assert (l["HealthyThreshold"], l["UnhealthyThreshold"], l["FailoverSwitch"]) == (4, 6, 1)
    # Only what is given changes.
    api("ModifyTCPListenerAttribute", {"ListenerId": lid, "HealthCheck": 0})
    l = h.wait_listener_ready(api, lid)
    assert (l["HealthCheck"], l["ListenerName"], l["DelayLoop"]) == (0, new, 30)
    # ConnectTimeout must stay below the (stored) DelayLoop.
    h.assert_invalid_value(api.error("ModifyTCPListenerAttribute", {"ListenerId": lid, "ConnectTimeout": 30}))
    h.assert_invalid_value(api.error("ModifyTCPListenerAttribute", {"ListenerId": lid, "Scheduler": "random"}))
    assert h.describe_listener(api, lid)["ConnectTimeout"] == 10
    err = api.error("ModifyTCPListenerAttribute", {"ListenerId": "listener-00000000", "ListenerName": new})
    h.assert_code(err, "ResourceNotFound", "InvalidParameter", prefix=True)


def test_modify_udp_listener_attribute(api, proxy, uniq):
    [lid] = h.create_udp_listeners(api, proxy, [h.listener_port()], uniq("ln"), HealthCheck=1, CheckType="PING")
    new = uniq("renamed")
    check_port = h.listener_port()
    api("ModifyUDPListenerAttribute", {"ListenerId": lid, "ProxyId": proxy, "ListenerName": new,
                                       "Scheduler": "wrr", "CheckType": "PORT", "CheckPort": check_port,
                                       "ContextType": "TEXT", "SendContext": "hello", "RecvContext": "world",
                                       "DelayLoop": 20, "ConnectTimeout": 3})
    l = h.wait_listener_ready(api, lid, "UDP")
    assert (l["ListenerName"], l["Scheduler"], l["CheckType"], l["CheckPort"]) == (new, "wrr", "PORT", check_port)
    assert (l["SendContext"], l["RecvContext"], l["DelayLoop"], l["ConnectTimeout"]) == ("hello", "world", 20, 3)
    h.assert_invalid_value(api.error("ModifyUDPListenerAttribute", {"ListenerId": lid, "UnhealthyThreshold": 11}))


def test_delete_listeners(api, proxy, uniq):
    ids = h.create_tcp_listeners(api, proxy, h.listener_ports(2), uniq("ln"))
    [udp] = h.create_udp_listeners(api, proxy, [h.listener_port()], uniq("ln"))
    ghost = "listener-00000000"
    resp = api("DeleteListeners", {"ProxyId": proxy, "ListenerIds": [ids[0], udp, ghost], "Force": 0})
    assert sorted(resp["OperationSucceedListenerSet"]) == sorted([ids[0], udp])
    assert resp["InvalidStatusListenerSet"] == [ghost]
    assert resp["OperationFailedListenerSet"] == []
    for lid, proto in ((ids[0], "TCP"), (udp, "UDP")):
        _assert_listener_missing(api.error(f"Describe{proto}Listeners", {"ListenerId": lid}), lid)
    assert [l["ListenerId"] for l in api("DescribeTCPListeners", {"ProxyId": proxy})["ListenerSet"]] == [ids[1]]
    h.assert_code(api.error("DeleteListeners", {"ProxyId": proxy, "ListenerIds": [ids[1]]}), "MissingParameter")


def test_delete_listener_of_another_proxy_is_invalid(api, proxy, uniq):
    other = h.create_proxy(api, uniq("px"))
    [lid] = h.create_tcp_listeners(api, other, [h.listener_port()], uniq("ln"))
    resp = api("DeleteListeners", {"ProxyId": proxy, "ListenerIds": [lid], "Force": 1})
    assert resp["InvalidStatusListenerSet"] == [lid] and resp["OperationSucceedListenerSet"] == []
    assert h.describe_listener(api, lid)["ListenerId"] == lid


def test_delete_bound_listener_needs_force(api, proxy, uniq):
    [lid] = h.create_tcp_listeners(api, proxy, [h.listener_port()], uniq("ln"))
    ip = h.origin_ip()
    rs = h.add_real_servers(api, uniq("rs"), [ip])[ip]
    h.bind(api, lid, [h.bind_item(rs, ip, 80)])
    try:
        resp = api("DeleteListeners", {"ProxyId": proxy, "ListenerIds": [lid], "Force": 0})
    except TencentCloudSDKException as e:
        h.assert_code(e, "FailedOperation.RealServerAlreadyBound")
    else:
        assert resp["OperationFailedListenerSet"] == [lid] and resp["OperationSucceedListenerSet"] == []
    assert h.describe_listener(api, lid)["ListenerId"] == lid
    resp = api("DeleteListeners", {"ProxyId": proxy, "ListenerIds": [lid], "Force": 1})
    assert resp["OperationSucceedListenerSet"] == [lid]
    _assert_listener_missing(api.error("DescribeTCPListeners", {"ListenerId": lid}), lid)
    # The origin is free again once its only listener is gone.
    status = api("DescribeRealServersStatus", {"RealServerIds": [rs]})["RealServerStatusSet"]
    assert status[0]["BindStatus"] == 0
