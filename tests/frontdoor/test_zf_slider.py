"""正方 with the slider captcha: the watcher gets in, the simulator refuses a login without it."""

from __future__ import annotations

import httpx
import pytest

from gradewatch.notify.sink import SmtpSink
from gradewatch.sim.server import SimAdmin, serve
from gradewatch.sim.transcripts import seeded_students
from gradewatch.sim.zf import ZfSimulator
from gradewatch.sim.zf_slider import with_zf_slider
from watch.helpers import app_for, write_config


@pytest.fixture
def slider_zf():
    sim = ZfSimulator(seeded_students(0, 3), captcha=False)
    with serve(with_zf_slider(sim)) as root, SimAdmin(root, sim.admin_token) as admin:
        yield sim, root, admin


def test_watcher_passes_the_slider_and_keeps_the_single_password_rule(slider_zf, tmp_path):
    sim, root, admin = slider_zf
    assert sim.demo is not None
    with SmtpSink() as sink:
        cfg = write_config(tmp_path, root + "/jwglxt", sim.demo.username, [sink.url()], system="zf")
        app = app_for(cfg, sim.demo.password)
        reports = [app.watcher.check_all()[0] for _ in range(3)]
        assert [r.outcome for r in reports] == ["ok"] * 3, reports[0].message
        assert [r.logged_in for r in reports] == [True, False, False]
        app.watcher.send_pending()
        assert len(sink.wait_for(1)) == 1
        app.close()
    assert sim.slider_state.verifies >= 1 and sim.slider_state.refused_logins == 0
    assert admin.stats(sim.demo.username)["login_posts"] == 1


def test_a_login_post_without_the_slider_is_refused(slider_zf):
    sim, root, admin = slider_zf
    with httpx.Client(base_url=root, timeout=10) as http:
        http.get("/jwglxt/xtgl/login_slogin.html")
        page = http.post("/jwglxt/xtgl/login_slogin.html", data={"yhm": "x", "mm": "y"})
    assert "验证码输入错误" in page.text and sim.slider_state.refused_logins == 1


def _flaky_zf(refuse_first):
    sim = ZfSimulator(seeded_students(0, 3), captcha=False)
    return sim, with_zf_slider(sim, refuse_first=refuse_first)


def test_a_refused_slide_is_tried_again_with_a_new_challenge(tmp_path):
    sim, app_ = _flaky_zf(refuse_first=2)
    assert sim.demo is not None
    with serve(app_) as root, SimAdmin(root, sim.admin_token) as admin:
        cfg = write_config(tmp_path, root + "/jwglxt", sim.demo.username, [], system="zf")
        app = app_for(cfg, sim.demo.password)
        [r] = app.watcher.check_all()
        app.close()
        assert r.outcome == "ok", r.message
        assert sim.slider_state.verifies == 3 and admin.stats(sim.demo.username)["login_posts"] == 1


def test_slides_are_bounded_and_no_password_goes_out(slider_zf, tmp_path):
    sim, root, admin = slider_zf
    assert sim.demo is not None
    admin.control(reject_captcha=True)
    cfg = write_config(tmp_path, root + "/jwglxt", sim.demo.username, [], system="zf")
    app = app_for(cfg, sim.demo.password)
    [r] = app.watcher.check_all()
    assert r.outcome == "wrong_captcha", r.message
    assert sim.slider_state.verifies == 3  # the captchas' bound: three tries
    assert admin.stats(sim.demo.username)["login_posts"] == 0 and sim.slider_state.refused_logins == 0
    assert app.store.account_state("student").status == "ok"  # a captcha problem is no reason to hold
    app.close()
