"""Old 正方 (ZF, ASP.NET) simulator, after docs/school-systems.md §2 and the field notes.

    GET  /  → 302 default2.aspx
    GET  /default2.aspx        login form: __VIEWSTATE (+ __EVENTVALIDATION), txtUserName, TextBox2 (password;
                               ``password_field`` option), txtSecretCode + <img src="CheckCode.aspx">,
                               RadioButtonList1 (学生 …), Button1; GB2312 page
    GET  /CheckCode.aspx       a new 72x27 GIF captcha bound to the session
    POST /default2.aspx        GB2312 form. Success: 302 → xs_main.aspx?xh=<ID>. Failure: the login page again
                               with <script>alert('…')</script>: 验证码不正确！！ / 密码错误，您还有N次尝试机会！ /
                               用户名不存在或未按照要求参加教学活动！！ / the lock text after 5 wrong passwords.
                               A missing or foreign __VIEWSTATE is ASP.NET's "视图状态 MAC" error (HTTP 500).
    GET  /xs_main.aspx?xh=ID   the student's main page: <span id="xhxm">姓名同学</span>, menu with the grade link
    GET  /xscjcx.aspx?xh=ID&xm=<GBK name>&gnmkdm=N121605   (Referer xs_main.aspx) the grade query form
    POST /xscjcx.aspx?…        __VIEWSTATE + one of btn_xq / btn_xn / btn_zcj (历年成绩) → table#Datagrid1

``session_path``: ``"none"`` (the ASP.NET_SessionId cookie), ``"S"`` (cookieless ASP.NET 2.0: every URL
carries ``/(S(<id>))/``) or ``"plain"`` (ASP.NET 1.1: ``/(<id>)/``). A request without the segment,
or with the segment of a dead session, is redirected to a fresh one, as ASP.NET does. The session id
does not change at login (ASP.NET keeps it). Pages without a live login redirect to default2.aspx.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import re
import secrets
import string
from collections.abc import Iterable
from typing import Any, ClassVar
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from gradewatch.grades import Grade
from gradewatch.sim.base import LoginResult, Outcome, Session, Simulator, Student
from gradewatch.sim.captchas import CaptchaSource, RenderedCaptchas
from gradewatch.sim.transcripts import StudentRecord

ENCODING = "gbk"  # what GB2312-declared pages really are encoded with
GRADE_MODULE = "N121605"
STUDENT_ROLE = "学生"

WRONG_CAPTCHA = "验证码不正确！！"
UNKNOWN_USER = "用户名不存在或未按照要求参加教学活动！！"
WRONG_PASSWORD = "密码错误，您还有{n}次尝试机会！"
BAD_CREDENTIALS = "密码错误！！"
LOCKED = "密码错误次数已达{n}次，账号已锁定无法登录，次日自动解锁！！"
VIEWSTATE_ERROR = ("验证视图状态 MAC 失败。如果此应用程序由网络场或群集承载，"
                   "请确保 <machineKey> 配置指定了相同的验证密钥。")

_SEGMENT = re.compile(r"^/\((?:S\()?([a-z0-5]{24})\)?\)(/.*)$")
_SID_KEY = "zf_legacy.sid"
_SID_ALPHABET = string.ascii_lowercase + "012345"

_HEAD = """<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.0 Transitional//EN">
<HTML>
<HEAD>
<title>{title}</title>
<meta http-equiv="Content-Type" content="text/html; charset=gb2312">
<meta content="Microsoft Visual Studio .NET 7.1" name="GENERATOR">
</HEAD>
"""

_LOGIN = _HEAD + """<body>
<form name="form1" method="post" action="default2.aspx" id="form1">
<input type="hidden" name="__VIEWSTATE" value="{viewstate}" />
{event_validation}
<div id="login">
<table class="login_table">
<tr><td>用户名：</td><td><input name="txtUserName" type="text" id="txtUserName" tabindex="1" class="text"
 value="{username}" /></td></tr>
<tr><td>密　码：</td><td><input name="{password_field}" type="password" id="{password_field}" tabindex="2"
 class="text" /></td></tr>
{captcha}
<tr><td colspan="2">
<span id="RadioButtonList1" tabindex="4">
<input id="RadioButtonList1_0" type="radio" name="RadioButtonList1" value="部门" />\
<label for="RadioButtonList1_0">部门</label>
<input id="RadioButtonList1_1" type="radio" name="RadioButtonList1" value="教师" />\
<label for="RadioButtonList1_1">教师</label>
<input id="RadioButtonList1_2" type="radio" name="RadioButtonList1" value="学生" checked="checked" />\
<label for="RadioButtonList1_2">学生</label>
<input id="RadioButtonList1_3" type="radio" name="RadioButtonList1" value="访客" />\
<label for="RadioButtonList1_3">访客</label>
</span></td></tr>
<tr><td colspan="2"><input type="submit" name="Button1" value="" id="Button1" class="btn_dl" />
<input type="hidden" name="lbLanguage" value="" /><input type="hidden" name="hidPdrs" value="" />
<input type="hidden" name="hidsc" value="" /></td></tr>
</table>
</div>
</form>
{alert}
<div class="copyright">版权所有 Copyright 1999-2010 正方软件股份有限公司</div>
</body>
</HTML>
"""

_CAPTCHA_ROW = """<tr><td>验证码：</td><td><input name="txtSecretCode" type="text" id="txtSecretCode" tabindex="3"
 class="text" style="width:60px" /><img id="icode" src="CheckCode.aspx" onclick="this.src='CheckCode.aspx?'"
 alt="看不清，换一张" style="cursor:pointer" /></td></tr>"""

_ALERT = "<script language='javascript' defer>alert('{text}');document.getElementById('{focus}').focus();</script>"

_MAIN = _HEAD.replace("{title}", "现代教学管理信息系统") + """<body>
<div class="top"><div class="info"><ul><li>欢迎您：<em><span id="xhxm">{name}同学</span></em></li>
<li><a href="logout.aspx" target="_top">退出</a></li></ul></div></div>
<ul class="nav">
<li class="top"><a class="top_link" href="#"><span class="down">信息查询</span></a>
<ul class="sub">
<li><a href="xsgrxx.aspx?xh={xh}&xm={xm}&gnmkdm=N121501" target="zhuti" onclick="GetMc('个人信息');">个人信息</a></li>
<li><a href="xscjcx.aspx?xh={xh}&xm={xm}&gnmkdm={module}" target="zhuti" onclick="GetMc('成绩查询');">成绩查询</a></li>
</ul></li>
</ul>
<iframe name="zhuti" id="iframeautoheight" src="content.aspx" frameborder="0" width="100%"></iframe>
</body>
</HTML>
"""

_GRADES = _HEAD.replace("{title}", "现代教学管理信息系统") + """<body>
<form name="Form1" method="post" action="xscjcx.aspx?xh={xh}&amp;xm={xm}&amp;gnmkdm={module}" id="Form1">
<input type="hidden" name="__EVENTTARGET" value="" />
<input type="hidden" name="__EVENTARGUMENT" value="" />
<input type="hidden" name="__VIEWSTATE" value="{viewstate}" />
{event_validation}
<div class="toolbox"><div class="searchbox">
<span id="Label1">学年：</span><select name="ddlXN" id="ddlXN"><option value=""></option>{years}</select>
<span id="Label2">学期：</span><select name="ddlXQ" id="ddlXQ"><option value=""></option>\
<option value="1">1</option><option value="2">2</option><option value="3">3</option></select>
<span>课程性质：</span><select name="ddl_kcxz" id="ddl_kcxz"><option value=""></option>\
<option value="必修课">必修课</option><option value="选修课">选修课</option></select>
<input type="hidden" name="hidLanguage" id="hidLanguage" />
</div>
<p class="search_con">
<input type="submit" name="btn_xq" value="学期成绩" id="btn_xq" class="button" />
<input type="submit" name="btn_xn" value="学年成绩" id="btn_xn" class="button" />
<input type="submit" name="btn_zcj" value="历年成绩" id="btn_zcj" class="button" />
</p></div>
<span id="lbl_xh">学号：{xh}</span> <span id="lbl_xm">姓名：{name}</span>
{table}
</form>
</body>
</HTML>
"""

_HEADER = ("学年", "学期", "课程代码", "课程名称", "课程性质", "课程归属", "学分", "绩点", "成绩", "辅修标记",
           "补考成绩", "重修成绩", "开课学院", "备注", "重修标记")

_BROKEN = _HEAD.replace("{title}", "现代教学管理信息系统") + """<body>
<h2>“/”应用程序中的服务器错误。</h2>
<table class="datelist" id="Datagrid1"><tr class="datelisthead"><td>学年</td><td>学期</td></tr>
<tr><td>2021-</td></tr></table>
<p>System.Data.OracleClient.OracleException: ORA-12519: TNS:no appropriate service handler found</p>
</body></HTML>
"""


def _td(value: str) -> str:
    return f"<td>{html.escape(value) if value else '&nbsp;'}</td>"


def grade_table(grades: Iterable[Grade]) -> str:
    """table#Datagrid1: one row per (term, course); a make-up or retake result sits in its own column."""
    rows: dict[tuple[str, str], dict[str, Grade]] = {}
    for g in sorted(grades, key=lambda g: (g.term, g.course_code)):
        rows.setdefault((g.term, g.course_code), {})[g.attempt] = g
    lines = ['<table class="datelist" cellspacing="0" cellpadding="3" border="0" id="Datagrid1" width="100%">',
             '<tr class="datelisthead">' + "".join(f"<td>{h}</td>" for h in _HEADER) + "</tr>"]
    for n, ((term, code), by_attempt) in enumerate(rows.items()):
        first = by_attempt.get("normal") or next(iter(by_attempt.values()))
        year, _, term_no = term.rpartition("-")
        normal = by_attempt.get("normal")
        makeup, retake = by_attempt.get("makeup"), by_attempt.get("retake")
        cells = (
            year, term_no, code, first.course_name, first.course_nature, first.course_category,
            "" if first.credits is None else f"{first.credits:g}",
            "" if normal is None or normal.grade_point is None else f"{normal.grade_point:.2f}",
            normal.score if normal else "", "0", makeup.score if makeup else "", retake.score if retake else "",
            "计算机学院", "", "1" if retake else "0",
        )
        cls = ' class="alt"' if n % 2 else ""
        lines.append(f"<tr{cls}>" + "".join(_td(c) for c in cells) + "</tr>")
    lines.append("</table>")
    return "\n".join(lines)


class ZfLegacySimulator(Simulator):
    """Old 正方 (ASP.NET): default2.aspx, CheckCode.aspx, xs_main.aspx, xscjcx.aspx (GB2312)."""

    system: ClassVar[str] = "zf_legacy"
    session_cookie: ClassVar[str] = "ASP.NET_SessionId"
    lock_after: ClassVar[int] = 5
    captcha_case_sensitive: ClassVar[bool] = False
    wrong_captcha_text = WRONG_CAPTCHA
    bad_credentials_text = BAD_CREDENTIALS
    locked_text = LOCKED

    def __init__(self, students: Iterable[StudentRecord], *, captcha: bool = True, session_path: str = "none",
                 password_field: str = "TextBox2", event_validation: bool = True, **kwargs: Any) -> None:
        super().__init__(students, **kwargs)
        if session_path not in ("none", "S", "plain"):
            raise ValueError(f"session_path must be 'none', 'S' or 'plain', not {session_path!r}")
        if password_field not in ("TextBox2", "TextBox1"):
            raise ValueError(f"password_field must be TextBox2 or TextBox1, not {password_field!r}")
        self.captcha = captcha
        self.session_path = session_path
        self.password_field = password_field
        self.event_validation = event_validation
        self._machine_key = secrets.token_bytes(16)

    def default_captchas(self) -> CaptchaSource:
        from gradewatch.captcha.render_zf_legacy import SPEC, render_zf_legacy

        return RenderedCaptchas(render_zf_legacy, charset=SPEC.charset, length=SPEC.length, seed=self.seed,
                                image_format="GIF")

    def banner(self) -> list[str]:
        return [*super().banner(), f"  captcha      {'CheckCode.aspx' if self.captcha else 'none'}; "
                f"session path {self.session_path}"]

    # ---- cookieless sessions -----------------------------------------------------------------
    def new_session_id(self) -> str:
        return "".join(secrets.choice(_SID_ALPHABET) for _ in range(24))  # ASP.NET's 24-char ids

    def session_id_of(self, request: Request) -> str | None:
        if self.session_path == "none":
            return super().session_id_of(request)
        sid = request.scope.get(_SID_KEY)
        return sid if isinstance(sid, str) else None

    def set_cookie(self, response: Response, sess: Session) -> None:
        if self.session_path == "none":
            super().set_cookie(response, sess)

    def segment(self, sid: str) -> str:
        return f"/(S({sid}))" if self.session_path == "S" else f"/({sid})"

    def app(self) -> ASGIApp:
        inner = super().app()
        if self.session_path == "none":
            return inner
        sim = self

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            path = scope.get("path", "")
            if scope["type"] != "http" or path.startswith("/_admin") or sim.controls.down:
                await inner(scope, receive, send)
                return
            m = _SEGMENT.match(path)
            if m is None or sim.live_session(m[1]) is None:
                # ASP.NET cookieless: a fresh id, inserted into the same URL.
                rest = m[2] if m is not None else path
                query = scope.get("query_string", b"").decode("latin-1")
                target = sim.segment(sim.new_session().id) + rest + (f"?{query}" if query else "")
                await RedirectResponse(target, 302)(scope, receive, send)
                return
            await inner({**scope, "path": m[2], "raw_path": m[2].encode(), _SID_KEY: m[1]}, receive, send)

        return app

    def url(self, request: Request, path: str) -> str:
        """``path`` below the root, with this request's session segment when the deployment uses one."""
        sid = self.session_id_of(request) if self.session_path != "none" else None
        return (self.segment(sid) if sid else "") + "/" + path.lstrip("/")

    # ---- pages -------------------------------------------------------------------------------
    def page(self, text: str, status: int = 200) -> Response:
        return self.html_page(text, status, encoding=ENCODING, headers={"Content-Type": "text/html; charset=gb2312"})

    def viewstate(self, page: str) -> str:
        """The page's __VIEWSTATE: the same for every visitor (public clients hard-code it), MAC-checked."""
        mac = hmac.new(self._machine_key, page.encode(), hashlib.sha1).hexdigest()[:28]
        return "dDw" + mac + "Oz4="

    def event_validation_input(self, page: str) -> str:
        if not self.event_validation:
            return ""
        value = hmac.new(self._machine_key, b"ev:" + page.encode(), hashlib.sha1).hexdigest()[:24]
        return f'<input type="hidden" name="__EVENTVALIDATION" value="/wE{value}" />'

    def _state_ok(self, form: dict[str, str], page: str) -> bool:
        ok = hmac.compare_digest(form.get("__VIEWSTATE", ""), self.viewstate(page))
        if self.event_validation:
            expected = self.event_validation_input(page).split('value="')[1].split('"')[0]
            ok = ok and hmac.compare_digest(form.get("__EVENTVALIDATION", ""), expected)
        return ok

    def state_error(self) -> Response:
        return self.page(_HEAD.format(title="验证视图状态 MAC 失败") + f"<body><h2>“/”应用程序中的服务器错误。</h2>"
                         f"<h3>{VIEWSTATE_ERROR}</h3></body></HTML>", 500)

    def login_page(self, alert: str = "", username: str = "") -> Response:
        focus = "txtSecretCode" if alert == WRONG_CAPTCHA else self.password_field
        return self.page(_LOGIN.format(
            title="欢迎使用正方教务管理系统！请登录", viewstate=self.viewstate("default2"),
            event_validation=self.event_validation_input("default2"), username=html.escape(username),
            password_field=self.password_field, captcha=_CAPTCHA_ROW if self.captcha else "",
            alert=_ALERT.format(text=alert, focus=focus) if alert else "",
        ))

    def to_login(self, request: Request) -> Response:
        return RedirectResponse(self.url(request, "default2.aspx"), 302)

    def error_text(self, result: LoginResult) -> str:
        if result.outcome is Outcome.WRONG_PASSWORD and self.controls.wrong_password_text:
            return self.controls.wrong_password_text
        if result.outcome is Outcome.WRONG_PASSWORD and result.student is None:
            return UNKNOWN_USER
        if result.outcome is Outcome.WRONG_PASSWORD and result.tries_left:
            return WRONG_PASSWORD.format(n=result.tries_left)
        return super().error_text(result)

    def log_in(self, sess: Session, student: Student) -> Session:
        sess.username = student.username  # ASP.NET keeps the session id across the login
        return sess

    # ---- routes ------------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        return [
            Route("/", self.root),
            Route("/default2.aspx", self.login_form, methods=["GET"]),
            Route("/default2.aspx", self.login_post, methods=["POST"]),
            Route("/CheckCode.aspx", self.captcha_response),
            Route("/xs_main.aspx", self.main),
            Route("/xscjcx.aspx", self.grades, methods=["GET", "POST"]),
            Route("/logout.aspx", self.logout),
        ]

    async def root(self, request: Request) -> Response:
        return self.to_login(request)

    async def login_form(self, request: Request) -> Response:
        sess, new = self.session_or_new(request)
        resp = self.login_page()
        if new:
            self.set_cookie(resp, sess)
        return resp

    async def login_post(self, request: Request) -> Response:
        form = await self.form(request, ENCODING)
        if not self._state_ok(form, "default2"):
            return self.state_error()
        username = form.get("txtUserName", "").strip()
        password = form.get(self.password_field, "")
        sess = self.session(request)
        if form.get("RadioButtonList1") != STUDENT_ROLE:  # only the student role is simulated
            if sess is not None:
                sess.captcha = None
            return self.login_page(UNKNOWN_USER, username)
        code = form.get("txtSecretCode", "") if self.captcha else None
        result = self.attempt_login(sess, username, password, code)
        if result.outcome is Outcome.OK and sess is not None and result.student is not None:
            self.log_in(sess, result.student)
            return RedirectResponse(self.url(request, f"xs_main.aspx?xh={quote(username)}"), 302)
        return self.login_page(self.error_text(result), username)

    def _viewer(self, request: Request) -> Student | None:
        student = self.student_of(request)
        if student is None or request.query_params.get("xh") != student.username:
            return None
        return student

    async def main(self, request: Request) -> Response:
        student = self._viewer(request)
        if student is None:
            return self.to_login(request)
        xm = quote(student.name.encode(ENCODING))
        return self.page(_MAIN.format(name=html.escape(student.name), xh=student.username, xm=xm,
                                      module=GRADE_MODULE))

    async def grades(self, request: Request) -> Response:
        student = self._viewer(request)
        if student is None or "xs_main.aspx" not in request.headers.get("referer", "") and request.method == "GET":
            return self.to_login(request)  # the real page sends visitors without the menu's Referer away
        table = ""
        if request.method == "POST":
            form = await self.form(request, ENCODING)
            if not self._state_ok(form, "xscjcx"):
                return self.state_error()
            buttons = [b for b in ("btn_xq", "btn_xn", "btn_zcj") if b in form]
            if len(buttons) != 1:
                return self.state_error()
            year, term = form.get("ddlXN", ""), form.get("ddlXQ", "")
            chosen = list(student.grades.values())
            if buttons[0] in ("btn_xn", "btn_xq"):
                chosen = [g for g in chosen if not year or g.term.startswith(year + "-")]
            if buttons[0] == "btn_xq":
                chosen = [g for g in chosen if not term or g.term.endswith("-" + term)]

            def render() -> Response:
                return self.grade_page(student, grade_table(chosen))

            return self.grade_view(student, render, lambda: self.page(_BROKEN))
        return self.grade_page(student, table)

    def grade_page(self, student: Student, table: str) -> Response:
        years = sorted({g.term.rpartition("-")[0] for g in student.grades.values()}, reverse=True)
        return self.page(_GRADES.format(
            xh=student.username, xm=quote(student.name.encode(ENCODING)), module=GRADE_MODULE,
            name=html.escape(student.name), viewstate=self.viewstate("xscjcx"),
            event_validation=self.event_validation_input("xscjcx"), table=table,
            years="".join(f'<option value="{y}">{y}</option>' for y in years),
        ))

    async def logout(self, request: Request) -> Response:
        sess = self.session(request)
        if sess is not None:
            self.end_session(sess)
        return self.to_login(request)
