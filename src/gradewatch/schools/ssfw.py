"""Wisedu SSFW (师生服务), docs/school-systems.md §7.

``base_url`` is the site root above ``/ssfw`` (``http://ssfw.example.edu.cn``). Options:
``menu_item_wid`` — the ``menuItemWid`` of the school's grade page (成绩查询 → 有效成绩).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from types import MappingProxyType
from urllib.parse import urlsplit

import httpx
from selectolax.lexbor import LexborHTMLParser as HTMLParser
from selectolax.lexbor import LexborNode as Node

from gradewatch.grades import Grade, attempt_from_text
from gradewatch.schools import register
from gradewatch.schools.base import Credentials, SchoolAdapter
from gradewatch.schools.errors import AccountLocked, SessionExpired, WrongCaptcha, WrongPassword
from gradewatch.schools.options import SchoolOptions, option

LOGIN = "/ssfw/login.jsp"
CAPTCHA = "/ssfw/jwcaptcha.do"
SECURITY_CHECK = "/ssfw/j_spring_ids_security_check"
INDEX = "/ssfw/index.do"
NAVMENU = "/ssfw/jwnavmenu.do"
#: The grade page's menuItemWid when the school's options do not set one.
DEFAULT_MENU_ITEM_WID = "2C8B3DB6F0C54E39A1F2B0D6E9A7C301"

# What the login answer says, most specific first: a lock text may also mention the wrong password.
_LOCKED = ("锁定", "冻结", "禁止登录")
_WRONG_CAPTCHA = ("校验码错误", "验证码错误", "校验码不正确", "验证码不正确")
_WRONG_PASSWORD = ("用户名或密码错误", "密码错误", "密码不正确", "用户不存在")

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

    class Options(SchoolOptions):
        menu_item_wid: str = option(DEFAULT_MENU_ITEM_WID, "the menuItemWid of the school's 有效成绩 page",
                                    min_length=1)

    # Set by start_login: the login page URL (the Referer of the POST) and its hidden fields (e.g. mode).
    _login_url: str = ""
    _hidden: Mapping[str, str] = MappingProxyType({})

    @property
    def menu_item_wid(self) -> str:
        return str(self.options.get("menu_item_wid") or DEFAULT_MENU_ITEM_WID)

    # ---- login -----------------------------------------------------------------------------
    def start_login(self) -> None:
        resp = self.get(LOGIN)
        tree = self.html(self.text_of(resp))
        form = _login_form(tree)
        if form is None:
            raise self.unexpected("the SSFW login page has no login form", resp, tree)
        self._login_url = str(resp.url)
        self._hidden = {
            str(i.attributes.get("name")): str(i.attributes.get("value") or "")
            for i in form.css('input[type="hidden"]')
            if i.attributes.get("name")
        }

    def fetch_captcha(self) -> bytes:
        resp = self.get(CAPTCHA, params={"_": str(int(time.time() * 1000))}, headers={"Referer": self._login_url})
        if resp.status_code != 200 or not resp.headers.get("content-type", "").startswith("image/"):
            raise self.unexpected("the SSFW captcha is not an image", resp)
        return resp.content

    def submit_login(self, creds: Credentials, captcha: str | None) -> None:
        form = {**self._hidden, "j_username": creds.username, "j_password": creds.password}
        if captcha is not None:
            form["validateCode"] = captcha
        resp = self.post(SECURITY_CHECK, data=form, headers={"Referer": self._login_url or self.base_url + LOGIN})
        text = self.text_of(resp)
        tree = self.html(text)
        if _landed_logged_in(resp, tree):
            return
        message = _visible_text(tree)
        err = self.login_error(message, _error_line(tree, message))
        if err is not None:
            raise err
        raise self.unexpected("the SSFW login answer is neither a success nor a known error", resp, tree)

    # ---- grades ----------------------------------------------------------------------------
    def fetch_grades(self) -> list[Grade]:
        resp = self.get(NAVMENU, params={"menuItemWid": self.menu_item_wid}, headers={"Referer": self.base_url + INDEX})
        tree = self.html(self.text_of(resp))
        if resp.url.path.endswith(LOGIN) or _login_form(tree) is not None:
            raise SessionExpired("the SSFW session has expired")
        if resp.status_code != 200:
            raise self.unexpected(f"the SSFW grade page answered HTTP {resp.status_code}", resp, tree)
        try:
            return parse_grades(tree)
        except ValueError as err:
            raise self.unexpected(f"the SSFW grade page is not as expected: {err}", resp, tree) from None

    # ---- detection -------------------------------------------------------------------------
    @classmethod
    def recognise(cls, url: str, html: str) -> bool:
        path = urlsplit(url).path
        if re.search(r"/ssfw/(login\.jsp|jwcaptcha\.do|j_spring_ids_security_check|index\.do)$", path):
            return True
        return "j_spring_ids_security_check" in html or "/jwcaptcha.do" in html

    @classmethod
    def base_url_from(cls, url: str) -> str:
        parts = urlsplit(url)
        # Everything above the /ssfw context path (some schools mount it below a prefix).
        path = parts.path + "/"
        cut = path.find("/ssfw/")
        prefix = path[:cut] if cut >= 0 else ""
        return f"{parts.scheme}://{parts.netloc}{prefix}"


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
        cells = [c.text(strip=True).replace("\xa0", "") for c in row.css("td")]
        if len(cells) == 1 and len(rows) == 1:  # "no records" row of an empty transcript
            return []
        if len(cells) != _COLUMNS:
            raise ValueError(f"row {n} has {len(cells)} cells, expected {_COLUMNS}")
        grade = _grade_of(cells, n)
        if grade is not None:
            grades.append(grade)
    return grades


def _grade_of(cells: list[str], n: int) -> Grade | None:
    _, term_text, code, name, category, _elective, nature, credits_text, score, exam_type, _remark = cells
    term = normalise_term(term_text)
    if term is None:
        raise ValueError(f"row {n}: unreadable term {term_text[:20]!r}")
    if not code or not name:
        raise ValueError(f"row {n}: no course code or name")
    if not score:  # listed but not graded yet: not a grade
        return None
    try:
        credits = float(credits_text) if credits_text else None
    except ValueError:
        raise ValueError(f"row {n}: unreadable credits {credits_text[:10]!r}") from None
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
    )


def _login_form(tree: HTMLParser) -> Node | None:
    field = tree.css_first('input[name="j_username"]')
    if field is None:
        return None
    node: Node | None = field
    while node is not None and node.tag != "form":
        node = node.parent
    return node or tree.body


def _landed_logged_in(resp: httpx.Response, tree: HTMLParser) -> bool:
    if _login_form(tree) is not None or resp.status_code != 200:
        return False
    path = resp.url.path
    if path.endswith(INDEX) or path.endswith("/welcome/index.do"):
        return True
    return path.endswith("/ajaxLoginResult.jsp") and resp.url.params.get("success") == "true"


def _visible_text(tree: HTMLParser) -> str:
    for node in tree.css("script, style"):
        node.decompose()
    body = tree.body
    return body.text(separator=" ") if body is not None else ""


def _error_line(tree: HTMLParser, message: str) -> str:
    node = tree.css_first("#errorInfo, .login_error, .error, font[color=red]")
    text = node.text(strip=True) if node is not None else ""
    if not text:
        text = next((line.strip() for line in message.splitlines() if any(w in line for w in _LOCKED)), "")
    return text[:120]
