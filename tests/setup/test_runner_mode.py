"""Scheduled-runner mode: the whole state in one file carried between runs, the key from the
environment; a lost state file never re-sends the whole table unless --baseline asks."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace

from cryptography.fernet import Fernet

from gradewatch.grades import Grade
from gradewatch.notify.sink import SmtpSink
from watch.helpers import PASSWORD_ENV, write_config

NEW = Grade(term="2022-2023-2", course_code="0802101", course_name="操作系统", score="95", credits=3.5)


def _check(cfg, state, password, *extra):
    env = {**os.environ, PASSWORD_ENV: password, "GRADEWATCH_KEY": KEY, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "gradewatch.cli", "check", "-c", str(cfg), "--state", str(state),
                           *extra], env=env, capture_output=True, text=True, timeout=120, check=False)


KEY = Fernet.generate_key().decode()


def test_runs_carry_the_state_and_a_lost_state_resends_nothing(ssfw_sim, tmp_path):
    state = tmp_path / "cache" / "gradewatch-state.db"
    with SmtpSink() as sink:
        cfg = write_config(tmp_path, ssfw_sim.base_url, ssfw_sim.username, [sink.url()])
        first = _check(cfg, state, ssfw_sim.password, "--baseline")
        assert first.returncode == 0, first.stdout + first.stderr
        assert len(sink.wait_for(1)) == 1 and state.exists()
        assert not (tmp_path / "state" / "gradewatch.key").exists()  # the key came from the environment

        ssfw_sim.admin.publish_grade(ssfw_sim.username, NEW)
        second = _check(cfg, state, ssfw_sim.password)
        assert second.returncode == 0 and "not found" not in second.stderr
        mails = sink.wait_for(2)
        assert len(mails) == 2 and "操作系统" in mails[1].text and "新成绩" in mails[1].subject

        state.unlink()  # the runner's cache is gone
        lost = _check(cfg, state, ssfw_sim.password)
        assert lost.returncode == 0, lost.stdout + lost.stderr
        assert "not found" in lost.stderr and "--baseline" in lost.stderr
        ssfw_sim.admin.publish_grade(ssfw_sim.username, replace(NEW, course_code="0802102", course_name="编译原理"))
        after = _check(cfg, state, ssfw_sim.password)
        assert after.returncode == 0
        mails = sink.wait_for(3)
        assert len(mails) == 3 and "编译原理" in mails[2].text and "操作系统" not in mails[2].text

        state.unlink()
        asked = _check(cfg, state, ssfw_sim.password, "--baseline")
        assert asked.returncode == 0 and "mailing the whole grade table" in asked.stderr
        mails = sink.wait_for(4)
        assert len(mails) == 4 and "操作系统" in mails[3].text and "编译原理" in mails[3].text


def test_a_bad_key_in_the_environment_is_one_clear_line(ssfw_sim, tmp_path):
    cfg = write_config(tmp_path, ssfw_sim.base_url, ssfw_sim.username, [])
    env = {**os.environ, PASSWORD_ENV: "x", "GRADEWATCH_KEY": "not-a-key"}
    res = subprocess.run([sys.executable, "-m", "gradewatch.cli", "check", "-c", str(cfg), "--state",
                          str(tmp_path / "s.db")], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert res.returncode == 2 and "GRADEWATCH_KEY" in res.stderr and "Traceback" not in res.stderr


def test_key_new_prints_a_usable_key():
    res = subprocess.run([sys.executable, "-m", "gradewatch.cli", "key", "new"], capture_output=True, text=True,
                         timeout=60, check=False)
    Fernet(res.stdout.strip().encode())
