"""The SSFW simulator, spoken to over loopback with raw HTTP (no adapter)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from io import BytesIO

import httpx
import pytest
from PIL import Image
from selectolax.lexbor import LexborHTMLParser

from gradewatch.grades import Grade
from gradewatch.sim.server import RunningSim, SimAdmin

from .helpers import Browser

NEW_GRADE = Grade(
    term="2022-2023-2",
    course_code="1301002",
    course_name="大学物理(2)",
    score="87",
    credits=4.0,
    course_nature="必修",
    course_category="公共基础课",
)


def logged_in_as(resp: httpx.Response, username: str) -> bool:
    return resp.status_code == 200 and username in resp.text and 'name="j_username"' not in resp.text


def test_login_page_sets_session_and_carries_the_form(sim: RunningSim, browser: Browser) -> None:
    resp = browser.open_login()
    assert resp.status_code == 200
    assert resp.headers["content-type"].lower() == "text/html;charset=utf-8"
    assert resp.cookies.get("JSESSIONID")
    form = LexborHTMLParser(resp.text).css_first("form")
    assert form is not None and form.attributes["action"] == "/ssfw/j_spring_ids_security_check"
    names = {i.attributes.get("name") for i in form.css("input")}
    assert {"j_username", "j_password", "validateCode", "mode"} <= names
    # The same session keeps its cookie: no new Set-Cookie on the next visit.
    assert "set-cookie" not in browser.open_login().headers


def test_demo_login_redirects_to_index_with_a_new_session(sim: RunningSim, browser: Browser) -> None:
    browser.open_login()
    before = browser.http.cookies["JSESSIONID"]
    resp = browser.post(sim.username, sim.password, browser.captcha().upper())  # case-insensitive
    assert resp.status_code == 302 and resp.headers["location"] == "/ssfw/index.do"
    assert browser.http.cookies["JSESSIONID"] != before  # session fixation protection
    index = browser.http.get("/ssfw/index.do")
    assert logged_in_as(index, sim.username) and "李明" in index.text
    stats = sim.admin.stats(sim.username)
    assert stats["login_posts"] == 1 and stats["successful_logins"] == 1 and stats["captcha_fetches"] == 1
    assert stats["outcomes"] == {"ok": 1, "wrong_captcha": 0, "wrong_password": 0, "locked": 0}


def test_captcha_is_bound_to_the_session_that_fetched_it(
    sim: RunningSim, browser_factory: Callable[[], Browser]
) -> None:
    a, b = browser_factory(), browser_factory()
    a.open_login()
    b.open_login()
    answer_a = a.captcha()
    answer_b = b.other_captcha(than=answer_a)
    resp = a.post(sim.username, sim.password, answer_b)
    assert resp.status_code == 200 and "校验码错误" in resp.text
    assert b.post(sim.username, sim.password, answer_b).status_code == 302


def test_each_fetch_replaces_the_captcha_and_an_answer_is_used_once(sim: RunningSim, browser: Browser) -> None:
    browser.open_login()
    first = browser.captcha()
    second = browser.other_captcha(than=first)
    assert "校验码错误" in browser.post(sim.username, sim.password, first).text  # superseded
    third = browser.captcha()
    resp = browser.post(sim.username, "wrong", third)
    assert "用户名或密码错误" in resp.text and "校验码错误" not in resp.text
    # The same answer again: consumed by the previous submit.
    assert "校验码错误" in browser.post(sim.username, sim.password, third).text
    assert second  # fetched, never used
    stats = sim.admin.stats(sim.username)
    assert stats["outcomes"] == {"ok": 0, "wrong_captcha": 2, "wrong_password": 1, "locked": 0}
    assert stats["captcha_fetches"] >= 3


def test_posting_without_a_captcha_fetch_is_a_wrong_captcha(sim: RunningSim, browser: Browser) -> None:
    browser.open_login()
    assert "校验码错误" in browser.post(sim.username, sim.password, "abcd").text


def test_wrong_password_and_lock_after_five(sim: RunningSim, browser: Browser) -> None:
    for n in range(1, 6):
        resp = browser.login(sim.username, f"guess-{n}")
        assert resp.status_code == 200 and "用户名或密码错误" in resp.text and "锁定" not in resp.text
    stats = sim.admin.stats(sim.username)
    assert stats["locked"] and stats["consecutive_wrong_passwords"] == 5
    # Locked: the right password gets the lock message, and so does a wrong one.
    for password in (sim.password, "guess-6"):
        resp = browser.login(sim.username, password)
        assert resp.status_code == 200 and "锁定" in resp.text and "用户名或密码错误" not in resp.text
    stats = sim.admin.stats(sim.username)
    assert stats["outcomes"] == {"ok": 0, "wrong_captcha": 0, "wrong_password": 5, "locked": 2}
    assert stats["login_posts"] == 7 and stats["successful_logins"] == 0
    sim.admin.unlock(sim.username)
    assert browser.login(sim.username, sim.password).status_code == 302


def test_a_right_password_resets_the_wrong_count(sim: RunningSim, browser: Browser) -> None:
    for _ in range(4):
        browser.login(sim.username, "guess")
    assert browser.login(sim.username, sim.password).status_code == 302
    assert sim.admin.stats(sim.username)["consecutive_wrong_passwords"] == 0
    assert "4次" in browser.login(sim.username, "guess").text  # tries left, counted afresh


def test_unknown_user_gets_the_wrong_password_text(sim: RunningSim, browser: Browser) -> None:
    resp = browser.login("1999999999", "x")
    assert "用户名或密码错误" in resp.text
    assert sim.admin.stats()["unknown_user_posts"] == 1


def test_login_post_without_referer_works(sim: RunningSim, browser: Browser) -> None:
    # Field notes: the original script posted without a Referer and the real school let it in.
    browser.open_login()
    resp = browser.post(sim.username, sim.password, browser.captcha(), referer=False)
    assert resp.status_code == 302 and resp.headers["location"] == "/ssfw/index.do"
    assert sim.admin.stats(sim.username)["successful_logins"] == 1


def test_logged_in_pages_redirect_to_login_without_a_session(sim: RunningSim, browser: Browser) -> None:
    for path in ("/ssfw/index.do", "/ssfw/jwnavmenu.do"):
        resp = browser.http.get(path)
        assert resp.status_code == 302 and resp.headers["location"] == "/ssfw/login.jsp"


def test_grade_page_shape(sim: RunningSim, browser: Browser) -> None:
    browser.login(sim.username, sim.password)
    resp = browser.grade_page()
    assert resp.status_code == 200
    block = LexborHTMLParser(resp.text).css_first('div[title="有效成绩"]')
    assert block is not None
    cells = [td.text(strip=True) for td in block.css('.t_con td[align="center"]')]
    assert len(cells) % 11 == 0
    rows = [cells[i : i + 11] for i in range(0, len(cells), 11)]
    assert len(rows) == len(sim.admin.grades(sim.username))
    assert rows[0][:4] == ["1", "2021-2022-1", "1101001", "高等数学A(1)"]
    exam_types = {r[9] for r in rows}
    assert exam_types == {"正常考试", "补考"}
    scores = {r[8] for r in rows}
    assert {"优秀", "良好", "合格", "通过", "52", "64"} <= scores
    assert sim.admin.stats(sim.username)["grade_fetches"] == 1


def test_published_grade_appears_and_replaces_by_key(sim: RunningSim, browser: Browser) -> None:
    browser.login(sim.username, sim.password)
    assert "大学物理(2)" not in browser.grade_page().text
    key = sim.admin.publish_grade(sim.username, NEW_GRADE)
    assert key == "2022-2023-2|1301002|正常考试"
    page = browser.grade_page().text
    assert "大学物理(2)" in page and ">87<" in page
    sim.admin.publish_grade(sim.username, replace(NEW_GRADE, score="90"))
    page = browser.grade_page().text
    assert ">90<" in page and ">87<" not in page
    published = [g for g in sim.admin.grades(sim.username) if g.key == key]
    assert published == [replace(NEW_GRADE, score="90")]


def test_set_grades_replaces_the_transcript(sim: RunningSim, browser: Browser) -> None:
    sim.admin.set_grades(sim.username, [])
    browser.login(sim.username, sim.password)
    assert "没有查询到成绩记录" in browser.grade_page().text
    sim.admin.set_grades(sim.username, [NEW_GRADE])
    assert sim.admin.grades(sim.username) == [NEW_GRADE]


def test_idle_session_expires(sim: RunningSim, browser: Browser) -> None:
    sim.admin.control(session_ttl=0.3)
    browser.login(sim.username, sim.password)
    assert browser.grade_page().status_code == 200
    time.sleep(0.2)
    assert browser.grade_page().status_code == 200  # use keeps it alive
    time.sleep(0.45)
    resp = browser.grade_page()
    assert resp.status_code == 302 and resp.headers["location"] == "/ssfw/login.jsp"


def test_admin_can_expire_sessions(sim: RunningSim, browser: Browser) -> None:
    browser.login(sim.username, sim.password)
    assert sim.admin.expire_sessions(sim.username) == 1
    assert browser.grade_page().status_code == 302


def test_logout_ends_the_session(sim: RunningSim, browser: Browser) -> None:
    browser.login(sim.username, sim.password)
    assert browser.http.get("/ssfw/j_spring_security_logout").status_code == 302
    assert browser.grade_page().status_code == 302


def test_reject_captcha_control(sim: RunningSim, browser: Browser) -> None:
    sim.admin.control(reject_captcha=True)
    assert "校验码错误" in browser.login(sim.username, sim.password).text
    sim.admin.control(reject_captcha=False)
    assert browser.login(sim.username, sim.password).status_code == 302


def test_broken_grades_control(sim: RunningSim, browser: Browser) -> None:
    browser.login(sim.username, sim.password)
    sim.admin.control(broken_grades=True)
    resp = browser.grade_page()
    assert resp.status_code == 200 and "有效成绩" not in resp.text


def test_down_control_answers_503_but_admin_still_works(sim: RunningSim, browser: Browser) -> None:
    controls = sim.admin.control(down=True)
    assert controls == {"session_ttl": 1800.0, "reject_captcha": False, "broken_grades": False, "down": True}
    for path in ("/ssfw/login.jsp", "/ssfw/jwcaptcha.do", "/ssfw/index.do"):
        assert browser.http.get(path).status_code == 503
    assert sim.admin.stats(sim.username)["login_posts"] == 0
    sim.admin.control(down=False)
    assert browser.open_login().status_code == 200


def test_admin_requires_the_token(sim: RunningSim) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": sim.sim.admin_token}):
        resp = httpx.get(f"{sim.base_url}/_admin/stats", headers=headers)
        assert resp.status_code == 401 and resp.json() == {"error": "admin token required"}
    with SimAdmin(sim.base_url, "nope") as wrong, pytest.raises(httpx.HTTPStatusError):
        wrong.control(down=True)
    assert sim.admin.control()["down"] is False


def test_admin_rejects_bad_input(sim: RunningSim) -> None:
    def call(method: str, path: str, body: object) -> httpx.Response:
        return httpx.request(
            method,
            f"{sim.base_url}/_admin/{path}",
            json=body,
            headers={"Authorization": f"Bearer {sim.sim.admin_token}"},
        )

    assert call("POST", "control", {"down": "yes"}).status_code == 400
    assert call("POST", "control", {"session_ttl": 0}).status_code == 400
    assert call("POST", "control", {"typo": True}).status_code == 400
    assert call("POST", "grades", {"username": sim.username, "grade": {"term": "x"}}).status_code == 400
    assert call("POST", "grades", {"username": "nobody", "grade": NEW_GRADE.to_dict()}).status_code == 404
    assert call("GET", "stats?username=nobody", None).status_code == 404


def test_admin_never_exposes_passwords(sim: RunningSim) -> None:
    sim.admin.add_student("2021999999", "another-secret", "王五", [NEW_GRADE])
    everything = [
        sim.admin.stats(),
        sim.admin.grades("2021999999"),
        httpx.get(f"{sim.base_url}/_admin/students", headers={"Authorization": f"Bearer {sim.sim.admin_token}"}).text,
    ]
    text = repr(everything) + repr(sim.sim.students)
    assert sim.password not in text and "another-secret" not in text
    assert "2021999999" in text


def test_added_student_can_log_in(sim: RunningSim, browser: Browser) -> None:
    sim.admin.add_student("2021999999", "another-secret", "王五", [NEW_GRADE])
    assert browser.login("2021999999", "another-secret").status_code == 302
    assert "大学物理(2)" in browser.grade_page().text


def test_gbk_pages_declare_their_charset(make_ssfw_sim: Callable[..., RunningSim]) -> None:
    gbk = make_ssfw_sim(encoding="gbk")
    resp = httpx.get(f"{gbk.base_url}/ssfw/login.jsp")
    assert resp.headers["content-type"].lower() == "text/html;charset=gbk"
    assert "校验码" in resp.content.decode("gbk")


def test_rendered_captchas_are_ssfw_sized_jpegs(ssfw_sim: RunningSim) -> None:
    with httpx.Client(base_url=ssfw_sim.base_url) as http:
        images = [http.get("/ssfw/jwcaptcha.do").content for _ in range(2)]
    assert images[0] != images[1]
    for data in images:
        img = Image.open(BytesIO(data))
        assert (img.format, img.size) == ("JPEG", (68, 22))
    assert ssfw_sim.admin.stats()["captcha_fetches"] == 2
