"""One clock for every worker of a database: the host's clock, corrected to the database server's.

Leases, outbox claims and the school budget are times written by one worker and compared by
another. Workers on several hosts whose clocks differ by more than a lease's TTL would each think
the other's lease had run out (or never run out) and POST the same password, or send the same
mail. The PostgreSQL server's clock is the one all of them see, so each worker measures how far
its own clock is from it (half a round trip's precision) and adds that. Measuring, not asking the
database for every timestamp, keeps the many places that take an injected ``now`` (tests) as they
are. SQLite lives in one file on one host: its workers share the host's clock already.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

#: How often the offset is measured again (clocks drift; NTP steps them).
REMEASURE_S = 600.0
#: An offset under this is noise of the measurement, not a wrong clock: not worth a log line.
WORTH_SAYING = timedelta(seconds=5)


def wall_clock() -> datetime:
    return datetime.now(UTC)


class DatabaseClock:
    """``now()`` = the database server's time: its last answer plus the host's monotonic time since.

    Anchored to the monotonic clock, not to the host's wall clock: when NTP steps a wrong host
    clock right, a kept offset would be wrong by the whole step until the next measurement (a host
    10 minutes fast, corrected, would write leases already 10 minutes over). Before the first
    measurement, and on SQLite, it is the host's clock."""

    def __init__(self, engine: Engine, *, local: Callable[[], datetime] = wall_clock,
                 on_offset: Callable[[timedelta], None] | None = None,
                 on_failure: Callable[[str], None] | None = None) -> None:
        self.engine = engine
        self.local = local
        self.on_offset = on_offset
        self.on_failure = on_failure
        self.offset = timedelta(0)  # the server's time minus this host's, at the last measurement
        self._reported = timedelta(0)
        self._anchor: tuple[datetime, float] | None = None  # (server time, monotonic time) measured
        self._measured_at: float | None = None
        self._failing = False
        self._lock = threading.Lock()
        self._shared = engine.dialect.name == "postgresql"

    def now(self) -> datetime:
        anchor = self._anchor
        if anchor is None:
            return self.local()
        server, at = anchor
        return server + timedelta(seconds=time.monotonic() - at)

    def refresh(self) -> None:
        """Measure again when due. Called before a session opens, not inside ``now()``: a measurement
        needs a connection of its own, and ``now()`` is often called with one already held."""
        if not self._shared:
            return
        due = self._measured_at is None or time.monotonic() - self._measured_at >= REMEASURE_S
        if due and self._lock.acquire(blocking=False):  # one thread measures; the others go on
            try:
                self.measure()
            finally:
                self._lock.release()

    def measure(self) -> timedelta | None:
        """Ask the server for its time, once: the host's offset to it, or None when the database
        could not answer (the last anchor stays; the next session tries again in 30 s)."""
        try:
            with self.engine.connect() as conn:
                before, mono_before = self.local(), time.monotonic()
                server = conn.execute(text("SELECT clock_timestamp()")).scalar_one()
                after, mono_after = self.local(), time.monotonic()
        except SQLAlchemyError as err:
            self._measured_at = time.monotonic() - REMEASURE_S + 30
            if not self._failing and self.on_failure is not None:
                self.on_failure(type(err).__name__)  # said once per run of failures
            self._failing = True
            return None
        self._failing = False
        if server.tzinfo is None:
            server = server.replace(tzinfo=UTC)
        self._anchor = (server, (mono_before + mono_after) / 2)
        self.offset = server - (before + (after - before) / 2)
        self._measured_at = time.monotonic()
        if self.on_offset is not None and abs(self.offset - self._reported) >= WORTH_SAYING:
            self._reported = self.offset  # said once, and again only when it changes
            self.on_offset(self.offset)
        return self.offset
