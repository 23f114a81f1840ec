"""The guided `gradewatch init` in a real terminal (a pty): a school found by its pinyin initials, a
wrong password told at once after one login POST, then the right one, a test mail and a first
check; the config it writes passes `doctor`. And the same answers as flags, without a terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pexpect
import pytest

from gradewatch.notify.sink import SmtpSink


@pytest.fixture
def directory(ssfw_sim, tmp_path):
    """An operator's directory naming the simulator as a school (the built-in one lists real schools)."""
    path = tmp_path / "club-schools.json"
    path.write_text(json.dumps({"schools": [{"name": "山东建筑大学", "system": "ssfw", "base_url": ssfw_sim.base_url,
                                             "source": "test", "last_seen": "2026-12-02"}]}, ensure_ascii=False),
                    encoding="utf-8")
    return path


def test_guided_init_in_a_terminal(ssfw_sim, directory, tmp_path):
    work = tmp_path / "me"
    work.mkdir()
    env = {**os.environ, "GRADEWATCH_SCHOOLS": str(directory), "COLUMNS": "200", "TERM": "dumb"}
    with SmtpSink() as sink:
        child = pexpect.spawn(sys.executable, ["-m", "gradewatch.cli", "init"], cwd=str(work), env=env,
                              encoding="utf-8", timeout=90)
        try:
            child.expect("School")
            child.sendline("sdjz")
            child.expect("山东建筑大学")
            child.expect("Which one")
            child.sendline("1")
            child.expect("Student number")
            child.sendline(ssfw_sim.username)
            child.expect("Password")
            child.sendline("certainly-not-it")
            child.expect("wrong")
            assert ssfw_sim.admin.stats(ssfw_sim.username)["login_posts"] == 1  # told after one POST
            child.expect("Password")
            child.sendline(ssfw_sim.password)
            child.expect("Logged in")
            child.expect("E-mail address")
            child.sendline("student@example.edu")
            child.expect("Sending server")
            child.sendline(f"127.0.0.1:{sink.port}/insecure")
            child.expect("authorisation code")
            child.sendline("")
            child.expect("Test message: confirmed")
            child.expect("grades read")
            child.expect(pexpect.EOF)
        finally:
            child.close()
        assert child.exitstatus == 0, child.before
        mails = sink.wait_for(2)
        assert "test message" in mails[0].subject and len(mails) == 2
    stats = ssfw_sim.admin.stats(ssfw_sim.username)
    assert stats["login_posts"] == 2 and stats["successful_logins"] == 1  # the first check reused the session
    cfg = (work / "gradewatch.toml").read_text(encoding="utf-8")
    assert ssfw_sim.password not in cfg and "certainly-not-it" not in cfg
    doctor = subprocess.run([sys.executable, "-m", "gradewatch.cli", "doctor", "-c", str(work / "gradewatch.toml")],
                            env=env, capture_output=True, text=True, timeout=120, check=False)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr


def test_the_same_answers_as_flags(ssfw_sim, directory, tmp_path):
    with SmtpSink() as sink:
        env = {**os.environ, "GRADEWATCH_SCHOOLS": str(directory), "PW": ssfw_sim.password, "COLUMNS": "200"}
        res = subprocess.run(
            [sys.executable, "-m", "gradewatch.cli", "init", "--out", str(tmp_path / "gw.toml"), "--school", "建大",
             "--username", ssfw_sim.username, "--password-env", "PW", "--email", "student@example.edu",
             "--smtp-server", f"127.0.0.1:{sink.port}/insecure"],
            env=env, capture_output=True, text=True, timeout=120, check=False, stdin=subprocess.DEVNULL)
        assert res.returncode == 0, res.stdout + res.stderr
        assert len(sink.wait_for(2)) == 2


def test_without_a_terminal_or_flags_it_says_what_to_do(tmp_path):
    res = subprocess.run([sys.executable, "-m", "gradewatch.cli", "init"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=60, check=False, stdin=subprocess.DEVNULL)
    assert res.returncode == 2 and "flags" in res.stderr and "Traceback" not in res.stderr
