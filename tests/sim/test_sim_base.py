"""The simulator base's shared pieces, served by the three simulators that use them (on loopback)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from gradewatch.sim.base import BoundedTable, Simulator, check_choice, int_param
from gradewatch.sim.captchas import FileCaptchas
from gradewatch.sim.qiangzhi import QiangzhiSimulator
from gradewatch.sim.server import RunningSim, running
from gradewatch.sim.ssfw import SsfwSimulator
from gradewatch.sim.transcripts import seeded_students
from gradewatch.sim.zf import ZfSimulator


def test_bounded_table_keeps_the_newest() -> None:
    table: BoundedTable[str, int] = BoundedTable(limit=3)
    for n, key in enumerate("abcd"):
        table[key] = n
    assert list(table) == ["b", "c", "d"]
    table["b"] = 9  # set again: now the newest, so "c" goes next
    table["e"] = 5
    assert list(table) == ["d", "b", "e"] and table["b"] == 9


def test_option_helpers() -> None:
    check_choice("mode", "db", ("local", "db"))
    with pytest.raises(ValueError, match="mode must be one of local, db, not 'x'"):
        check_choice("mode", "x", ("local", "db"))
    assert int_param("25", 10) == 25 and int_param("", 10) == 10 and int_param("2x", 10) == 10
    assert int_param(None, 3) == 3


# (simulator, captcha path, grade request, the text of its broken grade page, its captcha cache header)
CASES = [
    (SsfwSimulator, "/ssfw/jwcaptcha.do", ("GET", "/ssfw/jwnavmenu.do?menuItemWid=1E057E24ABAB4CAFE0540010E0235690"),
     "NullPointerException", "no-cache, no-store"),
    (ZfSimulator, "/jwglxt/kaptcha", ("POST", "/jwglxt/cjcx/cjcx_cxXsgrcj.html?doType=query"), "错误提示",
     "no-store, no-cache, must-revalidate"),
    (QiangzhiSimulator, "/verifycode.servlet", ("GET", "/jsxsd/kscj/cjcx_list"), "ORA-01000", "no-cache"),
]


@pytest.fixture(params=CASES, ids=lambda c: c[0].system)
def case(request: pytest.FixtureRequest) -> Iterator[tuple[RunningSim, tuple]]:  # type: ignore[type-arg]
    cls: type[Simulator] = request.param[0]
    images = [(label, f"image {label}".encode()) for label in ("ab12", "cd34", "ef56")]
    sim = cls(seeded_students(3, 2), captchas=FileCaptchas(images, seed=1))
    with running(sim) as live:
        yield live, request.param


def test_captcha_route_makes_a_session_and_binds_the_answer(case: tuple[RunningSim, tuple]) -> None:  # type: ignore[type-arg]
    live, (_cls, path, _grades, _broken, cache) = case
    with httpx.Client(base_url=live.base_url) as http:
        first = http.get(path)
        assert first.status_code == 200 and first.headers["cache-control"] == cache
        assert "JSESSIONID" in first.headers.get("set-cookie", "")  # a new session, with its cookie
        again = http.get(path)
        assert "set-cookie" not in again.headers  # the same session: no new cookie
    sessions = list(live.sim._sessions.values())
    assert len(sessions) == 1 and sessions[0].captcha is not None and sessions[0].captcha_fetches == 2
    assert live.admin.stats()["captcha_fetches"] == 2


def test_broken_grades_switch_answers_the_systems_error_page(case: tuple[RunningSim, tuple]) -> None:  # type: ignore[type-arg]
    live, (_cls, _path, (method, grades), broken, _cache) = case
    sim = live.sim
    student = sim.students[live.username]
    live.admin.control(broken_grades=True)
    # Log the student in directly on a server-side session (the login forms are tested per system).
    sess = sim.new_session(sim.scope_of(grades.split("?")[0]))
    sess.username = student.username
    if isinstance(sim, QiangzhiSimulator):
        sim._frm[sess.id] = None  # the grade list wants the query form opened first
    with httpx.Client(base_url=live.base_url, cookies={"JSESSIONID": sess.id}) as http:
        resp = http.request(method, grades)
    assert resp.status_code == 200 and broken in resp.text
    assert student.stats.grade_fetches == 1
