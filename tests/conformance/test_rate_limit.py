"""The default rate limit (no --rate-limit flag): 20 requests per second per action per account, answered
with RequestLimitExceeded (HTTP 200, API 3.0 envelope); other actions are not affected."""
from concurrent.futures import ThreadPoolExecutor

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

import helpers as h


@pytest.fixture(scope="module")
def limited(server_factory):
    return server_factory("ratelimit", rate_limit=None)


def _burst(server, action: str, params=None, calls: int = 60, threads: int = 10, **client):
    """`calls` calls of `action` from `threads` parallel clients (so the burst is far above 20/s whatever one
    call's latency); returns (number served, list of error codes)."""
    def worker(n: int):
        api = server.gaap(**client)
        served, codes = 0, []
        for _ in range(n):
            try:
                api(action, params)
                served += 1
            except TencentCloudSDKException as e:
                codes.append(e.code)
        return served, codes

    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(worker, [calls // threads] * threads))
    return sum(r[0] for r in results), [c for r in results for c in r[1]]


def test_twenty_per_second_per_action(limited):
    api = limited.gaap()
    served, codes = _burst(limited, "DescribeAccessRegions")
    assert codes, f"{served} calls in a burst and no refusal"
    assert set(codes) == {"RequestLimitExceeded"}, codes
    assert served >= 20, f"only {served} of 60 calls served"
    # Another action of the same account is not limited by the first one's budget.
    assert api("DescribeDestRegions")["TotalCount"] == 1
    # The budget comes back: a second later the action is served again.
    h.wait_until(lambda: api("DescribeAccessRegions")["TotalCount"] == 1, timeout=3, interval=0.25,
                 what="DescribeAccessRegions served again after the limit")


def test_limit_applies_to_every_signature(limited):
    served, codes = _burst(limited, "DescribeProxies", {"Limit": 1}, sign_method="HmacSHA256", req_method="GET")
    assert codes and set(codes) == {"RequestLimitExceeded"}, codes
    assert served >= 20, served
