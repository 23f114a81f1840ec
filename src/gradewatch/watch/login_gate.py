"""Lockout-proof login: a password POST is recorded before it is sent, and an answer we never read
counts as a possibly wrong password.

Schools lock an account after a few wrong passwords. A wrong-password page worded in a way we do
not know, or a crash between the school's answer and our note of it, must therefore not lead to
another POST of the same password. Until a recognised answer (success, wrong password, lock,
wrong captcha) clears the record, that password is not sent again — unless the password changes,
the user runs ``gradewatch accounts retry NAME``, or the opt-in pause
(``retry_unknown_login_after_hours``) has passed, which allows exactly one more try.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from gradewatch.schools.errors import SchoolError
from gradewatch.store.db import AccountState, Store


class LoginHeld(SchoolError):
    """No password POST now: the answer to the last one with this password was never recognised."""

    kind = "login_held"


def held_reason(name: str, since: datetime | None) -> str:
    when = f" at {since:%Y-%m-%d %H:%M} UTC" if since else ""
    return (f"needs attention: the answer to the password attempt{when} was not recognised, so the "
            f"password is not sent again (the school may count it as wrong); after checking it, run "
            f"`gradewatch accounts retry {name}`")


class LoginGate:
    """The two adapter hooks of one check (``on_password_submit`` / ``on_login_accepted``)."""

    def __init__(self, store: Store, name: str, fingerprint: str, state: AccountState, *,
                 pause: timedelta | None, clock: Callable[[], datetime],
                 on_accepted: Callable[[], None] | None = None) -> None:
        """``on_accepted`` must store the new session *and* clear the attempt record in one go."""
        self.store, self.name, self.fingerprint = store, name, fingerprint
        self.clock = clock
        self._on_accepted = on_accepted
        self.posted = False  # a POST went out in this check
        self.answered = True  # its answer was read (success or a recognised verdict)
        pending = state.login_attempt_fp
        if pending is not None and pending != fingerprint:
            store.clear_login_attempt(name)  # the password changed since: the old attempt says nothing
            pending = None
        self.held_since = state.login_attempt_at if pending is not None else None
        self.pending = pending is not None  # a record of an unanswered attempt is in the store
        self.allowed = pending is None or (
            pause is not None and state.login_attempt_at is not None and clock() - state.login_attempt_at >= pause
        )

    def before_post(self) -> None:
        if not self.allowed and not self.posted:
            raise LoginHeld(held_reason(self.name, self.held_since))
        # Committed before the POST leaves: a kill from here on leaves the record behind.
        self.store.begin_login_attempt(self.name, self.fingerprint, self.clock())
        self.posted, self.answered, self.pending = True, False, True

    def accepted(self) -> None:
        self.answered = True
        if not self.posted:
            # In without a password POST (a CAS ticket cookie still valid): that says nothing about
            # the password of a held attempt, so the hold stays (the session is kept at the check's end).
            return
        if self._on_accepted is not None:
            self._on_accepted()  # keep the new session at once: a kill now costs no second login
        else:
            self.store.clear_login_attempt(self.name)
        self.pending = False

    def verdict(self) -> None:
        """The school's answer was a recognised refusal (wrong password, lock, wrong captcha).
        Call it after the verdict itself is stored: a kill in between then leaves both records."""
        self.answered = True
        if self.posted:
            self.store.clear_login_attempt(self.name)
            self.pending = False

    @property
    def unknown(self) -> bool:
        """A POST went out and its answer was never recognised."""
        return self.posted and not self.answered
