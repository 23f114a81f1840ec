"""One check of one account, and one pass over all accounts with per-school caps.

Several processes (on several machines) may share one database: a check runs only under the
account's lease, which is short and renewed by a heartbeat while the check runs, so a killed
worker blocks its accounts for seconds. The school's concurrency cap and request budget are
counted in the database and hold for all workers together.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from gradewatch.config import AccountConfig, Config, ConfigError, SchoolConfig, resolve_password
from gradewatch.frontdoor.access import AccessError, build_adapter
from gradewatch.frontdoor.cas import NeedsUserAction
from gradewatch.grades import Grade
from gradewatch.logs import register_secret
from gradewatch.notify.alerts import alert_on_status_change, school_outage_change
from gradewatch.notify.outbox import DrainResult, drain
from gradewatch.notify.render import compose
from gradewatch.notify.targets import account_targets, expander
from gradewatch.schools import adapter_class
from gradewatch.schools.base import CaptchaSolver, Credentials
from gradewatch.schools.errors import AccountLocked, SchoolError, SchoolUnavailable, WrongCaptcha, WrongPassword
from gradewatch.secrets import SecretsError
from gradewatch.store.captcha_tries import record_captcha_tries
from gradewatch.store.db import AccountState, Store, StoreError
from gradewatch.store.leases import kept_renewed, new_owner
from gradewatch.watch.expedite import expedite_after_check, refresh_courses
from gradewatch.watch.login_gate import LoginGate, LoginHeld, held_reason

log = logging.getLogger(__name__)

LOCK_PAUSE = timedelta(hours=24)
#: A check's lease on its account; renewed every HEARTBEAT while the check runs, so a dead holder's
#: lease lapses within LEASE_TTL (at once on the same host: its pid is gone).
LEASE_TTL = timedelta(seconds=30)
HEARTBEAT = timedelta(seconds=10)
#: Requests reserved from the school's budget before a check (corrected afterwards by the real count).
REQUESTS_WITH_SESSION = 2
REQUESTS_WITH_LOGIN = 6
#: How long `gradewatch check` waits for a free slot of a busy school before it skips an account.
WAIT_FOR_SLOT_S = 90.0


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


class _Busy(Exception):
    """The school's deployment-wide cap or request budget is used up right now."""


class Watcher:
    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        solver: CaptchaSolver | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self._solver = solver
        self._clock = clock or store.now  # the database's time: every worker agrees on it
        self._school_caps = {n: threading.BoundedSemaphore(s.max_concurrency) for n, s in config.schools.items()}
        self._account_locks = {n: threading.Lock() for n in config.accounts}
        #: Whether an account's first check mails the whole table (a scheduled runner may say no).
        self.send_baseline = True
        # Identifies this process's leases and outbox claims in a database shared with other workers.
        self._lease_owner = new_owner()
        # Rows written before a mail URL was split per recipient still name the whole URL.
        self.targets = {store.vault.fingerprint(u): u for acc in config.accounts.values() for u in acc.notify}
        self.targets |= {t.fingerprint: t.url for acc in config.accounts.values()
                         for t in account_targets(store.vault.fingerprint, acc.notify)}
        #: (account, channel name) → URL, resolved when a message is sent (it follows an edited URL).
        self.channels = {(name, t.channel): t.url for name, acc in config.accounts.items()
                         for t in account_targets(store.vault.fingerprint, acc.notify)}
        #: When an account is due again after a check; the scheduler replaces it (backoff).
        self.reschedule: Callable[[CheckReport], datetime | None] = self._regular_next
        self._rng = random.Random()

    @property
    def owner(self) -> str:
        return self._lease_owner

    def adopt_schools(self, new: dict[str, SchoolConfig]) -> None:
        """Schools added to the config file while this watcher runs (before their first accounts)."""
        new = {n: s for n, s in new.items() if n not in self.config.schools}
        self.config = self.config.model_copy(update={"schools": {**self.config.schools, **new}})
        for name, school in new.items():
            self._school_caps[name] = threading.BoundedSemaphore(school.max_concurrency)

    def adopt_accounts(self, new: dict[str, AccountConfig]) -> None:
        """Accounts added while this watcher runs (the scheduler finds them in the database)."""
        fp = self.store.vault.fingerprint
        self.config = self.config.model_copy(update={"accounts": {**self.config.accounts, **new}})
        for name, acc in new.items():
            self._account_locks.setdefault(name, threading.Lock())
            self.targets |= {fp(u): u for u in acc.notify}
            for t in account_targets(fp, acc.notify):
                self.targets[t.fingerprint] = t.url
                self.channels[(name, t.channel)] = t.url

    def _regular_next(self, r: CheckReport) -> datetime | None:
        interval = timedelta(minutes=self.config.interval_minutes)
        jitter = timedelta(minutes=min(self.config.jitter_minutes, self.config.interval_minutes / 2))
        return self._clock() + interval + jitter * (2 * self._rng.random() - 1)

    # ---- one account ------------------------------------------------------------------------
    def check_account(self, name: str, *, due_before: datetime | None = None, wait: bool = True) -> CheckReport:
        """Check one account. With ``due_before`` (the scheduler), only if it is due by then."""
        acc = self.config.accounts[name]
        lock = self._account_locks[name]
        if not lock.acquire(blocking=False):  # at most one login in flight per account
            return CheckReport(name, acc.school, "skipped", "a check of this account is already running")
        try:
            deadline = time.monotonic() + (WAIT_FOR_SLOT_S if wait else 0)
            while True:
                with self._school_caps[acc.school]:
                    try:
                        return self._check(name, acc, due_before)
                    except _Busy as busy:
                        if time.monotonic() >= deadline:
                            return CheckReport(name, acc.school, "skipped", str(busy))
                time.sleep(0.5 + random.random())
        finally:
            lock.release()

    def _check(self, name: str, acc: AccountConfig, due_before: datetime | None) -> CheckReport:
        school = self.config.schools[acc.school]
        self.store.ensure_account(name, school=acc.school, system=school.system, username=acc.username)
        report = partial(CheckReport, name, acc.school)
        claimed_at = self._clock()
        if not self._claim(name, school, due_before, claimed_at):
            return report("skipped", "another gradewatch process is checking this account right now"
                          if due_before is None else "not due, or being checked by another process")
        result: CheckReport | None = None
        try:
            state = self.store.account_state(name)  # read again under the lease: another worker may have changed it
            reserved = REQUESTS_WITH_SESSION if state.has_session else REQUESTS_WITH_LOGIN
            taken_at = self._clock()
            if not self.store.take_budget(acc.school, reserved, school.requests_per_minute, taken_at):
                raise _Busy(f"school {acc.school}: its request budget ({school.requests_per_minute}/min for "
                            "all workers) is spent for this minute")
            counter = _RequestCounter()
            with self._heartbeat(name) as lease_lost:
                result = self._check_leased(name, acc, school, state, report, counter, lease_lost)
            self.store.correct_budget(acc.school, counter.n - reserved, taken_at)
            return result
        finally:
            when = self.reschedule(result) if result is not None else None
            self.store.release_lease(name, self._lease_owner, next_check_at=when, claimed_at=claimed_at)

    def _claim(self, name: str, school: SchoolConfig, due_before: datetime | None, now: datetime) -> bool:
        cap = school.max_concurrency
        for _ in range(2):
            if self.store.acquire_lease(name, self._lease_owner, LEASE_TTL, now=now, due_before=due_before,
                                        school_cap=cap):
                return True
            if not self.store.acquire_lease(name, self._lease_owner, timedelta(0), now=now, due_before=due_before):
                # Held by someone: free it only if its holder is a dead process of this host.
                if not self.store.reap_dead_leases():
                    return False
                continue
            # The account is free (the probe above took and dropped it): the school's cap is what is full.
            self.store.release_lease(name, self._lease_owner)
            raise _Busy(f"school {school.system} at {school.base_url}: its {cap} concurrent checks "
                        "(for all workers) are running")
        return False

    def _heartbeat(self, name: str) -> contextlib.AbstractContextManager[threading.Event]:
        """Renew the account lease while a check runs; the event is set once the lease is lost."""
        return kept_renewed(lambda: self.store.renew_lease(name, self._lease_owner, LEASE_TTL), HEARTBEAT,
                            f"the account lease of {name}")

    def _retry_pause(self, acc: AccountConfig) -> timedelta | None:
        hours = acc.retry_unknown_login_after_hours or self.config.retry_unknown_login_after_hours
        return timedelta(hours=hours) if hours else None

    def _check_leased(self, name: str, acc: AccountConfig, school: SchoolConfig, state: AccountState,
                      report: partial[CheckReport], counter: _RequestCounter,
                      lease_lost: threading.Event | None = None) -> CheckReport:
        now = self._clock()
        if state.status == "paused" and state.paused_until and state.paused_until > now:
            return report("skipped", f"paused until {state.paused_until:%Y-%m-%d %H:%M} UTC: {state.status_reason}")
        try:
            password = resolve_password(name, acc, self.store.stored_password(name))
        except (ConfigError, SecretsError) as err:
            return report("config_error", str(err))
        register_secret(password)
        fingerprint = self.store.vault.fingerprint(password)
        if state.status == "needs_attention" and state.bad_password_fp is not None:
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
        counter.attach(adapter)
        gate = LoginGate(self.store, name, fingerprint, state, pause=self._retry_pause(acc), clock=self._clock,
                         on_accepted=lambda: self.store.save_cookies(name, adapter.export_cookies(),
                                                                     login_answered=True))

        def before_post() -> None:
            # Ours for at least LEASE_TTL from here, or no POST: a worker that took the account over
            # after our lease ran out may be posting this password itself (schools lock accounts).
            try:
                held = not (lease_lost is not None and lease_lost.is_set()) and self.store.renew_lease(
                    name, self._lease_owner, LEASE_TTL)
            except StoreError:
                held = False
            if not held:
                raise LoginHeld("could not confirm this worker still holds the account (another gradewatch "
                                "process may have taken over); the password was not sent")
            gate.before_post()

        adapter.on_password_submit, adapter.on_login_accepted = before_post, gate.accepted
        logged_in = False
        try:
            with adapter:
                grades, logged_in = adapter.check(Credentials(acc.username, password))
                refresh_courses(self.store, name, acc.school, adapter, grades, now=self._clock())  # fast detection
                self.store.save_cookies(name, adapter.export_cookies())
                if state.status != "ok" and not gate.pending:  # held, or a pause that is over: works again
                    self.store.set_status(name, "ok")
                result = self._record(name, acc, check_id, grades, logged_in, report)
                if result.ok and not gate.pending:  # tell the student it works again, if it did not
                    # (a held attempt stays held while a stored session works: that is not "works again")
                    alert_on_status_change(self.store, name, state.status, "ok", "", urls=acc.notify)
                if result.ok and self._school_outage(state, now, ok=True) == "recovered":
                    alert_on_status_change(self.store, name, "school_down", "ok", "", urls=acc.notify)
                return result
        except WrongPassword as err:
            self.store.set_status(name, "needs_attention", str(err), bad_password_fp=fingerprint)
            gate.verdict()  # only now: the verdict is stored before the attempt record goes
            alert_on_status_change(self.store, name, state.status, "needs_attention", str(err), urls=acc.notify)
            return self._fail(check_id, report, err, logged_in)
        except AccountLocked as err:
            self.store.set_status(name, "paused", str(err), paused_until=now + LOCK_PAUSE)
            gate.verdict()
            alert_on_status_change(self.store, name, state.status, "paused", str(err), urls=acc.notify)
            return self._fail(check_id, report, err, logged_in)
        except WrongCaptcha as err:
            gate.verdict()
            return self._fail(check_id, report, err, logged_in)
        except NeedsUserAction as err:  # only the student can do it (a second factor, other sessions): wait
            self.store.set_status(name, "paused", str(err), paused_until=now + LOCK_PAUSE)
            gate.verdict()
            alert_on_status_change(self.store, name, state.status, "paused", str(err), urls=acc.notify)
            return self._fail(check_id, report, err, logged_in)
        except SchoolError as err:
            if gate.unknown:
                return self._unknown_answer(name, check_id, report, err, password)
            if err.kind == "login_held":
                self.store.finish_check(check_id, "skipped", str(err))
                return report("skipped", str(err))
            if isinstance(err, SchoolUnavailable) and self._school_outage(state, now, ok=False) == "down":
                alert_on_status_change(self.store, name, "ok", "school_down", str(err), urls=acc.notify)
            return self._fail(check_id, report, err, logged_in)
        except Exception as err:  # a bug must not stop the other accounts; keep the trace in the log
            log.exception("check of %s failed unexpectedly", name)
            self.store.finish_check(check_id, "internal_error", f"{type(err).__name__}: {err}")
            if gate.unknown:
                self.store.set_status(name, "needs_attention", held_reason(name, now))
            return report("internal_error", f"{type(err).__name__}: {err}")
        finally:  # the dashboard's first-try accuracy: more than one answer means the first was refused
            record_captcha_tries(self.store, check_id, adapter.stats.captcha_submissions)

    def _school_outage(self, state: AccountState, now: datetime, *, ok: bool) -> str | None:
        return school_outage_change(state.last_ok_at, state.last_check_at, now, self.config.school_alert_hours, ok=ok)

    def _unknown_answer(self, name: str, check_id: int, report: partial[CheckReport], err: SchoolError,
                        password: str) -> CheckReport:
        """A POST went out and its answer was not understood: hold the password, say what the page said."""
        seen = getattr(err, "visible_text", "").replace(password, "***")
        detail = f"{err}" + (f"; the page says: «{seen}»" if seen else "")
        log.warning("%s: login answer not recognised: %s", name, detail)
        self.store.set_status(name, "needs_attention", f"{held_reason(name, self._clock())}. {detail}"[:1000])
        self.store.finish_check(check_id, err.kind, detail, logged_in=False)
        return report(err.kind, detail)

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
                                       channels=[t.channel for t in channels], expand=expander(channels))
        expedite_after_check(self.store, self.config, name, diff, baseline=not stored, now=self._clock())
        self.store.finish_check(check_id, "ok", logged_in=logged_in)
        n, c, r = diff.counts
        return report("ok", "", logged_in=logged_in, grades=len(grades), new=n, changed=c, removed=r)

    # ---- all accounts -----------------------------------------------------------------------
    def check_all(self, names: Iterable[str] | None = None, *, due_before: datetime | None = None,
                  wait: bool = True) -> list[CheckReport]:
        names = list(names if names is not None else self.config.accounts)
        check = partial(self.check_account, due_before=due_before, wait=wait)
        if len(names) <= 1:
            return [check(n) for n in names]
        workers = min(len(names), sum(s.max_concurrency for s in self.config.schools.values()))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="check") as pool:
            return list(pool.map(check, names))

    def send_pending(self, *, stop: threading.Event | None = None) -> DrainResult:
        return drain(self.store, self.targets, now=self._clock(), channels=self.channels,
                     owner=self._lease_owner, accounts=list(self.config.accounts), stop=stop,
                     notify_urls={name: acc.notify for name, acc in self.config.accounts.items()})


class _RequestCounter:
    """Counts the HTTP requests of one check, for the school's shared budget."""

    def __init__(self) -> None:
        self.n = 0

    def _count(self, _request: Any) -> None:
        self.n += 1

    def attach(self, adapter: Any) -> None:
        client = getattr(adapter, "client", None)
        if client is not None:
            hooks = dict(client.event_hooks)
            hooks["request"] = [*hooks.get("request", []), self._count]
            client.event_hooks = hooks


def gpa_line(config: Config, name: str, before: list[Grade], after: list[Grade]) -> str | None:
    """GPA before → after on the account's scale, for update notifications (None if not computable)."""
    from gradewatch.gpa import gpa_change_line

    return gpa_change_line(before, after, config.gpa_settings(name))
