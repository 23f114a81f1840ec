"""Spending a one-time row (a mailed sign-in link, a WeChat bind code): of two callers at once, in
one process or two, exactly one gets it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import InstrumentedAttribute, Session


def spend(s: Session, key: InstrumentedAttribute[Any], value: str, expires: InstrumentedAttribute[Any],
          returns: InstrumentedAttribute[Any], now: datetime) -> Any | None:
    """``returns`` of the live row whose ``key`` is ``value``, deleted by this call; None when there
    is none or another caller deleted it first (the delete's row count decides, not the read)."""
    table = key.class_
    found = s.scalar(select(returns).where(key == value, expires > now))
    if found is None:
        return None
    gone = s.execute(delete(table).where(key == value, expires > now))
    return found if int(gone.rowcount) == 1 else None  # type: ignore[attr-defined]
