"""Who checks which account when: short leases with a heartbeat, and the check schedule in the database.

Every claim is one conditional UPDATE (``… WHERE the lease is free AND the account is due``), which
is atomic on PostgreSQL and SQLite alike: of N workers racing for an account, exactly one wins, and
together they check each account once per interval.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import case, func, literal, or_, select, update
from sqlalchemy.orm import Session, aliased

from gradewatch.store.models import Account, SchoolState, UTCDateTime
from gradewatch.store.schools import insert_ignoring_duplicates

log = logging.getLogger(__name__)


@contextlib.contextmanager
def kept_renewed(renew: Callable[[], bool], every: timedelta, what: str) -> Iterator[threading.Event]:
    """Call ``renew`` every ``every`` in a thread while the block runs (an account lease during a
    check, an outbox claim during a send); the event it yields is set once ``renew`` says the hold
    is lost. A renewal that raises (a database busy past its wait) is logged and tried again at the
    next beat, not the end of the heartbeat: a hold left to run out lets a second worker in."""
    stop, lost = threading.Event(), threading.Event()

    def beat() -> None:
        while not stop.wait(every.total_seconds()):
            try:
                held = renew()
            except Exception as err:  # noqa: BLE001 - the next beat tries again, well within the hold
                log.warning("%s: could not renew (%s); trying again", what, type(err).__name__)
                continue
            if not held:
                lost.set()
                log.warning("%s: lost while still in use", what)
                return

    t = threading.Thread(target=beat, name=f"renew {what}"[:60], daemon=True)
    t.start()
    try:
        yield lost
    finally:
        stop.set()
        t.join(5)


def _pid_namespace() -> str:
    with contextlib.suppress(OSError):
        return os.readlink("/proc/self/ns/pid").removeprefix("pid:[").removesuffix("]")
    return "0"


def new_owner() -> str:
    """This process's lease-holder id: host, pid namespace and pid (for the liveness check), a nonce."""
    return f"{socket.gethostname()}:{_pid_namespace()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_is_dead(owner: str) -> bool:
    """True only when ``owner`` is a process of this host and pid namespace that no longer runs."""
    parts = owner.rsplit(":", 3)
    if len(parts) != 4 or parts[0] != socket.gethostname() or parts[1] != _pid_namespace():
        return False
    try:
        pid = int(parts[2])
    except ValueError:
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    with contextlib.suppress(OSError, IndexError):  # a killed child its parent has not reaped yet
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] == "Z"
    return False


@dataclass(frozen=True)
class LeaseInfo:
    account: str
    owner: str
    until: datetime


class LeaseMixin:
    """Lease and schedule operations of the Store (needs ``session()``)."""

    def session(self) -> contextlib.AbstractContextManager[Session]:  # provided by Store
        raise NotImplementedError

    def now(self) -> datetime:  # provided by Store: the database's time
        raise NotImplementedError

    def acquire_lease(self, account_id: str, owner: str, ttl: timedelta, *, now: datetime | None = None,
                      due_before: datetime | None = None, school_cap: int | None = None) -> bool:
        """Take the account's lease unless a live holder has it; with ``due_before``, only if the account
        is due by then; with ``school_cap``, only while fewer of its school's accounts are leased."""
        now = now or self.now()
        with self.session() as s:
            conds = [Account.id == account_id,
                     or_(Account.lease_until.is_(None), Account.lease_until < now, Account.lease_owner == owner)]
            if due_before is not None:
                conds.append(or_(Account.next_check_at.is_(None), Account.next_check_at <= due_before))
            if school_cap is not None:
                school_name = s.scalar(select(Account.school).where(Account.id == account_id))
                if school_name is None:
                    return False
                if s.get_bind().dialect.name == "postgresql":
                    # Serialise the count-then-claim per school (SQLite serialises all writers anyway).
                    insert_ignoring_duplicates(s, SchoolState, {"school": school_name, "failures": 0,
                                                                "last_error": "", "window_requests": 0})
                    s.execute(select(SchoolState.school).where(SchoolState.school == school_name).with_for_update())
                other = aliased(Account)
                school = select(Account.school).where(Account.id == account_id).scalar_subquery()
                busy = (select(func.count()).select_from(other)
                        .where(other.school == school, other.lease_until >= now, other.id != account_id,
                               other.lease_owner.is_not(None))
                        .scalar_subquery())
                conds.append(busy < school_cap)
            res = s.execute(update(Account).where(*conds).values(lease_owner=owner, lease_until=now + ttl))
            return bool(res.rowcount)  # type: ignore[attr-defined]

    def renew_lease(self, account_id: str, owner: str, ttl: timedelta) -> bool:
        """The heartbeat: push the lease on while the check runs. False if it was lost."""
        with self.session() as s:
            res = s.execute(update(Account).where(Account.id == account_id, Account.lease_owner == owner)
                            .values(lease_until=self.now() + ttl))
            return bool(res.rowcount)  # type: ignore[attr-defined]

    def release_lease(self, account_id: str, owner: str, *, next_check_at: datetime | None = None,
                      claimed_at: datetime | None = None) -> None:
        """Give the lease back; with ``next_check_at``, reschedule the account at the same time —
        unless someone moved its check to after ``claimed_at`` meanwhile (a classmate's new grade)."""
        values: dict[str, object] = {"lease_owner": None, "lease_until": None}
        if next_check_at is not None:
            untouched = or_(Account.next_check_at.is_(None), Account.next_check_at <= (claimed_at or next_check_at))
            at = literal(next_check_at, UTCDateTime())
            values["next_check_at"] = case((untouched, at), else_=Account.next_check_at)
        with self.session() as s:
            s.execute(update(Account).where(Account.id == account_id, Account.lease_owner == owner).values(**values))

    def reap_dead_leases(self) -> int:
        """Free the leases of processes of this host that died (kill -9): their accounts wait no longer."""
        with self.session() as s:
            owners = set(s.scalars(select(Account.lease_owner).where(Account.lease_owner.is_not(None))))
            dead = [o for o in owners if o and owner_is_dead(o)]
            if not dead:
                return 0
            res = s.execute(update(Account).where(Account.lease_owner.in_(dead))
                            .values(lease_owner=None, lease_until=None))
            return int(res.rowcount)  # type: ignore[attr-defined]

    def leases(self) -> list[LeaseInfo]:
        with self.session() as s:
            rows = s.execute(select(Account.id, Account.lease_owner, Account.lease_until)
                             .where(Account.lease_owner.is_not(None), Account.lease_until.is_not(None)))
            return [LeaseInfo(a, o, u) for a, o, u in rows if o is not None and u is not None]

    # ---- the schedule -------------------------------------------------------------------------
    def due_accounts(self, names: Iterable[str], now: datetime) -> list[str]:
        """Accounts among ``names`` due by ``now`` with no live lease, longest-waiting first."""
        wanted = list(names)
        if not wanted:
            return []
        with self.session() as s:
            q = (select(Account.id, Account.next_check_at)
                 .where(Account.id.in_(wanted),
                        or_(Account.next_check_at.is_(None), Account.next_check_at <= now),
                        or_(Account.lease_until.is_(None), Account.lease_until < now)))
            rows = list(s.execute(q))
        return [a for a, _ in sorted(rows, key=lambda r: (r[1] is not None, r[1] or now, r[0]))]

    def schedule(self, names: Iterable[str]) -> dict[str, datetime | None]:
        """Each account's next check time (None: due now)."""
        with self.session() as s:
            rows = s.execute(select(Account.id, Account.next_check_at).where(Account.id.in_(list(names))))
            return {a: t for a, t in rows}

    def schedule_check(self, account_id: str, at: datetime, *, only_earlier: bool = True) -> bool:
        """Move an account's next check to ``at`` (by default only if that is sooner)."""
        with self.session() as s:
            q = update(Account).where(Account.id == account_id)
            if only_earlier:
                q = q.where(or_(Account.next_check_at.is_(None), Account.next_check_at > at))
            return bool(s.execute(q.values(next_check_at=at)).rowcount)  # type: ignore[attr-defined]
