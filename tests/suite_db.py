"""The database a test's config really uses: its SQLite file, or the suite's PostgreSQL database
when the suite runs on PostgreSQL (GRADEWATCH_TEST_DATABASE=postgresql, see conftest.py). Tests read
state through these, never through ``sqlite3`` on a path, so they hold on both backends."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from gradewatch.config import DATABASE_URL_ENV


def database_url(default: str | Path) -> str:
    """The suite's database when one is set, else ``default`` (a URL or a SQLite file path)."""
    if url := os.environ.get(DATABASE_URL_ENV, "").strip():
        return url
    return default if isinstance(default, str) else f"sqlite:///{default}"


def on_postgresql() -> bool:
    return database_url("sqlite://").startswith("postgresql")


def rows(default: str | Path, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """The rows of ``sql``; [] when the schema is not there yet (the database is still being made)."""
    url = database_url(default)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return []
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]
    except (OperationalError, ProgrammingError):
        return []
    finally:
        engine.dispose()


def contains(default: str | Path, needle: bytes) -> bool:
    """Whether any text or binary cell of any table holds ``needle``."""
    engine = create_engine(database_url(default))
    try:
        with engine.connect() as conn:
            for table in inspect(conn).get_table_names():
                for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                    for cell in row:
                        raw = cell if isinstance(cell, bytes | memoryview) else str(cell).encode()
                        if needle in bytes(raw):
                            return True
        return False
    finally:
        engine.dispose()
