"""GAAP proxies: CreateProxy, DescribeProxies, DescribeProxyDetail, DescribeProxiesStatus,
ModifyProxiesAttribute, ModifyProxyConfiguration, OpenProxies, CloseProxies, DestroyProxies,
CheckProxyCreate."""
import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.gaap.v20180529 import models

import helpers as h


def _ids(resp: dict, key: str = "ProxySet") -> list[str]:
    return [p["ProxyId"] for p in resp[key]]


def test_create_proxy_task_and_detail(api, uniq):
    name, t = uniq("px"), h.tag(uniq("tag"))
    resp = api("CreateProxy", {"ProjectId": 0, "ProxyName": name, "AccessRegion": h.REGION,
                               "RealServerRegion": h.REGION, "Bandwidth": 10, "Concurrent": 2, "TagSet": [t]})
    proxy_id = resp["InstanceId"]
    assert h.ID_RE["proxy"].match(proxy_id)
    assert h.UUID_RE.match(resp["RequestId"]), resp["RequestId"]
    # Terraform: the task id of CreateProxy is its RequestId.
    task = h.wait_task(api, resp["RequestId"])
    assert task["TaskId"] == resp["RequestId"]
    detail = h.wait_proxy_status(api, proxy_id, "RUNNING")
    h.check_shape(detail, h.PROXY_INFO, "ProxyDetail")
    assert detail["ProxyId"] == detail["InstanceId"] == proxy_id
    assert detail["ProxyName"] == name
    assert detail["ProjectId"] == 0
    assert detail["AccessRegion"] == detail["RealServerRegion"] == h.REGION
    assert detail["AccessRegionInfo"]["RegionId"] == detail["RealServerRegionInfo"]["RegionId"] == h.REGION
    assert (detail["Bandwidth"], detail["Concurrent"]) == (10, 2)
    assert t in detail["TagSet"]
    assert detail["GroupId"] in (None, "")


def test_typed_sdk_models_deserialize(gaap_client, uniq):
    req = models.CreateProxyRequest()
    req.from_json_string(
        '{"ProjectId": 0, "ProxyName": "%s", "AccessRegion": "%s", "RealServerRegion": "%s", '
        '"Bandwidth": 10, "Concurrent": 2}' % (uniq("px"), h.REGION, h.REGION))
    created = gaap_client.CreateProxy(req)
    assert h.ID_RE["proxy"].match(created.InstanceId)

    def running():
        d = models.DescribeProxyDetailRequest()
        d.ProxyId = created.InstanceId
        detail = gaap_client.DescribeProxyDetail(d).ProxyDetail
        return detail.Status == "RUNNING" and detail
    detail = h.wait_until(running, what="typed DescribeProxyDetail RUNNING")
    assert isinstance(detail, models.ProxyInfo)
    assert detail.ProxyId == created.InstanceId
    assert isinstance(detail.AccessRegionInfo, models.RegionDetail)
    assert detail.AccessRegionInfo.RegionId == h.REGION

    q = models.DescribeProxiesRequest()
    q.ProxyIds = [created.InstanceId]
    listed = gaap_client.DescribeProxies(q)
    assert listed.TotalCount == 1
    assert [p.ProxyId for p in listed.ProxySet] == [created.InstanceId]


@pytest.mark.parametrize("field,code", [("AccessRegion", "InvalidParameterValue.UnknownAccessRegion"),
                                        ("RealServerRegion", "InvalidParameterValue.UnknownDestRegion")])
def test_create_proxy_unknown_region(api, uniq, field, code):
    params = {"ProjectId": 0, "ProxyName": uniq("px"), "AccessRegion": h.REGION, "RealServerRegion": h.REGION,
              "Bandwidth": 10, "Concurrent": 2, field: "no-such-region"}
    h.assert_code(api.error("CreateProxy", params), code)


def test_create_proxy_missing_name(api):
    err = api.error("CreateProxy", {"ProjectId": 0, "AccessRegion": h.REGION, "RealServerRegion": h.REGION,
                                    "Bandwidth": 10, "Concurrent": 2})
    h.assert_code(err, "MissingParameter")
    assert "ProxyName" in err.message


def test_describe_proxy_detail_unknown(api):
    h.assert_code(api.error("DescribeProxyDetail", {"ProxyId": "link-00000000"}), "ResourceNotFound")


def test_describe_proxies_by_ids(api, uniq):
    a, b, other = (h.create_proxy(api, uniq("px")) for _ in range(3))
    resp = api("DescribeProxies", {"ProxyIds": [a, b]})
    assert resp["TotalCount"] == 2
    assert sorted(_ids(resp)) == sorted([a, b])
    for p in resp["ProxySet"]:
        h.check_shape(p, h.PROXY_INFO, "ProxySet[]")
    # InstanceIds / InstanceSet: the legacy names of the same thing.
    legacy = api("DescribeProxies", {"InstanceIds": [a]})
    assert legacy["TotalCount"] == 1
    assert [p["InstanceId"] for p in legacy["InstanceSet"]] == [a]
    assert _ids(legacy) == [a]


def test_describe_proxies_filters_and_tags(api, uniq):
    # GUESS: Filters and TagSet together narrow the result (AND); only ProxyIds+Filters are exclusive.
    t = h.tag(uniq("tag"))
    a = h.create_proxy(api, uniq("px"), tags=[t])
    b = h.create_proxy(api, uniq("px"), tags=[t])
    resp = api("DescribeProxies", {"Filters": [{"Name": "AccessRegion", "Values": [h.REGION]}], "TagSet": [t],
                                   "Limit": 100})
    assert sorted(_ids(resp)) == sorted([a, b]) and resp["TotalCount"] == 2
    resp = api("DescribeProxies", {"Filters": [{"Name": "ProjectId", "Values": ["0"]},
                                               {"Name": "RealServerRegion", "Values": [h.REGION]}],
                                   "TagSet": [t]})
    assert sorted(_ids(resp)) == sorted([a, b])
    none = api("DescribeProxies", {"Filters": [{"Name": "AccessRegion", "Values": ["no-such-region"]}],
                                   "TagSet": [t]})
    assert none["TotalCount"] == 0
    assert none["ProxySet"] == [] and none["InstanceSet"] == []


def test_describe_proxies_tagset_is_or(api, uniq):
    k = uniq("key")
    p1 = h.create_proxy(api, uniq("px"), tags=[h.tag("v1", k)])
    p2 = h.create_proxy(api, uniq("px"), tags=[h.tag("v2", k)])
    h.create_proxy(api, uniq("px"), tags=[h.tag("v3", k)])
    resp = api("DescribeProxies", {"TagSet": [h.tag("v1", k), h.tag("v2", k)]})
    assert sorted(_ids(resp)) == sorted([p1, p2])
    assert resp["TotalCount"] == 2


def test_describe_proxies_independent(api, uniq):
    t = h.tag(uniq("tag"))
    group = h.create_group(api, uniq("lg"))
    alone = h.create_proxy(api, uniq("px"), tags=[t])
    member = h.create_proxy(api, uniq("px"), tags=[t], GroupId=group)
    assert _ids(api("DescribeProxies", {"TagSet": [t], "Independent": 1})) == [alone]
    assert _ids(api("DescribeProxies", {"TagSet": [t], "Independent": 0})) == [member]
    assert sorted(_ids(api("DescribeProxies", {"TagSet": [t]}))) == sorted([alone, member])
    by_group = api("DescribeProxies", {"Filters": [{"Name": "GroupId", "Values": [group]}]})
    assert _ids(by_group) == [member]
    assert by_group["ProxySet"][0]["GroupId"] == group


def test_describe_proxies_order(api, uniq):
    t = h.tag(uniq("tag"))
    made = [h.create_proxy(api, uniq("px"), tags=[t], Bandwidth=bw, Concurrent=cc)
            for bw, cc in ((20, 5), (10, 10), (50, 2))]
    by_bw = {made[0]: 20, made[1]: 10, made[2]: 50}
    asc = _ids(api("DescribeProxies", {"TagSet": [t], "OrderField": "bandwidth", "Order": "asc"}))
    assert asc == sorted(made, key=by_bw.get)
    desc = _ids(api("DescribeProxies", {"TagSet": [t], "OrderField": "bandwidth", "Order": "desc"}))
    assert desc == sorted(made, key=by_bw.get, reverse=True)
    conc = _ids(api("DescribeProxies", {"TagSet": [t], "OrderField": "concurrent_connections", "Order": "asc"}))
    assert conc == [made[2], made[0], made[1]]
    ids = _ids(api("DescribeProxies", {"TagSet": [t], "OrderField": "proxy_id", "Order": "asc"}))
    assert ids == sorted(made)
    h.assert_invalid_value(api.error("DescribeProxies", {"TagSet": [t], "Order": "sideways"}))
    h.assert_invalid_value(api.error("DescribeProxies", {"TagSet": [t], "OrderField": "colour"}))


def test_describe_proxies_pagination(api, uniq):
    t = h.tag(uniq("tag"))
    made = {h.create_proxy(api, uniq("px"), tags=[t]) for _ in range(5)}
    seen = []
    for offset in (0, 2, 4):
        page = api("DescribeProxies", {"TagSet": [t], "Offset": offset, "Limit": 2})
        assert page["TotalCount"] == 5
        assert len(page["ProxySet"]) == (2 if offset < 4 else 1)
        seen += _ids(page)
    assert sorted(seen) == sorted(made)
    assert api("DescribeProxies", {"TagSet": [t], "Offset": 5, "Limit": 2})["ProxySet"] == []
    assert api("DescribeProxies", {"TagSet": [t], "Limit": 100})["TotalCount"] == 5
    # Documented maximum: 100.
    h.assert_invalid_value(api.error("DescribeProxies", {"TagSet": [t], "Limit": 101}))


def test_describe_proxies_status(api, proxy):
    resp = api("DescribeProxiesStatus", {"ProxyIds": [proxy]})
    assert [(s["InstanceId"], s["Status"]) for s in resp["InstanceStatusSet"]] == [(proxy, "RUNNING")]
    for s in resp["InstanceStatusSet"]:
        h.check_shape(s, h.PROXY_STATUS)
    legacy = api("DescribeProxiesStatus", {"InstanceIds": [proxy]})
    assert [s["InstanceId"] for s in legacy["InstanceStatusSet"]] == [proxy]


def test_modify_proxies_attribute(api, proxy, uniq):
    new = uniq("renamed")
    api("ModifyProxiesAttribute", {"ProxyIds": [proxy], "ProxyName": new})
    assert h.proxy_detail(api, proxy)["ProxyName"] == new
    newer = uniq("legacy")
    api("ModifyProxiesAttribute", {"InstanceIds": [proxy], "ProxyName": newer})
    assert h.proxy_detail(api, proxy)["ProxyName"] == newer
    # Documented: ProxyName at most 32 characters.
    h.assert_invalid_value(api.error("ModifyProxiesAttribute", {"ProxyIds": [proxy], "ProxyName": "x" * 33}))
    assert h.proxy_detail(api, proxy)["ProxyName"] == newer


def test_modify_proxy_configuration(api, proxy):
    resp = api("ModifyProxyConfiguration", {"ProxyId": proxy, "Bandwidth": 20})
    h.wait_task(api, resp["RequestId"])
    detail = h.wait_proxy_status(api, proxy, "RUNNING")
    assert (detail["Bandwidth"], detail["Concurrent"]) == (20, 2)
    resp = api("ModifyProxyConfiguration", {"InstanceId": proxy, "Concurrent": 5})
    h.wait_task(api, resp["RequestId"])
    detail = h.wait_proxy_status(api, proxy, "RUNNING")
    assert (detail["Bandwidth"], detail["Concurrent"]) == (20, 5)
    # GUESS: "at least one of Bandwidth/Concurrent" is enforced as MissingParameter or InvalidParameter*.
    err = api.error("ModifyProxyConfiguration", {"ProxyId": proxy})
    h.assert_code(err, "MissingParameter", "InvalidParameter", prefix=True)


def _status(api, proxy_id):
    return api("DescribeProxiesStatus", {"ProxyIds": [proxy_id]})["InstanceStatusSet"][0]["Status"]


def test_close_and_open_proxies(api, proxy):
    # Opening a RUNNING proxy: refused, reported in InvalidStatusInstanceSet.
    resp = api("OpenProxies", {"ProxyIds": [proxy]})
    assert proxy in resp["InvalidStatusInstanceSet"]
    assert isinstance(resp["OperationFailedInstanceSet"], list)

    resp = api("CloseProxies", {"ProxyIds": [proxy]})
    assert resp["InvalidStatusInstanceSet"] == [] and resp["OperationFailedInstanceSet"] == []
    h.wait_until(lambda: _status(api, proxy) == "CLOSED", what="proxy CLOSED")
    assert h.proxy_detail(api, proxy)["Status"] == "CLOSED"
    # Closing a CLOSED proxy: refused the same way (a new request: the same bytes signed in the
    # same second would be a replay, answered with the first answer).
    assert proxy in api("CloseProxies", {"InstanceIds": [proxy]})["InvalidStatusInstanceSet"]

    resp = api("OpenProxies", {"InstanceIds": [proxy]})
    assert resp["InvalidStatusInstanceSet"] == [] and resp["OperationFailedInstanceSet"] == []
    h.wait_until(lambda: _status(api, proxy) == "RUNNING", what="proxy RUNNING again")


def test_destroy_proxies_force(api, proxy, uniq):
    [listener] = h.create_tcp_listeners(api, proxy, [h.listener_port()], uniq("ln"))
    ip = h.origin_ip()
    rs = h.add_real_servers(api, uniq("rs"), [ip])[ip]
    h.bind(api, listener, [h.bind_item(rs, ip, 8080)])

    # Force=0 with a bound origin: refused (an error, or the id in a failure set), proxy kept.
    try:
        resp = api("DestroyProxies", {"ProxyIds": [proxy], "Force": 0})
    except TencentCloudSDKException as e:
        h.assert_code(e, "FailedOperation.RealServerAlreadyBound")
    else:
        assert proxy in resp["OperationFailedInstanceSet"] + resp["InvalidStatusInstanceSet"], resp
    assert h.proxy_detail(api, proxy)["ProxyId"] == proxy

    resp = api("DestroyProxies", {"ProxyIds": [proxy], "Force": 1})
    assert resp["InvalidStatusInstanceSet"] == [] and resp["OperationFailedInstanceSet"] == []

    def gone():
        try:
            api("DescribeProxyDetail", {"ProxyId": proxy})
        except TencentCloudSDKException as e:
            return e.code == "ResourceNotFound"
        return False
    h.wait_until(gone, what="DescribeProxyDetail -> ResourceNotFound")
    try:
        listed = api("DescribeProxies", {"ProxyIds": [proxy]})
    except TencentCloudSDKException as e:  # terraform accepts both answers
        h.assert_code(e, "ResourceNotFound")
    else:
        assert listed["TotalCount"] == 0 and listed["ProxySet"] == []


def test_destroy_unbound_proxy_without_force(api, proxy):
    resp = api("DestroyProxies", {"InstanceIds": [proxy], "Force": 0})
    assert resp["InvalidStatusInstanceSet"] == [] and resp["OperationFailedInstanceSet"] == []

    def gone():
        try:
            api("DescribeProxyDetail", {"ProxyId": proxy})
        except TencentCloudSDKException as e:
            return e.code == "ResourceNotFound"
        return False
    h.wait_until(gone, what="destroyed proxy gone")


def test_destroy_requires_force(api, proxy):
    h.assert_code(api.error("DestroyProxies", {"ProxyIds": [proxy]}), "MissingParameter")


def test_check_proxy_create(api):
    resp = api("CheckProxyCreate", {"AccessRegion": h.REGION, "RealServerRegion": h.REGION, "Bandwidth": 10,
                                    "Concurrent": 2})
    assert resp["CheckFlag"] == 1
    # GUESS: an unknown region is either an UnknownAccessRegion error or CheckFlag 0.
    try:
        resp = api("CheckProxyCreate", {"AccessRegion": "no-such-region", "RealServerRegion": h.REGION,
                                        "Bandwidth": 10, "Concurrent": 2})
    except TencentCloudSDKException as e:
        h.assert_code(e, "InvalidParameterValue.UnknownAccessRegion")
    else:
        assert resp["CheckFlag"] == 0
    h.assert_code(api.error("CheckProxyCreate", {"AccessRegion": h.REGION, "Bandwidth": 10, "Concurrent": 2}),
                  "MissingParameter")
