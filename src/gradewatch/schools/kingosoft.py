"""青果 (Kingosoft) new Java platform: cas/login.action and cas/logon.action, docs/school-systems.md §5b.

``base_url`` is the system root above ``/cas`` (it often has a context path, e.g. ``…/jwweb``).
The login page script names the session (``_ssessionid``) and, on current deployments, loads
``custom/js/SetKingoEncypt.jsp`` with a DES key and the server time: the login fields are then
sent as ``params`` (the page's own DES, :mod:`gradewatch.schools.kingosoft_des`, then base64),
``token`` and ``timestamp``. Older deployments take the plain fields. Either way the password
field is ``md5(md5(password) + md5(lower(captcha)))``. The answer is JSON ``{status, message,
result}``: 200 logged in, 401 captcha rejected (another try), 407 a message for the user
(password, lock), anything else a stop.
"""

from __future__ import annotations

import base64
import re
import time
from typing import Literal
from urllib.parse import urljoin, urlsplit

import httpx
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from gradewatch.grades import Grade, attempt_from_text
from gradewatch.schools import register
from gradewatch.schools.base import Credentials, SchoolAdapter
from gradewatch.schools.errors import AccountLocked, SessionExpired, WrongCaptcha, WrongPassword
from gradewatch.schools.kingosoft_des import encrypt_params, md5_hex
from gradewatch.schools.options import CaptchaSetting, SchoolOptions, option

LOGIN = "/cas/login.action"
LOGON = "/cas/logon.action"
CAPTCHA = "/cas/genValidateCode"
KEY_SCRIPT = "/custom/js/SetKingoEncypt.jsp"
GRADE_FORM = "/student/xscj.stuckcj.jsp"
GRADE_DATA = "/student/xscj.stuckcj_data.jsp"

_SESSION_ID = re.compile(r"""_ssessionid\s*=\s*["']([^"']*)["']""")
_DESKEY = re.compile(r"""_deskey\s*=\s*["'](\d+)["']""")
_NOWTIME = re.compile(r"""_nowtime\s*=\s*["']([^"']+)["']""")
_TERM = re.compile(r"(\d{4})-(\d{4})\s*学年\s*第?\s*([一二三123])\s*学期")
_CN = {"一": "1", "二": "2", "三": "3"}
_COURSE = re.compile(r"^\s*\[([^\]]+)\]\s*(.+?)\s*$")
_EXPIRED = ("点击刷新验证码", "cas/login.action")
_NO_DATA = "没有检索到记录"


def password_class_mask(password: str) -> int:
    """``txt_mm_expression``: which character classes the password has (digit 8, lower 4, upper 2, other 1)."""
    mask = 0
    for ch in password:
        mask |= 8 if ch.isdigit() else 4 if ch.islower() else 2 if ch.isupper() else 1
    return mask


@register
class KingosoftAdapter(SchoolAdapter):
    system = "kingosoft"
    title = "青果 Kingosoft (Java platform, cas/logon.action)"
    login_path = LOGIN
    base_url_hint = "the system root above `/cas` (with its context path, e.g. `…/jwweb`)"
    captcha_model = "kingosoft"
    login_errors = ((AccountLocked, ("锁定", "冻结", "禁用")), (WrongCaptcha, ("验证码",)),
                    (WrongPassword, ("密码", "帐号不存在", "账号不存在", "用户不存在")))

    class Options(SchoolOptions):
        login: Literal["auto", "des", "plain"] = option(
            "auto", "auto (DES when the page loads SetKingoEncypt.jsp), des, plain (older deployments)")
        captcha: CaptchaSetting = option("auto", "send randnumber: auto (when hid_flag is 0), true, false")
        menucode: str = option("S40303", "the menucode of the grade page (xscj.stuckcj.jsp)", pattern=r"^\w+$")

    _session_id: str = ""
    _hid_flag: str = "1"
    _variant: str = "des"
    _page_wants_captcha: bool = False

    # ---- login -----------------------------------------------------------------------------
    def start_login(self) -> None:
        resp = self.get(self.base_url + LOGIN)
        text = self.text_of(resp)
        tree = self.html(text)
        m = _SESSION_ID.search(text)
        if resp.status_code != 200 or m is None:
            raise self.unexpected("the 青果 login page names no session (_ssessionid)", resp, tree)
        self._session_id = m[1]
        flag = tree.css_first("#hid_flag")
        self._hid_flag = str(flag.attributes.get("value") or "1") if flag is not None else "1"
        self._page_wants_captcha = self._hid_flag == "0"
        configured = str(self.options["login"])
        self._variant = ("des" if "SetKingoEncypt" in text else "plain") if configured == "auto" else configured

    def needs_captcha(self) -> bool:
        return self.captcha_wanted(self._page_wants_captcha)

    def fetch_captcha(self) -> bytes:
        return self.fetch_image(self.base_url + CAPTCHA, referer=self.base_url + LOGIN, what="the 青果 captcha",
                                params={"dateTime": str(int(time.time() * 1000))})

    def submit_login(self, creds: Credentials, captcha: str | None) -> None:
        rand = captcha or ""
        secret = md5_hex(md5_hex(creds.password) + md5_hex(rand.lower()))
        headers = {"Referer": self.base_url + LOGIN, "X-Requested-With": "XMLHttpRequest"}
        if self._variant == "plain":
            form = {"username": creds.username, "password": secret, "randnumber": rand, "isPasswordPolicy":
                    self._policy(creds)}
        else:
            form = {**self._wrapped(creds, secret, rand), "deskey": "", "ssessionid": self._session_id}
        resp = self.post(self.base_url + LOGON, data=form, headers=headers)
        try:
            answer = resp.json()
            status, message = str(answer.get("status", "")), str(answer.get("message", ""))
            result = str(answer.get("result") or "")
        except (ValueError, AttributeError):
            raise self.unexpected("the 青果 login answer is not JSON", resp) from None
        if status == "200":
            if result:  # the landing page finishes the login on some deployments
                self.get(urljoin(self.base_url + "/", result.lstrip("/")), headers={"Referer": self.base_url + LOGIN})
            return
        if status == "401":
            raise WrongCaptcha("the school rejected the captcha")
        err = self.login_error(message, message)
        if err is not None:
            raise err
        if status == "407" and message:  # a verdict for the user to read
            raise self.refusal(message, resp)
        raise self.unexpected(f"the 青果 login answered status {status or '?'}: {message[:80]}", resp)

    def _policy(self, creds: Credentials) -> str:
        return "1" if len(creds.password) >= 6 and creds.password != creds.username else "0"

    def _wrapped(self, creds: Credentials, secret: str, rand: str) -> dict[str, str]:
        """The DES-wrapped fields, with key material fetched for this attempt (it is single-use)."""
        resp = self.get(self.base_url + KEY_SCRIPT, params={"t": str(int(time.time() * 1000))},
                        headers={"Referer": self.base_url + LOGIN})
        text = self.text_of(resp)
        key, now = _DESKEY.search(text), _NOWTIME.search(text)
        if resp.status_code != 200 or key is None or now is None:
            raise self.unexpected("SetKingoEncypt.jsp has no _deskey/_nowtime", resp)
        ident = base64.b64encode(f"{creds.username};;{self._session_id}".encode()).decode("ascii")
        fields = [
            (f"_u{rand}", ident), (f"_p{rand}", secret), ("randnumber", rand),
            ("isPasswordPolicy", self._policy(creds)),
            ("txt_mm_expression", str(password_class_mask(creds.password))),
            ("txt_mm_length", str(len(creds.password))),
            ("txt_mm_userzh", "1" if creds.username and creds.username in creds.password else "0"),
            ("hid_flag", self._hid_flag), ("hidlag", "1"), ("hid_dxyzm", ""),
        ]
        plain = "&".join(f"{k}={v}" for k, v in fields)  # joined as the page script does: not URL-encoded
        return encrypt_params(plain, key[1], now[1])

    # ---- grades ----------------------------------------------------------------------------
    def fetch_grades(self) -> list[Grade]:
        menucode = str(self.options["menucode"])
        form_url = self.base_url + GRADE_FORM + f"?menucode={menucode}"
        resp = self.get(form_url, headers={"Referer": self.base_url + "/frame/homes.action"})
        tree = self.html(self.text_of(resp))
        if self._expired(resp, tree):
            raise SessionExpired("the 青果 session has expired")
        rxnj = tree.css_first('input[name="rxnj"]')
        data = {"sjxz": "sjxz1", "ysyx": "yxcj", "zx": "1", "fx": "0", "xn": "", "xn1": "", "xq": "",
                "rxnj": str(rxnj.attributes.get("value") or "") if rxnj is not None else "",
                "ysyxS": "on", "sjxzS": "on", "menucode_current": menucode}
        resp = self.post(self.base_url + GRADE_DATA, data=data, headers={"Referer": form_url})
        tree = self.html(self.text_of(resp))
        if self._expired(resp, tree):
            raise SessionExpired("the 青果 session has expired")
        if resp.status_code != 200:
            raise self.unexpected(f"the 青果 grade page answered HTTP {resp.status_code}", resp, tree)
        try:
            return parse_grades(tree)
        except ValueError as err:
            raise self.unexpected(f"the 青果 grade page is not as expected: {err}", resp, tree) from None

    @staticmethod
    def _expired(resp: httpx.Response, tree: HTMLParser) -> bool:
        if resp.url.path.endswith(LOGIN):
            return True
        img = tree.css_first("#imgCode")
        return img is not None and "genValidateCode" in str(img.attributes.get("src") or "")

    # ---- detection -------------------------------------------------------------------------
    @classmethod
    def recognise(cls, url: str, html: str) -> bool:
        return "_ssessionid" in html and ("genValidateCode" in html or "logon.action" in html
                                          or urlsplit(url).path.endswith(LOGIN))

    @classmethod
    def base_url_from(cls, url: str) -> str:
        parts = urlsplit(url)
        path = parts.path
        cut = path.find("/cas/")
        prefix = path[:cut] if cut >= 0 else path.rstrip("/")
        return f"{parts.scheme}://{parts.netloc}{prefix}"


def parse_grades(tree: HTMLParser) -> list[Grade]:
    """The per-term tables: a 学年学期 caption before each table whose header row names the columns."""
    body = tree.body
    if body is None:
        raise ValueError("an empty page")
    text = body.text()
    tables = tree.css("table")
    if not tables:
        if _NO_DATA in text:
            return []
        raise ValueError("no result tables")
    grades: list[Grade] = []
    captions = [m[0] for m in _TERM.finditer(text)]
    if len(captions) != len(tables):
        raise ValueError(f"{len(tables)} tables but {len(captions)} term captions")
    for caption, table in zip(captions, tables, strict=True):
        m = _TERM.search(caption)
        if m is None:  # cannot happen: the captions are matches
            raise ValueError(f"unreadable term {caption[:20]!r}")
        term = f"{m[1]}-{m[2]}-{_CN.get(m[3], m[3])}"
        rows = [[SchoolAdapter.cell_text(c) for c in r.css("td, th")] for r in table.css("tr")]
        header, body_rows = rows[0], rows[1:]
        for need in ("课程", "成绩"):
            if need not in header:
                raise ValueError(f"no column {need}")
        col = {h: i for i, h in enumerate(header)}
        for n, cells in enumerate(body_rows, start=1):
            if len(cells) != len(header):
                raise ValueError(f"{term} row {n} has {len(cells)} cells, expected {len(header)}")
            grade = _grade_of(term, cells, col, n)
            if grade is not None:
                grades.append(grade)
    return grades


def _grade_of(term: str, cells: list[str], col: dict[str, int], n: int) -> Grade | None:
    course = _COURSE.match(cells[col["课程"]])
    if course is None:
        raise ValueError(f"{term} row {n}: unreadable course {cells[col['课程']][:20]!r}")
    score = cells[col["成绩"]]
    if not score:
        return None
    credits = SchoolAdapter.number(cells[col["学分"]]) if "学分" in col else None
    nature = cells[col["修读性质"]] if "修读性质" in col else ""
    exam_type = "正常考试" if nature in ("", "初修", "正常") else nature
    return Grade(term=term, course_code=course[1], course_name=course[2], score=score, credits=credits,
                 exam_type=exam_type, attempt=attempt_from_text(exam_type),
                 course_category=cells[col["类别"]] if "类别" in col else "")
