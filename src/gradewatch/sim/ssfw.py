"""Wisedu SSFW (师生服务) simulator, after docs/school-systems.md §7.

    GET  /ssfw/login.jsp                      login form (j_username, j_password, validateCode, hidden mode)
    GET  /ssfw/jwcaptcha.do[?anything]        a new captcha bound to the session cookie (JSESSIONID)
    POST /ssfw/j_spring_ids_security_check    302 → /ssfw/index.do on success; else the login page with
                                              校验码错误 / 用户名或密码错误 / the lock message
                                              (403 without a Referer, not counted as a login attempt).
                                              The 5th wrong password in a row locks the account; from then
                                              on every login gets the lock message, the right password too.
    GET  /ssfw/index.do                       logged-in home naming the student
    GET  /ssfw/jwnavmenu.do?menuItemWid=…     the grade page (有效成绩 block, .t_con table, 11 cells a row)
    GET  /ssfw/j_spring_security_logout       ends the session

Logged-in pages redirect (302) to the login page without a live session. Pages are served in the
configured encoding (UTF-8 or GBK), declared in Content-Type and in a meta tag.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gradewatch.grades import Grade
from gradewatch.sim.base import LoginResult, Outcome, Simulator, Student
from gradewatch.sim.captchas import CaptchaSource, RenderedCaptchas
from gradewatch.sim.transcripts import StudentRecord

#: menuItemWid of the grade page (成绩查询 → 有效成绩). The adapter uses the same default.
GRADES_MENU_WID = "2C8B3DB6F0C54E39A1F2B0D6E9A7C301"

WRONG_CAPTCHA = "校验码错误，请重新输入！"
BAD_CREDENTIALS = "用户名或密码错误！"
WRONG_PASSWORD = BAD_CREDENTIALS + "您还可以尝试{n}次。"
LOCKED = "您的账号因连续{n}次密码错误已被锁定，请次日再试或联系教务处解锁。"

_LOGIN_PAGE = """<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" \
"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
<meta http-equiv="Content-Type" content="text/html; charset={charset}" />
<title>师生服务平台 - 用户登录</title>
<script type="text/javascript">
function refreshCaptcha() {{
  document.getElementById("validateCodeImg").src = "/ssfw/jwcaptcha.do?" + new Date().getTime();
}}
</script>
</head>
<body>
<div class="login_box">
<form id="loginForm" name="loginForm" action="/ssfw/j_spring_ids_security_check" method="post">
<input type="hidden" name="mode" value="local" />
<table class="login_table">
<tr><td class="label">学号：</td>
<td><input type="text" name="j_username" id="j_username" value="{username}" /></td></tr>
<tr><td class="label">密码：</td><td><input type="password" name="j_password" id="j_password" value="" /></td></tr>
<tr><td class="label">校验码：</td><td><input type="text" name="validateCode" id="validateCode" maxlength="4" />
<img id="validateCodeImg" src="/ssfw/jwcaptcha.do" onclick="refreshCaptcha()" alt="看不清，换一张" /></td></tr>
</table>
<div id="errorInfo" class="login_error">{error}</div>
<input type="submit" id="btn_login" value="登 录" />
</form>
</div>
<div class="footer">Copyright &copy; 江苏金智教育信息股份有限公司</div>
</body>
</html>
"""

_FRAME = """<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" \
"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
<meta http-equiv="Content-Type" content="text/html; charset={charset}" />
<title>{title}</title>
</head>
<body>
<div class="top"><div class="top_user">欢迎您：{name}（{username}）
<a href="/ssfw/j_spring_security_logout">[注销]</a></div></div>
<div class="menu"><ul>
<li><a href="/ssfw/index.do">首页</a></li>
<li><a href="/ssfw/jwnavmenu.do?menuItemWid={wid}">成绩查询</a></li>
</ul></div>
<div class="main">
{body}
</div>
</body>
</html>
"""

_HEADER = "序号 学年学期 课程代码 课程名称 课程类别 任选课类别 课程性质 学分 成绩 考试性质 备注".split()


def _cell(value: object) -> str:
    return f'<td align="center">{html.escape(str(value))}</td>'


def grade_rows(grades: list[Grade]) -> str:
    rows = []
    for n, g in enumerate(sorted(grades, key=lambda g: g.term), start=1):
        elective = "人文社科类" if g.course_nature == "选修" and g.course_category == "通识教育课" else ""
        remark = g.exam_type if g.exam_type != "正常考试" else ""
        credits = "" if g.credits is None else f"{g.credits:.1f}"
        cells = (
            n,
            g.term,
            g.course_code,
            g.course_name,
            g.course_category,
            elective,
            g.course_nature,
            credits,
            g.score,
            g.exam_type,
            remark,
        )
        rows.append('<tr class="t_con_tr">' + "".join(_cell(c) for c in cells) + "</tr>")
    if not rows:
        rows.append('<tr><td colspan="11" align="center">没有查询到成绩记录</td></tr>')
    return "\n".join(rows)


def grade_page_body(student: Student) -> str:
    header = "".join(f"<th>{h}</th>" for h in _HEADER)
    return f"""<div class="ui_tab">
<ul class="ui_tab_title"><li class="on">有效成绩</li><li>等级考试成绩</li></ul>
<div class="ui_tab_con" title="有效成绩">
<table class="t_con" width="100%" border="0" cellspacing="1" cellpadding="0">
<thead><tr class="t_th">{header}</tr></thead>
<tbody>
{grade_rows(list(student.grades.values()))}
</tbody>
</table>
</div>
<div class="ui_tab_con" title="等级考试成绩" style="display:none">
<table class="t_con" width="100%" border="0" cellspacing="1" cellpadding="0">
<thead><tr class="t_th"><th>序号</th><th>考试名称</th><th>考试日期</th><th>成绩</th></tr></thead>
<tbody>
<tr><td align="center">1</td><td align="center">全国大学英语四级考试</td><td align="center">2022-06-11</td>\
<td align="center">512</td></tr>
</tbody>
</table>
</div>
</div>"""


_BROKEN_PAGE = """<html><head><meta http-equiv="Content-Type" content="text/html; charset={charset}" />
<title>系统提示</title></head>
<body><div class="error_box"><h3>系统繁忙</h3>
<p>java.lang.NullPointerException at com.wisedu.ssfw.cjcx.action.CjcxAction.execute(CjcxAction.java:87)</p>
<table class="t_con"><tr><td align="center">1</td><td align="center">2021-</td></tr></table>
</div></body></html>
"""


_FORBIDDEN_PAGE = """<html><head><meta http-equiv="Content-Type" content="text/html; charset={charset}" />
<title>403</title></head><body><h3>非法请求</h3></body></html>
"""


class SsfwSimulator(Simulator):
    wrong_captcha_text = WRONG_CAPTCHA
    bad_credentials_text = BAD_CREDENTIALS
    locked_text = LOCKED
    system: ClassVar[str] = "ssfw"
    session_cookie: ClassVar[str] = "JSESSIONID"
    cookie_path: ClassVar[str] = "/ssfw"
    lock_after: ClassVar[int] = 5
    captcha_case_sensitive: ClassVar[bool] = False

    captcha_charset: ClassVar[str] = "0123456789abcdefghijklmnopqrstuvwxyz"
    captcha_length: ClassVar[int] = 4

    def __init__(self, students: Iterable[StudentRecord], *, encoding: str = "utf-8", **kwargs: Any) -> None:
        super().__init__(students, **kwargs)
        if encoding.lower() not in ("utf-8", "gbk"):
            raise ValueError(f"encoding must be utf-8 or gbk, not {encoding!r}")
        self.encoding = encoding.upper()

    def default_captchas(self) -> CaptchaSource:
        from gradewatch.captcha.render import render_ssfw  # the captcha engine's SSFW renderer

        # Real SSFW servers send JPEG; the renderer already imitates its artefacts, so re-encode gently.
        return RenderedCaptchas(
            render_ssfw, charset=self.captcha_charset, length=self.captcha_length, seed=self.seed, image_format="JPEG"
        )

    # ---- responses -------------------------------------------------------------------------
    def page(self, text: str, status: int = 200) -> Response:
        body = text.encode(self.encoding)
        return Response(body, status, headers={"Content-Type": f"text/html;charset={self.encoding}"})

    def login_page(self, error: str = "", username: str = "") -> Response:
        return self.page(
            _LOGIN_PAGE.format(charset=self.encoding, error=html.escape(error), username=html.escape(username))
        )

    def frame(self, student: Student, title: str, body: str) -> Response:
        return self.page(
            _FRAME.format(
                charset=self.encoding,
                title=title,
                name=html.escape(student.name),
                username=html.escape(student.username),
                wid=GRADES_MENU_WID,
                body=body,
            )
        )

    @staticmethod
    def to_login() -> Response:
        return RedirectResponse("/ssfw/login.jsp", status_code=302)

    # ---- routes ----------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        return [
            Route("/", self.root),
            Route("/ssfw/", self.root),
            Route("/ssfw/login.jsp", self.login_form),
            Route("/ssfw/jwcaptcha.do", self.captcha),
            Route("/ssfw/j_spring_ids_security_check", self.security_check, methods=["POST"]),
            Route("/ssfw/index.do", self.index),
            Route("/ssfw/jwnavmenu.do", self.navmenu),
            Route("/ssfw/j_spring_security_logout", self.logout),
        ]

    async def root(self, request: Request) -> Response:
        return RedirectResponse("/ssfw/index.do" if self.student_of(request) else "/ssfw/login.jsp", 302)

    async def login_form(self, request: Request) -> Response:
        sess, new = self.session_or_new(request)
        resp = self.login_page()
        if new:
            self.set_cookie(resp, sess)
        return resp

    async def captcha(self, request: Request) -> Response:
        sess, new = self.session_or_new(request)
        image, media_type = self.issue_captcha(sess)
        resp = Response(
            image,
            media_type=media_type,
            headers={"Cache-Control": "no-cache, no-store", "Pragma": "no-cache", "Expires": "0"},
        )
        if new:
            self.set_cookie(resp, sess)
        return resp

    async def security_check(self, request: Request) -> Response:
        if not request.headers.get("referer"):  # the login filter refuses posts not coming from a page
            return self.page(_FORBIDDEN_PAGE.format(charset=self.encoding), 403)
        form = await self.form(request, self.encoding)
        username = form.get("j_username", "").strip()
        password = form.get("j_password", "")
        code = form.get("validateCode", "")
        sess = self.session(request)
        result = self.attempt_login(sess, username, password, code)
        if result.outcome is Outcome.OK and sess is not None and result.student is not None:
            fresh = self.log_in(sess, result.student)
            resp = RedirectResponse("/ssfw/index.do", status_code=302)
            self.set_cookie(resp, fresh)
            return resp
        return self.login_page(self.error_text(result), username)

    def error_text(self, result: LoginResult) -> str:
        # A wrong password that leaves tries says how many; an unknown user, or the wrong password
        # that just locked the account, gets the plain credentials text.
        if result.outcome not in (Outcome.WRONG_CAPTCHA, Outcome.LOCKED) and self.controls.wrong_password_text:
            return self.controls.wrong_password_text  # a wording the adapter does not know
        if result.outcome not in (Outcome.WRONG_CAPTCHA, Outcome.LOCKED) and result.tries_left:
            return WRONG_PASSWORD.format(n=result.tries_left)
        return super().error_text(result)

    async def index(self, request: Request) -> Response:
        student = self.student_of(request)
        if student is None:
            return self.to_login()
        body = f'<div class="welcome"><h2>{html.escape(student.name)}同学，欢迎使用师生服务平台</h2></div>'
        return self.frame(student, "师生服务平台", body)

    async def navmenu(self, request: Request) -> Response:
        student = self.student_of(request)
        if student is None:
            return self.to_login()
        if request.query_params.get("menuItemWid") != GRADES_MENU_WID:
            return self.frame(student, "师生服务平台", '<div class="nav">请从左侧菜单选择功能。</div>')
        student.stats.grade_fetches += 1
        if self.controls.broken_grades:
            return self.page(_BROKEN_PAGE.format(charset=self.encoding))
        return self.frame(student, "成绩查询", grade_page_body(student))

    async def logout(self, request: Request) -> Response:
        sess = self.session(request)
        if sess is not None:
            self.end_session(sess)
        return self.to_login()
