"""The spine, end to end: real simulator over loopback, real SMTP server, real SQLite file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

import suite_db
from gradewatch.grades import Grade
from gradewatch.notify.sink import SmtpSink
from gradewatch.schools.base import Credentials
from gradewatch.schools.errors import WrongPassword
from gradewatch.store.db import utcnow

from .helpers import PASSWORD_ENV, SilentSmtp, app_for, cli, free_port, write_config

NEW = Grade(term="2022-2023-2", course_code="0802101", course_name="操作系统", score="95", credits=3.5,
            exam_type="正常考试", course_nature="必修")


@pytest.fixture
def sink():
    with SmtpSink() as s:
        yield s


def test_first_check_mails_everything_then_only_changes(school_sim, sink, tmp_path, db_url):
    cfg = write_config(tmp_path, school_sim.base_url, school_sim.username, [sink.url()], system=school_sim.system,
                       extra_school=school_sim.school_toml,
                       database=db_url)
    app = app_for(cfg, school_sim.password)
    published = school_sim.admin.grades(school_sim.username)

    [r] = app.watcher.check_all()
    assert r.outcome == "ok" and r.logged_in and r.grades == len(published) > 10
    assert app.watcher.send_pending().sent == 1
    [first] = sink.wait_for(1)
    assert f"共 {len(published)} 门" in first.subject
    for g in published:  # every grade is in the first mail, in both parts
        assert g.course_name in first.text and g.course_name in first.html
    assert app.store.grades("student") and len(app.store.grades("student")) == len(published)

    # No change: no mail.
    [r] = app.watcher.check_all()
    assert (r.outcome, r.new, r.changed, r.removed) == ("ok", 0, 0, 0)
    assert app.watcher.send_pending().sent == 0
    assert len(sink.mails) == 1

    # A published grade: one mail naming it in the subject.
    school_sim.admin.publish_grade(school_sim.username, NEW)
    [r] = app.watcher.check_all()
    assert (r.new, r.changed) == (1, 0)
    app.watcher.send_pending()
    mails = sink.wait_for(2)
    assert len(mails) == 2 and mails[1].subject == "新成绩: 操作系统 95"
    assert "操作系统" in mails[1].text and "95" in mails[1].html

    # A changed score: one mail saying old → new.
    school_sim.admin.publish_grade(school_sim.username, replace(NEW, score="88"))
    [r] = app.watcher.check_all()
    assert (r.new, r.changed) == (0, 1)
    app.watcher.send_pending()
    mails = sink.wait_for(3)
    assert len(mails) == 3 and mails[2].subject == "成绩变更: 操作系统 95 → 88"
    assert "95" in mails[2].text and "88" in mails[2].text
    hist = [h.change for h in app.store.history("student")]
    assert hist.count("changed") == 1 and hist.count("new") == len(published) + 1
    app.close()


def test_new_process_on_same_database_resends_nothing(school_sim, sink, tmp_path):
    cfg = write_config(tmp_path, school_sim.base_url, school_sim.username, [sink.url()], system=school_sim.system,
                       extra_school=school_sim.school_toml)
    first = cli(cfg, school_sim.password, "check")
    assert first.returncode == 0, first.stderr
    assert len(sink.wait_for(1)) == 1
    again = cli(cfg, school_sim.password, "check")
    assert again.returncode == 0, again.stderr
    time.sleep(0.5)
    assert len(sink.mails) == 1


def _pending(db: Path) -> int:
    found = suite_db.rows(db, "select count(*) from outbox where status='pending'")
    return int(found[0][0]) if found else 0


def test_killed_between_outbox_write_and_send_delivers_once_on_next_start(school_sim, tmp_path):
    port = free_port()
    url = f"mailto://127.0.0.1:{port}?mode=insecure&from=gw@localhost&to=student@example.edu"
    cfg = write_config(tmp_path, school_sim.base_url, school_sim.username, [url], system=school_sim.system,
                       extra_school=school_sim.school_toml)
    silent = SilentSmtp(port)  # delivery hangs, so the process is surely between commit and "sent"
    env = {**os.environ, PASSWORD_ENV: school_sim.password}
    proc = subprocess.Popen([sys.executable, "-m", "gradewatch.cli", "check", "-c", str(cfg)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = tmp_path / "state" / "gradewatch.db"
    deadline = time.monotonic() + 60
    while _pending(db) == 0 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
    assert _pending(db) == 1, "the check never wrote its notification"
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    silent.close()

    with SmtpSink(port) as sink:
        res = cli(cfg, school_sim.password, "send")
        assert res.returncode == 0, res.stderr
        assert len(sink.wait_for(1)) == 1
        cli(cfg, school_sim.password, "check")
        cli(cfg, school_sim.password, "send")
        time.sleep(0.5)
        assert len(sink.mails) == 1
        assert "共" in sink.mails[0].subject


def test_smtp_down_keeps_grades_and_delivers_once_later(school_sim, tmp_path):
    port = free_port()  # nothing listens there yet
    url = f"mailto://127.0.0.1:{port}?mode=insecure&from=gw@localhost&to=student@example.edu"
    cfg = write_config(tmp_path, school_sim.base_url, school_sim.username, [url], system=school_sim.system,
                       extra_school=school_sim.school_toml)
    app = app_for(cfg, school_sim.password)
    [r] = app.watcher.check_all()
    assert r.outcome == "ok"
    res = app.watcher.send_pending()
    assert (res.sent, res.failed) == (0, 1)
    assert len(app.store.grades("student")) == r.grades > 0
    [msg] = app.store.messages("student")
    assert msg.status == "pending" and msg.attempts == 1 and "ConnectionRefused" in msg.last_error

    with SmtpSink(port) as sink:
        app.watcher._clock = lambda: utcnow() + timedelta(hours=1)  # the retry is due later, not now
        assert app.watcher.send_pending().sent == 1
        assert app.watcher.send_pending().sent == 0
        assert len(sink.wait_for(1)) == 1
        time.sleep(0.3)
        assert len(sink.mails) == 1
    app.close()


def test_wrong_password_is_submitted_exactly_once(school_sim, sink, tmp_path):
    cfg = write_config(tmp_path, school_sim.base_url, school_sim.username, [sink.url()], system=school_sim.system,
                       extra_school=school_sim.school_toml)
    app = app_for(cfg, "not-the-password")
    reports = [app.watcher.check_all()[0] for _ in range(4)]
    assert reports[0].outcome == "wrong_password"
    assert all(r.outcome == "skipped" and "needs attention" in r.message for r in reports[1:])
    stats = school_sim.admin.stats(school_sim.username)
    assert stats["outcomes"].get("wrong_password") == 1 and not stats["locked"]
    assert app.store.account_state("student").status == "needs_attention"

    # A new process with the same wrong password does not try either.
    res = cli(cfg, "not-the-password", "check")
    assert "needs attention" in res.stdout
    assert school_sim.admin.stats(school_sim.username)["outcomes"].get("wrong_password") == 1

    # The user fixes the password: one new try, which works.
    os.environ[PASSWORD_ENV] = school_sim.password
    [r] = app.watcher.check_all()
    assert r.outcome == "ok"
    assert app.store.account_state("student").status == "ok"
    app.close()


def test_locked_account_is_paused(school_sim, sink, tmp_path):
    # Someone else locked the account with five wrong passwords.
    for _ in range(5):
        with school_sim.adapter() as ad, pytest.raises(WrongPassword):
            ad.login(Credentials(school_sim.username, "guess"))
    cfg = write_config(tmp_path, school_sim.base_url, school_sim.username, [sink.url()], system=school_sim.system,
                       extra_school=school_sim.school_toml)
    app = app_for(cfg, school_sim.password)
    [r] = app.watcher.check_all()
    assert r.outcome == "locked"
    state = app.store.account_state("student")
    assert state.status == "paused" and state.paused_until > utcnow() + timedelta(hours=20)
    posts = school_sim.admin.stats(school_sim.username)["login_posts"]
    [r] = app.watcher.check_all()
    assert r.outcome == "skipped" and "paused" in r.message
    assert school_sim.admin.stats(school_sim.username)["login_posts"] == posts
    app.close()


def test_wrong_captcha_at_most_three_tries(school_sim, sink, tmp_path):
    school_sim.admin.control(reject_captcha=True)
    cfg = write_config(tmp_path, school_sim.base_url, school_sim.username, [sink.url()], system=school_sim.system,
                       extra_school=school_sim.school_toml)
    app = app_for(cfg, school_sim.password)
    [r] = app.watcher.check_all()
    assert r.outcome == "wrong_captcha"
    stats = school_sim.admin.stats(school_sim.username)
    assert stats["login_posts"] == 3 and stats["outcomes"].get("wrong_captcha") == 3
    assert app.store.account_state("student").status == "ok"  # a captcha problem is no reason to hold
    app.close()


def test_session_reuse_ten_checks_one_login(school_sim, sink, tmp_path):
    school_sim.admin.control(session_ttl=3600)
    cfg = write_config(tmp_path, school_sim.base_url, school_sim.username, [sink.url()], system=school_sim.system,
                       extra_school=school_sim.school_toml)
    app = app_for(cfg, school_sim.password)
    reports = [app.watcher.check_all()[0] for _ in range(10)]
    assert all(r.outcome == "ok" for r in reports)
    assert [r.logged_in for r in reports] == [True] + [False] * 9
    assert school_sim.admin.stats(school_sim.username)["successful_logins"] == 1

    # Once the school forgets the session, the next check logs in again (once).
    school_sim.admin.expire_sessions()
    [r] = app.watcher.check_all()
    assert r.outcome == "ok" and r.logged_in
    assert school_sim.admin.stats(school_sim.username)["successful_logins"] == 2
    app.close()


def test_broken_page_is_a_typed_error_and_corrupts_nothing(school_sim, sink, tmp_path):
    cfg = write_config(tmp_path, school_sim.base_url, school_sim.username, [sink.url()], system=school_sim.system,
                       extra_school=school_sim.school_toml)
    assert cli(cfg, school_sim.password, "check").returncode == 0
    db = tmp_path / "state" / "gradewatch.db"
    before = suite_db.rows(db, "select key, data from grades order by key")
    assert before
    school_sim.admin.control(broken_grades=True)
    res = cli(cfg, school_sim.password, "check")
    assert res.returncode == 5  # exit_codes.SCHOOL_ANSWER
    assert "unexpected_page" in res.stdout and "Traceback" not in res.stdout + res.stderr
    assert suite_db.rows(db, "select key, data from grades order by key") == before
    assert suite_db.rows(db, "select outcome from checks order by id desc limit 1") == [("unexpected_page",)]


def test_school_down_is_unavailable_not_a_crash(school_sim, sink, tmp_path):
    school_sim.admin.control(down=True)
    cfg = write_config(tmp_path, school_sim.base_url, school_sim.username, [sink.url()], system=school_sim.system,
                       extra_school=school_sim.school_toml)
    app = app_for(cfg, school_sim.password)
    [r] = app.watcher.check_all()
    assert r.outcome == "unavailable" and "503" in r.message
    assert app.store.grades("student") == []
    app.close()


def test_password_never_in_logs_or_database(school_sim, sink, tmp_path, caplog):
    caplog.set_level("DEBUG")
    cfg = write_config(tmp_path, school_sim.base_url, school_sim.username, [sink.url()], system=school_sim.system,
                       extra_school=school_sim.school_toml)
    app = app_for(cfg, school_sim.password)
    app.watcher.check_all()
    app.watcher.send_pending()
    school_sim.admin.expire_sessions()
    app.watcher.check_all()
    app.store.set_password("student", school_sim.password)  # the encrypted copy, too
    app.close()
    outputs = [cli(cfg, school_sim.password, "check", "-vv"), cli(cfg, school_sim.password, "status")]
    secret = school_sim.password
    assert secret not in caplog.text
    for out in outputs:
        assert secret not in out.stdout + out.stderr
    files = list((tmp_path / "state").iterdir())
    assert suite_db.on_postgresql() or any(f.name == "gradewatch.db" for f in files)
    assert not suite_db.contains(tmp_path / "state" / "gradewatch.db", secret.encode())
    for f in files:
        if f.name != "gradewatch.key":
            assert secret.encode() not in f.read_bytes(), f.name
    log_text = (tmp_path / "state" / "gradewatch.log").read_text()
    assert "student" in log_text and secret not in log_text
