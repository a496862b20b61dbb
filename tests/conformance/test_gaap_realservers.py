"""GAAP origins: AddRealServers, DescribeRealServers, ModifyRealServerName, RemoveRealServers,
BindListenerRealServers, DescribeListenerRealServers, DescribeRealServersStatus."""
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

import helpers as h


def _describe(api, **params):
    return api("DescribeRealServers", {"ProjectId": -1, **params})


def _by_name(api, name, **params):
    return _describe(api, Filters=[{"Name": "RealServerName", "Values": [name]}], **params)


def test_add_real_servers(api, uniq):
    name, t = uniq("rs"), h.tag(uniq("tag"))
    ips = [h.origin_ip(), h.origin_ip()]
    added = h.add_real_servers(api, name, ips, tags=[t])
    assert len(set(added.values())) == 2
    resp = _by_name(api, name)
    assert resp["TotalCount"] == 2
    for rs in resp["RealServerSet"]:
        h.check_shape(rs, h.BIND_REAL_SERVER_INFO, "RealServerSet[]")
        assert rs["RealServerName"] == name and rs["ProjectId"] == 0
        assert added[rs["RealServerIP"]] == rs["RealServerId"]
        assert t in rs["TagSet"]


def test_add_duplicate_real_server(api, uniq):
    ip = h.origin_ip()
    h.add_real_servers(api, uniq("rs"), [ip])
    h.assert_code(api.error("AddRealServers", {"ProjectId": 0, "RealServerIP": [ip], "RealServerName": uniq("rs")}),
                  "InvalidParameterValue.DuplicateRS")
    assert _describe(api, Filters=[{"Name": "RealServerIP", "Values": [ip]}])["TotalCount"] == 1


def test_add_real_servers_errors(api, uniq):
    h.assert_code(api.error("AddRealServers", {"ProjectId": 0, "RealServerName": uniq("rs")}), "MissingParameter")
    h.assert_code(api.error("AddRealServers", {"ProjectId": 0, "RealServerIP": [h.origin_ip()]}),
                  "MissingParameter")


def test_describe_real_servers_filters(api, uniq):
    name, other, t = uniq("rs"), uniq("rs"), h.tag(uniq("tag"))
    ips = [h.origin_ip() for _ in range(3)]
    mine = h.add_real_servers(api, name, ips, tags=[t])
    h.add_real_servers(api, other, [h.origin_ip()])

    by_ip = _describe(api, Filters=[{"Name": "RealServerIP", "Values": [ips[1]]}])
    assert [r["RealServerId"] for r in by_ip["RealServerSet"]] == [mine[ips[1]]]
    two_ips = _describe(api, Filters=[{"Name": "RealServerIP", "Values": [ips[0], ips[2]]}])
    assert sorted(r["RealServerId"] for r in two_ips["RealServerSet"]) == sorted([mine[ips[0]], mine[ips[2]]])
    assert _by_name(api, name)["TotalCount"] == 3
    by_tag = _describe(api, TagSet=[t])
    assert sorted(r["RealServerId"] for r in by_tag["RealServerSet"]) == sorted(mine.values())
    search = _describe(api, SearchValue=ips[2])
    assert mine[ips[2]] in [r["RealServerId"] for r in search["RealServerSet"]]
    assert _describe(api, ProjectId=0, Filters=[{"Name": "RealServerName", "Values": [name]}])["TotalCount"] == 3

    seen = []
    for offset in (0, 2):
        page = _by_name(api, name, Offset=offset, Limit=2)
        assert page["TotalCount"] == 3
        seen += [r["RealServerId"] for r in page["RealServerSet"]]
    assert sorted(seen) == sorted(mine.values())
    assert _by_name(api, name, Limit=50)["TotalCount"] == 3
    # Documented maximum: 50.
    h.assert_invalid_value(api.error("DescribeRealServers", {"ProjectId": -1, "Limit": 51}))
    nothing = _by_name(api, uniq("nobody"))
    assert nothing["TotalCount"] == 0 and nothing["RealServerSet"] == []
    h.assert_code(api.error("DescribeRealServers", {}), "MissingParameter")


def test_modify_real_server_name(api, uniq):
    ip = h.origin_ip()
    rs = h.add_real_servers(api, uniq("rs"), [ip])[ip]
    new = uniq("renamed")
    api("ModifyRealServerName", {"RealServerId": rs, "RealServerName": new})
    assert [r["RealServerId"] for r in _by_name(api, new)["RealServerSet"]] == [rs]
    h.assert_code(api.error("ModifyRealServerName", {"RealServerId": "rs-00000000", "RealServerName": new}),
                  "ResourceNotFound", "InvalidParameter", prefix=True)


def test_remove_real_servers(api, proxy, uniq):
    name = uniq("rs")
    ips = [h.origin_ip(), h.origin_ip()]
    rs = h.add_real_servers(api, name, ips)
    [lid] = h.create_tcp_listeners(api, proxy, [h.listener_port()], uniq("ln"))
    h.bind(api, lid, [h.bind_item(rs[ips[0]], ips[0], 80)])
    h.assert_code(api.error("RemoveRealServers", {"RealServerIds": [rs[ips[0]]]}),
                  "FailedOperation.RealServerAlreadyBound")
    api("RemoveRealServers", {"RealServerIds": [rs[ips[1]]]})
    assert [r["RealServerId"] for r in _by_name(api, name)["RealServerSet"]] == [rs[ips[0]]]
    # Unbind (an empty set replaces everything; GUESS: documented for BindRuleRealServers), then it can go.
    h.bind(api, lid, [])
    api("RemoveRealServers", {"RealServerIds": [rs[ips[0]]]})
    assert _by_name(api, name)["TotalCount"] == 0
    # The address is free for a new origin afterwards.
    h.add_real_servers(api, name, [ips[0]])


def test_bind_replaces_the_whole_set(api, proxy, uniq):
    [lid] = h.create_tcp_listeners(api, proxy, [h.listener_port()], uniq("ln"), Scheduler="wrr")
    ips = [h.origin_ip() for _ in range(3)]
    rs = h.add_real_servers(api, uniq("rs"), ips)
    a, b, c = (rs[ip] for ip in ips)

    h.bind(api, lid, [h.bind_item(a, ips[0], 8001, weight=5), h.bind_item(b, ips[1], 8002, weight=10)])
    got = h.bound_set(api, lid)
    assert sorted(got) == sorted([a, b])
    assert (got[a]["RealServerWeight"], got[a]["RealServerPort"], got[a]["RealServerIP"]) == (5, 8001, ips[0])
    assert (got[b]["RealServerWeight"], got[b]["RealServerPort"]) == (10, 8002)

    h.bind(api, lid, [h.bind_item(b, ips[1], 9002, weight=3), h.bind_item(c, ips[2], 9003)])
    got = h.bound_set(api, lid)
    assert sorted(got) == sorted([b, c])
    assert (got[b]["RealServerWeight"], got[b]["RealServerPort"]) == (3, 9002)
    assert got[c]["RealServerWeight"] == 1  # documented default
    # The listener's own view agrees.
    listed = {r["RealServerId"]: r for r in h.describe_listener(api, lid)["RealServerSet"]}
    assert sorted(listed) == sorted([b, c]) and listed[b]["RealServerPort"] == 9002


def test_bind_failover_roles(api, proxy, uniq):
    [lid] = h.create_tcp_listeners(api, proxy, [h.listener_port()], uniq("ln"), FailoverSwitch=1)
    ips = [h.origin_ip(), h.origin_ip()]
    rs = h.add_real_servers(api, uniq("rs"), ips)
    h.bind(api, lid, [h.bind_item(rs[ips[0]], ips[0], 80, role="master"),
                      h.bind_item(rs[ips[1]], ips[1], 80, role="slave")])
    got = h.bound_set(api, lid)
    assert got[rs[ips[0]]]["RealServerFailoverRole"] == "master"
    assert got[rs[ips[1]]]["RealServerFailoverRole"] == "slave"
    h.assert_invalid_value(api.error("BindListenerRealServers", {"ListenerId": lid, "RealServerBindSet": [
        h.bind_item(rs[ips[0]], ips[0], 80, role="captain")]}))


def test_bind_errors_leave_bindings_unchanged(api, proxy, uniq):
    [lid] = h.create_tcp_listeners(api, proxy, [h.listener_port()], uniq("ln"))
    ips = [h.origin_ip(), h.origin_ip()]
    rs = h.add_real_servers(api, uniq("rs"), ips)
    h.bind(api, lid, [h.bind_item(rs[ips[0]], ips[0], 80)])
    # RealServerIP must be the origin's own address. GUESS: any InvalidParameter[Value][.*] code.
    err = api.error("BindListenerRealServers", {"ListenerId": lid,
                                                "RealServerBindSet": [h.bind_item(rs[ips[1]], ips[0], 80)]})
    h.assert_code(err, "InvalidParameter", prefix=True)
    # Unknown origin.
    err = api.error("BindListenerRealServers", {"ListenerId": lid, "RealServerBindSet": [
        h.bind_item("rs-00000000", h.origin_ip(), 80)]})
    h.assert_code(err, "ResourceNotFound", "InvalidParameter", prefix=True)
    # Port and weight ranges.
    h.assert_invalid_value(api.error("BindListenerRealServers", {"ListenerId": lid, "RealServerBindSet": [
        h.bind_item(rs[ips[1]], ips[1], 70000)]}))
    # Unknown listener.
    err = api.error("BindListenerRealServers", {"ListenerId": "listener-00000000",
                                                "RealServerBindSet": [h.bind_item(rs[ips[1]], ips[1], 80)]})
    h.assert_code(err, "ResourceNotFound", "InvalidParameter", prefix=True)
    assert sorted(h.bound_set(api, lid)) == [rs[ips[0]]]


def test_describe_listener_real_servers_shape(api, proxy, uniq):
    """Seed 000: TotalCount, RealServerSet, BindRealServerTotalCount, BindRealServerSet."""
    [lid] = h.create_tcp_listeners(api, proxy, [h.listener_port()], uniq("ln"))
    empty = api("DescribeListenerRealServers", {"ListenerId": lid})
    assert empty["BindRealServerSet"] == [] and empty["BindRealServerTotalCount"] == 0
    assert isinstance(empty["RealServerSet"], list)

    ips = [h.origin_ip(), h.origin_ip()]
    name = uniq("rs")
    rs = h.add_real_servers(api, name, ips)
    h.bind(api, lid, [h.bind_item(rs[ips[0]], ips[0], 443, weight=7)])
    resp = api("DescribeListenerRealServers", {"ListenerId": lid})
    for field, kind in (("TotalCount", int), ("RealServerSet", list), ("BindRealServerTotalCount", int),
                        ("BindRealServerSet", list), ("RequestId", str)):
        assert isinstance(resp[field], kind) and not isinstance(resp[field], bool), (field, resp)
    assert resp["TotalCount"] >= 1  # candidates; seed 000's own example does not match its list length
    assert resp["BindRealServerTotalCount"] == len(resp["BindRealServerSet"]) == 1
    for r in resp["RealServerSet"]:
        h.check_shape(r, h.REAL_SERVER, "RealServerSet[]")
    # The bindable candidates include this account's unbound origin of the right type.
    assert rs[ips[1]] in [r["RealServerId"] for r in resp["RealServerSet"]]
    [b] = resp["BindRealServerSet"]
    h.check_shape(b, h.BIND_REAL_SERVER, "BindRealServerSet[]")
    assert (b["RealServerId"], b["RealServerIP"], b["RealServerPort"], b["RealServerWeight"]) == \
        (rs[ips[0]], ips[0], 443, 7)
    # Health check is off: always 0 (normal); no failover: empty role.
    assert b["RealServerStatus"] == 0
    assert b["RealServerFailoverRole"] == ""
    assert b["DownIPList"] == []
    h.assert_code(api.error("DescribeListenerRealServers", {"ListenerId": "listener-00000000"}),
                  "ResourceNotFound", "InvalidParameter", prefix=True)


def test_describe_real_servers_status(api, proxy, uniq):
    [lid] = h.create_tcp_listeners(api, proxy, [h.listener_port()], uniq("ln"))
    ips = [h.origin_ip(), h.origin_ip()]
    rs = h.add_real_servers(api, uniq("rs"), ips)
    bound, free = rs[ips[0]], rs[ips[1]]
    h.bind(api, lid, [h.bind_item(bound, ips[0], 80)])
    resp = api("DescribeRealServersStatus", {"RealServerIds": [bound, free]})
    assert resp["TotalCount"] == 2
    status = {s["RealServerId"]: s for s in resp["RealServerStatusSet"]}
    for s in status.values():
        h.check_shape(s, h.REAL_SERVER_STATUS, "RealServerStatusSet[]")
    assert (status[bound]["BindStatus"], status[bound]["ProxyId"]) == (1, proxy)
    assert (status[free]["BindStatus"], status[free]["ProxyId"]) == (0, "")
    h.assert_code(api.error("DescribeRealServersStatus", {}), "MissingParameter")


def test_udp_listener_binding(api, proxy, uniq):
    [lid] = h.create_udp_listeners(api, proxy, [h.listener_port()], uniq("ln"))
    ip = h.origin_ip()
    rs = h.add_real_servers(api, uniq("rs"), [ip])[ip]
    h.bind(api, lid, [h.bind_item(rs, ip, 5353)], protocol="UDP")
    [b] = h.describe_listener(api, lid, "UDP")["RealServerSet"]
    h.check_shape(b, h.BIND_REAL_SERVER)
    assert (b["RealServerId"], b["RealServerPort"]) == (rs, 5353)
    try:
        api("RemoveRealServers", {"RealServerIds": [rs]})
    except TencentCloudSDKException as e:
        h.assert_code(e, "FailedOperation.RealServerAlreadyBound")
    else:
        raise AssertionError("a bound origin was removed")
