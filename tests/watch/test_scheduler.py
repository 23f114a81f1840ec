"""Politeness: jittered intervals, per-school backoff, per-school concurrency caps, one check per account."""

from __future__ import annotations

import random
import threading
from datetime import timedelta

import pytest

from gradewatch.app import open_app
from gradewatch.config import config_from_dict
from gradewatch.store.db import utcnow
from gradewatch.watch.scheduler import Scheduler, next_regular, school_backoff

HOUR = timedelta(minutes=30)


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    rng = random.Random(1)
    delays = [school_backoff(n, HOUR, rng) for n in range(1, 12)]
    base = [min(timedelta(minutes=2) * 2 ** (n - 1), HOUR * 4) for n in range(1, 12)]
    for d, b in zip(delays, base, strict=True):
        assert b * 0.75 <= d <= b * 1.25
    assert delays[3] > delays[0] * 4 and max(delays) <= HOUR * 4 * 1.25


def test_regular_interval_has_jitter_in_both_directions():
    rng = random.Random(2)
    now = utcnow()
    got = [next_regular(now, HOUR, timedelta(minutes=5), rng) - now for _ in range(200)]
    assert all(timedelta(minutes=25) <= g <= timedelta(minutes=35) for g in got)
    assert min(got) < timedelta(minutes=28) and max(got) > timedelta(minutes=32)


def _multi_account_config(tmp_path, base_url, accounts, *, cap, extra_school=None):
    schools = {"uni": {"system": "ssfw", "base_url": base_url, "max_concurrency": cap}}
    if extra_school:
        schools["down"] = extra_school
    return config_from_dict({
        "database": "sqlite:///gw.db",
        "schools": schools,
        "accounts": {name: {"school": school, "username": user, "password": pw}
                     for name, (school, user, pw) in accounts.items()},
    }, base_dir=tmp_path)


def test_per_school_cap_keeps_checks_of_one_school_apart(ssfw_sim, tmp_path):
    accounts = {}
    for i in range(4):
        user = f"20219900{i:02d}"
        ssfw_sim.admin.add_student(user, f"pw-{i}-long")
        accounts[f"s{i}"] = ("uni", user, f"pw-{i}-long")
    app = open_app(_multi_account_config(tmp_path, ssfw_sim.base_url, accounts, cap=1), logging=False)
    reports = app.watcher.check_all()
    assert [r.outcome for r in reports] == ["ok"] * 4
    spans = sorted((c.started_at, c.finished_at) for c in app.store.checks())
    assert len(spans) == 4
    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
        assert start >= end, "two checks of a school capped at 1 ran at the same time"
    app.close()


def test_one_check_per_account_at_a_time(ssfw_sim, tmp_path):
    accounts = {"me": ("uni", ssfw_sim.username, ssfw_sim.password)}
    app = open_app(_multi_account_config(tmp_path, ssfw_sim.base_url, accounts, cap=4), logging=False)
    barrier = threading.Barrier(3)
    results = []

    def go():
        barrier.wait()
        results.append(app.watcher.check_account("me"))

    threads = [threading.Thread(target=go) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    outcomes = sorted(r.outcome for r in results)
    assert outcomes.count("ok") >= 1 and set(outcomes) <= {"ok", "skipped"}
    assert ssfw_sim.admin.stats(ssfw_sim.username)["successful_logins"] == 1
    app.close()


def test_scheduler_backs_off_a_down_school_only(ssfw_sim, tmp_path):
    # "down" points at a port nobody listens on: every check there is `unavailable`.
    from .helpers import free_port

    dead = {"system": "ssfw", "base_url": f"http://127.0.0.1:{free_port()}", "timeout": 2}
    accounts = {"ok1": ("uni", ssfw_sim.username, ssfw_sim.password), "d1": ("down", "x1", "p"),
                "d2": ("down", "x2", "p")}
    app = open_app(_multi_account_config(tmp_path, ssfw_sim.base_url, accounts, cap=2, extra_school=dead),
                   logging=False)
    now = [utcnow()]
    sched = Scheduler(app.watcher, clock=lambda: now[0], rng=random.Random(3))
    now[0] += timedelta(seconds=10)
    reports = {r.account: r.outcome for r in sched.tick()}
    assert reports == {"ok1": "ok", "d1": "unavailable", "d2": "unavailable"}
    store = app.store
    assert (store.school_status("uni").failures, store.school_status("down").failures) == (0, 2)
    due = store.schedule(["ok1", "d1", "d2"])
    wait_down = min(due["d1"], due["d2"]) - now[0]
    wait_ok = due["ok1"] - now[0]
    assert timedelta(minutes=2) <= wait_down <= timedelta(minutes=2) * 2 * 1.25
    assert timedelta(minutes=25) <= wait_ok <= timedelta(minutes=35)
    # The school's backoff is shared state: a second worker on the database waits as well.
    other = open_app(app.config, logging=False)
    sched2 = Scheduler(other.watcher, clock=lambda: now[0], rng=random.Random(4))
    assert sched2.due() == []
    assert sched2.seconds_to_next() > 0
    other.close()
    # Nothing is due in between: a tick then checks nobody.
    now[0] += timedelta(minutes=1)
    assert sched.tick() == []
    app.close()


def test_run_checks_mails_and_stops_cleanly_on_sigterm(ssfw_sim, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    from gradewatch.notify.sink import SmtpSink

    from .helpers import PASSWORD_ENV, write_config

    with SmtpSink() as sink:
        cfg = write_config(tmp_path, ssfw_sim.base_url, ssfw_sim.username, [sink.url()])
        env = {**os.environ, PASSWORD_ENV: ssfw_sim.password}
        proc = subprocess.Popen([sys.executable, "-m", "gradewatch.cli", "run", "-c", str(cfg)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert len(sink.wait_for(1, timeout=60)) == 1
            time.sleep(0.5)
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0, err
        assert "Watching 1 account" in out and "Traceback" not in err
        assert ssfw_sim.admin.stats(ssfw_sim.username)["successful_logins"] == 1
        assert len(sink.mails) == 1


def _rhythm_app(ssfw_sim, tmp_path, n, *, quiet_global=None, quiet_school=None):  # type: ignore[no-untyped-def]
    accounts = {}
    for i in range(n):
        user = f"20218800{i:02d}"
        ssfw_sim.admin.add_student(user, f"pw-{i}-long")
        accounts[f"s{i}"] = {"school": "uni", "username": user, "password": f"pw-{i}-long"}
    school = {"system": "ssfw", "base_url": ssfw_sim.base_url, "max_concurrency": 4}
    if quiet_school is not None:
        school["quiet_nights"] = quiet_school
    raw = {"database": "sqlite:///gw.db", "jitter_minutes": 0, "schools": {"uni": school}, "accounts": accounts}
    if quiet_global is not None:
        raw["quiet_nights"] = quiet_global
    return open_app(config_from_dict(raw, base_dir=tmp_path), logging=False)


def _school_time(days_ago: int, hour: int, minute: int = 0):  # type: ignore[no-untyped-def]
    """A moment in the schools' time zone, in the past (leases and claims use the real clock)."""
    from gradewatch.watch.rhythm import SCHOOL_TZ

    day = (utcnow() - timedelta(days=days_ago)).astimezone(SCHOOL_TZ)
    return day.replace(hour=hour, minute=minute, second=0, microsecond=0)


def test_quiet_nights_space_night_checks_3x_and_spread_the_morning(ssfw_sim, tmp_path):  # type: ignore[no-untyped-def]
    app = _rhythm_app(ssfw_sim, tmp_path, 6, quiet_global=True)
    names = list(app.config.accounts)
    now = [_school_time(3, 2)]  # 02:00 school time, on a fake clock: nothing sleeps
    sched = Scheduler(app.watcher, clock=lambda: now[0], rng=random.Random(5))
    assert {r.outcome for r in sched.tick()} == {"ok"}
    night = app.store.schedule(names)
    assert all(t == now[0] + timedelta(minutes=90) for t in night.values())  # 3 × 30 min
    # 06:50: 06:50 + 90 min would pass 08:00, so each lands somewhere in 08:00–08:30, not all at 08:00.
    now[0] = now[0].replace(hour=6, minute=50)
    assert {r.outcome for r in sched.tick()} == {"ok"}
    morning = sorted(app.store.schedule(names).values())
    eight = now[0].replace(hour=8, minute=0)
    assert all(eight <= t < eight + timedelta(minutes=30) for t in morning)
    assert len(set(morning)) == len(morning) and morning[-1] - morning[0] >= timedelta(minutes=5)
    # In office hours the plain interval.
    now[0] = now[0].replace(hour=9, minute=0)
    assert {r.outcome for r in sched.tick()} == {"ok"}
    assert all(t == now[0] + timedelta(minutes=30) for t in app.store.schedule(names).values())
    app.close()


@pytest.mark.parametrize("quiet_global, quiet_school", [(None, None), (True, False)])
def test_nights_keep_the_plain_interval_unless_quiet_nights_is_on(ssfw_sim, tmp_path, quiet_global, quiet_school):  # type: ignore[no-untyped-def]
    # Default (one student): 30 min at 02:00 as at noon; a school's own `quiet_nights = false` wins over the global.
    app = _rhythm_app(ssfw_sim, tmp_path, 1, quiet_global=quiet_global, quiet_school=quiet_school)
    now = [_school_time(3, 2)]
    sched = Scheduler(app.watcher, clock=lambda: now[0], rng=random.Random(6))
    assert [r.outcome for r in sched.tick()] == ["ok"]
    assert app.store.schedule(["s0"])["s0"] == now[0] + timedelta(minutes=30)
    app.close()


def test_an_account_added_while_running_is_checked_without_a_restart(ssfw_sim, tmp_path):  # type: ignore[no-untyped-def]
    from gradewatch.sim.transcripts import seeded_students
    from gradewatch.store.accounts import AccountBook, NewAccount

    accounts = {"ok1": ("uni", ssfw_sim.username, ssfw_sim.password)}
    app = open_app(_multi_account_config(tmp_path, ssfw_sim.base_url, accounts, cap=2), logging=False)
    now = [utcnow()]
    sched = Scheduler(app.watcher, clock=lambda: now[0], rng=random.Random(7))
    assert [r.account for r in sched.tick()] == ["ok1"]
    # Another process (`gradewatch accounts add`, a web sign-up) adds a student to the database.
    other = open_app(app.config, logging=False)
    second = list(seeded_students(0, 5))[1]  # the simulator's second student
    AccountBook(other.store, other.config).add(NewAccount("late", "uni", second.username, second.password))
    other.close()
    now[0] += timedelta(seconds=5)
    reports = {r.account: r.outcome for r in sched.tick()}
    assert reports == {"late": "ok"}  # checked at once; ok1 is not due yet
    assert sched.pick_up_new_accounts() == []  # picked up once
    app.close()


def test_an_account_at_a_school_added_to_the_config_file_while_running_is_checked(ssfw_sim, tmp_path):  # type: ignore[no-untyped-def]
    # A web sign-up with a pasted URL appends the school to the operator's config, then adds the account.
    from gradewatch.sim.transcripts import seeded_students
    from gradewatch.store.accounts import AccountBook, NewAccount

    cfg = tmp_path / "gradewatch.toml"
    cfg.write_text(f'database = "sqlite:///gw.db"\nkey_file = "gw.key"\n\n[schools.uni]\nsystem = "ssfw"\n'
                   f'base_url = "{ssfw_sim.base_url}"\n\n[accounts.ok1]\nschool = "uni"\n'
                   f'username = "{ssfw_sim.username}"\npassword = "{ssfw_sim.password}"\n', encoding="utf-8")
    cfg.chmod(0o600)
    app = open_app(cfg, logging=False)
    now = [utcnow()]
    sched = Scheduler(app.watcher, clock=lambda: now[0], rng=random.Random(8))
    assert [r.account for r in sched.tick()] == ["ok1"]
    with cfg.open("a", encoding="utf-8") as f:
        f.write(f'\n[schools.detected]\nsystem = "ssfw"\nbase_url = "{ssfw_sim.base_url}"\nmax_concurrency = 1\n')
    other = open_app(cfg, logging=False)
    second = list(seeded_students(0, 5))[1]
    AccountBook(other.store, other.config).add(NewAccount("late", "detected", second.username, second.password))
    other.close()
    now[0] += timedelta(seconds=5)
    assert {r.account: (r.school, r.outcome) for r in sched.tick()} == {"late": ("detected", "ok")}
    assert "detected" in app.watcher.config.schools and sched.pick_up_new_accounts() == []
    app.close()


def test_a_broken_config_file_keeps_the_running_worker_as_it_was(ssfw_sim, tmp_path):  # type: ignore[no-untyped-def]
    from gradewatch.sim.transcripts import seeded_students
    from gradewatch.store.accounts import AccountBook, NewAccount

    cfg = tmp_path / "gradewatch.toml"
    body = (f'database = "sqlite:///gw.db"\nkey_file = "gw.key"\n\n[schools.uni]\nsystem = "ssfw"\n'
            f'base_url = "{ssfw_sim.base_url}"\n\n[schools.other]\nsystem = "ssfw"\nbase_url = "{ssfw_sim.base_url}"\n')
    cfg.write_text(body, encoding="utf-8")
    other = open_app(cfg, logging=False)
    second = list(seeded_students(0, 5))[1]
    cfg.write_text(body.split("[schools.other]")[0], encoding="utf-8")  # the worker starts without it
    app = open_app(cfg, logging=False)
    sched = Scheduler(app.watcher, clock=utcnow, rng=random.Random(9))
    AccountBook(other.store, other.config).add(NewAccount("late", "other", second.username, second.password))
    other.close()
    cfg.write_text(body + "\n[schools.broken\n", encoding="utf-8")  # not TOML any more
    assert sched.pick_up_new_accounts() == []  # no crash, nothing adopted
    assert set(app.watcher.config.schools) == {"uni"}
    app.close()
