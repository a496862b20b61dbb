"""The web console (issue 12) driven by a real headless browser (Debian's chromium and chromium-driver, through
Selenium): a wrong key is refused; the root key logs in; an accelerator and a listener are made from the forms and
show creating → running; a bad form value gets the API's message next to its field and writes nothing; an origin
is registered and bound, turns healthy, and the chart shows the traffic sent through the listener; the origin is
taken out (weight 0); a change without the CSRF token is refused; another account's listener is not visible; a
key limited to reads is refused a change with the API's own words; logging out ends the session.

Screenshots of every page go to target/console-shots/ (look at them)."""
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests

import dataplane as dp
import helpers as h

SHOTS = h.REPO / "target" / "console-shots"
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
# Without the background-networking flags Chromium tries to reach Google's services, which this
# machine's closed network refuses.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--window-size=1360,1000"]


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        msg = "the console test needs Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="onramp-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for a in CHROMIUM_FLAGS + [f"--user-data-dir={profile}"]:
        opts.add_argument(a)
    drv = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
    drv.set_page_load_timeout(30)
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield drv
    drv.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def console(server_factory):
    return server_factory("console")


class Page:
    """The browser on the console of `srv`."""

    def __init__(self, drv, srv):
        self.drv, self.srv = drv, srv

    def go(self, path: str):
        self.drv.get(f"{self.srv.url}{path}")

    def by(self, css: str):
        from selenium.webdriver.common.by import By
        return self.drv.find_element(By.CSS_SELECTOR, css)

    def all(self, css: str):
        from selenium.webdriver.common.by import By
        return self.drv.find_elements(By.CSS_SELECTOR, css)

    def fill(self, form: str, **values):
        from selenium.webdriver.support.ui import Select
        for name, value in values.items():
            el = self.by(f"{form} [name='{name}']")
            if el.tag_name == "select":
                Select(el).select_by_value(str(value))
            else:
                el.clear()
                el.send_keys(str(value))

    def submit(self, button: str):
        self.by(button).click()

    def text(self, css: str = "body") -> str:
        return self.by(css).text

    def shot(self, name: str):
        """The whole page, not only the window."""
        height, chrome = self.drv.execute_script(
            "return [document.documentElement.scrollHeight, window.outerHeight - window.innerHeight]")
        self.drv.set_window_size(1360, max(1000, min(int(height) + int(chrome), 4000)))
        self.drv.save_screenshot(str(SHOTS / f"{name}.png"))
        self.drv.set_window_size(1360, 1000)

    def wait(self, fn, what: str, timeout: float = 20.0):
        from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException

        def safe():
            try:
                return fn()
            except (NoSuchElementException, StaleElementReferenceException):
                return None
        return h.wait_until(safe, timeout=timeout, interval=0.25, what=what)

    def login(self, secret_id: str, secret_key: str):
        self.go("/console/login")
        if "onramp_session" in self.cookies():  # a test before this one stopped half-way
            self.drv.delete_all_cookies()
            self.go("/console/login")
        self.fill("form.login", secret_id=secret_id, secret_key=secret_key)
        self.submit("form.login button[type=submit]")

    def cookies(self) -> dict:
        return {c["name"]: c["value"] for c in self.drv.get_cookies()}


def admin(srv, *args) -> dict:
    out = subprocess.run([str(h.onramp_bin()), "admin", "--data-dir", str(srv.data_dir), *args],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def known(srv, key: dict) -> bool:
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
    try:
        srv.gaap(key["secret_id"], key["secret_key"])("DescribeAccessRegions", {})
        return True
    except TencentCloudSDKException as e:
        return e.code != "AuthFailure.SecretIdNotFound"


def test_the_console_in_a_browser(browser, console, uniq):
    srv, api = console, console.gaap()
    p = Page(browser, srv)
    root_id, root_key = srv.root_key
    origin = dp.TcpOrigin("127.0.0.2", tag="web").start()
    try:
        # A wrong key is refused, and no session is opened.
        p.login(root_id, "not-the-secret")
        refusal = p.wait(lambda: p.text(".form-error"), "the refusal of a wrong key")
        assert "do not sign in" in refusal, refusal
        assert "onramp_session" not in p.cookies()
        p.shot("login-refused")

        p.login(root_id, root_key)
        p.wait(lambda: p.drv.current_url.endswith("/console/"), "the overview after login")
        assert "Overview" in p.text("h1") and "onramp_session" in p.cookies()
        assert p.by("#edges [data-edge='local']").text.count("live") == 1
        p.shot("overview-empty")

        # An accelerator from the form: creating, then running.
        p.go("/console/accelerators")
        p.fill("#create-accelerator", name="web-prod", bandwidth=50)
        p.submit("#create-accelerator-submit")
        p.wait(lambda: "/console/accelerators/link-" in p.drv.current_url, "the new accelerator's page")
        proxy = p.drv.current_url.rsplit("/", 1)[1]
        assert "is being created" in p.text(".flash")
        p.wait(lambda: p.by("#accelerator-state [data-state]").get_attribute("data-state") == "running",
               "the accelerator running")
        [made] = api("DescribeProxies", {"ProxyIds": [proxy]})["ProxySet"]
        assert (made["ProxyName"], made["Bandwidth"], made["Status"]) == ("web-prod", 50, "RUNNING"), made

        # A bad value gets the API's message next to its field, and nothing is written.
        port = h.listener_port()
        p.fill("#create-listener", name="web", port=port, interval=5, timeout=9)
        p.submit("#create-listener-submit")
        err = p.wait(lambda: p.by("[data-field='timeout']").text, "the error on the timeout field")
        assert "ConnectTimeout" in err and "interval" in err, err
        assert p.by("#create-listener [name='name']").get_attribute("value") == "web", "the form keeps its values"
        p.shot("listener-form-error")
        assert api("DescribeTCPListeners", {"ProxyId": proxy})["TotalCount"] == 0

        p.fill("#create-listener", timeout=2, healthy=1, unhealthy=1)
        p.submit("#create-listener-submit")
        p.wait(lambda: "/console/listeners/listener-" in p.drv.current_url, "the new listener's page")
        listener = p.drv.current_url.rsplit("/", 1)[1]
        p.wait(lambda: p.by("#listener-state [data-state]").get_attribute("data-state") == "running",
               "the listener running")
        assert f"Listens for TCP on port {port} of 127.0.0.1." in p.text("#settings")

        # Register the origin, bind it; it turns healthy as the edge checks it.
        p.fill("#register-origin", name="web-1", addresses=origin.ip)
        p.submit("#register-origin-submit")
        p.wait(lambda: "origin=rs-" in p.drv.current_url, "back on the listener with the origin chosen")
        p.fill("#bind-origin", port=origin.port, weight=10)
        p.submit("#bind-origin-submit")
        row = "#origins tr[data-origin]"
        p.wait(lambda: p.by(f"{row} [data-health]").get_attribute("data-health") == "healthy",
               "the origin healthy", timeout=dp.health_bound(5, 1, 2) * 2)
        [bound] = h.bound_set(api, listener).values()
        assert (bound["RealServerIP"], bound["RealServerPort"], bound["RealServerWeight"]) == \
            (origin.ip, origin.port, 10), bound

        # Traffic through the listener shows on the charts.
        for i in range(20):
            assert dp.tcp_tag(port, line=b"hello %d" % i) == "web"
        p.wait(lambda: "No traffic" not in p.by("#chart-bandwidth").get_attribute("innerHTML")
               and "No traffic" not in p.by("#chart-connections").get_attribute("innerHTML"),
               "the charts to show the traffic (refreshed by the page's script)")
        # The legend shows each series' last minute, which may be a new, empty one by now.
        assert "bit/s" in p.by("#chart-bandwidth").text
        p.shot("listener")

        # Take the origin out: weight 0, through the same API.
        p.submit(f"{row} button.take-out")
        p.wait(lambda: p.by(row).get_attribute("data-weight") == "0", "the origin taken out")
        assert "taken out" in p.text(".flash")
        health = p.by(f"{row} [data-health]").get_attribute("data-health")
        assert health == "healthy", f"taking an origin out keeps its health: {health}"
        assert h.bound_set(api, listener)[bound["RealServerId"]]["RealServerWeight"] == 0
        p.shot("listener-origin-out")

        # A change without the CSRF token (or with a wrong one) is refused and changes nothing.
        binding = p.by(row).get_attribute("id").removeprefix("binding-")
        url = f"{srv.url}/console/listeners/{listener}/origins/{binding}"
        jar = {"onramp_session": p.cookies()["onramp_session"]}
        for form in ({"action": "unbind"}, {"action": "unbind", "csrf": "0" * 64}):
            r = requests.post(url, data=form, cookies=jar, allow_redirects=False, timeout=10)
            assert r.status_code == 403 and "CSRF" in r.text, (r.status_code, r.text[:300])
        assert len(h.bound_set(api, listener)) == 1

        # Another account's listener is not visible.
        other = admin(srv, "create-account", "--name", "other-tenant")
        h.wait_until(lambda: known(srv, other), what="the other account's key loaded")
        theirs = srv.gaap(other["secret_id"], other["secret_key"])
        their_proxy = h.create_proxy(theirs, uniq("their"))
        [their_listener] = h.create_tcp_listeners(theirs, their_proxy, [h.listener_port()], uniq("their-ln"))
        p.go("/console/accelerators")
        assert their_proxy not in p.text("#accelerators") and proxy in p.text("#accelerators")
        p.shot("accelerators")
        p.go(f"/console/listeners/{their_listener}")
        assert "does not exist in this account" in p.text("main")
        p.go(f"/console/accelerators/{proxy}")
        assert their_listener not in p.drv.page_source
        p.shot("accelerator")
        # The same accelerator over 24 hours: the traffic of a minute ago is on that chart too.
        p.go(f"/console/accelerators/{proxy}?range=24h")
        assert "No traffic" not in p.by("#chart-connections").get_attribute("innerHTML")
        p.shot("accelerator-24h")
        p.go("/console/origins")
        assert origin.ip in p.text("#origins-list")
        p.shot("origins")
        p.go("/console/")
        p.wait(lambda: p.by(".card-value").text == "1", "the overview's counts")
        p.shot("overview")

        # The console's writes are in the audit log, as the console's.
        audit = subprocess.run([str(h.onramp_bin()), "admin", "--data-dir", str(srv.data_dir), "audit", "--json",
                                "--dialect", "console"], capture_output=True, text=True, timeout=30)
        ops = [json.loads(line)["operation"] for line in audit.stdout.splitlines()]
        assert {"CreateProxy", "CreateTCPListeners", "AddRealServers", "BindListenerRealServers"} <= set(ops), ops

        # Logging out ends the session.
        p.submit("#logout")
        p.wait(lambda: "/console/login" in p.drv.current_url, "the login page after logout")
        assert "logged out" in p.text("main")
        p.shot("logged-out")
        r = requests.get(f"{srv.url}/console/", cookies=jar, allow_redirects=False, timeout=10)
        assert r.status_code == 303 and "/console/login" in r.headers["location"], r.status_code
    finally:
        origin.stop()


def test_a_key_limited_to_reads_is_refused_a_change(browser, console):
    srv = console
    account = srv.credentials()["account_id"]
    key = admin(srv, "create-key", "--account", account, "--actions", "DescribeProxies,DescribeProxyDetail")
    h.wait_until(lambda: known(srv, key), what="the limited key loaded")
    p = Page(browser, srv)
    p.login(key["secret_id"], key["secret_key"])
    p.wait(lambda: p.drv.current_url.endswith("/console/"), "the overview after login")
    p.go("/console/accelerators")
    p.fill("#create-accelerator", name="not-allowed")
    p.submit("#create-accelerator-submit")
    err = p.wait(lambda: p.text(".form-error"), "the refusal of the change")
    assert "AuthFailure.UnauthorizedOperation" in err and "gaap:CreateProxy" in err, err
    p.shot("limited-key-refused")
    assert all(x["ProxyName"] != "not-allowed" for x in srv.gaap()("DescribeProxies", {"Limit": 100})["ProxySet"])
    p.submit("#logout")
    p.wait(lambda: "/console/login" in p.drv.current_url, "logged out")
