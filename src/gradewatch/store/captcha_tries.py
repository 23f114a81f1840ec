"""Captcha tries per check, and the first-try accuracy per school the dashboard shows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select

from gradewatch.store.db import Store
from gradewatch.store.models import Account, Check


def record_captcha_tries(store: Store, check_id: int, answers: int) -> None:
    """``answers`` captcha answers went to the school in this (finished) check; nothing is stored for
    none. The first was accepted when it was the only one and the check did not end refusing it."""
    if answers <= 0:
        return
    with store.session() as s:
        row = s.get(Check, check_id)
        if row is not None:
            row.captcha_answers = answers
            row.captcha_first_ok = answers == 1 and row.outcome != "wrong_captcha"


def first_try_accuracy(store: Store, since: datetime) -> dict[str, tuple[int, int]]:
    """Per school: (logins whose first captcha answer was accepted, logins that sent one) since ``since``."""
    ok = func.sum(case((Check.captcha_first_ok.is_(True), 1), else_=0))
    stmt = (select(Account.school, ok, func.count()).join(Account, Account.id == Check.account_id)
            .where(Check.started_at >= since, Check.captcha_first_ok.is_not(None)).group_by(Account.school))
    with store.session() as s:
        return {school: (int(n_ok or 0), int(n)) for school, n_ok, n in s.execute(stmt)}
