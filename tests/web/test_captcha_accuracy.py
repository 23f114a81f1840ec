"""The dashboard's captcha first-try accuracy per school, checked against what the simulator saw:
one check with the shipped solver, one where the school refuses every captcha answer."""

from __future__ import annotations

from .conftest import ADMIN_PASSWORD
from .test_browser import sign_up, wait_checked


def test_first_try_accuracy_matches_the_simulators_verdicts(site, page):  # type: ignore[no-untyped-def]
    student = site.students[4]
    name = f"uni.{student.username}"
    sign_up(page, site, student)
    page.wait_for_url(f"**/accounts/{name}")
    wait_checked(site, name)
    first_ok, logins = 0, 0
    for reject in (False, True):
        site.sim.admin.control(reject_captcha=reject)
        site.sim.admin.expire_sessions()  # the check must log in again, with a captcha
        before = site.sim.admin.stats(student.username)
        site.web.check_soon(name).join(180)
        after = site.sim.admin.stats(student.username)
        posts = after["login_posts"] - before["login_posts"]
        refused = after["outcomes"]["wrong_captcha"] - before["outcomes"]["wrong_captcha"]
        assert posts >= 1  # it did log in with a captcha answer
        logins += 1
        first_ok += refused == 0  # the school took the first answer only when it refused none
    site.sim.admin.control(reject_captcha=False)

    page.goto(site.url + "/admin")
    page.fill("#admin-password", ADMIN_PASSWORD)
    page.click("#admin-submit")
    page.wait_for_url("**/admin")
    assert first_ok <= 1  # the refusing school cannot have taken one
    expected = f"{100 * first_ok / logins:.0f} % of {logins}"
    assert page.inner_text("#school-uni .captcha") == expected
