"""ZF (正方) new Java edition "jwglxt" simulator, after docs/school-systems.md §1.

Everything lives below the context path ``/jwglxt`` (the adapter's ``base_url`` is ``…/jwglxt``):

    GET  /jwglxt/xtgl/login_slogin.html        login page: hidden csrftoken, yhm, mm, (yzm + kaptcha image), p#tips
    GET  /jwglxt/xtgl/login_getPublicKey.html  {"modulus", "exponent"} (base64) of this session's RSA key
    GET  /jwglxt/kaptcha?time=…                a new kaptcha image (JPEG, 4–5 characters, case sensitive)
    POST /jwglxt/xtgl/login_slogin.html        csrftoken, yhm, mm = base64(RSA PKCS#1 v1.5(password)), yzm, language
                                               302 → index_initMenu.html (or the notice page) on success; else the
                                               login page with #tips: 验证码输入错误！ / 用户名或密码不正确… / lock text
    GET  /jwglxt/xtgl/index_cxXsTz.html        a mandatory notice (students listed in ``notice_for``), once per login
    POST /jwglxt/xtgl/index_cxXsTzYd.html      "我已阅读" (tzid) → 302 index_initMenu.html
    GET  /jwglxt/xtgl/index_initMenu.html      the main menu naming the student
    POST /jwglxt/cjcx/cjcx_cxXsgrcj.html?doType=query&gnmkdm=N305005
                                               the grade JSON (items, totalPage …), paged by queryModel.*; answered
                                               by the HTML login page without a session, by the notice page while a
                                               notice is unread
    GET  /jwglxt/logout                        ends the session

Each key pair is used for one login POST (the page fetches a new one per attempt). The password is
decrypted with the private key and never kept; :attr:`ZfSimulator.login_bodies` keeps the raw
bodies of the last login POSTs for the tests (in process only, never on the admin API).
"""

from __future__ import annotations

import base64
import html
import random
import secrets
import time
import uuid
from collections import deque
from collections.abc import Iterable
from typing import Any, ClassVar

from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gradewatch.grades import Grade
from gradewatch.sim.base import Outcome, Session, Simulator, Student
from gradewatch.sim.captchas import CaptchaSource
from gradewatch.sim.transcripts import StudentRecord

CTX = "/jwglxt"
LOGIN = f"{CTX}/xtgl/login_slogin.html"
PUBLIC_KEY = f"{CTX}/xtgl/login_getPublicKey.html"
KAPTCHA = f"{CTX}/kaptcha"
MENU = f"{CTX}/xtgl/index_initMenu.html"
NOTICE = f"{CTX}/xtgl/index_cxXsTz.html"
NOTICE_READ = f"{CTX}/xtgl/index_cxXsTzYd.html"
GRADES = f"{CTX}/cjcx/cjcx_cxXsgrcj.html"
LOGOUT = f"{CTX}/logout"

WRONG_CAPTCHA = "验证码输入错误！"
BAD_CREDENTIALS = "用户名或密码不正确，请重新输入！"
LOCKED = "密码连续输入错误{n}次，账号已被锁定，请次日再试或联系管理员解锁！"
STALE_FORM = "页面已过期，请刷新页面后重新登录！"

_LOGIN_PAGE = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta http-equiv="X-UA-Compatible" content="IE=edge">
<title>教学管理信息服务平台</title>
<link rel="stylesheet" href="{ctx}/zftal-ui-v5-1.0.2/css/zftal-ui.css">
<script type="text/javascript" src="{ctx}/js/globalweb/login/login.js?ver=26531486"></script>
<script type="text/javascript" src="{ctx}/js/rsa/RSA.js"></script>
</head>
<body>
<div class="container container_1170">
<div class="row sl_log_bor4">
<h5>用户登录</h5>
<form class="form-horizontal" role="form" action="{ctx}/xtgl/login_slogin.html" method="post">
<input type="hidden" id="csrftoken" name="csrftoken" value="{csrftoken}"/>
<p style="display: none;" id="tips" class="bg_danger sl_danger">{tips}</p>
<div class="form-group"><input type="text" class="form-control" name="yhm" id="yhm" value="{username}"
  placeholder="用户名" autocomplete="off"></div>
<div class="form-group"><input type="password" class="form-control" name="mm" id="mm" value=""
  placeholder="密码" autocomplete="off"></div>
{captcha}
<div class="form-group"><button type="button" class="btn btn-primary btn-block" id="dl">登 录</button></div>
</form>
</div>
</div>
<div class="footer">版权所有&copy; Copyright 1999-2023 正方软件股份有限公司</div>
<script type="text/javascript">
{tips_script}
</script>
</body>
</html>
"""

_CAPTCHA_ROW = """<div class="form-group"><input type="text" class="form-control" name="yzm" id="yzm"
  placeholder="验证码" maxlength="6"><img id="yzmPic" src="{ctx}/kaptcha" alt="验证码"
  onclick="this.src='{ctx}/kaptcha?time='+new Date().getTime()"></div>"""

_FRAME = """<!DOCTYPE html>
<html lang="zh-CN">
<head><meta charset="utf-8"><title>{title}</title></head>
<body>
<div class="navbar"><span id="sessionUserKey" style="display:none">{username}</span>
<a href="#" class="dropdown-toggle">{name} {username} 学生</a>
<a href="{ctx}/logout">注销</a></div>
<div class="container">{body}</div>
</body>
</html>
"""

_NOTICE_BODY = """<div class="panel panel-default"><div class="panel-heading"><h4>重要通知</h4></div>
<div class="panel-body"><p>根据学校安排，请认真阅读以下通知：本学期期末考试安排已发布，
请在规定时间内完成个人信息核对与教学评价。未阅读本通知将无法使用系统其他功能。</p>
<form id="tzForm" action="{ctx}/xtgl/index_cxXsTzYd.html" method="post">
<input type="hidden" name="tzid" value="{tzid}"/>
<button type="submit" class="btn btn-primary" id="btn_yd">我已阅读并知晓</button>
</form></div></div>"""

_MENU_BODY = """<ul class="nav"><li><a href="#">信息查询</a><ul>
<li><a href="{ctx}/cjcx/cjcx_cxDgXscj.html?gnmkdm=N305005&layout=default">学生成绩查询</a></li>
</ul></li></ul><div class="index_welcome">欢迎使用教学管理信息服务平台！</div>"""

_ERROR_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>错误提示</title></head>
<body><div class="errorpage"><h3>系统运行异常，请联系管理员！</h3>
<p>java.lang.NullPointerException at com.zfsoft.jwglxt.cjcx.action.CjcxAction.cxXsgrcj(CjcxAction.java:214)</p>
</div></body></html>"""

_TERM_CODE = {"1": "3", "2": "12", "3": "16"}  # xqmmc (shown) -> xqm (code)
_LEVEL_PERCENT = {"优秀": 95, "良好": 85, "中等": 75, "及格": 65, "不及格": 0, "合格": 85, "通过": 85, "不合格": 0}
_EXAM_CODE = {"正常考试": "01", "补考": "11", "重修": "16"}


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


def score_percent(score: str) -> str:
    """The 百分制 value ZF shows as ``bfzcj``: the score itself, or the usual value of a level word."""
    if score.replace(".", "", 1).isdigit():
        return score
    return str(_LEVEL_PERCENT.get(score, 0))


def grade_point(score: str) -> str:
    percent = float(score_percent(score))
    return f"{max(0.0, (percent - 50) / 10) if percent >= 60 else 0.0:.2f}"


def grade_item(g: Grade, student: Student, row: int) -> dict[str, Any]:
    """One element of ``items`` as the grade JSON carries it (a subset of the real keys)."""
    year, _, term_no = g.term.rpartition("-")
    xnm = year.split("-")[0]
    credits = "" if g.credits is None else f"{g.credits:g}"
    jd = grade_point(g.score)
    # A stable teaching-class id per course and term; a retake sits in another class.
    jxb_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{g.term}/{g.course_code}/{g.exam_type}").hex.upper()
    return {
        "bfzcj": score_percent(g.score),
        "cj": g.score,
        "cjsfzf": "否",
        "jd": jd,
        "jsxm": "",
        "jxb_id": jxb_id,
        "jxbmc": f"({g.term})-{g.course_code}-01",
        "kcbj": "主修",
        "kch": g.course_code,
        "kch_id": g.course_code,
        "kclbmc": g.course_category,
        "kcmc": g.course_name,
        "kcxzmc": g.course_nature,
        "khfsmc": "考试" if g.numeric_score is not None else "考查",
        "kkbmmc": "教务处",
        "ksxz": g.exam_type,
        "ksxzdm": _EXAM_CODE.get(g.exam_type, "01"),
        "row_id": row,
        "tjrxm": "教务员",
        "tjsj": f"{int(xnm) + (1 if term_no != '1' else 0)}-{'01' if term_no == '1' else '07'}-15 10:23:45",
        "xf": credits,
        "xfjd": f"{float(jd) * (g.credits or 0):.2f}",
        "xh": student.username,
        "xm": student.name,
        "xnm": xnm,
        "xnmmc": year,
        "xqm": _TERM_CODE.get(term_no, term_no),
        "xqmmc": term_no,
    }


class ZfSimulator(Simulator):
    context_path = CTX
    wrong_captcha_text = WRONG_CAPTCHA
    bad_credentials_text = BAD_CREDENTIALS
    locked_text = LOCKED
    system: ClassVar[str] = "zf"
    session_cookie: ClassVar[str] = "JSESSIONID"
    cookie_path: ClassVar[str] = CTX
    lock_after: ClassVar[int] = 5
    captcha_case_sensitive: ClassVar[bool] = True

    def __init__(
        self,
        students: Iterable[StudentRecord],
        *,
        captcha: bool = True,
        notice_for: Iterable[str] = (),
        max_show_count: int = 15,
        key_bits: int = 1024,
        **kwargs: Any,
    ) -> None:
        """``captcha``: the kaptcha variant (True) or the plain one; ``notice_for``: usernames that get a
        mandatory notice after each login; ``max_show_count``: the page size the server allows at most."""
        super().__init__(students, **kwargs)
        self.captcha = captcha
        self.notice_for = set(notice_for)
        self.max_show_count = max_show_count
        self.key_bits = key_bits
        #: Raw bodies of the last login POSTs, for tests (the password must never appear in them).
        self.login_bodies: deque[bytes] = deque(maxlen=50)
        self._csrf: dict[str, str] = {}
        self._keys: dict[str, rsa.RSAPrivateKey] = {}
        self._unread: dict[str, str] = {}  # session id -> id of the notice still to acknowledge

    def default_captchas(self) -> CaptchaSource:
        from gradewatch.captcha.render_schools import render_zf
        from gradewatch.captcha.spec import SPECS

        spec = SPECS["zf"]
        return VariableCaptchas(
            render_zf, charset=spec.charset, min_length=spec.min_length or spec.length, length=spec.length,
            seed=self.seed,
        )

    # ---- responses -------------------------------------------------------------------------
    @staticmethod
    def page(text: str, status: int = 200) -> Response:
        return Response(text.encode("utf-8"), status, headers={"Content-Type": "text/html;charset=UTF-8"})

    def login_page(self, sess: Session, tips: str = "", username: str = "") -> Response:
        token = self._csrf.get(sess.id)
        if token is None:
            token = self._csrf[sess.id] = f"{uuid.uuid4()},{uuid.uuid4().hex}".replace("-", "")
            while len(self._csrf) > 1000:
                del self._csrf[next(iter(self._csrf))]
        script = "$('#tips').show();" if tips else ""
        return self.page(
            _LOGIN_PAGE.format(
                ctx=CTX,
                csrftoken=token,
                tips=html.escape(tips),
                tips_script=script,
                username=html.escape(username),
                captcha=_CAPTCHA_ROW.format(ctx=CTX) if self.captcha else "",
            )
        )

    def frame(self, student: Student, title: str, body: str) -> Response:
        return self.page(
            _FRAME.format(
                ctx=CTX, title=title, body=body, name=html.escape(student.name), username=html.escape(student.username)
            )
        )

    def _with_cookie(self, resp: Response, sess: Session, new: bool) -> Response:
        if new:
            self.set_cookie(resp, sess)
        return resp

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
            Route(KAPTCHA, self.kaptcha),
            Route(MENU, self.menu),
            Route(NOTICE, self.notice),
            Route(NOTICE_READ, self.notice_read, methods=["POST"]),
            Route(GRADES, self.grades, methods=["POST"]),
            Route(LOGOUT, self.logout),
        ]

    async def root(self, request: Request) -> Response:
        return RedirectResponse(MENU if self.student_of(request) else LOGIN, 302)

    async def login_form(self, request: Request) -> Response:
        sess, new = self.session_or_new(request)
        if sess.username is not None:  # already logged in: the real system goes to the menu
            return RedirectResponse(MENU, 302)
        return self._with_cookie(self.login_page(sess), sess, new)

    async def public_key(self, request: Request) -> Response:
        sess, new = self.session_or_new(request)
        key = rsa.generate_private_key(public_exponent=65537, key_size=self.key_bits)
        self._keys.pop(sess.id, None)
        self._keys[sess.id] = key
        while len(self._keys) > 1000:  # sessions that fetched a key and left
            del self._keys[next(iter(self._keys))]
        numbers = key.public_key().public_numbers()
        body = {"modulus": _b64_int(numbers.n), "exponent": _b64_int(numbers.e)}
        return self._with_cookie(JSONResponse(body), sess, new)

    async def kaptcha(self, request: Request) -> Response:
        sess, new = self.session_or_new(request)
        image, media_type = self.issue_captcha(sess)
        headers = {"Cache-Control": "no-store, no-cache, must-revalidate", "Pragma": "no-cache", "Expires": "0"}
        return self._with_cookie(Response(image, media_type=media_type, headers=headers), sess, new)

    async def login_post(self, request: Request) -> Response:
        raw = await request.body()
        self.login_bodies.append(raw)
        form = await self.form(request)
        sess, new = self.session_or_new(request)
        username = form.get("yhm", "").strip()
        token = self._csrf.get(sess.id)
        if new or token is None or not secrets.compare_digest(token, form.get("csrftoken", "")):
            return self._with_cookie(self.login_page(sess, STALE_FORM, username), sess, new)
        key = self._keys.pop(sess.id, None)  # one key pair, one attempt
        password = _decrypt(key, form.get("mm", ""))
        captcha = form.get("yzm", "") if self.captcha else None
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


    def _notice_page(self, sess: Session, student: Student) -> Response:
        return self.frame(student, "重要通知", _NOTICE_BODY.format(ctx=CTX, tzid=self._unread[sess.id]))

    async def menu(self, request: Request) -> Response:
        sess, student = self.logged_in(request)
        if sess is None or student is None:
            return RedirectResponse(LOGIN, 302)
        if sess.id in self._unread:
            return RedirectResponse(NOTICE, 302)
        return self.frame(student, "教学管理信息服务平台", _MENU_BODY.format(ctx=CTX))

    async def notice(self, request: Request) -> Response:
        sess, student = self.logged_in(request)
        if sess is None or student is None:
            return RedirectResponse(LOGIN, 302)
        if sess.id not in self._unread:
            return RedirectResponse(MENU, 302)
        return self._notice_page(sess, student)

    async def notice_read(self, request: Request) -> Response:
        sess, student = self.logged_in(request)
        if sess is None or student is None:
            return RedirectResponse(LOGIN, 302)
        form = await self.form(request)
        if self._unread.get(sess.id) == form.get("tzid"):
            del self._unread[sess.id]
        return RedirectResponse(MENU, 302)

    async def grades(self, request: Request) -> Response:
        sess, student = self.logged_in(request)
        if sess is None or student is None:
            # Not JSON: the session filter answers with the login page itself.
            fresh, new = self.session_or_new(request)
            return self._with_cookie(self.login_page(fresh), fresh, new)
        if sess.id in self._unread:
            return self._notice_page(sess, student)
        student.stats.grade_fetches += 1
        if self.controls.broken_grades:
            return self.page(_ERROR_PAGE)
        form = await self.form(request)
        return JSONResponse(self.grade_json(student, form))

    def grade_json(self, student: Student, form: dict[str, str]) -> dict[str, Any]:
        year, term = form.get("xnm", ""), form.get("xqm", "")
        grades = sorted(student.grades.values(), key=lambda g: (g.term, g.course_code, g.exam_type))
        items = [grade_item(g, student, n) for n, g in enumerate(grades, start=1)]
        items = [i for i in items if (not year or i["xnm"] == year) and (not term or i["xqm"] == term)]
        show = _int(form.get("queryModel.showCount"), 15)
        show = max(1, min(show, self.max_show_count))
        total = len(items)
        pages = max(1, -(-total // show))
        page = max(1, _int(form.get("queryModel.currentPage"), 1))
        chunk = items[(page - 1) * show : page * show]
        return {
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

    async def logout(self, request: Request) -> Response:
        sess = self.session(request)
        if sess is not None:
            self._forget(sess.id)
            self.end_session(sess)
        return RedirectResponse(LOGIN, 302)


def _b64_int(value: int) -> str:
    return base64.b64encode(value.to_bytes((value.bit_length() + 7) // 8, "big")).decode("ascii")


def _decrypt(key: rsa.RSAPrivateKey | None, mm: str) -> str | None:
    """The password from ``mm`` (base64 of RSA PKCS#1 v1.5), or None when it is not a ciphertext of this key."""
    if key is None:
        return None
    try:
        return key.decrypt(base64.b64decode(mm, validate=True), padding.PKCS1v15()).decode("utf-8")
    except ValueError:  # bad base64, wrong key or padding, not UTF-8
        return None


def _int(text: str | None, default: int) -> int:
    try:
        return int(text or "")
    except ValueError:
        return default
