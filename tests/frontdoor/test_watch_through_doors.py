"""The watcher through front doors: what the watcher suite (tests/watch/test_watcher.py, which runs
over the door variants of tests/conftest.py) does not cover — the CAS ticket-granting cookie
bringing a lost system session back without a password, the password only encrypted on the wire,
both CAS generations' captchas, CAS in front of a WebVPN, and the config errors.

Real servers on loopback all the way: the CAS simulator, the system simulators with their SSO
entry, the WebVPN simulator proxying to them, an SMTP sink, a SQLite file.
"""

from __future__ import annotations

import os

import pytest

from gradewatch.notify.sink import SmtpSink
from watch.helpers import PASSWORD_ENV, app_for, write_config

#: (system, CAS front door, WebVPN): every combination the issue lists, and CAS through a WebVPN.
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


def test_system_session_lost_signs_in_again_without_a_password(fronted, sink, tmp_path):
    app = app_for(_config(tmp_path, fronted, sink), fronted.password)
    assert app.watcher.check_all()[0].outcome == "ok"
    # The system (and the VPN, when there is one) forget their sessions; the CAS remembers the
    # student (its ticket-granting cookie), so the way back in needs no password.
    fronted.admin.system.expire_sessions()
    if fronted.vpn is not None:
        fronted.vpn.expire()
    [r] = app.watcher.check_all()
    assert r.outcome == "ok" and r.logged_in, r.message
    assert fronted.cas_admin.stats(fronted.username)["login_posts"] == 1
    if fronted.cas is not None and 'front_door = "cas"' in fronted.school_toml:
        assert fronted.admin.system.stats(fronted.username)["login_posts"] == 0  # never the system's own form
    app.close()


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


@pytest.mark.parametrize("generation", ["old", "new"])
@pytest.mark.parametrize("captcha", ["always", "slider"])
def test_cas_captchas_of_both_generations(make_fronted, sink, tmp_path, generation, captcha):
    fronted = make_fronted("zf", cas=True, vpn=False, generation=generation, cas_captcha=captcha, **BACKEND["zf"])
    assert 'cas_captcha_model = "ssfw"' in fronted.school_toml or captcha == "slider"
    cfg = _config(tmp_path, fronted, sink)
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
