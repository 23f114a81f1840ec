"""New URP (综合教务, Spring Security) simulator, after docs/school-systems.md §4b and public clients.

    GET  /login[?errorCode=…]          login page: hidden tokenValue, j_username, j_password, j_captcha,
                                       <img src="/img/captcha.jpg">, and the page script that hashes the
                                       password (``password_hash`` option, see below)
    GET  /img/captcha.jpg?<ms>         a new captcha bound to the session (one on every login)
    POST /j_spring_security_check      tokenValue, j_username, j_password, j_captcha →
                                       302 /login?errorCode=badCaptcha | badCredentials | locked, or 302 /index.jsp
                                       (a new JSESSIONID: Spring's session-fixation protection)
    GET  /  and /index.jsp             the home page (欢迎您) of a logged-in student, else 302 /login
    GET  /student/integratedQuery/scoreQuery/allTermScores/index
                                       the grade page; its script names the data URL with a per-session segment
    POST /student/integratedQuery/scoreQuery/<segment>/allTermScores/data
                                       zxjxjhh, kch, kcm, pageNum, pageSize → {"list": {"pageContext":
                                       {"totalCount"}, "records": [[…], …]}}; a wrong segment answers 404

``password_hash``: what the login page's script sends as ``j_password`` — ``"double"`` (current
releases: ``hex_md5(hex_md5(p), '1.8') + '*' + hex_md5(hex_md5(p, '1.8'), '1.8')``), ``"salted"``
(the 2019 release: ``hex_md5(p) + '*' + hex_md5(p, '1.8')``) or ``"md5"`` (older: plain MD5 of the
password). URP's ``hex_md5(x)`` appends ``{Urp602019}`` before hashing; ``hex_md5(x, '1.8')`` does not.
The server keeps only these hashes of a password. Lockout: 5 wrong passwords in a row.
"""

from __future__ import annotations

import hashlib
import html
import json
import secrets
from collections.abc import Iterable
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gradewatch.grades import Grade
from gradewatch.sim.base import BoundedTable, LoginResult, Outcome, Session, Simulator, Student
from gradewatch.sim.captchas import CaptchaSource, RenderedCaptchas
from gradewatch.sim.transcripts import StudentRecord

SALT = "{Urp602019}"
SCORE_INDEX = "/student/integratedQuery/scoreQuery/allTermScores/index"
HASHES = ("double", "salted", "md5")

#: errorCode → what the login page shows (Spring Security's zh_CN wording for the lock).
ERROR_TEXTS = {
    "badCaptcha": "验证码错误！",
    "badCredentials": "用户名或密码错误！",
    "locked": "用户帐号已被锁定",
}

_SCRIPTS = {
    "double": "$('#input_password').val(hex_md5(hex_md5(pwd), '1.8') + '*' + hex_md5(hex_md5(pwd, '1.8'), '1.8'));",
    "salted": "$('#input_password').val(hex_md5(pwd) + '*' + hex_md5(pwd, '1.8'));",
    "md5": "$('#input_password').val(hex_md5(pwd, '1.8'));",
}

_LOGIN = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="UTF-8">
<title>URP综合教务系统 - 登录</title>
<script src="/js/md5/md5.min.js"></script>
</head>
<body>
<div class="login-box">
<form id="formContent" action="/j_spring_security_check" method="post">
<input type="hidden" id="tokenValue" name="tokenValue" value="{token}">
<input type="text" id="input_username" name="j_username" placeholder="学号" value="">
<input type="password" id="input_password" name="j_password" placeholder="密码">
<input type="text" id="input_checkcode" name="j_captcha" placeholder="验证码" maxlength="4">
<img id="captchaImg" src="/img/captcha.jpg" onclick="this.src='/img/captcha.jpg?' + new Date().getTime()">
<input type="checkbox" name="_spring_security_remember_me"> 记住我
<button id="loginButton" type="submit" onclick="encryptPassword()">登录</button>
</form>
<div id="error" class="alert-danger">{error}</div>
</div>
<script>
function encryptPassword() {{
  var pwd = $('#input_password').val();
  {script}
}}
</script>
</body>
</html>
"""

_HOME = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="UTF-8"><title>URP综合教务系统 - 首页</title></head>
<body>
<div class="navbar"><span class="user-info">欢迎您，{name}</span> <a href="/logout">注销</a></div>
<ul class="nav-list"><li><a href="{score_index}">全部及格成绩</a></li></ul>
</body></html>
"""

_SCORES = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="UTF-8"><title>全部成绩</title></head>
<body>
<table id="scoretbody" class="table"></table>
<script>
$(function() {{
  $.ajax({{
    url: "/student/integratedQuery/scoreQuery/{segment}/allTermScores/data",
    type: "post",
    data: {{zxjxjhh: "", kch: "", kcm: "", pageNum: 1, pageSize: 30}},
    dataType: "json",
    success: function(data) {{ fillTable(data.list.records); }}
  }});
}});
</script>
</body></html>
"""

_BROKEN = """<!DOCTYPE html><html><head><meta charset="UTF-8"><title>系统提示</title></head>
<body><h2>系统繁忙，请稍后再试</h2><p>org.springframework.jdbc.CannotGetJdbcConnectionException</p></body></html>
"""


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def urp_hex_md5(text: str, ver: str = "") -> str:
    """URP's page-script ``hex_md5``: the salt is appended unless ``ver`` is ``'1.8'``."""
    return _md5(text if ver == "1.8" else text + SALT)


def encode_password(password: str, variant: str) -> str:
    """``j_password`` as the login page's script of ``variant`` computes it."""
    if variant == "double":
        return urp_hex_md5(urp_hex_md5(password), "1.8") + "*" + urp_hex_md5(urp_hex_md5(password, "1.8"), "1.8")
    if variant == "salted":
        return urp_hex_md5(password) + "*" + urp_hex_md5(password, "1.8")
    if variant == "md5":
        return urp_hex_md5(password, "1.8")
    raise ValueError(f"password_hash must be one of {', '.join(HASHES)}, not {variant!r}")


def record_of(g: Grade, n: int) -> list[Any]:
    """One ``records`` entry, by position as the real JSON has them (§4b)."""
    score = g.numeric_score
    rec: list[Any] = [""] * 19
    rec[0] = f"{g.term}-1"  # zxjxjhh: the plan code, term + "-1"
    rec[1] = g.course_code
    rec[2] = f"{n % 3 + 1:02d}"  # course sequence number
    rec[3] = f"{g.term[:4]}0115"
    rec[4] = "05"  # entry status: 05 = submitted by the teacher
    rec[5] = "001" if g.course_nature == "必修" else "002"
    rec[7] = "1"
    rec[8] = score if score is not None else g.score
    rec[9] = "" if score is not None else g.score
    rec[11] = g.course_name
    rec[12] = ""
    rec[13] = g.credits
    rec[14] = None if g.credits is None else int(g.credits * 16)
    rec[15] = g.course_nature
    rec[16] = g.exam_type
    rec[17] = g.score if score is None else ""
    rec[18] = ""
    return rec


class UrpSimulator(Simulator):
    """New URP (Spring Security): /login, img/captcha.jpg, j_spring_security_check, allTermScores/data JSON."""

    system: ClassVar[str] = "urp"
    session_cookie: ClassVar[str] = "JSESSIONID"
    lock_after: ClassVar[int] = 5
    captcha_case_sensitive: ClassVar[bool] = False

    def __init__(self, students: Iterable[StudentRecord], *, password_hash: str = "double", **kwargs: Any) -> None:
        encode_password("", password_hash)  # validates the option before the students are hashed
        self.password_hash = password_hash
        super().__init__(students, **kwargs)
        self._tokens: BoundedTable[str, str] = BoundedTable(self.max_sessions)  # session id -> tokenValue shown
        self._segments: dict[str, str] = {}  # session id -> the score pages' path segment

    def default_captchas(self) -> CaptchaSource:
        from gradewatch.captcha.render_urp import SPEC, render_urp

        return RenderedCaptchas(render_urp, charset=SPEC.charset, length=SPEC.length, seed=self.seed,
                                image_format="JPEG")

    def banner(self) -> list[str]:
        return [*super().banner(), f"  j_password   {self.password_hash}"]

    # ---- passwords: the server keeps the hashes the page script sends ---------------------------
    def password_forms(self, password: str) -> dict[str, str]:
        return {variant: encode_password(password, variant) for variant in HASHES}

    def password_ok(self, student: Student, submitted: str, sess: Session | None) -> bool:
        expected = student.forms.get(self.password_hash, "")
        return bool(expected) and secrets.compare_digest(expected, submitted.strip().lower())

    # ---- pages -------------------------------------------------------------------------------
    def page(self, text: str, status: int = 200) -> Response:
        return self.html_page(text, status)

    def to_login(self, error: str = "") -> Response:
        return RedirectResponse("/login" + (f"?errorCode={error}" if error else ""), 302)

    def error_code(self, result: LoginResult) -> str:
        if result.outcome is Outcome.WRONG_CAPTCHA:
            return "badCaptcha"
        if result.outcome is Outcome.LOCKED:  # the wrong password that locks still reads badCredentials
            return "locked"
        if self.controls.wrong_password_text:  # a school's own handler: its own code and words
            return "custom"
        return "badCredentials"

    # ---- routes ------------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        return [
            Route("/", self.home),
            Route("/index.jsp", self.home),
            Route("/login", self.login_form),
            Route("/img/captcha.jpg", self.captcha_response),
            Route("/j_spring_security_check", self.security_check, methods=["POST"]),
            Route(SCORE_INDEX, self.score_index),
            Route("/student/integratedQuery/scoreQuery/{segment}/allTermScores/data", self.score_data,
                  methods=["POST"]),
            Route("/logout", self.logout),
        ]

    async def login_form(self, request: Request) -> Response:
        sess, new = self.session_or_new(request)
        token = secrets.token_hex(16)
        self._tokens[sess.id] = token
        code = request.query_params.get("errorCode", "")
        error = (self.controls.wrong_password_text or "") if code == "custom" else ERROR_TEXTS.get(code, "")
        resp = self.page(_LOGIN.format(token=token, error=html.escape(error), script=_SCRIPTS[self.password_hash]))
        return self.with_cookie(resp, sess, new)

    async def security_check(self, request: Request) -> Response:
        form = await self.form(request)
        sess = self.session(request)
        token = self._tokens.pop(sess.id, None) if sess is not None else None
        if token is None or not secrets.compare_digest(token, form.get("tokenValue", "")):
            return self.to_login("badCredentials")  # a stale or missing tokenValue is refused before any check
        result = self.attempt_login(sess, form.get("j_username", "").strip(), form.get("j_password", ""),
                                    form.get("j_captcha", ""))
        if result.outcome is Outcome.OK and sess is not None and result.student is not None:
            fresh = self.log_in(sess, result.student)
            resp = RedirectResponse("/index.jsp", 302)
            self.set_cookie(resp, fresh)
            return resp
        return self.to_login(self.error_code(result))

    async def home(self, request: Request) -> Response:
        student = self.student_of(request)
        if student is None:
            return self.to_login()
        return self.page(_HOME.format(name=html.escape(student.name), score_index=SCORE_INDEX))

    async def score_index(self, request: Request) -> Response:
        sess, student = self.logged_in(request)
        if sess is None or student is None:
            return self.to_login()
        segment = self._segments.setdefault(sess.id, secrets.token_hex(5).upper())
        if len(self._segments) > self.max_sessions:
            self._segments.pop(next(iter(self._segments)))
        return self.page(_SCORES.format(segment=segment))

    async def score_data(self, request: Request) -> Response:
        sess, student = self.logged_in(request)
        if sess is None or student is None:
            return self.to_login()
        if self._segments.get(sess.id) != request.path_params["segment"]:
            return self.page("<html><body><h1>404 Not Found</h1></body></html>", 404)
        form = await self.form(request)
        try:
            page_num = max(1, int(form.get("pageNum") or 1))
            page_size = max(1, int(form.get("pageSize") or 30))
        except ValueError:
            return JSONResponse({"error": "bad paging"}, 400)
        term = form.get("zxjxjhh", "")
        chosen = sorted((g for g in student.grades.values() if not term or f"{g.term}-1" == term),
                        key=lambda g: (g.term, g.course_code, g.attempt))

        def render() -> Response:
            records = [record_of(g, n) for n, g in enumerate(chosen)][(page_num - 1) * page_size:][:page_size]
            body = {"list": {"pageContext": {"totalCount": len(chosen), "pageNum": page_num, "pageSize": page_size},
                             "records": records}}
            return Response(json.dumps(body, ensure_ascii=False), media_type="application/json;charset=UTF-8")

        return self.grade_view(student, render, lambda: self.page(_BROKEN))

    async def logout(self, request: Request) -> Response:
        sess = self.session(request)
        if sess is not None:
            self.end_session(sess)
        return self.to_login()
