"""Wisedu SSFW (师生服务), docs/school-systems.md §7.

``base_url`` is the site root above ``/ssfw`` (``http://ssfw.example.edu.cn``). Options:

- ``menu_item_wid`` — the ``menuItemWid`` of the school's grade page (成绩查询 → 有效成绩); default the
  original school's real one;
- ``grade_page`` — ``"auto"`` (default: the jwnavmenu.do page, else ``zhcx/cjxx.do`` when the school
  has that one), ``"navmenu"`` or ``"cjxx"`` (``POST /ssfw/zhcx/cjxx.do``, as other SSFW schools have it).

The login form's hidden fields (``mode`` = ``local`` or ``db``) are sent as the form has them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

import httpx
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from gradewatch.grades import Grade, attempt_from_text, status_from_text
from gradewatch.schools import register
from gradewatch.schools.base import Credentials, SchoolAdapter
from gradewatch.schools.errors import (
    AccountLocked,
    SchoolError,
    SessionExpired,
    UnexpectedPage,
    WrongCaptcha,
    WrongPassword,
)
from gradewatch.schools.options import SchoolOptions, option

LOGIN = "/ssfw/login.jsp"
CAPTCHA = "/ssfw/jwcaptcha.do"
SECURITY_CHECK = "/ssfw/j_spring_ids_security_check"
INDEX = "/ssfw/index.do"
NAVMENU = "/ssfw/jwnavmenu.do"
CJXX = "/ssfw/zhcx/cjxx.do"
#: The grade page's menuItemWid when the school's options do not set one: the original school's
#: 有效成绩 page, as three independent scripts for that school have it.
DEFAULT_MENU_ITEM_WID = "1E057E24ABAB4CAFE0540010E0235690"
#: The query form of zhcx/cjxx.do, all terms (as published clients send it).
_CJXX_FORM = {"optype": "query", "isFirst": "1", "qXndm_ys": "", "qXqdm_ys": "", "qKclbdm_ys": "",
              "qKcxzdm_ys": "", "qXdlx_ys": "", "qKch_ys": "", "qKcm_ys": "", "currentSelectTabId": "01"}
# zhcx/cjxx.do header text -> field (schools name the code and score columns differently).
_CJXX_COLUMNS = {
    "学年学期": "term", "课程号": "course_code", "课程代码": "course_code", "课程名称": "course_name",
    "课程性质": "course_nature", "课程类别": "course_category", "学分": "credits", "成绩": "score",
    "结课考核成绩": "score", "期末总评成绩": "score", "总评成绩": "score", "绩点": "grade_point",
    "考试性质": "exam_type", "备注": "remark",
}  # fmt: skip

# What the login answer says, most specific first: a lock text may also mention the wrong password.
_LOCKED = ("锁定", "冻结", "禁止登录")
_WRONG_CAPTCHA = ("校验码错误", "验证码错误", "校验码不正确", "验证码不正确")
_WRONG_PASSWORD = ("用户名或密码错误", "密码错误", "密码不正确", "用户不存在")

_USERNAME_FIELD = 'input[name="j_username"]'
_COLUMNS = 11  # index, term, code, name, category, elective category, nature, credits, grade, exam type, remark
_CN_TERM = {"一": "1", "二": "2", "三": "3"}


def normalise_term(text: str) -> str | None:
    """``2021-2022-1``, ``2021-2022学年第一学期``, ``2021-2022 第1学期`` … → ``2021-2022-1``; None if unreadable."""
    m = re.fullmatch(r"\s*(\d{4})\s*-\s*(\d{4})\s*(?:学年)?\s*[-_ ]?\s*(?:第\s*)?([123一二三])\s*(?:学期)?\s*", text)
    if not m:
        return None
    return f"{m[1]}-{m[2]}-{_CN_TERM.get(m[3], m[3])}"


@register
class SsfwAdapter(SchoolAdapter):
    system = "ssfw"
    title = "Wisedu SSFW (师生服务)"
    login_path = LOGIN
    base_url_hint = "the site root above `/ssfw`"
    captcha_model = "ssfw"
    login_errors = ((WrongCaptcha, _WRONG_CAPTCHA), (AccountLocked, _LOCKED), (WrongPassword, _WRONG_PASSWORD))
    recognise_path = r"/ssfw/(login\.jsp|jwcaptcha\.do|j_spring_ids_security_check|index\.do)$"
    recognise_markup = (("j_spring_ids_security_check",), ("/jwcaptcha.do",))

    class Options(SchoolOptions):
        menu_item_wid: str = option(DEFAULT_MENU_ITEM_WID, "the menuItemWid of the school's 有效成绩 page",
                                    min_length=1)
        grade_page: Literal["auto", "navmenu", "cjxx"] = option(
            "auto", "auto: jwnavmenu.do, then zhcx/cjxx.do when the page has no 有效成绩 block; or either one")

    # Set by start_login: the login page URL (the Referer of the POST) and its hidden fields (e.g. mode).
    _login_url: str = ""
    _hidden: Mapping[str, str] = MappingProxyType({})

    #: The grade page found to work (``auto``: learnt on the first fetch of this adapter).
    _grade_page: str = ""

    @property
    def menu_item_wid(self) -> str:
        return str(self.options.get("menu_item_wid") or DEFAULT_MENU_ITEM_WID)

    @property
    def grade_page(self) -> str:
        value = str(self.options.get("grade_page") or "auto").lower()
        if value not in ("auto", "navmenu", "cjxx"):
            raise SchoolError(f"the ssfw option grade_page must be 'auto', 'navmenu' or 'cjxx', not {value!r}")
        return self._grade_page or value

    # ---- login -----------------------------------------------------------------------------
    def start_login(self) -> None:
        resp = self.get(LOGIN)
        tree = self.html(self.text_of(resp))
        form = self.form_of(tree, _USERNAME_FIELD)
        if form is None:
            raise self.unexpected("the SSFW login page has no login form", resp, tree)
        self._login_url = str(resp.url)
        self._hidden = self.hidden_inputs(form)

    def fetch_captcha(self) -> bytes:
        return self.fetch_image(CAPTCHA, referer=self._login_url, what="the SSFW captcha",
                                params={"_": self.timestamp_ms()})

    def submit_login(self, creds: Credentials, captcha: str | None) -> None:
        form = {**self._hidden, "j_username": creds.username, "j_password": creds.password}
        if captcha is not None:
            form["validateCode"] = captcha
        resp = self.post(SECURITY_CHECK, data=form, headers={"Referer": self._login_url or self.base_url + LOGIN})
        text = self.text_of(resp)
        tree = self.html(text)
        if _landed_logged_in(resp, tree):
            return
        message = self.visible_text(tree)
        raise self.refused_login(message, resp, tree, "the SSFW login answer is neither a success nor a known error",
                                 detail=_error_line(tree, message))

    # ---- grades ----------------------------------------------------------------------------
    def fetch_grades(self) -> list[Grade]:
        page = self.grade_page
        if page == "cjxx":
            return self._fetch_cjxx()
        resp = self.get(NAVMENU, params={"menuItemWid": self.menu_item_wid}, headers={"Referer": self.base_url + INDEX})
        tree = self._logged_in_page(resp)
        if resp.status_code != 200:
            raise self.unexpected(f"the SSFW grade page answered HTTP {resp.status_code}", resp, tree)
        try:
            return parse_grades(tree)
        except ValueError as err:
            failure = self.unexpected(f"the SSFW grade page is not as expected: {err}", resp, tree)
        if page == "auto" and tree.css_first('div[title="有效成绩"]') is None:
            try:  # no 有效成绩 block at all: this school may read grades from zhcx/cjxx.do instead
                grades = self._fetch_cjxx()
            except SessionExpired:
                raise
            except (UnexpectedPage, ValueError):
                raise failure from None
            self._grade_page = "cjxx"
            return grades
        raise failure

    def _fetch_cjxx(self) -> list[Grade]:
        resp = self.post(CJXX, data=_CJXX_FORM, headers={"Referer": self.base_url + CJXX})
        tree = self._logged_in_page(resp)
        if resp.status_code != 200:
            raise self.unexpected(f"the SSFW zhcx/cjxx.do page answered HTTP {resp.status_code}", resp, tree)
        try:
            return parse_cjxx(tree)
        except ValueError as err:
            raise self.unexpected(f"the SSFW zhcx/cjxx.do page is not as expected: {err}", resp, tree) from None

    def _logged_in_page(self, resp: httpx.Response) -> HTMLParser:
        tree = self.html(self.text_of(resp))
        if self.is_login_page(resp, tree, paths=(LOGIN,), fields=(_USERNAME_FIELD,)):
            raise SessionExpired("the SSFW session has expired")
        return tree

    # ---- detection -------------------------------------------------------------------------
    @classmethod
    def base_url_from(cls, url: str) -> str:
        # Everything above the /ssfw context path (some schools mount it below a prefix).
        return cls.root_above(url, "/ssfw/", "/") or url

    # ---- timetable (课表) -------------------------------------------------------------------
    offers_courses = True

    def fetch_courses(self, term: str | None = None) -> list[tuple[str, str, str]]:
        path = f"/ssfw/pkgl/kcbxx/4/{term}.do" if term else TIMETABLE_CURRENT
        params = {"flag": "4", "xnxqdm": term} if term else {}
        resp = self.get(path, params=params, headers={"Referer": self.base_url + INDEX})
        tree = self._logged_in_page(resp)
        try:
            return parse_timetable(tree, term)
        except ValueError as err:
            raise self.unexpected(f"the SSFW timetable is not as expected: {err}", resp, tree) from None


def parse_grades(tree: HTMLParser) -> list[Grade]:
    """The rows of the 有效成绩 table. Raises ValueError on anything but a well-formed table."""
    block = tree.css_first('div[title="有效成绩"]')
    if block is None:
        raise ValueError("no 有效成绩 block")
    table = block.css_first("table.t_con")
    if table is None:
        raise ValueError("no .t_con table in the 有效成绩 block")
    grades: list[Grade] = []
    rows = [r for r in table.css("tr") if r.css_first("td") is not None]
    for n, row in enumerate(rows, start=1):
        cells = [SchoolAdapter.cell_text(c) for c in row.css("td")]
        if len(cells) == 1 and len(rows) == 1:  # "no records" row of an empty transcript
            return []
        if len(cells) != _COLUMNS:
            raise ValueError(f"row {n} has {len(cells)} cells, expected {_COLUMNS}")
        grade = _grade_of(cells, n)
        if grade is not None:
            grades.append(grade)
    return grades


def _grade_of(cells: list[str], n: int) -> Grade | None:
    _, term_text, code, name, category, _elective, nature, credits_text, score, exam_type, remark = cells
    term = normalise_term(term_text)
    if term is None:
        raise ValueError(f"row {n}: unreadable term {term_text[:20]!r}")
    if not code or not name:
        raise ValueError(f"row {n}: no course code or name")
    if not score and status_from_text("", remark) != "held":  # listed but not graded yet: not a grade
        return None
    credits = SchoolAdapter.strict_number(credits_text, "credits", n)
    exam_type = exam_type or "正常考试"
    return Grade(
        term=term,
        course_code=code,
        course_name=name,
        score=score,
        credits=credits,
        exam_type=exam_type,
        attempt=attempt_from_text(exam_type),
        course_nature=nature,
        course_category=category,
        status=status_from_text(score, remark),
    )


def parse_cjxx(tree: HTMLParser) -> list[Grade]:
    """The grade tab of ``zhcx/cjxx.do``: ``table.ui_table`` in ``div#tab01``, columns by header text
    (学年学期 ``2010-2011学年第一学期``, 课程号/课程代码, 课程名称, 课程性质, 学分, 成绩 or 结课考核成绩 /
    期末总评成绩, 绩点). Raises ValueError on another shape."""
    block = tree.css_first('div#tab01') or tree.css_first('div[tabid="01"]')
    if block is None:
        raise ValueError("no div#tab01")
    table = block.css_first("table.ui_table") or block.css_first("table")
    if table is None:
        raise ValueError("no table.ui_table in div#tab01")
    rows = table.css("tr")
    header = next((r for r in rows if r.css_first("th") is not None), None)
    if header is None:
        raise ValueError("the table has no header row")
    names = [_CJXX_COLUMNS.get(th.text(strip=True), "") for th in header.css("th")]
    missing = [f for f in ("term", "course_code", "course_name", "score") if f not in names]
    if missing:
        raise ValueError(f"no {', '.join(missing)} column")
    grades: list[Grade] = []
    body = [r for r in rows if r.css_first("td") is not None]
    for n, row in enumerate(body, start=1):
        cells = [SchoolAdapter.cell_text(c) for c in row.css("td")]
        if len(cells) == 1 and len(body) == 1:  # "no records" row
            return []
        if len(cells) != len(names):
            raise ValueError(f"row {n} has {len(cells)} cells for {len(names)} columns")
        fields = {name: cell for name, cell in zip(names, cells, strict=True) if name}
        grade = _cjxx_grade(fields, n)
        if grade is not None:
            grades.append(grade)
    return grades


def _cjxx_grade(fields: dict[str, str], n: int) -> Grade | None:
    term = normalise_term(fields.get("term", ""))
    if term is None:
        raise ValueError(f"row {n}: unreadable term {fields.get('term', '')[:20]!r}")
    code, name, score = fields.get("course_code", ""), fields.get("course_name", ""), fields.get("score", "")
    if not code or not name:
        raise ValueError(f"row {n}: no course code or name")
    if not score:
        return None
    exam_type = fields.get("exam_type") or "正常考试"
    status = status_from_text(score, fields.get("remark", ""))
    return Grade(
        term=term,
        course_code=code,
        course_name=name,
        score=score,
        credits=SchoolAdapter.strict_number(fields.get("credits"), "credits", n),
        exam_type=exam_type,
        attempt=attempt_from_text(exam_type),
        course_nature=fields.get("course_nature", ""),
        course_category=fields.get("course_category", ""),
        grade_point=None if status else SchoolAdapter.strict_number(fields.get("grade_point"), "grade point", n),
        status=status,
    )


def _landed_logged_in(resp: httpx.Response, tree: HTMLParser) -> bool:
    if tree.css_first(_USERNAME_FIELD) is not None or resp.status_code != 200:
        return False
    path = resp.url.path
    if path.endswith(INDEX) or path.endswith("/welcome/index.do"):
        return True
    return path.endswith("/ajaxLoginResult.jsp") and resp.url.params.get("success") == "true"


def _error_line(tree: HTMLParser, message: str) -> str:
    text = SchoolAdapter.text_at(tree, "#errorInfo, .login_error, .error, font[color=red]")
    if not text:
        text = next((line.strip() for line in message.splitlines() if any(w in line for w in _LOCKED)), "")
    return text[:120]


# ---- timetable (课表) ---------------------------------------------------------------------------
TIMETABLE_CURRENT = "/ssfw/pkgl/kcbxx/xskcb.do"


def parse_timetable(tree: HTMLParser, term: str | None) -> list[tuple[str, str, str]]:
    """(term, code, name) of each course in the timetable grid (``table#1``), once each."""
    table = tree.css_first('table[id="1"]')
    if table is None:
        raise ValueError("no timetable table")
    if term is None:
        term = normalise_term(SchoolAdapter.selected_value(tree, "#xnxqdm"))
        if term is None:
            raise ValueError("no selected term")
    seen: dict[str, str] = {}
    for item in table.css("div.kcb_item"):
        lines = [t.strip() for t in item.text(separator="\n").splitlines() if t.strip()]
        if len(lines) < 2:
            raise ValueError("a lesson without course name and code")
        seen.setdefault(lines[1], lines[0])
    return [(term, code, name) for code, name in seen.items()]
