"""Browser tests: a student's whole journey, a wrong password, another student's pages, the
operator's dashboard going red and green — Playwright driving Debian's headless Chromium."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from gradewatch.notify.sink import SmtpSink
from gradewatch.store.models import Account, CurrentGrade, GradeChange, OutboxMessage

from .conftest import ADMIN_PASSWORD, shot


def sign_up(page, site, student, notify="student@example.edu", password=None):
    page.goto(site.url + "/signup")
    page.select_option("#school", "uni")
    page.fill("#username", student.username)
    page.fill("#password", student.password if password is None else password)
    page.fill("#notify", notify)
    if password is None:
        shot(page, "signup")
    page.click("#signup-submit")


def wait_checked(site, name, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = site.web.store.account_state(name)
        if state.last_ok_at is not None:
            return
        time.sleep(0.2)
    raise AssertionError(f"{name} was never checked")


def test_a_students_whole_journey(site, page):
    student = site.students[0]
    name = f"uni.{student.username}"
    sign_up(page, site, student)
    page.wait_for_url(f"**/accounts/{name}")
    [mail] = site.sink.wait_for(1, timeout=60)  # the first check's whole table, by e-mail
    assert mail.text.count("\n") > 3 and student.password not in mail.text
    wait_checked(site, name)
    page.reload()
    assert page.locator("table.grades tr").count() > 1
    assert page.locator("svg.gpa-chart polyline").count() == 1  # the GPA trend, drawn by the server
    assert page.locator("#gpa-total").inner_text() not in ("", "–")
    shot(page, "account")

    with SmtpSink() as second:
        page.fill("#new-channel", second.url())
        page.click("#add-channel")
        assert "Channel 2 added" in page.locator("#result").inner_text()
        page.click("#test-1")
        assert "confirmed by the service" in page.locator("#result").inner_text()
        [test_mail] = second.wait_for(1)
        assert "test message" in test_mail.subject
        shot(page, "channels")

    page.fill("#confirm-delete", student.username)
    page.click("#delete")
    assert "deleted" in page.locator("#message").inner_text()
    with site.web.store.session() as s:
        for model in (Account, CurrentGrade, GradeChange, OutboxMessage):
            column = model.id if model is Account else model.account_id
            assert s.scalar(select(func.count()).select_from(model).where(column == name)) == 0, model
    page.goto(site.url + f"/accounts/{name}")
    assert "No such page" in page.content()


def test_a_wrong_password_at_sign_up_is_one_login_post_and_a_clear_message(site, page):
    student = site.students[1]
    sign_up(page, site, student, password="not-my-password")
    error = page.locator(".error").inner_text()
    assert "wrong" in error and "tried once" in error
    shot(page, "signup-wrong-password")
    assert site.sim.admin.stats(student.username)["login_posts"] == 1
    assert f"uni.{student.username}" not in site.web.config().accounts


def test_a_refusal_in_unknown_words_at_sign_up_is_not_called_unreachable(site, page):
    """A school refusing in words no adapter knows may be saying "wrong password": the student is told
    the answer could not be read and to check the password, not that the school is unreachable."""
    student = site.students[3]
    posts = site.sim.admin.stats(student.username)["login_posts"]
    site.sim.admin.control(wrong_password_text="认证失败，请重新输入")
    try:
        sign_up(page, site, student, password="not-my-password")
        error = page.locator(".error").inner_text()
    finally:
        site.sim.admin.control(wrong_password_text="")
    assert "could not read" in error and "认证失败" in error and "Could not reach" not in error, error
    assert site.sim.admin.stats(student.username)["login_posts"] == posts + 1
    assert f"uni.{student.username}" not in site.web.config().accounts


def test_a_second_student_cannot_open_the_firsts_pages(site, browser, page):
    first, second = site.students[0], site.students[2]
    sign_up(page, site, first)
    page.wait_for_url(f"**/accounts/uni.{first.username}")
    other = browser.new_context()
    p2 = other.new_page()
    try:
        sign_up(p2, site, second)
        p2.wait_for_url(f"**/accounts/uni.{second.username}")
        resp = p2.goto(site.url + f"/accounts/uni.{first.username}")
        assert resp is not None and resp.status == 404
        resp = p2.request.post(site.url + f"/accounts/uni.{first.username}/delete", form={"confirm": first.username})
        assert resp.status in (403, 404)
    finally:
        other.close()
    assert site.web.store.account_state(f"uni.{first.username}").id  # still there


def test_the_operator_sees_a_failing_school_go_red_and_recover(site, page):
    from gradewatch.watch.checker import Watcher

    student = site.students[3]
    sign_up(page, site, student)
    page.wait_for_url(f"**/accounts/uni.{student.username}")
    wait_checked(site, f"uni.{student.username}")
    page.goto(site.url + "/admin")
    page.fill("#admin-password", ADMIN_PASSWORD)
    page.click("#admin-submit")
    page.wait_for_url("**/admin")
    assert page.locator("#school-uni").get_attribute("class") == "good"
    site.sim.admin.control(down=True)
    Watcher(site.web.config(), site.web.store).check_account(f"uni.{student.username}")
    page.reload()
    assert page.locator("#school-uni").get_attribute("class") == "bad"
    assert "unavailable" in page.locator("#school-uni").inner_text()
    shot(page, "dashboard-failing")
    site.sim.admin.control(down=False)
    site.sim.admin.expire_sessions()
    Watcher(site.web.config(), site.web.store).check_account(f"uni.{student.username}")
    page.reload()
    assert page.locator("#school-uni").get_attribute("class") == "good"
    shot(page, "dashboard")
