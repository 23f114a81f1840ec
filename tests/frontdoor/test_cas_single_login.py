"""A single-login CAS (单处登录) with the account signed in elsewhere: the watcher pauses the account
with a clear message, unless the school sets cas_end_other_sessions = true; then it ends the other
sessions and goes on."""

from __future__ import annotations

import pytest

from watch.helpers import app_for, write_config


@pytest.fixture
def single(make_fronted):
    fronted = make_fronted("zf", cas=True, single_login=True, captcha=True)
    assert fronted.cas is not None
    fronted.cas.sign_in_elsewhere(fronted.username)  # a browser on the student's phone
    return fronted


def _app(tmp_path, fronted, extra=""):
    cfg = write_config(tmp_path, fronted.base_url, fronted.username, [], system="zf",
                       extra_school=fronted.school_toml + "\n" + extra)
    return app_for(cfg, fronted.password)


def test_signed_in_elsewhere_pauses_the_account_with_a_clear_message(single, tmp_path):
    app = _app(tmp_path, single)
    [r] = app.watcher.check_all()
    assert r.outcome == "needs_user", r.message
    assert "signed in elsewhere" in r.message and "cas_end_other_sessions" in r.message
    state = app.store.account_state("student")
    assert state.status == "paused" and "cas_end_other_sessions" in state.status_reason
    posts = single.cas_admin.stats(single.username)["login_posts"]
    assert posts == 1
    assert app.watcher.check_all()[0].outcome == "skipped"  # paused: no new password POST
    assert single.cas_admin.stats(single.username)["login_posts"] == posts
    assert single.cas is not None and single.cas.kicked_sessions == 0  # the other session is left alone
    app.close()


def test_end_other_sessions_when_the_school_allows_it(single, tmp_path):
    app = _app(tmp_path, single, "cas_end_other_sessions = true")
    [r] = app.watcher.check_all()
    assert r.outcome == "ok" and r.logged_in, r.message
    assert single.cas is not None and single.cas.kicked_sessions == 1
    [again] = app.watcher.check_all()
    assert again.outcome == "ok" and not again.logged_in
    assert single.cas_admin.stats(single.username)["login_posts"] == 1
    app.close()


def test_no_other_session_no_question(make_fronted, tmp_path):
    fronted = make_fronted("qiangzhi", cas=True, single_login=True, login="seed", captcha=True)
    cfg = write_config(tmp_path, fronted.base_url, fronted.username, [], system="qiangzhi",
                       extra_school=fronted.school_toml)
    app = app_for(cfg, fronted.password)
    [r] = app.watcher.check_all()
    assert r.outcome == "ok", r.message
    assert fronted.cas is not None and fronted.cas.kicked_sessions == 0
    app.close()
