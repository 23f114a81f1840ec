"""The sign-up's real logins at the school, kept few: schools lock an account after a few wrong
passwords, and anyone may type anyone's student number into the sign-up form.

- A password the school refused (or answered in a way we could not read) is remembered by its
  keyed fingerprint for a day and never sent again for that student number: a double click, a
  browser retry or a classmate repeating it costs the school nothing.
- At most ``per_hour`` real logins per student number an hour, whatever the passwords.
- One sign-up login per student number at a time.

All three are kept in the database (store/signup_attempts.py), so they hold across every web
process on it and across restarts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from gradewatch.store.db import Store
from gradewatch.store.signup_attempts import finish_attempt, start_attempt

REFUSED_BEFORE = ("The school refused this password for this student number a moment ago, so it is not sent "
                  "again (schools lock accounts after a few wrong tries). Check it, or give the right one.")


@dataclass
class Attempt:
    """What `SignupLogins.attempt` allows: ``state`` is "go" (log in now), "refused", "busy" or "limit"."""

    state: str
    refused_fp: str | None = None


class SignupLogins:
    def __init__(self, store: Store, *, per_hour: int = 3) -> None:
        self._store = store
        self._per_hour = per_hour

    @contextmanager
    def attempt(self, student: str, password: str) -> Iterator[Attempt]:
        """One login for ``student`` with ``password`` while the block runs, if its state is "go";
        else the state says why not: "refused" (this password was refused before), "busy", "limit".
        Call `refused` in the block when the school refused the password."""
        started = start_attempt(self._store, student, self._store.vault.fingerprint(password), self._per_hour)
        if isinstance(started, str):
            yield Attempt(started)
            return
        attempt = Attempt("go")
        try:
            yield attempt
        finally:  # also when the login raised: the name is free again, and a refusal seen is kept
            finish_attempt(self._store, started, attempt.refused_fp)

    def refused(self, attempt: Attempt, password: str) -> None:
        attempt.refused_fp = self._store.vault.fingerprint(password)
