"""Each adapter reads its system's timetable (课表) from the simulator: the exam period's courses,
graded or not; the session check works there too."""

from __future__ import annotations

from typing import Any

import pytest

from gradewatch.schools import adapter_class
from gradewatch.schools.base import Credentials
from gradewatch.schools.errors import SessionExpired
from gradewatch.sim.transcripts import CATALOGUE, TERMS

OPTIONS = {"ssfw": {}, "zf": {"captcha": False}, "qiangzhi": {"login": "seed", "captcha": False}}
OPEN_TERM = TERMS[3]  # the demo student's exam period: nothing graded yet


@pytest.mark.parametrize("system", ["ssfw", "zf", "qiangzhi"])
def test_timetable_lists_taken_courses_graded_or_not(system: str, make_school_sim: Any, ssfw_solver: Any) -> None:
    sim = make_school_sim(system, **OPTIONS[system])
    adapter = adapter_class(system)(sim.base_url, solver=ssfw_solver, sleep=lambda _s: None)
    with adapter:
        with pytest.raises(SessionExpired):
            adapter.fetch_courses()
        adapter.login(Credentials(sim.username, sim.password))
        current = adapter.fetch_courses()
        expected = {(c.code, c.name) for c in CATALOGUE if c.term_index == 3}
        assert {t for t, _, _ in current} == {OPEN_TERM}
        if system == "qiangzhi":  # its timetable shows names only
            assert {(code, name) for _, code, name in current} == {("", n) for _, n in expected}
        else:
            assert {(code, name) for _, code, name in current} == expected
        # A graded term by name: the courses of the grades.
        graded = adapter.fetch_courses(TERMS[0])
        names = {g.course_name for g in sim.sim.students[sim.username].grades.values() if g.term == TERMS[0]}
        assert {n for _, _, n in graded} == names and {t for t, _, _ in graded} == {TERMS[0]}
