"""The store as many workers share it, on SQLite and a real PostgreSQL: claims, leases, budgets, start-up."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from gradewatch.secrets import Vault
from gradewatch.store.db import Notice, Store, StoreError, utcnow
from gradewatch.store.leases import new_owner

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def vault(tmp_path) -> Vault:
    return Vault.open(tmp_path / "gw.key")


def _stores(url: str, vault: Vault, n: int) -> list[Store]:
    return [Store.open(url, vault) for _ in range(n)]


def _queue(store: Store, account: str, n: int) -> None:
    """``n`` pending outbox rows for ``account`` (through the real apply_grades path)."""
    from gradewatch.grades import Grade

    store.ensure_account(account, school="uni", system="ssfw", username=account)
    chk = store.start_check(account)
    grades = [Grade(term="2023-2024-1", course_code=f"C{i}", course_name=f"课{i}", score="90") for i in range(n)]

    def compose(diff, before, after, first):  # one notice per new grade
        return [Notice("update", f"{g.course_code}", "t", "<p>h</p>") for g in diff.new]

    store.apply_grades(account, chk, grades, compose, ["fp"], ["0"])


def test_outbox_rows_are_claimed_by_exactly_one_worker(db_url, vault):
    stores = _stores(db_url, vault, 4)
    _queue(stores[0], "a", 30)
    now = utcnow()
    claimed: list[tuple[int, int]] = []
    barrier = threading.Barrier(4)

    def worker(i: int) -> None:
        barrier.wait()
        while (row := stores[i].claim_message(f"w{i}", now, timedelta(minutes=1))) is not None:
            claimed.append((row.id, i))
            stores[i].mark_sent(row.id)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(worker, range(4)))
    ids = [c[0] for c in claimed]
    assert len(ids) == 30 and len(set(ids)) == 30, "a row was claimed twice or not at all"
    for s in stores:
        s.close()


def test_a_dead_workers_claim_expires(db_url, vault):
    store = Store.open(db_url, vault)
    _queue(store, "a", 1)
    t0 = utcnow()
    row = store.claim_message("dead-worker", t0, timedelta(seconds=30))
    assert row is not None
    assert store.claim_message("w2", t0 + timedelta(seconds=10), timedelta(seconds=30)) is None  # still claimed
    again = store.claim_message("w2", t0 + timedelta(seconds=31), timedelta(seconds=30))
    assert again is not None and again.id == row.id and again.claimed_by == "w2"
    store.close()


def test_leases_exclusive_renewed_and_due_claims(db_url, vault):
    a, b = _stores(db_url, vault, 2)
    a.ensure_account("me", school="s", system="ssfw", username="u")
    now = utcnow()
    assert a.acquire_lease("me", "A", timedelta(seconds=30), now=now, due_before=now)
    assert not b.acquire_lease("me", "B", timedelta(seconds=30), now=now, due_before=now)
    assert a.renew_lease("me", "A", timedelta(seconds=30)) and not b.renew_lease("me", "B", timedelta(seconds=30))
    nxt = now + timedelta(minutes=30)
    a.release_lease("me", "A", next_check_at=nxt, claimed_at=now)
    # Free, but not due: a second worker does not check it again within the interval.
    assert not b.acquire_lease("me", "B", timedelta(seconds=30), now=now, due_before=now)
    assert b.due_accounts(["me"], now) == []
    # Someone (a classmate's new grade) moves the check earlier: honoured at once.
    assert b.schedule_check("me", now)
    assert b.due_accounts(["me"], now) == ["me"]
    assert b.acquire_lease("me", "B", timedelta(seconds=30), now=now, due_before=now)
    # A move made while a check runs survives that check's reschedule.
    claimed = now
    b.schedule_check("me", now + timedelta(seconds=5), only_earlier=False)
    b.release_lease("me", "B", next_check_at=nxt, claimed_at=claimed)
    assert b.schedule(["me"])["me"] == now + timedelta(seconds=5)
    a.close()
    b.close()


def test_school_cap_and_budget_hold_across_workers(db_url, vault):
    stores = _stores(db_url, vault, 3)
    for i in range(6):
        stores[0].ensure_account(f"s{i}", school="uni", system="ssfw", username=f"u{i}")
    now = utcnow()
    got = [stores[i % 3].acquire_lease(f"s{i}", f"w{i % 3}", timedelta(seconds=30), now=now, school_cap=2)
           for i in range(6)]
    assert sum(got) == 2
    # The budget: 10 requests a minute for all workers together.
    taken = [stores[i % 3].take_budget("uni", 3, 10, now) for i in range(6)]
    assert taken == [True, True, True, False, False, False]
    stores[0].correct_budget("uni", -5)  # the checks made fewer requests than reserved
    assert stores[1].take_budget("uni", 3, 10, now)
    assert stores[2].take_budget("uni", 3, 10, now + timedelta(seconds=61))  # a new minute
    # A check that took its reservation in the first minute and ends in the new one gives nothing
    # back to the new minute (it reserved nothing there): 3 + 6 of 10 stay taken.
    stores[0].correct_budget("uni", -5, taken_at=now)
    assert stores[1].take_budget("uni", 6, 10, now + timedelta(seconds=62))
    assert not stores[1].take_budget("uni", 2, 10, now + timedelta(seconds=63))
    for s in stores:
        s.close()


def test_a_70_character_host_name_fits(db_url, vault, monkeypatch):
    monkeypatch.setattr(socket, "gethostname", lambda: "worker-" + "x" * 56 + ".campus")
    owner = new_owner()
    assert len(socket.gethostname()) == 70 and len(owner) > 90
    store = Store.open(db_url, vault)
    store.ensure_account("me", school="s", system="ssfw", username="u")
    assert store.acquire_lease("me", owner, timedelta(seconds=30))
    assert store.leases()[0].owner == owner
    _queue(store, "me", 1)
    assert store.claim_message(owner, utcnow(), timedelta(seconds=30)) is not None
    store.close()


_HOLD_LEASE = """
import sys, time
from datetime import timedelta
from gradewatch.secrets import Vault
from gradewatch.store.db import Store
from gradewatch.store.leases import new_owner
s = Store.open(sys.argv[1], Vault.open(sys.argv[2]))
s.ensure_account("me", school="s", system="ssfw", username="u")
assert s.acquire_lease("me", new_owner(), timedelta(minutes=10))
print("held", flush=True)
time.sleep(60)
"""


def test_a_killed_holders_lease_is_free_at_once_on_its_host(db_url, vault, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.Popen([sys.executable, "-c", _HOLD_LEASE, db_url, str(tmp_path / "gw.key")], env=env,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        store = Store.open(db_url, vault)
        assert not store.acquire_lease("me", "me-too", timedelta(seconds=30))  # a live holder keeps it
        assert store.reap_dead_leases() == 0
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert store.reap_dead_leases() == 1  # its pid is gone: no 10-minute wait
        assert store.acquire_lease("me", "me-too", timedelta(seconds=30))
        store.close()
    finally:
        if proc.poll() is None:
            proc.kill()


_START = """
import sys
from gradewatch.secrets import Vault
from gradewatch.store.db import Store
s = Store.open(sys.argv[1], Vault.open(sys.argv[2]))
s.ensure_account("shared", school="s", system="ssfw", username="u")
s.ensure_account(f"own-{sys.argv[3]}", school="s", system="ssfw", username="u")
print("ok")
"""


def test_ten_processes_start_at_once_on_a_fresh_database(db_url, tmp_path):
    Vault.open(tmp_path / "gw.key")
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    procs = [subprocess.Popen([sys.executable, "-c", _START, db_url, str(tmp_path / "gw.key"), str(i)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(10)]
    results = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, results, strict=True):
        assert p.returncode == 0 and out.strip() == "ok", err[-2000:]
    store = Store.open(db_url, Vault.open(tmp_path / "gw.key"))
    assert sorted(a.id for a in store.accounts()) == sorted(["shared", *(f"own-{i}" for i in range(10))])
    store.close()


def test_database_files_are_private(tmp_path, vault):
    db = tmp_path / "state" / "gw.db"
    store = Store.open(f"sqlite:///{db}", vault)
    store.ensure_account("me", school="s", system="ssfw", username="u")
    files = [p for p in db.parent.iterdir() if p.name.startswith("gw.db")]
    assert {p.name for p in files} >= {"gw.db", "gw.db-wal", "gw.db-shm"}
    for p in files:
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p.name
    store.close()


@pytest.mark.parametrize("url, words", [
    ("not a url at all", "not a database URL"),
    ("foo://bar/baz", "unknown database kind 'foo'"),
    ("mysql://u:secret@localhost/db", "driver is not installed"),
    ("sqlite:////proc/gradewatch-nowhere/x.db", "cannot create database"),
])
def test_bad_database_urls_are_one_clear_line(url, words, vault):
    with pytest.raises(StoreError) as err:
        Store.open(url, vault)
    assert words in str(err.value) and "\n" not in str(err.value) and "secret" not in str(err.value)


def test_a_newer_database_and_a_write_locked_one(tmp_path, vault):
    db = tmp_path / "gw.db"
    Store.open(f"sqlite:///{db}", vault).close()
    newer = Store(f"sqlite:///{db}", vault)
    with newer.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    with pytest.raises(StoreError, match="written by a newer gradewatch"):
        newer.migrate()
    newer.close()

    other = tmp_path / "locked.db"
    Store.open(f"sqlite:///{other}", vault).close()
    import sqlite3

    holder = sqlite3.connect(other, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        t0 = time.monotonic()
        store = Store.open(f"sqlite:///{other}?timeout=0.5", vault)  # reading works (WAL)
        with pytest.raises(StoreError, match="another program holds a write lock"):
            store.ensure_account("me", school="s", system="ssfw", username="u")
        store.close()
        assert time.monotonic() - t0 < 10
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_school_cap_holds_when_workers_race(db_url, vault):
    stores = _stores(db_url, vault, 8)
    for i in range(8):
        stores[0].ensure_account(f"s{i}", school="uni", system="ssfw", username=f"u{i}")
    now = utcnow()
    barrier = threading.Barrier(8)

    def claim(i: int) -> bool:
        barrier.wait()
        return stores[i].acquire_lease(f"s{i}", f"w{i}", timedelta(seconds=30), now=now, school_cap=2)

    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(claim, range(8)))
    assert sum(got) == 2, got
    for s in stores:
        s.close()
