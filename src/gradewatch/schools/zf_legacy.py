"""Old 正方 (ZF, ASP.NET edition): default2.aspx, CheckCode.aspx, xs_main.aspx, xscjcx.aspx.

docs/school-systems.md §2. ``base_url`` is the site root the login page lives under. Deployments
with cookieless sessions redirect to a URL carrying the session, ``/(S(<id>))/default2.aspx`` or
``/(<id>)/default2.aspx``; that prefix is kept for every later URL and stored with the cookies, so a
stored session is reused like a cookie one. Pages and form values are GB2312 (read as GB18030, its
superset, so rare characters survive). The login form's field names are read from the page (the
password is ``TextBox2`` on most installs, ``TextBox1`` on some); a failed login answers with a
JavaScript ``alert('…')``, whose text is the verdict.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import httpx
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from gradewatch.grades import Grade
from gradewatch.schools import register
from gradewatch.schools.base import Credentials, SchoolAdapter
from gradewatch.schools.errors import AccountLocked, SessionExpired, WrongCaptcha, WrongPassword
from gradewatch.schools.options import CaptchaSetting, SchoolOptions, option

ENCODING = "gbk"
STUDENT_ROLE = "学生"
ALL_YEARS_BUTTON = ("btn_zcj", "历年成绩")
#: The stored-cookie entry that carries a cookieless session's URL prefix (never sent to the school).
PATH_COOKIE = "gradewatch.session_path"

_ALERT = re.compile(r"alert\(\s*['\"](.*?)['\"]\s*\)", re.S)
_SEGMENT = re.compile(r"^/\((?:S\()?[A-Za-z0-9]+\)?\)/")
_LOGIN_PAGES = ("default2.aspx", "default.aspx", "default3.aspx", "default_ysdx.aspx")
_SCORE_COLUMNS = (("成绩", "正常考试", "normal"), ("补考成绩", "补考", "makeup"), ("重修成绩", "重修", "retake"))
_REQUIRED = ("学年", "学期", "课程代码", "课程名称", "成绩")


@register
class ZfLegacyAdapter(SchoolAdapter):
    system = "zf_legacy"
    title = "ZF 正方教务 (old ASP.NET edition)"
    login_path = "/default2.aspx"
    base_url_hint = "the site root above `default2.aspx` (without a `(S(…))` session segment)"
    captcha_model = "zf_legacy"
    login_errors = (
        (AccountLocked, ("锁定", "已达")),
        (WrongCaptcha, ("验证码",)),
        (WrongPassword, ("密码错误", "密码不正确", "用户名不存在")),
    )

    class Options(SchoolOptions):
        captcha: CaptchaSetting = option("auto", "send txtSecretCode: auto (when the page shows CheckCode.aspx), "
                                                 "true, false")
        login_page: str = option("default2.aspx", "the login page (some schools default.aspx, default3.aspx …)",
                                 pattern=r"^\w+\.aspx$")
        grade_page: str = option("", "the grade page, e.g. xscjcx.aspx (empty: the menu's 成绩查询 link)",
                                 pattern=r"^(\w+\.aspx)?$")

    def __init__(self, base_url: str, *, cookies: Iterable[dict[str, Any]] = (), **kwargs: Any) -> None:
        kept = [c for c in cookies if c.get("name") != PATH_COOKIE]
        prefix = next((str(c.get("value", "")) for c in cookies if c.get("name") == PATH_COOKIE), "")
        super().__init__(base_url, cookies=kept, **kwargs)
        #: The URL every page lives under: base_url, plus the session segment on cookieless installs.
        self.root = (prefix if prefix.startswith(self.base_url) else self.base_url) + "/"
        self._login_url = ""
        self._form: dict[str, str] = {}
        self._fields: Mapping[str, str] = {}
        self._page_has_captcha = False
        self._xh = ""

    # ---- session state -------------------------------------------------------------------
    def export_cookies(self) -> list[dict[str, Any]]:
        cookies = super().export_cookies()
        if self.root.rstrip("/") != self.base_url:
            cookies.append({"name": PATH_COOKIE, "value": self.root.rstrip("/"), "domain": "", "path": "/"})
        return cookies

    @property
    def has_session(self) -> bool:
        return super().has_session or self.root.rstrip("/") != self.base_url

    def check(self, creds: Credentials) -> tuple[list[Grade], bool]:
        self._xh = creds.username  # every logged-in page is addressed by the student ID (xh)
        return super().check(creds)

    def _adopt_root(self, resp: httpx.Response) -> None:
        """Keep the session segment a cookieless install redirected to."""
        url = str(resp.url)
        path = urlsplit(url).path
        base_path = urlsplit(self.base_url).path.rstrip("/")
        m = _SEGMENT.match(path[len(base_path):]) if path.startswith(base_path) else None
        self.root = self.base_url + (m[0] if m else "/")

    def page_text(self, resp: httpx.Response) -> str:
        return resp.content.decode("gb18030", errors="replace")

    def post_form(self, url: str, form: Mapping[str, str], referer: str) -> httpx.Response:
        """POST a form the way the GB2312 pages do: values percent-encoded in GBK."""
        body = urlencode(form, encoding=ENCODING, errors="xmlcharrefreplace")
        return self.post(url, content=body.encode("ascii"), headers={
            "Content-Type": "application/x-www-form-urlencoded", "Referer": referer})

    def _is_login(self, resp: httpx.Response, tree: HTMLParser) -> bool:
        return self.is_login_page(resp, tree, paths=_LOGIN_PAGES, fields=('input[name="txtUserName"]',))

    # ---- login -----------------------------------------------------------------------------
    def start_login(self) -> None:
        self.root = self.base_url + "/"
        resp = self.get(self.root + str(self.options["login_page"]))
        text = self.page_text(resp)
        tree = self.html(text)
        form = self.form_of(tree, 'input[name="txtUserName"]')
        if resp.status_code != 200 or form is None:
            raise self.unexpected("the old ZF login page has no login form", resp, tree)
        self._adopt_root(resp)
        self._login_url = str(resp.url)
        password = form.css_first('input[type="password"]')
        code = form.css_first('input[name="txtSecretCode"], input[name="TextBox3"]')
        self._fields = {
            "password": str(password.attributes.get("name") or "TextBox2") if password is not None else "TextBox2",
            "captcha": str(code.attributes.get("name") or "txtSecretCode") if code is not None else "",
        }
        self._form = self.hidden_inputs(form)
        button = form.css_first('input[name="Button1"]')
        if button is not None:
            self._form["Button1"] = str(button.attributes.get("value") or "")
        self._page_has_captcha = code is not None and "checkcode.aspx" in text.lower()

    def needs_captcha(self) -> bool:
        return self.captcha_wanted(self._page_has_captcha)

    def fetch_captcha(self) -> bytes:
        return self.fetch_image(self.root + "CheckCode.aspx", referer=self._login_url, what="the old ZF CheckCode.aspx")

    def submit_login(self, creds: Credentials, captcha: str | None) -> None:
        form = {**self._form, "txtUserName": creds.username, self._fields["password"]: creds.password,
                "RadioButtonList1": STUDENT_ROLE}
        form.setdefault("lbLanguage", "")
        if captcha is not None:
            form[self._fields["captcha"] or "txtSecretCode"] = captcha
        resp = self.post_form(self._login_url or self.root + str(self.options["login_page"]), form,
                              self._login_url)
        text = self.page_text(resp)
        tree = self.html(text)
        if resp.status_code == 200 and resp.url.path.lower().endswith("xs_main.aspx"):
            self._adopt_root(resp)
            self._xh = resp.url.params.get("xh") or creds.username
            return
        alert = _ALERT.search(text)
        message = alert[1] if alert else ""
        err = self.login_error(message)
        if err is not None:
            raise err
        if message:  # a verdict we do not know is for the user to read
            raise self.refusal(message, resp, tree)
        raise self.unexpected("the old ZF login answer is neither xs_main.aspx nor an alert", resp, tree)

    # ---- grades ----------------------------------------------------------------------------
    def fetch_grades(self) -> list[Grade]:
        if not self._xh:
            raise SessionExpired("the old ZF student ID is not known yet")
        main_url = self.root + f"xs_main.aspx?xh={self._xh}"
        resp = self.get(main_url, headers={"Referer": self.root + str(self.options["login_page"])})
        tree = self.html(self.page_text(resp))
        if self._is_login(resp, tree) or resp.status_code != 200:
            raise SessionExpired("the old ZF session has expired")
        self._adopt_root(resp)
        grade_url = self._grade_url(tree, str(resp.url))
        resp = self.get(grade_url, headers={"Referer": str(resp.url)})
        tree = self.html(self.page_text(resp))
        if self._is_login(resp, tree):
            raise SessionExpired("the old ZF session has expired")
        form = self.form_of(tree, 'input[name="__VIEWSTATE"]')
        if resp.status_code != 200 or form is None:
            raise self.unexpected("the old ZF grade page has no query form", resp, tree)
        fields = {**self.hidden_inputs(form), "ddlXN": "", "ddlXQ": "", "ddl_kcxz": ""}
        fields.setdefault("hidLanguage", "")
        fields[ALL_YEARS_BUTTON[0]] = ALL_YEARS_BUTTON[1]
        action = str(resp.url)
        if form.tag == "form":
            action = urljoin(action, str(form.attributes.get("action") or ""))
        resp = self.post_form(action, fields, str(resp.url))
        tree = self.html(self.page_text(resp))
        if self._is_login(resp, tree):
            raise SessionExpired("the old ZF session has expired")
        if resp.status_code != 200:
            raise self.unexpected(f"the old ZF grade query answered HTTP {resp.status_code}", resp, tree)
        try:
            return parse_grades(tree)
        except ValueError as err:
            raise self.unexpected(f"the old ZF grade table is not as expected: {err}", resp, tree) from None

    def _grade_url(self, main: HTMLParser, main_url: str) -> str:
        configured = str(self.options["grade_page"])
        for link in main.css("a[href]"):
            href = str(link.attributes.get("href") or "")
            page = href.split("?")[0].lower()
            if (configured and page == configured.lower()) or (not configured and "成绩查询" in link.text()):
                return urljoin(main_url, href)
        page = configured or "xscjcx.aspx"
        return self.root + f"{page}?xh={self._xh}&gnmkdm=N121605"

    # ---- detection -------------------------------------------------------------------------
    @classmethod
    def recognise(cls, url: str, html: str) -> bool:
        path = urlsplit(url).path.lower()
        if path.endswith(_LOGIN_PAGES) and ("txtusername" in html.lower() or "__viewstate" in html.lower()):
            return True
        return "CheckCode.aspx" in html and "txtUserName" in html

    @classmethod
    def base_url_from(cls, url: str) -> str:
        parts = urlsplit(url)
        path = parts.path
        m = re.search(r"/\((?:S\()?[A-Za-z0-9]+\)?\)/", path)
        prefix = path[: m.start()] if m else path.rsplit("/", 1)[0]
        return f"{parts.scheme}://{parts.netloc}{prefix}"


def parse_grades(tree: HTMLParser) -> list[Grade]:
    """The rows of table#Datagrid1 (header row first; columns mapped by header text)."""
    table = tree.css_first("table#Datagrid1, table#DataGrid1, table#datagrid1")
    if table is None:
        raise ValueError("no Datagrid1 table")
    rows = [[SchoolAdapter.cell_text(c) for c in r.css("td, th")] for r in table.css("tr")]
    if not rows:
        raise ValueError("an empty Datagrid1 table")
    header, body = rows[0], rows[1:]
    missing = [h for h in _REQUIRED if h not in header]
    if missing:
        raise ValueError(f"no column {', '.join(missing)}")
    col = {h: i for i, h in enumerate(header)}
    grades: list[Grade] = []
    for n, cells in enumerate(body, start=1):
        if len(cells) != len(header):
            raise ValueError(f"row {n} has {len(cells)} cells, expected {len(header)}")
        grades.extend(_grades_of(dict(zip(header, cells, strict=True)), col, n))
    return grades


def _grades_of(row: dict[str, str], col: dict[str, int], n: int) -> list[Grade]:
    year, term_no = row["学年"], row["学期"]
    if not re.fullmatch(r"\d{4}-\d{4}", year) or term_no not in ("1", "2", "3"):
        raise ValueError(f"row {n}: unreadable term {year[:12]!r} {term_no[:4]!r}")
    code, name = row["课程代码"], row["课程名称"]
    if not code or not name:
        raise ValueError(f"row {n}: no course code or name")
    credits_text = row.get("学分", "")
    credits = SchoolAdapter.number(credits_text)
    if credits_text and credits is None:
        raise ValueError(f"row {n}: unreadable credits {credits_text[:10]!r}")
    out = []
    for column, exam_type, attempt in _SCORE_COLUMNS:
        score = row.get(column, "") if column in col else ""
        if not score:
            continue
        out.append(Grade(
            term=f"{year}-{term_no}", course_code=code, course_name=name, score=score, credits=credits,
            exam_type=exam_type, attempt=attempt,  # type: ignore[arg-type]
            course_nature=row.get("课程性质", ""), course_category=row.get("课程归属", ""),
            grade_point=SchoolAdapter.number(row.get("绩点", "")) if attempt == "normal" else None,
        ))
    return out
