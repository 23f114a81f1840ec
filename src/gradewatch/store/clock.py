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
    """``now()`` = this host's time plus its measured offset to the database server's time."""

    def __init__(self, engine: Engine, *, local: Callable[[], datetime] = wall_clock,
                 on_offset: Callable[[timedelta], None] | None = None) -> None:
        self.engine = engine
        self.local = local
        self.on_offset = on_offset
        self.offset = timedelta(0)
        self._reported = timedelta(0)
        self._measured_at: float | None = None
        self._lock = threading.Lock()
        self._shared = engine.dialect.name == "postgresql"

    def now(self) -> datetime:
        return self.local() + self.offset

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

    def measure(self) -> timedelta:
        """Ask the server for its time, once; keep the old offset if the database cannot answer now
        (the next call tries again, and whatever the caller was doing meets the same error itself)."""
        try:
            with self.engine.connect() as conn:
                before = self.local()
                server = conn.execute(text("SELECT clock_timestamp()")).scalar_one()
                after = self.local()
        except SQLAlchemyError:
            self._measured_at = time.monotonic() - REMEASURE_S + 30  # try again in 30 s
            return self.offset
        if server.tzinfo is None:
            server = server.replace(tzinfo=UTC)
        self.offset = server - (before + (after - before) / 2)
        self._measured_at = time.monotonic()
        if self.on_offset is not None and abs(self.offset - self._reported) >= WORTH_SAYING:
            self._reported = self.offset  # said once, and again only when it changes
            self.on_offset(self.offset)
        return self.offset
