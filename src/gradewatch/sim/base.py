"""The system-agnostic simulator base: students, sessions, captchas bound to a session, lockout, admin API.

A school simulator (SSFW, ZF, 强智 …) subclasses :class:`Simulator`, sets the class attributes
(cookie name, lock threshold …) and implements :meth:`Simulator.routes` with that system's own
paths, forms, pages and error texts, calling the shared pieces:

- :meth:`session` / :meth:`new_session` / :meth:`set_cookie` — the server-side session jar;
- :meth:`issue_captcha` — a new captcha bound to the session (the previous one dies);
- :meth:`attempt_login` — captcha (consumed), lock state and password check, with stats;
- :meth:`student_of` — the logged-in student, for the grade pages;
- :meth:`down_response` / ``controls`` — the test and demo switches;
- :meth:`page`, :meth:`with_cookie` / :meth:`page_with_session`, :meth:`captcha_response`,
  :meth:`counted_grade_fetch` (the ``broken_grades`` switch) — the pages every system serves;
- :class:`BoundedTable` — per-session state (keys, seeds, tickets) that a flood cannot grow;
- :meth:`password_forms` / :meth:`password_ok` — the hook for passwords a page script hashes or
  encrypts (MD5, DES …) before posting.

All state lives in the server's event loop: the handlers are ``async`` and never await while
changing it, so no locks are needed. Passwords are kept only as salted hashes and are never
returned by the admin API or logged.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from gradewatch.grades import Grade
from gradewatch.sim.admin import admin_routes
from gradewatch.sim.captchas import CaptchaSource
from gradewatch.sim.transcripts import StudentRecord

K = TypeVar("K")
V = TypeVar("V")
S = TypeVar("S", bound="Simulator")

#: Entries a per-session side table keeps at most (keys handed out, seeds, tickets …).
TABLE_LIMIT = 1000


class BoundedTable(dict[K, V]):
    """A dict that keeps at most ``limit`` entries, the most recently set ones: state bound to sessions
    that clients fetch and then abandon (an RSA key, a login seed, a ticket) cannot grow without end."""

    def __init__(self, limit: int = TABLE_LIMIT) -> None:
        super().__init__()
        self.limit = limit

    def __setitem__(self, key: K, value: V) -> None:
        self.pop(key, None)  # a key set again counts as the newest
        super().__setitem__(key, value)
        while len(self) > self.limit:  # dicts keep insertion order: the oldest first
            del self[next(iter(self))]


def check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    """A simulator option must be one of the variants it imitates: ValueError naming it otherwise."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")


def int_param(text: str | None, default: int) -> int:
    """A whole-number request parameter (page number, page size), or ``default`` when it is not one."""
    try:
        return int(text or "")
    except ValueError:
        return default


def logged_in_page(
    handler: Callable[[S, Request, Session, Student], Awaitable[Response]],
) -> Callable[[S, Request], Awaitable[Response]]:
    """A route handler for a logged-in page: it gets the session and its student; a request without a
    logged-in session gets the system's :meth:`Simulator.signed_out` answer instead."""

    @functools.wraps(handler)
    async def page(sim: S, request: Request) -> Response:
        sess, student = sim.logged_in(request)
        if sess is None or student is None:
            return sim.signed_out(request)
        return await handler(sim, request, sess, student)

    return page


class Outcome(enum.StrEnum):
    OK = "ok"
    WRONG_CAPTCHA = "wrong_captcha"
    WRONG_PASSWORD = "wrong_password"
    LOCKED = "locked"


@dataclass(frozen=True)
class LoginResult:
    outcome: Outcome
    student: Student | None = None
    #: After a wrong password of a known student: wrong tries left before the lock (0 = just locked).
    tries_left: int | None = None


@dataclass
class Controls:
    """Switches the admin API flips while the simulator runs."""

    session_ttl: float = 1800.0  # idle seconds before a session dies
    reject_captcha: bool = False  # answer every captcha as wrong
    broken_grades: bool = False  # the grade page is an unexpected page (HTTP 200)
    down: bool = False  # every page (not the admin API) answers 503
    wrong_password_text: str | None = None  # answer wrong passwords with this text instead of the system's


@dataclass
class UserStats:
    login_posts: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: {o.value: 0 for o in Outcome})
    captcha_fetches: int = 0  # captchas fetched by the sessions that then posted this username
    successful_logins: int = 0
    grade_fetches: int = 0


class Student:
    def __init__(self, record: StudentRecord, forms: Mapping[str, str] | None = None) -> None:
        self.username = record.username
        self.name = record.name
        self._salt = secrets.token_bytes(16)
        self._hash = self._digest(record.password)
        #: What the school's own database keeps besides (e.g. MD5 of the password, as URP and 青果
        #: do), for systems whose browser sends a hash instead of the password: see password_forms.
        self.forms: dict[str, str] = dict(forms or {})
        self.grades: dict[str, Grade] = {g.key: g for g in record.grades}
        self.enrolled: dict[str, dict[str, str]] = {}  # term -> {code: name} taken, graded or not (sim/timetable.py)
        self.wrong_passwords = 0  # consecutive
        self.locked = False
        self.stats = UserStats()

    def _digest(self, password: str) -> bytes:
        return hashlib.sha256(self._salt + password.encode()).digest()

    def password_matches(self, password: str) -> bool:
        return hmac.compare_digest(self._hash, self._digest(password))

    def __repr__(self) -> str:
        return f"Student({self.username!r}, {self.name!r}, {len(self.grades)} grades)"


@dataclass
class Session:
    id: str
    last_seen: float
    username: str | None = None  # set once logged in
    captcha: str | None = None  # the answer of the last captcha served to this session
    captcha_fetches: int = 0  # since the last login POST, attributed to the username posted
    scope: str = ""  # the web application (context path) the session belongs to
    failed_logins: int = 0  # failed login POSTs in this session (the ZF vendor asks a captcha after 3)


class Simulator:
    """Base of a school simulator. Build the ASGI app with :meth:`app`."""

    system: ClassVar[str] = ""
    #: Where the system lives below the server root; the adapter's ``base_url`` is root + this.
    #: An instance may change it (a simulator option moving the app to another prefix).
    context_path: str = ""
    #: Sessions kept at most; the least recently used go first (a flood of logins cannot grow the table).
    max_sessions: ClassVar[int] = 10_000
    session_cookie: ClassVar[str] = "JSESSIONID"
    cookie_path: ClassVar[str] = "/"
    #: Consecutive wrong passwords that lock an account.
    lock_after: ClassVar[int] = 5
    captcha_case_sensitive: ClassVar[bool] = False
    #: The system's own login error texts (``locked_text`` may use ``{n}``, the lock threshold).
    wrong_captcha_text: ClassVar[str] = "wrong captcha"
    bad_credentials_text: ClassVar[str] = "wrong username or password"
    locked_text: ClassVar[str] = "account locked after {n} wrong passwords"
    #: Where :meth:`signed_out` sends a client (below the server root).
    login_page_path: ClassVar[str] = "/"
    #: How the system's pages are encoded (an instance may change it: a GBK school).
    encoding: str = "UTF-8"
    #: The cache headers of a captcha image (each system's servlet sends its own).
    captcha_headers: ClassVar[Mapping[str, str]] = {"Cache-Control": "no-cache, no-store", "Pragma": "no-cache",
                                                    "Expires": "0"}
    #: What the grade page shows while the ``broken_grades`` switch is on (``{charset}``: the encoding).
    broken_grades_page: ClassVar[str] = ("<html><head><title>系统错误</title></head>"
                                         "<body><h3>系统繁忙，请稍后再试</h3></body></html>")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # A simulator class with its own system id is that system's simulator: see gradewatch.sim.simulators().
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("system"):
            from gradewatch.sim import _REGISTRY

            _REGISTRY[cls.system] = cls

    def __init__(
        self,
        students: Iterable[StudentRecord],
        *,
        captchas: CaptchaSource | None = None,
        admin_token: str | None = None,
        session_ttl: float = 1800.0,
        seed: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        records = list(students)
        self.students: dict[str, Student] = {r.username: self._student(r) for r in records}
        #: The first student given is the documented demo login.
        self.demo: StudentRecord | None = records[0] if records else None
        self.admin_token = admin_token or secrets.token_urlsafe(18)
        self.controls = Controls(session_ttl=session_ttl)
        self.seed = seed
        self._captchas = captchas
        self._clock = clock
        self._sessions: dict[str, Session] = {}
        self.captcha_fetches = 0
        self.unknown_user_posts = 0

    # ---- what a system implements ----------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        raise NotImplementedError

    def default_captchas(self) -> CaptchaSource:
        """The captcha source used when none is given (the system's renderer)."""
        raise NotImplementedError

    # ---- the app ---------------------------------------------------------------------------
    def app(self) -> ASGIApp:
        inner = Starlette(routes=[*admin_routes(self), *self.routes()])
        sim = self

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and sim.controls.down and not scope["path"].startswith("/_admin"):
                await sim.down_response()(scope, receive, send)
                return
            await inner(scope, receive, send)

        return app

    def banner(self) -> list[str]:
        """What ``gradewatch sim SYSTEM`` prints (``{base}`` is the listening URL): override to add more."""
        return [f"{self.system} simulator on {{base}}{self.context_path}/",
                f"  base_url     {{base}}{self.context_path}"]

    def down_response(self) -> Response:
        return Response("<html><body><h1>503 Service Unavailable</h1></body></html>", 503, media_type="text/html")

    # ---- sessions --------------------------------------------------------------------------
    def scope_of(self, path: str) -> str:
        """The web application (context path) a request path belongs to; its sessions are its own.
        One application by default; a system with two (强智: the root Logon.do and /jsxsd) overrides."""
        return ""

    def session_id_of(self, request: Request) -> str | None:
        """Where a request carries its session id: the session cookie (cookieless systems override)."""
        return request.cookies.get(self.session_cookie)

    def live_session(self, sid: str, scope: str | None = None) -> Session | None:
        """The session with this id (of application ``scope`` when given), refreshed; None when
        unknown, of another application, or idle too long (then it is dropped)."""
        sess = self._sessions.get(sid)
        if sess is None or (scope is not None and sess.scope != scope):
            return None
        now = self._clock()
        if now - sess.last_seen > self.controls.session_ttl:
            del self._sessions[sess.id]
            return None
        sess.last_seen = now
        return sess

    def cookie_ids(self, request: Request) -> list[str]:
        """Every session-cookie value of the request, in header order (a client may send several)."""
        ids = []
        for part in request.headers.get("cookie", "").split(";"):
            name, sep, value = part.strip().partition("=")
            if sep and name.strip() == self.session_cookie and value.strip():
                ids.append(value.strip().strip('"'))
        return ids

    def session(self, request: Request) -> Session | None:
        """The live session of this request, refreshed; None when absent or idle too long.

        As Tomcat does, of several session cookies the first one that names a live session of this
        application wins (browsers send the longest cookie path first). A cookieless system's id
        (``session_id_of``) is tried first."""
        scope = self.scope_of(request.url.path)
        ids = self.cookie_ids(request)
        own = self.session_id_of(request)
        if own and own not in ids:
            ids = [own, *ids]
        for sid in ids:
            sess = self.live_session(sid, scope)
            if sess is not None:
                return sess
        return None

    def new_session(self, scope: str = "") -> Session:
        now = self._clock()
        ttl = self.controls.session_ttl
        for sid in [s.id for s in self._sessions.values() if now - s.last_seen > ttl]:
            del self._sessions[sid]
        while len(self._sessions) >= self.max_sessions:  # dicts keep insertion order: the oldest first
            del self._sessions[next(iter(self._sessions))]
        sess = Session(id=self.new_session_id(), last_seen=now, scope=scope)
        self._sessions[sess.id] = sess
        return sess

    def new_session_id(self) -> str:
        """A fresh session id in the system's own format (Tomcat-style hex by default)."""
        return secrets.token_hex(16).upper()

    def session_or_new(self, request: Request) -> tuple[Session, bool]:
        sess = self.session(request)
        if sess is not None:
            return sess, False
        return self.new_session(self.scope_of(request.url.path)), True

    async def form(self, request: Request, encoding: str = "utf-8") -> dict[str, str]:
        """An urlencoded form body (the first value of each field), percent-decoded in the page's encoding."""
        text = (await request.body()).decode("ascii", errors="replace")
        return {k: v[0] for k, v in parse_qs(text, keep_blank_values=True, encoding=encoding, errors="replace").items()}

    def set_cookie(self, response: Response, sess: Session) -> None:
        response.set_cookie(self.session_cookie, sess.id, path=self.cookie_path_of(sess), httponly=True)

    def cookie_path_of(self, sess: Session) -> str:
        """The Path of a session's cookie: its application's context path."""
        return self.cookie_path

    def end_session(self, sess: Session) -> None:
        self._sessions.pop(sess.id, None)

    def expire_sessions(self, username: str | None = None) -> int:
        doomed = [s.id for s in self._sessions.values() if username is None or s.username == username]
        for sid in doomed:
            del self._sessions[sid]
        return len(doomed)

    def student_of(self, request: Request) -> Student | None:
        """The logged-in student of this request, or None (no session, expired, not logged in)."""
        return self.logged_in(request)[1]

    def logged_in(self, request: Request) -> tuple[Session | None, Student | None]:
        """This request's session (if any) and its logged-in student (if any)."""
        sess = self.session(request)
        if sess is None or sess.username is None:
            return sess, None
        return sess, self.students.get(sess.username)

    def error_text(self, result: LoginResult) -> str:
        """What the login page says after a failed login."""
        if result.outcome is Outcome.WRONG_CAPTCHA:
            return self.wrong_captcha_text
        if result.outcome is Outcome.LOCKED:
            return self.locked_text.format(n=self.lock_after)
        if self.controls.wrong_password_text:
            return self.controls.wrong_password_text
        return self.bad_credentials_text

    # ---- captcha and login -----------------------------------------------------------------
    def issue_captcha(self, sess: Session) -> tuple[bytes, str]:
        """A new captcha for this session: (image bytes, media type). The previous answer dies."""
        if self._captchas is None:
            self._captchas = self.default_captchas()
        answer, image, media_type = self._captchas.next()
        sess.captcha = answer
        sess.captcha_fetches += 1
        self.captcha_fetches += 1
        return image, media_type

    def _captcha_ok(self, sess: Session | None, given: str) -> bool:
        if sess is None or sess.captcha is None:
            return False
        expected, sess.captcha = sess.captcha, None  # an answer is valid once
        if self.controls.reject_captcha:
            return False
        if not self.captcha_case_sensitive:
            expected, given = expected.lower(), given.lower()
        return hmac.compare_digest(expected.encode(), given.strip().encode())

    def attempt_login(self, sess: Session | None, username: str, password: str, captcha: str | None) -> LoginResult:
        """One login POST: captcha first (consumed), then lock, then password. Logs the session in on success.

        ``captcha=None`` means the system does not use one for this login.
        """
        student = self.students.get(username)
        if student is None:
            self.unknown_user_posts += 1
        else:
            student.stats.login_posts += 1
            if sess is not None:
                student.stats.captcha_fetches += sess.captcha_fetches
        if sess is not None:
            sess.captcha_fetches = 0
        result = self._judge(sess, student, password, captcha)
        if sess is not None and result.outcome is not Outcome.OK:
            sess.failed_logins += 1
        if student is not None:
            student.stats.outcomes[result.outcome.value] += 1
        return result

    def _judge(self, sess: Session | None, student: Student | None, password: str, captcha: str | None) -> LoginResult:
        if captcha is not None and not self._captcha_ok(sess, captcha):
            return LoginResult(Outcome.WRONG_CAPTCHA, student)
        if student is None:
            return LoginResult(Outcome.WRONG_PASSWORD)
        if student.locked:
            return LoginResult(Outcome.LOCKED, student)
        if not self.password_ok(student, password, sess):
            student.wrong_passwords += 1
            if student.wrong_passwords >= self.lock_after:
                student.locked = True
            return LoginResult(Outcome.WRONG_PASSWORD, student, tries_left=self.lock_after - student.wrong_passwords)
        student.wrong_passwords = 0
        student.stats.successful_logins += 1
        return LoginResult(Outcome.OK, student)

    def log_in(self, sess: Session, student: Student) -> Session:
        """Bind a fresh session to the student (session-fixation protection: the old id dies)."""
        self.end_session(sess)
        fresh = self.new_session(sess.scope)
        fresh.username = student.username
        return fresh

    # ---- client-side password encodings -----------------------------------------------------
    def password_forms(self, password: str) -> dict[str, str]:
        """What this school stores of a password besides the salted hash (override: e.g. ``{"md5": …}``)."""
        return {}

    def password_ok(self, student: Student, submitted: str, sess: Session | None) -> bool:
        """Whether the login form's password field is right. The default is a plaintext password;
        systems whose page script hashes or encrypts it (MD5, DES …) override this with the check the
        real server makes, using ``student.forms`` and the session's key material."""
        return student.password_matches(submitted)

    def _student(self, record: StudentRecord) -> Student:
        return Student(record, self.password_forms(record.password))

    # ---- pages the systems share -------------------------------------------------------------
    def html_page(self, text: str, status: int = 200, *, encoding: str = "utf-8",
                  headers: Mapping[str, str] | None = None) -> Response:
        """An HTML page encoded as the system sends it, with the charset declared in Content-Type."""
        body = text.encode(encoding, errors="xmlcharrefreplace")
        return Response(body, status, headers={"Content-Type": f"text/html;charset={encoding}", **(headers or {})})

    def page(self, text: str, status: int = 200) -> Response:
        """An HTML page in the system's ``encoding``."""
        return self.html_page(text, status, encoding=self.encoding)

    def signed_out(self, request: Request) -> Response:
        """What a logged-in page answers without a logged-in session: by default a redirect to the
        system's login page; systems answering otherwise (a small "please log in" page) override."""
        return RedirectResponse(self.login_page_path, 302)

    def with_cookie(self, response: Response, sess: Session, new: bool) -> Response:
        """``response``, setting the session cookie when ``sess`` was just made for this request."""
        if new:
            self.set_cookie(response, sess)
        return response

    def page_with_session(self, request: Request, make: Callable[[Session], Response]) -> Response:
        """A page that needs a session (the login form): the request's own, else a new one with its cookie."""
        sess, new = self.session_or_new(request)
        return self.with_cookie(make(sess), sess, new)

    async def captcha_response(self, request: Request) -> Response:
        """The captcha route: a new image for the request's session (a new session, with its cookie,
        if it has none), sent with the system's ``captcha_headers``."""
        sess, new = self.session_or_new(request)
        image, media_type = self.issue_captcha(sess)
        return self.with_cookie(Response(image, media_type=media_type, headers=dict(self.captcha_headers)), sess, new)

    def counted_grade_fetch(self, student: Student) -> Response | None:
        """Count a grade fetch in the stats; while the ``broken_grades`` switch is on, return the page to
        answer instead (the system's error page, HTTP 200), else None."""
        student.stats.grade_fetches += 1
        if not self.controls.broken_grades:
            return None
        return self.page(self.broken_grades_page.replace("{charset}", self.encoding))

    def grade_view(self, student: Student, page: Callable[[], Response], broken: Callable[[], Response]) -> Response:
        """A grade fetch: counted in the stats, and the broken page while the ``broken_grades`` switch is on."""
        student.stats.grade_fetches += 1
        return broken() if self.controls.broken_grades else page()

    # ---- admin-side helpers ----------------------------------------------------------------
    def add_student(self, record: StudentRecord) -> Student:
        student = self._student(record)
        self.students[record.username] = student
        return student

    def unlock(self, student: Student) -> None:
        student.locked = False
        student.wrong_passwords = 0

    def stats(self) -> dict[str, Any]:
        return {
            "users": {name: self.user_stats(s) for name, s in self.students.items()},
            "captcha_fetches": self.captcha_fetches,
            "unknown_user_posts": self.unknown_user_posts,
            "sessions": len(self._sessions),
        }

    @staticmethod
    def user_stats(student: Student) -> dict[str, Any]:
        s = student.stats
        return {
            "login_posts": s.login_posts,
            "outcomes": dict(s.outcomes),
            "consecutive_wrong_passwords": student.wrong_passwords,
            "locked": student.locked,
            "captcha_fetches": s.captcha_fetches,
            "successful_logins": s.successful_logins,
            "grade_fetches": s.grade_fetches,
        }
