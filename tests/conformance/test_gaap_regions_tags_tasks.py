"""GAAP metadata: DescribeAccessRegions, DescribeDestRegions, DescribeResourcesByTag, DescribeTaskStatus."""
import pytest

import helpers as h


@pytest.mark.parametrize("action,field", [("DescribeAccessRegions", "AccessRegionSet"),
                                          ("DescribeDestRegions", "DestRegionSet")])
def test_regions_are_the_edge_regions(api, action, field):
    resp = api(action)
    assert resp["TotalCount"] == 1 == len(resp[field])
    [region] = resp[field]
    h.check_shape(region, h.REGION_DETAIL, f"{field}[]")
    assert region["RegionId"] == h.REGION
    assert region["IDCType"] in ("dc", "ec")


def test_dest_regions_quality_type(api):
    assert api("DescribeDestRegions", {"QualityType": 0})["TotalCount"] == 1


def test_regions_typed(gaap_client):
    from tencentcloud.gaap.v20180529 import models
    resp = gaap_client.DescribeAccessRegions(models.DescribeAccessRegionsRequest())
    assert resp.TotalCount == 1
    assert isinstance(resp.AccessRegionSet[0], models.RegionDetail)
    assert resp.AccessRegionSet[0].RegionId == h.REGION


def test_describe_resources_by_tag(api, uniq):
    key, value = uniq("key"), uniq("val")
    t = h.tag(value, key)
    proxy = h.create_proxy(api, uniq("px"), tags=[t])
    group = h.create_group(api, uniq("lg"), tags=[t])
    ip = h.origin_ip()
    rs = h.add_real_servers(api, uniq("rs"), [ip], tags=[t])[ip]
    h.create_proxy(api, uniq("px"), tags=[h.tag("other", key)])

    resp = api("DescribeResourcesByTag", {"TagKey": key, "TagValue": value})
    for r in resp["ResourceSet"]:
        h.check_shape(r, h.TAG_RESOURCE_INFO, "ResourceSet[]")
    got = sorted((r["ResourceType"], r["ResourceId"]) for r in resp["ResourceSet"])
    assert got == sorted([("Proxy", proxy), ("ProxyGroup", group), ("RealServer", rs)])
    assert resp["TotalCount"] == 3
    for kind, rid in (("Proxy", proxy), ("ProxyGroup", group), ("RealServer", rs)):
        one = api("DescribeResourcesByTag", {"TagKey": key, "TagValue": value, "ResourceType": kind})
        assert [(r["ResourceType"], r["ResourceId"]) for r in one["ResourceSet"]] == [(kind, rid)]
        assert one["TotalCount"] == 1
    none = api("DescribeResourcesByTag", {"TagKey": key, "TagValue": uniq("nothing")})
    assert none["TotalCount"] == 0 and none["ResourceSet"] == []
    h.assert_code(api.error("DescribeResourcesByTag", {"TagKey": key}), "MissingParameter")


def test_task_status_of_create_and_modify(api, uniq):
    resp = api("CreateProxy", {"ProjectId": 0, "ProxyName": uniq("px"), "AccessRegion": h.REGION,
                               "RealServerRegion": h.REGION, "Bandwidth": 10, "Concurrent": 2})
    task = h.wait_task(api, resp["RequestId"])
    assert task["Status"] == "SUCCESS" and task["TaskId"] == resp["RequestId"]
    h.wait_proxy_status(api, resp["InstanceId"])
    mod = api("ModifyProxyConfiguration", {"ProxyId": resp["InstanceId"], "Bandwidth": 50})
    assert h.wait_task(api, mod["RequestId"])["TaskId"] == mod["RequestId"]


def test_task_status_unknown(api):
    # GUESS: an unknown task is ResourceNotFound (DescribeTaskStatus's documented code) or InvalidParameter*.
    err = api.error("DescribeTaskStatus", {"TaskId": "00000000-0000-4000-8000-000000000000"})
    h.assert_code(err, "ResourceNotFound", "InvalidParameter", prefix=True)
    # "must not be empty"
    err = api.error("DescribeTaskStatus", {})
    h.assert_code(err, "MissingParameter", "InvalidParameter", prefix=True)
