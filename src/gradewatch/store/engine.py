"""Opening a database: URL checks, private files, and migrations that many processes may start at once.

Every problem here ends as a :class:`StoreError` with one line naming the database (password
hidden): a garbage URL, a missing driver, a file we may not create or write, a database locked by
another program, or one written by a newer gradewatch.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.util.exc import CommandError
from filelock import FileLock, Timeout
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError

MIGRATIONS = Path(__file__).parent / "migrations"
#: Key of the PostgreSQL advisory lock that serialises migrations of one database.
MIGRATION_LOCK_KEY = 0x6772_6164_6577  # "gradew"
#: How long a process waits for another one's migration before giving up.
MIGRATION_WAIT_S = 120


class StoreError(Exception):
    """A database problem, in one line fit for the user."""


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")  # readers don't block the writer
    cur.close()


def parse_url(raw: str) -> URL:
    try:
        url = make_url(raw)
    except (ArgumentError, ValueError):
        raise StoreError(f"database {raw.split('@')[-1]!r}: not a database URL "
                         "(expected sqlite:///path/to/file.db or postgresql://user@host/db)") from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")  # the driver we declare (extra `postgres`)
    return url


def sqlite_path(url: URL) -> Path | None:
    """The database file of a SQLite URL (None for other backends and in-memory databases)."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(str(url.database))


def _create_private_file(path: Path, safe: str) -> None:
    """Create the SQLite file 0600 before SQLite does (its -wal and -shm files copy that mode)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError as err:
        raise StoreError(f"cannot create database {safe}: {err.strerror or type(err).__name__}") from None
    os.close(fd)


def make_engine(raw_url: str) -> Engine:
    url = parse_url(raw_url)
    safe = url.render_as_string(hide_password=True)
    kwargs: dict[str, Any] = {}
    path = sqlite_path(url)
    if url.get_backend_name() == "sqlite":
        # Wait up to 10 s for another writer (``?timeout=`` in the URL sets another wait).
        kwargs["connect_args"] = {"check_same_thread": False}
        if "timeout" not in url.query:
            kwargs["connect_args"]["timeout"] = 10
        if path is not None:
            _create_private_file(path, safe)
    else:
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(url, **kwargs)
    except NoSuchModuleError:
        raise StoreError(f"database {safe}: unknown database kind {url.drivername!r} "
                         "(supported: sqlite, postgresql)") from None
    except ImportError as err:
        raise StoreError(f"database {safe}: its driver is not installed ({err.name}); "
                         "for PostgreSQL: pip install 'gradewatch[postgres]'") from None
    except (ArgumentError, ValueError, TypeError) as err:
        raise StoreError(f"database {safe}: {err}") from None
    if url.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def describe(err: BaseException) -> str:
    """The driver's first line for an error, without SQL or parameters."""
    orig = getattr(err, "orig", None) or err
    lines = str(orig).strip().splitlines()
    return lines[0][:200] if lines else type(orig).__name__


@contextlib.contextmanager
def _file_lock(engine: Engine, safe: str) -> Iterator[None]:
    """SQLite: a lock file next to the database, held until the migration has committed."""
    path = sqlite_path(engine.url)
    if path is None:
        yield
        return
    try:
        with FileLock(str(path) + ".migrate-lock", timeout=MIGRATION_WAIT_S, mode=0o600):
            yield
    except Timeout:
        raise StoreError(f"database {safe}: another process has been migrating it for "
                         f"{MIGRATION_WAIT_S} s; is one stuck?") from None


def migrate(engine: Engine) -> None:
    """Upgrade to the newest schema, one process at a time."""
    safe = engine.url.render_as_string(hide_password=True)
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    try:
        with _file_lock(engine, safe), engine.begin() as conn:
            if engine.dialect.name == "postgresql":  # held until this transaction commits
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except CommandError as err:
        if "Can't locate revision" in str(err):
            raise StoreError(f"database {safe} was written by a newer gradewatch ({describe(err)}); "
                             "upgrade gradewatch to use it") from None
        raise StoreError(f"database {safe}: migration failed: {describe(err)}") from None
    except OperationalError as err:
        raise StoreError(f"cannot open database {safe}: {explain(describe(err))}") from None
    except SQLAlchemyError as err:
        raise StoreError(f"database {safe}: {type(err).__name__}: {describe(err)}") from None
    except OSError as err:  # the lock file next to a SQLite database
        raise StoreError(f"database {safe}: {err.strerror or type(err).__name__}") from None


def explain(message: str) -> str:
    hints = {
        "database is locked": "another program holds a write lock on it",
        "readonly database": "the file or its folder is not writable by this user",
        "unable to open database file": "the file or its folder cannot be opened by this user",
    }
    for needle, hint in hints.items():
        if needle in message:
            return f"{message} ({hint})"
    return message
