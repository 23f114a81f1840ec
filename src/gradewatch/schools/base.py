"""The school-adapter base: HTTP client, cookie jar, bounded retries, encoding, the login loop.

A system module (``ssfw.py``, ``zf.py`` …) subclasses :class:`SchoolAdapter`, declares what it is
(name, how to recognise it, captcha model) and implements the few protocol steps that differ.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol
from urllib.parse import urlsplit

import httpx
from selectolax.lexbor import LexborHTMLParser as HTMLParser
from selectolax.lexbor import LexborNode as Node

from gradewatch.grades import Grade
from gradewatch.logs import register_transient_secret
from gradewatch.schools import http as bounded
from gradewatch.schools.errors import (
    AccountLocked,
    CaptchaModelError,
    DeadlineExceeded,
    SchoolError,
    SchoolUnavailable,
    UnexpectedPage,
    WrongCaptcha,
    WrongPassword,
)
from gradewatch.schools.options import CaptchaValue, SchoolOptions

log = logging.getLogger(__name__)

USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Safari/537.36"
)


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)

    def __repr__(self) -> str:  # never let the password reach a log line through repr()
        return f"Credentials(username={self.username!r}, password=***)"


class FrontDoor(Protocol):
    """See gradewatch.frontdoor.doors: signs the adapter's client in before the system's own login."""

    def sign_in(self, adapter: SchoolAdapter, creds: Credentials, native_login: Callable[[], None]) -> None: ...


class Prediction(Protocol):
    @property
    def text(self) -> str: ...

    @property
    def confidence(self) -> float: ...


class CaptchaSolver(Protocol):
    def solve(self, image: bytes) -> Prediction: ...


@dataclass
class LoginStats:
    """What one login cost: tests and the check log read these."""

    captcha_fetches: int = 0
    captcha_submissions: int = 0
    password_submissions: int = 0


class SchoolAdapter:
    """One school system. Subclasses set the class attributes and implement the protocol hooks."""

    #: Short id used in config (``system = "ssfw"``).
    system: ClassVar[str] = ""
    #: Human name of the system.
    title: ClassVar[str] = ""
    #: What ``base_url`` is for this system (the docs table).
    base_url_hint: ClassVar[str] = "the site root"
    #: Path of the login page below ``base_url`` (used by ``detect`` and the docs).
    login_path: ClassVar[str] = ""
    #: Below ``base_url``: the page a CAS front door's ticket lands on (None: the system has none known).
    sso_entry: ClassVar[str | None] = None
    #: Systems with no login form of their own (金智 jwapp): only reachable through a front door.
    requires_front_door: ClassVar[bool] = False
    #: ``detect``: a page is this system's when its URL path matches this pattern (``re.search``) …
    recognise_path: ClassVar[str] = ""
    #: … or its markup holds every string of one of these groups.
    recognise_markup: ClassVar[tuple[tuple[str, ...], ...]] = ()
    #: Name of the shipped captcha model, or None when the system has no captcha.
    captcha_model: ClassVar[str | None] = None
    #: Readings below this confidence are not submitted; a fresh captcha is fetched instead.
    min_captcha_confidence: ClassVar[float] = 0.5
    #: Captcha answers submitted per login, at most.
    max_captcha_tries: ClassVar[int] = 3
    #: Captcha images fetched per login, at most (low-confidence ones are skipped, not submitted).
    max_captcha_fetches: ClassVar[int] = 8
    #: GET retries on network errors / 5xx, with exponential backoff and jitter.
    get_retries: ClassVar[int] = 2
    #: How a failed login's message is read: (error, words) pairs tried in order, first match wins
    #: (order matters: a lock text may also mention the password).
    login_errors: ClassVar[tuple[tuple[type[SchoolError], tuple[str, ...]], ...]] = ()
    #: Called just before each password POST (the watcher records the attempt; it may raise to stop
    #: the POST), and after the school's answer was read as a success.
    on_password_submit: Callable[[], None] | None = None
    on_login_accepted: Callable[[], None] | None = None
    #: ``on_password_submit``, armed by ``_submit`` until the login's first POST leaves (see ``post``).
    _password_hook: Callable[[], None] | None = None
    #: The system's ``options`` table, declared as a typed model (the config validates against it).
    Options: ClassVar[type[SchoolOptions]] = SchoolOptions

    def __init__(
        self,
        base_url: str,
        *,
        cookies: Iterable[dict[str, Any]] = (),
        solver: CaptchaSolver | None = None,
        options: Mapping[str, Any] | None = None,
        timeout: float = 20.0,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = bounded.wait_or_cancel,
        transport: httpx.BaseTransport | None = None,
        front_door: FrontDoor | None = None,
        limits: bounded.Limits | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        #: The school's ``options`` table from the config (system-specific settings).
        self.options: Mapping[str, Any] = {**self.Options.defaults(), **(options or {})}
        self._solver = solver
        self._backoff = backoff
        self._sleep = sleep
        self.stats = LoginStats()
        #: What signs in before (or instead of) the system's own login form: CAS, WebVPN (frontdoor/).
        self.front_door = front_door
        #: Total deadlines and the size cap of this adapter's exchanges; the check deadline starts now.
        self.limits = limits if limits is not None else bounded.Limits()
        self.client = bounded.make_client(
            self.base_url, {"User-Agent": USER_AGENT, "Accept-Language": "zh-CN,zh;q=0.9"}, timeout, transport
        )
        for c in cookies:
            register_transient_secret(c.get("value"))
            self.client.cookies.set(c["name"], c["value"], domain=c.get("domain", ""), path=c.get("path", "/"))

    # ---- lifecycle -------------------------------------------------------------------------
    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> SchoolAdapter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def export_cookies(self) -> list[dict[str, Any]]:
        """The session cookies, for the store to keep (encrypted) until the next check."""
        for c in self.client.cookies.jar:
            register_transient_secret(c.value)
        return [
            {"name": c.name, "value": c.value, "domain": c.domain, "path": c.path}
            for c in self.client.cookies.jar
        ]

    def forget_session(self) -> None:
        """Drop the system's session cookies. A front door's own (the CAS ticket-granting cookie, the
        VPN's ticket) stay: they let the next sign-in happen without a password."""
        if self.front_door is None:
            self.client.cookies.clear()
            return
        host = httpx.URL(self.base_url).host
        for cookie in [c for c in self.client.cookies.jar if c.domain.lstrip(".") == host]:
            self.client.cookies.jar.clear(cookie.domain, cookie.path, cookie.name)

    @property
    def has_session(self) -> bool:
        return len(self.client.cookies.jar) > 0

    # ---- the protocol hooks a system implements --------------------------------------------
    def fetch_grades(self) -> list[Grade]:
        """Fetch and normalise the grade table. Raise SessionExpired when not logged in."""
        raise NotImplementedError

    #: Whether :meth:`fetch_courses` reads the system's timetable/选课 page (fast detection uses it).
    offers_courses: ClassVar[bool] = False

    def fetch_courses(self, term: str | None = None) -> list[tuple[str, str, str]]:
        """The courses the student takes in ``term`` (None: the system's current term), graded or not,
        as (term, course code, course name); the code may be "" where the page shows none.
        Default: not supported (NotImplementedError). Raise SessionExpired when not logged in."""
        raise NotImplementedError(f"{self.system or 'this system'} offers no course list")

    def start_login(self) -> None:
        """Open the login page (sets the session cookie, reads hidden fields)."""
        raise NotImplementedError

    def fetch_captcha(self) -> bytes:
        """Fetch a new captcha image bound to this session."""
        raise NotImplementedError

    def submit_login(self, creds: Credentials, captcha: str | None) -> None:
        """Submit the login form once. Raise WrongCaptcha / WrongPassword / AccountLocked / UnexpectedPage."""
        raise NotImplementedError

    def needs_captcha(self) -> bool:
        """Whether this login needs a captcha (after start_login). Systems with optional captchas override."""
        return self.captcha_model is not None

    @classmethod
    def sso_service(cls, base_url: str, options: Mapping[str, Any]) -> str | None:
        """The URL a CAS front door sends the student to with a ticket (None: not known)."""
        return base_url + cls.sso_entry if cls.sso_entry else None

    @classmethod
    def recognise(cls, url: str, html: str) -> bool:
        """Whether a fetched page belongs to this system (for ``gradewatch detect``): by default its URL
        path matches ``recognise_path`` or its markup holds one group of ``recognise_markup``."""
        if cls.recognise_path and re.search(cls.recognise_path, urlsplit(url).path):
            return True
        return any(all(s in html for s in group) for group in cls.recognise_markup)

    @classmethod
    def base_url_from(cls, url: str) -> str:
        """Derive the config ``base_url`` from a recognised page URL."""
        return url

    @staticmethod
    def root_above(url: str, *markers: str) -> str | None:
        """``scheme://host/prefix`` of ``url`` cut before the first of ``markers`` found in its path (tried in
        order; the path is read with a trailing slash, so ``/ssfw/`` finds ``…/ssfw``); None when none is."""
        parts = urlsplit(url)
        path = parts.path + "/"
        for marker in markers:
            cut = path.find(marker)
            if cut >= 0:
                return f"{parts.scheme}://{parts.netloc}{path[:cut]}"
        return None

    # ---- the shared flow -------------------------------------------------------------------
    def check(self, creds: Credentials) -> tuple[list[Grade], bool]:
        """Grades, reusing the session when it works. Returns (grades, whether a login happened)."""
        from gradewatch.schools.errors import SessionExpired

        if self.has_session:
            try:
                return self.fetch_grades(), False
            except SessionExpired:
                log.info("%s: stored session expired, logging in again", self.system)
                self.forget_session()
        self.login(creds)
        return self.fetch_grades(), True

    def login(self, creds: Credentials) -> None:
        """Log in, through the school's front door when it has one (CAS, WebVPN)."""
        if self.front_door is not None:
            self.front_door.sign_in(self, creds, lambda: self.native_login(creds))
        else:
            self.native_login(creds)

    def native_login(self, creds: Credentials) -> None:
        """The system's own login form: at most ``max_captcha_tries`` captcha answers, exactly one password verdict.

        Only an explicit wrong-captcha answer leads to another try; every other failure propagates
        at once, so a wrong password is never submitted twice.
        """
        self.start_login()
        if not self.needs_captcha():
            self._submit(creds, None)
            return
        last: WrongCaptcha | None = None
        for attempt in range(self.max_captcha_tries):
            if attempt:
                self.start_login()
            text = self._read_captcha()
            try:
                self._submit(creds, text)
                return
            except WrongCaptcha as err:
                last = err
                log.info("%s: captcha %d/%d rejected", self.system, attempt + 1, self.max_captcha_tries)
        raise WrongCaptcha(f"the school rejected the captcha {self.max_captcha_tries} times") from last

    def _submit(self, creds: Credentials, captcha: str | None) -> None:
        self.stats.password_submissions += 1
        if captcha is not None:
            self.stats.captcha_submissions += 1
        # Fired by `post` right before the password POST, not here: a login makes requests before it
        # (a public key, a seed, a slider), and when one of those fails no password has left, so the
        # watcher must not hold the account as if the school's answer to it had been lost.
        self._password_hook = self.on_password_submit
        try:
            self.submit_login(creds, captcha)
        finally:
            self._password_hook = None
        if self.on_login_accepted is not None:
            self.on_login_accepted()

    def _read_captcha(self) -> str:
        from gradewatch.captcha.errors import CaptchaError

        solver = self.solver
        for _ in range(self.max_captcha_fetches):
            image = self.fetch_captcha()
            self.stats.captcha_fetches += 1
            try:
                pred = solver.solve(image)
            except (CaptchaError, ValueError, OSError) as err:  # a garbage image is the school's fault: typed
                raise UnexpectedPage(f"{self.system}: the captcha is not a readable image ({err})") from None
            if pred.confidence >= self.min_captcha_confidence:
                return pred.text
            log.debug("%s: captcha read with low confidence %.2f, fetching another", self.system, pred.confidence)
        # Never submit a guess: a wrong captcha costs one of the few tries a login has.
        raise WrongCaptcha(f"could not read the captcha confidently in {self.max_captcha_fetches} images")

    @property
    def solver(self) -> CaptchaSolver:
        if self._solver is None:
            if self.captcha_model is None:
                raise RuntimeError(f"{self.system} has no captcha model")
            from gradewatch.captcha.solver import load_solver

            # A school may point at its own model file (options.captcha_model), e.g. one `captcha bootstrap` trained.
            model = str(self.options.get("captcha_model") or self.captcha_model)
            from gradewatch.captcha.errors import CaptchaError

            try:
                solver: CaptchaSolver = load_solver(model)
            except CaptchaError as err:
                raise CaptchaModelError(f"captcha model {model!r}: {err}") from None
            self._solver = solver
            return solver
        return self._solver

    def login_error(self, message: str, detail: str = "") -> SchoolError | None:
        """The typed error a failed login's message means, per ``login_errors``; None if none matches."""
        for error, words in self.login_errors:
            if any(w in message for w in words):
                if error is WrongCaptcha:
                    return WrongCaptcha("the school rejected the captcha")
                if error is WrongPassword:
                    return WrongPassword("the school says the username or password is wrong")
                if error is AccountLocked:
                    return AccountLocked(f"the school locked the account: {(detail or message).strip()[:120]}")
                return error(message.strip()[:120])
        return None

    def refused_login(self, message: str, resp: httpx.Response, tree: HTMLParser, unknown: str,
                      detail: str = "") -> SchoolError:
        """What to raise for a login answer that is no success: the typed error its ``message`` means
        (``login_errors``), else an UnexpectedPage saying ``unknown`` (with the page's title and text)."""
        return self.login_error(message, detail) or self.unexpected(unknown, resp, tree)

    # ---- HTTP helpers ----------------------------------------------------------------------
    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One HTTP exchange, read whole within ``self.limits`` (total deadline, size cap, cancellation).

        GETs are retried on network errors and 5xx with backoff and jitter; POSTs never are (a login
        POST must not be repeated behind the user's back). Every failure is a SchoolError."""
        tries = 1 + (self.get_retries if method.upper() == "GET" else 0)
        problem: SchoolError = SchoolUnavailable(f"cannot reach {self.base_url}")
        for attempt in range(tries):
            try:
                resp = bounded.bounded_send(self.client, self.limits, self._where(url), method, url, **kwargs)
            except DeadlineExceeded:
                raise  # the check's budget is spent: retrying cannot help
            except SchoolUnavailable as err:
                problem = err
            else:
                if resp.status_code < 500:
                    return resp
                problem = SchoolUnavailable(f"{self.base_url} answered HTTP {resp.status_code}")
            if attempt + 1 < tries:
                delay = self._backoff * (2**attempt) * (1 + random.random())
                if delay >= self.limits.remaining():
                    break
                self._sleep(delay)
        raise problem

    def _where(self, url: str) -> str:
        """The school and path of an exchange, for error messages (never the query: it may hold tokens)."""
        path = url.split("?", 1)[0]
        return path if "://" in path else f"{self.base_url}/{path.lstrip('/')}"

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, *, no_password: bool = False, **kwargs: Any) -> httpx.Response:
        """A POST. During a login, the first one (unless ``no_password``, e.g. a slider's answer) is
        taken to carry the password: ``on_password_submit`` runs just before it leaves."""
        if not no_password and self._password_hook is not None:
            hook, self._password_hook = self._password_hook, None
            hook()
        return self.request("POST", url, **kwargs)

    @staticmethod
    def text_of(resp: httpx.Response) -> str:
        """Decode a page, trusting a declared charset first and sniffing GBK pages that declare none."""
        if resp.charset_encoding:
            return resp.text
        raw = resp.content
        head = raw[:2048].lower()
        for enc in ("gbk", "gb2312", "gb18030"):
            if f"charset={enc}".encode() in head or f'charset="{enc}"'.encode() in head:
                return raw.decode("gb18030", errors="replace")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("gb18030", errors="replace")

    @staticmethod
    def html(text: str) -> HTMLParser:
        return HTMLParser(text)

    @staticmethod
    def page_title(tree: HTMLParser) -> str:
        node = tree.css_first("title")
        return node.text(strip=True)[:80] if node else ""

    def refusal(self, message: str, resp: httpx.Response, tree: HTMLParser | None = None) -> UnexpectedPage:
        """A login refusal worded in a way ``login_errors`` does not know: an answer not understood.

        Not a lock (a pause, then the same password again after it), because the words may well
        mean "wrong password" and schools lock accounts after a few: the watcher holds the password
        until it changes or the user says retry, and shows them these words."""
        err = self.unexpected(f"the school refused the login in words we do not know: {message.strip()[:120]}",
                              resp, tree)
        err.visible_text = " ".join(message.split())[:200]
        return err

    def unexpected(self, message: str, resp: httpx.Response, tree: HTMLParser | None = None) -> UnexpectedPage:
        tree = tree if tree is not None else self.html(self.text_of(resp))
        err = UnexpectedPage(message, url=str(resp.url.copy_with(query=None)), title=self.page_title(tree))
        body = tree.body
        # What the page says (collapsed, cut), so an unknown login answer can be reported and added.
        err.visible_text = " ".join((body.text(separator=" ") if body is not None else "").split())[:200]
        return err

    # ---- page helpers the system modules share ---------------------------------------------
    def captcha_wanted(self, page_shows_captcha: bool, key: str = "captcha") -> bool:
        """The ``auto/true/false`` captcha option: the option when set, else what the login page shows."""
        setting: CaptchaValue = self.options.get(key, "auto")
        return setting if isinstance(setting, bool) else page_shows_captcha

    def fetch_image(self, url: str, *, referer: str, what: str, **kwargs: Any) -> bytes:
        """GET a captcha image; anything but a 200 image answer is an UnexpectedPage naming ``what``."""
        resp = self.get(url, headers={"Referer": referer}, **kwargs)
        if resp.status_code != 200 or not resp.headers.get("content-type", "").startswith("image/"):
            raise self.unexpected(f"{what} is not an image", resp)
        return resp.content

    @staticmethod
    def form_of(tree: HTMLParser, field_selector: str, *, or_body: bool = True) -> Node | None:
        """The form around the first element matching ``field_selector``; when the field stands outside
        any form, the body (``or_body``, pages that post by script) or None."""
        node = tree.css_first(field_selector)
        if node is None:
            return None
        field_node: Node | None = node
        while field_node is not None and field_node.tag != "form":
            field_node = field_node.parent
        return field_node or (tree.body if or_body else None)

    @staticmethod
    def hidden_inputs(node: Node | HTMLParser) -> dict[str, str]:
        """name → value of the hidden inputs below ``node`` (a form, or the whole page)."""
        return {
            str(i.attributes.get("name")): str(i.attributes.get("value") or "")
            for i in node.css('input[type="hidden"], input[type="HIDDEN"]')
            if i.attributes.get("name")
        }

    @classmethod
    def is_login_page(cls, resp: httpx.Response, tree: HTMLParser, *, paths: Iterable[str] = (),
                      fields: Iterable[str] = (), titles: Iterable[str] = ()) -> bool:
        """Whether an answer is the login page: its URL path ends with one of ``paths``, the page has one
        of the login form's ``fields`` (CSS selectors) — an expired session shows it in place — or its
        title holds one of ``titles``."""
        if any(resp.url.path.lower().endswith(p.lower()) for p in paths):
            return True
        if any(tree.css_first(f) is not None for f in fields):
            return True
        return any(t in cls.page_title(tree) for t in titles)

    @staticmethod
    def text_at(tree: HTMLParser, selector: str) -> str:
        """The stripped text of the first element matching ``selector`` ("" when there is none)."""
        node = tree.css_first(selector)
        return node.text(strip=True) if node is not None else ""

    @staticmethod
    def selected_value(tree: HTMLParser, select: str) -> str:
        """The value of the chosen ``<option>`` of the ``select`` element (e.g. a page's term), or ""."""
        node = tree.css_first(f"{select} option[selected]")
        return str(node.attributes.get("value") or "") if node is not None else ""

    @staticmethod
    def visible_text(tree: HTMLParser, *, strip: bool = False) -> str:
        """What the page's body says, without its scripts and styles (which are removed from ``tree``)."""
        for node in tree.css("script, style"):
            node.decompose()
        body = tree.body
        return body.text(separator=" ", strip=strip) if body is not None else ""

    @staticmethod
    def json_of(resp: httpx.Response, opening: str = "{[") -> Any | None:
        """The JSON of a 200 answer whose text starts with one of ``opening``; None for anything else
        (an HTML login page, a notice, an error page), which the caller then reads as a page."""
        if resp.status_code != 200:
            return None
        text = resp.text.lstrip()
        if not text or text[0] not in opening:
            return None
        try:
            return json.loads(text)
        except ValueError:
            return None

    @staticmethod
    def timestamp_ms() -> str:
        """The millisecond clock real login pages append to their requests against caching."""
        return str(int(time.time() * 1000))

    @staticmethod
    def cell_text(node: Node) -> str:
        """A table cell's text, stripped, with the non-breaking spaces of blank cells removed."""
        return node.text(strip=True).replace("\xa0", "").strip()

    @staticmethod
    def strict_number(value: Any, what: str, row: int | None = None) -> float | None:
        """A field that must be a number when present: None when empty, ValueError naming ``what`` (and
        the table ``row``) when it is something else, so a parser reports the page as not as expected."""
        text = str(value if value is not None else "").strip()
        if not text:
            return None
        try:
            return float(text)
        except ValueError:
            where = f"row {row}: " if row is not None else ""
            raise ValueError(f"{where}unreadable {what} {text[:10]!r}") from None

    @staticmethod
    def number(text: str) -> float | None:
        """A number written in a page (``"3.0"``, ``" 2 "``, ``"０.５"``); None when it is none."""
        text = text.strip().translate(_FULLWIDTH_DIGITS)
        try:
            return float(text) if text else None
        except ValueError:
            return None


_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９．－", "0123456789.-")
