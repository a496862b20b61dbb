"""The README walk-through, typed as a user would, with the official `tccli` (TC3 POST, endpoint with the
`http://` prefix, mandatory --region)."""
import pytest

import helpers as h


def test_readme_walkthrough(tccli, api, uniq):
    created = tccli("CreateProxy", ProjectId=0, ProxyName=uniq("px"), AccessRegion=h.REGION,
                    RealServerRegion=h.REGION, Bandwidth=10, Concurrent=2)
    proxy_id = created["InstanceId"]
    assert h.ID_RE["proxy"].match(proxy_id) and created["RequestId"]
    h.wait_task(api, created["RequestId"])
    h.wait_proxy_status(api, proxy_id)
    status = tccli("DescribeTaskStatus", TaskId=created["RequestId"])
    assert status["Status"] == "SUCCESS"

    port = h.listener_port()
    listeners = tccli("CreateTCPListeners", ProxyId=proxy_id, ListenerName=uniq("ln"), Ports=[port],
                      Scheduler="wrr", HealthCheck=1, DelayLoop=5, ConnectTimeout=2, RealServerType="IP")
    [listener_id] = listeners["ListenerIds"]
    h.wait_listener_ready(api, listener_id)

    ip1, ip2 = h.origin_ip(), h.origin_ip()
    rs1 = tccli("AddRealServers", ProjectId=0, RealServerIP=[ip1], RealServerName=uniq("rs"))["RealServerSet"]
    rs2 = tccli("AddRealServers", ProjectId=0, RealServerIP=[ip2], RealServerName=uniq("rs"))["RealServerSet"]
    (id1,), (id2,) = [r["RealServerId"] for r in rs1], [r["RealServerId"] for r in rs2]

    tccli("BindListenerRealServers", ListenerId=listener_id, RealServerBindSet=[
        {"RealServerId": id1, "RealServerIP": ip1, "RealServerPort": 8080, "RealServerWeight": 2},
        {"RealServerId": id2, "RealServerIP": ip2, "RealServerPort": 8080, "RealServerWeight": 1}])
    h.wait_listener_ready(api, listener_id)

    bound = tccli("DescribeListenerRealServers", ListenerId=listener_id)
    assert bound["BindRealServerTotalCount"] == 2
    assert {b["RealServerId"]: b["RealServerWeight"] for b in bound["BindRealServerSet"]} == {id1: 2, id2: 1}
    assert isinstance(bound["RealServerSet"], list)

    listed = tccli("DescribeTCPListeners", ProxyId=proxy_id)
    assert listed["TotalCount"] == 1
    [l] = listed["ListenerSet"]
    assert (l["ListenerId"], l["Port"], l["Protocol"], l["ListenerStatus"]) == (listener_id, port, "TCP", 0)
    assert sorted(r["RealServerId"] for r in l["RealServerSet"]) == sorted([id1, id2])


def test_tccli_error_output(tccli):
    with pytest.raises(tccli.error_class) as info:
        tccli("DescribeProxyDetail", ProxyId="link-00000000")
    out = info.value.result.stdout + info.value.result.stderr
    assert "ResourceNotFound" in out, out
    assert "TencentCloudSDKException" in out, out


def test_tccli_regions(tccli):
    resp = tccli("DescribeAccessRegions")
    assert resp["TotalCount"] == 1
    assert resp["AccessRegionSet"][0]["RegionId"] == h.REGION
