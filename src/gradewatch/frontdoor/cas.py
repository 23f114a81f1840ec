"""金智 (Wisedu) CAS authserver as a front door: sign in once, then the system adapter continues.

Both generations of school-systems.md §6a: the old build (``casLoginForm``, salt in the page's
script as ``pwdDefaultEncryptSalt``, ``needCaptcha.html``, field ``captchaResponse``) and the new
one (``pwdEncryptSalt`` input, ``checkNeedCaptcha.htl``, ``getCaptcha.htl``, field ``captcha``, the
slider ``openSliderCaptcha.htl``/``verifySliderCaptcha.htl``). The CAS ticket-granting cookie
(``CASTGC``, kept for about a week with ``rememberMe``) is reused, so the password is sent only when
the CAS itself asks for it — and, as everywhere in gradewatch, a wrong password never twice.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import httpx

from gradewatch.frontdoor.cas_crypto import encrypt_password
from gradewatch.schools.errors import AccountLocked, SchoolError, UnexpectedPage, WrongCaptcha, WrongPassword

if TYPE_CHECKING:
    from gradewatch.schools.base import CaptchaSolver, Credentials, SchoolAdapter

log = logging.getLogger(__name__)


class NeedsUserAction(SchoolError):
    """The CAS asks for something only the student can do (a second factor, kicking other sessions)."""

    kind = "needs_user"


# What a failed CAS login says, most specific first (lock texts may mention the password too).
_LOCKED = ("冻结", "锁定", "已被锁", "账号被禁用")
_WRONG_CAPTCHA = ("无效的验证码", "验证码错误", "验证码不正确", "图形动态码错误", "滑块验证失败")
_WRONG_PASSWORD = ("用户名或者密码有误", "用户名或密码错误", "密码错误", "用户名密码有误", "用户不存在")
_ERROR_SELECTORS = ("#showErrorTip", "#msg", "#errorMsg", ".auth_error", "span.error", "#formErrorTip")


@dataclass
class CasFrontDoor:
    """``cas_base`` is the authserver root (``https://authserver.school.edu.cn/authserver``);
    ``service`` the URL of the academic system's SSO entry that CAS redirects to with a ticket."""

    cas_base: str
    service: str
    remember_me: bool = True
    max_captcha_tries: int = 3
    #: Called right before each password POST (the watcher records the attempt first).
    on_password_submit: Callable[[], None] | None = None
    #: Reads the CAS's image captcha; None: the shipped model named ``captcha_model``.
    solver: CaptchaSolver | None = None
    captcha_model: str = "generic"
    #: On a single-login CAS (单处登录), end the account's other sessions instead of stopping.
    end_other_sessions: bool = False

    @property
    def _host(self) -> str:
        return urlsplit(self.cas_base).netloc

    def on_cas(self, resp: httpx.Response) -> bool:
        return resp.url.netloc.decode() == self._host

    # ---- the flow ----------------------------------------------------------------------------
    def sign_in(self, adapter: SchoolAdapter, creds: Credentials) -> httpx.Response:
        """Reach ``service`` signed in. Returns the system's landing response."""
        resp = self._open(adapter)
        if not self.on_cas(resp):
            log.info("CAS: the ticket-granting cookie still works; no password sent")
            return resp
        last: WrongCaptcha | None = None
        for attempt in range(self.max_captcha_tries):
            if attempt:
                resp = self._open(adapter)
            page = _Page(adapter, resp)
            try:
                return self._submit(adapter, creds, page)
            except WrongCaptcha as err:
                last = err
                log.info("CAS: captcha %d/%d rejected", attempt + 1, self.max_captcha_tries)
        raise WrongCaptcha(f"the CAS rejected the captcha {self.max_captcha_tries} times") from last

    def _open(self, adapter: SchoolAdapter) -> httpx.Response:
        return adapter.get(self.cas_base.rstrip("/") + "/login", params={"service": self.service})

    def _submit(self, adapter: SchoolAdapter, creds: Credentials, page: _Page) -> httpx.Response:
        form = dict(page.hidden)
        form["username"] = creds.username
        form["password"] = page.encrypt(creds.password)
        if self.remember_me:
            form["rememberMe"] = "true" if page.new else "on"
        if page.captcha_needed(creds.username):
            if page.slider:
                page.solve_slider()
            else:
                form[page.captcha_field] = _read_captcha(adapter, page, self)
        if self.on_password_submit is not None:
            self.on_password_submit()
        adapter.stats.password_submissions += 1
        resp = adapter.post(page.action, data=form, headers={"Referer": str(page.resp.url)})
        if resp.status_code == 401:
            raise AccountLocked("the CAS refused the account (HTTP 401: locked or frozen)")
        if not self.on_cas(resp):
            return resp
        text = adapter.text_of(resp)
        if "kick_table" in text and 'id="continue"' in text:
            return self._other_sessions(adapter, resp, text)
        if "reAuthCheck" in str(resp.url) or "isMultifactor" in text:
            raise NeedsUserAction("the CAS asks for a second factor; sign in once in a browser to trust this device")
        message = _error_text(adapter, text)
        if any(w in message for w in _LOCKED):
            raise AccountLocked(f"the CAS locked the account: {message[:120]}")
        if any(w in message for w in _WRONG_CAPTCHA):
            raise WrongCaptcha("the CAS rejected the captcha")
        if any(w in message for w in _WRONG_PASSWORD):
            raise WrongPassword("the CAS says the username or password is wrong")
        if "应用未注册" in message or "未注册" in message:
            raise UnexpectedPage(f"the CAS does not know the service {self.service!r} (应用未注册)")
        visible = message or _visible(adapter, text)
        raise UnexpectedPage(f"the CAS login answer is neither a success nor a known error: {visible[:200]!r}",
                             url=str(resp.url.copy_with(query=None)))


    def _other_sessions(self, adapter: SchoolAdapter, resp: httpx.Response, text: str) -> httpx.Response:
        """The single-login page: the password was right, the account is signed in elsewhere. Its two
        forms (``#continue``: end the other sessions, ``#cancel``) each carry their own execution."""
        tree = adapter.html(text)
        choice = "continue" if self.end_other_sessions else "cancel"
        form = tree.css_first(f"form#{choice}")
        execution = form.css_first('input[name="execution"]') if form is not None else None
        if form is None or execution is None:
            raise adapter.unexpected("the CAS's other-sessions page has no continue/cancel form", resp, tree)
        if adapter.on_login_accepted is not None:  # the CAS accepted the password: the login gate clears
            adapter.on_login_accepted()
        action = urljoin(str(resp.url), str(form.attributes.get("action") or str(resp.url)))
        answer = adapter.post(action, data={"execution": str(execution.attributes.get("value") or ""),
                                            "_eventId": choice}, headers={"Referer": str(resp.url)})
        if not self.end_other_sessions:
            raise NeedsUserAction("the account is signed in elsewhere and the CAS allows one session at a time: "
                                  "sign out there, or set cas_end_other_sessions = true to let gradewatch end "
                                  "the other sessions")
        if self.on_cas(answer):
            raise UnexpectedPage("the CAS did not continue after ending the other sessions",
                                 url=str(answer.url.copy_with(query=None)))
        log.info("CAS: ended the account's other sessions (cas_end_other_sessions)")
        return answer


class _Page:
    """The CAS login page of one attempt: its form, salt and captcha kind."""

    def __init__(self, adapter: SchoolAdapter, resp: httpx.Response) -> None:
        self.adapter = adapter
        self.resp = resp
        text = adapter.text_of(resp)
        tree = adapter.html(text)
        field = tree.css_first('input[name="username"]')
        form = field
        while form is not None and form.tag != "form":
            form = form.parent
        if field is None or form is None:
            raise adapter.unexpected("the CAS login page has no login form", resp, tree)
        self.action = urljoin(str(resp.url), str(form.attributes.get("action") or str(resp.url)))
        self.hidden = {
            str(i.attributes["name"]): str(i.attributes.get("value") or "")
            for i in form.css('input[type="hidden"]')
            if i.attributes.get("name") and i.attributes.get("id") not in ("pwdEncryptSalt", "pwdDefaultEncryptSalt")
        }
        salt_input = tree.css_first("#pwdEncryptSalt") or tree.css_first("#pwdDefaultEncryptSalt")
        m = re.search(r"pwdDefaultEncryptSalt\s*=\s*[\"']([^\"']+)", text)
        self.salt = str(salt_input.attributes.get("value") or "") if salt_input is not None else (m[1] if m else "")
        self.new = tree.css_first("#pwdEncryptSalt") is not None or "checkNeedCaptcha.htl" in text
        self.slider = "openSliderCaptcha" in text
        #: An RSA-keyed build: no salt, the script fetches the key (cas_rsa.PUBKEY_PATH).
        self.rsa = not self.salt and "getPubKey" in text
        self.captcha_field = "captcha" if self.new else "captchaResponse"
        self.root = str(resp.url).split("/login", 1)[0]

    def encrypt(self, password: str) -> str:
        """The password as this page's script would send it."""
        if self.salt:
            return encrypt_password(password, self.salt)
        if self.rsa:
            from gradewatch.frontdoor.cas_rsa import PUBKEY_PATH, rsa_encrypt_password

            r = self.adapter.get(self.root + PUBKEY_PATH, params={"_": str(int(time.time() * 1000))})
            try:
                key = json.loads(self.adapter.text_of(r))
                return rsa_encrypt_password(password, str(key["modulus"]), str(key["exponent"]))
            except (ValueError, KeyError, TypeError, AttributeError):
                raise self.adapter.unexpected("the CAS's RSA public key is not as expected", r) from None
        return password  # a build without client-side encryption sends it as the page does

    def captcha_needed(self, username: str) -> bool:
        ms = str(int(time.time() * 1000))
        if self.new:
            r = self.adapter.get(self.root + "/checkNeedCaptcha.htl", params={"username": username, "_": ms})
            try:
                return bool(json.loads(self.adapter.text_of(r)).get("isNeed"))
            except (ValueError, AttributeError):
                raise self.adapter.unexpected("the CAS captcha check is not JSON", r) from None
        r = self.adapter.get(self.root + "/needCaptcha.html", params={"username": username, "_": ms})
        return self.adapter.text_of(r).strip().lower().startswith("true")

    def solve_slider(self) -> None:
        from gradewatch.frontdoor.slider import SliderError, find_gap, move_length

        r = self.adapter.get(self.root + "/common/openSliderCaptcha.htl", params={"_": str(int(time.time() * 1000))})
        try:
            data: dict[str, Any] = json.loads(self.adapter.text_of(r))
            big, small = base64.b64decode(data["bigImage"]), base64.b64decode(data["smallImage"])
            gap = find_gap(big, small, piece_y=int(data.get("yHeight") or 0))
            width = _png_width(big)
        except (ValueError, KeyError, TypeError, SliderError) as err:
            raise self.adapter.unexpected(f"the CAS slider challenge is not as expected ({err})", r) from None
        move = move_length(gap, width, canvas=280, tag_width=int(data.get("tagWidth") or 0))
        v = self.adapter.post(self.root + "/common/verifySliderCaptcha.htl",
                              data={"canvasLength": "280", "moveLength": str(move)})
        try:
            ok = json.loads(self.adapter.text_of(v)).get("errorCode") == 1
        except (ValueError, AttributeError):
            raise self.adapter.unexpected("the CAS slider answer is not JSON", v) from None
        if not ok:
            raise WrongCaptcha("the CAS rejected the slider position")


def _read_captcha(adapter: SchoolAdapter, page: _Page, door: CasFrontDoor) -> str:
    path = "/getCaptcha.htl" if page.new else "/captcha.html"
    if door.solver is None:
        from gradewatch.captcha.solver import load_solver

        door.solver = load_solver(door.captcha_model)
    solver = door.solver
    for _ in range(adapter.max_captcha_fetches):
        r = adapter.get(page.root + path, params={"ts": str(int(time.time() * 1000))})
        if not r.headers.get("content-type", "").startswith("image/"):
            raise adapter.unexpected("the CAS captcha is not an image", r)
        pred = solver.solve(r.content)
        if pred.confidence >= adapter.min_captcha_confidence:
            return pred.text
    raise WrongCaptcha("could not read the CAS captcha confidently")


def _error_text(adapter: SchoolAdapter, text: str) -> str:
    tree = adapter.html(text)
    for sel in _ERROR_SELECTORS:
        node = tree.css_first(sel)
        if node is not None and node.text(strip=True):
            return node.text(strip=True)
    return ""


def _visible(adapter: SchoolAdapter, text: str) -> str:
    tree = adapter.html(text)
    for node in tree.css("script, style"):
        node.decompose()
    body = tree.body
    return " ".join((body.text(separator=" ") if body is not None else "").split())


def _png_width(data: bytes) -> int:
    import io

    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        return int(im.width)
