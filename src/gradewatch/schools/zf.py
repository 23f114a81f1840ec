"""ZF (正方) new Java edition "jwglxt", docs/school-systems.md §1.

``base_url`` is the system root including its context path (``https://jwgl.example.edu.cn/jwglxt``).
Options (all optional):

- ``captcha``: ``"auto"`` (default: use the kaptcha when the login page shows one), ``true`` or ``false``;
- ``grade_path``: the grade query below ``base_url`` (default ``cjcx/cjcx_cxXsgrcj.html``);
- ``gnmkdm``: the module code sent with the query (default ``N305005``);
- ``page_size``: ``queryModel.showCount`` asked for (default 100; every page is fetched).

The password is sent RSA-encrypted (PKCS#1 v1.5) with the key the server hands out for each attempt.
"""

from __future__ import annotations

import base64
import json
import re
import time
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from gradewatch.grades import Grade, attempt_from_text
from gradewatch.schools import register
from gradewatch.schools.base import Credentials, SchoolAdapter
from gradewatch.schools.errors import AccountLocked, SessionExpired, UnexpectedPage, WrongCaptcha, WrongPassword

LOGIN = "/xtgl/login_slogin.html"
PUBLIC_KEY = "/xtgl/login_getPublicKey.html"
KAPTCHA = "/kaptcha"
MENU = "/xtgl/index_initMenu.html"
GRADE_PATH = "cjcx/cjcx_cxXsgrcj.html"

_WRONG_CAPTCHA = ("验证码",)
_LOCKED = ("锁定", "冻结", "禁止登录", "次数过多")
_WRONG_PASSWORD = ("用户名或密码", "密码不正确", "密码错误", "用户不存在", "用户名不存在")
_XQM_TERM = {"3": "1", "12": "2", "16": "3"}  # term code -> term number
#: Intermediate pages (notices) passed on the way to the menu, at most.
_MAX_NOTICES = 3


@register
class ZfAdapter(SchoolAdapter):
    system = "zf"
    title = "ZF 正方教务 (new Java edition, jwglxt)"
    login_path = LOGIN
    sso_entry = "/xtgl/login_ssologin.html"
    captcha_model = "zf"
    # 验证码 alone marks a captcha verdict here, so the lock words must be tried first.
    login_errors = ((AccountLocked, _LOCKED), (WrongCaptcha, _WRONG_CAPTCHA), (WrongPassword, _WRONG_PASSWORD))

    _login_url: str = ""
    _csrftoken: str = ""
    _page_has_captcha: bool = False
    _slider: bool = False

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
        token = tree.css_first("input#csrftoken")
        self._csrftoken = str(token.attributes.get("value") or "") if token is not None else ""
        self._page_has_captcha = tree.css_first("input#yzm") is not None
        self._login_url = str(resp.url)
        # The slider (zfcaptchaLogin) instead of the kaptcha: by option, or when the page loads it.
        self._slider = self.options.get("captcha") == "slider" or "zfcaptchaLogin" in self.text_of(resp)

    def needs_captcha(self) -> bool:
        if self._slider:
            return False
        setting = self.options.get("captcha", "auto")
        if isinstance(setting, bool):
            return setting
        return self._page_has_captcha

    def fetch_captcha(self) -> bytes:
        resp = self.get(KAPTCHA.lstrip("/"), params={"time": _ms()}, headers={"Referer": self._login_url})
        if resp.status_code != 200 or not resp.headers.get("content-type", "").startswith("image/"):
            raise self.unexpected("the ZF kaptcha is not an image", resp)
        return resp.content

    def _public_key(self) -> rsa.RSAPublicKey:
        resp = self.get(PUBLIC_KEY.lstrip("/"), params={"time": _ms()}, headers={"Referer": self._login_url})
        try:
            data = resp.json()
            modulus = int.from_bytes(base64.b64decode(data["modulus"]), "big")
            exponent = int.from_bytes(base64.b64decode(data["exponent"]), "big")
            return rsa.RSAPublicNumbers(exponent, modulus).public_key()
        except (ValueError, KeyError, TypeError):
            raise self.unexpected("the ZF public key answer is not a key", resp) from None

    def submit_login(self, creds: Credentials, captcha: str | None) -> None:
        if self._slider:
            from gradewatch.frontdoor.zf_slider import pass_slider

            pass_slider(self)
        key = self._public_key()  # a fresh key for every attempt
        secret = base64.b64encode(key.encrypt(creds.password.encode("utf-8"), padding.PKCS1v15())).decode("ascii")
        form = {"csrftoken": self._csrftoken, "language": "zh_CN", "yhm": creds.username, "mm": secret}
        if captcha is not None:
            form["yzm"] = captcha
        resp = self.post(LOGIN.lstrip("/"), params={"time": _ms()}, data=form,
                         headers={"Referer": self._login_url or self.base_url + LOGIN})
        tree = self.html(self.text_of(resp))
        if tree.css_first("#yhm") is None and resp.status_code == 200:
            resp, tree = self._get_past_notices(resp, tree)
            if resp.url.path.endswith(MENU) or creds.username in tree.text():
                return
            raise self.unexpected("the ZF login led neither to the menu nor to a known error", resp, tree)
        tips_node = tree.css_first("#tips")
        tips = tips_node.text(strip=True) if tips_node is not None else ""
        err = self.login_error(tips)
        if err is not None:
            raise err
        if tips:  # any other verdict is a stop condition the user must see (§1: lockout wording varies)
            raise AccountLocked(f"the school refused the login: {tips[:120]}")
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
        while page <= pages:
            resp = self._query(page)
            data = _json_of(resp)
            if data is None:
                tree = self.html(self.text_of(resp))
                if tree.css_first("#yhm") is not None or "用户登录" in self.page_title(tree):
                    raise SessionExpired("the ZF session has expired")
                if _notice_form(tree) is not None and notices < _MAX_NOTICES:
                    notices += 1
                    self._get_past_notices(resp, tree)
                    continue
                raise self.unexpected(f"the ZF grade query did not answer JSON (HTTP {resp.status_code})", resp, tree)
            try:
                items, pages = parse_page(data)
                grades.extend(g for g in (grade_of(i) for i in items) if g is not None)
            except ValueError as err:
                raise UnexpectedPage(f"the ZF grade JSON is not as expected: {err}",
                                     url=str(resp.url.copy_with(query=None))) from None
            page += 1
        return grades

    def _query(self, page: int) -> httpx.Response:
        path = str(self.options.get("grade_path") or GRADE_PATH).lstrip("/")
        params = {"doType": "query", "gnmkdm": str(self.options.get("gnmkdm") or "N305005")}
        form = {
            "xnm": "",
            "xqm": "",
            "_search": "false",
            "nd": _ms(),
            "queryModel.showCount": str(int(self.options.get("page_size") or 100)),
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
    def recognise(cls, url: str, html: str) -> bool:
        if urlsplit(url).path.endswith(LOGIN):
            return True
        return "login_getPublicKey" in html or ('id="csrftoken"' in html and 'name="yhm"' in html)

    @classmethod
    def base_url_from(cls, url: str) -> str:
        parts = urlsplit(url)
        path = parts.path
        cut = path.find("/xtgl/")
        prefix = path[:cut] if cut >= 0 else path.rstrip("/")
        return f"{parts.scheme}://{parts.netloc}{prefix}"


def parse_page(data: Any) -> tuple[list[dict[str, Any]], int]:
    """(items, total pages) of one answer of the grade query. Raises ValueError on another shape."""
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise ValueError("no items list")
    try:
        pages = int(data.get("totalPage", 1))
    except (TypeError, ValueError):
        raise ValueError("unreadable totalPage") from None
    items = data["items"]
    if not all(isinstance(i, dict) for i in items):
        raise ValueError("an item is not an object")
    return items, pages


def grade_of(item: dict[str, Any]) -> Grade | None:
    """One ``items`` element → Grade (None for a voided or ungraded row). Raises ValueError when unreadable."""
    if str(item.get("cjsfzf", "")).strip() in ("是", "1"):
        return None
    score = str(item.get("cj") or "").strip()
    if not score:
        return None
    term = term_of(item)
    code = str(item.get("kch") or item.get("kch_id") or "").strip()
    name = str(item.get("kcmc") or "").strip()
    if not code or not name:
        raise ValueError("an item has no course code or name")
    exam_type = str(item.get("ksxz") or "").strip() or "正常考试"
    return Grade(
        term=term,
        course_code=code,
        course_name=name,
        score=score,
        credits=_number(item.get("xf"), "xf"),
        exam_type=exam_type,
        attempt=attempt_from_text(exam_type),
        course_nature=str(item.get("kcxzmc") or "").strip(),
        course_category=str(item.get("kclbmc") or "").strip(),
        grade_point=_number(item.get("jd"), "jd"),
    )


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


def _number(value: Any, name: str) -> float | None:
    text = str(value if value is not None else "").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"unreadable {name} {text[:10]!r}") from None


def _json_of(resp: httpx.Response) -> Any | None:
    if resp.status_code != 200:
        return None
    text = resp.text.lstrip()
    if not text.startswith(("{", "[")):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _notice_form(tree: HTMLParser) -> tuple[str, dict[str, str]] | None:
    """A logged-in intermediate page's one acknowledge form: (action, hidden fields); None on any other page."""
    if tree.css_first("#yhm") is not None:
        return None
    forms = [f for f in tree.css("form") if f.attributes.get("action")]
    if len(forms) != 1 or not any(w in tree.text() for w in ("通知", "公告", "提示", "阅读")):
        return None
    form = forms[0]
    fields = {
        str(i.attributes.get("name")): str(i.attributes.get("value") or "")
        for i in form.css('input[type="hidden"]')
        if i.attributes.get("name")
    }
    return str(form.attributes.get("action")), fields


def _is_logged_in_page(resp: httpx.Response) -> bool:
    return resp.status_code == 200 and resp.url.path.endswith(MENU)


def _ms() -> str:
    return str(int(time.time() * 1000))
