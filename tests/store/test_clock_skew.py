"""Workers on hosts whose clocks disagree still agree on leases, claims and schedules.

A lease or claim is a time one worker writes and another compares with its own clock. Two hosts
ten minutes apart would each see the other's live lease as long over (a second password POST, a
second mail) without the store's clock, which is the database server's time on PostgreSQL.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from gradewatch.secrets import Vault
from gradewatch.store.db import Store, utcnow
from gradewatch.watch.checker import Watcher

SKEW = timedelta(minutes=10)


@pytest.fixture
def vault(tmp_path) -> Vault:
    return Vault.open(tmp_path / "gw.key")


def _config(tmp_path, db_url: str):
    from gradewatch.config import load_config

    path = tmp_path / "gradewatch.toml"
    path.write_text(f"""database = "{db_url}"
key_file = "gw.key"
[schools.uni]
system = "ssfw"
base_url = "http://127.0.0.1:9"
[accounts.student]
school = "uni"
username = "u"
password_env = "GW_SKEW_PASSWORD"
""", encoding="utf-8")
    return load_config(path)


def _skewed(offset: timedelta):
    return lambda: utcnow() + offset


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_hosts_with_skewed_clocks_agree_on_leases_and_claims(db_url, vault, caplog):
    honest = Store.open(db_url, vault)
    with caplog.at_level(logging.WARNING, logger="gradewatch.store.db"):
        ahead = Store.open(db_url, vault, host_clock=_skewed(SKEW))    # this host's clock runs 10 min fast
        behind = Store.open(db_url, vault, host_clock=_skewed(-SKEW))  # and this one's 10 min slow
        for s in (honest, ahead, behind):
            assert abs(s.now() - utcnow()) < timedelta(seconds=5)
    said = [r.getMessage() for r in caplog.records]
    assert any("600 s ahead of" in m for m in said) and any("600 s behind" in m for m in said), said

    honest.ensure_account("me", school="uni", system="ssfw", username="u")
    assert honest.acquire_lease("me", "A", timedelta(minutes=5))
    # The fast host would see A's 5-minute lease as over for 5 minutes already, and take it.
    assert not ahead.acquire_lease("me", "B", timedelta(minutes=5))
    assert not ahead.renew_lease("me", "B", timedelta(minutes=5))
    honest.release_lease("me", "A")
    # The slow host takes a free lease, and its lease still holds against the fast host.
    assert behind.acquire_lease("me", "C", timedelta(minutes=5))
    assert not ahead.acquire_lease("me", "B", timedelta(minutes=5))
    behind.release_lease("me", "C")

    # A message queued now is due now for every host: not ten minutes late on the slow one.
    from .test_shared_store import _queue

    _queue(honest, "me", 1)
    row = behind.claim_message("C", behind.now(), timedelta(minutes=1))
    assert row is not None, "the slow host saw a due message as not yet due"
    assert ahead.claim_message("B", ahead.now(), timedelta(minutes=1)) is None, "a live claim was taken"
    for s in (honest, ahead, behind):
        s.close()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_fast_hosts_watcher_leaves_a_live_lease_alone(db_url, vault, tmp_path, monkeypatch):
    cfg = _config(tmp_path, db_url)
    honest = Store.open(db_url, vault)
    honest.ensure_account("student", school="uni", system="ssfw", username="u")
    assert honest.acquire_lease("student", "another-host", timedelta(minutes=5))
    fast = Store.open(db_url, vault, host_clock=_skewed(SKEW))
    monkeypatch.setenv("GW_SKEW_PASSWORD", "pw")
    report = Watcher(cfg, fast).check_account("student", wait=False)
    assert report.outcome == "skipped" and "another gradewatch process" in report.message, report
    honest.close()
    fast.close()


def test_sqlite_workers_share_the_hosts_clock(tmp_path, vault):
    store = Store.open(f"sqlite:///{tmp_path / 'gw.db'}", vault, host_clock=_skewed(SKEW))
    assert store.now() - utcnow() > SKEW - timedelta(seconds=5)  # one file, one host: nothing to correct
    store.close()


def test_doctor_names_a_host_clock_far_from_the_servers():
    from gradewatch.doctor import clock_finding

    fast = clock_finding(-timedelta(minutes=10))  # the server is 10 minutes behind this host
    assert not fast.ok and "600 s ahead of" in fast.detail and "NTP" in fast.detail
    assert "600 s behind" in clock_finding(timedelta(minutes=10)).detail
    assert clock_finding(timedelta(seconds=2)).ok


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_doctor_measures_the_clock_on_postgresql(db_url, vault, tmp_path):
    from gradewatch.doctor import check_database

    Store.open(db_url, vault).close()
    cfg = _config(tmp_path, db_url)
    found = {f.what: f for f in check_database(cfg)}
    assert found["database"].ok and found["clock"].ok, found


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_host_clock_stepped_right_by_ntp_leaves_the_time_right(db_url, vault):
    step = [SKEW]  # 10 minutes fast when the store opens ...
    store = Store.open(db_url, vault, host_clock=lambda: utcnow() + step[0])
    assert abs(store.now() - utcnow()) < timedelta(seconds=5)
    step[0] = timedelta(0)  # ... then NTP steps it right, before the next measurement
    assert abs(store.now() - utcnow()) < timedelta(seconds=5)
    store.close()


def test_doctor_says_when_it_could_not_read_the_servers_clock(tmp_path):
    from sqlalchemy import create_engine

    from gradewatch.store.clock import DatabaseClock

    engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/x", connect_args={"connect_timeout": 2})
    gone = DatabaseClock(engine)
    said: list[str] = []
    gone.on_failure = said.append
    assert gone.measure() is None and gone.measure() is None
    assert len(said) == 1  # once per run of failures, not at every try
