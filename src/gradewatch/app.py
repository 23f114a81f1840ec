"""Wiring: config file → store → watcher. The CLI, the demo and the web UI all start here."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from gradewatch.config import Config, load_config
from gradewatch.logs import setup_logging
from gradewatch.schools.base import CaptchaSolver
from gradewatch.secrets import Vault
from gradewatch.store.accounts import with_db_accounts
from gradewatch.store.db import Store, StoreError
from gradewatch.watch.checker import Watcher


@dataclass
class App:
    config: Config
    store: Store
    watcher: Watcher

    def close(self) -> None:
        self.store.close()


def open_app(config: Config | str | Path, *, verbose: int = 0, solver: CaptchaSolver | None = None,
             logging: bool = True, send_baseline: bool = True) -> App:
    if logging and not isinstance(config, Config):
        setup_logging(verbose)  # loading the config can warn already (a world-readable file with a password)
    cfg = config if isinstance(config, Config) else load_config(config)
    if logging:
        setup_logging(verbose, cfg.base_dir / cfg.log_file if cfg.log_file else None)
    vault = Vault.from_env() or Vault.open(cfg.key_path)
    precreate_private_sqlite(cfg.database_url)
    store = Store.open(cfg.database_url, vault)
    cfg = with_db_accounts(cfg, store)  # the database's accounts join the TOML ones
    watcher = Watcher(cfg, store, solver=solver)
    watcher.send_baseline = send_baseline
    return App(cfg, store, watcher)


def precreate_private_sqlite(url: str) -> None:
    """Create a new SQLite database file 0600 before SQLite does (it would use the umask, usually 0644).

    SQLite gives its -wal and -shm files the mode of the database file, so they are private too."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or ":memory:" in url:
        return
    path = Path(url.removeprefix(prefix).split("?", 1)[0])
    if path.exists():
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise StoreError(f"database {path}: cannot create its folder {path.parent}: "
                         f"{'not a directory' if isinstance(err, FileExistsError) else err.strerror}") from None
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass  # another process was first
    except OSError as err:
        raise StoreError(f"database {path}: cannot create: {err.strerror or type(err).__name__}") from None
