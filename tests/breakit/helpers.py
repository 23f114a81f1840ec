"""Config files and CLI runs for the break-it tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PASSWORD_ENV = "GW_BREAKIT_PASSWORD"


def write_config(tmp: Path, base_url: str, username: str, notify: list[str] | None = None, *,
                 system: str = "ssfw", school_extra: str = "", top_extra: str = "") -> Path:
    urls = ", ".join(f'"{u}"' for u in notify or [])
    cfg = tmp / "gradewatch.toml"
    cfg.write_text(f"""
database = "sqlite:///state/gradewatch.db"
key_file = "state/gradewatch.key"
log_file = "state/gradewatch.log"
{top_extra}

[schools.uni]
system = "{system}"
base_url = "{base_url}"
{school_extra}

[accounts.student]
school = "uni"
username = "{username}"
password_env = "{PASSWORD_ENV}"
notify = [{urls}]
""", encoding="utf-8")
    return cfg


def env_with(password: str) -> dict[str, str]:
    return {**os.environ, PASSWORD_ENV: password, "COLUMNS": "200", "PYTHONUNBUFFERED": "1"}


def gradewatch(*args: str, password: str = "pw", timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gradewatch.cli", *args], env=env_with(password),
                          capture_output=True, text=True, timeout=timeout, check=False)
