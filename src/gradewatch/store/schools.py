"""Per-school state shared by every worker: backoff after school-side failures and a request budget.

The budget is a fixed one-minute window per school, taken by one conditional UPDATE, so all workers
together stay within ``requests_per_minute`` (a window edge can let up to twice that through in a
short burst; the per-school concurrency cap still holds there).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, insert, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gradewatch.store.models import SchoolState, UTCDateTime

WINDOW = timedelta(minutes=1)


@dataclass(frozen=True)
class SchoolStatus:
    school: str
    failures: int
    backoff_until: datetime | None
    last_error: str


def insert_ignoring_duplicates(s: Session, table: type, values: dict[str, object]) -> None:
    """INSERT … ON CONFLICT DO NOTHING on both backends (a row another process just made is fine)."""
    dialect = s.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        s.execute(pg_insert(table).values(**values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        s.execute(sqlite_insert(table).values(**values).on_conflict_do_nothing())
    else:  # pragma: no cover - other backends
        with contextlib.suppress(IntegrityError), s.begin_nested():
            s.execute(insert(table).values(**values))


class SchoolStateMixin:
    def session(self) -> contextlib.AbstractContextManager[Session]:  # provided by Store
        raise NotImplementedError

    def _school_row(self, s: Session, school: str) -> None:
        insert_ignoring_duplicates(s, SchoolState, {"school": school, "failures": 0, "last_error": "",
                                                    "window_requests": 0})

    def school_status(self, school: str) -> SchoolStatus:
        with self.session() as s:
            row = s.get(SchoolState, school)
            if row is None:
                return SchoolStatus(school, 0, None, "")
            return SchoolStatus(school, row.failures, row.backoff_until, row.last_error)

    def school_failed(self, school: str, error: str, now: datetime, delay: Callable[[int], timedelta]) -> SchoolStatus:
        """One more consecutive school-side failure; the school backs off for ``delay(failures)``."""
        with self.session() as s:
            self._school_row(s, school)
            s.execute(update(SchoolState).where(SchoolState.school == school)
                      .values(failures=SchoolState.failures + 1, last_error=error[:500], updated_at=now))
        with self.session() as s:
            failures = int(s.scalar(select(SchoolState.failures).where(SchoolState.school == school)) or 1)
            until = now + delay(failures)
            s.execute(update(SchoolState).where(SchoolState.school == school)
                      .where(or_(SchoolState.backoff_until.is_(None), SchoolState.backoff_until < until))
                      .values(backoff_until=until))
        return self.school_status(school)

    def school_ok(self, school: str, now: datetime) -> None:
        with self.session() as s:
            s.execute(update(SchoolState).where(SchoolState.school == school, SchoolState.failures > 0)
                      .values(failures=0, backoff_until=None, last_error="", updated_at=now))

    def take_budget(self, school: str, requests: int, per_minute: int, now: datetime) -> bool:
        """Reserve ``requests`` of the school's per-minute budget for all workers; False when spent."""
        with self.session() as s:
            self._school_row(s, school)
            fresh = or_(SchoolState.window_start.is_(None), SchoolState.window_start <= now - WINDOW)
            res = s.execute(
                update(SchoolState)
                .where(SchoolState.school == school,
                       or_(fresh, SchoolState.window_requests + requests <= per_minute))
                .values(window_start=case((fresh, literal(now, UTCDateTime())), else_=SchoolState.window_start),
                        window_requests=case((fresh, requests), else_=SchoolState.window_requests + requests))
            )
            return bool(res.rowcount)  # type: ignore[attr-defined]

    def correct_budget(self, school: str, delta: int, taken_at: datetime | None = None) -> None:
        """After a check: replace the reserved estimate by the requests actually made. Requests left
        over are given back only to the minute they were taken from (``taken_at``): a later minute
        never reserved them. Requests beyond the estimate count in any minute, to the school's good."""
        if not delta:
            return
        with self.session() as s:
            total = SchoolState.window_requests + delta
            q = update(SchoolState).where(SchoolState.school == school)
            if delta < 0 and taken_at is not None:
                q = q.where(SchoolState.window_start <= taken_at)  # a newer window started after the take
            s.execute(q.values(window_requests=case((total < 0, 0), else_=total)))
