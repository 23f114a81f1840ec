"""The new URP (Spring Security) adapter against its simulator over loopback, with the shipped ``urp`` model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

import httpx
import pytest

from gradewatch.grades import Grade
from gradewatch.schools import adapter_class
from gradewatch.schools.detect import detect
from gradewatch.schools.errors import AccountLocked, SessionExpired, UnexpectedPage, WrongCaptcha, WrongPassword
from gradewatch.schools.urp import UrpAdapter, encode_password, grade_of, variant_of_script
from gradewatch.sim.urp import encode_password as sim_encode

from .helpers import creds

SchoolSim = Any  # tests/conftest.py's SchoolSim


def same(got: list[Grade], published: list[Grade]) -> bool:
    """The records carry no course category and the school adds the grade point: compare the rest."""
    def norm(gs: list[Grade]) -> list[Grade]:
        return sorted((replace(g, course_category="", grade_point=None) for g in gs), key=lambda g: g.key)

    return norm(got) == norm(published)


@pytest.fixture(scope="module")
def urp_solver() -> Any:
    from gradewatch.captcha.solver import load_solver

    return load_solver("urp")


@pytest.fixture
def connect(adapters: Callable[..., Any], urp_solver: Any) -> Callable[..., UrpAdapter]:
    return partial(adapters, UrpAdapter, solver=urp_solver)


def test_registered_recognised_and_hashes() -> None:
    assert adapter_class("urp") is UrpAdapter
    assert UrpAdapter.base_url_from("https://jwxt.example.edu.cn/login?errorCode=badCaptcha") == \
        "https://jwxt.example.edu.cn"
    assert not UrpAdapter.recognise("http://a.edu.cn/ssfw/login.jsp", '<form action="j_spring_ids_security_check">')
    # Known values: md5("") and md5("{Urp602019}") computed independently of both implementations.
    assert encode_password("", "md5") == "d41d8cd98f00b204e9800998ecf8427e"
    for variant in ("double", "salted", "md5"):
        assert encode_password("pä55", variant) == sim_encode("pä55", variant)
    assert encode_password("x", "salted").split("*")[1] == encode_password("x", "md5")
    page = "<script>function f(){{ $('#p').val(hex_md5(hex_md5(pwd), '1.8') + '*' + hex_md5(pwd)); }}</script>"
    assert variant_of_script(page) == "double"
    assert variant_of_script("<script>x = hex_md5(pwd) + \"*\" + hex_md5(pwd, '1.8');</script>") == "salted"
    assert variant_of_script("<script>x = hex_md5(pwd, '1.8');</script>") == "md5"


@pytest.mark.parametrize("password_hash", ["double", "salted", "md5"])
def test_login_grades_and_reuse(make_school_sim: Callable[..., SchoolSim], connect: Any, password_hash: str) -> None:
    sim = make_school_sim("urp", password_hash=password_hash)
    first = connect(sim, options={"page_size": 7})  # several pages of records
    grades, logged_in = first.check(creds(sim))
    assert logged_in and same(grades, sim.admin.grades(sim.username))
    again, logged_in = connect(sim, cookies=first.export_cookies()).check(creds(sim))
    assert not logged_in and same(again, grades)
    sim.admin.expire_sessions()
    with pytest.raises(SessionExpired):
        connect(sim, cookies=first.export_cookies()).fetch_grades()


def test_forced_wrong_hash_is_a_wrong_password(make_school_sim: Callable[..., SchoolSim], connect: Any) -> None:
    sim = make_school_sim("urp", password_hash="double")
    with pytest.raises(WrongPassword):
        connect(sim, options={"password_hash": "md5"}).login(creds(sim))


def test_wrong_password_then_lock(make_school_sim: Callable[..., SchoolSim], connect: Any) -> None:
    sim = make_school_sim("urp")
    for n in range(5):
        with pytest.raises(WrongPassword):
            connect(sim).login(creds(sim, f"guess-{n}"))
    with pytest.raises(AccountLocked):
        connect(sim).login(creds(sim))
    assert sim.admin.stats(sim.username)["locked"]


def test_wrong_captcha_three_times(make_school_sim: Callable[..., SchoolSim], connect: Any) -> None:
    sim = make_school_sim("urp")
    sim.admin.control(reject_captcha=True)
    with pytest.raises(WrongCaptcha):
        connect(sim).login(creds(sim))
    assert sim.admin.stats(sim.username)["outcomes"]["wrong_captcha"] == 3


def test_broken_data_is_unexpected(make_school_sim: Callable[..., SchoolSim], connect: Any) -> None:
    sim = make_school_sim("urp")
    adapter = connect(sim)
    adapter.check(creds(sim))
    sim.admin.control(broken_grades=True)
    with pytest.raises(UnexpectedPage, match="JSON"):
        adapter.fetch_grades()


def test_records_drafts_and_withheld_scores_are_skipped() -> None:
    rec: list[Any] = ["2021-2022-1-1", "0701001", "01", "", "05", "001", "", "1", 92.0, "", "", "高等数学", "",
                      5.0, 80, "必修", "正常考试", "", ""]
    g = grade_of(rec)
    assert g is not None and (g.term, g.score, g.credits, g.course_nature) == ("2021-2022-1", "92", 5.0, "必修")
    assert grade_of([*rec[:4], "02", *rec[5:]]) is None  # a draft
    assert grade_of([*rec[:8], -999, *rec[9:]]) is None  # evaluation not done
    with pytest.raises(ValueError):
        grade_of(rec[:5])


def test_detect_names_it(make_school_sim: Callable[..., SchoolSim]) -> None:
    sim = make_school_sim("urp")
    for url in (sim.root_url, sim.root_url + "/login"):
        found, final, _ = detect(url)
        assert found is not None and (found.system, found.base_url) == ("urp", sim.base_url), final


def test_simulator_refuses_a_stale_token_and_a_foreign_segment(make_school_sim: Callable[..., SchoolSim]) -> None:
    sim = make_school_sim("urp")
    with httpx.Client(base_url=sim.root_url) as http:
        http.get("/login")
        resp = http.post("/j_spring_security_check", data={"tokenValue": "forged", "j_username": sim.username,
                                                            "j_password": "x", "j_captcha": "x"})
        assert resp.status_code == 302 and resp.headers["location"] == "/login?errorCode=badCredentials"
        assert sim.admin.stats(sim.username)["login_posts"] == 0
        data = http.post("/student/integratedQuery/scoreQuery/ABCDEF0123/allTermScores/data")
        assert data.status_code == 302 and data.headers["location"] == "/login"
