"""ZF (正方) new Java edition "jwglxt" simulator, after docs/school-systems.md §1.

Everything lives below the context path ``/jwglxt`` (the adapter's ``base_url`` is ``…/jwglxt``):

    GET  /jwglxt/xtgl/login_slogin.html        login page: hidden csrftoken, yhm, mm, (yzm + kaptcha image), p#tips
    GET  /jwglxt/xtgl/login_getPublicKey.html  {"modulus", "exponent"} (base64) of this session's RSA key
    GET  /jwglxt/kaptcha?time=…                a new kaptcha image (JPEG; ours or stock kaptcha, see captcha_style)
    POST /jwglxt/xtgl/login_slogin.html        csrftoken, yhm, mm = base64(RSA PKCS#1 v1.5(password)), yzm, language
                                               302 → index_initMenu.html (or the notice page) on success; else the
                                               login page with #tips, one of the vendor bundle's texts only:
                                               验证码输入错误！ / 用户名或密码不正确，请重新输入！ /
                                               用户名不存在！ / 用户已被禁用！ (also after 5 wrong
                                               passwords) / 该用户无所属角色，禁止登录！ /
                                               校内用户请从信息门户登录！
    GET  /jwglxt/xtgl/index_cxXsTz.html        a mandatory notice (students listed in ``notice_for``), once per login
    POST /jwglxt/xtgl/index_cxXsTzYd.html      "我已阅读" (tzid) → 302 index_initMenu.html
    GET  /jwglxt/xtgl/index_initMenu.html      the main menu naming the student
    POST /jwglxt/cjcx/cjcx_cxXsgrcj.html?doType=query&gnmkdm=N305005   (and cjcx_cxDgXscj.html, same JSON)
                                               the grade JSON (items, totalPage …), paged by queryModel.*; answered
                                               by the HTML login page without a session, by the notice page while a
                                               notice is unread
    GET  /jwglxt/logout                        ends the session

Each key pair is used for one login POST (the page fetches a new one per attempt). ``mm`` is decoded
as the vendor's server does: whitespace skipped, a ciphertext shorter than the key (browser RSA drops
leading zero bytes) accepted. Tomcat's session id changes at login. The variants real schools run are
constructor options (see ZfSimulator). The password is decrypted with the private key and never kept;
:attr:`ZfSimulator.login_bodies` keeps the raw bodies of the last login POSTs for the tests (in
process only, never on the admin API).
"""

from __future__ import annotations

import base64
import html
import random
import secrets
import time
import uuid
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gradewatch.sim.base import (
    BoundedTable,
    LoginResult,
    Outcome,
    Session,
    Simulator,
    Student,
    check_choice,
    int_param,
    logged_in_page,
)
from gradewatch.sim.captchas import CaptchaSource
from gradewatch.sim.transcripts import StudentRecord
from gradewatch.sim.zf_pages import (
    _TERM_CODE,
    CAPTCHA_ROW,
    ERROR_PAGE,
    FRAME,
    LOGIN_PAGE,
    MENU_BODY,
    NOT_FOUND,
    NOTICE_BODY,
    grade_item,
    grade_point,
    score_percent,
)

__all__ = ["VariableCaptchas", "ZfSimulator", "grade_item", "grade_point", "score_percent"]

CTX = "/jwglxt"
LOGIN = f"{CTX}/xtgl/login_slogin.html"
PUBLIC_KEY = f"{CTX}/xtgl/login_getPublicKey.html"
KAPTCHA = f"{CTX}/kaptcha"
MENU = f"{CTX}/xtgl/index_initMenu.html"
NOTICE = f"{CTX}/xtgl/index_cxXsTz.html"
NOTICE_READ = f"{CTX}/xtgl/index_cxXsTzYd.html"
GRADES = f"{CTX}/cjcx/cjcx_cxXsgrcj.html"
GRADES_DG = f"{CTX}/cjcx/cjcx_cxDgXscj.html"
LOGOUT = f"{CTX}/logout"

# The vendor's own message bundle (field notes): no other login verdict text is shown.
WRONG_CAPTCHA = "验证码输入错误！"
BAD_CREDENTIALS = "用户名或密码不正确，请重新输入！"
UNKNOWN_USER = "用户名不存在！"
DISABLED = "用户已被禁用！"
NO_ROLE = "该用户无所属角色，禁止登录！"
PORTAL_ONLY = "校内用户请从信息门户登录！"
#: What ``refuse={username: reason}`` makes the login answer for that student, password right or wrong.
REFUSALS = {"disabled": DISABLED, "no_role": NO_ROLE, "portal": PORTAL_ONLY}
STALE_FORM = "页面已过期，请刷新页面后重新登录！"
#: The vendor framework checks the captcha only after this many failed logins in one session.
VENDOR_CAPTCHA_AFTER = 3
#: Stock kaptcha's default alphabet and length (the vendor default).
KAPTCHA_CHARSET = "abcde2345678gfynmnpwx"
KAPTCHA_LENGTH = 4

class VariableCaptchas:
    """Texts of ``min_length``..``length`` characters drawn by a renderer, served as JPEG (as kaptcha does)."""

    def __init__(self, render: Any, *, charset: str, min_length: int, length: int, seed: int = 0) -> None:
        self._render = render
        self._charset = charset
        self._lengths = (min_length, length)
        self._rng = random.Random(seed)

    def next(self) -> tuple[str, bytes, str]:
        import io

        text = "".join(self._rng.choices(self._charset, k=self._rng.randint(*self._lengths)))
        buf = io.BytesIO()
        self._render(text, self._rng).save(buf, format="JPEG", quality=95)
        return text, buf.getvalue(), "image/jpeg"


class ZfSimulator(Simulator):
    context_path = CTX
    wrong_captcha_text = WRONG_CAPTCHA
    bad_credentials_text = BAD_CREDENTIALS
    locked_text = DISABLED
    broken_grades_page = ERROR_PAGE
    captcha_headers = {"Cache-Control": "no-store, no-cache, must-revalidate", "Pragma": "no-cache", "Expires": "0"}
    system: ClassVar[str] = "zf"
    cookie_path: ClassVar[str] = CTX
    login_page_path: ClassVar[str] = LOGIN
    captcha_case_sensitive: ClassVar[bool] = True

    def __init__(
        self,
        students: Iterable[StudentRecord],
        *,
        captcha: bool = True,
        captcha_policy: str = "always",
        captcha_style: str = "classic",
        modulus: str = "bare",
        csrftoken: bool = True,
        grade_endpoints: str = "both",
        fields: str = "full",
        route_cookie: bool = False,
        refuse: Mapping[str, str] | None = None,
        notice_for: Iterable[str] = (),
        max_show_count: int | None = None,
        key_bits: int = 1024,
        **kwargs: Any,
    ) -> None:
        """Variants (each seen at real schools, see the field notes):

        ``captcha``: a kaptcha on the login page at all; ``captcha_policy``: ``"always"`` checked, or
        ``"after_failures"`` (the vendor framework: shown and checked only after 3 failed logins in the
        session); ``captcha_style``: ``"classic"`` (our 4–5 mixed-case characters) or ``"kaptcha"`` (stock
        kaptcha, 4 of ``abcde2345678gfynmnpwx``; needs ``render_kaptcha``); ``modulus``: ``"bare"`` (128 bytes)
        or ``"signed"`` (Java's 129-byte signed form, base64 starting with ``A``); ``csrftoken``: the login
        form has one; ``grade_endpoints``: ``"both"`` or ``"dg"`` (only ``cjcx_cxDgXscj``); ``fields``:
        ``"full"`` or ``"sparse"`` (no ksxz/xnmmc/jd/totalPage, totalResult a string); ``route_cookie``: a
        load balancer's ``route`` cookie (requests without it reach a node that does not know the session);
        ``refuse``: username → ``disabled`` / ``no_role`` / ``portal`` (the vendor text that student gets);
        ``notice_for``: usernames with a mandatory notice after login; ``max_show_count``: a page-size
        cap (None: none, as no real server is known to cap)."""
        super().__init__(students, **kwargs)
        check_choice("captcha_policy", captcha_policy, ("always", "after_failures"))
        check_choice("captcha_style", captcha_style, ("classic", "kaptcha"))
        check_choice("modulus", modulus, ("bare", "signed"))
        check_choice("grade_endpoints", grade_endpoints, ("both", "dg"))
        check_choice("fields", fields, ("full", "sparse"))
        for reason in (refuse or {}).values():
            check_choice("refuse reason", reason, tuple(REFUSALS))
        if captcha_style == "kaptcha":
            _kaptcha_renderer()  # fail now with a clear message, not at the first image
        self.captcha = captcha
        self.captcha_policy = captcha_policy
        self.captcha_style = captcha_style
        self.modulus = modulus
        self.csrftoken = csrftoken
        self.grade_endpoints = grade_endpoints
        self.fields = fields
        self.route_cookie = route_cookie
        self.refuse = dict(refuse or {})
        self.notice_for = set(notice_for)
        self.max_show_count = max_show_count
        self.key_bits = key_bits
        self._route = secrets.token_hex(6)
        #: Raw bodies of the last login POSTs, for tests (the password must never appear in them).
        self.login_bodies: deque[bytes] = deque(maxlen=50)
        self._csrf: BoundedTable[str, str] = BoundedTable()
        self._keys: BoundedTable[str, rsa.RSAPrivateKey] = BoundedTable()  # one key pair, one login POST
        self._unread: BoundedTable[str, str] = BoundedTable()  # session id -> id of the notice still to acknowledge

    def default_captchas(self) -> CaptchaSource:
        if self.captcha_style == "kaptcha":
            return VariableCaptchas(_kaptcha_renderer(), charset=KAPTCHA_CHARSET, min_length=KAPTCHA_LENGTH,
                                    length=KAPTCHA_LENGTH, seed=self.seed)
        from gradewatch.captcha.render_schools import ZF_CHARSET, render_zf

        # The school variant's own alphabet (the zf model's charset also holds kaptcha's default one).
        return VariableCaptchas(render_zf, charset=ZF_CHARSET, min_length=4, length=5, seed=self.seed)

    # ---- responses -------------------------------------------------------------------------
    def asks_captcha(self, sess: Session) -> bool:
        """Whether this session's next login shows and checks the kaptcha."""
        if not self.captcha:
            return False
        return self.captcha_policy == "always" or sess.failed_logins >= VENDOR_CAPTCHA_AFTER

    def login_page(self, sess: Session, tips: str = "", username: str = "") -> Response:
        field = ""
        if self.csrftoken:
            token = self._csrf.get(sess.id)
            if token is None:
                token = self._csrf[sess.id] = f"{uuid.uuid4()},{uuid.uuid4().hex}".replace("-", "")
            field = f'<input type="hidden" id="csrftoken" name="csrftoken" value="{token}"/>'
        script = "$('#tips').show();" if tips else ""
        return self.page(
            LOGIN_PAGE.format(
                ctx=CTX,
                csrftoken=field,
                tips=html.escape(tips),
                tips_script=script,
                username=html.escape(username),
                captcha=CAPTCHA_ROW.format(ctx=CTX) if self.asks_captcha(sess) else "",
            )
        )

    def frame(self, student: Student, title: str, body: str) -> Response:
        return self.page(
            FRAME.format(
                ctx=CTX, title=title, body=body, name=html.escape(student.name), username=html.escape(student.username)
            )
        )

    def set_cookie(self, response: Response, sess: Session) -> None:
        super().set_cookie(response, sess)
        if self.route_cookie:  # the balancer pins the client to this node
            response.set_cookie("route", self._route, path="/", httponly=True)

    def session(self, request: Request) -> Session | None:
        if self.route_cookie and request.cookies.get("route") != self._route:
            return None  # another node behind the balancer: it has never seen this session
        return super().session(request)

    def _forget(self, sid: str) -> None:
        self._csrf.pop(sid, None)
        self._keys.pop(sid, None)
        self._unread.pop(sid, None)

    # ---- routes ----------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        return [
            Route("/", self.root),
            Route(f"{CTX}/", self.root),
            Route(LOGIN, self.login_form, methods=["GET"]),
            Route(LOGIN, self.login_post, methods=["POST"]),
            Route(PUBLIC_KEY, self.public_key),
            Route(KAPTCHA, self.captcha_response),
            Route(MENU, self.menu),
            Route(NOTICE, self.notice),
            Route(NOTICE_READ, self.notice_read, methods=["POST"]),
            Route(GRADES, self.grades if self.grade_endpoints == "both" else self.not_found, methods=["POST"]),
            Route(GRADES_DG, self.grades, methods=["POST"]),
            Route(LOGOUT, self.logout),
            *timetable_routes(self),
        ]

    async def root(self, request: Request) -> Response:
        return RedirectResponse(MENU if self.student_of(request) else LOGIN, 302)

    async def login_form(self, request: Request) -> Response:
        sess, new = self.session_or_new(request)
        if sess.username is not None:  # already logged in: the real system goes to the menu
            return RedirectResponse(MENU, 302)
        return self.with_cookie(self.login_page(sess), sess, new)

    async def public_key(self, request: Request) -> Response:
        sess, new = self.session_or_new(request)
        key = rsa.generate_private_key(public_exponent=65537, key_size=self.key_bits)
        self._keys[sess.id] = key
        numbers = key.public_key().public_numbers()
        body = {"modulus": _b64_int(numbers.n, signed=self.modulus == "signed"), "exponent": _b64_int(numbers.e)}
        return self.with_cookie(JSONResponse(body), sess, new)

    async def login_post(self, request: Request) -> Response:
        raw = await request.body()
        self.login_bodies.append(raw)
        form = await self.form(request)
        sess, new = self.session_or_new(request)
        username = form.get("yhm", "").strip()
        token = self._csrf.get(sess.id)
        if new or (self.csrftoken and (token is None or not secrets.compare_digest(token, form.get("csrftoken", "")))):
            return self.with_cookie(self.login_page(sess, STALE_FORM, username), sess, new)
        key = self._keys.pop(sess.id, None)  # one key pair, one attempt
        password = _decrypt(key, form.get("mm", ""))
        captcha = form.get("yzm", "") if self.asks_captcha(sess) else None
        refusal = self.refuse.get(username)
        if refusal is not None:
            return self.login_page(sess, REFUSALS[refusal], username)
        # An undecryptable mm is a wrong password (the real server cannot tell either).
        result = self.attempt_login(sess, username, password if password is not None else "", captcha)
        if result.outcome is Outcome.OK and result.student is not None:
            self._forget(sess.id)
            fresh = self.log_in(sess, result.student)
            target = MENU
            if result.student.username in self.notice_for:
                self._unread[fresh.id] = secrets.token_hex(8)
                target = NOTICE
            resp = RedirectResponse(f"{target}?jsdm=xs&_t={int(time.time() * 1000)}", 302)
            self.set_cookie(resp, fresh)
            return resp
        return self.login_page(sess, self.error_text(result), username)

    def error_text(self, result: LoginResult) -> str:
        # Only the vendor's texts: an unknown user is told so; a locked account reads as disabled.
        if result.outcome is Outcome.WRONG_CAPTCHA:
            return WRONG_CAPTCHA
        if result.outcome is Outcome.LOCKED:
            return DISABLED
        if self.controls.wrong_password_text:  # a school's own wording (tests of unknown answers)
            return self.controls.wrong_password_text
        return BAD_CREDENTIALS if result.student is not None else UNKNOWN_USER

    async def not_found(self, request: Request) -> Response:
        return self.page(NOT_FOUND, 404)


    def _notice_page(self, sess: Session, student: Student) -> Response:
        return self.frame(student, "重要通知", NOTICE_BODY.format(ctx=CTX, tzid=self._unread[sess.id]))

    @logged_in_page
    async def menu(self, request: Request, sess: Session, student: Student) -> Response:
        if sess.id in self._unread:
            return RedirectResponse(NOTICE, 302)
        return self.frame(student, "教学管理信息服务平台", MENU_BODY.format(ctx=CTX))

    @logged_in_page
    async def notice(self, request: Request, sess: Session, student: Student) -> Response:
        if sess.id not in self._unread:
            return RedirectResponse(MENU, 302)
        return self._notice_page(sess, student)

    @logged_in_page
    async def notice_read(self, request: Request, sess: Session, student: Student) -> Response:
        form = await self.form(request)
        if self._unread.get(sess.id) == form.get("tzid"):
            del self._unread[sess.id]
        return RedirectResponse(MENU, 302)

    async def grades(self, request: Request) -> Response:
        sess, student = self.logged_in(request)
        if sess is None or student is None:
            # Not JSON: the session filter answers with the login page itself.
            fresh, new = self.session_or_new(request)
            return self.with_cookie(self.login_page(fresh), fresh, new)
        if sess.id in self._unread:
            return self._notice_page(sess, student)
        if (broken := self.counted_grade_fetch(student)) is not None:
            return broken
        form = await self.form(request)
        return JSONResponse(self.grade_json(student, form))

    def grade_json(self, student: Student, form: dict[str, str]) -> dict[str, Any]:
        year, term = form.get("xnm", ""), form.get("xqm", "")
        grades = sorted(student.grades.values(), key=lambda g: (g.term, g.course_code, g.exam_type))
        sparse = self.fields == "sparse"
        items = [grade_item(g, student, n, sparse=sparse) for n, g in enumerate(grades, start=1)]
        items = [i for i in items if (not year or i["xnm"] == year) and (not term or i["xqm"] == term)]
        show = max(1, int_param(form.get("queryModel.showCount"), 15))
        if self.max_show_count is not None:
            show = min(show, self.max_show_count)
        total = len(items)
        pages = max(1, -(-total // show))
        page = max(1, int_param(form.get("queryModel.currentPage"), 1))
        chunk = items[(page - 1) * show : page * show]
        answer: dict[str, Any] = {
            "currentPage": page,
            "currentResult": (page - 1) * show,
            "entityOrField": False,
            "items": chunk,
            "limit": show,
            "offset": (page - 1) * show,
            "pageNo": 0,
            "pageSize": show,
            "showCount": show,
            "sortName": form.get("queryModel.sortName", ""),
            "sortOrder": form.get("queryModel.sortOrder", "asc"),
            "sorts": [],
            "totalCount": total,
            "totalPage": pages,
            "totalResult": total,
        }
        if sparse:  # some schools: no totalPage, totalResult as a string
            del answer["totalPage"]
            answer["totalResult"] = str(total)
        return answer

    async def logout(self, request: Request) -> Response:
        sess = self.session(request)
        if sess is not None:
            self._forget(sess.id)
            self.end_session(sess)
        return RedirectResponse(LOGIN, 302)


def _b64_int(value: int, *, signed: bool = False) -> str:
    """Big-endian base64 of a positive integer; ``signed`` as Java's BigInteger.toByteArray() gives it
    (a leading 0x00 when the top bit is set: 129 bytes for a 1024-bit modulus)."""
    size = value.bit_length() // 8 + 1 if signed else (value.bit_length() + 7) // 8
    return base64.b64encode(value.to_bytes(size, "big")).decode("ascii")


def _decrypt(key: rsa.RSAPrivateKey | None, mm: str) -> str | None:
    """The password from ``mm`` (base64 of RSA PKCS#1 v1.5), or None when it is not a ciphertext of this key.

    Decoded as the vendor's server does: whitespace (a trailing newline) skipped; a ciphertext one or
    more bytes short (browser RSA drops leading zero bytes) is the same number, so it is left-padded."""
    if key is None:
        return None
    try:
        raw = base64.b64decode("".join(mm.split()), validate=True)
        size = (key.key_size + 7) // 8
        if not raw or len(raw) > size:
            return None
        return key.decrypt(raw.rjust(size, b"\x00"), padding.PKCS1v15()).decode("utf-8")
    except ValueError:  # bad base64, wrong key or padding, not UTF-8
        return None


def _kaptcha_renderer() -> Any:
    """The stock-kaptcha renderer of the captcha engine (``render_kaptcha(text, rng)``)."""
    try:
        from gradewatch.captcha.render_schools import render_kaptcha  # type: ignore[attr-defined]
    except ImportError:
        raise ValueError("captcha_style 'kaptcha' needs gradewatch.captcha.render_schools.render_kaptcha, "
                         "which this installation does not have") from None
    return render_kaptcha


# ---- timetable (学生课表查询): the term's courses, graded or not ---------------------------------
#   POST /jwglxt/kbcx/xskbcx_cxXsKb.html?gnmkdm=N2151   form xnm (start year), xqm (3/12/16);
#        both empty: the current term. JSON {kbList: [one per weekly lesson], sjkList, xsxx},
#        as published ZF clients read it (kcmc, kch_id, xm, cdmc, xqjmc, jc, zcd, jxbmc).
TIMETABLE = f"{CTX}/kbcx/xskbcx_cxXsKb.html"


def timetable_routes(sim: ZfSimulator) -> list[BaseRoute]:
    from gradewatch.sim.timetable import PERIODS, WEEKDAYS, current_term, lessons_of

    def term_of(form: dict[str, str], student: Student) -> str:
        xnm, xqm = form.get("xnm", "").strip(), form.get("xqm", "").strip()
        if not xnm or not xqm:
            return current_term(student)
        number = {v: k for k, v in _TERM_CODE.items()}.get(xqm, xqm)
        return f"{xnm}-{int(xnm) + 1}-{number}" if xnm.isdigit() else current_term(student)

    async def timetable(request: Request) -> Response:
        sess, student = sim.logged_in(request)
        if sess is None or student is None:
            fresh, new = sim.session_or_new(request)
            return sim.with_cookie(sim.login_page(fresh), fresh, new)
        term = term_of(await sim.form(request), student)
        year, _, number = term.rpartition("-")
        kb = []
        for le in lessons_of(student, term):
            _, first, last = PERIODS[le.period]
            kb.append({
                "cdmc": le.room, "jc": f"{first}-{last}节", "jcs": f"{first}-{last}", "jxbmc": f"({term})-{le.code}-01",
                "kch": le.code, "kch_id": le.code, "kcmc": le.name, "xm": le.teacher, "xqj": str(le.weekday),
                "xqjmc": WEEKDAYS[le.weekday - 1], "zcd": f"{le.weeks}周",
            })
        xsxx = {"XH": student.username, "XM": student.name, "XNM": year.split("-")[0], "XNMC": year,
                "XQM": _TERM_CODE.get(number, number), "XQMMC": number}
        return JSONResponse({"kbList": kb, "sjkList": [], "xsxx": xsxx, "xqjmcMap": {}})

    return [Route(TIMETABLE, timetable, methods=["POST"])]
