"""Wisedu SSFW (师生服务) simulator, after docs/school-systems.md §7.

    GET  /ssfw/login.jsp                      login form (j_username, j_password, validateCode, hidden mode)
    GET  /ssfw/jwcaptcha.do[?anything]        a new captcha bound to the session cookie (JSESSIONID)
    POST /ssfw/j_spring_ids_security_check    302 → /ssfw/index.do on success; else the login page with
                                              校验码错误 / 用户名或密码错误 / the lock message
                                              (no Referer needed: the original script sent none). With
                                              ``landing="portal"`` success lands on
                                              /ssfw/common/ajaxLoginResult.jsp?success=true instead.
                                              The 5th wrong password in a row locks the account; from then
                                              on every login gets the lock message, the right password too.
    GET  /ssfw/index.do                       logged-in home naming the student
    GET  /ssfw/jwnavmenu.do?menuItemWid=…     the grade page (有效成绩 block, .t_con table, 11 cells a row)
    GET|POST /ssfw/zhcx/cjxx.do               with ``grade_page="cjxx"``: the other schools' grade page
                                              (qXndm_ys, qXqdm_ys; table.ui_table in div#tab01)
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
from gradewatch.sim.base import LoginResult, Outcome, Session, Simulator, Student, check_choice, logged_in_page
from gradewatch.sim.captchas import CaptchaSource, RenderedCaptchas
from gradewatch.sim.transcripts import StudentRecord

#: menuItemWid of the grade page (成绩查询 → 有效成绩) at the original school (three independent scripts
#: for that school use it). The adapter uses the same default.
GRADES_MENU_WID = "1E057E24ABAB4CAFE0540010E0235690"
CJXX = "/ssfw/zhcx/cjxx.do"
PORTAL_LANDING = "/ssfw/common/ajaxLoginResult.jsp"

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
<input type="hidden" name="mode" value="{mode}" />
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

#: 备注 of a mark that is not a score.
_STATUS_REMARK = {"withdrawn": "中期退课", "deferred": "缓考", "exempt": "免修", "cancelled": "取消",
                  "misconduct": "违纪", "held": "未评教"}

_HEADER = "序号 学年学期 课程代码 课程名称 课程类别 任选课类别 课程性质 学分 成绩 考试性质 备注".split()


def _cell(value: object) -> str:
    return f'<td align="center">{html.escape(str(value))}</td>'


def grade_rows(grades: list[Grade]) -> str:
    rows = []
    for n, g in enumerate(sorted(grades, key=lambda g: g.term), start=1):
        elective = "人文社科类" if g.course_nature == "选修" and g.course_category == "通识教育课" else ""
        remark = _STATUS_REMARK.get(g.status, "") or (g.exam_type if g.exam_type != "正常考试" else "")
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


#: Score headers the zhcx/cjxx.do page uses at different schools.
CJXX_SCORE_HEADERS = ("成绩", "结课考核成绩", "期末总评成绩")
CJXX_CODE_HEADERS = ("课程号", "课程代码")
_CN_TERMS = {"1": "一", "2": "二", "3": "三"}


def cjxx_body(grades: list[Grade], code_header: str, score_header: str) -> str:
    """The zhcx/cjxx.do page's grade tab: ``div#tab01`` with a ``table.ui_table``, one ``tr.t_con`` a course."""
    header = ("序号", "学年学期", code_header, "课程名称", "课程性质", "学分", score_header, "绩点")
    rows = []
    for n, g in enumerate(sorted(grades, key=lambda g: g.term), start=1):
        year, _, term = g.term.rpartition("-")
        numeric = g.numeric_score
        point = "" if numeric is None else f"{max(0.0, (numeric - 50) / 10) if numeric >= 60 else 0.0:.1f}"
        credits = "" if g.credits is None else f"{g.credits:.1f}"
        cells = (str(n), f"{year}学年第{_CN_TERMS.get(term, term)}学期", g.course_code, g.course_name,
                 g.course_nature, f"\n\t\t{credits}\n\t", g.score, point)
        rows.append('<tr class="t_con">' + "".join(
            f'<td align="center" valign="middle">{html.escape(c)}</td>' for c in cells) + "</tr>")
    head = "".join(f"<th>{h}</th>" for h in header)
    return f"""<div class="ui_tab"><ul class="ui_tab_title"><li class="on" tabid="01">有效成绩</li></ul>
<div id="tab01" tabid="01" class="ui_tab_con">
<div class="ui_alert ui_alert_block">平均学分绩点：—</div>
<div><table class="ui_table ui_table_hover ui_table_striped ui_table_style02" width="100%">
<tr class="t_title">{head}</tr>
{chr(10).join(rows)}
</table></div></div></div>"""


_BROKEN_PAGE = """<html><head><meta http-equiv="Content-Type" content="text/html; charset={charset}" />
<title>系统提示</title></head>
<body><div class="error_box"><h3>系统繁忙</h3>
<p>java.lang.NullPointerException at com.wisedu.ssfw.cjcx.action.CjcxAction.execute(CjcxAction.java:87)</p>
<table class="t_con"><tr><td align="center">1</td><td align="center">2021-</td></tr></table>
</div></body></html>
"""


class SsfwSimulator(Simulator):
    wrong_captcha_text = WRONG_CAPTCHA
    bad_credentials_text = BAD_CREDENTIALS
    locked_text = LOCKED
    broken_grades_page = _BROKEN_PAGE
    system: ClassVar[str] = "ssfw"
    cookie_path: ClassVar[str] = "/ssfw"
    login_page_path: ClassVar[str] = "/ssfw/login.jsp"

    captcha_charset: ClassVar[str] = "0123456789abcdefghijklmnopqrstuvwxyz"
    captcha_length: ClassVar[int] = 4

    def __init__(
        self,
        students: Iterable[StudentRecord],
        *,
        encoding: str = "utf-8",
        grade_page: str = "navmenu",
        code_header: str = "课程号",
        score_header: str = "成绩",
        mode: str = "local",
        landing: str = "index",
        **kwargs: Any,
    ) -> None:
        """Variants (field notes): ``encoding`` ``utf-8``/``gbk``; ``grade_page``: ``"navmenu"`` (the original
        school's jwnavmenu.do page) or ``"cjxx"`` (zhcx/cjxx.do, other SSFW schools), whose table heads the
        course code ``code_header`` and the score ``score_header``; ``mode``: the login form's hidden
        ``mode`` (``local`` or ``db``); ``landing``: where a login lands, ``"index"`` or ``"portal"``
        (ajaxLoginResult.jsp?success=true, behind a portal SSO)."""
        super().__init__(students, **kwargs)
        if encoding.lower() not in ("utf-8", "gbk"):
            raise ValueError(f"encoding must be utf-8 or gbk, not {encoding!r}")
        for name, value, allowed in (("grade_page", grade_page, ("navmenu", "cjxx")),
                                     ("code_header", code_header, CJXX_CODE_HEADERS),
                                     ("score_header", score_header, CJXX_SCORE_HEADERS),
                                     ("mode", mode, ("local", "db")), ("landing", landing, ("index", "portal"))):
            check_choice(name, value, allowed)
        self.encoding = encoding.upper()
        self.grade_page = grade_page
        self.code_header = code_header
        self.score_header = score_header
        self.mode = mode
        self.landing = landing
        #: The ``mode`` field of the last login POSTs, for tests.
        self.posted_modes: list[str] = []

    def default_captchas(self) -> CaptchaSource:
        from gradewatch.captcha.render import render_ssfw  # the captcha engine's SSFW renderer

        # Real SSFW servers send JPEG; the renderer already imitates its artefacts, so re-encode gently.
        return RenderedCaptchas(
            render_ssfw, charset=self.captcha_charset, length=self.captcha_length, seed=self.seed, image_format="JPEG"
        )

    # ---- responses -------------------------------------------------------------------------
    def login_page(self, error: str = "", username: str = "") -> Response:
        return self.page(
            _LOGIN_PAGE.format(charset=self.encoding, error=html.escape(error), username=html.escape(username),
                               mode=self.mode)
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

    # ---- routes ----------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        return [
            Route("/", self.root),
            Route("/ssfw/", self.root),
            Route("/ssfw/login.jsp", self.login_form),
            Route("/ssfw/jwcaptcha.do", self.captcha_response),
            Route("/ssfw/j_spring_ids_security_check", self.security_check, methods=["POST"]),
            Route("/ssfw/index.do", self.index),
            Route("/ssfw/jwnavmenu.do", self.navmenu),
            Route(CJXX, self.cjxx, methods=["GET", "POST"]),
            Route(PORTAL_LANDING, self.portal_landing),
            Route("/ssfw/j_spring_security_logout", self.logout),
            *timetable_routes(self),
        ]

    async def root(self, request: Request) -> Response:
        return RedirectResponse("/ssfw/index.do" if self.student_of(request) else "/ssfw/login.jsp", 302)

    async def login_form(self, request: Request) -> Response:
        return self.page_with_session(request, lambda _sess: self.login_page())

    async def security_check(self, request: Request) -> Response:
        form = await self.form(request, self.encoding)
        self.posted_modes = [*self.posted_modes[-49:], form.get("mode", "")]
        username = form.get("j_username", "").strip()
        password = form.get("j_password", "")
        code = form.get("validateCode", "")
        sess = self.session(request)
        result = self.attempt_login(sess, username, password, code)
        if result.outcome is Outcome.OK and sess is not None and result.student is not None:
            fresh = self.log_in(sess, result.student)
            target = f"{PORTAL_LANDING}?success=true" if self.landing == "portal" else "/ssfw/index.do"
            resp = RedirectResponse(target, status_code=302)
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

    @logged_in_page
    async def index(self, request: Request, sess: Session, student: Student) -> Response:
        body = f'<div class="welcome"><h2>{html.escape(student.name)}同学，欢迎使用师生服务平台</h2></div>'
        return self.frame(student, "师生服务平台", body)

    @logged_in_page
    async def navmenu(self, request: Request, sess: Session, student: Student) -> Response:
        if self.grade_page != "navmenu" or request.query_params.get("menuItemWid") != GRADES_MENU_WID:
            return self.frame(student, "师生服务平台", '<div class="nav">请从左侧菜单选择功能。</div>')
        if (broken := self.counted_grade_fetch(student)) is not None:
            return broken
        return self.frame(student, "成绩查询", grade_page_body(student))

    @logged_in_page
    async def cjxx(self, request: Request, sess: Session, student: Student) -> Response:
        if self.grade_page != "cjxx":
            return self.page("<html><head><title>404</title></head><body>404 Not Found</body></html>", 404)
        params = dict(request.query_params)
        if request.method == "POST":
            params.update(await self.form(request, self.encoding))
        if (broken := self.counted_grade_fetch(student)) is not None:
            return broken
        year, term = params.get("qXndm_ys", ""), params.get("qXqdm_ys", "")
        grades = [g for g in student.grades.values()
                  if (not year or g.term.rpartition("-")[0] == year) and (not term or g.term.endswith(f"-{term}"))]
        return self.frame(student, "综合查询 - 成绩信息", cjxx_body(grades, self.code_header, self.score_header))

    @logged_in_page
    async def portal_landing(self, request: Request, sess: Session, student: Student) -> Response:
        return self.page('<html><head><title>登录结果</title></head><body><script>'
                         'window.location.href="/ssfw/index.do";</script>登录成功</body></html>')

    async def logout(self, request: Request) -> Response:
        sess = self.session(request)
        if sess is not None:
            self.end_session(sess)
        return self.signed_out(request)


# ---- timetable (课表): the term's courses, graded or not --------------------------------------
#   GET /ssfw/pkgl/kcbxx/4/{term}.do?flag=4&xnxqdm={term}   the student's timetable of a term
#   GET /ssfw/pkgl/kcbxx/xskcb.do                          the same for the current term
# Paths as published SSFW clients request them; the cell layout (name, code, teacher, weeks,
# room, one <div> per lesson) is our reading, not a capture.


def timetable_routes(sim: SsfwSimulator) -> list[BaseRoute]:
    from gradewatch.sim.timetable import PERIODS, WEEKDAYS, current_term, lessons_of

    def page(student: Student, term: str) -> str:
        lessons = lessons_of(student, term)
        head = "<tr><th>节次</th>" + "".join(f"<th>{d}</th>" for d in WEEKDAYS) + "</tr>"
        rows = []
        for p, (label, first, last) in enumerate(PERIODS):
            cells = []
            for day in range(1, 8):
                items = [
                    f'<div class="kcb_item">{html.escape(le.name)}<br/>{html.escape(le.code)}<br/>'
                    f"{html.escape(le.teacher)}<br/>{le.weeks}周<br/>{html.escape(le.room)}</div>"
                    for le in lessons if le.weekday == day and le.period == p
                ]
                cells.append(f'<td align="center">{"".join(items) or "&nbsp;"}</td>')
            rows.append(f"<tr><th>{label}<br/>({first}-{last}节)</th>{''.join(cells)}</tr>")
        option = f'<option value="{term}" selected="selected">{term}</option>'
        select = f'<select name="xnxqdm" id="xnxqdm">{option}</select>'
        return (f'<div class="kcb_title">学生课表 {select}</div>\n'
                f'<table id="1" class="CourseFormTab" width="100%" border="1">{head}{"".join(rows)}</table>')

    async def by_term(request: Request) -> Response:
        student = sim.student_of(request)
        if student is None:
            return sim.signed_out(request)
        term = str(request.path_params["term"])
        return sim.frame(student, "学生课表", page(student, term))

    async def current(request: Request) -> Response:
        student = sim.student_of(request)
        if student is None:
            return sim.signed_out(request)
        return sim.frame(student, "学生课表", page(student, current_term(student)))

    return [Route("/ssfw/pkgl/kcbxx/4/{term}.do", by_term), Route("/ssfw/pkgl/kcbxx/xskcb.do", current)]
