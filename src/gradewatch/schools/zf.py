"""ZF (正方) new Java edition "jwglxt", docs/school-systems.md §1.

``base_url`` is the system root including its context path (``https://jwgl.example.edu.cn/jwglxt``).
Options (all optional):

- ``captcha``: ``"auto"`` (default: use the kaptcha when the login page shows one), ``true`` or ``false``;
- ``grade_path``: the grade query below ``base_url`` (default: ``cjcx/cjcx_cxXsgrcj.html``, falling back to
  ``cjcx/cjcx_cxDgXscj.html`` — same JSON — when a school does not serve the first);
- ``gnmkdm``: the module code sent with the query (default ``N305005``);
- ``page_size``: ``queryModel.showCount`` asked for (default 100; every page is fetched).

The password is sent RSA-encrypted (PKCS#1 v1.5) with the key the server hands out for each attempt; the
modulus may come bare (128 bytes) or as Java's signed bytes (129, leading 0x00): both are the same number.
Login verdicts are the vendor bundle's texts, each mapped to its own meaning (field notes).
"""

from __future__ import annotations

import base64
import re
from typing import Annotated, Any, Literal
from urllib.parse import urljoin, urlsplit

import httpx
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pydantic import BeforeValidator, Field
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from gradewatch.grades import Grade, attempt_from_text, status_from_text
from gradewatch.schools import register
from gradewatch.schools.base import Credentials, SchoolAdapter
from gradewatch.schools.errors import (
    AccountDisabled,
    NoStudentRole,
    PortalLoginRequired,
    SessionExpired,
    UnexpectedPage,
    WrongCaptcha,
    WrongPassword,
)
from gradewatch.schools.options import SchoolOptions, option


def _zf_captcha(value: Any) -> Any:
    if isinstance(value, bool) or value in ("auto", "slider"):
        return value
    raise ValueError('must be "auto", true, false or "slider"')


#: The ZF captcha option: the kaptcha's ``auto/true/false``, or the slider captcha.
ZfCaptchaSetting = Annotated[bool | Literal["auto", "slider"], BeforeValidator(_zf_captcha),
                             Field(json_schema_extra={"shown": '"auto"|bool|"slider"'})]

LOGIN = "/xtgl/login_slogin.html"
PUBLIC_KEY = "/xtgl/login_getPublicKey.html"
KAPTCHA = "/kaptcha"
MENU = "/xtgl/index_initMenu.html"
GRADE_PATH = "cjcx/cjcx_cxXsgrcj.html"
TIMETABLE_PATH = "kbcx/xskbcx_cxXsKb.html"
#: The other grade query real clients use; same JSON shape.
GRADE_PATH_DG = "cjcx/cjcx_cxDgXscj.html"

# The vendor bundle's verdicts (field notes), each its own meaning. 禁止登录 is part of the no-role text,
# so that one is tried before anything else that might match.
_NO_ROLE = ("无所属角色",)
_PORTAL = ("信息门户登录", "从信息门户")
_DISABLED = ("用户已被禁用",)
_WRONG_CAPTCHA = ("验证码",)
_WRONG_PASSWORD = ("用户名或密码不正确", "用户名不存在", "密码不正确", "用户名或密码错误")
_XQM_TERM = {"3": "1", "12": "2", "16": "3"}  # term code -> term number
#: 考试性质代码 (``ksxzdm``) → the wording, for answers that carry only the code.
_KSXZ_CODES = {"01": "正常考试", "11": "补考", "12": "补考二", "16": "重修", "17": "重修补考"}
#: Intermediate pages (notices) passed on the way to the menu, at most.
_MAX_NOTICES = 3


@register
class ZfAdapter(SchoolAdapter):
    system = "zf"
    title = "ZF 正方教务 (new Java edition, jwglxt)"
    login_path = LOGIN
    sso_entry = "/xtgl/login_ssologin.html"
    base_url_hint = "the system root *with* its context path, e.g. `https://jwgl.example.edu.cn/jwglxt`"
    captcha_model = "zf"
    login_errors = ((NoStudentRole, _NO_ROLE), (PortalLoginRequired, _PORTAL), (AccountDisabled, _DISABLED),
                    (WrongCaptcha, _WRONG_CAPTCHA), (WrongPassword, _WRONG_PASSWORD))
    recognise_path = re.escape(LOGIN) + "$"
    recognise_markup = (("login_getPublicKey",), ('id="csrftoken"', 'name="yhm"'))

    class Options(SchoolOptions):
        captcha: ZfCaptchaSetting = option(
            "auto", "auto (the kaptcha when the login page shows one, the slider when it loads zfcaptchaLogin), "
            "true, false, or \"slider\"")
        grade_path: str = option("", f"the grade query below base_url (empty: {GRADE_PATH}, falling back to "
                                 "cjcx/cjcx_cxDgXscj.html where a school serves only that)")
        gnmkdm: str = option("N305005", "the module code sent with the grade query", min_length=1)
        page_size: int = option(100, "queryModel.showCount asked for (every page is fetched)", ge=1, le=5000)
        timetable_path: str = option(TIMETABLE_PATH, "the timetable (课表) query below base_url", min_length=1)
        timetable_gnmkdm: str = option("N2151", "the module code sent with the timetable query", min_length=1)

    _login_url: str = ""
    _csrftoken: str | None = None
    _page_has_captcha: bool = False
    _slider: bool = False
    #: The grade query in use; set to the fallback once the default turned out missing.
    _grade_path: str = ""

    # ---- login -----------------------------------------------------------------------------
    def start_login(self) -> None:
        resp = self.get(LOGIN)
        tree = self.html(self.text_of(resp))
        if resp.status_code != 200 or tree.css_first("#yhm") is None:
            if _is_logged_in_page(resp):  # the stored cookie still had a session: the real page shows the menu
                self.client.cookies.clear()
                resp = self.get(LOGIN)
                tree = self.html(self.text_of(resp))
            if tree.css_first("#yhm") is None:
                raise self.unexpected("the ZF login page has no login form", resp, tree)
        token = tree.css_first("input#csrftoken")  # some versions have none: then none is sent
        self._csrftoken = str(token.attributes.get("value") or "") if token is not None else None
        self._page_has_captcha = tree.css_first("input#yzm") is not None
        self._login_url = str(resp.url)
        # The slider (zfcaptchaLogin) instead of the kaptcha: by option, or when the page loads it.
        self._slider = self.options.get("captcha") == "slider" or "zfcaptchaLogin" in self.text_of(resp)

    def needs_captcha(self) -> bool:
        return not self._slider and self.captcha_wanted(self._page_has_captcha)

    def fetch_captcha(self) -> bytes:
        return self.fetch_image(KAPTCHA.lstrip("/"), referer=self._login_url, what="the ZF kaptcha",
                                params={"time": self.timestamp_ms()})

    def _public_key(self) -> rsa.RSAPublicKey:
        resp = self.get(PUBLIC_KEY.lstrip("/"), params={"time": self.timestamp_ms()},
                        headers={"Referer": self._login_url})
        try:
            data = resp.json()
            return public_key_of(data["modulus"], data["exponent"])
        except (ValueError, KeyError, TypeError):
            raise self.unexpected("the ZF public key answer is not a key", resp) from None

    def submit_login(self, creds: Credentials, captcha: str | None) -> None:
        if self._slider:
            from gradewatch.frontdoor.zf_slider import pass_slider_bounded

            pass_slider_bounded(self, self.max_captcha_tries)
        key = self._public_key()  # a fresh key for every attempt
        secret = base64.b64encode(key.encrypt(creds.password.encode("utf-8"), padding.PKCS1v15())).decode("ascii")
        form = {"language": "zh_CN", "yhm": creds.username, "mm": secret}
        if self._csrftoken is not None:
            form = {"csrftoken": self._csrftoken, **form}
        if captcha is not None:
            form["yzm"] = captcha
        resp = self.post(LOGIN.lstrip("/"), params={"time": self.timestamp_ms()}, data=form,
                         headers={"Referer": self._login_url or self.base_url + LOGIN})
        tree = self.html(self.text_of(resp))
        if tree.css_first("#yhm") is None and resp.status_code == 200:
            resp, tree = self._get_past_notices(resp, tree)
            marker = tree.css_first("input#sessionUserKey")  # the logged-in pages carry the 学号 (field notes)
            if marker is not None and str(marker.attributes.get("value") or "").strip() == creds.username:
                return
            if resp.url.path.endswith(MENU) or creds.username in tree.text():
                return
            raise self.unexpected("the ZF login led neither to the menu nor to a known error", resp, tree)
        tips = self.text_at(tree, "#tips")
        err = self.login_error(tips)
        if err is not None:
            raise err
        if tips:  # any other verdict is for the user to read (§1: the wording varies by school)
            raise self.refusal(tips, resp, tree)
        raise self.unexpected("the ZF login answer is neither a success nor a known error", resp, tree)

    def _get_past_notices(self, resp: httpx.Response, tree: HTMLParser) -> tuple[httpx.Response, HTMLParser]:
        """Acknowledge the mandatory notice pages some accounts get after login, until the menu shows."""
        for _ in range(_MAX_NOTICES):
            form = None if resp.url.path.endswith(MENU) else _notice_form(tree)
            if form is None:
                return resp, tree
            action, fields = form
            resp = self.post(urljoin(str(resp.url), action), data=fields, headers={"Referer": str(resp.url)})
            tree = self.html(self.text_of(resp))
            if resp.status_code != 200 or tree.css_first("#yhm") is not None:
                raise self.unexpected("acknowledging the ZF notice page failed", resp, tree)
        raise self.unexpected("the ZF notice pages do not end", resp, tree)

    # ---- grades ----------------------------------------------------------------------------
    def fetch_grades(self) -> list[Grade]:
        grades: list[Grade] = []
        page, pages = 1, 1
        notices = 0
        first_failure: UnexpectedPage | None = None
        while page <= pages:
            resp = self._query(page)
            data = self.json_of(resp)
            if data is None:
                tree = self._not_login_page(resp)
                if _notice_form(tree) is not None and notices < _MAX_NOTICES:
                    notices += 1
                    self._get_past_notices(resp, tree)
                    continue
                failure = self.unexpected(f"the ZF grade query did not answer JSON (HTTP {resp.status_code})",
                                          resp, tree)
                if page == 1 and first_failure is None and self._may_fall_back():
                    first_failure, self._grade_path = failure, GRADE_PATH_DG
                    continue
                raise first_failure or failure
            try:
                items, pages = parse_page(data, self._page_size)
                grades.extend(g for g in (grade_of(i) for i in items) if g is not None)
            except ValueError as err:
                raise UnexpectedPage(f"the ZF grade JSON is not as expected: {err}",
                                     url=str(resp.url.copy_with(query=None))) from None
            page += 1
        return grades

    def _not_login_page(self, resp: httpx.Response) -> HTMLParser:
        """The page a query answered instead of JSON; SessionExpired when it is the login page."""
        tree = self.html(self.text_of(resp))
        if self.is_login_page(resp, tree, fields=("#yhm",), titles=("用户登录",)):
            raise SessionExpired("the ZF session has expired")
        return tree

    @property
    def _page_size(self) -> int:
        return int(self.options.get("page_size") or 100)

    def _may_fall_back(self) -> bool:
        """The default query failed: try the other endpoint once (not when the user chose a path)."""
        return not self.options.get("grade_path") and self._grade_path in ("", GRADE_PATH)

    def _query(self, page: int) -> httpx.Response:
        path = str(self.options.get("grade_path") or self._grade_path or GRADE_PATH).lstrip("/")
        params = {"doType": "query", "gnmkdm": str(self.options.get("gnmkdm") or "N305005")}
        form = {
            "xnm": "",
            "xqm": "",
            "_search": "false",
            "nd": self.timestamp_ms(),
            "queryModel.showCount": str(self._page_size),
            "queryModel.currentPage": str(page),
            "queryModel.sortName": "",
            "queryModel.sortOrder": "asc",
            "time": "0",
        }
        headers = {"Referer": f"{self.base_url}/{path}?gnmkdm={params['gnmkdm']}&layout=default",
                   "X-Requested-With": "XMLHttpRequest"}
        return self.post(path, params=params, data=form, headers=headers)

    # ---- detection -------------------------------------------------------------------------
    @classmethod
    def base_url_from(cls, url: str) -> str:
        # The context path is what stands above /xtgl/; a URL without it is taken as the root itself.
        above = cls.root_above(url, "/xtgl/")
        if above is not None:
            return above
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"

    # ---- timetable (学生课表查询) ---------------------------------------------------------------
    offers_courses = True

    def fetch_courses(self, term: str | None = None) -> list[tuple[str, str, str]]:
        xnm, xqm = "", ""
        if term:
            year, _, number = term.rpartition("-")
            xnm, xqm = year.split("-")[0], {v: k for k, v in _XQM_TERM.items()}.get(number, number)
        path = str(self.options.get("timetable_path") or TIMETABLE_PATH).lstrip("/")
        gnmkdm = str(self.options.get("timetable_gnmkdm") or "N2151")
        headers = {"Referer": f"{self.base_url}/kbcx/xskbcx_cxXsgrkb.html?gnmkdm={gnmkdm}&layout=default",
                   "X-Requested-With": "XMLHttpRequest"}
        resp = self.post(path, params={"gnmkdm": gnmkdm}, data={"xnm": xnm, "xqm": xqm, "kzlx": "ck"},
                         headers=headers)
        data = self.json_of(resp)
        if data is None:
            tree = self._not_login_page(resp)
            raise self.unexpected(f"the ZF timetable did not answer JSON (HTTP {resp.status_code})", resp, tree)
        try:
            return parse_timetable(data, term)
        except ValueError as err:
            raise UnexpectedPage(f"the ZF timetable JSON is not as expected: {err}",
                                 url=str(resp.url.copy_with(query=None))) from None


def public_key_of(modulus: str, exponent: str) -> rsa.RSAPublicKey:
    """The RSA key of ``login_getPublicKey`` (base64 big-endian numbers). Java's signed form of the modulus
    (129 bytes, a leading 0x00: base64 starting with ``A``) is the same number as the bare 128 bytes.
    Raises ValueError when the answer is not a usable key."""
    try:
        n = int.from_bytes(base64.b64decode("".join(str(modulus).split()), validate=True), "big")
        e = int.from_bytes(base64.b64decode("".join(str(exponent).split()), validate=True), "big")
    except (ValueError, TypeError):
        raise ValueError("the key is not base64") from None
    if n.bit_length() < 256 or e < 3:
        raise ValueError("the key is too small to be an RSA key")
    return rsa.RSAPublicNumbers(e, n).public_key()


def parse_page(data: Any, page_size: int = 100) -> tuple[list[dict[str, Any]], int]:
    """(items, total pages) of one answer of the grade query. Raises ValueError on another shape.

    Without ``totalPage`` the pages are counted from ``totalResult`` (a number or a string) and the page
    size the server says it used (``showCount``), else the one asked for."""
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise ValueError("no items list")
    try:
        if data.get("totalPage") not in (None, ""):
            pages = int(data["totalPage"])
        elif data.get("totalResult") not in (None, ""):
            size = int(data.get("showCount") or page_size)
            pages = -(-int(str(data["totalResult"]).strip()) // max(1, size))
        else:
            pages = 1
    except (TypeError, ValueError):
        raise ValueError("unreadable totalPage / totalResult") from None
    items = data["items"]
    if not all(isinstance(i, dict) for i in items):
        raise ValueError("an item is not an object")
    return items, pages


def grade_of(item: dict[str, Any]) -> Grade | None:
    """One ``items`` element → Grade (None for a voided or ungraded row). Raises ValueError when unreadable."""
    if str(item.get("cjsfzf", "")).strip() in ("是", "1"):
        return None
    score = str(item.get("cj") or "").strip()
    remark = str(item.get("cjbz") or "")
    if not score and status_from_text("", remark) != "held":  # listed, not graded yet (held ones stay)
        return None
    term = term_of(item)
    code = str(item.get("kch") or item.get("kch_id") or "").strip()
    name = str(item.get("kcmc") or "").strip()
    if not code or not name:
        raise ValueError("an item has no course code or name")
    exam_type = exam_type_of(item)
    status = status_from_text(score, remark)
    return Grade(
        term=term,
        course_code=code,
        course_name=name,
        score=score,
        credits=SchoolAdapter.strict_number(item.get("xf"), "xf"),
        exam_type=exam_type,
        attempt=attempt_from_text(exam_type),
        course_nature=str(item.get("kcxzmc") or "").strip(),
        course_category=str(item.get("kclbmc") or "").strip(),
        grade_point=None if status else SchoolAdapter.strict_number(item.get("jd"), "jd"),
        status=status,
    )


def exam_type_of(item: dict[str, Any]) -> str:
    """``ksxz`` (the wording), else the code ``ksxzdm`` in words: a make-up never gets the first attempt's key."""
    text = str(item.get("ksxz") or "").strip()
    if text:
        return text
    code = str(item.get("ksxzdm") or "").strip()
    if not code or code == "01":
        return "正常考试"
    return _KSXZ_CODES.get(code, f"考试性质{code}")


def term_of(item: dict[str, Any]) -> str:
    """``xnmmc`` + ``xqmmc`` (or the codes ``xnm`` + ``xqm``) → ``2022-2023-1``."""
    year = str(item.get("xnmmc") or "").strip()
    if not re.fullmatch(r"\d{4}-\d{4}", year):
        xnm = str(item.get("xnm") or "").strip()
        if not xnm.isdigit():
            raise ValueError(f"unreadable academic year {year or xnm!r}")
        year = f"{xnm}-{int(xnm) + 1}"
    term = str(item.get("xqmmc") or "").strip()
    if term not in ("1", "2", "3"):
        term = _XQM_TERM.get(str(item.get("xqm") or "").strip(), "")
    if not term:
        raise ValueError(f"unreadable term of {year}")
    return f"{year}-{term}"


def _notice_form(tree: HTMLParser) -> tuple[str, dict[str, str]] | None:
    """A logged-in intermediate page's one acknowledge form: (action, hidden fields); None on any other page."""
    if tree.css_first("#yhm") is not None:
        return None
    forms = [f for f in tree.css("form") if f.attributes.get("action")]
    if len(forms) != 1 or not any(w in tree.text() for w in ("通知", "公告", "提示", "阅读")):
        return None
    form = forms[0]
    return str(form.attributes.get("action")), SchoolAdapter.hidden_inputs(form)


def _is_logged_in_page(resp: httpx.Response) -> bool:
    return resp.status_code == 200 and resp.url.path.endswith(MENU)


# ---- timetable (学生课表查询) -----------------------------------------------------------------------


def parse_timetable(data: Any, term: str | None) -> list[tuple[str, str, str]]:
    """(term, code, name) of each course in ``kbList`` (one entry per weekly lesson) and ``sjkList``."""
    if not isinstance(data, dict) or not isinstance(data.get("kbList"), list):
        raise ValueError("no kbList")
    if term is None:
        found = data.get("xsxx")
        info: dict[str, Any] = found if isinstance(found, dict) else {}
        item = {"xnmmc": info.get("XNMC"), "xnm": info.get("XNM"), "xqmmc": info.get("XQMMC"), "xqm": info.get("XQM")}
        term = term_of(item)
    seen: dict[str, str] = {}
    for item in [*data["kbList"], *(data.get("sjkList") or [])]:
        if not isinstance(item, dict):
            raise ValueError("a lesson is not an object")
        name = str(item.get("kcmc") or "").strip()
        code = str(item.get("kch") or item.get("kch_id") or "").strip()
        if name:
            seen.setdefault(code or f"name:{name}", name)
    return [(term, "" if code.startswith("name:") else code, name) for code, name in seen.items()]
