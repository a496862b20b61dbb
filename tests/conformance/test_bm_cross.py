"""BM through the steps every dialect shares, and seen from the other dialects: a key's policy holds for API
3.0 `bmlb` calls (`bm:<Action>`) as for v2; a 3.0 write is audited as dialect `bm` with what it created; a
load balancer and listener made through BM are a Huawei GA accelerator and listener."""
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkga.v1 import GaClient, ShowAcceleratorRequest, ShowListenerRequest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

import bm
import helpers as h
from bm import bm_server, tls, v2, v3  # noqa: F401  (fixtures)
from test_hardening_authz import _audit, _sub_key


def test_a_policy_limits_bmlb_calls(bm_server, tls, v3):
    key = _sub_key(bm_server, policy={"statements": [{"effect": "allow", "actions": ["bm:Describe*"],
                                                      "resources": ["*"]}]})
    limited = bm.V3(bm_server, tls[2], secret_id=key["secret_id"], secret_key=key["secret_key"])
    # (wait_until retries while the server has not picked the new key up yet)
    h.wait_until(lambda: limited("DescribeLoadBalancers", {}), what="the new key to be loaded")
    e = limited.error("CreateLoadBalancers", {"VpcId": "vpc-pol", "LoadBalancerType": "open"})
    h.assert_code(e, "AuthFailure.UnauthorizedOperation")
    gaap = h.GaapApi(bm_server, key["secret_id"], key["secret_key"], ca=tls[2])
    try:
        gaap("DescribeProxies", {})
        raise AssertionError("a bm: policy let a gaap: action through")
    except TencentCloudSDKException as err:
        h.assert_code(err, "AuthFailure.UnauthorizedOperation")


def test_a_bmlb_write_is_audited_as_bm(bm_server, v3):
    out = v3("CreateLoadBalancers", {"VpcId": "vpc-audit", "LoadBalancerType": "internal"})
    [lb] = out["LoadBalancerIds"]

    def entry():
        got = [e for e in _audit(bm_server, "--resource", lb) if e["request_id"] == out["RequestId"]]
        return got[0] if got else None
    e = h.wait_until(entry, what="the audit entry of CreateLoadBalancers")
    assert (e["dialect"], e["operation"], e["outcome"]) == ("bm", "CreateLoadBalancers", "ok"), e
    v3("DeleteLoadBalancer", {"LoadBalancerId": lb})


def test_bm_resources_are_huawei_resources(bm_server, tls, v2):
    lb = bm.new_lb(v2)
    port = h.listener_port()
    r = v2("CreateBmListeners", {"loadBalancerId": lb, "listeners": [{"loadBalancerPort": port, "protocol": "udp"}]})
    v2.wait_task(r["requestId"])
    [lid] = r["listenerIds"]
    cfg = HttpConfig.get_default_config()
    cfg.ssl_ca_cert = str(tls[2])
    cfg.timeout = (10, 30)
    client = (GaClient.new_builder().with_http_config(cfg)
              .with_credentials(BasicCredentials(h.ROOT_SECRET_ID, h.ROOT_SECRET_KEY))
              .with_endpoints([bm_server.url]).build())
    acc = client.show_accelerator(ShowAcceleratorRequest(accelerator_id=lb)).accelerator
    assert acc.id == lb and acc.status == "ACTIVE", acc
    lst = client.show_listener(ShowListenerRequest(listener_id=lid)).listener
    assert (lst.accelerator_id, lst.protocol, lst.port_ranges[0].from_port) == (lb, "UDP", port), lst
    v2("DeleteBmLoadBalancers", {"loadBalancerId": lb})
