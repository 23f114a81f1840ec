"""The sign-up's real logins at the school, kept few: schools lock an account after a few wrong
passwords, and anyone may type anyone's student number into the sign-up form.

- A password the school refused (or answered in a way we could not read) is remembered by its
  keyed fingerprint for a day and never sent again for that student number: a double click, a
  browser retry or a classmate repeating it costs the school nothing.
- At most ``per_hour`` real logins per student number an hour, whatever the passwords.
- One sign-up login per student number at a time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from gradewatch.web.security import RateLimiter

REMEMBER_S = 24 * 3600.0


class SignupLogins:
    def __init__(self, fingerprint: Callable[[str], str], clock: Callable[[], float], *, per_hour: int = 3) -> None:
        self._fingerprint = fingerprint
        self._clock = clock
        self._tries = RateLimiter(per_hour, 3600.0, clock=clock)
        self._refused: dict[str, dict[str, float]] = {}  # student -> fingerprint -> until
        self._busy: set[str] = set()
        self._lock = threading.Lock()

    def refusal(self, student: str, password: str) -> str | None:
        """What to tell the student when this password was refused before (None: it may be tried)."""
        now = self._clock()
        with self._lock:
            seen = self._refused.get(student, {})
            for fp in [fp for fp, until in seen.items() if until <= now]:
                del seen[fp]
            if self._fingerprint(password) not in seen:
                return None
        return ("The school refused this password for this student number a moment ago, so it is not sent "
                "again (schools lock accounts after a few wrong tries). Check it, or give the right one.")

    def refused(self, student: str, password: str) -> None:
        with self._lock:
            self._refused.setdefault(student, {})[self._fingerprint(password)] = self._clock() + REMEMBER_S

    def may_try(self, student: str) -> bool:
        return self._tries.allow(student)

    @contextmanager
    def one_at_a_time(self, student: str) -> Iterator[bool]:
        """True inside when this sign-up has the student number to itself; False when another has it."""
        with self._lock:
            mine = student not in self._busy
            self._busy.add(student)
        try:
            yield mine
        finally:
            if mine:
                with self._lock:
                    self._busy.discard(student)
