"""The store: one object the watcher talks to. Knows SQL, not HTTP or schools."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from gradewatch.diff import GradeDiff, diff_grades, keyed
from gradewatch.grades import Grade
from gradewatch.secrets import Vault
from gradewatch.store.clock import DatabaseClock, wall_clock
from gradewatch.store.engine import MIGRATIONS, StoreError, describe, explain, make_engine, migrate
from gradewatch.store.leases import LeaseMixin
from gradewatch.store.models import Account, Check, CurrentGrade, GradeChange, OutboxMessage
from gradewatch.store.outbox import OutboxMixin
from gradewatch.store.schools import SchoolStateMixin, insert_ignoring_duplicates

__all__ = ["MIGRATIONS", "AccountState", "Notice", "Store", "StoreError", "utcnow"]


log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Notice:
    """A notification the watcher wants sent, before it has an outbox row per target."""

    kind: str  # baseline | update | alert
    subject: str
    body_text: str
    body_html: str
    # Filled by the notify renderer: the content as data (to render per channel), and which part
    # of how many this is for which channel of the account (a long message is split per channel).
    doc: Any = None
    part: int = 1
    parts: int = 1
    channel: str = ""
    #: The part's content as data (JSON, from notify.layout), so the outbox can render it again
    #: when the channel's URL is edited to another kind before it is sent. Empty: not kept.
    source: str = ""


@dataclass(frozen=True)
class AccountState:
    id: str
    status: str
    status_reason: str
    paused_until: datetime | None
    bad_password_fp: str | None
    baseline_done: bool
    has_session: bool
    last_check_at: datetime | None
    last_ok_at: datetime | None
    next_check_at: datetime | None = None
    lease_owner: str | None = None
    lease_until: datetime | None = None
    #: A password POST whose answer was never recognised (crash, unknown page): its fingerprint.
    login_attempt_fp: str | None = None
    login_attempt_at: datetime | None = None
    failed_checks: int = 0


class Store(LeaseMixin, SchoolStateMixin, OutboxMixin):
    def __init__(self, url: str, vault: Vault, *, host_clock: Callable[[], datetime] = wall_clock) -> None:
        self.url = url
        self.vault = vault
        self.engine: Engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.clock = DatabaseClock(self.engine, local=host_clock, on_offset=self._clock_is_off,
                                   on_failure=self._clock_unmeasured)

    @classmethod
    def open(cls, url: str, vault: Vault, *, host_clock: Callable[[], datetime] = wall_clock) -> Store:
        store = cls(url, vault, host_clock=host_clock)
        store.migrate()
        store.clock.refresh()
        return store

    def now(self) -> datetime:
        """The time every worker of this database agrees on (see :mod:`gradewatch.store.clock`)."""
        return self.clock.now()

    def _clock_unmeasured(self, error: str) -> None:
        log.warning("could not read the database server's clock (%s); this host's clock is used until it can "
                    "be read (tried again in 30 s)", error)

    def _clock_is_off(self, offset: timedelta) -> None:
        ahead = "behind" if offset > timedelta(0) else "ahead of"
        log.warning("this host's clock is %.0f s %s the database server's; leases and schedules use the "
                    "server's time", abs(offset.total_seconds()), ahead)

    def migrate(self) -> None:
        """Upgrade the schema (under a database-wide lock: many processes may start at once)."""
        migrate(self.engine)

    @property
    def _safe_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        self.clock.refresh()
        try:
            with self._sessions.begin() as s:
                yield s
        except OperationalError as err:  # locked, gone, read-only …: one line, not a traceback
            raise StoreError(f"database {self._safe_url}: {explain(describe(err))}") from None

    # ---- accounts ---------------------------------------------------------------------------
    def ensure_account(self, account_id: str, *, school: str, system: str, username: str) -> AccountState:
        with self.session() as s:
            # Idempotent: another process starting at the same moment may insert the same row.
            insert_ignoring_duplicates(s, Account, {
                "id": account_id, "school": school, "system": system, "username": username, "created_at": self.now(),
                "status": "ok", "status_reason": "", "baseline_done": False, "failed_checks": 0, "source": "config"})
            acc = self._get(s, account_id)
            if (acc.school, acc.system, acc.username) != (school, system, username):
                # A different login behind the same name: its old session and baseline mean nothing.
                acc.school, acc.system, acc.username = school, system, username
                acc.session_cookies = None
                acc.status, acc.status_reason, acc.bad_password_fp = "ok", "", None
            s.flush()
            return self._state(acc)

    def account_state(self, account_id: str) -> AccountState:
        with self.session() as s:
            acc = s.get(Account, account_id)
            if acc is None:
                raise StoreError(f"no account {account_id!r} in the store")
            return self._state(acc)

    def accounts(self) -> list[AccountState]:
        with self.session() as s:
            return [self._state(a) for a in s.scalars(select(Account).order_by(Account.id))]

    @staticmethod
    def _state(acc: Account) -> AccountState:
        return AccountState(
            id=acc.id, status=acc.status, status_reason=acc.status_reason, paused_until=acc.paused_until,
            bad_password_fp=acc.bad_password_fp, baseline_done=acc.baseline_done,
            has_session=acc.session_cookies is not None, last_check_at=acc.last_check_at, last_ok_at=acc.last_ok_at,
            next_check_at=acc.next_check_at, lease_owner=acc.lease_owner, lease_until=acc.lease_until,
            login_attempt_fp=acc.login_attempt_fp, login_attempt_at=acc.login_attempt_at,
            failed_checks=acc.failed_checks or 0,
        )

    def set_status(self, account_id: str, status: str, reason: str = "", *, paused_until: datetime | None = None,
                   bad_password_fp: str | None = None) -> None:
        with self.session() as s:
            acc = self._get(s, account_id)
            acc.status, acc.status_reason = status, reason
            acc.paused_until = paused_until
            acc.bad_password_fp = bad_password_fp
            if status != "ok":
                acc.session_cookies = None

    def _get(self, s: Session, account_id: str) -> Account:
        acc = s.get(Account, account_id)
        if acc is None:
            raise StoreError(f"no account {account_id!r} in the store")
        return acc

    # ---- the password-attempt intent (lockout-proof login) --------------------------------------
    def begin_login_attempt(self, account_id: str, fingerprint: str, at: datetime) -> None:
        """Written and committed *before* a password POST: until a recognised answer clears it, the
        attempt counts as a possibly wrong password."""
        with self.session() as s:
            acc = self._get(s, account_id)
            acc.login_attempt_fp, acc.login_attempt_at = fingerprint, at

    def clear_login_attempt(self, account_id: str) -> None:
        with self.session() as s:
            acc = self._get(s, account_id)
            acc.login_attempt_fp, acc.login_attempt_at = None, None

    def allow_retry(self, account_id: str) -> None:
        """The user confirms (`gradewatch accounts retry`): one more password try, checked soon."""
        with self.session() as s:
            acc = self._get(s, account_id)
            acc.login_attempt_fp, acc.login_attempt_at = None, None
            if acc.status == "needs_attention":
                acc.status, acc.status_reason, acc.bad_password_fp = "ok", "", None
            acc.next_check_at = self.now()

    # ---- secrets ----------------------------------------------------------------------------
    def load_cookies(self, account_id: str) -> list[dict[str, Any]]:
        with self.session() as s:
            token = self._get(s, account_id).session_cookies
        return list(self.vault.decrypt_json(token)) if token else []

    def save_cookies(self, account_id: str, cookies: Sequence[dict[str, Any]], *,
                     login_answered: bool = False) -> None:
        """Keep the session; ``login_answered`` also clears the password-attempt record, in the same
        transaction (a kill cannot leave a new session with the attempt still open)."""
        with self.session() as s:
            acc = self._get(s, account_id)
            if login_answered:
                acc.login_attempt_fp, acc.login_attempt_at = None, None
            acc.session_cookies = self.vault.encrypt_json(list(cookies)) if cookies else None
            acc.session_saved_at = self.now()

    def set_password(self, account_id: str, password: str) -> None:
        with self.session() as s:
            self._get(s, account_id).stored_password = self.vault.encrypt(password.encode())

    def stored_password(self, account_id: str) -> str | None:
        with self.session() as s:
            acc = s.get(Account, account_id)
            token = acc.stored_password if acc else None
        return self.vault.decrypt(token).decode() if token else None

    # ---- checks and grades ------------------------------------------------------------------
    def start_check(self, account_id: str) -> int:
        with self.session() as s:
            chk = Check(account_id=account_id, started_at=self.now(), outcome="running", message="")
            s.add(chk)
            self._get(s, account_id).last_check_at = chk.started_at
            s.flush()
            return chk.id

    def finish_check(self, check_id: int, outcome: str, message: str = "", *, logged_in: bool = False) -> None:
        with self.session() as s:
            chk = s.get(Check, check_id)
            if chk is None:
                raise StoreError(f"no check {check_id}")
            chk.outcome, chk.message, chk.logged_in = outcome, message[:500], logged_in
            chk.finished_at = self.now()
            acc = s.get(Account, chk.account_id)
            if acc is not None:  # consecutive failures, for `status`
                if outcome == "ok":
                    acc.failed_checks = 0
                elif outcome != "skipped":
                    acc.failed_checks = (acc.failed_checks or 0) + 1

    def grades(self, account_id: str) -> list[Grade]:
        with self.session() as s:
            rows = s.scalars(select(CurrentGrade).where(CurrentGrade.account_id == account_id))
            return [Grade.from_dict(r.data) for r in sorted(rows, key=lambda r: (r.data["term"], r.key))]

    def apply_grades(
        self,
        account_id: str,
        check_id: int,
        grades: Sequence[Grade],
        compose: Callable[[GradeDiff, list[Grade], list[Grade], bool], list[Notice]],
        targets: Sequence[str],
        channels: Sequence[str] | None = None,
        expand: Callable[[str, Notice], Sequence[Notice]] | None = None,
    ) -> GradeDiff:
        """Diff ``grades`` against the stored table and write the new table, the history and the
        notifications for every target in ONE transaction: either all of it lands or none does.

        ``compose(diff, before, after, first_check)`` turns the diff into notices; ``targets`` are the
        fingerprints of the account's notification URLs; ``channels`` (same order) their stable names,
        by which a message finds its URL when it is sent (so it follows an edited URL).
        ``expand(target, notice)``, if given, renders a notice for that target's channel, split into
        parts that fit it (one outbox row each; a part's own channel name wins).
        """
        names = list(channels) if channels is not None else [""] * len(targets)
        if len(names) != len(targets):
            raise ValueError("apply_grades: one channel name per target")
        now = self.now()
        with self.session() as s:
            acc = self._get(s, account_id)
            rows = {r.key: r for r in s.scalars(select(CurrentGrade).where(CurrentGrade.account_id == account_id))}
            before = {k: Grade.from_dict(r.data) for k, r in rows.items()}
            after = keyed(grades)
            diff = diff_grades(before, after)
            first = not acc.baseline_done
            for key, g in after.items():
                row = rows.get(key)
                if row is None:
                    s.add(CurrentGrade(account_id=account_id, key=key, data=g.to_dict(),
                                       first_seen=now, updated_at=now))
                elif Grade.from_dict(row.data) != g:
                    row.data, row.updated_at = g.to_dict(), now
            for key in set(rows) - set(after):
                s.delete(rows[key])
            for g in diff.new:
                s.add(GradeChange(account_id=account_id, check_id=check_id, key=g.key, change="new",
                                  old=None, new=g.to_dict(), at=now))
            for old, new in diff.changed:
                s.add(GradeChange(account_id=account_id, check_id=check_id, key=new.key, change="changed",
                                  old=old.to_dict(), new=new.to_dict(), at=now))
            for g in diff.removed:
                s.add(GradeChange(account_id=account_id, check_id=check_id, key=g.key, change="removed",
                                  old=g.to_dict(), new=None, at=now))
            if diff or first:
                for notice in compose(diff, list(before.values()), list(after.values()), first):
                    for target, channel in zip(targets, names, strict=True):
                        for n in expand(target, notice) if expand else [notice]:
                            s.add(OutboxMessage(account_id=account_id, check_id=check_id, target=target,
                                                channel=n.channel or channel, part=n.part, parts=n.parts,
                                                kind=n.kind, subject=n.subject, body_text=n.body_text,
                                                body_html=n.body_html, source=n.source or None,
                                                status="pending", attempts=0,
                                                next_attempt_at=now, last_error="", created_at=now))
            acc.baseline_done = True
            acc.last_ok_at = now
            chk = s.get(Check, check_id)
            if chk is not None:
                chk.n_grades = len(after)
                chk.n_new, chk.n_changed, chk.n_removed = diff.counts
            return diff

    def history(self, account_id: str) -> list[GradeChange]:
        with self.session() as s:
            q = select(GradeChange).where(GradeChange.account_id == account_id).order_by(GradeChange.id)
            return list(s.scalars(q))

    def checks(self, account_id: str | None = None, limit: int = 50) -> list[Check]:
        with self.session() as s:
            q = select(Check).order_by(Check.id.desc()).limit(limit)
            if account_id:
                q = q.where(Check.account_id == account_id)
            return list(s.scalars(q))

    # ---- outbox -----------------------------------------------------------------------------
    def due_messages(self, now: datetime | None = None, limit: int = 100) -> list[OutboxMessage]:
        now = now or self.now()
        with self.session() as s:
            q = (select(OutboxMessage).where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
                 .order_by(OutboxMessage.id).limit(limit))
            return list(s.scalars(q))

    def messages(self, account_id: str | None = None, status: str | None = None) -> list[OutboxMessage]:
        with self.session() as s:
            q = select(OutboxMessage).order_by(OutboxMessage.id)
            if account_id:
                q = q.where(OutboxMessage.account_id == account_id)
            if status:
                q = q.where(OutboxMessage.status == status)
            return list(s.scalars(q))

    def outbox_counts(self) -> dict[str, int]:
        with self.session() as s:
            q = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            return {status: n for status, n in s.execute(q)}

    def mark_sent(self, message_id: int) -> bool:
        """Record a delivery, once: False when the row was already recorded sent. Not tied to the
        claim, and over a "failed" or "dropped" another worker recorded after our claim ran out: a
        delivery is a fact either way (a failed row would be sent again by --retry-failed)."""
        with self.session() as s:
            res = s.execute(update(OutboxMessage)
                            .where(OutboxMessage.id == message_id, OutboxMessage.status != "sent")
                            .values(status="sent", sent_at=self.now(), last_error="",
                                    attempts=OutboxMessage.attempts + 1, claimed_by=None, claim_until=None))
            return bool(res.rowcount)  # type: ignore[attr-defined]

    def mark_attempt_failed(self, message_id: int, error: str, *, retry_at: datetime | None,
                            owner: str | None = None) -> bool:
        """Record a failed delivery; ``retry_at=None`` gives up (status failed). With ``owner``, only
        while that worker still holds the claim: a late failure must not overwrite what the worker
        that took the row over recorded (a "sent" turned "failed" is queued again by --retry-failed)."""
        values: dict[str, object] = {"attempts": OutboxMessage.attempts + 1, "last_error": error[:500],
                                     "claimed_by": None, "claim_until": None}
        if retry_at is None:
            values["status"] = "failed"
        else:
            values["next_attempt_at"] = retry_at
        with self.session() as s:
            q = update(OutboxMessage).where(OutboxMessage.id == message_id, OutboxMessage.status == "pending")
            if owner is not None:
                q = q.where(OutboxMessage.claimed_by == owner)
            return bool(s.execute(q.values(**values)).rowcount)  # type: ignore[attr-defined]

    def mark_dropped(self, message_id: int, reason: str, owner: str | None = None) -> bool:
        with self.session() as s:
            q = update(OutboxMessage).where(OutboxMessage.id == message_id, OutboxMessage.status == "pending")
            if owner is not None:
                q = q.where(OutboxMessage.claimed_by == owner)
            res = s.execute(q.values(status="dropped", last_error=reason, claimed_by=None, claim_until=None))
            return bool(res.rowcount)  # type: ignore[attr-defined]
