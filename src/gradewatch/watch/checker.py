"""One check of one account, and one pass over all accounts with per-school caps."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from gradewatch.config import AccountConfig, Config, ConfigError, SchoolConfig, resolve_password
from gradewatch.frontdoor.access import AccessError, build_adapter
from gradewatch.grades import Grade
from gradewatch.logs import register_secret
from gradewatch.notify.alerts import alert_on_status_change, school_outage_change
from gradewatch.notify.outbox import DrainResult, drain
from gradewatch.notify.render import compose
from gradewatch.notify.targets import account_targets, expander
from gradewatch.schools import adapter_class
from gradewatch.schools.base import CaptchaSolver, Credentials
from gradewatch.schools.errors import AccountLocked, SchoolError, SchoolUnavailable, WrongPassword
from gradewatch.secrets import SecretsError
from gradewatch.store.db import AccountState, Store, utcnow
from gradewatch.watch.expedite import expedite_after_check, refresh_courses

log = logging.getLogger(__name__)

LOCK_PAUSE = timedelta(hours=24)
#: Longest a check may hold an account's lease; a crashed holder's lease lapses after this.
LEASE_TTL = timedelta(minutes=10)


@dataclass(frozen=True)
class CheckReport:
    account: str
    school: str
    outcome: str  # ok | skipped | wrong_password | locked | unavailable | unexpected_page | …
    message: str = ""
    logged_in: bool = False
    grades: int = 0
    new: int = 0
    changed: int = 0
    removed: int = 0

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


class Watcher:
    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        solver: CaptchaSolver | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.config = config
        self.store = store
        self._solver = solver
        self._clock = clock
        self._school_caps = {n: threading.BoundedSemaphore(s.max_concurrency) for n, s in config.schools.items()}
        self._account_locks = {n: threading.Lock() for n in config.accounts}
        # Identifies this process's leases in a database shared with other workers.
        #: Whether an account's first check mails the whole table (a scheduled runner may say no).
        self.send_baseline = True
        self._lease_owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        # Rows written before a mail URL was split per recipient still name the whole URL.
        self.targets = {store.vault.fingerprint(u): u for acc in config.accounts.values() for u in acc.notify}
        self.targets |= {t.fingerprint: t.url for acc in config.accounts.values()
                         for t in account_targets(store.vault.fingerprint, acc.notify)}

    # ---- one account ------------------------------------------------------------------------
    def check_account(self, name: str) -> CheckReport:
        acc = self.config.accounts[name]
        lock = self._account_locks[name]
        if not lock.acquire(blocking=False):  # at most one login in flight per account
            return CheckReport(name, acc.school, "skipped", "a check of this account is already running")
        try:
            with self._school_caps[acc.school]:
                return self._check(name, acc)
        finally:
            lock.release()

    def _check(self, name: str, acc: AccountConfig) -> CheckReport:
        school = self.config.schools[acc.school]
        self.store.ensure_account(name, school=acc.school, system=school.system, username=acc.username)
        report = partial(CheckReport, name, acc.school)
        if not self.store.acquire_lease(name, self._lease_owner, LEASE_TTL):
            return report("skipped", "another gradewatch process is checking this account right now")
        try:
            # Read the state again under the lease: another worker may have just changed it.
            return self._check_leased(name, acc, school, self.store.account_state(name), report)
        finally:
            self.store.release_lease(name, self._lease_owner)

    def _check_leased(self, name: str, acc: AccountConfig, school: SchoolConfig, state: AccountState,
                      report: partial[CheckReport]) -> CheckReport:
        now = self._clock()
        if state.status == "paused" and state.paused_until and state.paused_until > now:
            return report("skipped", f"paused until {state.paused_until:%Y-%m-%d %H:%M} UTC: {state.status_reason}")
        try:
            password = resolve_password(name, acc, self.store.stored_password(name))
        except (ConfigError, SecretsError) as err:
            return report("config_error", str(err))
        register_secret(password)
        fingerprint = self.store.vault.fingerprint(password)
        if state.status == "needs_attention":
            if state.bad_password_fp == fingerprint:
                return report("skipped", "needs attention: the school rejected this password; update it in the config")
            self.store.set_status(name, "ok")  # the password changed: try again, once
        check_id = self.store.start_check(name)
        try:
            cookies = self.store.load_cookies(name)
        except SecretsError:
            cookies = []
        try:
            adapter = build_adapter(school, adapter_class(school.system), cookies=cookies, solver=self._solver,
                                    options=school.options, timeout=school.timeout, limits=school.limits())
        except AccessError as err:
            self.store.finish_check(check_id, "config_error", str(err))
            return report("config_error", f"schools.{acc.school}: {err}")
        logged_in = False
        try:
            with adapter:
                grades, logged_in = adapter.check(Credentials(acc.username, password))
                refresh_courses(self.store, name, acc.school, adapter, grades, now=self._clock())  # fast detection
                self.store.save_cookies(name, adapter.export_cookies())
                result = self._record(name, acc, check_id, grades, logged_in, report)
                if result.ok:  # tell the student it works again, if it did not
                    alert_on_status_change(self.store, name, state.status, "ok", "", urls=acc.notify)
                    if self._school_outage(state, now, ok=True) == "recovered":
                        alert_on_status_change(self.store, name, "school_down", "ok", "", urls=acc.notify)
                return result
        except WrongPassword as err:
            self.store.set_status(name, "needs_attention", str(err), bad_password_fp=fingerprint)
            alert_on_status_change(self.store, name, state.status, "needs_attention", str(err), urls=acc.notify)
            return self._fail(check_id, report, err, logged_in)
        except AccountLocked as err:
            self.store.set_status(name, "paused", str(err), paused_until=now + LOCK_PAUSE)
            alert_on_status_change(self.store, name, state.status, "paused", str(err), urls=acc.notify)
            return self._fail(check_id, report, err, logged_in)
        except SchoolError as err:
            if isinstance(err, SchoolUnavailable) and self._school_outage(state, now, ok=False) == "down":
                alert_on_status_change(self.store, name, "ok", "school_down", str(err), urls=acc.notify)
            return self._fail(check_id, report, err, logged_in)
        except Exception as err:  # a bug must not stop the other accounts; keep the trace in the log
            log.exception("check of %s failed unexpectedly", name)
            self.store.finish_check(check_id, "internal_error", f"{type(err).__name__}: {err}")
            return report("internal_error", f"{type(err).__name__}: {err}")

    def _school_outage(self, state: AccountState, now: datetime, *, ok: bool) -> str | None:
        return school_outage_change(state.last_ok_at, state.last_check_at, now, self.config.school_alert_hours, ok=ok)

    def _fail(self, check_id: int, report: partial[CheckReport], err: SchoolError, logged_in: bool) -> CheckReport:
        self.store.finish_check(check_id, err.kind, str(err), logged_in=logged_in)
        return report(err.kind, str(err), logged_in=logged_in)

    def _record(self, name: str, acc: AccountConfig, check_id: int, grades: list[Grade], logged_in: bool,
                report: partial[CheckReport]) -> CheckReport:
        stored = self.store.grades(name)
        if not grades and stored:
            msg = "the school returned an empty grade table; keeping the stored one"
            self.store.finish_check(check_id, "empty_table", msg, logged_in=logged_in)
            return report("empty_table", msg, logged_in=logged_in)
        channels = account_targets(self.store.vault.fingerprint, acc.notify)
        gpa = partial(gpa_line, self.config, name)

        def make(diff, before, after, first):  # type: ignore[no-untyped-def]
            if first and not self.send_baseline:
                return []  # a runner that lost its state: record the table as seen, mail nothing
            return compose(diff, before, after, first, account=name, privacy=acc.privacy,
                           gpa_line=None if first else gpa(before, after))

        diff = self.store.apply_grades(name, check_id, grades, make, [t.fingerprint for t in channels],
                                       expand=expander(channels))
        expedite_after_check(self.store, self.config, name, diff, baseline=not stored, now=self._clock())
        self.store.finish_check(check_id, "ok", logged_in=logged_in)
        n, c, r = diff.counts
        return report("ok", "", logged_in=logged_in, grades=len(grades), new=n, changed=c, removed=r)

    # ---- all accounts -----------------------------------------------------------------------
    def check_all(self, names: Iterable[str] | None = None) -> list[CheckReport]:
        names = list(names if names is not None else self.config.accounts)
        if len(names) <= 1:
            return [self.check_account(n) for n in names]
        workers = min(len(names), sum(s.max_concurrency for s in self.config.schools.values()))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="check") as pool:
            return list(pool.map(self.check_account, names))

    def send_pending(self) -> DrainResult:
        return drain(self.store, self.targets, now=self._clock())


def gpa_line(config: Config, name: str, before: list[Grade], after: list[Grade]) -> str | None:
    """GPA before → after on the account's scale, for update notifications (None if not computable)."""
    from gradewatch.gpa import gpa_change_line

    return gpa_change_line(before, after, config.gpa_settings(name))
