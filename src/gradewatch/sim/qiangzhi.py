"""强智 (Qiangzhi) "jsxsd" simulator, after docs/school-systems.md §3 and the field notes.

The adapter's ``base_url`` is the site root; the app lives below ``context`` (``/jsxsd`` by default).
Login variants (``login=``):

``"seed"`` (the default) and ``"logon_ldap"``::

    GET  /                                    login page (form → Logon.do?method=logon | logonLdap)
    GET  /verifycode.servlet                  a new captcha bound to the session (4 chars of 123bcmnvxz)
    GET  /Logon.do?method=logon&flag=sess     "<scode>#<sxh>": the seed for this session's next login (POST too)
    POST /Logon.do?method=logon[Ldap]         userAccount, userPassword (empty), RANDOMCODE, encoded
                                              (ID%%%password interleaved with the seed); success is
                                              302 → {ctx}/xk/LoginToXk?method=jwxt&ticqzket=… → 302 home
                                              (only that hop creates the jsxsd session)

``"direct"`` and ``"ldap"``::

    GET  {ctx}/                               login page (form → {ctx}/xk/LoginToXk | LoginToXkLdap)
    GET  {ctx}/verifycode.servlet             the captcha
    POST {ctx}/xk/LoginToXk[Ldap]             encoded = base64(ID) %%% base64(password), RANDOMCODE …
                                              302 → the home on success

All::

    GET  {ctx}/{home}                         学生个人中心 (framework/xsMain.jsp, xsMain_new.jsp or xsMainV.htmlx)
    GET  {ctx}/kscj/cjcx_frm                  the grade query form (must be opened before the list)
    GET|POST {ctx}/kscj/cjcx_list             kksj, kcxz, kcmc, xsfs (query or form) → table#dataList, or the
                                              JSON list paged by pageNum/pageSize
    GET  {ctx}/xk/LoginToXk?method=exit       log out

The root app and the jsxsd app keep their own sessions, each with a cookie on its own path, so a
browser sends two JSESSIONIDs below the context path (the first valid one wins). Failures come back
as the login page with the message in red (验证码错误!! / 用户名或密码错误 / the lock text).
Logged-in pages answer a small "请先登录系统" page without a live session. A new login of a student
ends every other session of that student.
"""

from __future__ import annotations

import base64
import binascii
import html
import secrets
import string
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gradewatch.sim.base import (
    BoundedTable,
    Outcome,
    Session,
    Simulator,
    Student,
    check_choice,
    int_param,
    logged_in_page,
)
from gradewatch.sim.captchas import CaptchaSource, RenderedCaptchas
from gradewatch.sim.qiangzhi_pages import (
    ALL_COLUMNS,
    BROKEN_PAGE,
    FRAME,
    GRADE_FORM_BODY,
    LOGIN_PAGE,
    NOT_LOGGED_IN,
    TABLE_FEATURES,
    captcha_row,
    grade_cells,
    grade_json,
    grade_table,
    message_markup,
)
from gradewatch.sim.transcripts import StudentRecord

__all__ = ["ALL_COLUMNS", "QiangzhiSimulator", "decode_seed", "encode_seed", "grade_cells"]

MAIN = "/jsxsd/framework/xsMain.jsp"
GRADE_FORM = "/jsxsd/kscj/cjcx_frm"
GRADE_LIST = "/jsxsd/kscj/cjcx_list"
LOGIN_TO_XK = "/jsxsd/xk/LoginToXk"

WRONG_CAPTCHA = "验证码错误!!"
BAD_CREDENTIALS = "用户名或密码错误"
LOCKED = "该账号密码连续输错{n}次，已被锁定，请次日再试或联系管理员!"

#: Login variants: where the form posts and how ``encoded`` is built.
LOGINS = ("seed", "direct", "ldap", "logon_ldap")
#: Student homes the login lands on (below the context path).
HOMES = ("framework/xsMain.jsp", "framework/xsMain_new.jsp", "framework/xsMainV.htmlx")
_SCODE_ALPHABET = string.ascii_letters + string.digits
#: Rows of the JSON list per page when the request names no pageSize (layui's default).
_JSON_PAGE = 10


def encode_seed(text: str, scode: str, sxh: str) -> str:
    """Variant B's ``encoded``: each of the first 20 characters followed by the next sxh[i] seed characters."""
    out, pos = [], 0
    for i, char in enumerate(text):
        if i < 20:
            n = int(sxh[i])
            out.append(char + scode[pos : pos + n])
            pos += n
        else:
            out.append(text[i:])
            break
    return "".join(out)


def decode_seed(encoded: str, sxh: str) -> str:
    """Inverse of :func:`encode_seed` (the server side)."""
    out: list[str] = []
    pos = 0
    for i in range(20):
        if pos >= len(encoded):
            return "".join(out)
        out.append(encoded[pos])
        pos += 1 + int(sxh[i])
    return "".join(out) + encoded[pos:]


class QiangzhiSimulator(Simulator):
    wrong_captcha_text = WRONG_CAPTCHA
    bad_credentials_text = BAD_CREDENTIALS
    locked_text = LOCKED
    broken_grades_page = BROKEN_PAGE
    captcha_headers = {"Cache-Control": "no-cache", "Pragma": "no-cache"}
    system: ClassVar[str] = "qiangzhi"

    def __init__(
        self,
        students: Iterable[StudentRecord],
        *,
        login: str = "seed",
        captcha: bool = True,
        columns: Sequence[str] = ALL_COLUMNS,
        context: str = "/jsxsd",
        home: str = "framework/xsMain.jsp",
        grades: str = "html",
        table: Iterable[str] = (),
        captcha_markup: str = "img",
        error_markup: str = "font",
        **kwargs: Any,
    ) -> None:
        """Variants (each seen at real schools, see the field notes):

        ``login``: ``"seed"`` (``Logon.do?method=logon`` with the server-seed ``encoded``, then the
        ticket hop), ``"logon_ldap"`` (the same via ``Logon.do?method=logonLdap``), ``"direct"``
        (``xk/LoginToXk`` with ``base64(ID)%%%base64(password)``) or ``"ldap"`` (``xk/LoginToXkLdap``,
        same encoding); ``captcha``: show RANDOMCODE; ``context``: the app's path (``/jsxsd``, one school
        ``/njlgdx``); ``home``: the student home after login (one of HOMES); ``grades``: ``"html"`` (the
        ``#dataList`` table) or ``"json"`` (``{"code","count","data"}``, paged by pageNum/pageSize);
        ``table``: features of the HTML table (TABLE_FEATURES); ``columns``: the classic table's columns;
        ``captcha_markup``: ``"img"`` (id on the image) or ``"wrapper"`` (id on a link around it);
        ``error_markup``: ``"font"`` (jsxsd) or ``"errorinfo"`` (the old kdjw)."""
        super().__init__(students, **kwargs)
        check_choice("login", login, LOGINS)
        check_choice("home", home, HOMES)
        check_choice("grades", grades, ("html", "json"))
        check_choice("captcha_markup", captcha_markup, ("img", "wrapper"))
        check_choice("error_markup", error_markup, ("font", "errorinfo"))
        if not context.startswith("/") or context == "/" or context.endswith("/"):
            raise ValueError(f"context must be a path like /jsxsd, not {context!r}")
        unknown = [c for c in columns if c not in ALL_COLUMNS] + [f for f in table if f not in TABLE_FEATURES]
        if unknown:
            raise ValueError(f"unknown grade columns or table features: {', '.join(unknown)}")
        self.login = login
        self.captcha = captcha
        self.columns = tuple(columns)
        self.ctx = context
        self.home = f"{context}/{home}"
        self.grades_format = grades
        self.table = tuple(table)
        self.captcha_markup = captcha_markup
        self.error_markup = error_markup
        self._seeds: BoundedTable[str, tuple[str, str]] = BoundedTable()  # session id -> (scode, sxh), one login each
        self._tickets: BoundedTable[str, str] = BoundedTable()  # ticket -> username, for the LoginToXk hop
        self._frm: BoundedTable[str, None] = BoundedTable()  # sessions that opened the grade query form

    def default_captchas(self) -> CaptchaSource:
        from gradewatch.captcha.render_schools import render_qiangzhi
        from gradewatch.captcha.spec import SPECS

        spec = SPECS["qiangzhi"]
        return RenderedCaptchas(render_qiangzhi, charset=spec.charset, length=spec.length, seed=self.seed,
                                image_format="JPEG")

    # ---- where things are ------------------------------------------------------------------
    @property
    def seeded(self) -> bool:
        """Whether the login goes through the root ``Logon.do`` (server seed, then the ticket hop)."""
        return self.login in ("seed", "logon_ldap")

    @property
    def login_url(self) -> str:
        return "/" if self.seeded else f"{self.ctx}/"

    @property
    def login_action(self) -> str:
        return {"seed": "Logon.do?method=logon", "logon_ldap": "Logon.do?method=logonLdap",
                "direct": f"{self.ctx}/xk/LoginToXk", "ldap": f"{self.ctx}/xk/LoginToXkLdap"}[self.login]

    def scope_of(self, path: str) -> str:
        # Two web applications: the root one (login page, Logon.do) and the jsxsd one, each with its
        # own sessions and a cookie on its own path — a browser then sends two JSESSIONIDs.
        return self.ctx if path == self.ctx or path.startswith(self.ctx + "/") else "/"

    def cookie_path_of(self, sess: Session) -> str:
        return sess.scope or "/"

    # ---- responses -------------------------------------------------------------------------
    def login_page(self, message: str = "", username: str = "") -> Response:
        src = "verifycode.servlet" if self.seeded else f"{self.ctx}/verifycode.servlet"
        method = {"seed": "logon", "logon_ldap": "logonLdap", "direct": "LoginToXk", "ldap": "LoginToXkLdap"}
        return self.page(
            LOGIN_PAGE.format(
                ctx="" if self.seeded else self.ctx,
                action=self.login_action,
                login_method=method[self.login],
                captcha=captcha_row(src, self.captcha_markup == "wrapper") if self.captcha else "",
                message=message_markup(message, self.error_markup),
                username=html.escape(username),
            )
        )

    def frame(self, student: Student, title: str, body: str) -> Response:
        name, username = html.escape(student.name), html.escape(student.username)
        return self.page(FRAME.format(title=title, body=body, name=name, username=username, ctx=self.ctx))

    def signed_out(self, request: Request) -> Response:
        # Not a redirect: a small page whose script sends the browser to the login page.
        return self.page(NOT_LOGGED_IN.format(ctx=self.ctx))

    # ---- routes ----------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        ctx = self.ctx
        routes: list[BaseRoute] = [
            Route("/", self.root),
            Route(f"{ctx}/", self.app_root),
            Route(f"{ctx}/xk/LoginToXk", self.login_to_xk, methods=["GET", "POST"]),
            Route(f"{ctx}/xk/LoginToXkLdap", self.login_to_xk, methods=["GET", "POST"]),
            Route(self.home, self.main),
            Route(f"{ctx}/kscj/cjcx_frm", self.grade_form),
            # Real pages load the list with GET (the frameset's iframe) and POST (the query form).
            Route(f"{ctx}/kscj/cjcx_list", self.grade_list, methods=["GET", "POST"]),
            *timetable_routes(self),
        ]
        if self.seeded:
            routes += [
                Route("/verifycode.servlet", self.captcha_response),
                Route("/Logon.do", self.logon, methods=["GET", "POST"]),
            ]
        else:
            routes.append(Route(f"{ctx}/verifycode.servlet", self.captcha_response))
        return routes

    async def root(self, request: Request) -> Response:
        if not self.seeded:
            return RedirectResponse(f"{self.ctx}/", 302)
        return self.page_with_session(request, lambda _sess: self.login_page())

    async def app_root(self, request: Request) -> Response:
        if self.student_of(request) is not None:
            return RedirectResponse(self.home, 302)
        if self.seeded:
            return RedirectResponse("/", 302)
        return self.page_with_session(request, lambda _sess: self.login_page())

    # ---- Logon.do: the seed, and the seeded login ----------------------------------------------
    async def logon(self, request: Request) -> Response:
        method = request.query_params.get("method")
        sess, new = self.session_or_new(request)
        if method == "logon" and request.query_params.get("flag") == "sess":  # real clients GET it
            scode = "".join(secrets.choice(_SCODE_ALPHABET) for _ in range(64))
            sxh = "".join(secrets.choice("0123") for _ in range(20))
            self._seeds[sess.id] = (scode, sxh)
            resp = Response(f"{scode}#{sxh}", media_type="text/plain;charset=UTF-8")
            return self.with_cookie(resp, sess, new)
        expected = "logonLdap" if self.login == "logon_ldap" else "logon"
        if method != expected or request.method != "POST":
            return self.page("<html><body>method not supported</body></html>", 404)
        form = await self.form(request)
        seed = self._seeds.pop(sess.id, None)  # a seed serves one login
        username, password = "", ""
        if seed is not None:
            username, _, password = decode_seed(form.get("encoded", ""), seed[1]).partition("%%%")
        username = username or form.get("userAccount", "").strip()
        return self._answer_login(sess, new, username, password, form)

    # ---- xk/LoginToXk[Ldap]: the direct login, the ticket hop, the exit -----------------------
    async def login_to_xk(self, request: Request) -> Response:
        method = request.query_params.get("method", "")
        if method == "exit":
            sess = self.session(request)
            if sess is not None:
                self._frm.pop(sess.id, None)
                self.end_session(sess)
            return RedirectResponse(self.login_url, 302)
        if method == "jwxt" and request.method == "GET":
            sess, _ = self.session_or_new(request)
            username = self._tickets.pop(request.query_params.get("ticqzket", ""), None)
            student = self.students.get(username or "")
            if student is None:
                return self.signed_out(request)
            return self._enter(sess, student)
        posted_to = request.url.path.rsplit("/", 1)[-1]
        wanted = {"direct": "LoginToXk", "ldap": "LoginToXkLdap"}.get(self.login)
        if request.method != "POST" or posted_to != wanted:
            return RedirectResponse(self.login_url, 302)
        sess, new = self.session_or_new(request)
        form = await self.form(request)
        account, _, secret = form.get("encoded", "").partition("%%%")
        try:
            username = base64.b64decode(account, validate=True).decode("utf-8")
            password = base64.b64decode(secret, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            username, password = form.get("userAccount", "").strip(), ""
        return self._answer_login(sess, new, username, password, form)

    def _answer_login(self, sess: Session, new: bool, username: str, password: str, form: dict[str, str]) -> Response:
        captcha = form.get("RANDOMCODE", "") if self.captcha else None
        result = self.attempt_login(None if new else sess, username, password, captcha)
        if result.outcome is Outcome.OK and result.student is not None:
            if self.seeded:  # the jsxsd session is made by the ticket hop
                ticket = secrets.token_hex(16)
                self._tickets[ticket] = result.student.username
                return RedirectResponse(f"{self.ctx}/xk/LoginToXk?method=jwxt&ticqzket={ticket}", 302)
            return self._enter(sess, result.student)
        return self.with_cookie(self.login_page(self.error_text(result), username), sess, new)

    def _enter(self, sess: Session, student: Student) -> Response:
        """Log the student in on a fresh session, ending every other session of theirs."""
        self.expire_sessions(student.username)
        fresh = self.log_in(sess, student)
        resp = RedirectResponse(self.home, 302)
        self.set_cookie(resp, fresh)
        return resp

    # ---- logged-in pages -----------------------------------------------------------------------
    @logged_in_page
    async def main(self, request: Request, sess: Session, student: Student) -> Response:
        body = f'<div class="middletopttxlr">欢迎您，{html.escape(student.name)}同学</div>'
        return self.frame(student, "学生个人中心", body)

    @logged_in_page
    async def grade_form(self, request: Request, sess: Session, student: Student) -> Response:
        self._frm[sess.id] = None  # the oldest are forgotten (a live session just opens the form again)
        terms = sorted({g.term for g in student.grades.values()}, reverse=True)
        options = "".join(f'<option value="{t}">{t}</option>' for t in terms)
        return self.frame(student, "学生个人中心", GRADE_FORM_BODY.format(terms=options, ctx=self.ctx))

    @logged_in_page
    async def grade_list(self, request: Request, sess: Session, student: Student) -> Response:
        if sess.id not in self._frm:  # the list needs the query page's state
            return self.frame(student, "学生个人中心", '<div class="Nsb_pw">请从成绩查询页面进入！</div>')
        if (broken := self.counted_grade_fetch(student)) is not None:
            return broken
        params = dict(request.query_params)
        if request.method == "POST":
            params.update(await self.form(request))
        term = params.get("kksj", "")
        grades = sorted(student.grades.values(), key=lambda g: (g.term, g.course_code, g.exam_type))
        grades = [g for g in grades if not term or g.term == term]
        if self.grades_format == "json":
            page, size = int_param(params.get("pageNum"), 1), int_param(params.get("pageSize"), _JSON_PAGE)
            return JSONResponse(grade_json(grades, max(1, page), max(1, size)))
        body = grade_table(grades, self.columns, self.table, self.ctx)
        return self.frame(student, "学生个人中心", body)


# ---- timetable (学期理论课表): the term's courses, graded or not ------------------------------------
#   GET|POST /jsxsd/xskb/xskb_list.do[?xnxq01id=2022-2023-2]   without xnxq01id: the current term.
# As published 强智 clients read it: <select id="xnxq01id">, <table id="kbtable"> with a th per
# 大节 and 7 td; each td holds a short div.kbcontent1 and the detailed div.kbcontent (name, then
# <font title="老师">, <font title="周次(节次)">, <font title="教室">), lessons separated by dashes.
# This variant shows no course code (as most schools do).
TIMETABLE = "/jsxsd/xskb/xskb_list.do"
_KB_SEPARATOR = "---------------------<br>"


def timetable_routes(sim: QiangzhiSimulator) -> list[BaseRoute]:
    from gradewatch.sim.timetable import PERIODS, WEEKDAYS, current_term, lessons_of

    def table(student: Student, term: str) -> str:
        lessons = lessons_of(student, term)
        rows = ["<tr><th></th>" + "".join(f"<th>{d}</th>" for d in WEEKDAYS) + "</tr>"]
        for p, (label, _first, _last) in enumerate(PERIODS):
            cells = []
            for day in range(1, 8):
                here = [le for le in lessons if le.weekday == day and le.period == p]
                brief = _KB_SEPARATOR.join(f"{html.escape(le.name)}<br>" for le in here)
                full = _KB_SEPARATOR.join(
                    f'{html.escape(le.name)}<br><font title="老师">{html.escape(le.teacher)}</font><br>'
                    f'<font title="周次(节次)">{le.weeks}(周)</font><br>'
                    f'<font title="教室">{html.escape(le.room)}</font><br>'
                    for le in here)
                cells.append(f'<td width="123" height="28" align="center" valign="top">'
                             f'<div class="kbcontent1">{brief or "&nbsp;"}</div>'
                             f'<div class="kbcontent" style="display: none;">{full or "&nbsp;"}</div></td>')
            rows.append(f"<tr><th width=\"70\" height=\"28\" align=\"center\">{label}</th>{''.join(cells)}</tr>")
        terms = sorted({*student.enrolled, *(g.term for g in student.grades.values()), term}, reverse=True)
        options = "".join(f'<option value="{t}"{" selected" if t == term else ""}>{t}</option>' for t in terms)
        return (f'<form id="Form1" method="post" action="{TIMETABLE}">学年学期：'
                f'<select id="xnxq01id" name="xnxq01id">{options}</select></form>\n'
                f'<table id="kbtable" border="1" width="100%" cellspacing="0" cellpadding="0" class="Nsb_table">'
                + "\n".join(rows) + "</table>")

    async def timetable(request: Request) -> Response:
        _, student = sim.logged_in(request)
        if student is None:
            return sim.signed_out(request)
        form = await sim.form(request) if request.method == "POST" else {}
        term = form.get("xnxq01id") or request.query_params.get("xnxq01id") or current_term(student)
        return sim.frame(student, "学生个人中心", table(student, term))

    return [Route(TIMETABLE, timetable, methods=["GET", "POST"])]
