"""Typed outcomes of talking to a school. The watcher decides what each one means for the account."""

from __future__ import annotations


class SchoolError(Exception):
    """Base of everything an adapter raises. ``str(err)`` is one line fit for a user."""

    #: Short machine name used in the check log and `check` output.
    kind = "error"


class WrongCaptcha(SchoolError):
    """The school rejected the captcha (every allowed try used up)."""

    kind = "wrong_captcha"


class WrongPassword(SchoolError):
    """The school said the username or password is wrong. Never retried: schools lock accounts."""

    kind = "wrong_password"


class AccountLocked(SchoolError):
    """The school locked or throttled the account. Pause it; do not try again soon."""

    kind = "locked"


class SessionExpired(SchoolError):
    """The stored session no longer works; log in again (once)."""

    kind = "session_expired"


class SchoolUnavailable(SchoolError):
    """Network error, timeout or a 5xx answer: back off and try later."""

    kind = "unavailable"


class DeadlineExceeded(SchoolUnavailable):
    """The exchange or the whole check ran past its total deadline (e.g. a school dripping bytes)."""


class UnexpectedPage(SchoolError):
    """The school answered with a page we do not understand. Carries only the page title, never the body."""

    kind = "unexpected_page"
    #: The start of the page's visible text (set by the adapter base), to report unknown answers.
    visible_text: str = ""

    def __init__(self, message: str, *, url: str = "", title: str = "") -> None:
        detail = message
        if url:
            detail += f" (at {url}"
            detail += f', page title "{title}")' if title else ")"
        super().__init__(detail)
        self.url = url
        self.title = title


class Cancelled(SchoolError):
    """The process is stopping (SIGTERM / Ctrl-C): the exchange was abandoned, nothing was recorded."""

    kind = "cancelled"


class CaptchaModelError(SchoolError):
    """The captcha model cannot be loaded (missing or corrupt file). Our side, not the school's."""

    kind = "captcha_model"


class AccountDisabled(AccountLocked):
    """The school disabled the account (正方: 用户已被禁用！). Paused like a lock; the message says which."""


class NoStudentRole(SchoolError):
    """The account exists but has no role that may log in (正方: 该用户无所属角色，禁止登录！)."""

    kind = "no_role"


class PortalLoginRequired(SchoolError):
    """The school lets this account in only through its portal / CAS front door (正方: 校内用户请从信息门户登录！),
    not through the system's own login page. Neither a lock nor a wrong password."""

    kind = "portal_login_required"
