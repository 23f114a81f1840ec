"""The web sign-up's real logins at schools, in the database: every web process and every restart
sees the same refused passwords, the same count per hour and the one login in flight.

A row is one login the sign-up made (or is making) for an account name. Starting one is an insert
that a unique index on the unfinished rows of a name allows once; the count of the hour is taken
after that insert, in the same transaction, so two processes cannot both take the last try.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gradewatch.store.db import Store
from gradewatch.store.models import SignupAttempt

#: A refused password is not sent again for this long.
REMEMBER = timedelta(hours=24)
#: A login unfinished for this long belongs to a web process that died mid-login: it no longer holds
#: the name. Far beyond what one login may take (its own timeouts end it within minutes).
ABANDONED = timedelta(minutes=15)

Refusal = Literal["refused", "busy", "limit"]


class _NotStarted(Exception):
    def __init__(self, reason: Refusal) -> None:
        self.reason: Refusal = reason


def start_attempt(store: Store, name: str, fingerprint: str, per_hour: int) -> int | Refusal:
    """The new attempt's id, or why none may start now: "refused" (the school refused this password,
    by its fingerprint, for ``name`` within a day), "busy" (another login for ``name`` is in flight)
    or "limit" (``per_hour`` logins started in the last hour). Looked at after the insert: a login that
    ended refusing the same password a moment ago is seen, whichever process made it."""
    now = store.now()
    with store.session() as s:
        s.execute(delete(SignupAttempt).where(SignupAttempt.started_at < now - REMEMBER))
        s.execute(update(SignupAttempt)
                  .where(SignupAttempt.name == name, SignupAttempt.finished_at.is_(None),
                         SignupAttempt.started_at < now - ABANDONED)
                  .values(finished_at=now))
    try:
        with store.session() as s:
            row = SignupAttempt(name=name, started_at=now)
            s.add(row)
            s.flush()  # the unique index refuses a second unfinished row here
            if _refused(s, name, fingerprint, now):
                raise _NotStarted("refused")  # rolls the insert back: a refused password costs no try
            started = s.scalar(select(func.count()).select_from(SignupAttempt).where(
                SignupAttempt.name == name, SignupAttempt.started_at > now - timedelta(hours=1)))
            if int(started or 0) > per_hour:
                raise _NotStarted("limit")
            return row.id
    except IntegrityError:
        return "busy"
    except _NotStarted as why:
        return why.reason


def finish_attempt(store: Store, attempt_id: int, refused_fp: str | None) -> None:
    """The login ended; ``refused_fp`` is the password's fingerprint when the school refused it."""
    with store.session() as s:
        s.execute(update(SignupAttempt).where(SignupAttempt.id == attempt_id)
                  .values(finished_at=store.now(), refused_fp=refused_fp))


def _refused(s: Session, name: str, fingerprint: str, now: datetime) -> bool:
    return s.scalar(select(SignupAttempt.id).where(
        SignupAttempt.name == name, SignupAttempt.refused_fp == fingerprint,
        SignupAttempt.started_at >= now - REMEMBER).limit(1)) is not None
