"""Fast detection: classmates get their grades at the same moment, so when one check finds a new
grade, the others in that course are checked soon instead of at their next regular time.

Two hooks, both called by the watcher after a successful grade fetch:

- :func:`refresh_courses` (inside the adapter's ``with`` block, right after ``adapter.check``):
  stores the account's enrolments — the courses of its grades and, at most once a day, the
  system's timetable/选课 list (one extra request), which also holds the courses not graded yet.
- :func:`expedite_after_check` (after ``store.apply_grades``): for each NEW first-attempt grade
  (school, term, course), every other account of that school enrolled in that course with no grade
  for it yet gets ``next_check_at`` moved up to *now + a small spread*. The spread books the
  school's expedite slots in ``school_state.expedite_until`` (shared by every worker), at most
  ``expedite_per_minute`` checks a minute (a school setting; default 60). Without a timetable,
  accounts that shared at least :data:`MIN_SHARED` courses with this one before stand in.

The scheduler then checks those accounts when they are due (it claims by ``next_check_at``), and
after such a check it asks :func:`regular_next` for the next time, so the account keeps its own
phase (the check it had regularly) instead of falling into step with its classmates.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from gradewatch.config import Config
from gradewatch.diff import GradeDiff
from gradewatch.grades import Grade
from gradewatch.schools.errors import SchoolError
from gradewatch.store.db import Store
from gradewatch.store.models import Account, CurrentGrade, Enrolment, SchoolState

log = logging.getLogger(__name__)

#: How often an account's timetable is read again (it changes with 选课, not by the hour).
COURSES_EVERY = timedelta(hours=24)
#: Expedited checks per minute per school when the school's options do not say.
DEFAULT_PER_MINUTE = 60
#: An expedited check booked further ahead than this is not worth it: regular polling is as fast.
MAX_AHEAD = timedelta(minutes=30)
#: Without a timetable: shared earlier courses that make another account a likely classmate.
MIN_SHARED = 3
#: Enrolment code of a course the timetable lists by name only (强智 shows no code there).
NAME_PREFIX = "name:"

Course = tuple[str, str, str]  # (term, code, name)


# ---- enrolments ------------------------------------------------------------------------------
def record_enrolments(store: Store, account: str, school: str, courses: Iterable[Course],
                      *, now: datetime | None = None) -> int:
    """Upsert (term, code, name) enrolments; a name-only course takes the code a grade gives it."""
    now = now or store.now()
    by_key: dict[tuple[str, str], str] = {}
    named: dict[tuple[str, str], str] = {}  # (term, name) -> code
    for term, code, name in courses:
        if code:
            by_key[(term, code)] = name
            named[(term, name)] = code
    for term, code, name in courses:
        if not code and (term, name) not in named:
            by_key[(term, NAME_PREFIX + name)] = name
    with store.session() as s:
        rows = s.scalars(select(Enrolment).where(Enrolment.account_id == account))
        existing = {(e.term, e.course_code): e for e in rows}
        for (term, code), name in by_key.items():
            row = existing.get((term, code))
            if row is None:
                s.add(Enrolment(account_id=account, term=term, course_code=code, school=school,
                                course_name=name, seen_at=now))
            else:
                row.seen_at, row.course_name, row.school = now, name, school
        for (term, code), row in existing.items():  # a name-only row whose code is now known
            if code.startswith(NAME_PREFIX) and (term, code.removeprefix(NAME_PREFIX)) in named:
                s.delete(row)
    return len(by_key)


def refresh_courses(store: Store, account: str, school: str, adapter: Any, grades: Sequence[Grade],
                    *, now: datetime | None = None) -> int:
    """Record the account's enrolments after a good fetch: its grades' courses, plus the timetable's
    current term when the system offers one and it was not read in the last :data:`COURSES_EVERY`.
    A timetable that fails is logged and skipped: it never fails the check."""
    now = now or store.now()
    courses: list[Course] = [(g.term, g.course_code, g.course_name) for g in grades]
    if getattr(adapter, "offers_courses", False):
        with store.session() as s:
            acc = s.get(Account, account)
            last = acc.courses_fetched_at if acc is not None else None
        if last is None or now - last >= COURSES_EVERY:
            try:
                courses += adapter.fetch_courses()
            except (SchoolError, NotImplementedError) as err:
                log.info("%s: timetable not read: %s", account, err)
            else:
                with store.session() as s:
                    acc = s.get(Account, account)
                    if acc is not None:
                        acc.courses_fetched_at = now
    return record_enrolments(store, account, school, courses, now=now)


# ---- expediting ------------------------------------------------------------------------------
def per_minute(config: Config, school: str) -> int:
    """Expedited checks a minute this school allows (``expedite_per_minute``; 0 turns it off)."""
    cfg = config.schools.get(school)
    return cfg.expedite_per_minute if cfg is not None else DEFAULT_PER_MINUTE


def expedite_after_check(store: Store, config: Config, account: str, diff: GradeDiff, *,
                         baseline: bool = False, now: datetime | None = None,
                         rng: random.Random | None = None) -> list[str]:
    """Move up the next check of this account's classmates in each course it just got a new grade
    for. Returns the accounts moved, in booking order. A baseline (first) check expedites nothing:
    its "new" grades are the whole transcript."""
    if baseline or not diff.new:
        return []
    now = now or store.now()
    rng = rng or random.Random()
    with store.session() as s:
        me = s.get(Account, account)
        if me is None:
            return []
        school = me.school
        rate = per_minute(config, school)
        if rate == 0:
            return []
        fresh = [g for g in diff.new if g.attempt == "normal"]
        wanted: dict[str, None] = {}
        for g in fresh:
            for other in _classmates(s, school, account, g) or _stand_ins(s, school, account, g):
                wanted.setdefault(other, None)
        if not wanted:
            return []
        order = list(wanted)
        rng.shuffle(order)  # nobody is always last
        return _book(s, school, order, rate, now)


def _classmates(s: Session, school: str, me: str, g: Grade) -> list[str]:
    """Accounts of the school enrolled in g's course and term, without a grade for it, checkable."""
    q = (
        select(Enrolment.account_id).join(Account, Account.id == Enrolment.account_id)
        .where(Enrolment.school == school, Enrolment.term == g.term, Enrolment.account_id != me,
               Account.status == "ok",
               or_(Enrolment.course_code == g.course_code, Enrolment.course_code == NAME_PREFIX + g.course_name))
        .where(~_has_grade(g))
        .distinct()
    )
    return list(s.scalars(q))


def _stand_ins(s: Session, school: str, me: str, g: Grade) -> list[str]:
    """Without a timetable: accounts that shared at least MIN_SHARED other courses with ``me``."""
    mine, theirs = aliased(Enrolment), aliased(Enrolment)
    q = (
        select(theirs.account_id)
        .join(mine, and_(mine.term == theirs.term, mine.course_code == theirs.course_code))
        .join(Account, Account.id == theirs.account_id)
        .where(mine.account_id == me, theirs.account_id != me, theirs.school == school, Account.status == "ok")
        .where(~_has_grade(g, theirs.account_id))
        .group_by(theirs.account_id)
        .having(func.count() >= MIN_SHARED)
    )
    return list(s.scalars(q))


def _has_grade(g: Grade, account_col: Any = Enrolment.account_id) -> Any:
    prefix = f"{g.term}|{g.course_code}|"
    return (
        select(CurrentGrade.key)
        .where(CurrentGrade.account_id == account_col, CurrentGrade.key.startswith(prefix, autoescape=True))
        .exists()
    )


def _book(s: Session, school: str, accounts: list[str], rate: int, now: datetime) -> list[str]:
    """Give each account a slot ``60/rate`` seconds after the previous one, starting at the end of the
    school's booked slots (or now); only ever earlier than the account's own next check."""
    state = _school_state(s, school)
    start = max(now, state.expedite_until or now)
    step = timedelta(minutes=1) / rate
    moved: list[str] = []
    slot = start
    rows = {a.id: a for a in s.scalars(select(Account).where(Account.id.in_(accounts)))}
    for name in accounts:
        if slot - now > MAX_AHEAD:
            break
        acc = rows.get(name)
        if acc is None:
            continue
        if acc.next_check_at is not None and acc.next_check_at <= slot:
            continue  # already due by then
        if acc.expedited_from is None:
            acc.expedited_from = acc.next_check_at
        acc.next_check_at = slot
        moved.append(name)
        slot += step
    if moved:
        state.expedite_until = slot
        log.info("fast detection at %s: %d classmate(s) checked within %s", school, len(moved), slot - now)
    return moved


def regular_next(store: Store, account: str, proposed: datetime, now: datetime) -> datetime:
    """When to check ``account`` next after a check that just ended: ``proposed`` (now + interval), or,
    when that check was one fast detection moved up, the regular time it had before. The scheduler
    calls this when it sets ``next_check_at``; without it, an expedited class checks in step forever
    after and covers the next release no better than one student would."""
    with store.session() as s:
        acc = s.get(Account, account)
        if acc is None or acc.expedited_from is None:
            return proposed
        regular, acc.expedited_from = acc.expedited_from, None
    return regular if regular > now else proposed


def _school_state(s: Session, school: str) -> SchoolState:
    """The school's shared state row, created when missing; locked for this transaction on PostgreSQL."""
    q = select(SchoolState).where(SchoolState.school == school)
    dialect = s.get_bind().dialect
    if isinstance(dialect, postgresql.dialect):
        q = q.with_for_update()
    state = s.scalars(q).first()
    if state is not None:
        return state
    state = SchoolState(school=school, failures=0, last_error="", window_requests=0)
    try:
        with s.begin_nested():
            s.add(state)
    except IntegrityError:  # another worker created it first
        state = s.scalars(q).one()
    return state
