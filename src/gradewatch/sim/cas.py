"""A 金智 (Wisedu) CAS authserver simulator, both generations (school-systems.md §6a).

It signs students in for other simulators: ``GET /authserver/login?service=S`` shows the form
(or, with a live ``CASTGC`` cookie, redirects straight to ``S?ticket=ST-…``), the password arrives
AES-encrypted with the page's salt (decrypted here as the real server does), tickets are single-use
and validated by the system at ``/authserver/serviceValidate`` (CAS 2.0 XML). Captcha modes:
none, always, after three wrong passwords (as real servers switch it on), or the slider.
"""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass
from html import escape
from typing import Any, ClassVar
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gradewatch.frontdoor.cas_crypto import ALPHABET, decrypt_password
from gradewatch.frontdoor.cas_rsa import PUBKEY_PATH, key_json, rsa_decrypt_password
from gradewatch.sim.base import Outcome, Session, Simulator
from gradewatch.sim.captchas import CaptchaSource, RenderedCaptchas

ROOT = "/authserver"
TGC = "CASTGC"
WRONG_CREDENTIALS = "您提供的用户名或者密码有误"
WRONG_CAPTCHA = "无效的验证码"
#: Tickets live seconds, as on real CAS servers (the system validates right after the redirect).
TICKET_TTL = 60.0
CAPTCHA_MODES = ("none", "always", "after_failures", "slider")
CIPHERS = ("aes", "rsa")


@dataclass
class _Ticket:
    username: str
    service: str
    issued: float


class CasSimulator(Simulator):
    # A front door, not an academic system: it stays out of the system registry.
    system: ClassVar[str] = ""
    session_cookie: ClassVar[str] = "JSESSIONID"
    cookie_path: ClassVar[str] = ROOT
    lock_after: ClassVar[int] = 5
    captcha_case_sensitive: ClassVar[bool] = False
    wrong_captcha_text: ClassVar[str] = WRONG_CAPTCHA
    bad_credentials_text: ClassVar[str] = WRONG_CREDENTIALS

    def __init__(self, students: Any, *, generation: str = "new", captcha: str = "none", cipher: str = "aes",
                 single_login: bool = False, tgc_ttl: float = 7 * 86400.0, **kwargs: Any) -> None:
        super().__init__(students, **kwargs)
        if generation not in ("old", "new"):
            raise ValueError("generation must be 'old' or 'new'")
        if captcha not in CAPTCHA_MODES:
            raise ValueError(f"captcha must be one of {', '.join(CAPTCHA_MODES)}")
        if cipher not in CIPHERS:
            raise ValueError(f"cipher must be one of {', '.join(CIPHERS)}")
        self.generation = generation
        self.captcha_mode = captcha
        #: "aes": the page's salt (both generations); "rsa": no salt, an RSA key from v2/getPubKey.
        self.cipher = cipher
        #: 单处登录: a student signed in elsewhere is asked to end the other sessions or cancel.
        self.single_login = single_login
        self._kicks: dict[str, tuple[str, str, str, str]] = {}  # session → (continue, cancel, username, service)
        self.kicked_sessions = 0
        self._rsa_key: Any = None
        if cipher == "rsa":
            from cryptography.hazmat.primitives.asymmetric import rsa

            self._rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
        self.tgc_ttl = tgc_ttl
        self._tgcs: dict[str, tuple[str, float]] = {}
        self._tickets: dict[str, _Ticket] = {}
        self._salts: dict[str, str] = {}
        self._executions: dict[str, str] = {}
        self._sliders: dict[str, int] = {}  # session id → the expected move length
        #: Raw bodies of login POSTs (tests check the password never travels in plaintext).
        self.login_bodies: list[bytes] = []
        self.ticket_validations = 0

    def default_captchas(self) -> CaptchaSource:
        from gradewatch.captcha.render import render_ssfw

        return RenderedCaptchas(render_ssfw, charset="0123456789abcdefghijklmnopqrstuvwxyz", length=4,
                                seed=self.seed, image_format="JPEG")

    def routes(self) -> list[BaseRoute]:
        new = self.generation == "new"
        return [
            Route(f"{ROOT}/login", self.login_page, methods=["GET"]),
            Route(f"{ROOT}/login", self.login_post, methods=["POST"]),
            Route(f"{ROOT}/checkNeedCaptcha.htl" if new else f"{ROOT}/needCaptcha.html", self.need_captcha),
            Route(f"{ROOT}/getCaptcha.htl" if new else f"{ROOT}/captcha.html", self.captcha_image),
            Route(f"{ROOT}/common/openSliderCaptcha.htl", self.open_slider),
            Route(f"{ROOT}/common/verifySliderCaptcha.htl", self.verify_slider, methods=["POST"]),
            Route(f"{ROOT}/serviceValidate", self.service_validate),
            Route(f"{ROOT}/p3/serviceValidate", self.service_validate),
            Route(f"{ROOT}/logout", self.logout),
            Route(f"{ROOT}{PUBKEY_PATH}", self.public_key),
        ]

    # ---- tickets -----------------------------------------------------------------------------
    def _tgc_user(self, request: Request) -> str | None:
        tgc = request.cookies.get(TGC)
        entry = self._tgcs.get(tgc) if tgc else None
        if entry is None or entry[1] < time.time():
            return None
        return entry[0]

    def _grant(self, username: str, service: str) -> RedirectResponse:
        st = "ST-" + secrets.token_hex(12)
        self._tickets[st] = _Ticket(username, service, time.monotonic())
        sep = "&" if "?" in service else "?"
        return RedirectResponse(f"{service}{sep}ticket={st}", 302)

    async def service_validate(self, request: Request) -> Response:
        self.ticket_validations += 1
        st, service = request.query_params.get("ticket", ""), request.query_params.get("service", "")
        ticket = self._tickets.pop(st, None)  # single use
        if ticket is None or ticket.service != service or time.monotonic() - ticket.issued > TICKET_TTL:
            body = (f'<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas"><cas:authenticationFailure '
                    f'code="INVALID_TICKET">Ticket {escape(st)} not recognized</cas:authenticationFailure>'
                    "</cas:serviceResponse>")
        else:
            body = ('<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas"><cas:authenticationSuccess>'
                    f"<cas:user>{escape(ticket.username)}</cas:user></cas:authenticationSuccess></cas:serviceResponse>")
        return Response(body, media_type="application/xml;charset=UTF-8")

    def sign_in_elsewhere(self, username: str) -> None:
        """The student signs in from a browser somewhere else (a live ticket-granting ticket)."""
        self._tgcs["TGT-" + secrets.token_hex(16)] = (username, time.time() + self.tgc_ttl)

    def _other_sessions(self, username: str) -> list[str]:
        now = time.time()
        return [t for t, (user, until) in self._tgcs.items() if user == username and until > now]

    def _kick_page(self, sess: Session, username: str, service: str) -> Response:
        # The real page (a published client of 重庆大学's authserver reads it): a table of the other
        # sessions (class kick_table) and two forms, id continue and id cancel, each with its own
        # execution; _eventId=continue ends the other sessions and signs in, cancel goes back.
        go, stop = secrets.token_hex(24), secrets.token_hex(24)
        self._kicks[sess.id] = (go, stop, username, service)
        action = escape(f"{ROOT}/login?" + urlencode({"service": service}))
        body = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>统一身份认证</title></head><body>
<div class="kick_box"><p>您的账号已在其他地方登录，本系统只允许单处登录。</p>
<table class="kick_table"><tr><th>登录时间</th><th>登录IP</th></tr>
<tr><td>2024-03-01 08:00</td><td>10.0.0.8</td></tr></table>
<form method="post" id="continue" action="{action}"><input type="hidden" name="execution" value="{go}">
<input type="hidden" name="_eventId" value="continue"><button type="submit">踢出其他会话并登录</button></form>
<form method="post" id="cancel" action="{action}"><input type="hidden" name="execution" value="{stop}">
<input type="hidden" name="_eventId" value="cancel"><button type="submit">取消登录</button></form>
</div></body></html>"""
        resp = Response(body, 200, media_type="text/html;charset=UTF-8")
        self.set_cookie(resp, sess)
        return resp

    def _signed_in(self, username: str, service: str, remember: bool) -> Response:
        tgc = "TGT-" + secrets.token_hex(16)
        ttl = self.tgc_ttl if remember else 8 * 3600.0
        self._tgcs[tgc] = (username, time.time() + ttl)
        resp = self._grant(username, service) if service else RedirectResponse(f"{ROOT}/index", 302)
        resp.set_cookie(TGC, tgc, path=ROOT, httponly=True)
        return resp

    def _kick_answer(self, sess: Session, form: dict[str, str], service: str) -> Response:
        go, stop, username, kick_service = self._kicks.pop(sess.id)
        if form.get("_eventId") == "continue" and form.get("execution") == go:
            for tgc in self._other_sessions(username):
                del self._tgcs[tgc]
                self.kicked_sessions += 1
            return self._signed_in(username, kick_service, remember=True)
        return self._page(sess, service)  # cancelled (or a stale form): the login page again

    # ---- the login page ----------------------------------------------------------------------
    def _page(self, sess: Session, service: str, error: str = "", status: int = 200) -> Response:
        salt = "".join(secrets.choice(ALPHABET) for _ in range(16))
        execution = secrets.token_hex(24)
        self._salts[sess.id], self._executions[sess.id] = salt, execution
        action = f"{ROOT}/login?" + urlencode({"service": service})
        slider = "<script>function openSlider(){ $.get('common/openSliderCaptcha.htl'); }</script>" \
            if self.captcha_mode == "slider" else ""
        salt_input = f'<input type="hidden" id="pwdEncryptSalt" value="{salt}">'
        salt_script = f'<script>var pwdDefaultEncryptSalt = "{salt}";</script>'
        if self.cipher == "rsa":
            # The RSA build carries no salt; its script asks for the key before encrypting.
            salt_input = salt_script = ""
            slider += "<script>var pubKeyUrl = 'v2/getPubKey';</script>"
        if self.generation == "new":
            body = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>统一身份认证</title></head><body>
<form id="pwdFromId" method="post" action="{escape(action)}">
<input id="username" name="username" type="text"><input id="password" type="password" placeholder="密码">
<input type="hidden" id="saltPassword" name="password" value="">
{salt_input}
<input type="hidden" id="captcha" name="captcha" value="">
<input type="checkbox" id="rememberMe" name="rememberMe" value="true">
<input type="hidden" name="_eventId" value="submit"><input type="hidden" name="cllt" value="userNameLogin">
<input type="hidden" name="dllt" value="generalLogin"><input type="hidden" name="lt" value="">
<input type="hidden" name="execution" value="{execution}">
<span id="showErrorTip">{('<span>' + escape(error) + '</span>') if error else ''}</span>
</form><script>var checkUrl = "checkNeedCaptcha.htl";</script>{slider}</body></html>"""
        else:
            body = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>统一身份认证平台</title>
{salt_script}</head><body>
<form id="casLoginForm" method="post" action="{escape(action)}">
<input id="username" name="username" type="text"><input id="password" name="password" type="password">
<input id="captchaResponse" name="captchaResponse" type="text">
<input type="checkbox" id="rememberMe" name="rememberMe">
<input type="hidden" name="lt" value="LT-{secrets.token_hex(8)}-cas"><input type="hidden" name="dllt"
 value="userNamePasswordLogin"><input type="hidden" name="execution" value="{execution}">
<input type="hidden" name="_eventId" value="submit"><input type="hidden" name="rmShown" value="1">
{('<span id="msg" class="auth_error">' + escape(error) + '</span>') if error else ''}
</form><script>var needCaptchaUrl = "needCaptcha.html";</script>{slider}</body></html>"""
        resp = Response(body, status, media_type="text/html;charset=UTF-8")
        self.set_cookie(resp, sess)
        return resp

    async def login_page(self, request: Request) -> Response:
        service = request.query_params.get("service", "")
        user = self._tgc_user(request)
        if user is not None and service:
            return self._grant(user, service)
        sess, _ = self.session_or_new(request)
        return self._page(sess, service)

    def _needs_captcha(self, username: str) -> bool:
        if self.captcha_mode in ("always", "slider"):
            return True
        if self.captcha_mode == "after_failures":
            student = self.students.get(username)
            return student is not None and student.wrong_passwords >= 3
        return False

    async def need_captcha(self, request: Request) -> Response:
        needed = self._needs_captcha(request.query_params.get("username", ""))
        if self.generation == "new":
            return JSONResponse({"isNeed": needed})
        return Response("true" if needed else "false", media_type="text/plain")

    async def captcha_image(self, request: Request) -> Response:
        sess, fresh = self.session_or_new(request)
        image, media_type = self.issue_captcha(sess)
        resp = Response(image, media_type=media_type)
        if fresh:
            self.set_cookie(resp, sess)
        return resp

    async def open_slider(self, request: Request) -> Response:
        import random

        from gradewatch.sim.slider import make_challenge

        sess, fresh = self.session_or_new(request)
        ch = make_challenge(random.Random(secrets.randbits(32)))
        # The page draws the background on a 280-px canvas and expects the gap position there, less
        # half the piece's width (school-systems.md §6a).
        self._sliders[sess.id] = round(ch.gap_x * 280 / ch.width - ch.tag_width / 2)
        resp = JSONResponse({"bigImage": base64.b64encode(ch.background).decode(),
                             "smallImage": base64.b64encode(ch.piece).decode(),
                             "tagWidth": ch.tag_width, "yHeight": ch.y})
        if fresh:
            self.set_cookie(resp, sess)
        return resp

    async def verify_slider(self, request: Request) -> Response:
        sess = self.session(request)
        form = await self.form(request)
        expected = self._sliders.pop(sess.id, None) if sess else None
        try:
            given = int(float(form.get("moveLength", "")))
        except ValueError:
            given = -10_000
        ok = sess is not None and expected is not None and abs(given - expected) <= 4
        if ok and sess is not None:
            sess.captcha = "slider-passed"  # consumed by the login POST like an image captcha
        return JSONResponse({"errorCode": 1 if ok else 0, "errorMsg": "success" if ok else "error"})

    async def login_post(self, request: Request) -> Response:
        service = request.query_params.get("service", "")
        raw = await request.body()
        self.login_bodies = [*self.login_bodies[-49:], raw]
        form = await self.form(request)
        sess = self.session(request)
        if sess is not None and sess.id in self._kicks and form.get("_eventId") in ("continue", "cancel"):
            return self._kick_answer(sess, form, service)
        if sess is None or form.get("execution") != self._executions.get(sess.id):
            sess = sess or self.new_session()
            return self._page(sess, service, "登录页面已过期，请重新登录")
        username = form.get("username", "")
        try:
            if self.cipher == "rsa":
                password = rsa_decrypt_password(form.get("password", ""), self._rsa_key)
            else:
                password = decrypt_password(form.get("password", ""), self._salts.get(sess.id, ""))
        except ValueError:
            password = "\0invalid"  # a password that matches nobody: a wrong password, as on the real server
        captcha: str | None = None
        if self._needs_captcha(username):
            captcha = "slider-passed" if self.captcha_mode == "slider" else form.get(
                "captcha" if self.generation == "new" else "captchaResponse", "")
        result = self.attempt_login(sess, username, password, captcha)
        if result.outcome is Outcome.OK and result.student is not None:
            if self.single_login and self._other_sessions(result.student.username):
                return self._kick_page(sess, result.student.username, service)
            return self._signed_in(result.student.username, service, form.get("rememberMe") in ("true", "on"))
        if result.outcome is Outcome.LOCKED:
            return Response("<html><body><h2>401</h2><p>账号已被冻结</p></body></html>", 401, media_type="text/html")
        return self._page(sess, service, self.error_text(result))

    async def public_key(self, request: Request) -> Response:
        if self._rsa_key is None:
            return Response("<html><body>404</body></html>", 404, media_type="text/html")
        return JSONResponse(key_json(self._rsa_key))

    async def logout(self, request: Request) -> Response:
        tgc = request.cookies.get(TGC)
        if tgc:
            self._tgcs.pop(tgc, None)
        resp = Response("<html><body>注销成功</body></html>", media_type="text/html")
        resp.delete_cookie(TGC, path=ROOT)
        return resp

    def expire_sessions(self, username: str | None = None) -> int:
        # The CAS forgetting a student also forgets the ticket-granting tickets (as on TGT expiry):
        # the next sign-in asks for the password again.
        for tgc in [t for t, (user, _) in self._tgcs.items() if username is None or user == username]:
            del self._tgcs[tgc]
        return super().expire_sessions(username)

    def stats(self) -> dict[str, Any]:
        out = super().stats()
        out["ticket_validations"] = self.ticket_validations
        return out


def validate_ticket_url(cas_root: str, ticket: str, service: str) -> str:
    """Where a system validates a ticket (CAS 2.0)."""
    return f"{cas_root.rstrip('/')}{ROOT}/serviceValidate?" + urlencode({"ticket": ticket, "service": service})


def parse_validation(xml: str) -> str | None:
    """The user of a CAS 2.0 serviceValidate answer, or None."""
    start, end = xml.find("<cas:user>"), xml.find("</cas:user>")
    if "authenticationSuccess" not in xml or start < 0 or end < 0:
        return None
    return xml[start + len("<cas:user>") : end].strip() or None


def host_of(url: str) -> str:
    return urlsplit(url).netloc

