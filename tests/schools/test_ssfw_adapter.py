"""The SSFW adapter against the SSFW simulator over loopback, with the shipped captcha model."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from selectolax.lexbor import LexborHTMLParser

from gradewatch.grades import Grade
from gradewatch.schools import adapter_class
from gradewatch.schools.base import Credentials
from gradewatch.schools.errors import (
    AccountLocked,
    SchoolUnavailable,
    SessionExpired,
    UnexpectedPage,
    WrongCaptcha,
    WrongPassword,
)
from gradewatch.schools.ssfw import SsfwAdapter, normalise_term, parse_grades
from gradewatch.sim.captchas import FileCaptchas
from gradewatch.sim.server import RunningSim
from gradewatch.sim.ssfw import grade_rows
from gradewatch.sim.transcripts import demo_student

from .helpers import creds

REAL_CAPTCHAS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ssfw-captcha" / "train.tar.gz"


@pytest.fixture
def connect(adapters: Callable[..., Any], ssfw_solver: Any) -> Callable[..., SsfwAdapter]:
    """An adapter with the shipped solver and no back-off sleeps."""
    return partial(adapters, SsfwAdapter, solver=ssfw_solver)


def test_registered_and_recognised() -> None:
    assert adapter_class("ssfw") is SsfwAdapter
    assert SsfwAdapter.recognise("http://jw.example.edu.cn/ssfw/login.jsp", "")
    assert SsfwAdapter.recognise("http://x.edu.cn/", '<form action="/ssfw/j_spring_ids_security_check">')
    assert SsfwAdapter.recognise("http://x.edu.cn/a", '<img src="/ssfw/jwcaptcha.do">')
    assert not SsfwAdapter.recognise("http://x.edu.cn/jwglxt/xtgl/login_slogin.html", "<form id=yzm>")
    assert SsfwAdapter.base_url_from("http://jw.example.edu.cn/ssfw/login.jsp?x=1") == "http://jw.example.edu.cn"
    assert SsfwAdapter.base_url_from("https://x.edu.cn:8443/web/ssfw/index.do") == "https://x.edu.cn:8443/web"
    assert SsfwAdapter.base_url_from("http://x.edu.cn/ssfw") == "http://x.edu.cn"


@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
def test_login_and_grades(make_ssfw_sim: Callable[..., RunningSim], connect: Any, encoding: str) -> None:
    sim = make_ssfw_sim(encoding=encoding)
    adapter = connect(sim)
    grades, logged_in = adapter.check(creds(sim))
    assert logged_in
    published = sim.admin.grades(sim.username)
    assert sorted(grades, key=lambda g: g.key) == sorted(published, key=lambda g: g.key)
    by_key = {g.key: g for g in grades}
    failed = by_key["2021-2022-1|1101001|正常考试"]
    makeup = by_key["2021-2022-1|1101001|补考"]
    assert (failed.score, failed.attempt, makeup.score, makeup.attempt) == ("52", "normal", "64", "makeup")
    assert makeup.course_name == "高等数学A(1)" and makeup.credits == 5.0 and makeup.course_nature == "必修"
    assert by_key["2021-2022-2|1701002|正常考试"].score == "优秀"  # level grade
    assert by_key["2021-2022-1|1801001|正常考试"].score == "通过"  # pass/fail
    assert by_key["2022-2023-1|1902201|正常考试"].course_nature == "选修"
    stats = sim.admin.stats(sim.username)
    assert stats["successful_logins"] == 1 and stats["outcomes"]["wrong_password"] == 0
    assert adapter.stats.password_submissions == stats["login_posts"] <= 3


def test_new_grade_seen_on_the_next_fetch_without_login(ssfw_sim: RunningSim, connect: Any) -> None:
    adapter = connect(ssfw_sim)
    adapter.check(creds(ssfw_sim))
    new = Grade("2022-2023-2", "0801021", "计算机组成原理", "95", 4.0, course_nature="必修")
    ssfw_sim.admin.publish_grade(ssfw_sim.username, new)
    grades, logged_in = adapter.check(creds(ssfw_sim))
    assert not logged_in and new in grades
    assert ssfw_sim.admin.stats(ssfw_sim.username)["successful_logins"] == 1


def test_wrong_captcha_three_times(ssfw_sim: RunningSim, connect: Any) -> None:
    ssfw_sim.admin.control(reject_captcha=True)
    adapter = connect(ssfw_sim)
    with pytest.raises(WrongCaptcha):
        adapter.login(creds(ssfw_sim))
    assert adapter.stats.captcha_submissions == 3
    stats = ssfw_sim.admin.stats(ssfw_sim.username)
    assert stats["login_posts"] == 3 and stats["outcomes"]["wrong_captcha"] == 3
    assert stats["consecutive_wrong_passwords"] == 0


def test_wrong_password_is_posted_once(ssfw_sim: RunningSim, connect: Any) -> None:
    adapter = connect(ssfw_sim)
    with pytest.raises(WrongPassword):
        adapter.login(creds(ssfw_sim, "not-my-password"))
    stats = ssfw_sim.admin.stats(ssfw_sim.username)
    assert stats["outcomes"]["wrong_password"] == 1 and stats["outcomes"]["ok"] == 0
    # Only captcha misreads (if any) come before the one password verdict.
    assert stats["login_posts"] == stats["outcomes"]["wrong_captcha"] + 1 == adapter.stats.password_submissions


def test_locked_account(ssfw_sim: RunningSim, connect: Any) -> None:
    for _ in range(5):
        with pytest.raises(WrongPassword):
            connect(ssfw_sim).login(creds(ssfw_sim, "guess"))
    with pytest.raises(AccountLocked, match="锁定"):
        connect(ssfw_sim).login(creds(ssfw_sim))
    stats = ssfw_sim.admin.stats(ssfw_sim.username)
    assert stats["locked"] and stats["outcomes"]["locked"] == 1 and stats["successful_logins"] == 0


def test_session_reuse_through_exported_cookies(ssfw_sim: RunningSim, connect: Any) -> None:
    first = connect(ssfw_sim)
    first.login(creds(ssfw_sim))
    cookies = first.export_cookies()
    posts = ssfw_sim.admin.stats(ssfw_sim.username)["login_posts"]
    later = connect(ssfw_sim, cookies=cookies)
    grades, logged_in = later.check(creds(ssfw_sim))
    assert not logged_in and grades
    assert later.stats.captcha_fetches == 0
    assert ssfw_sim.admin.stats(ssfw_sim.username)["login_posts"] == posts


def test_expired_session_then_relogin(ssfw_sim: RunningSim, connect: Any) -> None:
    adapter = connect(ssfw_sim)
    adapter.login(creds(ssfw_sim))
    ssfw_sim.admin.expire_sessions()
    with pytest.raises(SessionExpired):
        adapter.fetch_grades()
    grades, logged_in = adapter.check(creds(ssfw_sim))
    assert logged_in and grades
    assert ssfw_sim.admin.stats(ssfw_sim.username)["successful_logins"] == 2


def test_broken_grade_page(ssfw_sim: RunningSim, connect: Any) -> None:
    adapter = connect(ssfw_sim)
    adapter.login(creds(ssfw_sim))
    ssfw_sim.admin.control(broken_grades=True)
    with pytest.raises(UnexpectedPage) as err:
        adapter.fetch_grades()
    assert "有效成绩" in str(err.value) and err.value.title == "系统提示"
    assert "NullPointerException" not in str(err.value)  # the page body never reaches a message


def test_wrong_menu_item_wid_is_an_unexpected_page(ssfw_sim: RunningSim, connect: Any) -> None:
    adapter = connect(ssfw_sim, options={"menu_item_wid": "0000"})
    with pytest.raises(UnexpectedPage):
        adapter.check(creds(ssfw_sim))


def test_school_down(ssfw_sim: RunningSim, connect: Any) -> None:
    ssfw_sim.admin.control(down=True)
    adapter = connect(ssfw_sim)
    with pytest.raises(SchoolUnavailable, match="503"):
        adapter.check(creds(ssfw_sim))
    assert ssfw_sim.admin.stats(ssfw_sim.username)["login_posts"] == 0


def test_nothing_listening_is_unavailable(connect: Any) -> None:
    from gradewatch.sim.server import bind, url_of

    with bind() as sock:
        url = url_of(sock)  # bound, not listening: connections are refused
    adapter = SsfwAdapter(url, solver=object(), sleep=lambda _s: None)  # type: ignore[arg-type]
    with adapter, pytest.raises(SchoolUnavailable):
        adapter.check(Credentials("u", "p"))


@pytest.mark.skipif(not REAL_CAPTCHAS.is_file(), reason=f"real SSFW captchas not present at {REAL_CAPTCHAS}")
def test_login_with_real_captchas(make_ssfw_sim: Callable[..., RunningSim], connect: Any) -> None:
    sim = make_ssfw_sim(captchas=FileCaptchas.load(REAL_CAPTCHAS, seed=3, limit=2000))
    adapter = connect(sim)
    grades, logged_in = adapter.check(creds(sim))
    assert logged_in and len(grades) == len(sim.admin.grades(sim.username))


# ---- the parser on its own ------------------------------------------------------------------


def page(rows: str, title: str = "有效成绩") -> LexborHTMLParser:
    return LexborHTMLParser(
        f'<html><body><div title="{title}"><table class="t_con"><tr><th>序号</th></tr>'
        f"{rows}</table></div></body></html>"
    )


def test_parse_round_trips_the_simulator_rows() -> None:
    grades = demo_student().grades
    assert sorted(parse_grades(page(grade_rows(grades))), key=str) == sorted(grades, key=str)


def test_parse_empty_transcript() -> None:
    assert parse_grades(page(grade_rows([]))) == []


@pytest.mark.parametrize(
    "rows",
    [
        '<tr><td align="center">1</td><td align="center">2021-</td></tr>',  # truncated
        grade_rows(demo_student().grades[:2]) + '<tr><td align="center">3</td><td>2021-2022-1</td></tr>',
        grade_rows(demo_student().grades[:1]).replace("2021-2022-1", "第一学期"),
        grade_rows(demo_student().grades[:1]).replace(">5.0<", ">五<"),
    ],
)
def test_parse_refuses_partial_garbage(rows: str) -> None:
    with pytest.raises(ValueError):
        parse_grades(page(rows))


def test_parse_needs_the_valid_grades_block() -> None:
    with pytest.raises(ValueError, match="有效成绩"):
        parse_grades(page(grade_rows(demo_student().grades), title="原始成绩"))


def test_parse_skips_rows_without_a_score() -> None:
    g = demo_student().grades[0]
    rows = grade_rows([g]).replace(f">{g.score}<", "><")
    assert parse_grades(page(rows)) == []


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("2021-2022-1", "2021-2022-1"),
        ("2021-2022学年第一学期", "2021-2022-1"),
        ("2021-2022学年 第2学期", "2021-2022-2"),
        ("2021-2022 3", "2021-2022-3"),
        ("2021", None),
        ("第一学期", None),
    ],
)
def test_normalise_term(text: str, term: str | None) -> None:
    assert normalise_term(text) == term
