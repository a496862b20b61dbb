"""Data-plane helpers: origins (small TCP/UDP servers in threads), clients, and the `Lab` that builds a
proxy + listener + bound origins for one test and tears everything down afterwards.

Everything binds and sends only inside 127.0.0.0/8 (the domain-origin test may also run an origin on
::1 when "localhost" resolves to it). Every loop and wait is bounded in count and time.

Origins
- `TcpOrigin` (mode "line"): strips a PROXY v1/v2 header at the start of a connection (kept in
  `conn.header`) and answers every `\\n`-terminated line with `<tag>:<line>\\n`. Mode "sink" reads and
  counts bytes; mode "source" sends bytes as fast as it can after the first line; mode "reset"
  aborts the connection (RST) on the first line. Health-check
  connections (connect, close) are accepted too, so count requests, not connections.
- `UdpOrigin`: answers every datagram with `<tag>:<datagram>` (a PROXY v2 header in front is recorded
  in `datagrams` but not echoed); the health-check payload (`PROBE`) may
  be answered late (`probe_delay`) to steer `lrtt`.
- `kill()` = the origin dies: listening socket closed (connect refused) and open connections closed.
  `restart()` listens again on the same address.
"""
from __future__ import annotations

import heapq
import itertools
import queue
import re
import selectors
import socket
import struct
import threading
import time
from dataclasses import dataclass, field

import pytest
import requests
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

import helpers as h

PP2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"
PROBE = "onramp-probe"  # UDP PORT check SendContext; the origin echoes it back (`<tag>:onramp-probe`)
CLIENT_IPS = tuple(f"127.0.0.{i}" for i in range(10, 251))
LOOP_TICK = 0.02  # seconds an origin's loop sleeps at most between command checks

_project_seq = itertools.count(910_000)


# --------------------------------------------------------------------------------------------
# Origins
# --------------------------------------------------------------------------------------------

@dataclass
class TcpConn:
    """One connection as the origin saw it."""
    peer: tuple
    accepted_at: float
    raw: bytearray = field(default_factory=bytearray)  # first bytes received (up to 64 KiB), header included
    header: bytes | None = None  # PROXY header (b"" when none); None until known
    buf: bytearray = field(default_factory=bytearray)
    out: bytearray = field(default_factory=bytearray)
    lines: int = 0
    closed: bool = False


def _split_proxy_header(buf: bytes) -> bytes | None:
    """Length-delimited PROXY header at the start of `buf`: the header (b"" if none), or None if
    more bytes are needed to tell."""
    if buf.startswith(b"PROXY "):
        i = buf.find(b"\r\n")
        return bytes(buf[:i + 2]) if i >= 0 else (None if len(buf) < 108 else b"")
    if buf.startswith(PP2_SIG):
        if len(buf) < 16:
            return None
        n = 16 + struct.unpack("!H", bytes(buf[14:16]))[0]
        return bytes(buf[:n]) if len(buf) >= n else None
    if PP2_SIG.startswith(bytes(buf)) or b"PROXY ".startswith(bytes(buf)):
        return None
    return b""


class _Loop:
    """A daemon thread running `step()`; other threads run code in it through `call()`."""

    def __init__(self, name: str):
        self._cmds: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.error: BaseException | None = None

    def _run(self):
        try:
            while not self._stop.is_set():
                while True:
                    try:
                        fn, done, box = self._cmds.get_nowait()
                    except queue.Empty:
                        break
                    try:
                        box.append(fn())
                    except BaseException as e:  # handed back to the caller
                        box.append(e)
                    done.set()
                self.step()
        except BaseException as e:  # pragma: no cover - surfaced by call()/stop()
            self.error = e
        finally:
            self.cleanup()

    def call(self, fn, timeout: float = 10.0):
        if not self._thread.is_alive():
            return fn()  # loop not running: nothing races us
        done, box = threading.Event(), []
        self._cmds.put((fn, done, box))
        if not done.wait(timeout):
            raise RuntimeError(f"{self._thread.name}: command not run within {timeout}s")
        if isinstance(box[0], BaseException):
            raise box[0]
        return box[0]

    def start_loop(self):
        self._thread.start()

    def stop_loop(self, timeout: float = 5.0):
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def step(self):  # pragma: no cover - overridden
        raise NotImplementedError

    def cleanup(self):  # pragma: no cover - overridden
        pass


class TcpOrigin(_Loop):
    def __init__(self, ip: str, port: int = 0, tag: str = "o", mode: str = "line", family=socket.AF_INET):
        super().__init__(f"tcp-origin-{tag}")
        assert mode in ("line", "sink", "source", "reset")
        self.ip, self.port, self.tag, self.mode, self.family = ip, port, tag, mode, family
        self.sel = selectors.DefaultSelector()
        self.lsock: socket.socket | None = None
        self.conns: list[TcpConn] = []
        self._live: dict[socket.socket, TcpConn] = {}
        self.requests = 0
        self.rx_bytes = 0
        self.tx_bytes = 0
        self.lock = threading.Lock()
        self._chunk = bytes(range(256)) * 256  # 64 KiB for "source"

    # -- life ---------------------------------------------------------------------------------
    def start(self) -> "TcpOrigin":
        self._listen()
        self.start_loop()
        return self

    def _listen(self):
        s = socket.socket(self.family, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((self.ip, self.port))
        s.listen(512)
        s.setblocking(False)
        self.port = s.getsockname()[1]
        self.lsock = s
        self.sel.register(s, selectors.EVENT_READ, None)

    def close_listener(self):
        """Refuse new connections; keep the open ones."""
        def do():
            if self.lsock is not None:
                self.sel.unregister(self.lsock)
                self.lsock.close()
                self.lsock = None
        self.call(do)

    def kill(self):
        """Die: refuse new connections and close every open one."""
        def do():
            if self.lsock is not None:
                self.sel.unregister(self.lsock)
                self.lsock.close()
                self.lsock = None
            for s in list(self._live):
                self._drop(s)
        self.call(do)

    def restart(self):
        self.call(lambda: self.lsock is None and self._listen())

    def stop(self):
        if self._thread.is_alive():
            try:
                self.kill()
            except RuntimeError:
                pass
        self.stop_loop()

    def cleanup(self):
        if self.lsock is not None:
            self.lsock.close()
            self.lsock = None
        for s in list(self._live):
            self._drop(s)
        self.sel.close()

    # -- views ----------------------------------------------------------------------------------
    @property
    def addr(self) -> tuple[str, int]:
        return self.ip, self.port

    def open_count(self) -> int:
        with self.lock:
            return len(self._live)

    def data_conns(self) -> list[TcpConn]:
        """Connections that carried bytes (health-check connects carry none)."""
        with self.lock:
            return [c for c in self.conns if c.raw]

    # -- the loop -------------------------------------------------------------------------------
    def _drop(self, s: socket.socket):
        c = self._live.pop(s, None)
        if c is not None:
            c.closed = True
        try:
            self.sel.unregister(s)
        except (KeyError, ValueError):
            pass
        s.close()

    def step(self):
        for key, ev in self.sel.select(LOOP_TICK):
            s = key.fileobj
            if s is self.lsock:
                for _ in range(64):
                    try:
                        cs, peer = s.accept()
                    except (BlockingIOError, OSError):
                        break
                    cs.setblocking(False)
                    cs.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    c = TcpConn(peer=peer, accepted_at=time.monotonic())
                    with self.lock:
                        self.conns.append(c)
                        self._live[cs] = c
                    self.sel.register(cs, selectors.EVENT_READ, c)
                continue
            c = key.data
            if c is None or s not in self._live:
                continue
            if ev & selectors.EVENT_READ:
                try:
                    data = s.recv(256 * 1024)
                except BlockingIOError:
                    data = None
                except OSError:
                    self._drop(s)
                    continue
                if data == b"":
                    self._drop(s)
                    continue
                if data:
                    self._on_data(c, data)
            if s in self._live and (ev & selectors.EVENT_WRITE or c.out):
                self._flush(s, c)
        if self.mode == "source":
            for s, c in list(self._live.items()):
                if c.header is not None and c.lines and len(c.out) < len(self._chunk):
                    c.out += self._chunk
                    self._flush(s, c)

    def _on_data(self, c: TcpConn, data: bytes):
        with self.lock:
            self.rx_bytes += len(data)
            if len(c.raw) < 65536:
                c.raw += data[:65536 - len(c.raw)]
        if self.mode == "sink" and c.header is not None:
            return
        c.buf += data
        if c.header is None:
            hdr = _split_proxy_header(c.buf)
            if hdr is None:
                return
            c.header = hdr
            del c.buf[:len(hdr)]
        if self.mode == "sink":
            c.buf.clear()
            return
        while True:
            i = c.buf.find(b"\n")
            if i < 0:
                break
            line = bytes(c.buf[:i])
            del c.buf[:i + 1]
            c.lines += 1
            with self.lock:
                self.requests += 1
            if self.mode == "line":
                c.out += self.tag.encode() + b":" + line + b"\n"
            elif self.mode == "reset":  # abort the connection (RST) instead of answering
                s = next(k for k, v in self._live.items() if v is c)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self._drop(s)
                return

    def _flush(self, s: socket.socket, c: TcpConn):
        while c.out:
            try:
                n = s.send(c.out)
            except BlockingIOError:
                break
            except OSError:
                self._drop(s)
                return
            with self.lock:
                self.tx_bytes += n
            del c.out[:n]
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if c.out else 0)
        try:
            self.sel.modify(s, events, c)
        except (KeyError, ValueError):
            pass


class UdpOrigin(_Loop):
    def __init__(self, ip: str, port: int = 0, tag: str = "u", probe_delay: float = 0.0, family=socket.AF_INET,
                 reply: bool = True):
        super().__init__(f"udp-origin-{tag}")
        self.ip, self.port, self.tag, self.family = ip, port, tag, family
        self.probe_delay = probe_delay
        self.reply = reply  # False: a sink (probes are still answered)
        self.rx_bytes = 0
        self.sock: socket.socket | None = None
        self.datagrams: list[tuple[tuple, bytes]] = []  # (peer, payload) of non-probe datagrams
        self.probes = 0
        self.probe_replies = 0
        self._later: list[tuple[float, int, bytes, tuple]] = []
        self._seq = itertools.count()
        self.lock = threading.Lock()

    def start(self) -> "UdpOrigin":
        self._bind()
        self.start_loop()
        return self

    def _bind(self):
        s = socket.socket(self.family, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((self.ip, self.port))
        s.settimeout(LOOP_TICK)
        self.port = s.getsockname()[1]
        self.sock = s

    @property
    def addr(self) -> tuple[str, int]:
        return self.ip, self.port

    def kill(self):
        def do():
            if self.sock is not None:
                self.sock.close()
                self.sock = None
            self._later.clear()
        self.call(do)

    def restart(self):
        self.call(lambda: self.sock is None and self._bind())

    def stop(self):
        self.stop_loop()

    def cleanup(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def peers(self) -> list[tuple]:
        with self.lock:
            return [p for p, _ in self.datagrams]

    def step(self):
        now = time.monotonic()
        while self._later and self._later[0][0] <= now:
            _, _, data, peer = heapq.heappop(self._later)
            if self.sock is not None:
                try:
                    self.sock.sendto(data, peer)
                    with self.lock:
                        self.probe_replies += 1
                except OSError:
                    pass
        if self.sock is None:
            time.sleep(LOOP_TICK)
            return
        timeout = LOOP_TICK
        if self._later:
            timeout = max(0.001, min(timeout, self._later[0][0] - now))
        self.sock.settimeout(timeout)
        try:
            data, peer = self.sock.recvfrom(65536)
        except (socket.timeout, BlockingIOError):
            return
        except OSError:  # e.g. ICMP errors surfacing on the socket
            return
        body = data
        if data.startswith(PP2_SIG):  # a PROXY-aware origin answers the payload, not the header
            hdr = _split_proxy_header(data)
            body = data[len(hdr):] if hdr else data
        reply = self.tag.encode() + b":" + body
        if data == PROBE.encode():
            with self.lock:
                self.probes += 1
            if self.probe_delay > 0:
                heapq.heappush(self._later, (time.monotonic() + self.probe_delay, next(self._seq), reply, peer))
                return
            with self.lock:
                self.probe_replies += 1
        else:
            with self.lock:
                self.datagrams.append((peer, data))
                self.rx_bytes += len(data)
            if not self.reply:
                return
        try:
            self.sock.sendto(reply, peer)
        except OSError:
            pass


# --------------------------------------------------------------------------------------------
# Clients
# --------------------------------------------------------------------------------------------

class ClientError(Exception):
    pass


def tag_of(reply: bytes) -> str:
    return reply.split(b":", 1)[0].decode()


class TcpClient:
    """A client connection through a listener on 127.0.0.1:port, optionally from `src`."""

    def __init__(self, port: int, src: str | None = None, timeout: float = 5.0, host: str = "127.0.0.1"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            if src:
                self.sock.bind((src, 0))
            self.sock.connect((host, port))
        except OSError:
            self.sock.close()
            raise
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.local = self.sock.getsockname()
        self._buf = bytearray()

    def ask(self, line: bytes = b"hello") -> bytes:
        """Send one line, return the origin's reply line (`<tag>:<line>`); ClientError on EOF/timeout."""
        self.sock.sendall(line + b"\n")
        return self.read_line()

    def read_line(self, limit: int = 1 << 22) -> bytes:
        while b"\n" not in self._buf:
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout as e:
                raise ClientError("timed out waiting for a reply") from e
            except OSError as e:
                raise ClientError(f"connection failed: {e!r}") from e
            if not chunk:
                raise ClientError(f"connection closed before a reply (got {bytes(self._buf[:80])!r})")
            self._buf += chunk
            if len(self._buf) > limit:
                raise ClientError("reply too long")
        i = self._buf.index(b"\n")
        line = bytes(self._buf[:i])
        del self._buf[:i + 1]
        return line

    def tag(self, line: bytes = b"hello") -> str:
        reply = self.ask(line)
        if not reply.endswith(b":" + line):
            raise ClientError(f"reply {reply[:80]!r} does not echo {line[:40]!r}")
        return tag_of(reply)

    def close(self, timeout: float = 5.0):
        """Half-close, wait (bounded) for the other side's EOF, close."""
        try:
            self.sock.shutdown(socket.SHUT_WR)
            self.sock.settimeout(timeout)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if not self.sock.recv(65536):
                    break
        except OSError:
            pass
        finally:
            self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def tcp_tag(port: int, src: str | None = None, line: bytes = b"hello", timeout: float = 5.0) -> str:
    """One short connection: connect, one request, clean close; the tag of the origin that answered."""
    with TcpClient(port, src, timeout) as c:
        return c.tag(line)


def tcp_refused(port: int, timeout: float = 2.0) -> bool:
    """True if a connect to the listener is refused, or accepted then closed without a byte."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(b"probe\n")
            return s.recv(100) == b""
    except (ConnectionRefusedError, ConnectionResetError, BrokenPipeError):
        return True
    except OSError:
        return False


class UdpClient:
    """A UDP client socket (one flow) towards a listener on 127.0.0.1:port."""

    def __init__(self, port: int, src: str | None = None, timeout: float = 2.0):
        self.port = port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((src or "127.0.0.1", 0))
        self.sock.settimeout(timeout)
        self.local = self.sock.getsockname()

    def ask(self, payload: bytes, tries: int = 3) -> bytes:
        """Send `payload` (resent up to `tries` times on silence); the reply (`<tag>:<payload>`)."""
        for _ in range(tries):
            self.sock.sendto(payload, ("127.0.0.1", self.port))
            deadline = time.monotonic() + self.sock.gettimeout()
            while time.monotonic() < deadline:
                try:
                    data, _ = self.sock.recvfrom(65536)
                except socket.timeout:
                    break
                except ConnectionRefusedError:
                    continue
                if data.endswith(b":" + payload):
                    return data
        raise ClientError(f"no reply to {payload[:40]!r} after {tries} tries")

    def tag(self, payload: bytes) -> str:
        return tag_of(self.ask(payload))

    def silent(self, payload: bytes, wait: float = 1.0) -> bool:
        """Send once; True if nothing comes back within `wait` seconds."""
        self.sock.sendto(payload, ("127.0.0.1", self.port))
        self.sock.settimeout(wait)
        try:
            self.sock.recvfrom(65536)
            return False
        except (socket.timeout, ConnectionRefusedError):
            return True

    def close(self):
        self.sock.close()


# --------------------------------------------------------------------------------------------
# PROXY protocol expectations
# --------------------------------------------------------------------------------------------

def proxy_v1(src: tuple[str, int], dst: tuple[str, int]) -> bytes:
    return f"PROXY TCP4 {src[0]} {dst[0]} {src[1]} {dst[1]}\r\n".encode()


def proxy_v2(src: tuple[str, int], dst: tuple[str, int], fam: int) -> bytes:
    body = socket.inet_aton(src[0]) + socket.inet_aton(dst[0]) + struct.pack("!HH", src[1], dst[1])
    return PP2_SIG + bytes([0x21, fam]) + struct.pack("!H", len(body)) + body


# --------------------------------------------------------------------------------------------
# Control-plane plumbing for one test
# --------------------------------------------------------------------------------------------

@dataclass
class Listener:
    id: str
    port: int
    protocol: str
    proxy: str
    origins: list
    rs: dict  # origin -> rs id


class Lab:
    """Resources of one test: origins on 127.0.0.2.. (a project of its own, so addresses may repeat
    across tests), proxies, listeners; `close()` deletes the listeners and stops the origins."""

    def __init__(self, api: h.GaapApi, server: h.OnrampServer, uniq):
        self.api, self.server, self.uniq = api, server, uniq
        self.project = next(_project_seq)
        self._ip_seq = itertools.count(2)
        self.origins: list = []
        self.listeners: list[Listener] = []
        self.rs_ids: dict[str, str] = {}
        self.clients: list = []

    # -- origins --------------------------------------------------------------------------------
    def next_ip(self) -> str:
        n = next(self._ip_seq)
        return f"127.0.0.{n}" if n < 10 else f"127.0.1.{n - 8}"

    def tcp_origin(self, tag: str, *, ip: str | None = None, mode: str = "line", port: int = 0,
                   family=socket.AF_INET) -> TcpOrigin:
        o = TcpOrigin(ip or self.next_ip(), port, tag, mode, family).start()
        self.origins.append(o)
        return o

    def udp_origin(self, tag: str, *, ip: str | None = None, probe_delay: float = 0.0, port: int = 0,
                   family=socket.AF_INET, reply: bool = True) -> UdpOrigin:
        o = UdpOrigin(ip or self.next_ip(), port, tag, probe_delay, family, reply).start()
        self.origins.append(o)
        return o

    # -- control plane --------------------------------------------------------------------------
    def proxy(self, bandwidth: int = 1000, concurrent: int = 2) -> str:
        return h.create_proxy(self.api, self.uniq("px"), Bandwidth=bandwidth, Concurrent=concurrent,
                              ProjectId=self.project)

    def register(self, addresses: list[str]) -> dict[str, str]:
        new = [a for a in dict.fromkeys(addresses) if a not in self.rs_ids]
        if new:
            self.rs_ids.update(h.add_real_servers(self.api, self.uniq("rs"), new, project_id=self.project))
        return {a: self.rs_ids[a] for a in addresses}

    def bind_items(self, origins, weights=None, roles=None, address: str | None = None) -> list[dict]:
        ips = [address or o.ip for o in origins]
        ids = self.register(ips)
        items = []
        for i, o in enumerate(origins):
            items.append(h.bind_item(ids[ips[i]], ips[i], o.port,
                                     None if weights is None else weights[i],
                                     None if roles is None else roles[i]))
        return items

    def listener(self, protocol: str, origins, *, proxy: str | None = None, weights=None, roles=None,
                 address: str | None = None, port: int | None = None, **kw) -> Listener:
        proxy = proxy or self.proxy()
        port = port or h.listener_port()
        params = {"ListenerName": self.uniq("ln"), "Ports": [port], "Scheduler": "rr",
                  "RealServerType": "DOMAIN" if address else "IP", "ProxyId": proxy}
        if protocol == "TCP":
            params["HealthCheck"] = 0
        params.update(kw)
        [lid] = self.api(f"Create{protocol}Listeners", params)["ListenerIds"]
        h.wait_listener_ready(self.api, lid, protocol)
        lst = Listener(lid, port, protocol, proxy, list(origins), {})
        self.listeners.append(lst)
        if origins:
            items = self.bind_items(origins, weights, roles, address)
            self.api("BindListenerRealServers", {"ListenerId": lid, "RealServerBindSet": items})
            lst.rs = {o: it["RealServerId"] for o, it in zip(origins, items)}
            self.ready(lst)
        return lst

    def tcp_listener(self, origins, **kw) -> Listener:
        return self.listener("TCP", origins, **kw)

    def udp_listener(self, origins, **kw) -> Listener:
        return self.listener("UDP", origins, **kw)

    def ready(self, lst: Listener) -> dict:
        return h.wait_listener_ready(self.api, lst.id, lst.protocol)

    def rebind(self, lst: Listener, origins, weights=None, roles=None):
        items = self.bind_items(origins, weights, roles)
        self.api("BindListenerRealServers", {"ListenerId": lst.id, "RealServerBindSet": items})
        lst.origins = list(origins)
        lst.rs = {o: it["RealServerId"] for o, it in zip(origins, items)}
        return self.ready(lst)

    def modify(self, lst: Listener, **params):
        self.api(f"Modify{lst.protocol}ListenerAttribute", {"ListenerId": lst.id, **params})
        return self.ready(lst)

    def bound(self, lst: Listener) -> dict[str, dict]:
        return h.bound_set(self.api, lst.id)

    def status_of(self, lst: Listener, origin) -> int:
        return self.bound(lst)[lst.rs[origin]]["RealServerStatus"]

    # -- metrics ----------------------------------------------------------------------------------
    def metrics(self) -> str:
        r = requests.get(f"http://127.0.0.1:{self.server.admin_port}/metrics", timeout=10)
        r.raise_for_status()
        return r.text

    def metric(self, name: str, listener_id: str) -> float | None:
        m = re.search(rf'^{re.escape(name)}\{{listener="{re.escape(listener_id)}"\}} (\S+)$', self.metrics(), re.M)
        return float(m.group(1)) if m else None

    # -- teardown ---------------------------------------------------------------------------------
    def close(self):
        for c in self.clients:
            try:
                c.close()
            except Exception:
                pass
        by_proxy: dict[str, list[str]] = {}
        for l in self.listeners:
            by_proxy.setdefault(l.proxy, []).append(l.id)
        for proxy, ids in by_proxy.items():
            try:
                self.api("DeleteListeners", {"ProxyId": proxy, "ListenerIds": ids, "Force": 1})
            except Exception:  # the test may have deleted some already or closed the proxy
                pass
        for o in self.origins:
            o.stop()


# --------------------------------------------------------------------------------------------
# Small utilities
# --------------------------------------------------------------------------------------------

def poll(fn, *, timeout: float, interval: float = 0.1, what: str = "condition"):
    """Like helpers.wait_until, but an API error fails at once (an unknown action will not heal)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = fn()
        except TencentCloudSDKException as e:
            pytest.fail(f"{what}: the API answered {e.code}: {e.message}", pytrace=False)
        if last:
            return last
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")
        time.sleep(interval)


def health_bound(delay_loop: int, threshold: int, timeout: int, slack: float = 2.0) -> float:
    """Longest time a health state may take to flip: threshold checks at DelayLoop (+10 % jitter)
    each, the last one taking up to ConnectTimeout, plus slack for the API and a loaded machine."""
    return delay_loop * 1.1 * threshold + timeout + slack


def counts(tags) -> dict[str, int]:
    out: dict[str, int] = {}
    for t in tags:
        out[t] = out.get(t, 0) + 1
    return out
