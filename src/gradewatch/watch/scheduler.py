"""`gradewatch run`: keep checking, politely, as one of any number of workers on one database.

Each account's next check time lives in the database (``accounts.next_check_at``); a worker claims
due accounts with a conditional UPDATE, so N workers together check each account once per interval
(every ``interval`` with random jitter; with ``quiet_nights`` three times that at night, see
watch/rhythm.py), and a check moved earlier by anyone (a classmate's new
grade) is honoured. Failures that are the school's fault back off exponentially *per school*, in
the shared ``school_state`` table, so one school being down slows nothing else and no worker
hammers it.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from gradewatch.watch.checker import CheckReport, Watcher
from gradewatch.watch.expedite import regular_next
from gradewatch.watch.rhythm import interval_at

log = logging.getLogger(__name__)

SCHOOL_FAULTS = {"unavailable", "unexpected_page", "empty_table", "session_expired"}
FIRST_BACKOFF = timedelta(minutes=2)
#: A worker looks for due work at least this often (others may have moved a check earlier).
POLL = timedelta(seconds=15)


def school_backoff(failures: int, interval: timedelta, rng: random.Random) -> timedelta:
    """Delay after ``failures`` consecutive school-side failures: 2, 4, 8 … minutes, capped at 4×interval."""
    base = min(FIRST_BACKOFF * (2 ** (failures - 1)), interval * 4)
    return base * (0.75 + 0.5 * rng.random())


def next_regular(now: datetime, interval: timedelta, jitter: timedelta, rng: random.Random) -> datetime:
    return now + interval + jitter * (2 * rng.random() - 1)


class Scheduler:
    def __init__(self, watcher: Watcher, *, clock: Callable[[], datetime] | None = None,
                 rng: random.Random | None = None, poll: timedelta = POLL) -> None:
        self.watcher = watcher
        cfg = watcher.config
        self.interval = timedelta(minutes=cfg.interval_minutes)
        self.jitter = timedelta(minutes=min(cfg.jitter_minutes, cfg.interval_minutes / 2))
        self.clock = clock or watcher.store.now
        self.rng = rng or random.Random()
        self.poll = poll
        watcher.reschedule = self._next_check
        store = watcher.store
        for name, acc in cfg.accounts.items():
            school = cfg.schools[acc.school]
            store.ensure_account(name, school=acc.school, system=school.system, username=acc.username)

    def due(self) -> list[str]:
        """Accounts due now whose school is not backing off."""
        now = self.clock()
        cfg = self.watcher.config
        resting = {s for s in cfg.schools if (self.watcher.store.school_status(s).backoff_until or now) > now}
        names = [n for n, a in cfg.accounts.items() if a.school not in resting]
        return self.watcher.store.due_accounts(names, now)

    def pick_up_new_accounts(self) -> list[str]:
        """Accounts added to the database since this worker started (`accounts add`, a web sign-up)
        join its config, so a long-running worker checks them without a restart."""
        from gradewatch.store.accounts import db_account_names, db_accounts

        cfg = self.watcher.config
        unknown = db_account_names(self.watcher.store) - set(cfg.accounts)
        if not unknown:
            return []
        found = db_accounts(self.watcher.store, unknown)
        if any(a.school not in cfg.schools for a in found.values()):
            self._pick_up_new_schools()
            cfg = self.watcher.config
        new = {n: a for n, a in found.items() if a.school in cfg.schools}
        if new:
            self.watcher.adopt_accounts(new)
            log.info("picked up %d new account(s): %s", len(new), ", ".join(sorted(new)))
        return sorted(new)

    def _pick_up_new_schools(self) -> None:
        """Schools appended to the config file since start (a web sign-up with a pasted URL writes one,
        then adds its first account): re-read only the schools; a broken file changes nothing."""
        from gradewatch.config import ConfigError, load_config

        path = self.watcher.config.source_path
        if path is None:
            return
        try:
            fresh = load_config(path)
        except ConfigError as err:
            log.warning("new accounts name a school this worker does not know; re-reading %s failed: %s",
                        path, err)
            return
        added = {n: s for n, s in fresh.schools.items() if n not in self.watcher.config.schools}
        if added:
            self.watcher.adopt_schools(added)
            log.info("picked up %d new school(s) from %s: %s", len(added), path, ", ".join(sorted(added)))

    def tick(self, stop: threading.Event | None = None) -> list[CheckReport]:
        """Check every due account this worker can claim, then drain the outbox."""
        self.watcher.store.reap_dead_leases()
        self.pick_up_new_accounts()
        due = self.due()
        reports = self.watcher.check_all(due, due_before=self.clock(), wait=False) if due else []
        reports = [r for r in reports if not (r.outcome == "skipped" and _not_ours(r))]
        self.watcher.send_pending(stop=stop)
        return reports

    def _next_check(self, r: CheckReport) -> datetime | None:
        """When the account of ``r`` is due again (written with its lease's release)."""
        now = self.clock()
        store = self.watcher.store
        if r.outcome in SCHOOL_FAULTS:
            st = store.school_failed(r.school, r.message, now,
                                     lambda n: school_backoff(n, self.interval, self.rng))
            log.warning("%s: %s; school %s backs off until %s", r.account, r.outcome, r.school,
                        f"{st.backoff_until:%H:%M:%S}" if st.backoff_until else "-")
            return st.backoff_until or now + FIRST_BACKOFF
        if r.ok:
            store.school_ok(r.school, now)
        # After a check fast detection moved up, the account keeps its own regular time (classmates
        # must not fall into step).
        interval = self.interval_for(r.school, now)
        return regular_next(store, r.account, next_regular(now, interval, self.jitter, self.rng), now)

    def interval_for(self, school: str, now: datetime) -> timedelta:
        """The regular interval after a check at ``now``: stretched at night where quiet nights are on."""
        cfg = self.watcher.config
        own = cfg.schools[school].quiet_nights if school in cfg.schools else None
        quiet = cfg.quiet_nights if own is None else own
        return interval_at(now, self.interval, rng=self.rng) if quiet else self.interval

    def seconds_to_next(self) -> float:
        """Until the next account is due (its school's backoff included), at most ``poll``."""
        now = self.clock()
        cfg = self.watcher.config
        store = self.watcher.store
        rest = {s: store.school_status(s).backoff_until or now for s in cfg.schools}
        times = [max(t or now, rest[cfg.accounts[n].school]) for n, t in store.schedule(cfg.accounts).items()]
        if not times:
            return self.poll.total_seconds()
        return max(0.0, min((min(times) - now).total_seconds(), self.poll.total_seconds()))

    def run(self, stop: threading.Event, on_tick: Callable[[list[CheckReport]], None] | None = None,
            max_ticks: int | None = None) -> None:
        ticks = 0
        while not stop.is_set():
            reports = self.tick(stop)
            if on_tick and reports:
                on_tick(reports)
            ticks += 1
            if max_ticks is not None and ticks >= max_ticks:
                return
            # Wake at the next due check, at least every POLL (and at least every minute for the outbox).
            stop.wait(max(self.seconds_to_next(), 1.0))


def _not_ours(r: CheckReport) -> bool:
    """A skip that only means another worker got there first (not worth printing)."""
    return "another process" in r.message or "concurrent checks" in r.message or "budget" in r.message
