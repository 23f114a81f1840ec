"""Never a locked-out student: a password POST whose answer we could not read is not repeated.

On SQLite and PostgreSQL, against the SSFW simulator: a wrong-password page worded in a way the
adapter does not know, and deaths right after the school's answer (before we noted it).
"""

from __future__ import annotations

import os
from datetime import timedelta

import pytest

from gradewatch.store.db import utcnow
from gradewatch.watch.health import account_health
from gradewatch.watch.login_gate import LoginGate

from .helpers import PASSWORD_ENV, app_for, cli, write_config

UNKNOWN_WORDING = "认证失败，请重新输入"  # no word of the adapter's wrong-password list


def _posts(sim) -> int:
    return int(sim.admin.stats(sim.username)["login_posts"])


def test_unrecognised_wrong_password_answer_is_posted_once(ssfw_sim, db_url, tmp_path):
    ssfw_sim.admin.control(wrong_password_text=UNKNOWN_WORDING)
    cfg = write_config(tmp_path, ssfw_sim.base_url, ssfw_sim.username, [], database=db_url)
    app = app_for(cfg, "a-wrong-password")
    reports = [app.watcher.check_account("student") for _ in range(10)]
    assert reports[0].outcome == "unexpected_page" and UNKNOWN_WORDING in reports[0].message
    assert "a-wrong-password" not in reports[0].message
    assert all(r.outcome == "skipped" and "needs attention" in r.message for r in reports[1:])
    stats = ssfw_sim.admin.stats(ssfw_sim.username)
    assert stats["login_posts"] == 1 and not stats["locked"]
    [h] = account_health(app.config, app.store)
    assert h.status == "needs_attention" and UNKNOWN_WORDING in h.detail

    # The user looked, and confirms: exactly one more POST, then held again.
    res = cli(cfg, "a-wrong-password", "accounts", "retry", "student")
    assert res.returncode == 0, res.stderr
    for _ in range(3):
        app.watcher.check_account("student")
    assert _posts(ssfw_sim) == 2

    # A changed password is a new try (and this one is right).
    os.environ[PASSWORD_ENV] = ssfw_sim.password
    assert app.watcher.check_account("student").outcome == "ok"
    assert _posts(ssfw_sim) == 3 and not ssfw_sim.admin.stats(ssfw_sim.username)["locked"]
    assert app.store.account_state("student").login_attempt_fp is None
    [h] = account_health(app.config, app.store)
    assert h.status == "ok"
    app.close()


def test_opt_in_pause_allows_exactly_one_more_try(ssfw_sim, tmp_path):
    ssfw_sim.admin.control(wrong_password_text=UNKNOWN_WORDING)
    cfg = write_config(tmp_path, ssfw_sim.base_url, ssfw_sim.username, [],
                       extra_top="retry_unknown_login_after_hours = 12")
    app = app_for(cfg, "a-wrong-password")
    now = [utcnow()]
    app.watcher._clock = lambda: now[0]
    for _ in range(3):
        app.watcher.check_account("student")
    assert _posts(ssfw_sim) == 1
    now[0] += timedelta(hours=11)
    app.watcher.check_account("student")
    assert _posts(ssfw_sim) == 1
    now[0] += timedelta(hours=2)  # the pause has passed: one try, then the pause starts again
    for _ in range(3):
        app.watcher.check_account("student")
    assert _posts(ssfw_sim) == 2 and not ssfw_sim.admin.stats(ssfw_sim.username)["locked"]
    app.close()


class _Died(BaseException):
    """The process dies here (nothing below this point runs; no handler catches it)."""


@pytest.mark.parametrize("password_ok", [False, True], ids=["wrong_password", "right_password"])
def test_death_right_after_the_login_answer_ten_times(ssfw_sim, db_url, tmp_path, monkeypatch, password_ok):
    """Ten deaths in the window between the school's answer and our note of it: one POST in all."""
    cfg = write_config(tmp_path, ssfw_sim.base_url, ssfw_sim.username, [], database=db_url)
    app = app_for(cfg, ssfw_sim.password if password_ok else "a-wrong-password")

    def die(self: LoginGate) -> None:
        raise _Died

    monkeypatch.setattr(LoginGate, "accepted", die)
    monkeypatch.setattr(LoginGate, "verdict", die)
    for _ in range(10):
        try:
            app.watcher.check_account("student")
        except _Died:
            pass
        ssfw_sim.admin.expire_sessions()
    stats = ssfw_sim.admin.stats(ssfw_sim.username)
    assert stats["login_posts"] == 1 and not stats["locked"]
    assert app.store.account_state("student").login_attempt_fp is not None
    app.close()


def test_status_never_says_ok_for_a_stale_lease_failed_checks_or_a_missing_password(ssfw_sim, tmp_path):
    from gradewatch.store.models import Account

    cfg = write_config(tmp_path, ssfw_sim.base_url, ssfw_sim.username, [])
    app = app_for(cfg, ssfw_sim.password)
    assert app.watcher.check_account("student").outcome == "ok"
    # A worker on another machine died holding the lease: it lapsed a few seconds later.
    with app.store.session() as s:
        acc = s.get(Account, "student")
        acc.lease_owner, acc.lease_until = "other-host:4026531836:4242:deadbeef", utcnow() - timedelta(seconds=3)
    res = cli(cfg, ssfw_sim.password, "status")
    assert _status_cell(res.stdout) == "stale_lease" and "other-host" in res.stdout, res.stdout
    r = app.watcher.check_account("student")  # and it blocks nothing
    assert r.outcome == "ok", r.message
    # Failed checks: the school is down.
    ssfw_sim.admin.control(down=True)
    ssfw_sim.admin.expire_sessions()
    assert app.watcher.check_account("student").outcome == "unavailable"
    res = cli(cfg, ssfw_sim.password, "status")
    assert _status_cell(res.stdout) == "failing" and "unavailable" in res.stdout, res.stdout
    # The password cannot be found where the config says.
    res = cli(cfg, "", "status")
    assert _status_cell(res.stdout) == "no_password" and "GW_TEST_PASSWORD" in res.stdout, res.stdout
    app.close()


def _status_cell(out: str) -> str:
    row = next(line for line in out.splitlines() if line.startswith("│ student"))
    return row.split("│")[2].strip()


def test_unknown_refusal_wording_is_held_on_every_system(school_sim, tmp_path):
    """A wrong password answered in words the adapter does not know is an answer not understood on
    every system and front door: held, shown to the user, never sent again on a later day (a lock's
    pause would send it again after 24 hours, day after day, until the school locks the student out)."""
    school_sim.admin.control(wrong_password_text=UNKNOWN_WORDING)
    cfg = write_config(tmp_path, school_sim.base_url, school_sim.username, [], system=school_sim.system,
                       extra_school=school_sim.school_toml)
    app = app_for(cfg, "a-wrong-password")
    now = [utcnow()]
    app.watcher._clock = lambda: now[0]
    first = app.watcher.check_account("student")
    assert first.outcome == "unexpected_page", first
    assert UNKNOWN_WORDING in first.message and "a-wrong-password" not in first.message
    for _ in range(3):
        now[0] += timedelta(hours=25)
        later = app.watcher.check_account("student")
        assert later.outcome == "skipped" and "needs attention" in later.message, later
    assert _posts(school_sim) == 1 and not school_sim.admin.stats(school_sim.username)["locked"]
    [h] = account_health(app.config, app.store)
    assert h.status == "needs_attention" and UNKNOWN_WORDING in h.detail
    app.close()


def test_a_pause_that_is_over_ends_with_the_next_good_check(ssfw_sim, tmp_path):
    """After a lock's pause, the first good check sets the account back to ok: `status` says so, the
    student is told once that it works again (not at every check from then on), and it counts again
    as a working account of its school (grade-release detection reads only those)."""
    cfg = write_config(tmp_path, ssfw_sim.base_url, ssfw_sim.username, ["ntfy://gradewatch-test-topic"])
    app = app_for(cfg, ssfw_sim.password)
    assert app.watcher.check_account("student").ok
    app.store.set_status("student", "paused", "the school locked the account",
                         paused_until=utcnow() - timedelta(minutes=1))
    for _ in range(3):
        assert app.watcher.check_account("student").ok
    assert app.store.account_state("student").status == "ok"
    assert len([m for m in app.store.messages("student") if m.kind == "alert"]) == 1
    app.close()


@pytest.mark.parametrize("system, options", [
    ("zf", {"captcha": False}),  # the RSA key of each attempt
    ("qiangzhi", {"login": "seed", "captcha": False}),  # the seed
    ("kingosoft", {"login": "des", "captcha": False}),  # the DES key script
])
def test_a_failure_before_the_password_post_is_no_unanswered_login(make_school_sim, tmp_path, monkeypatch,
                                                                   system, options):
    """A login asks the school for things before its password POST. When one of those fails (a
    moment of 503), no password has left: the check is an outage like any other, not a login whose
    answer was lost, so the account is not held until `accounts retry`."""
    from gradewatch.schools.base import SchoolAdapter
    from gradewatch.schools.errors import SchoolUnavailable

    sim = make_school_sim(system, **options)
    get, failed = SchoolAdapter.get, []

    def blip(self, url, **kwargs):  # type: ignore[no-untyped-def]
        if self._password_hook is not None and not failed:  # inside the login, before its POST
            failed.append(url)
            raise SchoolUnavailable(f"{url} answered HTTP 503")
        return get(self, url, **kwargs)

    monkeypatch.setattr(SchoolAdapter, "get", blip)
    cfg = write_config(tmp_path, sim.base_url, sim.username, [], system=system)
    app = app_for(cfg, sim.password)
    first = app.watcher.check_account("student")
    assert failed and first.outcome == "unavailable", (failed, first)
    assert _posts(sim) == 0
    state = app.store.account_state("student")
    assert state.status == "ok" and state.login_attempt_fp is None
    assert app.watcher.check_account("student").ok and _posts(sim) == 1
    app.close()


def test_getting_in_without_a_password_post_keeps_a_held_attempt(ssfw_sim, tmp_path):
    """A front door's ticket cookie that still works lets a check in without sending the password:
    that proves nothing about the password whose answer was never read, so its hold stays (and the
    password is not sent when the cookie expires)."""
    cfg = write_config(tmp_path, ssfw_sim.base_url, ssfw_sim.username, [])
    app = app_for(cfg, "a-wrong-password")
    app.store.ensure_account("student", school="uni", system="ssfw", username=ssfw_sim.username)
    fingerprint = app.store.vault.fingerprint("a-wrong-password")
    app.store.begin_login_attempt("student", fingerprint, utcnow())
    state = app.store.account_state("student")
    gate = LoginGate(app.store, "student", fingerprint, state, pause=None, clock=utcnow)
    gate.accepted()  # a success, but no POST went out in this check
    assert app.store.account_state("student").login_attempt_fp == fingerprint
    with pytest.raises(Exception, match="not recognised"):
        LoginGate(app.store, "student", fingerprint, app.store.account_state("student"), pause=None,
                  clock=utcnow).before_post()
    app.close()


def test_a_held_attempt_with_a_working_session_sends_no_works_again_alerts(ssfw_sim, tmp_path):
    """While an attempt stays held, a stored session (kept by a check that got in on a ticket cookie)
    goes on reading grades: the account still needs the student, so no "works again" alert goes
    out at each of those checks."""
    from gradewatch.watch.login_gate import held_reason

    ssfw_sim.admin.control(session_ttl=3600)
    cfg = write_config(tmp_path, ssfw_sim.base_url, ssfw_sim.username, ["ntfy://gradewatch-test-topic"])
    app = app_for(cfg, ssfw_sim.password)
    assert app.watcher.check_account("student").ok  # a session is stored
    app.store.begin_login_attempt("student", app.store.vault.fingerprint(ssfw_sim.password), utcnow())
    cookies = app.store.load_cookies("student")
    app.store.set_status("student", "needs_attention", held_reason("student", utcnow()))
    app.store.save_cookies("student", cookies)
    before = len([m for m in app.store.messages("student") if m.kind == "alert"])
    for _ in range(3):
        assert app.watcher.check_account("student").ok
    assert app.store.account_state("student").status == "needs_attention"
    assert len([m for m in app.store.messages("student") if m.kind == "alert"]) == before
    app.close()
