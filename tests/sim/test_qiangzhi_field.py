"""The 强智 simulator against requests built the way real pages and published clients build them
(one test per field-notes bullet)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from selectolax.lexbor import LexborHTMLParser

from gradewatch.schools.qiangzhi import encode_seed

from .test_qiangzhi_sim import KnownCaptchas, message, table

SchoolSim = Any


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.fixture
def start(make_school_sim: Callable[..., SchoolSim]) -> Any:
    made: list[httpx.Client] = []

    def go(**options: Any) -> tuple[Any, httpx.Client, KnownCaptchas]:
        captchas = KnownCaptchas()
        sim = make_school_sim("qiangzhi", captchas=captchas, **options)
        http = httpx.Client(base_url=sim.root_url, timeout=10, follow_redirects=True)
        made.append(http)
        return sim, http, captchas

    yield go
    for h in made:
        h.close()


def direct_login(http: httpx.Client, captchas: KnownCaptchas, sim: Any, ctx: str = "/jsxsd",
                 endpoint: str = "LoginToXk", password: str | None = None) -> httpx.Response:
    page = LexborHTMLParser(http.get(f"{ctx}/").text)
    hidden = {i.attributes["name"]: i.attributes.get("value") or "" for i in page.css('input[type="hidden"]')}
    code = captchas.answers[http.get(f"{ctx}/verifycode.servlet").content]
    form = {**hidden, "userAccount": sim.username, "userPassword": "", "RANDOMCODE": code,
            "encoded": f"{b64(sim.username)}%%%{b64(sim.password if password is None else password)}"}
    return http.post(f"{ctx}/xk/{endpoint}", data=form)


def test_login_form_markup_and_error_markup(start: Any) -> None:
    sim, http, captchas = start(login="direct")
    form = LexborHTMLParser(http.get("/jsxsd/").text).css_first("form#loginForm")
    assert form.css_first('input[type="hidden"][name="loginMethod"]') is not None
    assert form.css_first("img#SafeCodeImg") is not None
    resp = direct_login(http, captchas, sim, password="wrong")
    node = LexborHTMLParser(resp.text).css_first(".dlmi font[color=red]")  # jsxsd: red <font> in .dlmi
    assert node is not None and node.text(strip=True) == "用户名或密码错误"


def test_kdjw_error_markup_and_captcha_wrapper(start: Any) -> None:
    sim, http, captchas = start(login="direct", error_markup="errorinfo", captcha_markup="wrapper")
    page = LexborHTMLParser(http.get("/jsxsd/").text)
    wrapper = page.css_first("#SafeCodeImg")
    assert wrapper is not None and wrapper.tag != "img" and wrapper.css_first("img") is not None
    resp = direct_login(http, captchas, sim, password="wrong")
    assert LexborHTMLParser(resp.text).css_first("span#errorinfo").text(strip=True) == "用户名或密码错误"
    assert message(resp) == "用户名或密码错误"


def test_logon_seed_with_get_and_logon_ldap(start: Any) -> None:
    sim, http, captchas = start(login="logon_ldap")
    page = LexborHTMLParser(http.get("/").text)
    assert page.css_first("form#loginForm").attributes["action"] == "Logon.do?method=logonLdap"
    code = captchas.answers[http.get("/verifycode.servlet").content]
    seed = http.get("/Logon.do", params={"method": "logon", "flag": "sess"})  # GET, as real clients do
    scode, _, sxh = seed.text.partition("#")
    assert seed.status_code == 200 and len(sxh) == 20
    form = {"userAccount": sim.username, "userPassword": "", "RANDOMCODE": code,
            "encoded": encode_seed(f"{sim.username}%%%{sim.password}", scode, sxh)}
    home = http.post("/Logon.do?method=logonLdap", data=form)
    assert home.url.path == "/jsxsd/framework/xsMain.jsp" and sim.username in home.text


def test_login_to_xk_ldap_under_another_context_path(start: Any) -> None:
    sim, http, captchas = start(login="ldap", context="/njlgdx", home="framework/xsMain_new.jsp")
    assert http.get("/").url.path == "/njlgdx/"  # the root leads to the app's login page
    home = direct_login(http, captchas, sim, ctx="/njlgdx", endpoint="LoginToXkLdap")
    assert home.url.path == "/njlgdx/framework/xsMain_new.jsp" and sim.username in home.text
    assert http.get("/jsxsd/framework/xsMain.jsp").status_code == 404


def test_app_path_cookies_and_two_session_ids(start: Any) -> None:
    sim, http, captchas = start(login="seed")
    first = http.get("/")
    assert "Path=/" in first.headers["set-cookie"] and "Path=/jsxsd" not in first.headers["set-cookie"]
    code = captchas.answers[http.get("/verifycode.servlet").content]
    scode, _, sxh = http.get("/Logon.do?method=logon&flag=sess").text.partition("#")
    form = {"userAccount": sim.username, "userPassword": "", "RANDOMCODE": code,
            "encoded": encode_seed(f"{sim.username}%%%{sim.password}", scode, sxh)}
    hop = http.post("/Logon.do?method=logon", data=form, follow_redirects=False)
    ticket = http.get(hop.headers["location"], follow_redirects=False)
    assert "Path=/jsxsd" in ticket.headers["set-cookie"]  # the jsxsd session is scoped to the app path
    paths = sorted(c.path for c in http.cookies.jar if c.name == "JSESSIONID")
    assert paths == ["/", "/jsxsd"]
    app_id = next(c.value for c in http.cookies.jar if c.path == "/jsxsd")
    root_id = next(c.value for c in http.cookies.jar if c.path == "/")
    raw = httpx.Client(base_url=sim.root_url, timeout=10)
    try:  # a real cookie header with both: the first one valid for jsxsd wins, in either order
        for header in (f"JSESSIONID={app_id}; JSESSIONID={root_id}", f"JSESSIONID={root_id}; JSESSIONID={app_id}"):
            home = raw.get("/jsxsd/framework/xsMain.jsp", headers={"Cookie": header})
            assert sim.username in home.text
    finally:
        raw.close()


def test_grade_list_with_get_from_the_frameset(start: Any) -> None:
    sim, http, captchas = start(login="direct")
    direct_login(http, captchas, sim)
    frm = LexborHTMLParser(http.get("/jsxsd/kscj/cjcx_frm").text)
    assert frm.css_first("iframe#cjcx_list_frm") is not None
    header, rows = table(http.get("/jsxsd/kscj/cjcx_list", params={"kksj": "", "xsfs": "all"}))
    assert "成绩" in header and len(rows) == len(sim.admin.grades(sim.username))


def test_json_grade_list_pages_and_held_grades(start: Any) -> None:
    from gradewatch.grades import Grade

    sim, http, captchas = start(login="direct", grades="json")
    sim.admin.publish_grade(sim.username, Grade("2022-2023-2", "0801021", "计算机组成原理", "", 4.0,
                                                status="held"))
    direct_login(http, captchas, sim)
    http.get("/jsxsd/kscj/cjcx_frm")
    total = len(sim.admin.grades(sim.username))
    first = http.get("/jsxsd/kscj/cjcx_list", params={"pageNum": "1", "pageSize": "5"}).json()
    assert first["code"] == 0 and first["count"] == total and len(first["data"]) == 5
    records = []
    for page in range(1, -(-total // 5) + 1):
        records += http.get("/jsxsd/kscj/cjcx_list", params={"pageNum": str(page), "pageSize": "5"}).json()["data"]
    assert len(records) == total
    held = next(r for r in records if r["kch"] == "0801021")
    assert held["kz"] == 1 and held["zcj"] == "" and {"xnxqid", "kc_mc", "zcjstr", "xf", "ksxzmc"} <= set(held)


@pytest.mark.parametrize("home", ["framework/xsMain.jsp", "framework/xsMain_new.jsp", "framework/xsMainV.htmlx"])
def test_student_home_variants(start: Any, home: str) -> None:
    sim, http, captchas = start(login="direct", home=home)
    assert direct_login(http, captchas, sim).url.path == f"/jsxsd/{home}"


def test_table_variants(start: Any) -> None:
    sim, http, captchas = start(login="direct", table=["wide", "components", "linked", "split_header"])
    direct_login(http, captchas, sim)
    http.get("/jsxsd/kscj/cjcx_frm")
    page = LexborHTMLParser(http.get("/jsxsd/kscj/cjcx_list").text)
    head = [th.text(strip=True) for th in page.css("table.Nsb_table_first th")]
    # the 16 columns, with 成绩 split into four components + 总成绩
    assert len(head) == 16 + 4 and "分组名" in head and head[-1] == "课程类别" and "总成绩" in head
    assert head[head.index("总成绩") - 4:head.index("总成绩")] == ["平时成绩", "期中成绩", "实验成绩", "期末成绩"]
    data = page.css_first("table#dataList")
    assert data.css_first("th") is None and data.css_first("td a") is not None
