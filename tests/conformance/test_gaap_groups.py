"""GAAP proxy groups: CreateProxyGroup, DescribeProxyGroupList, DescribeProxyGroupDetails,
ModifyProxyGroupAttribute, DeleteProxyGroup, OpenProxyGroup, CloseProxyGroup."""
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

import helpers as h


def _details(api, group_id):
    return api("DescribeProxyGroupDetails", {"GroupId": group_id})["ProxyGroupDetail"]


def _list(api, t, **extra):
    return api("DescribeProxyGroupList", {"Offset": 0, "Limit": 100, "ProjectId": -1, "TagSet": [t], **extra})


def test_create_group_and_details(api, uniq):
    name, t = uniq("lg"), h.tag(uniq("tag"))
    group = h.create_group(api, name, tags=[t])
    d = _details(api, group)
    h.check_shape(d, h.PROXY_GROUP_DETAIL, "ProxyGroupDetail")
    assert d["GroupId"] == group and d["GroupName"] == name
    assert d["ProjectId"] == 0 and d["ProxyNum"] == 0 and d["Status"] == 0
    assert d["RealServerRegionInfo"]["RegionId"] == h.REGION
    assert t in d["TagSet"]


def test_create_group_with_access_regions_creates_proxies(api, uniq):
    group = h.create_group(api, uniq("lg"),
                           AccessRegionSet=[{"AccessRegion": h.REGION, "Bandwidth": 10, "Concurrent": 2}])
    assert _details(api, group)["ProxyNum"] == 1
    members = api("DescribeProxies", {"Filters": [{"Name": "GroupId", "Values": [group]}]})
    assert members["TotalCount"] == 1
    assert members["ProxySet"][0]["GroupId"] == group
    assert members["ProxySet"][0]["AccessRegion"] == h.REGION


def test_create_group_errors(api, uniq):
    h.assert_code(api.error("CreateProxyGroup", {"ProjectId": 0, "RealServerRegion": h.REGION}),
                  "MissingParameter")
    h.assert_code(api.error("CreateProxyGroup", {"ProjectId": 0, "GroupName": uniq("lg"),
                                                 "RealServerRegion": "no-such-region"}),
                  "InvalidParameterValue.UnknownDestRegion")


def test_describe_group_list(api, uniq):
    t = h.tag(uniq("tag"))
    a = h.create_group(api, uniq("lg"), tags=[t])
    b = h.create_group(api, uniq("lg"), tags=[t])
    resp = _list(api, t)
    assert resp["TotalCount"] == 2
    assert sorted(g["GroupId"] for g in resp["ProxyGroupList"]) == sorted([a, b])
    for g in resp["ProxyGroupList"]:
        h.check_shape(g, h.PROXY_GROUP_INFO, "ProxyGroupList[]")
        assert g["Status"] == "RUNNING"
        assert g["RealServerRegionInfo"]["RegionId"] == h.REGION
    page = _list(api, t, Limit=1)
    assert page["TotalCount"] == 2 and len(page["ProxyGroupList"]) == 1
    by_region = _list(api, t, Filters=[{"Name": "RealServerRegion", "Values": [h.REGION]}])
    assert by_region["TotalCount"] == 2
    nothing = _list(api, t, Filters=[{"Name": "RealServerRegion", "Values": ["no-such-region"]}])
    assert nothing["TotalCount"] == 0 and nothing["ProxyGroupList"] == []
    assert _list(api, t, ProjectId=0)["TotalCount"] == 2
    # Offset, Limit and ProjectId are flagged required.
    h.assert_code(api.error("DescribeProxyGroupList", {"Offset": 0, "Limit": 10}), "MissingParameter")


def test_modify_group_attribute(api, uniq):
    group = h.create_group(api, uniq("lg"))
    new = uniq("renamed")
    api("ModifyProxyGroupAttribute", {"GroupId": group, "GroupName": new})
    assert _details(api, group)["GroupName"] == new
    # Documented: GroupName at most 30 characters.
    h.assert_invalid_value(api.error("ModifyProxyGroupAttribute", {"GroupId": group, "GroupName": "g" * 31}))
    h.assert_code(api.error("ModifyProxyGroupAttribute", {"GroupId": "lg-00000000", "GroupName": new}),
                  "ResourceNotFound")


def test_close_and_open_group(api, uniq):
    group = h.create_group(api, uniq("lg"))
    member = h.create_proxy(api, uniq("px"), GroupId=group)
    resp = api("CloseProxyGroup", {"GroupId": group})
    assert isinstance(resp["InvalidStatusInstanceSet"], list)
    assert resp["OperationFailedInstanceSet"] == []
    h.wait_proxy_status(api, member, "CLOSED")
    resp = api("OpenProxyGroup", {"GroupId": group})
    assert resp["OperationFailedInstanceSet"] == []
    assert isinstance(resp["InvalidStatusInstanceSet"], list)
    h.wait_proxy_status(api, member, "RUNNING")


def test_delete_group(api, uniq):
    group = h.create_group(api, uniq("lg"))
    member = h.create_proxy(api, uniq("px"), GroupId=group)
    h.assert_code(api.error("DeleteProxyGroup", {"GroupId": group, "Force": 0}),
                  "FailedOperation.DeleteProxyGroupProxyRemained")
    api("DestroyProxies", {"ProxyIds": [member], "Force": 1})

    def member_gone():
        try:
            api("DescribeProxyDetail", {"ProxyId": member})
        except TencentCloudSDKException as e:
            return e.code == "ResourceNotFound"
        return False
    h.wait_until(member_gone, what="group member destroyed")
    api("DeleteProxyGroup", {"GroupId": group})

    def gone():
        try:
            _details(api, group)
        except TencentCloudSDKException as e:
            return e.code == "ResourceNotFound"
        return False
    h.wait_until(gone, what="deleted group -> ResourceNotFound")
    # A new request (the same bytes signed in the same second would be a replay, answered with
    # the first answer: see test_hardening_authz).
    h.assert_code(api.error("DeleteProxyGroup", {"GroupId": group, "Force": 1}), "ResourceNotFound")
