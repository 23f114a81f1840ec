"""Each adapter over every simulator variant of the field notes, with no options: the adapter must tell
the variant from the pages. Plus the ZF vendor verdicts, each mapped to its own meaning."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from gradewatch.schools.errors import (
    AccountLocked,
    NoStudentRole,
    PortalLoginRequired,
    WrongPassword,
)
from gradewatch.schools.qiangzhi import QiangzhiAdapter
from gradewatch.schools.ssfw import DEFAULT_MENU_ITEM_WID, SsfwAdapter
from gradewatch.schools.zf import ZfAdapter
from gradewatch.sim import ssfw as ssfwsim
from gradewatch.sim import zf as zfsim

from .helpers import creds, same_grades

SchoolSim = Any


@pytest.fixture(scope="module")
def solvers() -> dict[str, Any]:
    from gradewatch.captcha.solver import load_solver

    return {name: load_solver(name) for name in ("ssfw", "zf", "qiangzhi")}


def shown(grades: list[Any]) -> list[tuple[Any, ...]]:
    """What every grade page shows (the zhcx/cjxx.do page has no exam type or category column)."""
    return sorted((g.term, g.course_code, g.course_name, g.score, g.credits) for g in grades)


def check_twice(adapters: Any, cls: type, sim: SchoolSim, solver: Any, *, full: bool = True,
                **kwargs: Any) -> list[Any]:
    """A first check (login) and a second one on the stored cookies (no login), as the watcher does."""
    first = adapters(cls, sim, solver=solver, **kwargs)
    grades, logged = first.check(creds(sim))
    published = sim.admin.grades(sim.username)
    assert logged and (same_grades(grades, published) if full else shown(grades) == shown(published))
    again = adapters(cls, sim, solver=solver, cookies=first.export_cookies(), **kwargs)
    grades2, logged2 = again.check(creds(sim))
    assert not logged2 and grades2 == grades
    return grades


@pytest.mark.parametrize(("reason", "error"), [("disabled", AccountLocked), ("no_role", NoStudentRole),
                                               ("portal", PortalLoginRequired)])
def test_zf_maps_each_vendor_refusal(make_school_sim: Callable[..., SchoolSim], adapters: Any,
                                     reason: str, error: type) -> None:
    sim = make_school_sim("zf", captcha=False, refuse={"2021010001": reason})
    with pytest.raises(error) as caught:
        adapters(ZfAdapter, sim, solver=None).login(creds(sim))
    assert zfsim.REFUSALS[reason] in str(caught.value)
    assert not isinstance(caught.value, WrongPassword)
    if reason != "disabled":  # only 用户已被禁用 pauses the account like a lock
        assert not isinstance(caught.value, AccountLocked)
    assert sim.admin.stats(sim.username)["login_posts"] == 0  # refused before the password was judged


def test_zf_unknown_user_is_a_wrong_password(make_school_sim: Callable[..., SchoolSim], adapters: Any) -> None:
    sim = make_school_sim("zf", captcha=False)
    with pytest.raises(WrongPassword):
        adapters(ZfAdapter, sim, solver=None).login(creds(sim).__class__("1999999999", "x"))


@pytest.mark.parametrize("options", [
    {"modulus": "signed", "csrftoken": False},
    {"grade_endpoints": "dg", "fields": "sparse", "max_show_count": 7},
    {"captcha_policy": "after_failures", "route_cookie": True},
], ids=["signed-no-csrf", "dg-sparse-paged", "vendor-captcha-route"])
def test_zf_variants(make_school_sim: Callable[..., SchoolSim], adapters: Any, solvers: dict[str, Any],
                     options: dict[str, Any]) -> None:
    sim = make_school_sim("zf", **options)
    check_twice(adapters, ZfAdapter, sim, solvers["zf"], options={"page_size": 7})


@pytest.mark.parametrize("options", [
    {"login": "ldap"},
    {"login": "logon_ldap"},
    {"login": "direct", "context": "/njlgdx", "home": "framework/xsMainV.htmlx"},
    {"login": "seed", "home": "framework/xsMain_new.jsp", "grades": "json"},
    {"login": "ldap", "table": ["wide", "components", "linked", "split_header"], "captcha_markup": "wrapper",
     "error_markup": "errorinfo"},
], ids=["LoginToXkLdap", "logonLdap", "njlgdx-xsMainV", "json-list", "table-variants"])
def test_qiangzhi_variants(make_school_sim: Callable[..., SchoolSim], adapters: Any, solvers: dict[str, Any],
                           options: dict[str, Any]) -> None:
    sim = make_school_sim("qiangzhi", **options)
    check_twice(adapters, QiangzhiAdapter, sim, solvers["qiangzhi"], options={"page_size": 4})


def test_qiangzhi_json_list_is_paged(make_school_sim: Callable[..., SchoolSim], adapters: Any,
                                     solvers: dict[str, Any]) -> None:
    sim = make_school_sim("qiangzhi", login="direct", grades="json")
    adapter = adapters(QiangzhiAdapter, sim, solver=solvers["qiangzhi"], options={"page_size": 3})
    grades, _ = adapter.check(creds(sim))
    total = len(sim.admin.grades(sim.username))
    assert len(grades) == total and sim.admin.stats(sim.username)["grade_fetches"] == -(-total // 3)


def test_ssfw_default_grade_page_is_the_original_schools() -> None:
    assert DEFAULT_MENU_ITEM_WID == ssfwsim.GRADES_MENU_WID == "1E057E24ABAB4CAFE0540010E0235690"


@pytest.mark.parametrize("options", [
    {"grade_page": "cjxx"},
    {"grade_page": "cjxx", "code_header": "课程代码", "score_header": "结课考核成绩", "mode": "db"},
    {"landing": "portal", "mode": "db"},
], ids=["cjxx", "cjxx-kcdm-db", "portal-landing"])
def test_ssfw_variants(make_school_sim: Callable[..., SchoolSim], adapters: Any, solvers: dict[str, Any],
                       options: dict[str, Any]) -> None:
    sim = make_school_sim("ssfw", **options)
    check_twice(adapters, SsfwAdapter, sim, solvers["ssfw"], full="grade_page" not in options)
    assert sim.sim.posted_modes == [options.get("mode", "local")]  # the hidden mode as the form had it
