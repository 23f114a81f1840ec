"""强智 (Qiangzhi) "jsxsd", docs/school-systems.md §3 and the field notes.

``base_url`` is the site root above the app (``http://jwxt.example.edu.cn``). Options (all optional):

- ``login``: ``"auto"`` (default: whatever the login form posts to), ``"seed"`` (``Logon.do`` with the
  server-seed interleave) or ``"direct"`` (``xk/LoginToXk`` or ``xk/LoginToXkLdap`` with
  ``base64(ID)%%%base64(password)``);
- ``login_action``: the path the login form posts to, when the page does not say (default: the form's
  ``action``: ``Logon.do?method=logon``, ``Logon.do?method=logonLdap``, ``…/xk/LoginToXk``, ``…/xk/LoginToXkLdap``);
- ``logon_method``: the ``Logon.do`` method when the form names none (default ``logon``);
- ``context``: the app's path (default: read from the login form or the page after login, else ``/jsxsd``;
  one school uses ``/njlgdx``);
- ``captcha``: ``"auto"`` (default: use RANDOMCODE when the login page shows the image), ``true`` or ``false``;
- ``term``: the ``kksj`` sent with the grade query (default empty: every term);
- ``grade_method``: ``"get"`` (default: as the real ``cjcx_frm`` frameset loads the list) or ``"post"``;
- ``page_size``: rows per page asked of the JSON grade list (default 100; every page is fetched).

The grade list is read as the HTML table or, when the school answers JSON, as the JSON list. Sessions
are short and a new login ends the previous one; an evicted session reads as expired, so the next check
just logs in again.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal
from urllib.parse import urljoin, urlsplit

import httpx
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from gradewatch.grades import Grade
from gradewatch.schools import register
from gradewatch.schools.base import Credentials, SchoolAdapter
from gradewatch.schools.errors import AccountLocked, SchoolError, SessionExpired, WrongCaptcha, WrongPassword
from gradewatch.schools.options import CaptchaSetting, SchoolOptions, option
from gradewatch.schools.qiangzhi_grades import normalise_term, parse_grades, parse_json

__all__ = ["QiangzhiAdapter", "encode_seed", "normalise_term", "parse_grades", "parse_json"]

DEFAULT_CONTEXT = "/jsxsd"
MAIN = "/jsxsd/framework/xsMain.jsp"
GRADE_FORM = "/jsxsd/kscj/cjcx_frm"
GRADE_LIST = "/jsxsd/kscj/cjcx_list"
#: The student homes real schools land on after login.
_HOME = re.compile(r"^(/[^/]+)/(?:framework/)?(?:xsMain\.jsp|xsMain_new\.jsp|xsMainV\.htmlx)$")
_XK_ACTION = re.compile(r"^(/[^/]+)/xk/LoginToXk(?:Ldap)?$")

_WRONG_CAPTCHA = ("验证码错误", "验证码不正确", "验证码输入错误")
_LOCKED = ("锁定", "冻结", "禁止登录", "次数过多")
_WRONG_PASSWORD = ("用户名或密码错误", "密码错误", "不存在或密码错误", "用户名或密码不正确")
_USERNAME_FIELD = "#userAccount"
_EXPIRED = ("请先登录", "在其它地方登录", "在其他地方登录")
#: A formless page below this size that links to the logout hop is the "session lost" stub (~850 bytes).
_STUB_BYTES = 1500
#: JSON pages fetched at most (a school that keeps answering full pages must not loop us forever).
_MAX_PAGES = 50


@register
class QiangzhiAdapter(SchoolAdapter):
    system = "qiangzhi"
    title = "强智 Qiangzhi (jsxsd)"
    login_path = "/jsxsd/"
    sso_entry = "/jsxsd/sso.jsp"
    base_url_hint = "the site root above `/jsxsd`"
    captcha_model = "qiangzhi"
    login_errors = ((WrongCaptcha, _WRONG_CAPTCHA), (AccountLocked, _LOCKED), (WrongPassword, _WRONG_PASSWORD))
    recognise_path = r"/jsxsd/(xk/LoginToXk|framework/xsMain\.jsp|kscj/)"
    recognise_markup = (("湖南强智",), ("verifycode.servlet", "Logon.do"), ("verifycode.servlet", "LoginToXk"))

    class Options(SchoolOptions):
        login: Literal["auto", "seed", "direct"] = option(
            "auto", "auto (from where the login form posts), seed (Logon.do, server seed) or direct (LoginToXk)")
        captcha: CaptchaSetting = option("auto", "send RANDOMCODE: auto (when the page shows the image), true, false")
        logon_method: str = option("logon", "the method of Logon.do (some schools logonLdap)", pattern=r"^\w+$")
        term: str = option("", "the kksj of the grade query, e.g. 2024-2025-1 (empty: all terms)",
                           pattern=r"^(\d{4}-\d{4}-[1-3])?$")
        login_action: str = option("", "where the login form posts (empty: the form's own action)")
        context: str = option("", "the app's context path (empty: read from the pages, else /jsxsd)",
                              pattern=r"^(/[\w.-]+)*$")
        grade_method: Literal["get", "post"] = option("get", "how the grade list is fetched (real pages use GET)")
        page_size: int = option(100, "pageSize of the JSON grade list", ge=1, le=5000)

    _login_url: str = ""
    _captcha_url: str = ""
    #: Where the login form posts (absolute URL) and its hidden fields (loginMethod …).
    _action: str = ""
    _hidden: Mapping[str, str] = MappingProxyType({})
    #: The app's context path, once known (option, login form, or the page after login).
    _ctx: str = ""

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

    @property
    def ctx(self) -> str:
        chosen = str(self.options.get("context") or "").rstrip("/")
        return chosen or self._ctx or self._cookie_context() or DEFAULT_CONTEXT

    def _cookie_context(self) -> str:
        """The app's path as its session cookie is scoped (a stored session of an earlier check)."""
        host = httpx.URL(self.base_url).host  # not a front door's cookie (the CAS's is scoped /authserver)
        paths = {c.path.rstrip("/") for c in self.client.cookies.jar
                 if c.name == "JSESSIONID" and c.domain.lstrip(".") == host}
        paths.discard("")
        return paths.pop() if len(paths) == 1 else ""

    # ---- login -----------------------------------------------------------------------------
    def start_login(self) -> None:
        variant = self.variant
        app = f"{self.ctx}/"
        paths = {"seed": ["/"], "direct": [app], "auto": ["/", app]}[variant]
        for path in paths:
            resp = self.get(path)
            tree = self.html(self.text_of(resp))
            form = self.form_of(tree, _USERNAME_FIELD, or_body=False)
            if resp.status_code == 200 and form is not None:
                break
        else:
            raise self.unexpected("the 强智 login page has no login form", resp, tree)
        self._login_url = str(resp.url)
        action = str(self.options.get("login_action") or form.attributes.get("action") or "")
        if not action:
            action = "Logon.do?method=logon" if variant == "seed" else f"{self.ctx}/xk/LoginToXk"
        self._action = urljoin(self._login_url, action)
        action_path = urlsplit(self._action).path
        m = _XK_ACTION.match(action_path)
        if m and not self.options.get("context"):
            self._ctx = m[1]
        if variant == "auto":
            self._variant = "direct" if m else "seed"
        # The form's own "encoded" is the script's output field: the login fills it in.
        self._hidden = {k: v for k, v in self.hidden_inputs(form).items() if k != "encoded"}
        self._captcha_url = _captcha_src(tree, self._login_url)

    def needs_captcha(self) -> bool:
        return self.captcha_wanted(bool(self._captcha_url))

    def fetch_captcha(self) -> bytes:
        default = "/verifycode.servlet" if self.variant == "seed" else f"{self.ctx}/verifycode.servlet"
        return self.fetch_image(self._captcha_url or default, referer=self._login_url, what="the 强智 captcha")

    def submit_login(self, creds: Credentials, captcha: str | None) -> None:
        referer = {"Referer": self._login_url or self.base_url + "/"}
        form = {**self._hidden, "userAccount": creds.username, "userPassword": ""}
        if captcha is not None:
            form["RANDOMCODE"] = captcha
        action = self._action or urljoin(self.base_url + "/", "Logon.do?method=logon")
        if self.variant == "seed":
            # Real clients GET the seed; the method of the login itself comes from the form's action.
            method = _query_value(action, "method") or str(self.options.get("logon_method") or "logon")
            if not _query_value(action, "method"):
                action = f"{action.split('?')[0]}?method={method}"
            seed = self.get(urljoin(action, "Logon.do"), params={"method": "logon", "flag": "sess"},
                            headers=referer)
            scode, sep, sxh = seed.text.strip().partition("#")
            if seed.status_code != 200 or not sep or not re.fullmatch(r"\d{20}", sxh) or not scode:
                raise self.unexpected("the 强智 login seed is not <scode>#<sxh>", seed)
            form["encoded"] = encode_seed(f"{creds.username}%%%{creds.password}", scode, sxh)
        else:
            form["encoded"] = f"{_b64(creds.username)}%%%{_b64(creds.password)}"
        resp = self.post(action, data=form, headers=referer)
        tree = self.html(self.text_of(resp))
        home = _HOME.match(resp.url.path)
        if resp.status_code == 200 and home and tree.css_first(_USERNAME_FIELD) is None:
            if not self.options.get("context"):
                self._ctx = home[1]
            return
        raise self.refused_login(_message(tree), resp, tree,
                                 "the 强智 login answer is neither the student home nor a known error")

    # ---- grades ----------------------------------------------------------------------------
    def fetch_grades(self) -> list[Grade]:
        ctx = self.ctx
        frm = f"{ctx}/kscj/cjcx_frm"
        resp = self.get(frm, headers={"Referer": f"{self.base_url}{ctx}/framework/xsMain.jsp"})
        self._check_logged_in(resp)
        grades: list[Grade] = []
        for page in range(1, _MAX_PAGES + 1):
            resp = self._grade_list(page)
            data = self.json_of(resp, opening="{")
            if data is None:
                tree = self._check_logged_in(resp)
                try:
                    return parse_grades(tree)
                except ValueError as err:
                    if "评教" in tree.text():
                        raise self.unexpected("the 强智 grades are hidden until the teaching evaluation is done",
                                              resp, tree) from None
                    raise self.unexpected(f"the 强智 grade page is not as expected: {err}", resp, tree) from None
            try:
                rows, count = parse_json(data)
            except ValueError as err:
                raise self.unexpected(f"the 强智 grade list is not as expected: {err}", resp) from None
            grades += rows
            seen = len(data["data"]) if isinstance(data, dict) else 0
            if not seen or page * self._page_size >= count:
                return grades
        raise self.unexpected(f"the 强智 grade list has more than {_MAX_PAGES} pages", resp)

    @property
    def _page_size(self) -> int:
        return int(self.options.get("page_size") or 100)

    def _grade_list(self, page: int) -> httpx.Response:
        query = {"kksj": str(self.options.get("term") or ""), "kcxz": "", "kcmc": "", "xsfs": "all",
                 "pageNum": str(page), "pageSize": str(self._page_size)}
        url = f"{self.ctx}/kscj/cjcx_list"
        headers = {"Referer": f"{self.base_url}{self.ctx}/kscj/cjcx_frm"}
        if str(self.options.get("grade_method") or "get").lower() == "post":
            return self.post(url, data=query, headers=headers)
        return self.get(url, params=query, headers=headers)

    def _check_logged_in(self, resp: httpx.Response) -> HTMLParser:
        text = self.text_of(resp)
        tree = self.html(text)
        stub = (len(resp.content) < _STUB_BYTES and "LoginToXk?method=exit" in text
                and tree.css_first("form") is None)
        if self.is_login_page(resp, tree, fields=(_USERNAME_FIELD,)) or (
            tree.css_first("table#dataList") is None and (stub or any(w in text for w in _EXPIRED))
        ):
            raise SessionExpired("the 强智 session has expired or was ended by another login")
        if resp.status_code != 200:
            raise self.unexpected(f"the 强智 grade page answered HTTP {resp.status_code}", resp, tree)
        return tree

    # ---- detection -------------------------------------------------------------------------
    @classmethod
    def base_url_from(cls, url: str) -> str:
        above = cls.root_above(url, "/jsxsd", "/Logon.do")
        if above is not None:
            return above
        parts = urlsplit(url)  # another page of the site: the folder it stands in
        path = parts.path.rsplit("/", 1)[0] if not parts.path.endswith("/") else parts.path.rstrip("/")
        return f"{parts.scheme}://{parts.netloc}{path}"

    # ---- timetable (学期理论课表) -------------------------------------------------------------
    offers_courses = True

    def fetch_courses(self, term: str | None = None) -> list[tuple[str, str, str]]:
        params = {"xnxq01id": term} if term else {}
        resp = self.get(TIMETABLE, params=params, headers={"Referer": self.base_url + MAIN})
        text = self.text_of(resp)
        tree = self.html(text)
        if self.is_login_page(resp, tree, fields=(_USERNAME_FIELD,)) or (
            tree.css_first("table#kbtable") is None and any(w in text for w in _EXPIRED)
        ):
            raise SessionExpired("the 强智 session has expired or was ended by another login")
        try:
            return parse_timetable(tree, term)
        except ValueError as err:
            raise self.unexpected(f"the 强智 timetable is not as expected: {err}", resp, tree) from None


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


def _message(tree: HTMLParser) -> str:
    return (SchoolAdapter.text_at(tree, "#showMsg, #errorinfo, font[color=red], .dlmi font")
            or SchoolAdapter.visible_text(tree, strip=True)[:300])


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _captcha_src(tree: HTMLParser, base: str) -> str:
    """The captcha image URL: ``#SafeCodeImg`` is the ``<img>`` itself or, at some schools, a wrapper around it."""
    node = tree.css_first("#SafeCodeImg")
    if node is not None and node.tag != "img":
        node = node.css_first("img")
    if node is None:
        node = tree.css_first('img[src*="verifycode.servlet"]')
    src = str(node.attributes.get("src") or "") if node is not None else ""
    return urljoin(base, src) if src else ""


def _query_value(url: str, name: str) -> str:
    return httpx.URL(url).params.get(name, "")


# ---- timetable (学期理论课表) -------------------------------------------------------------------------
TIMETABLE = "/jsxsd/xskb/xskb_list.do"
_LESSON_SPLIT = re.compile(r"-{5,}\s*(?:<br\s*/?>)?", re.IGNORECASE)
_CODE_LINE = re.compile(r"[A-Za-z0-9]{5,20}")


def parse_timetable(tree: HTMLParser, term: str | None) -> list[tuple[str, str, str]]:
    """(term, code, name) of each course in ``table#kbtable`` (the detailed ``div.kbcontent``), once
    each. Most schools show no course code there: the code is then "" (matched by name)."""
    table = tree.css_first("table#kbtable")
    if table is None:
        raise ValueError("no table#kbtable")
    if term is None:
        term = normalise_term(SchoolAdapter.selected_value(tree, "#xnxq01id"))
        if term is None:
            raise ValueError("no selected term")
    seen: dict[tuple[str, str], None] = {}
    for div in table.css("div.kbcontent"):
        for piece in _LESSON_SPLIT.split(div.html or ""):
            lesson = HTMLParser(piece)
            for font in lesson.css("font"):
                font.decompose()
            body = lesson.body
            lines = [t.strip() for t in (body.text(separator="\n") if body else "").splitlines()]
            lines = [t for t in lines if t and t != "\xa0"]
            if not lines:
                continue
            code = lines[0] if len(lines) > 1 and _CODE_LINE.fullmatch(lines[0]) else ""
            name = lines[1] if code else lines[0]
            seen.setdefault((code, name), None)
    return [(term, code, name) for code, name in seen]
