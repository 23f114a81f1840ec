"""The sign-up's logins at schools are counted in the database: several web processes (each its own
Store) and restarts see the same refused passwords, the same hourly count, the one login in flight."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from threading import Barrier

import pytest

from gradewatch.secrets import Vault
from gradewatch.store.db import Store, utcnow
from gradewatch.store.signup_attempts import ABANDONED, REMEMBER, finish_attempt, start_attempt


@pytest.fixture
def stores(db_url, tmp_path):
    vault = Vault.open(tmp_path / "gw.key")
    opened = [Store.open(db_url, vault) for _ in range(2)]  # two web processes on one database
    yield opened
    for s in opened:
        s.close()


def test_a_refusal_seen_by_one_process_holds_in_the_other_and_after_a_restart(stores, db_url, tmp_path):
    one, other = stores
    started = start_attempt(one, "uni.u1", "fp-wrong", 3)
    assert isinstance(started, int)
    finish_attempt(one, started, "fp-wrong")
    assert start_attempt(other, "uni.u1", "fp-wrong", 3) == "refused"
    restarted = Store.open(db_url, Vault.open(tmp_path / "gw.key"))
    try:
        assert start_attempt(restarted, "uni.u1", "fp-wrong", 3) == "refused"
        assert isinstance(start_attempt(restarted, "uni.u2", "fp-wrong", 3), int), "another student is not held"
    finally:
        restarted.close()
    again = start_attempt(other, "uni.u1", "fp-other", 3)  # another password is tried
    assert isinstance(again, int)


def test_one_login_in_flight_per_student_across_processes(stores):
    one, other = stores
    first = start_attempt(one, "uni.u1", "fp-a", 3)
    assert isinstance(first, int)
    assert start_attempt(other, "uni.u1", "fp-b", 3) == "busy"
    assert start_attempt(one, "uni.u1", "fp-b", 3) == "busy"
    finish_attempt(one, first, None)
    assert isinstance(start_attempt(other, "uni.u1", "fp-b", 3), int)


def test_racing_processes_start_one_login(stores):
    gate = Barrier(2)

    def race(store: Store):
        gate.wait()
        return start_attempt(store, "uni.race", "fp", 3)

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(race, stores))
    assert sorted(map(type, results), key=str) == sorted([int, str], key=str), results
    assert "busy" in results


def test_the_hourly_limit_is_shared_and_refused_passwords_cost_no_try(stores):
    one, other = stores
    for i, store in enumerate([one, other, one]):
        started = start_attempt(store, "uni.u3", f"fp-{i}", 3)
        assert isinstance(started, int)
        finish_attempt(store, started, f"fp-{i}")
        assert start_attempt(store, "uni.u3", f"fp-{i}", 3) == "refused"
    assert start_attempt(other, "uni.u3", "fp-new", 3) == "limit"


def test_a_login_of_a_process_that_died_frees_the_name_and_old_refusals_expire(db_url, tmp_path):
    now = [utcnow()]
    vault = Vault.open(tmp_path / "gw.key")
    store = Store.open(db_url, vault, host_clock=lambda: now[0])
    try:
        dead = start_attempt(store, "uni.u4", "fp-x", 3)  # never finished: its process died mid-login
        assert isinstance(dead, int)
        assert start_attempt(store, "uni.u4", "fp-y", 3) == "busy"
        if store.engine.dialect.name == "postgresql":
            pytest.skip("the database server's clock cannot be moved; SQLite runs this part")
        now[0] += ABANDONED + timedelta(seconds=1)
        later = start_attempt(store, "uni.u4", "fp-y", 3)
        assert isinstance(later, int)
        finish_attempt(store, later, "fp-y")
        assert start_attempt(store, "uni.u4", "fp-y", 3) == "refused"
        now[0] += REMEMBER + timedelta(hours=1)
        assert isinstance(start_attempt(store, "uni.u4", "fp-y", 3), int), "a refusal is kept a day, not for ever"
    finally:
        store.close()
