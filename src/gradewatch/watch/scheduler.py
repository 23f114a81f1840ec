"""`gradewatch run`: keep checking, politely.

Each account is checked every ``interval`` with random jitter; failures that are the school's
fault (unreachable, 5xx, unexpected pages) back off exponentially *per school*, so one school
being down slows nothing else and is not hammered.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from gradewatch.store.db import utcnow
from gradewatch.watch.checker import CheckReport, Watcher

log = logging.getLogger(__name__)

SCHOOL_FAULTS = {"unavailable", "unexpected_page", "empty_table", "session_expired"}
FIRST_BACKOFF = timedelta(minutes=2)


def school_backoff(failures: int, interval: timedelta, rng: random.Random) -> timedelta:
    """Delay after ``failures`` consecutive school-side failures: 2, 4, 8 … minutes, capped at 4×interval."""
    base = min(FIRST_BACKOFF * (2 ** (failures - 1)), interval * 4)
    return base * (0.75 + 0.5 * rng.random())


def next_regular(now: datetime, interval: timedelta, jitter: timedelta, rng: random.Random) -> datetime:
    return now + interval + jitter * (2 * rng.random() - 1)


class Scheduler:
    def __init__(self, watcher: Watcher, *, clock: Callable[[], datetime] = utcnow,
                 rng: random.Random | None = None) -> None:
        self.watcher = watcher
        cfg = watcher.config
        self.interval = timedelta(minutes=cfg.interval_minutes)
        self.jitter = timedelta(minutes=min(cfg.jitter_minutes, cfg.interval_minutes / 2))
        self.clock = clock
        self.rng = rng or random.Random()
        now = clock()
        # Spread the first checks over a few seconds instead of a burst at start.
        self.due = {name: now + timedelta(seconds=self.rng.uniform(0, 5) if i else 0)
                    for i, name in enumerate(cfg.accounts)}
        self.school_failures = {name: 0 for name in cfg.schools}

    def tick(self) -> list[CheckReport]:
        """Check every due account once, reschedule, drain the outbox."""
        now = self.clock()
        due = [n for n, t in self.due.items() if t <= now]
        reports = self.watcher.check_all(due) if due else []
        for r in reports:
            self._reschedule(r)
        self.watcher.send_pending()
        return reports

    def _reschedule(self, r: CheckReport) -> None:
        now = self.clock()
        school = r.school
        if r.outcome in SCHOOL_FAULTS:
            self.school_failures[school] += 1
            delay = school_backoff(self.school_failures[school], self.interval, self.rng)
            log.warning("%s: %s; school %s backs off %s", r.account, r.outcome, school, delay)
            # Every account of that school waits at least as long.
            for name, acc in self.watcher.config.accounts.items():
                if acc.school == school:
                    self.due[name] = max(self.due[name], now + delay)
            return
        if r.ok:
            self.school_failures[school] = 0
        self.due[r.account] = next_regular(now, self.interval, self.jitter, self.rng)

    def seconds_to_next(self) -> float:
        return max(0.0, (min(self.due.values()) - self.clock()).total_seconds()) if self.due else 60.0

    def run(self, stop: threading.Event, on_tick: Callable[[list[CheckReport]], None] | None = None,
            max_ticks: int | None = None) -> None:
        ticks = 0
        while not stop.is_set():
            reports = self.tick()
            if on_tick and reports:
                on_tick(reports)
            ticks += 1
            if max_ticks is not None and ticks >= max_ticks:
                return
            # Wake at the next due check, but at least every minute to retry the outbox.
            stop.wait(min(self.seconds_to_next(), 60.0))
