"""The ZF (jwglxt) adapter against the ZF simulator over loopback, with the shipped ``zf`` captcha model."""

from __future__ import annotations

import base64
import urllib.parse
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from gradewatch.grades import Grade
from gradewatch.schools import adapter_class
from gradewatch.schools.errors import (
    AccountLocked,
    SchoolUnavailable,
    SessionExpired,
    UnexpectedPage,
    WrongCaptcha,
    WrongPassword,
)
from gradewatch.schools.zf import ZfAdapter, grade_of, parse_page, term_of
from gradewatch.sim.transcripts import DEMO_USERNAME

from .helpers import creds, same_grades

SchoolSim = Any  # tests/conftest.py's SchoolSim
NEW = Grade(term="2022-2023-2", course_code="0801021", course_name="计算机组成原理", score="87", credits=4.0,
            course_nature="必修", course_category="专业基础课")


@pytest.fixture(scope="module")
def zf_solver() -> Any:
    from gradewatch.captcha.solver import load_solver

    return load_solver("zf")


@pytest.fixture
def connect(adapters: Callable[..., Any], zf_solver: Any) -> Callable[..., ZfAdapter]:
    """An adapter with the shipped solver and no back-off sleeps."""
    return partial(adapters, ZfAdapter, solver=zf_solver)


@pytest.fixture
def zf(make_school_sim: Callable[..., SchoolSim]) -> SchoolSim:
    return make_school_sim("zf")


def test_registered_and_recognised() -> None:
    assert adapter_class("zf") is ZfAdapter
    url = "https://jwgl.example.edu.cn/jwglxt/xtgl/login_slogin.html?language=zh_CN"
    assert ZfAdapter.recognise(url, "")
    assert ZfAdapter.base_url_from(url) == "https://jwgl.example.edu.cn/jwglxt"
    assert ZfAdapter.base_url_from("http://10.1.2.3:8080/xtgl/login_slogin.html") == "http://10.1.2.3:8080"
    assert not ZfAdapter.recognise("https://example.edu.cn/ssfw/login.jsp", "<html></html>")


def test_login_and_grades_with_the_kaptcha(zf: SchoolSim, connect: Any) -> None:
    adapter = connect(zf)
    grades, logged_in = adapter.check(creds(zf))
    assert logged_in and same_grades(grades, zf.admin.grades(zf.username))
    assert len(grades) > 15  # more than one page of the simulator's 15
    stats = zf.admin.stats(zf.username)
    assert stats["successful_logins"] == 1 and stats["captcha_fetches"] >= 1
    makeup = next(g for g in grades if g.exam_type == "补考")
    assert (makeup.term, makeup.course_code, makeup.attempt, makeup.grade_point) == (
        "2021-2022-1", "1101001", "makeup", 1.4)


def test_password_never_travels_in_plaintext(zf: SchoolSim, connect: Any) -> None:
    connect(zf).login(creds(zf))
    bodies = list(zf.sim.login_bodies)
    assert bodies and zf.admin.stats(zf.username)["successful_logins"] == 1
    # The simulator decrypted mm with its private key (the login worked); no form of the password was sent.
    secret = zf.password.encode()
    plain = [secret, urllib.parse.quote_plus(zf.password).encode(), base64.b64encode(secret)]
    for body in bodies:
        assert b"mm=" in body
        assert not any(p in body for p in plain)


def test_without_captcha(make_school_sim: Callable[..., SchoolSim], connect: Any) -> None:
    sim = make_school_sim("zf", captcha=False)
    grades, _ = connect(sim).check(creds(sim))
    assert same_grades(grades, sim.admin.grades(sim.username))
    assert sim.admin.stats(sim.username)["captcha_fetches"] == 0


def test_notice_page_is_gotten_past(make_school_sim: Callable[..., SchoolSim], connect: Any) -> None:
    sim = make_school_sim("zf", notice_for=[DEMO_USERNAME])
    adapter = connect(sim)
    grades, _ = adapter.check(creds(sim))
    assert same_grades(grades, sim.admin.grades(sim.username))


def test_paging_by_option(make_school_sim: Callable[..., SchoolSim], connect: Any) -> None:
    sim = make_school_sim("zf", max_show_count=1000)
    grades, _ = connect(sim, options={"page_size": 3}).check(creds(sim))
    assert same_grades(grades, sim.admin.grades(sim.username))
    assert sim.admin.stats(sim.username)["grade_fetches"] == -(-len(grades) // 3)


def test_session_reuse_and_relogin(zf: SchoolSim, connect: Any) -> None:
    first = connect(zf)
    first.check(creds(zf))
    zf.admin.publish_grade(zf.username, NEW)
    again = connect(zf, cookies=first.export_cookies())
    grades, logged_in = again.check(creds(zf))
    assert not logged_in and any(g.course_name == "计算机组成原理" for g in grades)
    zf.admin.expire_sessions()
    with pytest.raises(SessionExpired):
        again.fetch_grades()
    grades, logged_in = again.check(creds(zf))
    assert logged_in and zf.admin.stats(zf.username)["successful_logins"] == 2


def test_wrong_captcha_three_times(zf: SchoolSim, connect: Any) -> None:
    zf.admin.control(reject_captcha=True)
    with pytest.raises(WrongCaptcha):
        connect(zf).login(creds(zf))
    stats = zf.admin.stats(zf.username)
    assert stats["login_posts"] == 3 and stats["outcomes"]["wrong_captcha"] == 3


def test_wrong_password_posted_once_and_lock(zf: SchoolSim, connect: Any) -> None:
    for n in range(5):
        with pytest.raises(WrongPassword):
            connect(zf).login(creds(zf, f"guess-{n}"))
        assert zf.admin.stats(zf.username)["login_posts"] == n + 1
    with pytest.raises(AccountLocked, match="禁用"):
        connect(zf).login(creds(zf))


def test_broken_page_and_down(zf: SchoolSim, connect: Any) -> None:
    adapter = connect(zf)
    adapter.login(creds(zf))
    zf.admin.control(broken_grades=True)
    with pytest.raises(UnexpectedPage, match="did not answer JSON"):
        adapter.fetch_grades()
    zf.admin.control(down=True)
    with pytest.raises(SchoolUnavailable, match="503"):
        connect(zf).login(creds(zf))


ITEM = {"kch": "0801021", "kcmc": "计算机组成原理", "cj": "87", "xf": "4.0", "jd": "3.70", "ksxz": "正常考试",
        "xnm": "2022", "xnmmc": "2022-2023", "xqm": "12", "xqmmc": "2", "kcxzmc": "必修", "kclbmc": "专业基础课"}


def test_grade_of_maps_the_json_keys() -> None:
    g = grade_of(ITEM)
    assert g is not None and g.key == "2022-2023-2|0801021|正常考试"
    assert (g.score, g.credits, g.grade_point, g.course_nature) == ("87", 4.0, 3.7, "必修")
    assert term_of({"xnm": "2023", "xqm": "16"}) == "2023-2024-3"  # from the codes when the names are absent
    assert grade_of({**ITEM, "cjsfzf": "是"}) is None  # voided
    assert grade_of({**ITEM, "cj": ""}) is None  # not graded yet
    retake = grade_of({**ITEM, "ksxz": "重修"})
    assert retake is not None and retake.attempt == "retake"


@pytest.mark.parametrize(
    "data", [{"items": "x"}, {"rows": []}, [], {"items": [1]}, {"items": [], "totalPage": "many"}]
)
def test_parse_page_refuses_other_shapes(data: Any) -> None:
    with pytest.raises(ValueError):
        parse_page(data)


def test_grade_of_refuses_unreadable_items() -> None:
    for bad in ({**ITEM, "xnmmc": "", "xnm": ""}, {**ITEM, "kch": "", "kch_id": ""}, {**ITEM, "xf": "four"}):
        with pytest.raises(ValueError):
            grade_of(bad)
