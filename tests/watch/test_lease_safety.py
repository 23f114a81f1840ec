"""The account lease of two workers on one database, when renewing it fails or another worker takes
it over mid-check: the password is POSTed once at most, whatever the database does meanwhile."""

from __future__ import annotations

import shutil
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

import gradewatch.watch.checker as checker
from gradewatch.schools.ssfw import SsfwAdapter
from gradewatch.store.db import StoreError

from .helpers import app_for, write_config


def _two_workers(tmp_path: Path, sim, db_url: str):
    apps = []
    for name in ("a", "b"):
        folder = tmp_path / name
        (folder / "state").mkdir(parents=True)
        if apps:  # one key for one database
            shutil.copy(tmp_path / "a" / "state" / "gradewatch.key", folder / "state" / "gradewatch.key")
        apps.append(app_for(write_config(folder, sim.base_url, sim.username, [], database=db_url),
                            "a-wrong-password"))
    return apps


@pytest.mark.parametrize("renewals", ["fail once", "fail always"])
def test_a_failed_lease_renewal_never_lets_a_second_worker_post_too(ssfw_sim, tmp_path, db_url, monkeypatch,
                                                                    renewals):
    """Scaled down (a lease of 2 s, a beat every 0.5 s). Worker A's school is slow before the login
    and A's renewals fail (a database busy past its wait): once, and the next beat holds the lease,
    so B is turned away; or every time, so the lease runs out and B takes the account, and then A
    must not POST the password as well. Either way the school sees one password POST."""
    monkeypatch.setattr(checker, "LEASE_TTL", timedelta(seconds=2))
    monkeypatch.setattr(checker, "HEARTBEAT", timedelta(seconds=0.5))
    start_login = SsfwAdapter.start_login

    def slow_for_a(self):  # type: ignore[no-untyped-def]
        if threading.current_thread().name == "worker-a":
            time.sleep(3)
        return start_login(self)

    monkeypatch.setattr(SsfwAdapter, "start_login", slow_for_a)
    app_a, app_b = _two_workers(tmp_path, ssfw_sim, db_url)
    renew, failures = app_a.store.renew_lease, []

    def flaky(*args, **kwargs):  # type: ignore[no-untyped-def]
        if renewals == "fail always" or not failures:
            failures.append(1)
            raise StoreError("database is locked (another program holds a write lock on it)")
        return renew(*args, **kwargs)

    monkeypatch.setattr(app_a.store, "renew_lease", flaky)
    reports = {}
    worker_a = threading.Thread(target=lambda: reports.setdefault("a", app_a.watcher.check_account("student")),
                                name="worker-a")
    worker_a.start()
    time.sleep(2.5)  # past A's first lease
    reports["b"] = app_b.watcher.check_account("student")
    worker_a.join(30)
    stats = ssfw_sim.admin.stats(ssfw_sim.username)
    assert stats["login_posts"] == 1, (reports, stats)
    if renewals == "fail once":
        assert reports["a"].outcome == "wrong_password" and reports["b"].outcome == "skipped", reports
    else:
        assert reports["b"].outcome == "wrong_password" and reports["a"].outcome == "skipped", reports
    app_a.close()
    app_b.close()
