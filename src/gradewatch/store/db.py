"""The store: one object the watcher talks to. Knows SQL, not HTTP or schools."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import create_engine, event, func, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from gradewatch.diff import GradeDiff, diff_grades, keyed
from gradewatch.grades import Grade
from gradewatch.secrets import Vault
from gradewatch.store.models import Account, Check, CurrentGrade, GradeChange, OutboxMessage

MIGRATIONS = Path(__file__).parent / "migrations"


class StoreError(Exception):
    pass


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


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")  # readers don't block the writer
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


class Store:
    def __init__(self, url: str, vault: Vault) -> None:
        self.url = url
        self.vault = vault
        kwargs: dict[str, Any] = {}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 10}
            if url.startswith("sqlite:///") and ":memory:" not in url:
                Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(url, **kwargs)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def open(cls, url: str, vault: Vault) -> Store:
        store = cls(url, vault)
        store.migrate()
        return store

    def migrate(self) -> None:
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        try:
            with self.engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        except OperationalError as err:
            raise StoreError(f"cannot open database {self._safe_url}: {err.orig}") from None
        except SQLAlchemyError as err:
            raise StoreError(f"database {self._safe_url}: {type(err).__name__}") from None

    @property
    def _safe_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions.begin() as s:
            yield s

    # ---- accounts ---------------------------------------------------------------------------
    def ensure_account(self, account_id: str, *, school: str, system: str, username: str) -> AccountState:
        with self.session() as s:
            acc = s.get(Account, account_id)
            if acc is None:
                acc = Account(id=account_id, school=school, system=system, username=username, created_at=utcnow(),
                              status="ok", status_reason="", baseline_done=False)
                s.add(acc)
            elif (acc.school, acc.system, acc.username) != (school, system, username):
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

    # ---- leases -----------------------------------------------------------------------------
    def acquire_lease(self, account_id: str, owner: str, ttl: timedelta) -> bool:
        """Take the account's check lease unless another live holder has it (one atomic UPDATE)."""
        now = utcnow()
        with self.session() as s:
            res = s.execute(
                update(Account)
                .where(Account.id == account_id)
                .where(or_(Account.lease_until.is_(None), Account.lease_until < now, Account.lease_owner == owner))
                .values(lease_owner=owner, lease_until=now + ttl)
            )
            return bool(res.rowcount)  # type: ignore[attr-defined]

    def release_lease(self, account_id: str, owner: str) -> None:
        with self.session() as s:
            s.execute(
                update(Account)
                .where(Account.id == account_id, Account.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )

    # ---- secrets ----------------------------------------------------------------------------
    def load_cookies(self, account_id: str) -> list[dict[str, Any]]:
        with self.session() as s:
            token = self._get(s, account_id).session_cookies
        return list(self.vault.decrypt_json(token)) if token else []

    def save_cookies(self, account_id: str, cookies: Sequence[dict[str, Any]]) -> None:
        with self.session() as s:
            acc = self._get(s, account_id)
            acc.session_cookies = self.vault.encrypt_json(list(cookies)) if cookies else None
            acc.session_saved_at = utcnow()

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
            chk = Check(account_id=account_id, started_at=utcnow(), outcome="running", message="")
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
            chk.finished_at = utcnow()

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
        expand: Callable[[str, Notice], Sequence[Notice]] | None = None,
    ) -> GradeDiff:
        """Diff ``grades`` against the stored table and write the new table, the history and the
        notifications for every target in ONE transaction: either all of it lands or none does.

        ``compose(diff, before, after, first_check)`` turns the diff into notices; ``targets`` are the
        fingerprints of the account's notification URLs. ``expand(target, notice)``, if given, renders
        a notice for that target's channel, split into parts that fit it (one outbox row each).
        """
        now = utcnow()
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
                    for target in targets:
                        for n in expand(target, notice) if expand else [notice]:
                            s.add(OutboxMessage(account_id=account_id, check_id=check_id, target=target,
                                                channel=n.channel, part=n.part, parts=n.parts,
                                                kind=n.kind, subject=n.subject, body_text=n.body_text,
                                                body_html=n.body_html, status="pending", attempts=0,
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
        now = now or utcnow()
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

    def mark_sent(self, message_id: int) -> None:
        with self.session() as s:
            msg = s.get(OutboxMessage, message_id)
            if msg is not None:
                msg.status, msg.sent_at, msg.last_error = "sent", utcnow(), ""
                msg.attempts += 1

    def mark_attempt_failed(self, message_id: int, error: str, *, retry_at: datetime | None) -> None:
        """Record a failed delivery; ``retry_at=None`` gives up (status failed)."""
        with self.session() as s:
            msg = s.get(OutboxMessage, message_id)
            if msg is None:
                return
            msg.attempts += 1
            msg.last_error = error[:500]
            if retry_at is None:
                msg.status = "failed"
            else:
                msg.next_attempt_at = retry_at

    def mark_dropped(self, message_id: int, reason: str) -> None:
        with self.session() as s:
            msg = s.get(OutboxMessage, message_id)
            if msg is not None:
                msg.status, msg.last_error = "dropped", reason
