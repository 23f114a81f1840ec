"""The old 正方 (ASP.NET) adapter against its simulator over loopback, with the shipped ``zf_legacy`` model."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import httpx
import pytest

from gradewatch.grades import Grade
from gradewatch.schools import adapter_class
from gradewatch.schools.detect import detect
from gradewatch.schools.errors import AccountLocked, SessionExpired, UnexpectedPage, WrongCaptcha, WrongPassword
from gradewatch.schools.zf_legacy import PATH_COOKIE, ZfLegacyAdapter, parse_grades

from .helpers import creds, same_grades

SchoolSim = Any  # tests/conftest.py's SchoolSim
MAKEUP = Grade(term="2021-2022-2", course_code="0701009", course_name="线性代数", score="61", credits=3.0,
               exam_type="补考", attempt="makeup", course_nature="必修", course_category="公共基础课")


@pytest.fixture(scope="module")
def zfl_solver() -> Any:
    from gradewatch.captcha.solver import load_solver

    return load_solver("zf_legacy")


@pytest.fixture
def connect(adapters: Callable[..., Any], zfl_solver: Any) -> Callable[..., ZfLegacyAdapter]:
    return partial(adapters, ZfLegacyAdapter, solver=zfl_solver)


def test_registered_and_recognised() -> None:
    assert adapter_class("zf_legacy") is ZfLegacyAdapter
    page = '<form action="default2.aspx"><input name="__VIEWSTATE"><input name="txtUserName"></form>'
    assert ZfLegacyAdapter.recognise("http://jw.example.edu.cn/(S(abc123))/default2.aspx", page)
    assert not ZfLegacyAdapter.recognise("http://jw.example.edu.cn/jwglxt/xtgl/login_slogin.html", "<html></html>")
    assert ZfLegacyAdapter.base_url_from("http://jw.example.edu.cn/(S(abc123))/default2.aspx") == \
        "http://jw.example.edu.cn"
    assert ZfLegacyAdapter.base_url_from("http://a.edu.cn/jwxt/(x1y2z3)/default2.aspx") == "http://a.edu.cn/jwxt"
    assert ZfLegacyAdapter.base_url_from("http://a.edu.cn/default2.aspx") == "http://a.edu.cn"


@pytest.mark.parametrize("session_path", ["none", "S", "plain"])
def test_login_grades_and_session_reuse(make_school_sim: Callable[..., SchoolSim], connect: Any,
                                        session_path: str) -> None:
    sim = make_school_sim("zf_legacy", session_path=session_path)
    sim.admin.publish_grade(sim.username, MAKEUP)
    first = connect(sim)
    grades, logged_in = first.check(creds(sim))
    assert logged_in and same_grades(grades, sim.admin.grades(sim.username))
    assert any(g.exam_type == "补考" and g.attempt == "makeup" for g in grades)
    cookies = first.export_cookies()
    assert any(c["name"] == PATH_COOKIE for c in cookies) == (session_path != "none")
    again, logged_in = connect(sim, cookies=cookies).check(creds(sim))
    assert not logged_in and same_grades(again, grades)
    sim.admin.expire_sessions()
    with pytest.raises(SessionExpired):
        connect(sim, cookies=cookies).fetch_grades()
    assert sim.admin.stats(sim.username)["successful_logins"] == 1


def test_form_variants_and_no_captcha(make_school_sim: Callable[..., SchoolSim], connect: Any) -> None:
    sim = make_school_sim("zf_legacy", captcha=False, password_field="TextBox1", event_validation=False)
    grades, _ = connect(sim).check(creds(sim))
    assert same_grades(grades, sim.admin.grades(sim.username))
    assert sim.admin.stats(sim.username)["captcha_fetches"] == 0


def test_a_gbk_only_name_survives(make_school_sim: Callable[..., SchoolSim], connect: Any) -> None:
    sim = make_school_sim("zf_legacy")
    sim.admin.add_student("2021019999", "pw-2021", name="赵珺", grades=[MAKEUP])  # 珺 is GBK, not GB2312
    adapter = connect(sim)
    grades, _ = adapter.check(creds_of("2021019999", "pw-2021"))
    assert same_grades(grades, [MAKEUP])


def creds_of(user: str, password: str) -> Any:
    from gradewatch.schools.base import Credentials

    return Credentials(user, password)


def test_wrong_password_then_lock_and_unknown_user(make_school_sim: Callable[..., SchoolSim],
                                                   connect: Any) -> None:
    sim = make_school_sim("zf_legacy")
    for n in range(5):
        with pytest.raises(WrongPassword):
            connect(sim).login(creds(sim, f"guess-{n}"))
        assert sim.admin.stats(sim.username)["login_posts"] == n + 1
    with pytest.raises(AccountLocked, match="锁定"):
        connect(sim).login(creds(sim))
    with pytest.raises(WrongPassword):
        connect(sim).login(creds_of("1999999999", "x"))


def test_wrong_captcha_three_times(make_school_sim: Callable[..., SchoolSim], connect: Any) -> None:
    sim = make_school_sim("zf_legacy", session_path="S")
    sim.admin.control(reject_captcha=True)
    with pytest.raises(WrongCaptcha):
        connect(sim).login(creds(sim))
    assert sim.admin.stats(sim.username)["outcomes"]["wrong_captcha"] == 3


def test_broken_grade_page_is_unexpected(make_school_sim: Callable[..., SchoolSim], connect: Any) -> None:
    sim = make_school_sim("zf_legacy")
    adapter = connect(sim)
    adapter.check(creds(sim))
    sim.admin.control(broken_grades=True)
    with pytest.raises(UnexpectedPage, match="grade table is not as expected"):
        adapter.fetch_grades()


def test_parse_grades_maps_columns_by_header() -> None:
    from selectolax.lexbor import LexborHTMLParser

    page = ('<table id="DataGrid1"><tr><td>课程名称</td><td>学年</td><td>学期</td><td>课程代码</td><td>成绩</td>'
            '<td>学分</td><td>重修成绩</td></tr><tr><td>高等数学</td><td>2021-2022</td><td>1</td><td>0701001</td>'
            '<td>&nbsp;</td><td>5.0</td><td>75</td></tr></table>')
    [g] = parse_grades(LexborHTMLParser(page))
    assert (g.term, g.course_code, g.score, g.exam_type, g.attempt, g.credits) == \
        ("2021-2022-1", "0701001", "75", "重修", "retake", 5.0)
    with pytest.raises(ValueError, match="学期"):
        parse_grades(LexborHTMLParser('<table id="Datagrid1"><tr><td>学年</td></tr></table>'))


@pytest.mark.parametrize("session_path", ["none", "S"])
def test_detect_names_it(make_school_sim: Callable[..., SchoolSim], session_path: str) -> None:
    sim = make_school_sim("zf_legacy", session_path=session_path)
    for url in (sim.root_url, sim.root_url + "/default2.aspx"):
        found, final, _ = detect(url)
        assert found is not None and (found.system, found.base_url) == ("zf_legacy", sim.base_url), final


def test_simulator_speaks_like_asp_net(make_school_sim: Callable[..., SchoolSim]) -> None:
    sim = make_school_sim("zf_legacy", session_path="S")
    with httpx.Client(base_url=sim.root_url) as http:
        first = http.get("/default2.aspx")
        assert first.status_code == 302 and "/(S(" in first.headers["location"]
        seg = first.headers["location"].rsplit("/", 1)[0]
        page = http.get(first.headers["location"])
        assert "charset=gb2312" in page.headers["content-type"] and "__VIEWSTATE" in page.content.decode("gbk")
        image = http.get(seg + "/CheckCode.aspx")
        assert image.headers["content-type"] == "image/gif" and image.content[:6] in (b"GIF87a", b"GIF89a")
        import io

        from PIL import Image

        assert Image.open(io.BytesIO(image.content)).size == (72, 27)
        no_state = http.post(seg + "/default2.aspx", content=b"txtUserName=a&TextBox2=b",
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert no_state.status_code == 500 and "视图状态" in no_state.content.decode("gbk")
        assert sim.admin.stats()["unknown_user_posts"] == 0  # not a login attempt
        grades = http.get(seg + f"/xscjcx.aspx?xh={sim.username}")
        assert grades.status_code == 302 and grades.headers["location"].endswith("/default2.aspx")
