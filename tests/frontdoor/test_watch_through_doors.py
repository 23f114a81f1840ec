"""The watcher through front doors: ZF and 强智 behind CAS, each system through a WebVPN, both.

Real servers on loopback all the way: the CAS simulator, the system simulators with their SSO
entry, the WebVPN simulator proxying to them, an SMTP sink, a SQLite file.
"""

from __future__ import annotations

import os

import pytest

from gradewatch.grades import Grade
from gradewatch.notify.sink import SmtpSink
from watch.helpers import PASSWORD_ENV, app_for, cli, write_config

NEW = Grade(term="2022-2023-2", course_code="0802101", course_name="操作系统", score="95", credits=3.5,
            exam_type="正常考试", course_nature="必修")

#: (system, CAS front door, WebVPN): every combination the issue lists.
COMBOS = [("zf", True, False), ("qiangzhi", True, False),
          ("ssfw", False, True), ("zf", False, True), ("qiangzhi", False, True),
          ("zf", True, True), ("qiangzhi", True, True), ("jwapp", True, False), ("jwapp", True, True)]
BACKEND = {"ssfw": {}, "zf": {"captcha": True}, "qiangzhi": {"login": "seed", "captcha": True}, "jwapp": {}}


def _id(combo):
    system, cas, vpn = combo
    return "-".join([system] + (["cas"] if cas else []) + (["webvpn"] if vpn else []))


@pytest.fixture(params=COMBOS, ids=_id)
def fronted(request, make_fronted):
    system, cas, vpn = request.param
    return make_fronted(system, cas=cas, vpn=vpn, **BACKEND[system])


@pytest.fixture
def sink():
    with SmtpSink() as s:
        yield s


def _config(tmp_path, fronted, sink, extra=""):
    return write_config(tmp_path, fronted.base_url, fronted.username, [sink.url()], system=fronted.system,
                        extra_school=fronted.school_toml + "\n" + extra)


def test_first_check_then_only_changes_then_session_reuse(fronted, sink, tmp_path):
    cfg = _config(tmp_path, fronted, sink)
    app = app_for(cfg, fronted.password)
    [first] = app.watcher.check_all()
    assert first.outcome == "ok", first.message
    assert first.logged_in and first.grades == len(fronted.admin.grades(fronted.username))
    app.watcher.send_pending()
    assert len(sink.wait_for(1)) == 1

    # A second check reuses the session: no new password POST anywhere (counted at the CAS).
    [again] = app.watcher.check_all()
    assert again.outcome == "ok" and not again.logged_in and again.new == 0
    assert fronted.cas_admin.stats(fronted.username)["login_posts"] == 1

    fronted.admin.publish_grade(fronted.username, NEW)
    [third] = app.watcher.check_all()
    assert third.outcome == "ok" and third.new == 1
    app.watcher.send_pending()
    mails = sink.wait_for(2)
    assert "操作系统" in mails[1].subject + mails[1].text
    app.close()

    # A new process resends nothing.
    res = cli(cfg, fronted.password, "check")
    assert res.returncode == 0, res.stdout + res.stderr
    assert len(sink.mails) == 2


def test_system_session_lost_signs_in_again_without_a_password(fronted, sink, tmp_path):
    app = app_for(_config(tmp_path, fronted, sink), fronted.password)
    assert app.watcher.check_all()[0].outcome == "ok"
    # The system (and the VPN, when there is one) forget their sessions; the CAS remembers the
    # student (its ticket-granting cookie), so the way back in needs no password.
    fronted.admin.expire_sessions()
    if fronted.vpn is not None:
        import httpx

        httpx.post(fronted.vpn.base_url + "/_admin/expire")
    [r] = app.watcher.check_all()
    assert r.outcome == "ok" and r.logged_in, r.message
    if fronted.school_toml.startswith('front_door = "cas"') or fronted.vpn is not None:
        assert fronted.cas_admin.stats(fronted.username)["login_posts"] == 1
    app.close()


def test_wrong_password_one_cas_post_across_checks_and_processes(fronted, sink, tmp_path):
    cfg = _config(tmp_path, fronted, sink)
    app = app_for(cfg, "not-the-password")
    [r] = app.watcher.check_all()
    assert r.outcome == "wrong_password", r.message
    for _ in range(2):
        assert app.watcher.check_all()[0].outcome == "skipped"
    app.close()
    cli(cfg, "not-the-password", "check")
    stats = fronted.cas_admin.stats(fronted.username)
    assert stats["login_posts"] == 1 and stats["outcomes"]["wrong_password"] == 1
    assert fronted.admin.stats(fronted.username)["login_posts"] == 0  # never the system's own form


def test_password_travels_to_the_cas_only_encrypted(make_fronted, sink, tmp_path):
    fronted = make_fronted("zf", cas=True, vpn=False, **BACKEND["zf"])
    app = app_for(_config(tmp_path, fronted, sink), fronted.password)
    assert app.watcher.check_all()[0].outcome == "ok"
    app.close()
    bodies = fronted.cas.login_bodies
    assert bodies, "no login POST reached the CAS"
    from urllib.parse import quote_plus

    for body in bodies:
        assert fronted.password.encode() not in body and quote_plus(fronted.password).encode() not in body


def test_locked_cas_account_is_paused(make_fronted, sink, tmp_path):
    fronted = make_fronted("qiangzhi", cas=True, vpn=False, **BACKEND["qiangzhi"])
    student = fronted.cas.students[fronted.username]
    student.locked = True
    app = app_for(_config(tmp_path, fronted, sink), fronted.password)
    [r] = app.watcher.check_all()
    assert r.outcome == "locked", r.message
    assert app.store.account_state("student").status == "paused"
    posts = fronted.cas_admin.stats(fronted.username)["login_posts"]
    assert app.watcher.check_all()[0].outcome == "skipped"
    assert fronted.cas_admin.stats(fronted.username)["login_posts"] == posts
    app.close()


@pytest.mark.parametrize("generation", ["old", "new"])
@pytest.mark.parametrize("captcha", ["always", "slider"])
def test_cas_captchas_of_both_generations(make_fronted, sink, tmp_path, generation, captcha):
    fronted = make_fronted("zf", cas=True, vpn=False, generation=generation, cas_captcha=captcha, **BACKEND["zf"])
    cfg = _config(tmp_path, fronted, sink, extra='cas_captcha_model = "ssfw"')
    app = app_for(cfg, fronted.password)
    [r] = app.watcher.check_all()
    assert r.outcome == "ok", r.message
    stats = fronted.cas_admin.stats(fronted.username)
    assert stats["successful_logins"] == 1 and stats["login_posts"] <= 3
    app.close()


def test_jwapp_without_cas_is_a_config_error(make_fronted, sink, tmp_path):
    fronted = make_fronted("jwapp", cas=True, vpn=False)
    cfg = write_config(tmp_path, fronted.base_url, fronted.username, [sink.url()], system="jwapp")
    app = app_for(cfg, fronted.password)
    [r] = app.watcher.check_all()
    assert r.outcome == "config_error" and "front_door" in r.message
    assert fronted.cas_admin.stats(fronted.username)["login_posts"] == 0
    app.close()


def test_config_errors_name_the_key(tmp_path):
    from gradewatch.config import ConfigError, load_config

    cfg = write_config(tmp_path, "http://127.0.0.1:1", "u", [], system="zf", extra_school='front_door = "cas"')
    with pytest.raises(ConfigError, match="cas_url"):
        load_config(cfg)
    cfg = write_config(tmp_path, "http://127.0.0.1:1", "u", [], system="zf",
                       extra_school='transport = "webvpn"\ncas_url = "http://127.0.0.1:2/authserver"')
    with pytest.raises(ConfigError, match="webvpn_url"):
        load_config(cfg)
    os.environ.pop(PASSWORD_ENV, None)
