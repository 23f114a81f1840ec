"""Fast detection on a real SQLite store: who is moved up, how far apart, and who is not."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update

import suite_db
from gradewatch.config import Config, config_from_dict
from gradewatch.diff import GradeDiff
from gradewatch.grades import Grade
from gradewatch.secrets import Vault
from gradewatch.store.db import Store, utcnow
from gradewatch.store.models import Account
from gradewatch.watch.expedite import expedite_after_check, record_enrolments

TERM = "2022-2023-2"
G = Grade(term=TERM, course_code="0801021", course_name="计算机组成原理", score="90")


def _setup(tmp: Path, n: int, per_minute: int = 30) -> tuple[Store, Config]:
    cfg = config_from_dict({"schools": {"uni": {"system": "qiangzhi", "base_url": "http://127.0.0.1:9",
                                                "expedite_per_minute": per_minute}}},
                           base_dir=tmp)
    store = Store.open(suite_db.database_url(tmp / "gw.db"), Vault.open(tmp / "gw.key"))
    for i in range(n):
        store.ensure_account(f"s{i}", school="uni", system="qiangzhi", username=f"u{i}")
    with store.session() as s:
        s.execute(update(Account).values(next_check_at=utcnow() + timedelta(hours=2)))
    return store, cfg


def _next(store: Store) -> dict[str, datetime]:
    with store.session() as s:
        return {a: t for a, t in s.execute(select(Account.id, Account.next_check_at))}


def test_spread_within_the_school_rate_and_only_classmates_without_the_grade(tmp_path: Path) -> None:
    store, cfg = _setup(tmp_path, 8, per_minute=6)
    for i in range(6):  # s0..s5 take the course (强智 timetable: by name only); s6, s7 do not
        record_enrolments(store, f"s{i}", "uni", [(TERM, "", G.course_name)])
    store.apply_grades("s1", store.start_check("s1"), [G], lambda *a: [], [])  # s1 already has it
    now = utcnow()
    moved = expedite_after_check(store, cfg, "s0", GradeDiff(new=[G]), now=now, rng=random.Random(1))
    assert sorted(moved) == ["s2", "s3", "s4", "s5"]
    times = sorted(_next(store)[m] for m in moved)
    assert times[0] == now and all(b - a == timedelta(seconds=10) for a, b in zip(times, times[1:], strict=False))
    # A second finder books after the first batch, never on top of it; s2..s5 are already due sooner.
    again = expedite_after_check(store, cfg, "s0", GradeDiff(new=[G]), now=now)
    assert again == []
    assert expedite_after_check(store, cfg, "s0", GradeDiff(new=[G]), baseline=True, now=now) == []


def test_without_timetable_former_classmates_stand_in(tmp_path: Path) -> None:
    store, cfg = _setup(tmp_path, 4)
    shared = [("2022-2023-1", f"080100{k}", f"课{k}") for k in range(3)]
    record_enrolments(store, "s0", "uni", shared)
    record_enrolments(store, "s1", "uni", shared)  # three courses together before
    record_enrolments(store, "s2", "uni", shared[:2])  # only two: not a likely classmate
    moved = expedite_after_check(store, cfg, "s0", GradeDiff(new=[G]), now=utcnow())
    assert moved == ["s1"]


def test_an_expedited_account_keeps_its_own_phase(tmp_path: Path) -> None:
    from gradewatch.watch.expedite import regular_next

    store, cfg = _setup(tmp_path, 2)
    record_enrolments(store, "s0", "uni", [(TERM, G.course_code, G.course_name)])
    record_enrolments(store, "s1", "uni", [(TERM, G.course_code, G.course_name)])
    regular = _next(store)["s1"]
    now = utcnow()
    assert expedite_after_check(store, cfg, "s0", GradeDiff(new=[G]), now=now) == ["s1"]
    proposed = now + timedelta(minutes=80)
    assert regular_next(store, "s1", proposed, now) == regular  # back to its own slot, not now + interval
    assert regular_next(store, "s1", proposed, now) == proposed  # only once


def test_office_hours_rhythm() -> None:
    from gradewatch.watch.rhythm import SCHOOL_TZ, interval_at

    day = datetime(2027, 1, 4, 10, 0, tzinfo=SCHOOL_TZ)
    assert interval_at(day, timedelta(minutes=80)) == timedelta(minutes=80)
    night = datetime(2027, 1, 4, 23, 0, tzinfo=SCHOOL_TZ)
    assert interval_at(night, timedelta(minutes=80)) == timedelta(minutes=240)
    dawn = datetime(2027, 1, 5, 7, 0, tzinfo=SCHOOL_TZ)
    spread = {interval_at(dawn, timedelta(minutes=80), rng=random.Random(k)) for k in range(50)}
    # Into the morning's first interval (08:00-09:20), spread out, never a herd at 08:00 sharp.
    assert all(timedelta(hours=1) <= d < timedelta(minutes=140) for d in spread) and len(spread) == 50
