"""New URP (综合教务, Spring Security), docs/school-systems.md §4b.

``base_url`` is the site root (``https://jwxt.example.edu.cn``). A captcha is on every login. The
password is hashed by the login page's script; which hash a release uses is read from that script
(option ``password_hash`` overrides it):

- ``double`` (current): ``md5(md5(p + "{Urp602019}")) + "*" + md5(md5(p))``;
- ``salted`` (2019 release): ``md5(p + "{Urp602019}") + "*" + md5(p)``;
- ``md5`` (older): ``md5(p)``.

The verdict is in the redirect: ``/login?errorCode=badCaptcha`` (another try), ``badCredentials``
(stop), anything else on ``/login`` is shown to the user; landing anywhere else is success. Grades
come from ``allTermScores/data``, whose path carries a per-session segment read from the grade page.
Only records with entry status ``05`` (submitted by the teacher) count; ``-999`` means the
evaluation (评教) is not done yet and is skipped.
"""

from __future__ import annotations

import hashlib
import re
import time
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from gradewatch.grades import Grade, attempt_from_text
from gradewatch.schools import register
from gradewatch.schools.base import Credentials, SchoolAdapter
from gradewatch.schools.errors import AccountLocked, SessionExpired, WrongCaptcha, WrongPassword
from gradewatch.schools.options import SchoolOptions, option

LOGIN = "/login"
CAPTCHA = "/img/captcha.jpg"
SECURITY_CHECK = "/j_spring_security_check"
SCORE_INDEX = "/student/integratedQuery/scoreQuery/allTermScores/index"
SALT = "{Urp602019}"
PAGE_SIZE = 200

_DATA_URL = re.compile(r"/student/integratedQuery/scoreQuery/([A-Za-z0-9]+)/allTermScores/data")
_SUBMITTED = "05"


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def encode_password(password: str, variant: str) -> str:
    """``j_password`` as the ``variant`` login page computes it (see the module docstring)."""
    if variant == "double":
        return _md5(_md5(password + SALT)) + "*" + _md5(_md5(password))
    if variant == "salted":
        return _md5(password + SALT) + "*" + _md5(password)
    return _md5(password)


def variant_of_script(page: str) -> str:
    """Which hash the login page's script applies: a joined pair (``… + '*' + …``), nested or not."""
    script = " ".join(re.findall(r"<script[^>]*>(.*?)</script>", page, re.S | re.I))
    if re.search(r"""\+\s*['"]\*['"]\s*\+""", script):
        return "double" if "hex_md5(hex_md5(" in script.replace(" ", "") else "salted"
    return "md5"


@register
class UrpAdapter(SchoolAdapter):
    system = "urp"
    title = "URP 综合教务 (new, Spring Security)"
    login_path = LOGIN
    base_url_hint = "the site root above `/login`"
    captcha_model = "urp"
    login_errors = ((WrongCaptcha, ("badCaptcha",)), (AccountLocked, ("lock", "Lock", "disabled")),
                    (WrongPassword, ("badCredentials",)))
    recognise_markup = (("j_spring_security_check", "tokenValue"), ("j_spring_security_check", "/img/captcha.jpg"))

    class Options(SchoolOptions):
        password_hash: Literal["auto", "double", "salted", "md5"] = option(
            "auto", "how j_password is hashed: auto (read from the login page script), double, salted, md5")
        page_size: int = option(PAGE_SIZE, "records asked for per allTermScores/data page", ge=1, le=1000)

    _token: str = ""
    _variant: str = "double"

    # ---- login -----------------------------------------------------------------------------
    def start_login(self) -> None:
        resp = self.get(LOGIN)
        text = self.text_of(resp)
        tree = self.html(text)
        token = tree.css_first('input[name="tokenValue"]')
        if resp.status_code != 200 or tree.css_first('input[name="j_username"]') is None:
            raise self.unexpected("the URP login page has no login form", resp, tree)
        self._token = str(token.attributes.get("value") or "") if token is not None else ""
        configured = str(self.options["password_hash"])
        self._variant = variant_of_script(text) if configured == "auto" else configured

    def fetch_captcha(self) -> bytes:
        return self.fetch_image(CAPTCHA, referer=self.base_url + LOGIN, what="the URP captcha",
                                params={"_": str(int(time.time() * 1000))})

    def submit_login(self, creds: Credentials, captcha: str | None) -> None:
        form = {"tokenValue": self._token, "j_username": creds.username,
                "j_password": encode_password(creds.password, self._variant), "j_captcha": captcha or ""}
        resp = self.post(SECURITY_CHECK, data=form, headers={"Referer": self.base_url + LOGIN})
        tree = self.html(self.text_of(resp))
        on_login = resp.url.path.endswith(LOGIN)
        if resp.status_code == 200 and not on_login and tree.css_first('input[name="j_username"]') is None:
            return
        code = resp.url.params.get("errorCode", "")
        err = self.login_error(code, code)
        if err is not None:
            raise err
        shown = tree.css_first("#error, .alert-danger")
        message = shown.text(strip=True) if shown is not None else ""
        if code or message:  # a verdict we do not know: for the user to read
            raise self.refusal(message or code, resp, tree)
        raise self.unexpected("the URP login answer is neither a success nor an errorCode", resp, tree)

    # ---- grades ----------------------------------------------------------------------------
    def fetch_grades(self) -> list[Grade]:
        resp = self.get(SCORE_INDEX, headers={"Referer": self.base_url + "/"})
        text = self.text_of(resp)
        if self._expired(resp, text):
            raise SessionExpired("the URP session has expired")
        m = _DATA_URL.search(text)
        if resp.status_code != 200 or m is None:
            raise self.unexpected("the URP grade page names no allTermScores/data URL", resp)
        grades: list[Grade] = []
        size = int(self.options["page_size"])
        for page in range(1, 1000):
            data = self._page(m[0], page, size, referer=str(resp.url))
            records = data["records"]
            grades.extend(g for g in (grade_of(r) for r in records) if g is not None)
            if page * size >= int(data["total"]) or not records:
                return grades
        raise self.unexpected("the URP grade data never ends", resp)

    def _page(self, url: str, page: int, size: int, *, referer: str) -> dict[str, Any]:
        form = {"zxjxjhh": "", "kch": "", "kcm": "", "pageNum": str(page), "pageSize": str(size)}
        resp = self.post(url, data=form, headers={"Referer": referer, "X-Requested-With": "XMLHttpRequest"})
        text = self.text_of(resp)
        if self._expired(resp, text):
            raise SessionExpired("the URP session has expired")
        try:
            body = resp.json()
            listing = body["list"]
            return {"records": list(listing["records"]), "total": int(listing["pageContext"]["totalCount"])}
        except (ValueError, KeyError, TypeError):
            raise self.unexpected("the URP grade data is not the expected JSON", resp) from None

    def _expired(self, resp: httpx.Response, text: str) -> bool:
        return resp.url.path.endswith(LOGIN) or ("j_spring_security_check" in text and "tokenValue" in text)

    # ---- detection -------------------------------------------------------------------------
    @classmethod
    def base_url_from(cls, url: str) -> str:
        parts = urlsplit(url)
        path = parts.path
        for tail in (LOGIN, "/index.jsp"):
            if path.endswith(tail):
                path = path[: -len(tail)]
        return f"{parts.scheme}://{parts.netloc}{path.rstrip('/')}"


def grade_of(record: list[Any]) -> Grade | None:
    """One ``records`` entry (by position, §4b) as a Grade; None for drafts and withheld scores."""
    try:
        plan, code, status, score_raw = str(record[0]), str(record[1]), str(record[4]), record[8]
        name, credits_raw, nature, exam_type, level = str(record[11]), record[13], record[15], record[16], record[17]
    except (IndexError, TypeError):
        raise ValueError("a grade record is too short") from None
    if status != _SUBMITTED:
        return None  # a draft the teacher may still change
    m = re.fullmatch(r"(\d{4}-\d{4}-[123])(?:-\d+)?", plan)
    if m is None or not code or not name:
        raise ValueError(f"unreadable grade record {plan[:20]!r} {code[:12]!r}")
    score = _text(score_raw)
    if score in ("-999", "-999.0"):
        return None  # withheld until the evaluation is done
    if not score:
        score = _text(level)
    if not score:
        return None
    exam = _text(exam_type) or "正常考试"
    credits = SchoolAdapter.number(_text(credits_raw))
    return Grade(term=m[1], course_code=code, course_name=name, score=score, credits=credits, exam_type=exam,
                 attempt=attempt_from_text(exam), course_nature=_text(nature))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
