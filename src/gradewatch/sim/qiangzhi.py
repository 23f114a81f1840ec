"""强智 (Qiangzhi) "jsxsd" simulator, after docs/school-systems.md §3.

The adapter's ``base_url`` is the site root. Two login variants (``login=``):

``"seed"`` (variant B, the default)::

    GET  /                                    login page (form → Logon.do?method=logon, img#SafeCodeImg)
    GET  /verifycode.servlet                  a new captcha bound to the session (4 chars of 123bcmnvxz)
    POST /Logon.do?method=logon&flag=sess     "<scode>#<sxh>": the seed for this session's next login
    POST /Logon.do?method=logon               userAccount, userPassword (empty), RANDOMCODE, encoded
                                              (ID%%%password interleaved with the seed); success is
                                              302 → /jsxsd/xk/LoginToXk?method=jwxt&ticqzket=… → 302 xsMain.jsp
                                              (only that hop creates the jsxsd session)

``"direct"`` (variant A)::

    GET  /jsxsd/                              login page (form → /jsxsd/xk/LoginToXk)
    GET  /jsxsd/verifycode.servlet            the captcha
    POST /jsxsd/xk/LoginToXk                  encoded = base64(ID) %%% base64(password), RANDOMCODE …
                                              302 → /jsxsd/framework/xsMain.jsp on success

Both::

    GET  /jsxsd/framework/xsMain.jsp          学生个人中心
    GET  /jsxsd/kscj/cjcx_frm                 the grade query form (must be opened before the list)
    POST /jsxsd/kscj/cjcx_list                kksj, kcxz, kcmc, xsfs → table#dataList (columns by header text)
    GET  /jsxsd/xk/LoginToXk?method=exit      log out

Failures come back as the login page with a red message (验证码错误!! / 用户名或密码错误 / the lock
text). Logged-in pages answer a small "请先登录系统" page without a live session. A new login of a
student ends every other session of that student (a new login kicks out the old one).
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
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gradewatch.grades import Grade
from gradewatch.sim.base import Outcome, Session, Simulator, Student
from gradewatch.sim.captchas import CaptchaSource, RenderedCaptchas
from gradewatch.sim.transcripts import StudentRecord

MAIN = "/jsxsd/framework/xsMain.jsp"
GRADE_FORM = "/jsxsd/kscj/cjcx_frm"
GRADE_LIST = "/jsxsd/kscj/cjcx_list"
LOGIN_TO_XK = "/jsxsd/xk/LoginToXk"

WRONG_CAPTCHA = "验证码错误!!"
BAD_CREDENTIALS = "用户名或密码错误"
LOCKED = "该账号密码连续输错{n}次，已被锁定，请次日再试或联系管理员!"

#: Every column the grade table can show, in the usual order; ``columns=`` picks and orders a subset.
ALL_COLUMNS = (
    "序号", "开课学期", "课程编号", "课程名称", "成绩", "成绩标识", "学分", "总学时", "绩点",
    "补重学期", "考核方式", "考试性质", "课程属性", "课程性质", "通选课类别",
)  # fmt: skip

_LOGIN_PAGE = """<!DOCTYPE html>
<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<meta name="Copyright" content="湖南强智科技发展有限公司">
<title>登录</title>
<script type="text/javascript" src="{ctx}/js/jquery-min.js"></script>
<script type="text/javascript" src="{ctx}/js/conwork.js"></script>
</head>
<body>
<div class="dlmi">
<form action="{action}" method="post" name="loginForm" id="loginForm">
<input type="hidden" name="encoded" id="encoded" value="">
<div class="dlmi1"><input type="text" name="userAccount" id="userAccount" value="{username}" placeholder="学号"></div>
<div class="dlmi1"><input type="password" name="userPassword" id="userPassword" value="" placeholder="密码"></div>
{captcha}
<div id="showMsg" style="color:red;">{message}</div>
<div><button type="button" id="btnSubmit" onclick="submitForm1()">登 录</button></div>
</form>
</div>
<div class="footer">技术支持：湖南强智科技发展有限公司</div>
</body>
</html>
"""

_CAPTCHA_ROW = """<div class="dlmi1"><input type="text" name="RANDOMCODE" id="RANDOMCODE" maxlength="4"
 placeholder="验证码"><img src="{src}" id="SafeCodeImg" onclick="reloadVerifyCode()" alt="验证码"></div>"""

_FRAME = """<!DOCTYPE html>
<html>
<head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"><title>{title}</title></head>
<body>
<div class="top"><div class="Nsb_top_menu_nc">{name}({username})</div>
<a href="/jsxsd/xk/LoginToXk?method=exit">退出</a></div>
<div class="Nsb_pw">{body}</div>
</body>
</html>
"""

# The short page a lost session gets (about 850 bytes on real servers).
_NOT_LOGGED_IN = """<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<title>提示</title></head>
<body><div style="margin:40px;font-size:14px;">请先登录系统，或您的账号已在其它地方登录！
<a href="/jsxsd/xk/LoginToXk?method=exit" target="_top">重新登录</a></div></body></html>
"""

_GRADE_FORM_BODY = """<form action="/jsxsd/kscj/cjcx_list" method="post" id="kscjQueryForm">
开课时间：<select name="kksj" id="kksj"><option value="">---请选择---</option>{terms}</select>
课程性质：<select name="kcxz" id="kcxz"><option value="">---请选择---</option></select>
课程名称：<input type="text" name="kcmc" id="kcmc" value="">
显示方式：<select name="xsfs" id="xsfs"><option value="all">显示全部成绩</option>
<option value="max">显示最好成绩</option></select>
<input type="submit" value="查询"></form>"""

_BROKEN_PAGE = """<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<title>错误</title></head><body><h3>系统出错了</h3>
<p>java.sql.SQLException: ORA-01000: maximum open cursors exceeded</p></body></html>
"""

_SCODE_ALPHABET = string.ascii_letters + string.digits


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
    out, pos = [], 0
    for i in range(20):
        if pos >= len(encoded):
            return "".join(out)
        out.append(encoded[pos])
        pos += 1 + int(sxh[i])
    return "".join(out) + encoded[pos:]


def grade_cells(g: Grade, n: int) -> dict[str, str]:
    numeric = g.numeric_score
    if numeric is not None:
        point = max(0.0, (numeric - 50) / 10) if numeric >= 60 else 0.0
    else:
        point = {"优秀": 4.5, "良好": 3.5, "中等": 2.5, "及格": 1.5, "合格": 3.5, "通过": 3.5}.get(g.score, 0.0)
    credits = "" if g.credits is None else f"{g.credits:g}"
    return {
        "序号": str(n),
        "开课学期": g.term,
        "课程编号": g.course_code,
        "课程名称": g.course_name,
        "成绩": g.score,
        "成绩标识": "" if g.exam_type == "正常考试" else g.exam_type,
        "学分": credits,
        "总学时": str(int((g.credits or 0) * 16)),
        "绩点": f"{point:.1f}",
        "补重学期": "" if g.exam_type == "正常考试" else g.term,
        "考核方式": "考试" if numeric is not None else "考查",
        "考试性质": g.exam_type,
        "课程属性": g.course_nature,
        "课程性质": g.course_category,
        "通选课类别": "",
    }


class QiangzhiSimulator(Simulator):
    wrong_captcha_text = WRONG_CAPTCHA
    bad_credentials_text = BAD_CREDENTIALS
    locked_text = LOCKED
    system: ClassVar[str] = "qiangzhi"
    session_cookie: ClassVar[str] = "JSESSIONID"
    cookie_path: ClassVar[str] = "/"
    lock_after: ClassVar[int] = 5
    captcha_case_sensitive: ClassVar[bool] = False

    def __init__(
        self,
        students: Iterable[StudentRecord],
        *,
        login: str = "seed",
        captcha: bool = True,
        columns: Sequence[str] = ALL_COLUMNS,
        **kwargs: Any,
    ) -> None:
        """``login``: ``"seed"`` (variant B) or ``"direct"`` (variant A); ``captcha``: show RANDOMCODE;
        ``columns``: the grade table's columns (names from ALL_COLUMNS), in order."""
        super().__init__(students, **kwargs)
        if login not in ("seed", "direct"):
            raise ValueError(f"login must be 'seed' or 'direct', not {login!r}")
        unknown = [c for c in columns if c not in ALL_COLUMNS]
        if unknown:
            raise ValueError(f"unknown grade columns: {', '.join(unknown)}")
        self.login = login
        self.captcha = captcha
        self.columns = tuple(columns)
        self._seeds: dict[str, tuple[str, str]] = {}  # session id -> (scode, sxh), one login each
        self._tickets: dict[str, str] = {}  # ticket -> username, for the LoginToXk hop
        self._frm: set[str] = set()  # sessions that opened the grade query form

    def default_captchas(self) -> CaptchaSource:
        from gradewatch.captcha.render_schools import render_qiangzhi
        from gradewatch.captcha.spec import SPECS

        spec = SPECS["qiangzhi"]
        return RenderedCaptchas(render_qiangzhi, charset=spec.charset, length=spec.length, seed=self.seed,
                                image_format="JPEG")

    # ---- responses -------------------------------------------------------------------------
    @staticmethod
    def page(text: str, status: int = 200) -> Response:
        return Response(text.encode("utf-8"), status, headers={"Content-Type": "text/html;charset=UTF-8"})

    @property
    def login_url(self) -> str:
        return "/" if self.login == "seed" else "/jsxsd/"

    def login_page(self, message: str = "", username: str = "") -> Response:
        seed = self.login == "seed"
        src = "verifycode.servlet" if seed else "/jsxsd/verifycode.servlet"
        return self.page(
            _LOGIN_PAGE.format(
                ctx="" if seed else "/jsxsd",
                action="Logon.do?method=logon" if seed else LOGIN_TO_XK,
                captcha=_CAPTCHA_ROW.format(src=src) if self.captcha else "",
                message=html.escape(message),
                username=html.escape(username),
            )
        )

    def frame(self, student: Student, title: str, body: str) -> Response:
        name, username = html.escape(student.name), html.escape(student.username)
        return self.page(_FRAME.format(title=title, body=body, name=name, username=username))

    def not_logged_in(self) -> Response:
        return self.page(_NOT_LOGGED_IN)

    def _with_cookie(self, resp: Response, sess: Session, new: bool) -> Response:
        if new:
            self.set_cookie(resp, sess)
        return resp

    # ---- routes ----------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        routes: list[BaseRoute] = [
            Route("/", self.root),
            Route("/jsxsd/", self.jsxsd_root),
            Route(LOGIN_TO_XK, self.login_to_xk, methods=["GET", "POST"]),
            Route(MAIN, self.main),
            Route(GRADE_FORM, self.grade_form),
            Route(GRADE_LIST, self.grade_list, methods=["POST"]),
            *timetable_routes(self),
        ]
        if self.login == "seed":
            routes += [
                Route("/verifycode.servlet", self.captcha_image),
                Route("/Logon.do", self.logon, methods=["POST"]),
            ]
        else:
            routes.append(Route("/jsxsd/verifycode.servlet", self.captcha_image))
        return routes

    async def root(self, request: Request) -> Response:
        if self.student_of(request) is not None:
            return RedirectResponse(MAIN, 302)
        if self.login != "seed":
            return RedirectResponse("/jsxsd/", 302)
        sess, new = self.session_or_new(request)
        return self._with_cookie(self.login_page(), sess, new)

    async def jsxsd_root(self, request: Request) -> Response:
        if self.student_of(request) is not None:
            return RedirectResponse(MAIN, 302)
        if self.login == "seed":
            return RedirectResponse("/", 302)
        sess, new = self.session_or_new(request)
        return self._with_cookie(self.login_page(), sess, new)

    async def captcha_image(self, request: Request) -> Response:
        sess, new = self.session_or_new(request)
        image, media_type = self.issue_captcha(sess)
        resp = Response(image, media_type=media_type, headers={"Cache-Control": "no-cache", "Pragma": "no-cache"})
        return self._with_cookie(resp, sess, new)

    # ---- variant B ---------------------------------------------------------------------------
    async def logon(self, request: Request) -> Response:
        if request.query_params.get("method") != "logon":
            return self.page("<html><body>method not supported</body></html>", 404)
        sess, new = self.session_or_new(request)
        if request.query_params.get("flag") == "sess":
            scode = "".join(secrets.choice(_SCODE_ALPHABET) for _ in range(64))
            sxh = "".join(secrets.choice("0123") for _ in range(20))
            self._seeds[sess.id] = (scode, sxh)
            while len(self._seeds) > 1000:
                del self._seeds[next(iter(self._seeds))]
            resp = Response(f"{scode}#{sxh}", media_type="text/plain;charset=UTF-8")
            return self._with_cookie(resp, sess, new)
        form = await self.form(request)
        seed = self._seeds.pop(sess.id, None)  # a seed serves one login
        username, password = "", ""
        if seed is not None:
            username, _, password = decode_seed(form.get("encoded", ""), seed[1]).partition("%%%")
        username = username or form.get("userAccount", "").strip()
        return self._answer_login(sess, new, username, password, form)

    # ---- variant A, and the ticket hop of variant B ----------------------------------------------
    async def login_to_xk(self, request: Request) -> Response:
        method = request.query_params.get("method", "")
        if method == "exit":
            sess = self.session(request)
            if sess is not None:
                self._frm.discard(sess.id)
                self.end_session(sess)
            return RedirectResponse(self.login_url, 302)
        if method == "jwxt" and request.method == "GET":
            sess, _ = self.session_or_new(request)
            username = self._tickets.pop(request.query_params.get("ticqzket", ""), None)
            student = self.students.get(username or "")
            if student is None:
                return self.not_logged_in()
            return self._enter(sess, student)
        if request.method != "POST" or self.login != "direct":
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
            if self.login == "seed":  # the jsxsd session is made by the ticket hop
                ticket = secrets.token_hex(16)
                self._tickets[ticket] = result.student.username
                while len(self._tickets) > 1000:
                    del self._tickets[next(iter(self._tickets))]
                return RedirectResponse(f"{LOGIN_TO_XK}?method=jwxt&ticqzket={ticket}", 302)
            return self._enter(sess, result.student)
        return self._with_cookie(self.login_page(self.error_text(result), username), sess, new)

    def _enter(self, sess: Session, student: Student) -> Response:
        """Log the student in on a fresh session, ending every other session of theirs."""
        self.expire_sessions(student.username)
        fresh = self.log_in(sess, student)
        resp = RedirectResponse(MAIN, 302)
        self.set_cookie(resp, fresh)
        return resp

    # ---- logged-in pages -----------------------------------------------------------------------

    async def main(self, request: Request) -> Response:
        _, student = self.logged_in(request)
        if student is None:
            return self.not_logged_in()
        body = f'<div class="middletopttxlr">欢迎您，{html.escape(student.name)}同学</div>'
        return self.frame(student, "学生个人中心", body)

    async def grade_form(self, request: Request) -> Response:
        sess, student = self.logged_in(request)
        if sess is None or student is None:
            return self.not_logged_in()
        if len(self._frm) > 1000:  # forget sessions long gone (a live one just opens the form again)
            self._frm.clear()
        self._frm.add(sess.id)
        terms = sorted({g.term for g in student.grades.values()}, reverse=True)
        options = "".join(f'<option value="{t}">{t}</option>' for t in terms)
        return self.frame(student, "学生个人中心", _GRADE_FORM_BODY.format(terms=options))

    async def grade_list(self, request: Request) -> Response:
        sess, student = self.logged_in(request)
        if sess is None or student is None:
            return self.not_logged_in()
        if sess.id not in self._frm:  # the list needs the query page's state
            return self.frame(student, "学生个人中心", '<div class="Nsb_pw">请从成绩查询页面进入！</div>')
        student.stats.grade_fetches += 1
        if self.controls.broken_grades:
            return self.page(_BROKEN_PAGE)
        form = await self.form(request)
        return self.frame(student, "学生个人中心", self.grade_table(student, form.get("kksj", "")))

    def grade_table(self, student: Student, term: str) -> str:
        grades = sorted(student.grades.values(), key=lambda g: (g.term, g.course_code, g.exam_type))
        grades = [g for g in grades if not term or g.term == term]
        head = "".join(f'<th class="Nsb_r_list_thb">{c}</th>' for c in self.columns)
        rows = []
        for n, g in enumerate(grades, start=1):
            cells = grade_cells(g, n)
            rows.append("<tr>" + "".join(f"<td>{html.escape(cells[c])}</td>" for c in self.columns) + "</tr>")
        if not rows:
            rows.append(f'<tr><td colspan="{len(self.columns)}">未查询到数据</td></tr>')
        credits = sum(g.credits or 0 for g in grades)
        return (
            f'<div>所修总学分：{credits:g}　平均学分绩点：—</div>\n'
            f'<table id="dataList" class="Nsb_r_list Nsb_table"><tr>{head}</tr>\n' + "\n".join(rows) + "\n</table>"
        )


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
            return sim.not_logged_in()
        form = await sim.form(request) if request.method == "POST" else {}
        term = form.get("xnxq01id") or request.query_params.get("xnxq01id") or current_term(student)
        return sim.frame(student, "学生个人中心", table(student, term))

    return [Route(TIMETABLE, timetable, methods=["GET", "POST"])]
