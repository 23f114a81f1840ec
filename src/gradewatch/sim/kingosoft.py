"""青果 (Kingosoft) new Java platform simulator, after docs/school-systems.md §5b and public clients.

    GET  /cas/login.action                 login page: ``var _ssessionid = "…"`` in its script, hidden
                                           hid_flag (0: a captcha is required), the captcha image, and (DES
                                           variant) <script id="kingo_encypt" src="/custom/js/SetKingoEncypt.jsp?t=…">
    GET  /custom/js/SetKingoEncypt.jsp     ``var _deskey = '<19 digits>'; var _nowtime = '<server time>';``
                                           fresh for each fetch, bound to the session
    GET  /cas/genValidateCode?dateTime=ms  a new 4-character captcha (JPEG), compared case-insensitively
    POST /cas/logon.action                 ``login="des"``: params = base64(strEnc(query, _deskey)), token =
                                           md5(md5(query) + md5(_nowtime)), timestamp = _nowtime; ``login="plain"``
                                           (older deployments): username, password, randnumber, isPasswordPolicy.
                                           The query carries _u<rand> = base64(ID;;JSESSIONID) and _p<rand> =
                                           md5(md5(password) + md5(lower(captcha))), <rand> being randnumber.
                                           JSON {status, message, result}: 200 (result = landing path),
                                           401 (captcha), 407 (a message for the user: password, lock), 500.
    GET  /frame/homes.action               the logged-in home (欢迎您：姓名)
    GET  /student/xscj.stuckcj.jsp?menucode=S40303      the grade query form
    POST /student/xscj.stuckcj_data.jsp    (Referer the form) per-term tables of results, 没有检索到记录 when none

Logged-in pages without a live login show the login page (点击刷新验证码). The server keeps only
MD5 of a password, as the real one does.
"""

from __future__ import annotations

import base64
import html
import secrets
import time
from collections.abc import Iterable
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gradewatch.grades import Grade
from gradewatch.schools.kingosoft_des import decrypt_params, md5_hex
from gradewatch.sim.base import BoundedTable, LoginResult, Outcome, Session, Simulator, Student, logged_in_page
from gradewatch.sim.captchas import CaptchaSource, RenderedCaptchas
from gradewatch.sim.transcripts import StudentRecord

HOME = "/frame/homes.action"
MENUCODE = "S40303"

WRONG_CAPTCHA = "验证码错误！"
BAD_CREDENTIALS = "帐号或密码不正确！请重新输入。"
LOCKED = "该帐号因连续{n}次密码错误已被锁定，请稍后再试或联系管理员！"
BAD_REQUEST = "登录参数校验失败，请刷新页面后重试！"

_CN_TERMS = {"1": "第一学期", "2": "第二学期", "3": "第三学期"}

_LOGIN = """<!DOCTYPE html>
<html><head><meta charset="UTF-8"><title>青果教务管理系统 - 用户登录</title>
<script type="text/javascript">
var _webRootPath = "/";
var _ssessionid = "{sid}";
</script>
{encypt}
</head>
<body>
<div class="login">
<input type="text" id="txt_yhm" placeholder="帐号">
<input type="password" id="txt_mm" placeholder="密码">
<input type="text" id="txt_sr" name="randnumber" maxlength="4" placeholder="验证码">
<img id="imgCode" src="/cas/genValidateCode?dateTime={ms}" title="点击刷新验证码" onclick="changeValidateCode(this)">
<input type="hidden" id="hid_flag" name="hid_flag" value="{hid_flag}">
<input type="hidden" id="hid_dxyzm" name="hid_dxyzm" value="">
<button id="btn_login" onclick="doLogin()">登 录</button>
</div>
</body></html>
"""

_ENCYPT = """
var _deskey = '{deskey}';
var _nowtime = '{nowtime}';
document.write("<script type='text/javascript' src='/custom/js/base64.js'></script>");
document.write("<script type='text/javascript' src='/custom/js/md5.js'></script>");
document.write("<script type='text/javascript' src='/custom/js/jkingo.des.js'></script>");
function des_encode(data) {{ return strEnc(data, _deskey, null, null); }}
function getEncParams(params) {{
 var timestamp = _nowtime;
 var token = md5(md5(params)+md5(timestamp));
 var _params = b64_encode(des_encode(params));
 return "params=" + _params + "&token=" + token + "&timestamp=" + timestamp;
}}
"""

_FRAME = """<!DOCTYPE html>
<html><head><meta charset="UTF-8"><title>{title}</title></head>
<body><div id="top">欢迎您：{name}（{username}）</div>
{body}
</body></html>
"""

_FORM = """<form id="form1" name="form1" method="post" action="/student/xscj.stuckcj_data.jsp">
<input type="radio" name="sjxz" value="sjxz1" checked>入学以来 <input type="radio" name="sjxz" value="sjxz2">学年
<input type="radio" name="sjxz" value="sjxz3">学期
<input type="radio" name="ysyx" value="yscj">原始成绩 <input type="radio" name="ysyx" value="yxcj" checked>有效成绩
<input type="checkbox" name="zx" value="1" checked>主修 <input type="checkbox" name="fx" value="1">辅修
<select name="xn"></select><select name="xn1"></select><select name="xq"></select>
<input type="hidden" name="rxnj" value="{year}"><input type="hidden" name="menucode_current" value="{menucode}">
<input type="button" value="检索" onclick="doSearch()">
</form>"""

_HEADER = ("序号", "课程", "学分", "类别", "修读性质", "考核方式", "成绩", "获得学分", "绩点", "学分绩点", "备注")

_BROKEN = """<html><head><meta charset="UTF-8"><title>错误</title></head>
<body><h3>系统处理请求时发生错误</h3><p>java.sql.SQLException: ORA-01013</p>
<table><tr><td>学年学期：2021-</td></tr></table></body></html>
"""


def term_title(term: str) -> str:
    year, _, no = term.rpartition("-")
    return f"{year}学年{_CN_TERMS.get(no, no)}"


def grade_tables(grades: Iterable[Grade]) -> str:
    by_term: dict[str, list[Grade]] = {}
    for g in sorted(grades, key=lambda g: (g.term, g.course_code, g.attempt)):
        by_term.setdefault(g.term, []).append(g)
    if not by_term:
        return '<div class="nodata">没有检索到记录！</div>'
    blocks = []
    for term, rows in by_term.items():
        head = "".join(f"<td>{h}</td>" for h in _HEADER)
        lines = []
        for n, g in enumerate(rows, start=1):
            credits = "" if g.credits is None else f"{g.credits:g}"
            nature = "初修" if g.attempt == "normal" else g.exam_type
            cells = (str(n), f"[{g.course_code}]{g.course_name}", credits, g.course_category, nature, "考试",
                     g.score, credits, "", "", "")
            lines.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
        blocks.append(f'<div class="term">学年学期：{term_title(term)}</div>\n<table class="tab" width="100%">'
                      f"<thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table>")
    return "\n".join(blocks)


class KingosoftSimulator(Simulator):
    """青果 (Kingosoft) Java platform: cas/login.action, SetKingoEncypt.jsp, cas/logon.action, xscj.stuckcj_data.jsp."""

    system: ClassVar[str] = "kingosoft"
    session_cookie: ClassVar[str] = "JSESSIONID"
    lock_after: ClassVar[int] = 5
    captcha_case_sensitive: ClassVar[bool] = False
    wrong_captcha_text = WRONG_CAPTCHA
    bad_credentials_text = BAD_CREDENTIALS
    locked_text = LOCKED

    def __init__(self, students: Iterable[StudentRecord], *, login: str = "des", captcha: bool = True,
                 **kwargs: Any) -> None:
        if login not in ("des", "plain"):
            raise ValueError(f"login must be 'des' or 'plain', not {login!r}")
        super().__init__(students, **kwargs)
        self.login = login
        self.captcha = captcha
        # session id -> (_deskey, _nowtime) last handed out
        self._keys: BoundedTable[str, tuple[str, str]] = BoundedTable(self.max_sessions)
        self._answer = ""  # the captcha text of the login being judged (the password hash includes it)

    def default_captchas(self) -> CaptchaSource:
        from gradewatch.captcha.render_kingosoft import SPEC, render_kingosoft

        return RenderedCaptchas(render_kingosoft, charset=SPEC.charset, length=SPEC.length, seed=self.seed,
                                image_format="JPEG")

    def banner(self) -> list[str]:
        return [*super().banner(), f"  login        {self.login}; captcha {'on' if self.captcha else 'off'}"]

    # ---- passwords ---------------------------------------------------------------------------
    def password_forms(self, password: str) -> dict[str, str]:
        return {"md5": md5_hex(password)}

    def password_ok(self, student: Student, submitted: str, sess: Session | None) -> bool:
        expected = md5_hex(student.forms["md5"] + md5_hex(self._answer.lower()))
        return secrets.compare_digest(expected, submitted.strip().lower())

    def log_in(self, sess: Session, student: Student) -> Session:
        sess.username = student.username  # the session id is part of _u, so it stays
        return sess

    # ---- pages -------------------------------------------------------------------------------
    def page(self, text: str, status: int = 200) -> Response:
        return self.html_page(text, status)

    def login_page(self, request: Request) -> Response:
        sess, new = self.session_or_new(request)
        encypt = ""
        if self.login == "des":
            encypt = (f'<script type="text/javascript" id="kingo_encypt" '
                      f'src="/custom/js/SetKingoEncypt.jsp?t={secrets.randbelow(10**6)}"></script>')
        resp = self.page(_LOGIN.format(sid=sess.id, encypt=encypt, ms=int(time.time() * 1000),
                                       hid_flag="0" if self.captcha else "1"))
        return self.with_cookie(resp, sess, new)

    async def login_form(self, request: Request) -> Response:
        # A coroutine, so the session table is only touched in the event loop (a plain function
        # route would run in a worker thread).
        return self.login_page(request)

    def signed_out(self, request: Request) -> Response:
        return self.login_page(request)  # the real server shows the login page in place

    @staticmethod
    def verdict(status: str, message: str = "", result: str = "") -> JSONResponse:
        return JSONResponse({"status": status, "message": message, "result": result})

    def error_text(self, result: LoginResult) -> str:
        if result.outcome is Outcome.LOCKED:
            return LOCKED.format(n=self.lock_after)
        return super().error_text(result)

    # ---- routes ------------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        return [
            Route("/", lambda request: RedirectResponse("/cas/login.action", 302)),
            Route("/cas/login.action", self.login_form),
            Route("/custom/js/SetKingoEncypt.jsp", self.key_script),
            Route("/cas/genValidateCode", self.captcha_response),
            Route("/cas/logon.action", self.logon, methods=["POST"]),
            Route(HOME, self.home),
            Route("/student/xscj.stuckcj.jsp", self.grade_form),
            Route("/student/xscj.stuckcj_data.jsp", self.grade_data, methods=["POST"]),
        ]

    async def key_script(self, request: Request) -> Response:
        sess, new = self.session_or_new(request)
        deskey = str(10**18 + secrets.randbelow(9 * 10**18))
        nowtime = time.strftime("%Y-%m-%d %H:%M:%S")
        self._keys[sess.id] = (deskey, nowtime)
        resp = Response("\n" + _ENCYPT.format(deskey=deskey, nowtime=nowtime), media_type="text/javascript")
        return self.with_cookie(resp, sess, new)

    def _fields(self, form: dict[str, str], sess: Session | None) -> dict[str, str] | None:
        """The login fields of either variant; None when the DES wrapper does not check out."""
        if self.login == "plain":
            return form
        keys = self._keys.pop(sess.id, None) if sess is not None else None
        if keys is None or form.get("timestamp") != keys[1]:
            return None
        try:
            plain = decrypt_params(form.get("params", ""), keys[0])
        except ValueError:
            return None
        if not secrets.compare_digest(form.get("token", ""), md5_hex(md5_hex(plain) + md5_hex(keys[1]))):
            return None
        # The page script joins the fields without URL-encoding them, and the server splits them so.
        fields = dict(part.partition("=")[::2] for part in plain.split("&") if part)
        rand = fields.get("randnumber", "")
        try:
            ident = base64.b64decode(fields.get(f"_u{rand}", ""), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None
        user, sep, sid = ident.partition(";;")
        if not sep or sess is None or sid != sess.id:
            return None
        return {"username": user, "password": fields.get(f"_p{rand}", ""), "randnumber": rand}

    async def logon(self, request: Request) -> Response:
        sess = self.session(request)
        fields = self._fields(await self.form(request), sess)
        if fields is None:
            return self.verdict("500", BAD_REQUEST)
        answer = fields.get("randnumber", "")
        self._answer = answer  # no await until attempt_login has used it
        result = self.attempt_login(sess, fields.get("username", "").strip(), fields.get("password", ""),
                                    answer if self.captcha else None)
        if result.outcome is Outcome.OK and sess is not None and result.student is not None:
            self.log_in(sess, result.student)
            return self.verdict("200", "登录成功", HOME)
        if result.outcome is Outcome.WRONG_CAPTCHA:
            return self.verdict("401", WRONG_CAPTCHA)
        return self.verdict("407", self.error_text(result))

    @logged_in_page
    async def home(self, request: Request, sess: Session, student: Student) -> Response:
        return self.page(_FRAME.format(title="青果教务管理系统", name=html.escape(student.name),
                                       username=student.username, body='<div id="menu">学生成绩查询</div>'))

    @logged_in_page
    async def grade_form(self, request: Request, sess: Session, student: Student) -> Response:
        body = _FORM.format(year=student.username[:4], menucode=request.query_params.get("menucode", MENUCODE))
        return self.page(_FRAME.format(title="学生成绩查询", name=html.escape(student.name),
                                       username=student.username, body=body))

    @logged_in_page
    async def grade_data(self, request: Request, sess: Session, student: Student) -> Response:
        if "xscj.stuckcj.jsp" not in request.headers.get("referer", ""):
            return self.page("<html><body>非法访问！</body></html>", 403)
        await self.form(request)  # sjxz/ysyx/zx/fx…: every result since enrolment is what the adapter asks for
        chosen = list(student.grades.values())

        def render() -> Response:
            return self.page(_FRAME.format(title="学生成绩", name=html.escape(student.name),
                                           username=student.username, body=grade_tables(chosen)))

        return self.grade_view(student, render, lambda: self.page(_BROKEN))
