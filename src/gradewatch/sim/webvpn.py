"""A WebVPN simulator: the common campus WebVPN in front of our other simulators.

``/{scheme}[-{port}]/{hex(iv)}{hex(AES-CFB(host))}/{path}`` is proxied to ``scheme://host:port/path``
for a signed-in VPN session (cookie ``wengine_vpn_ticket``); anyone else is sent to the VPN's
login, which signs in through the school's CAS. As the real product does, the VPN keeps the
systems' cookies itself (per VPN session and host) and rewrites their redirects into its own
URL scheme; the client only ever holds the VPN's ticket.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from gradewatch.frontdoor.webvpn import DEFAULT_KEY, WebVpn
from gradewatch.sim.cas import ROOT, parse_validation, validate_ticket_url

TICKET = "wengine_vpn_ticket"
_HOP = {"host", "cookie", "content-length", "connection", "accept-encoding", "transfer-encoding"}


class WebVpnSimulator:
    def __init__(self, *, cas_url: str, key: str = DEFAULT_KEY, iv: str = DEFAULT_KEY) -> None:
        self.cas_url = cas_url.rstrip("/")
        self.key, self.iv = key, iv
        self.base_url = ""  # set by serve(): the VPN's own URL
        self._sessions: dict[str, dict[str, httpx.Cookies]] = {}  # ticket → host → the system's cookies
        self.logins = 0
        #: The VPN answers 503 to everything (the campus is down).
        self.down = False
        self.proxied = 0
        self.rejected = 0

    @property
    def vpn(self) -> WebVpn:
        return WebVpn(self.base_url, self.key, self.iv)

    def app(self) -> Any:
        inner = Starlette(routes=[
            Route("/login", self.login),
            Route("/", self.portal),
            Route("/{scheme}/{token}/{path:path}", self.proxy, methods=["GET", "POST", "HEAD"]),
            Route("/_admin/expire", self.expire_route, methods=["POST"]),
        ])

        async def app(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http" and self.down and not scope["path"].startswith("/_admin"):
                await Response("<html><body><h1>503 Service Unavailable</h1></body></html>", 503,
                               media_type="text/html")(scope, receive, send)
                return
            await inner(scope, receive, send)

        return app

    def _session(self, request: Request) -> dict[str, httpx.Cookies] | None:
        return self._sessions.get(request.cookies.get(TICKET, ""))

    async def login(self, request: Request) -> Response:
        service = f"{self.base_url}/login?cas_login=true"
        ticket = request.query_params.get("ticket")
        if not ticket:
            return RedirectResponse(f"{self.cas_url}{ROOT}/login?" + urlencode({"service": service}), 302)
        async with httpx.AsyncClient(timeout=10) as http:
            answer = await http.get(validate_ticket_url(self.cas_url, ticket, service))
        if parse_validation(answer.text) is None:
            return Response("<html><body>认证失败</body></html>", 403, media_type="text/html")
        vpn_ticket = secrets.token_hex(16)
        self._sessions[vpn_ticket] = {}
        self.logins += 1
        resp = RedirectResponse("/", 302)
        resp.set_cookie(TICKET, vpn_ticket, path="/", httponly=True)
        return resp

    async def portal(self, request: Request) -> Response:
        if self._session(request) is None:
            return RedirectResponse("/login", 302)
        return Response("<html><head><title>WebVPN 门户</title></head><body>资源列表</body></html>",
                        media_type="text/html;charset=utf-8")

    def expire(self) -> int:
        """Forget every VPN session (the systems' cookies kept for them go too)."""
        n = len(self._sessions)
        self._sessions.clear()
        return n

    async def expire_route(self, request: Request) -> Response:
        return Response(f'{{"expired": {self.expire()}}}', media_type="application/json")

    async def proxy(self, request: Request) -> Response:
        jar = self._session(request)
        if jar is None:
            self.rejected += 1
            return RedirectResponse("/login", 302)
        target = self.vpn.decode(str(request.url))
        if target == str(request.url):
            return Response("<html><body>无效的地址</body></html>", 404, media_type="text/html")
        host = httpx.URL(target).netloc.decode()
        cookies = jar.setdefault(host, httpx.Cookies())
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        if "referer" in headers:
            headers["referer"] = self.vpn.decode(headers["referer"])
        self.proxied += 1
        async with httpx.AsyncClient(timeout=30, follow_redirects=False, cookies=cookies) as http:
            upstream = await http.request(request.method, target, headers=headers, content=await request.body())
            cookies.update(http.cookies)
        out_headers: dict[str, Any] = {k: v for k, v in upstream.headers.items()
                                       if k.lower() not in {"set-cookie", "content-length", "content-encoding",
                                                            "transfer-encoding", "connection"}}
        if "location" in upstream.headers:
            absolute = str(upstream.url.join(upstream.headers["location"]))
            out_headers["location"] = self.vpn.encode(absolute) if absolute.startswith("http") else absolute
        return Response(upstream.content, upstream.status_code, headers=out_headers)
