"""Wiring: config file → store → watcher. The CLI, the demo and the web UI all start here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gradewatch.config import Config, load_config
from gradewatch.logs import setup_logging
from gradewatch.schools.base import CaptchaSolver
from gradewatch.secrets import Vault
from gradewatch.store.accounts import with_db_accounts
from gradewatch.store.db import Store
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
    cfg = config if isinstance(config, Config) else load_config(config)
    if logging:
        setup_logging(verbose, cfg.base_dir / cfg.log_file if cfg.log_file else None)
    vault = Vault.from_env() or Vault.open(cfg.key_path)
    store = Store.open(cfg.database_url, vault)
    cfg = with_db_accounts(cfg, store)  # the database's accounts join the TOML ones
    watcher = Watcher(cfg, store, solver=solver)
    watcher.send_baseline = send_baseline
    return App(cfg, store, watcher)
