"""强智 (Qiangzhi) "jsxsd", docs/school-systems.md §3.

``base_url`` is the site root above ``/jsxsd`` (``http://jwxt.example.edu.cn``). Options (all optional):

- ``login``: ``"auto"`` (default: whatever the login form posts to), ``"seed"`` (variant B: ``Logon.do``
  with the server-seed interleave) or ``"direct"`` (variant A: ``jsxsd/xk/LoginToXk`` with
  ``base64(ID)%%%base64(password)``);
- ``logon_method``: the ``Logon.do`` method of variant B (default ``logon``; some schools ``logonLdap``);
- ``captcha``: ``"auto"`` (default: use RANDOMCODE when the login page shows the image), ``true`` or ``false``;
- ``term``: the ``kksj`` sent with the grade query (default empty: every term).

Sessions are short and a new login ends the previous one; an evicted session reads as expired, so the
next check just logs in again.
"""

from __future__ import annotations

import base64
import re
from urllib.parse import urljoin, urlsplit

import httpx
from selectolax.lexbor import LexborHTMLParser as HTMLParser
from selectolax.lexbor import LexborNode as Node

from gradewatch.grades import Grade, attempt_from_text
from gradewatch.schools import register
from gradewatch.schools.base import Credentials, SchoolAdapter
from gradewatch.schools.errors import AccountLocked, SchoolError, SessionExpired, WrongCaptcha, WrongPassword

MAIN = "/jsxsd/framework/xsMain.jsp"
GRADE_FORM = "/jsxsd/kscj/cjcx_frm"
GRADE_LIST = "/jsxsd/kscj/cjcx_list"

_WRONG_CAPTCHA = ("验证码错误", "验证码不正确", "验证码输入错误")
_LOCKED = ("锁定", "冻结", "禁止登录", "次数过多")
_WRONG_PASSWORD = ("用户名或密码错误", "密码错误", "不存在或密码错误", "用户名或密码不正确")
_EXPIRED = ("请先登录", "在其它地方登录", "在其他地方登录")
#: A formless page below this size that links to the logout hop is the "session lost" stub (~850 bytes).
_STUB_BYTES = 1500
_NO_DATA = "未查询到数据"

# Header text -> Grade field; everything else (序号 …) is dropped.
_COLUMNS = {
    "开课学期": "term",
    "课程编号": "course_code",
    "课程名称": "course_name",
    "成绩": "score",
    "学分": "credits",
    "绩点": "grade_point",
    "考试性质": "exam_type",
    "课程属性": "course_nature",  # 必修 / 选修 (what Grade calls 课程性质)
    "课程性质": "course_category",  # 公共基础课 / 专业课 …
}
_REQUIRED = ("开课学期", "课程编号", "课程名称", "成绩")


@register
class QiangzhiAdapter(SchoolAdapter):
    system = "qiangzhi"
    title = "强智 Qiangzhi (jsxsd)"
    login_path = "/jsxsd/"
    sso_entry = "/jsxsd/sso.jsp"
    captcha_model = "qiangzhi"
    login_errors = ((WrongCaptcha, _WRONG_CAPTCHA), (AccountLocked, _LOCKED), (WrongPassword, _WRONG_PASSWORD))

    _login_url: str = ""
    _captcha_url: str = ""

    #: The login variant in use: the option, or (``auto``) what start_login read from the login form.
    _variant: str = ""

    @property
    def variant(self) -> str:
        if self._variant:
            return self._variant
        value = str(self.options.get("login") or "auto").lower()
        if value not in ("auto", "seed", "direct"):  # raised inside the check, so the user sees it in the report
            raise SchoolError(f"the qiangzhi option login must be 'auto', 'seed' or 'direct', not {value!r}")
        return value

    # ---- login -----------------------------------------------------------------------------
    def start_login(self) -> None:
        variant = self.variant
        paths = {"seed": ["/"], "direct": ["/jsxsd/"], "auto": ["/", "/jsxsd/"]}[variant]
        for path in paths:
            resp = self.get(path)
            tree = self.html(self.text_of(resp))
            form = _login_form(tree)
            if resp.status_code == 200 and form is not None:
                break
        else:
            raise self.unexpected("the 强智 login page has no login form", resp, tree)
        if variant == "auto":
            self._variant = "direct" if "LoginToXk" in str(form.attributes.get("action") or "") else "seed"
        self._login_url = str(resp.url)
        img = tree.css_first("img#SafeCodeImg")
        src = str(img.attributes.get("src") or "") if img is not None else ""
        self._captcha_url = urljoin(self._login_url, src) if src else ""

    def needs_captcha(self) -> bool:
        setting = self.options.get("captcha", "auto")
        if isinstance(setting, bool):
            return setting
        return bool(self._captcha_url)

    def fetch_captcha(self) -> bytes:
        default = "/verifycode.servlet" if self.variant == "seed" else "/jsxsd/verifycode.servlet"
        resp = self.get(self._captcha_url or default, headers={"Referer": self._login_url})
        if resp.status_code != 200 or not resp.headers.get("content-type", "").startswith("image/"):
            raise self.unexpected("the 强智 captcha is not an image", resp)
        return resp.content

    def submit_login(self, creds: Credentials, captcha: str | None) -> None:
        referer = {"Referer": self._login_url or self.base_url + "/"}
        form = {"userAccount": creds.username, "userPassword": ""}
        if captcha is not None:
            form["RANDOMCODE"] = captcha
        method = str(self.options.get("logon_method") or "logon")
        if self.variant == "seed":
            seed = self.post("/Logon.do", params={"method": method, "flag": "sess"}, headers=referer)
            scode, sep, sxh = seed.text.strip().partition("#")
            if seed.status_code != 200 or not sep or not re.fullmatch(r"\d{20}", sxh) or not scode:
                raise self.unexpected("the 强智 login seed is not <scode>#<sxh>", seed)
            form["encoded"] = encode_seed(f"{creds.username}%%%{creds.password}", scode, sxh)
            resp = self.post("/Logon.do", params={"method": method}, data=form, headers=referer)
        else:
            form["encoded"] = f"{_b64(creds.username)}%%%{_b64(creds.password)}"
            resp = self.post("/jsxsd/xk/LoginToXk", data=form, headers=referer)
        tree = self.html(self.text_of(resp))
        if resp.status_code == 200 and resp.url.path.endswith(MAIN) and tree.css_first("#userAccount") is None:
            return
        err = self.login_error(_message(tree))
        if err is not None:
            raise err
        raise self.unexpected("the 强智 login answer is neither the student home nor a known error", resp, tree)

    # ---- grades ----------------------------------------------------------------------------
    def fetch_grades(self) -> list[Grade]:
        main = self.base_url + MAIN
        resp = self.get(GRADE_FORM, headers={"Referer": main})
        self._check_logged_in(resp)
        form = {"kksj": str(self.options.get("term") or ""), "kcxz": "", "kcmc": "", "xsfs": "all"}
        resp = self.post(GRADE_LIST, data=form, headers={"Referer": self.base_url + GRADE_FORM})
        tree = self._check_logged_in(resp)
        try:
            return parse_grades(tree)
        except ValueError as err:
            if "评教" in tree.text():
                raise self.unexpected("the 强智 grades are hidden until the teaching evaluation is done",
                                      resp, tree) from None
            raise self.unexpected(f"the 强智 grade page is not as expected: {err}", resp, tree) from None

    def _check_logged_in(self, resp: httpx.Response) -> HTMLParser:
        text = self.text_of(resp)
        tree = self.html(text)
        stub = (len(resp.content) < _STUB_BYTES and "LoginToXk?method=exit" in text
                and tree.css_first("form") is None)
        if tree.css_first("#userAccount") is not None or (
            tree.css_first("table#dataList") is None and (stub or any(w in text for w in _EXPIRED))
        ):
            raise SessionExpired("the 强智 session has expired or was ended by another login")
        if resp.status_code != 200:
            raise self.unexpected(f"the 强智 grade page answered HTTP {resp.status_code}", resp, tree)
        return tree

    # ---- detection -------------------------------------------------------------------------
    @classmethod
    def recognise(cls, url: str, html: str) -> bool:
        path = urlsplit(url).path
        if re.search(r"/jsxsd/(xk/LoginToXk|framework/xsMain\.jsp|kscj/)", path):
            return True
        if "湖南强智" in html:
            return True
        return "verifycode.servlet" in html and ("Logon.do" in html or "LoginToXk" in html)

    @classmethod
    def base_url_from(cls, url: str) -> str:
        parts = urlsplit(url)
        path = parts.path
        for marker in ("/jsxsd", "/Logon.do"):
            cut = path.find(marker)
            if cut >= 0:
                path = path[:cut]
                break
        else:
            path = path.rsplit("/", 1)[0] if not path.endswith("/") else path.rstrip("/")
        return f"{parts.scheme}://{parts.netloc}{path}"


def encode_seed(text: str, scode: str, sxh: str) -> str:
    """Variant B's ``encoded``: each of the first 20 characters, then the next ``sxh[i]`` characters of
    ``scode``; past 20 characters the rest is appended unchanged."""
    out, pos = [], 0
    for i, char in enumerate(text):
        if i >= 20:
            out.append(text[i:])
            break
        n = int(sxh[i])
        out.append(char + scode[pos : pos + n])
        pos += n
    return "".join(out)


def parse_grades(tree: HTMLParser) -> list[Grade]:
    """The rows of ``table#dataList``, columns mapped by header text. Raises ValueError on another shape."""
    table = tree.css_first("table#dataList")
    if table is None:
        raise ValueError("no table#dataList")
    rows = table.css("tr")
    header = next((r for r in rows if r.css_first("th") is not None), None)
    if header is None:
        raise ValueError("the table has no header row")
    names = [th.text(strip=True) for th in header.css("th")]
    missing = [n for n in _REQUIRED if n not in names]
    if missing:
        raise ValueError(f"no {', '.join(missing)} column")
    grades: list[Grade] = []
    body = [r for r in rows if r.css_first("td") is not None]
    for n, row in enumerate(body, start=1):
        cells = [td.text(strip=True).replace("\xa0", "") for td in row.css("td")]
        if len(cells) == 1 and _NO_DATA in cells[0]:
            continue
        if len(cells) != len(names):
            raise ValueError(f"row {n} has {len(cells)} cells for {len(names)} columns")
        grade = _grade_of(dict(zip(names, cells, strict=True)), n)
        if grade is not None:
            grades.append(grade)
    return grades


def _grade_of(row: dict[str, str], n: int) -> Grade | None:
    fields = {field: row.get(header, "") for header, field in _COLUMNS.items()}
    term = normalise_term(fields["term"])
    if term is None:
        raise ValueError(f"row {n}: unreadable term {fields['term'][:20]!r}")
    if not fields["course_code"] or not fields["course_name"]:
        raise ValueError(f"row {n}: no course code or name")
    if not fields["score"]:
        return None
    exam_type = fields["exam_type"] or "正常考试"
    return Grade(
        term=term,
        course_code=fields["course_code"],
        course_name=fields["course_name"],
        score=fields["score"],
        credits=_number(fields["credits"], n, "credits"),
        exam_type=exam_type,
        attempt=attempt_from_text(exam_type),
        course_nature=fields["course_nature"],
        course_category=fields["course_category"],
        grade_point=_number(fields["grade_point"], n, "grade point"),
    )


def normalise_term(text: str) -> str | None:
    """``2021-2022-1`` (as 开课学期 shows it; ``2021-2022-2 `` with spaces too) → ``2021-2022-1``."""
    m = re.fullmatch(r"\s*(\d{4})\s*-\s*(\d{4})\s*-\s*([123])\s*", text)
    return f"{m[1]}-{m[2]}-{m[3]}" if m else None


def _number(text: str, n: int, what: str) -> float | None:
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"row {n}: unreadable {what} {text[:10]!r}") from None


def _login_form(tree: HTMLParser) -> Node | None:
    field = tree.css_first("#userAccount")
    node: Node | None = field
    while node is not None and node.tag != "form":
        node = node.parent
    return node


def _message(tree: HTMLParser) -> str:
    node = tree.css_first("#showMsg, #errorinfo, font[color=red], .dlmi font")
    if node is not None and node.text(strip=True):
        return node.text(strip=True)
    for script in tree.css("script, style"):
        script.decompose()
    body = tree.body
    return body.text(separator=" ", strip=True)[:300] if body is not None else ""


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")
