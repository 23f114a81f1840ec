"""The SSFW simulator's variants, spoken to the way published clients speak to real SSFW schools."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from selectolax.lexbor import LexborHTMLParser

from gradewatch.sim.captchas import FileCaptchas
from gradewatch.sim.server import RunningSim
from gradewatch.sim.ssfw import GRADES_MENU_WID

from .helpers import Browser


@pytest.fixture
def start(make_ssfw_sim: Callable[..., RunningSim],
          captcha_folder: tuple[Path, dict[bytes, str]]) -> Iterator[Callable[..., tuple[RunningSim, Browser]]]:
    made: list[Browser] = []

    def go(**options: Any) -> tuple[RunningSim, Browser]:
        sim = make_ssfw_sim(captchas=FileCaptchas.load(captcha_folder[0], seed=1), **options)
        b = Browser(sim.base_url, captcha_folder[1])
        made.append(b)
        return sim, b

    yield go
    for b in made:
        b.close()


def test_original_schools_grade_page_is_the_default(start: Callable[..., tuple[RunningSim, Browser]]) -> None:
    sim, b = start()
    b.login(sim.username, sim.password)
    assert GRADES_MENU_WID == "1E057E24ABAB4CAFE0540010E0235690"
    page = LexborHTMLParser(b.http.get("/ssfw/jwnavmenu.do", params={"menuItemWid": GRADES_MENU_WID}).text)
    assert page.css_first('div[title="有效成绩"] table.t_con') is not None


def test_mode_field_as_the_form_has_it(start: Callable[..., tuple[RunningSim, Browser]]) -> None:
    sim, b = start(mode="db")
    field = LexborHTMLParser(b.open_login().text).css_first('input[type="hidden"][name="mode"]')
    assert field is not None and field.attributes["value"] == "db"


def test_portal_landing(start: Callable[..., tuple[RunningSim, Browser]]) -> None:
    sim, b = start(landing="portal")
    resp = b.login(sim.username, sim.password)
    assert resp.status_code == 302 and resp.headers["location"] == "/ssfw/common/ajaxLoginResult.jsp?success=true"
    assert b.http.get(resp.headers["location"]).status_code == 200


def test_cjxx_grade_page(start: Callable[..., tuple[RunningSim, Browser]]) -> None:
    sim, b = start(grade_page="cjxx", score_header="期末总评成绩")
    b.login(sim.username, sim.password)
    form = {"optype": "query", "isFirst": "1", "qXndm_ys": "", "qXqdm_ys": "", "currentSelectTabId": "01"}
    page = LexborHTMLParser(b.http.post("/ssfw/zhcx/cjxx.do", data=form).text)
    table = page.css_first("div#tab01 table.ui_table")
    assert table is not None
    head = [th.text(strip=True) for th in table.css("th")]
    assert head[1:4] == ["学年学期", "课程号", "课程名称"] and "期末总评成绩" in head
    rows = table.css("tr.t_con")
    assert len(rows) == len(sim.admin.grades(sim.username))
    assert rows[0].css("td")[1].text(strip=True) == "2021-2022学年第一学期"
    one_term = b.http.post("/ssfw/zhcx/cjxx.do", data={**form, "qXndm_ys": "2021-2022", "qXqdm_ys": "2"})
    terms = {r.css("td")[1].text(strip=True) for r in LexborHTMLParser(one_term.text).css("tr.t_con")}
    assert terms == {"2021-2022学年第二学期"}
    # Real clients also GET it (the page with no query).
    assert LexborHTMLParser(b.http.get("/ssfw/zhcx/cjxx.do").text).css_first("div#tab01") is not None
