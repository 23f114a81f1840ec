"""Shared set-up for the watcher tests: a config file on disk pointing at a simulator and an SMTP port."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

from gradewatch.app import App, open_app

PASSWORD_ENV = "GW_TEST_PASSWORD"


def write_config(tmp: Path, base_url: str, username: str, notify: list[str], *, system: str = "ssfw",
                 extra_school: str = "", database: str = "sqlite:///state/gradewatch.db", extra_top: str = "",
                 extra_account: str = "") -> Path:
    urls = ", ".join(f'"{u}"' for u in notify)
    cfg = tmp / "gradewatch.toml"
    cfg.write_text(f"""
database = "{database}"
{extra_top}
key_file = "state/gradewatch.key"
log_file = "state/gradewatch.log"

[schools.uni]
system = "{system}"
base_url = "{base_url}"
{extra_school}

[accounts.student]
school = "uni"
username = "{username}"
password_env = "{PASSWORD_ENV}"
notify = [{urls}]
{extra_account}
""", encoding="utf-8")
    return cfg


def app_for(cfg: Path, password: str) -> App:
    os.environ[PASSWORD_ENV] = password
    return open_app(cfg, verbose=2)


def cli(cfg: Path, password: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `gradewatch` in a new process, as a user (or cron) would."""
    env = {**os.environ, PASSWORD_ENV: password, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "gradewatch.cli", *args, "-c", str(cfg)], env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SilentSmtp:
    """Accepts TCP connections on a port and never answers: an SMTP server that hangs mid-delivery."""

    def __init__(self, port: int) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(8)
        self.conns: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def close(self) -> None:
        for c in self.conns:
            c.close()
        # close() alone leaves the port listening while the accept thread is blocked on it (Linux);
        # shutdown() wakes that accept, so the port is free for the next server at once.
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self.thread.join(timeout=5)
