"""Two gradewatch processes on one database never check (log in as) the same student at once."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory

import suite_db
from gradewatch.secrets import Vault
from gradewatch.store.db import MIGRATIONS, Store

from .helpers import app_for, write_config


def _store(tmp_path) -> Store:
    return Store.open(suite_db.database_url(tmp_path / "gw.db"), Vault.open(tmp_path / "gw.key"))


def test_lease_is_exclusive_and_lapses(tmp_path):
    a, b = _store(tmp_path), _store(tmp_path)  # two processes' stores on one file
    a.ensure_account("me", school="s", system="ssfw", username="u")
    assert a.acquire_lease("me", "proc-a", timedelta(minutes=10))
    assert a.acquire_lease("me", "proc-a", timedelta(minutes=10))  # re-entrant for its holder
    assert not b.acquire_lease("me", "proc-b", timedelta(minutes=10))
    b.release_lease("me", "proc-b")  # not the holder: no effect
    assert not b.acquire_lease("me", "proc-b", timedelta(minutes=10))
    a.release_lease("me", "proc-a")
    assert b.acquire_lease("me", "proc-b", timedelta(seconds=-1))  # already lapsed, as if its holder died
    assert a.acquire_lease("me", "proc-a", timedelta(minutes=10))
    a.close()
    b.close()


def test_check_skips_an_account_another_process_holds(ssfw_sim, tmp_path, db_url):
    cfg = write_config(tmp_path, ssfw_sim.base_url, ssfw_sim.username, [], database=db_url)
    app = app_for(cfg, ssfw_sim.password)
    other = Store.open(app.config.database_url, app.store.vault)
    other.ensure_account("student", school="uni", system="ssfw", username=ssfw_sim.username)
    assert other.acquire_lease("student", "other-worker", timedelta(minutes=10))

    [r] = app.watcher.check_all()
    assert r.outcome == "skipped" and "another gradewatch process" in r.message
    assert ssfw_sim.admin.stats(ssfw_sim.username)["login_posts"] == 0

    other.release_lease("student", "other-worker")
    [r] = app.watcher.check_all()
    assert r.outcome == "ok" and r.logged_in
    # The check released its lease when it finished.
    assert other.acquire_lease("student", "other-worker", timedelta(minutes=1))
    other.close()
    app.close()


@pytest.mark.sqlite_only  # the migration is driven on the SQLite file
def test_migration_from_the_first_schema_keeps_data(tmp_path):
    db = tmp_path / "old.db"
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", f"sqlite:///{db}")
    command.upgrade(cfg, "0001")  # a database written by the first release
    with sqlite3.connect(db) as conn:
        conn.execute("insert into accounts (id, school, system, username, status, status_reason, baseline_done,"
                     " created_at) values ('me', 's', 'ssfw', 'u', 'ok', '', 1, '2026-01-01 00:00:00')")
    store = Store.open(f"sqlite:///{db}", Vault.open(tmp_path / "k"))
    state = store.account_state("me")
    assert state.baseline_done
    assert store.acquire_lease("me", "p", timedelta(minutes=1))
    with sqlite3.connect(db) as conn:
        head = ScriptDirectory.from_config(cfg).get_current_head()
        assert conn.execute("select version_num from alembic_version").fetchone()[0] == head
    store.close()


def test_migrations_match_the_models(tmp_path):
    """A model change without its Alembic revision fails here, not in a user's upgrade."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from gradewatch.store.models import Base

    store = _store(tmp_path)
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    store.close()
    assert diff == []
