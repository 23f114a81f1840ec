"""`gradewatch web`: a self-service page for students and a dashboard for whoever runs gradewatch.

Server-rendered (Starlette + Jinja2, autoescaped), every asset served from here. Students sign up
with their school credentials — checked by exactly one real login, as everywhere in gradewatch —
and then see their grades, GPA and channels; they sign in again with the same credentials, checked
against the encrypted copy without asking the school, or with a one-time link sent to their own
channel. The operator signs in with a password hashed by argon2.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from gradewatch.config import Config, load_config
from gradewatch.store.web_sign_ins import end_generation, generation
from gradewatch.web import pages, review
from gradewatch.web.logins import SignupLogins
from gradewatch.web.security import RateLimiter, SecurityHeaders, csrf_ok, csrf_token
from gradewatch.web.wechat import Bindings, BindTries, Replays

log = logging.getLogger(__name__)
HERE = Path(__file__).parent


@dataclass
class WebSettings:
    config_path: Path
    secret_key: str | None = field(default=None, repr=False)  # None: derived from the key file
    admin_hash: str | None = field(default=None, repr=False)  # argon2 hash; None: no dashboard
    #: The dashboard password itself (what the CLI gives): hashed into admin_hash when that is not
    #: given, and the stable basis of the operator sessions' key (the hash is salted anew each start).
    admin_password: str | None = field(default=None, repr=False)
    #: A mail URL without a recipient (the club's sending mailbox): students then give only an address.
    mail_sender: str | None = field(default=None, repr=False)
    wechat_token: str | None = field(default=None, repr=False)
    https_only: bool = False  # secure cookies (set behind TLS)
    #: The site's address as students reach it (https://grades.club.example/): sign-in links are built
    #: from it, never from a request's Host header. Empty: no sign-in links are sent.
    public_url: str = ""
    #: The harvest's review queue (DIR-review) and its dataset (default DIR) for /admin/review.
    review_dir: Path | None = None
    review_dataset: Path | None = None
    #: Sign-up may name a school by pasting its URL (found with `detect`, kept in the config after
    #: one good login); private and loopback addresses only with detect_private.
    allow_detect: bool = False
    detect_private: bool = False
    #: Channels a student gives may reach loopback and private addresses (a campus-internal
    #: deployment; the tests' stand-ins). Off: only public hosts (web/channel_check.py).
    private_channels: bool = False
    signin_limit: tuple[int, float] = (5, 300.0)  # attempts per window (seconds), per IP and per account
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        if self.admin_password and not self.admin_hash:
            from gradewatch.web.security import hash_password

            self.admin_hash = hash_password(self.admin_password)


class Web:
    """The state behind the pages: the config, the store, rate limits, one-time links."""

    def __init__(self, settings: WebSettings) -> None:
        from gradewatch.app import open_app

        self.settings = settings
        self.base_config: Config = load_config(settings.config_path)
        self.gw = open_app(self.base_config, logging=False)
        self.store = self.gw.store
        self.by_ip = RateLimiter(*settings.signin_limit, clock=settings.clock)
        self.by_account = RateLimiter(*settings.signin_limit, clock=settings.clock)
        self.logins = SignupLogins(self.store)
        self.bindings = Bindings(self.store, legacy_file=self.base_config.base_dir / "wechat-bindings.json")
        self.wechat_replays = Replays(self.store)
        self.bind_tries = BindTries(self.store)  # 5 绑定 codes per WeChat user per 10 minutes
        self._checks: dict[str, threading.Thread] = {}

    # ---- who is signed in -----------------------------------------------------------------
    # The session cookie is signed, not stored: signing out must also end the copies of it (another
    # device, a stolen cookie) for the rest of its 14 days. Each sign-in carries its identity's
    # generation; signing out moves the generation on. Generations are in the database and the
    # cookies' key is derived from the key file: every web process agrees, and a restart neither
    # signs everybody out nor lets a signed-out cookie back in (store/web_sign_ins.py).
    @staticmethod
    def _identity(account: str | None, admin: bool) -> str:
        return "admin" if admin else f"account:{account}"  # an account may be named "admin"

    def sign_in(self, request: Request, account: str | None = None, *, admin: bool = False) -> None:
        request.session.clear()
        request.session["admin" if admin else "account"] = True if admin else account
        request.session["gen"] = generation(self.store, self._identity(account, admin))
        if admin:
            request.session["admin_key"] = self._admin_key()

    def _admin_key(self) -> str | None:
        """Ties an operator's session to the dashboard password: a new password (or none: no
        dashboard) ends every operator session, though the cookies' key outlives restarts. Keyed by
        the password, so every process started with it, and a restart, keep the operator signed in;
        given only a hash (salted anew at each start), by that hash: one process's sessions."""
        if not self.settings.admin_hash:
            return None
        return self.store.vault.fingerprint("dashboard:" + (self.settings.admin_password or self.settings.admin_hash))

    def sign_out(self, request: Request) -> None:
        seen = request.session.get("gen")
        if isinstance(seen, int):
            if request.session.get("account"):
                end_generation(self.store, self._identity(str(request.session["account"]), False), seen)
            if request.session.get("admin"):
                end_generation(self.store, "admin", seen)
        request.session.clear()

    def _valid(self, request: Request, key: str) -> bool:
        return request.session.get("gen") == generation(self.store, key)

    def signed_in(self, request: Request) -> str | None:
        """The account this request's session is signed in as (None: none, or signed out since)."""
        account = request.session.get("account")
        return str(account) if account and self._valid(request, self._identity(str(account), False)) else None

    def is_admin(self, request: Request) -> bool:
        key = self._admin_key()
        return (bool(request.session.get("admin")) and key is not None and request.session.get("admin_key") == key
                and self._valid(request, "admin"))

    def config(self) -> Config:
        """The config with the database's accounts (a sign-up is one of them at once)."""
        from gradewatch.store.accounts import with_db_accounts

        return with_db_accounts(self.base_config, self.store)

    def check_soon(self, account: str) -> threading.Thread:
        """Check one account now, in the background (a new sign-up's first check)."""
        from gradewatch.watch.checker import Watcher

        def work() -> None:
            try:
                watcher = Watcher(self.config(), self.store)
                watcher.check_account(account)
                watcher.send_pending()
            except Exception:  # the page must not die with a background check; the log keeps it
                log.exception("background check of %s failed", account)

        t = threading.Thread(target=work, name=f"web-check-{account}", daemon=True)
        self._checks[account] = t
        t.start()
        return t

    def close(self) -> None:
        for t in self._checks.values():
            t.join(timeout=30)
        self.gw.close()


def create_app(settings: WebSettings) -> Starlette:
    web = Web(settings)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals["csrf"] = csrf_token

    def render(request: Request, template: str, status: int = 200, **ctx: Any) -> Response:
        return templates.TemplateResponse(request, template, {"me": web.signed_in(request),
                                                          "admin": web.is_admin(request), **ctx},
                                          status_code=status)

    async def form_of(request: Request) -> dict[str, str] | None:
        form = await request.form()
        data = {k: str(v) for k, v in form.items() if isinstance(v, str)}
        return data if csrf_ok(request, data.get("csrf")) else None

    def forbidden(request: Request) -> Response:
        return render(request, "message.html", 403, title="Refused",
                      text="This form is out of date or did not come from this site. Reload the page and try again.")

    async def health(request: Request) -> Response:
        try:
            counts = web.store.outbox_counts()
        except Exception as err:  # a health check reports, it does not raise
            return JSONResponse({"ok": False, "database": type(err).__name__}, 503)
        return JSONResponse({"ok": True, "outbox": counts})

    routes: list[BaseRoute] = [*pages.routes(web, render, form_of, forbidden)]
    routes += review.routes(web, render, form_of, forbidden)
    routes += [Route("/healthz", health), Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")]
    app = Starlette(routes=routes, middleware=[
        Middleware(SecurityHeaders),
        Middleware(SessionMiddleware, secret_key=settings.secret_key or web.store.vault.derive("web session cookies"),
                   session_cookie="gw_session",
                   same_site="strict", https_only=settings.https_only, max_age=14 * 24 * 3600),
    ])
    app.state.web = web
    return app



