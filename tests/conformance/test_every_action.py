"""Every GAAP action of the L4 surface, in one lifecycle, through each official client:
the typed `tencentcloud-sdk-python` models (`GaapClient.<Action>(models.<Action>Request)`), and
`tccli gaap <Action>` (a subprocess per call, as a user types it). The raw-JSON suites check every
field and error; this module proves each client completes each action and parses the answer."""
from __future__ import annotations

import datetime as dt
import json

import pytest

import helpers as h

ACTIONS = [
    "DescribeAccessRegions", "DescribeDestRegions", "CheckProxyCreate", "CreateProxyGroup",
    "DescribeProxyGroupList", "DescribeProxyGroupDetails", "ModifyProxyGroupAttribute", "CloseProxyGroup",
    "OpenProxyGroup", "CreateProxy", "DescribeTaskStatus", "DescribeProxies", "DescribeProxyDetail",
    "DescribeProxiesStatus", "ModifyProxiesAttribute", "ModifyProxyConfiguration", "CreateTCPListeners",
    "CreateUDPListeners", "DescribeTCPListeners", "DescribeUDPListeners", "ModifyTCPListenerAttribute",
    "ModifyUDPListenerAttribute", "AddRealServers", "DescribeRealServers", "ModifyRealServerName",
    "BindListenerRealServers", "DescribeListenerRealServers", "DescribeRealServersStatus",
    "DescribeResourcesByTag", "DescribeListenerStatistics", "DescribeProxyStatistics",
    "DescribeRealServerStatistics", "RemoveRealServers", "DeleteListeners", "CloseProxies", "OpenProxies",
    "DestroyProxies", "DeleteProxyGroup",
]


@pytest.fixture(scope="module")
def typed(server):
    from tencentcloud.common import credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.gaap.v20180529 import gaap_client, models

    client = gaap_client.GaapClient(credential.Credential(*server.root_key), "",
                                    ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=server.host)))

    def call(action: str, **params) -> dict:
        req = getattr(models, f"{action}Request")()
        req.from_json_string(json.dumps(params))
        resp = getattr(client, action)(req)
        assert resp.RequestId, action
        return json.loads(resp.to_json_string())

    return call


def _lifecycle(call, used: list[str], tag_value: str, ip_base: str, ports: list[int]) -> None:
    """Run every action once; `used` collects the actions called, in order."""
    def c(action, **params):
        used.append(action)
        return call(action, **params)

    region = c("DescribeAccessRegions")["AccessRegionSet"][0]["RegionId"]
    assert c("DescribeDestRegions")["DestRegionSet"][0]["RegionId"] == region
    assert c("CheckProxyCreate", AccessRegion=region, RealServerRegion=region, Bandwidth=10, Concurrent=2)["CheckFlag"] == 1
    group = c("CreateProxyGroup", ProjectId=0, GroupName="every-g", RealServerRegion=region)["GroupId"]
    assert group in [g["GroupId"] for g in c("DescribeProxyGroupList", Offset=0, Limit=100, ProjectId=-1)["ProxyGroupList"]]
    assert c("DescribeProxyGroupDetails", GroupId=group)["ProxyGroupDetail"]["GroupId"] == group
    c("ModifyProxyGroupAttribute", GroupId=group, GroupName="every-g2")
    c("CloseProxyGroup", GroupId=group)
    c("OpenProxyGroup", GroupId=group)
    created = c("CreateProxy", ProjectId=0, ProxyName="every-p", AccessRegion=region, RealServerRegion=region,
                Bandwidth=10, Concurrent=2, TagSet=[{"TagKey": "every", "TagValue": tag_value}])
    proxy = created["InstanceId"]
    h.wait_until(lambda: call("DescribeTaskStatus", TaskId=created["RequestId"])["Status"] == "SUCCESS", what="task")
    used.append("DescribeTaskStatus")
    assert c("DescribeProxies", ProxyIds=[proxy])["TotalCount"] == 1
    assert c("DescribeProxyDetail", ProxyId=proxy)["ProxyDetail"]["ProxyId"] == proxy
    assert c("DescribeProxiesStatus", ProxyIds=[proxy])["InstanceStatusSet"][0]["InstanceId"] == proxy
    c("ModifyProxiesAttribute", ProxyIds=[proxy], ProxyName="every-p2")
    c("ModifyProxyConfiguration", ProxyId=proxy, Bandwidth=20)
    tcp = c("CreateTCPListeners", ProxyId=proxy, ListenerName="every-t", Ports=[ports[0]], Scheduler="rr",
            HealthCheck=1, RealServerType="IP")["ListenerIds"][0]
    udp = c("CreateUDPListeners", ProxyId=proxy, ListenerName="every-u", Ports=[ports[1]], Scheduler="rr",
            RealServerType="IP")["ListenerIds"][0]
    assert c("DescribeTCPListeners", ProxyId=proxy)["ListenerSet"][0]["ListenerId"] == tcp
    assert c("DescribeUDPListeners", ListenerId=udp)["ListenerSet"][0]["ListenerId"] == udp
    c("ModifyTCPListenerAttribute", ListenerId=tcp, ListenerName="every-t2", Scheduler="wrr")
    c("ModifyUDPListenerAttribute", ListenerId=udp, ListenerName="every-u2")
    ips = [f"{ip_base}.1", f"{ip_base}.2"]
    rs = c("AddRealServers", ProjectId=0, RealServerName="every-rs", RealServerIP=ips,
           TagSet=[{"TagKey": "every", "TagValue": tag_value}])["RealServerSet"]
    ids = [r["RealServerId"] for r in rs]
    assert c("DescribeRealServers", ProjectId=-1, SearchValue=ip_base)["TotalCount"] == 2
    c("ModifyRealServerName", RealServerId=ids[0], RealServerName="every-rs2")
    c("BindListenerRealServers", ListenerId=tcp, RealServerBindSet=[
        {"RealServerId": r["RealServerId"], "RealServerIP": r["RealServerIP"], "RealServerPort": 80,
         "RealServerWeight": 2} for r in rs])
    assert c("DescribeListenerRealServers", ListenerId=tcp)["BindRealServerTotalCount"] == 2
    assert c("DescribeRealServersStatus", RealServerIds=ids)["RealServerStatusSet"][0]["BindStatus"] == 1
    found = c("DescribeResourcesByTag", TagKey="every", TagValue=tag_value)["ResourceSet"]
    assert {r["ResourceId"] for r in found} == {proxy, *ids}
    now = dt.datetime.now(dt.timezone.utc)
    window = {"StartTime": (now - dt.timedelta(minutes=10)).strftime("%Y-%m-%d %H:%M:%S"),
              "EndTime": (now + dt.timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S")}
    assert c("DescribeListenerStatistics", ListenerId=tcp, MetricNames=["InBandwidth"], Granularity=300, **window)["StatisticsData"]
    assert c("DescribeProxyStatistics", ProxyId=proxy, MetricNames=["Concurrent"], Granularity=60, **window)["StatisticsData"]
    assert "StatisticsData" in c("DescribeRealServerStatistics", RealServerId=ids[0], ListenerId=tcp, WithinTime=1)
    c("BindListenerRealServers", ListenerId=tcp, RealServerBindSet=[])
    used.pop()  # BindListenerRealServers is counted once
    c("RemoveRealServers", RealServerIds=ids)
    deleted = c("DeleteListeners", ProxyId=proxy, ListenerIds=[tcp, udp], Force=0)
    assert sorted(deleted["OperationSucceedListenerSet"]) == sorted([tcp, udp]), deleted
    c("CloseProxies", ProxyIds=[proxy])
    c("OpenProxies", ProxyIds=[proxy])
    assert c("DestroyProxies", ProxyIds=[proxy], Force=1)["InvalidStatusInstanceSet"] == []
    c("DeleteProxyGroup", GroupId=group, Force=1)


def test_every_action_through_the_typed_sdk(typed):
    used: list[str] = []
    _lifecycle(typed, used, "typed", "127.91.1", h.listener_ports(2))
    assert sorted(set(used)) == sorted(ACTIONS)


def test_every_action_through_tccli(tccli):
    used: list[str] = []
    _lifecycle(lambda action, **p: tccli(action, **p), used, "tccli", "127.91.2", h.listener_ports(2))
    assert sorted(set(used)) == sorted(ACTIONS)
