"""The 强智 (jsxsd) adapter against the 强智 simulator over loopback, with the shipped ``qiangzhi`` model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

import pytest
from selectolax.lexbor import LexborHTMLParser

from gradewatch.grades import Grade
from gradewatch.schools import adapter_class
from gradewatch.schools.errors import (
    AccountLocked,
    SchoolError,
    SchoolUnavailable,
    SessionExpired,
    UnexpectedPage,
    WrongCaptcha,
    WrongPassword,
)
from gradewatch.schools.qiangzhi import QiangzhiAdapter, encode_seed, parse_grades
from gradewatch.sim.qiangzhi import decode_seed

from .helpers import creds, same_grades

SchoolSim = Any  # tests/conftest.py's SchoolSim
NEW = Grade(term="2022-2023-2", course_code="0801021", course_name="计算机组成原理", score="87", credits=4.0,
            course_nature="必修", course_category="专业基础课")


@pytest.fixture(scope="module")
def qz_solver() -> Any:
    from gradewatch.captcha.solver import load_solver

    return load_solver("qiangzhi")


@pytest.fixture
def connect(adapters: Callable[..., Any], qz_solver: Any) -> Callable[..., QiangzhiAdapter]:
    """An adapter with the shipped solver and no back-off sleeps."""
    return partial(adapters, QiangzhiAdapter, solver=qz_solver)


@pytest.fixture
def qz(make_school_sim: Callable[..., SchoolSim]) -> SchoolSim:
    return make_school_sim("qiangzhi")


def test_registered_and_recognised() -> None:
    assert adapter_class("qiangzhi") is QiangzhiAdapter
    assert QiangzhiAdapter.recognise("http://jwxt.example.edu.cn/jsxsd/xk/LoginToXk", "")
    assert QiangzhiAdapter.base_url_from("http://jwxt.example.edu.cn/jsxsd/") == "http://jwxt.example.edu.cn"
    assert QiangzhiAdapter.base_url_from("http://a.edu.cn/jw/Logon.do?method=logon") == "http://a.edu.cn/jw"
    assert QiangzhiAdapter.base_url_from("http://a.edu.cn/") == "http://a.edu.cn"
    assert not QiangzhiAdapter.recognise("http://a.edu.cn/xtgl/login_slogin.html", "<html></html>")


@pytest.mark.parametrize("variant", ["seed", "direct"])
def test_login_and_grades(make_school_sim: Callable[..., SchoolSim], connect: Any, variant: str) -> None:
    sim = make_school_sim("qiangzhi", login=variant)
    grades, logged_in = connect(sim, options={"login": variant}).check(creds(sim))
    assert logged_in and same_grades(grades, sim.admin.grades(sim.username))
    stats = sim.admin.stats(sim.username)
    assert stats["successful_logins"] == 1 and stats["captcha_fetches"] >= 1


@pytest.mark.parametrize("variant", ["seed", "direct"])
def test_variant_is_read_from_the_login_form(make_school_sim: Callable[..., SchoolSim], connect: Any,
                                             variant: str) -> None:
    sim = make_school_sim("qiangzhi", login=variant)
    adapter = connect(sim)  # no options: login = "auto"
    assert adapter.variant == "auto"
    grades, _ = adapter.check(creds(sim))
    assert adapter.variant == variant and same_grades(grades, sim.admin.grades(sim.username))


def test_wrong_variant_option_is_a_school_error(qz: SchoolSim, connect: Any) -> None:
    with pytest.raises(SchoolError, match="seed"):
        connect(qz, options={"login": "ldap"}).login(creds(qz))


def test_without_captcha(make_school_sim: Callable[..., SchoolSim], connect: Any) -> None:
    sim = make_school_sim("qiangzhi", captcha=False)
    grades, _ = connect(sim).check(creds(sim))
    assert grades and sim.admin.stats(sim.username)["captcha_fetches"] == 0


def test_columns_are_mapped_by_header(make_school_sim: Callable[..., SchoolSim], connect: Any) -> None:
    columns = ["考试性质", "课程名称", "学分", "成绩", "开课学期", "课程编号", "课程属性", "课程性质"]
    sim = make_school_sim("qiangzhi", columns=columns)
    grades, _ = connect(sim).check(creds(sim))
    assert sorted(grades, key=lambda g: g.key) == sorted(sim.admin.grades(sim.username), key=lambda g: g.key)


def test_keys_survive_a_shifted_row_number(qz: SchoolSim, connect: Any) -> None:
    adapter = connect(qz)
    before, _ = adapter.check(creds(qz))
    qz.admin.publish_grade(qz.username, replace(NEW, term="2021-2022-1", course_code="0000001"))  # sorts first
    after, logged_in = adapter.check(creds(qz))
    assert not logged_in
    old = {g.key: g for g in before}
    assert all(old[g.key] == g for g in after if g.key in old) and len(after) == len(before) + 1


def test_evicted_session_just_logs_in_again(qz: SchoolSim, connect: Any) -> None:
    first = connect(qz)
    first.check(creds(qz))
    connect(qz).login(creds(qz))  # someone logs in elsewhere: the first session is gone
    with pytest.raises(SessionExpired):
        first.fetch_grades()
    grades, logged_in = first.check(creds(qz))
    assert logged_in and grades
    assert qz.admin.stats(qz.username)["successful_logins"] == 3


def test_session_reuse_through_exported_cookies(qz: SchoolSim, connect: Any) -> None:
    first = connect(qz)
    first.check(creds(qz))
    qz.admin.publish_grade(qz.username, NEW)
    grades, logged_in = connect(qz, cookies=first.export_cookies()).check(creds(qz))
    assert not logged_in and any(g.course_name == "计算机组成原理" for g in grades)


def test_wrong_captcha_three_times(qz: SchoolSim, connect: Any) -> None:
    qz.admin.control(reject_captcha=True)
    with pytest.raises(WrongCaptcha):
        connect(qz).login(creds(qz))
    assert qz.admin.stats(qz.username)["outcomes"]["wrong_captcha"] == 3


@pytest.mark.parametrize("variant", ["seed", "direct"])
def test_wrong_password_once_then_lock(make_school_sim: Callable[..., SchoolSim], connect: Any, variant: str) -> None:
    sim = make_school_sim("qiangzhi", login=variant)
    for n in range(5):
        with pytest.raises(WrongPassword):
            connect(sim, options={"login": variant}).login(creds(sim, f"guess-{n}"))
        assert sim.admin.stats(sim.username)["login_posts"] == n + 1
    with pytest.raises(AccountLocked, match="锁定"):
        connect(sim, options={"login": variant}).login(creds(sim))


def test_broken_page_and_down(qz: SchoolSim, connect: Any) -> None:
    adapter = connect(qz)
    adapter.login(creds(qz))
    qz.admin.control(broken_grades=True)
    with pytest.raises(UnexpectedPage, match="not as expected"):
        adapter.fetch_grades()
    qz.admin.control(down=True)
    with pytest.raises(SchoolUnavailable, match="503"):
        connect(qz).login(creds(qz))


def test_seed_encoding_matches_the_server() -> None:
    scode, sxh = "q" * 10 + "W" * 10 + "e" * 44, "31203120312031203120"
    text = "2021010001%%%a-rather-long-password"
    encoded = encode_seed(text, scode, sxh)
    assert encoded.startswith("2qqq0q2qq1") and encoded.endswith("ng-password")
    assert decode_seed(encoded, sxh) == text


HEADER = "<th>序号</th><th>开课学期</th><th>课程编号</th><th>课程名称</th><th>成绩</th>"


def _page(rows: str, header: str = HEADER) -> Any:
    return LexborHTMLParser(f'<table id="dataList"><tr>{header}</tr>{rows}</table>')


def test_parse_grades_edge_cases() -> None:
    assert parse_grades(_page('<tr><td colspan="5">未查询到数据</td></tr>')) == []
    [g] = parse_grades(_page("<tr><td>7</td><td>2023-2024-1</td><td>X1</td><td>课</td><td>91</td></tr>"))
    assert (g.key, g.exam_type, g.credits) == ("2023-2024-1|X1|正常考试", "正常考试", None)
    with pytest.raises(ValueError, match="成绩"):
        parse_grades(_page("", header="<th>开课学期</th><th>课程编号</th><th>课程名称</th>"))
    with pytest.raises(ValueError, match="cells"):
        parse_grades(_page("<tr><td>1</td><td>2023-2024-1</td></tr>"))
    with pytest.raises(ValueError, match="term"):
        parse_grades(_page("<tr><td>1</td><td>2023秋</td><td>X1</td><td>课</td><td>91</td></tr>"))
    with pytest.raises(ValueError, match="dataList"):
        parse_grades(LexborHTMLParser("<p>请先完成教学评价</p>"))
