"""`gradewatch notify test` against one working and one refusing channel, and `status` afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from gradewatch.cli import app as cli_app
from gradewatch.notify.standins import PushStandin

from .helpers import service_url


def _cli(cfg: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "250", "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run([sys.executable, "-m", "gradewatch.cli", *args, "-c", str(cfg)], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_notify_test_shows_confirmed_and_the_services_error(tmp_path: Path) -> None:
    with PushStandin("serverchan") as good, PushStandin("dingtalk", mode="app_error") as bad:
        cfg = tmp_path / "gradewatch.toml"
        cfg.write_text(f"""
database = "sqlite:///gw.db"
key_file = "gw.key"
[schools.uni]
system = "ssfw"
base_url = "http://127.0.0.1:9"
[accounts.me]
school = "uni"
username = "2021010001"
notify = ["{service_url('serverchan', good.base)}", "{service_url('dingtalk', bad.base)}"]
""", encoding="utf-8")
        out = _cli(cfg, "notify", "test", "me")
        print(out.stdout)
        assert out.returncode == 1, out.stderr
        lines = out.stdout.splitlines()
        assert any("notify[0]" in ln and "Server酱 SCT1…" in ln and "confirmed" in ln for ln in lines)
        assert any("notify[1]" in ln and "refused (needs attention)" in ln for ln in lines)
        assert "errcode 310000: keywords not in content" in out.stdout
        assert "SCT1a2b3c4d5e6f7g8h9" not in out.stdout and "b2b2b2" not in out.stdout  # keys masked
        assert [r.title for r in good.delivered()] == ["gradewatch 测试消息"] and len(bad.received) == 1
        status = CliRunner().invoke(cli_app, ["status", "-c", str(cfg)], env={"COLUMNS": "250"})
        assert status.exit_code == 0, status.output
        assert "needs_attention" in status.output and "310000" in status.output and "notify[1]" in status.output
        assert "notify[0]" not in status.output  # the working channel is not listed
