"""`gradewatch sim doors SYSTEM --cas/--webvpn/--slider`: a system behind its front doors, whose printed
config lines are all a user needs to watch it (checked by a real `gradewatch check` against it)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gradewatch.sim.cli import app

PASSWORD_ENV = "GW_DOORS_PASSWORD"


def gradewatch(*args: str, password: str, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, PASSWORD_ENV: password, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "gradewatch.cli", *args], env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def _start(*args: str) -> tuple[subprocess.Popen[str], list[str]]:
    """Run `gradewatch sim doors ARGS` until its config block is printed; returns the process and its lines."""
    proc = subprocess.Popen([sys.executable, "-m", "gradewatch.cli", "sim", "doors", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines: list[str] = []
    done = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("base_url") or line.startswith("webvpn_url"):
                if any(x.startswith("base_url") for x in lines) and (
                        "--webvpn" not in args or any(x.startswith("webvpn_url") for x in lines)):
                    done.set()

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + 60
    while not done.is_set() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # the few lines after base_url
    return proc, lines


@pytest.mark.parametrize("doors", [("--cas", "--cas-captcha", "always"), ("--cas", "--webvpn"), ("--slider",)],
                         ids=["cas-captcha", "cas-webvpn", "slider"])
def test_printed_config_lines_watch_the_system_through_its_doors(tmp_path: Path, doors: tuple[str, ...]) -> None:
    proc, lines = _start("zf", *doors)
    try:
        assert proc.poll() is None, lines
        start = lines.index("config lines (paste below your [schools.NAME] header):")
        block = [x for x in lines[start + 1:] if " = " in x]
        assert block[0] == 'system = "zf"'
        username, password = next(x for x in lines if x.strip().startswith("demo login")).split()[-3::2]
        cfg = tmp_path / "gradewatch.toml"
        cfg.write_text("\n".join([
            'database = "sqlite:///state/gradewatch.db"', 'key_file = "state/gradewatch.key"', "",
            "[schools.uni]", *block, "",
            "[accounts.student]", 'school = "uni"', f'username = "{username}"', f'password_env = "{PASSWORD_ENV}"',
        ]) + "\n", encoding="utf-8")
        res = gradewatch("check", "-c", str(cfg), password=password, timeout=120)
        assert res.returncode == 0, res.stdout + res.stderr
        assert "student" in res.stdout and "Traceback" not in res.stderr
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize(("args", "needle"), [
    (["nosuch", "--cas"], "unknown system 'nosuch'"),
    (["zf"], "no door chosen"),
    (["jwapp", "--webvpn"], "only reachable through its CAS"),
    (["urp", "--cas"], "has no CAS entry"),
    (["qiangzhi", "--slider"], "--slider is the 正方"),
    (["zf", "--cas", "--cipher", "des"], "--cipher must be one of aes, rsa"),
])
def test_bad_door_choices_are_one_error_line(args: list[str], needle: str) -> None:
    res = CliRunner().invoke(app, ["doors", *args], env={"COLUMNS": "200"})
    assert res.exit_code == 2, res.output
    assert needle in res.output and "Traceback" not in res.output

