"""Loopback stand-ins of the push services: they answer as the real ones do (their real JSON
success and error bodies, HTTP 200 with an error code where the service does that), enforce the
service's size limit, and record what arrived. For tests and for trying a config without sending.

    with PushStandin("serverchan") as s:
        url = f"schan://SCT…?base={s.base}"
        s.mode = "app_error"      # ok | app_error | client_error | server_error | timeout | hang
                                  # | quota | recipient_refused (services that have them)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Body = dict[str, Any]
Answer = tuple[int, Any]


@dataclass(frozen=True)
class Profile:
    ok: Body
    app_error: Answer  # the service saying "no" (bad key, banned bot …), mostly with HTTP 200
    client_error: Answer
    content: Callable[[Body], str]  # what the service counts against its limit
    title: Callable[[Body], str]
    limit: int
    unit: str = "bytes"
    too_long: Answer = (200, {"errcode": 40058, "errmsg": "content exceed max length"})
    server_error: Answer = (502, "<html><head><title>502 Bad Gateway</title></head></html>")
    #: The service's own answers to "quota" (a daily limit) and "recipient_refused" (the request
    #: was valid but a recipient refused), for the services that have them.
    quota: Answer | None = None
    recipient_refused: Answer | None = None


def _j(*path: str) -> Callable[[Body], str]:
    def get(b: Body) -> str:
        cur: Any = b
        for p in path:
            cur = cur.get(p, "") if isinstance(cur, dict) else ""
        return str(cur)

    return get


_NOT_FOUND: Answer = (404, "<html><body><h1>404 Not Found</h1></body></html>")

PROFILES: dict[str, Profile] = {
    "serverchan": Profile(
        ok={"code": 0, "message": "", "data": {"pushid": "9981", "readkey": "SCTr8k", "error": "SUCCESS", "errno": 0}},
        app_error=(200, {"code": 40001, "message": "bad pushtoken", "data": None}),
        client_error=_NOT_FOUND, content=_j("desp"), title=_j("title"), limit=32 * 1024,
        too_long=(200, {"code": 40002, "message": "desp too long"}),
        # The free plan's daily limit, as published clients met it: the bad-key code, another message.
        quota=(400, {"code": 40001, "message": "[AUTH]超过当天的发送次数限制[5]，请稍后再试", "data": None})),
    "serverchan3": Profile(
        ok={"code": 0, "message": "SUCCESS", "errno": 0, "data": {"pushid": "51", "meta": {}}},
        app_error=(200, {"code": 40001, "message": "bad pushtoken", "errno": 40001}),
        client_error=_NOT_FOUND, content=_j("desp"), title=_j("title"), limit=32 * 1024,
        too_long=(200, {"code": 40002, "message": "desp too long"})),
    "pushplus": Profile(
        ok={"code": 200, "msg": "请求成功", "data": "1f7ed3c51ac4e6a6", "count": None},
        app_error=(200, {"code": 903, "msg": "无效的用户token", "data": None}),
        client_error=_NOT_FOUND, content=_j("content"), title=_j("title"), limit=20000, unit="chars",
        too_long=(200, {"code": 999, "msg": "内容长度超过限制", "data": None})),
    "wxpusher": Profile(
        ok={"code": 1000, "msg": "处理成功", "data": [{"uid": "UID_x", "status": "创建发送任务成功", "code": 1000}],
            "success": True},
        app_error=(200, {"code": 1002, "msg": "appToken不正确或者已经过期", "data": None, "success": False}),
        client_error=_NOT_FOUND, content=_j("content"), title=_j("summary"), limit=40000, unit="chars",
        too_long=(200, {"code": 1007, "msg": "内容长度超过限制", "success": False}),
        # Valid request, one verdict per recipient (the vendor SDK's MessageResult): this one refused.
        recipient_refused=(200, {"code": 1000, "msg": "处理成功", "success": True,
                                 "data": [{"uid": "UID_x", "status": "用户不存在或者已经取消关注", "code": 1004}]})),
    "wecombot": Profile(
        ok={"errcode": 0, "errmsg": "ok"},
        app_error=(200, {"errcode": 93000, "errmsg": "invalid webhook url, hint: [1700000000_1_abc]"}),
        client_error=_NOT_FOUND, content=_j("markdown", "content"), title=lambda b: "", limit=4096),
    "wecomapp": Profile(
        ok={"errcode": 0, "errmsg": "ok", "invaliduser": ""},
        app_error=(200, {"errcode": 81013, "errmsg": "user & party & tag all invalid"}),
        client_error=_NOT_FOUND, content=_j("text", "content"), title=lambda b: "", limit=2048,
        too_long=(200, {"errcode": 44004, "errmsg": "text content exceed limit"})),
    "wechatmp": Profile(
        ok={"errcode": 0, "errmsg": "ok", "msgid": 200228332},
        app_error=(200, {"errcode": 43004, "errmsg": "require subscribe hint: [Jd0F7a0Ma-]"}),
        client_error=_NOT_FOUND, content=_j("data", "remark", "value"), title=_j("data", "first", "value"),
        limit=1000, unit="chars"),
    "dingtalk": Profile(
        ok={"errcode": 0, "errmsg": "ok"},
        app_error=(200, {"errcode": 310000, "errmsg": "keywords not in content"}),
        client_error=_NOT_FOUND, content=_j("markdown", "text"), title=_j("markdown", "title"), limit=20000,
        too_long=(200, {"errcode": 460101, "errmsg": "message too long"})),
    "feishu": Profile(
        ok={"StatusCode": 0, "StatusMessage": "success", "code": 0, "data": {}, "msg": "success"},
        app_error=(200, {"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time",
                         "data": {}}),
        client_error=(400, {"code": 9499, "msg": "Bad Request", "data": {}}),
        content=lambda b: json.dumps(b, ensure_ascii=False), title=_j("card", "header", "title", "content"),
        limit=20 * 1024, too_long=(200, {"code": 9499, "msg": "request body too large", "data": {}})),
    "bark": Profile(
        ok={"code": 200, "message": "success", "timestamp": 1700000000},
        app_error=(200, {"code": 400, "message": "failed to get device token: device token not found",
                         "timestamp": 1700000000}),
        client_error=(400, {"code": 400, "message": "device key is empty", "timestamp": 1700000000}),
        content=lambda b: json.dumps({"aps": {"alert": {"title": b.get("title"), "body": b.get("body")}}},
                                     ensure_ascii=False),
        title=_j("title"), limit=4096,
        too_long=(200, {"code": 500, "message": "push failed: PayloadTooLarge", "timestamp": 1700000000})),
    "telegram": Profile(
        ok={"ok": True, "result": {"message_id": 42, "chat": {"id": 12345, "type": "private"}, "date": 1700000000}},
        app_error=(200, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}),
        client_error=(401, {"ok": False, "error_code": 401, "description": "Unauthorized"}),
        content=_j("text"), title=lambda b: "", limit=4096, unit="chars",
        too_long=(400, {"ok": False, "error_code": 400, "description": "Bad Request: message is too long"})),
    "ntfy": Profile(
        ok={"id": "sPs71M8A2T", "time": 1700000000, "expires": 1700043200, "event": "message", "topic": "t"},
        app_error=(200, {"code": 40301, "http": 403, "error": "forbidden", "link": "https://ntfy.sh/docs/publish/"}),
        client_error=(401, {"code": 40101, "http": 401, "error": "unauthorized"}),
        content=_j("message"), title=_j("title"), limit=4096,
        too_long=(413, {"code": 41301, "http": 413, "error": "request entity too large"})),
    "webhook": Profile(
        ok={"code": 0, "msg": "ok"},
        app_error=(200, {"code": 401, "msg": "invalid token"}),
        client_error=(404, {"msg": "no such hook"}),
        content=_j("message"), title=_j("title"), limit=65536),
}


@dataclass
class Received:
    path: str
    body: Body
    title: str
    content: str
    answered: str  # the mode it was answered with
    authorization: str = ""  # the request's Authorization header, if any


@dataclass
class PushStandin:
    service: str
    mode: str = "ok"
    #: Modes for the next requests, in order, before falling back to ``mode``.
    script: list[str] = field(default_factory=list)
    delay: float = 1.0  # how long "timeout" waits before answering
    #: DingTalk 加签 / Feishu signing secret: a request without the right signature is refused
    #: as the service refuses it.
    secret: str | None = None
    #: 企业微信 app: access tokens the stand-in has issued, and those it now calls expired.
    tokens_issued: int = 0
    revoked_tokens: set[str] = field(default_factory=set)
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.profile = PROFILES[self.service]
        self.release = threading.Event()  # ends every "hang"
        self.lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._server.block_on_close = False  # a handler still sleeping in "timeout" must not hold up exit
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> PushStandin:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    def delivered(self) -> list[Received]:
        """Messages the service accepted (answered with its success body)."""
        with self.lock:
            return [r for r in self.received if r.answered == "ok"]

    def answer(self, path: str, body: Body, params: dict[str, str] | None = None, authorization: str = "") -> Answer:
        if self.secret and not _signed(self.service, self.secret, body, params or {}):
            with self.lock:
                self.received.append(Received(path, body, "", "", "bad_sign"))
            if self.service == "dingtalk":
                return 200, {"errcode": 310000, "errmsg": "sign not match, more: [https://ding-doc.dingtalk.com/]"}
            return 200, {"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time"}
        if path.endswith("/cgi-bin/gettoken"):
            with self.lock:
                self.tokens_issued += 1
                return 200, {"errcode": 0, "errmsg": "ok", "access_token": f"ACCESS_TOKEN_{self.tokens_issued}",
                             "expires_in": 7200}
        if path.endswith("/cgi-bin/token"):  # WeChat 公众号: success has no errcode
            with self.lock:
                self.tokens_issued += 1
                if (params or {}).get("grant_type") != "client_credential":
                    return 200, {"errcode": 40002, "errmsg": "invalid grant_type"}
                return 200, {"access_token": f"ACCESS_TOKEN_{self.tokens_issued}", "expires_in": 7200}
        if self.service in ("wecomapp", "wechatmp") and (params or {}).get("access_token") in self.revoked_tokens:
            return 200, {"errcode": 42001, "errmsg": "access_token expired"}
        with self.lock:
            mode = self.script.pop(0) if self.script else self.mode
            content, title = self.profile.content(body), self.profile.title(body)
            size = len(content.encode()) if self.profile.unit == "bytes" else len(content)
            if mode == "ok" and size > self.profile.limit:
                mode = "too_long"
            self.received.append(Received(path, body, title, content, mode, authorization))
        if mode == "timeout":
            time.sleep(self.delay)
        if mode == "hang":
            self.release.wait(30)
            return 503, {"error": "gone"}
        return {"ok": (200, self.profile.ok), "app_error": self.profile.app_error, "timeout": (200, self.profile.ok),
                "client_error": self.profile.client_error, "server_error": self.profile.server_error,
                "too_long": self.profile.too_long, "quota": self.profile.quota or self.profile.app_error,
                "recipient_refused": self.profile.recipient_refused or self.profile.app_error}[mode]


def _signed(service: str, secret: str, body: Body, params: dict[str, str]) -> bool:
    """Check a request's signature the way DingTalk (query: timestamp in ms, sign = base64 HMAC-SHA256
    of "ts\\nsecret" keyed with the secret) and Feishu (body: timestamp in s, sign = base64 HMAC-SHA256
    of nothing keyed with "ts\\nsecret") do, including the one-hour clock window."""
    if service == "dingtalk":
        ts, sign = params.get("timestamp", ""), params.get("sign", "")
        expect = hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
        fresh = ts.isdigit() and abs(time.time() * 1000 - int(ts)) < 3600_000
    elif service == "feishu":
        ts, sign = str(body.get("timestamp", "")), str(body.get("sign", ""))
        expect = hmac.new(f"{ts}\n{secret}".encode(), b"", hashlib.sha256).digest()
        fresh = ts.isdigit() and abs(time.time() - int(ts)) < 3600
    else:
        return True
    return fresh and hmac.compare_digest(sign, base64.b64encode(expect).decode())


def _handler(standin: PushStandin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            ctype = self.headers.get("Content-Type", "")
            body: Body
            if "json" in ctype:
                body = json.loads(raw or b"{}")
            else:
                body = {k: v[-1] for k, v in parse_qs(raw.decode()).items()}
            parts = urlsplit(self.path)
            params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            status, payload = standin.answer(parts.path, body, params, self.headers.get("Authorization", ""))
            data = payload.encode() if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "text/html" if isinstance(payload, str) else "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:  # the client gave up (timeout test)
                pass

        do_POST = _serve  # noqa: N815
        do_GET = _serve  # noqa: N815

    return Handler
