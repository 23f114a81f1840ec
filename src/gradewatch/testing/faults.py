"""A school that misbehaves on demand: a loopback HTTP proxy in front of a simulator (or a bare server).

    with FaultProxy(upstream=sim.base_url) as proxy:      # everything passes through to the simulator …
        proxy.inject("/ssfw/jwnavmenu.do", "drip", interval=0.5)   # … except this path, which drips
        adapter = SsfwAdapter(proxy.base_url, …)

It speaks raw HTTP/1.1 on a socket (one request per connection), so it can do what no well-behaved
server framework does: hang, drip bytes, lie about gzip, cut a body short, reset the connection.
``FAULTS`` lists every fault with a one-line description (the docs table is generated from it).
"""

from __future__ import annotations

import http.cookiejar
import random
import socket
import socketserver
import struct
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

_CHUNK = 64 * 1024
_HTML_ROW = b"<tr><td>1</td><td>x</td></tr>\n"


@dataclass
class Request:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


@dataclass
class Rule:
    fault: str
    params: dict[str, Any] = field(default_factory=dict)
    #: How many times it still applies (None: always); afterwards requests pass through again.
    times: int | None = None


class _Conn:
    """Helpers on one accepted socket."""

    def __init__(self, sock: socket.socket, stopping: threading.Event) -> None:
        self.sock = sock
        self.stopping = stopping

    def send(self, data: bytes) -> bool:
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            return False

    def head(self, status: int, reason: str, headers: list[tuple[str, str]]) -> bool:
        lines = [f"HTTP/1.1 {status} {reason}"] + [f"{k}: {v}" for k, v in headers] + ["Connection: close", "", ""]
        return self.send("\r\n".join(lines).encode("latin-1"))

    def answer(self, status: int, body: bytes, content_type: str = "text/html; charset=utf-8",
               extra: list[tuple[str, str]] | None = None, reason: str = "") -> None:
        headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))] + (extra or [])
        if self.head(status, reason or _REASONS.get(status, "Status"), headers):
            self.send(body)

    def wait(self, seconds: float) -> bool:
        """Sleep unless the server is stopping; False when it is."""
        return not self.stopping.wait(seconds)


_REASONS = {200: "OK", 302: "Found", 404: "Not Found", 500: "Internal Server Error", 502: "Bad Gateway",
            503: "Service Unavailable", 429: "Too Many Requests"}


# ---- the faults -----------------------------------------------------------------------------------
def _status(conn: _Conn, req: Request, code: int = 500, **_: Any) -> None:
    conn.answer(code, f"<html><head><title>{code}</title></head><body>error {code}</body></html>".encode())


def _hang(conn: _Conn, req: Request, seconds: float = 3600, **_: Any) -> None:
    conn.wait(seconds)


def _drip(conn: _Conn, req: Request, interval: float = 1.0, size: int = 100_000, **_: Any) -> None:
    if not conn.head(200, "OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(size))]):
        return
    for _i in range(size):
        if not conn.send(b"<") or not conn.wait(interval):
            return


def _drip_unsized(conn: _Conn, req: Request, interval: float = 1.0, size: int = 100_000, **_: Any) -> None:
    # No Content-Length: the body ends when the connection closes, so a client that closes it at
    # its deadline sees a body that "ended" and must not take the half page for the answer.
    if not conn.head(200, "OK", [("Content-Type", "text/html; charset=utf-8")]):
        return
    if not conn.send(b"<html><head><title>x</title></head><body>"):
        return
    for _i in range(size):
        if not conn.send(b"<") or not conn.wait(interval):
            return


def _slow_headers(conn: _Conn, req: Request, interval: float = 1.0, **_: Any) -> None:
    for byte in b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Slow: " + b"a" * 10_000:
        if not conn.send(bytes([byte])) or not conn.wait(interval):
            return


def _redirect_loop(conn: _Conn, req: Request, **_: Any) -> None:
    conn.answer(302, b"", extra=[("Location", req.target)])


def _huge(conn: _Conn, req: Request, size: int = 300 * 1024 * 1024, chunked: bool = False, **_: Any) -> None:
    """A page of ``size`` bytes of table rows (what makes an HTML parser allocate most per byte)."""
    block = _HTML_ROW * (_CHUNK // len(_HTML_ROW))
    headers = [("Content-Type", "text/html; charset=utf-8")]
    headers.append(("Transfer-Encoding", "chunked") if chunked else ("Content-Length", str(size)))
    if not conn.head(200, "OK", headers):
        return
    prefix = ('<html><body><div title="有效成绩"><table class="t_con" id="dataList">').encode()
    sent = 0
    while sent < size and not conn.stopping.is_set():
        part = (prefix + block)[: size - sent] if sent == 0 else block[: size - sent]
        data = b"%x\r\n%s\r\n" % (len(part), part) if chunked else part
        if not conn.send(data):
            return
        sent += len(part)
    if chunked:
        conn.send(b"0\r\n\r\n")


def _garbage(conn: _Conn, req: Request, size: int = 200_000, seed: int = 0,
             content_type: str = "text/html; charset=utf-8", **_: Any) -> None:
    conn.answer(200, random.Random(seed).randbytes(size), content_type)


def _garbage_image(conn: _Conn, req: Request, size: int = 5000, seed: int = 0, **_: Any) -> None:
    conn.answer(200, b"\x89PNG\r\n\x1a\n" + random.Random(seed).randbytes(size), "image/png")


def _wrong_charset(conn: _Conn, req: Request, **_: Any) -> None:
    body = "<html><head><title>成绩查询</title></head><body>这是GBK编码的页面，却声明为UTF-8</body></html>"
    conn.answer(200, body.encode("gbk"), "text/html; charset=utf-8")


def _unknown_charset(conn: _Conn, req: Request, **_: Any) -> None:
    conn.answer(200, "<html><body>页面</body></html>".encode(), "text/html; charset=x-no-such-charset")


def _false_gzip(conn: _Conn, req: Request, **_: Any) -> None:
    conn.answer(200, b"<html><body>plain text, not gzip</body></html>" * 20, extra=[("Content-Encoding", "gzip")])


_BOMB: dict[int, bytes] = {}


def _gzip_bomb(conn: _Conn, req: Request, size: int = 64 * 1024 * 1024, **_: Any) -> None:
    """A small gzip body (one member: decoders stop after the first) that inflates to ``size`` bytes."""
    if size not in _BOMB:
        packer = zlib.compressobj(6, zlib.DEFLATED, zlib.MAX_WBITS | 16)
        zeros = b"\0" * (1024 * 1024)
        _BOMB[size] = b"".join(packer.compress(zeros) for _ in range(size // len(zeros))) + packer.flush()
    conn.answer(200, _BOMB[size], extra=[("Content-Encoding", "gzip")])


def _truncated(conn: _Conn, req: Request, **_: Any) -> None:
    if conn.head(200, "OK", [("Content-Type", "text/html"), ("Content-Length", "10000")]):
        conn.send(b"<html><body><table>" + b"<tr>" * 50)


def _reset(conn: _Conn, req: Request, **_: Any) -> None:
    # SO_LINGER 0: close() sends RST instead of FIN.
    conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def _close(conn: _Conn, req: Request, **_: Any) -> None:
    return  # the handler closes the socket without a byte of answer


def _bad_status_line(conn: _Conn, req: Request, **_: Any) -> None:
    conn.send(b"HTTP/1.1 two-hundred OK\r\nContent-Length: 2\r\n\r\nok")


def _empty(conn: _Conn, req: Request, **_: Any) -> None:
    conn.answer(200, b"")


def _bad_json(conn: _Conn, req: Request, **_: Any) -> None:
    conn.answer(200, b'{"items": [{"kcmc": "\xe9\xab\x98', "application/json;charset=UTF-8")


def _static(conn: _Conn, req: Request, status: int = 200, body: bytes | str = b"",
            content_type: str = "text/html; charset=utf-8", headers: list[tuple[str, str]] | None = None,
            **_: Any) -> None:
    """A fixed answer (what a fuzzer feeds an adapter)."""
    conn.answer(status, body.encode() if isinstance(body, str) else body, content_type, headers)


#: name → (handler, what it does). The descriptions are the rows of docs/reliability-faults.md.
FAULTS: dict[str, tuple[Callable[..., None], str]] = {
    "http_500": (lambda c, r, **p: _status(c, r, 500), "HTTP 500"),
    "http_503": (lambda c, r, **p: _status(c, r, 503), "HTTP 503"),
    "http_404": (lambda c, r, **p: _status(c, r, 404), "HTTP 404 with an error page"),
    "http_429": (lambda c, r, **p: _status(c, r, 429), "HTTP 429 (throttled)"),
    "hang": (_hang, "accepts the request, never answers"),
    "drip": (_drip, "headers, then the body one byte per interval (never times out per read)"),
    "drip_unsized": (_drip_unsized, "headers without a length, then the body one byte per interval"),
    "slow_headers": (_slow_headers, "the status line and headers one byte per interval"),
    "redirect_loop": (_redirect_loop, "302 to itself, forever"),
    "huge": (_huge, "a 300 MB page of table rows"),
    "huge_chunked": (lambda c, r, **p: _huge(c, r, chunked=True, **p), "a 300 MB page, chunked, no length"),
    "gzip_bomb": (_gzip_bomb, "a 64 KB gzip body that inflates to 64 MB"),
    "garbage": (_garbage, "200 KB of random bytes as text/html"),
    "garbage_image": (_garbage_image, "a PNG signature followed by random bytes (captcha)"),
    "wrong_charset": (_wrong_charset, "a GBK page declared as UTF-8"),
    "unknown_charset": (_unknown_charset, "charset=x-no-such-charset"),
    "false_gzip": (_false_gzip, "Content-Encoding: gzip on a plain body"),
    "truncated": (_truncated, "Content-Length 10000, 220 bytes, then close"),
    "reset": (_reset, "TCP reset instead of an answer"),
    "close": (_close, "connection closed without an answer"),
    "bad_status_line": (_bad_status_line, "a status line that is not HTTP"),
    "empty": (_empty, "200 with an empty body"),
    "bad_json": (_bad_json, "JSON cut off mid-string"),
    "static": (_static, "a fixed answer"),
}


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(30)
        try:
            req = _read_request(sock)
        except (OSError, ValueError):
            return
        if req is None:
            return
        proxy = self.server.proxy
        rule = proxy._rule_for(req)
        conn = _Conn(sock, proxy._stopping)
        try:
            if rule is None:
                proxy._forward(conn, req)
            else:
                FAULTS[rule.fault][0](conn, req, **rule.params)
        except OSError:
            pass


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    proxy: FaultProxy


class FaultProxy:
    """A loopback HTTP server: faults on chosen paths, everything else proxied to ``upstream`` (or 404)."""

    def __init__(self, upstream: str | None = None) -> None:
        self.upstream = upstream.rstrip("/") if upstream else None
        self._rules: dict[str, Rule] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.hits: dict[str, int] = {}
        self.requests: list[Request] = []
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.proxy = self
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True)
        # A proxy keeps no cookies of its own: each client's Cookie header passes through as it is.
        no_cookies = http.cookiejar.CookieJar(policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        self._client = httpx.Client(timeout=30, follow_redirects=False, cookies=no_cookies)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._client.close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- rules ------------------------------------------------------------------------------------
    def inject(self, path: str, fault: str, *, times: int | None = None, **params: Any) -> None:
        """Answer requests whose path ends with ``path`` (``"*"``: every path) with ``fault``."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; known: {', '.join(FAULTS)}")
        with self._lock:
            self._rules[path] = Rule(fault, params, times)

    def clear(self, path: str | None = None) -> None:
        with self._lock:
            if path is None:
                self._rules.clear()
            else:
                self._rules.pop(path, None)

    def _rule_for(self, req: Request) -> Rule | None:
        with self._lock:
            self.hits[req.path] = self.hits.get(req.path, 0) + 1
            self.requests.append(req)
            for path, rule in self._rules.items():
                if path == "*" or req.path.endswith(path):
                    if rule.times is not None:
                        if rule.times <= 0:
                            continue
                        rule.times -= 1
                    return rule
        return None

    def _forward(self, conn: _Conn, req: Request) -> None:
        if self.upstream is None:
            conn.answer(404, b"<html><body>no upstream</body></html>")
            return
        headers = [(k, v) for k, v in req.headers if k.lower() not in ("connection", "accept-encoding",
                                                                          "content-length", "transfer-encoding")]
        headers.append(("Accept-Encoding", "identity"))
        try:
            resp = self._client.request(req.method, self.upstream + req.target, headers=headers, content=req.body)
        except httpx.HTTPError:
            conn.answer(502, b"upstream unreachable")
            return
        out = [(k, v) for k, v in resp.headers.multi_items()
               if k.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding")]
        out.append(("Content-Length", str(len(resp.content))))
        if conn.head(resp.status_code, resp.reason_phrase or "Status", out):
            conn.send(resp.content)


def _read_request(sock: socket.socket) -> Request | None:
    data = b""
    while b"\r\n\r\n" not in data:
        part = sock.recv(65536)
        if not part:
            return None
        data += part
        if len(data) > 1024 * 1024:
            raise ValueError("request head too large")
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    headers = [(k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in lines[1:] if line)]
    length = next((int(v) for k, v in headers if k.lower() == "content-length"), 0)
    while len(body) < length:
        part = sock.recv(65536)
        if not part:
            break
        body += part
    return Request(method, target, headers, body)


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``predicate`` for at most ``timeout`` seconds (test helper)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()
