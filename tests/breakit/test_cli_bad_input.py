"""Bad input found by a fuzzing pass over every command: each is one clear line and its exit code
(docs/errors.md), never a traceback, a hang or "internal error"."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gradewatch import exit_codes

from .helpers import write_config
from .test_cli_errors import _invoke, _one_clean_error


def _run(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-m", "gradewatch.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, check=False, stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})})


def test_init_with_flags_and_no_matching_school_stops_instead_of_asking_itself_for_ever(tmp_path):
    res = _run("init", "-o", "o.toml", "--school", "nosuchschoolzz", "--username", "1", "--password-env", "X",
               cwd=tmp_path, env={"X": "pw"}, timeout=60)
    assert res.returncode == exit_codes.CONFIG, res
    assert res.stdout.count("No school matches") == 1 and "--system and --base-url" in res.stderr


def test_init_with_an_unknown_system_names_the_known_ones(tmp_path):
    res = _run("init", "-o", "o.toml", "--system", "nosuch", "--base-url", "http://127.0.0.1:9", "--username", "1",
               "--password-env", "X", cwd=tmp_path, env={"X": "pw"})
    assert res.returncode == exit_codes.CONFIG and "no system 'nosuch'" in res.stderr and "ssfw" in res.stderr, res
    assert "Traceback" not in res.stderr and "internal error" not in res.stderr


@pytest.mark.parametrize("target", ["missing/dir/x.toml", "."])
def test_init_template_where_it_cannot_be_written(tmp_path, target):
    res = _run("init", target, "--force", cwd=tmp_path)
    assert res.returncode == exit_codes.FILE_ACCESS, res
    assert "Traceback" not in res.stderr and "internal error" not in res.stderr and res.stderr.count("\n") == 1


@pytest.mark.parametrize("base_url", ["http://[::1", "http://"])
def test_a_base_url_the_client_cannot_use_is_a_config_error(tmp_path, base_url):
    cfg = write_config(tmp_path, base_url, "u")
    _one_clean_error(_invoke("check", "-c", str(cfg)), exit_codes.CONFIG, "base_url")


def test_a_csv_with_a_huge_field_is_one_line(tmp_path):
    cfg = write_config(tmp_path, "http://127.0.0.1:9", "u")
    csv_file = tmp_path / "big.csv"
    csv_file.write_text("name,school,username,password,notify\n" + f"a,uni,1,{'x' * 200_000},\n", encoding="utf-8")
    _one_clean_error(_invoke("accounts", "import", str(csv_file), "-c", str(cfg)), exit_codes.CONFIG,
                     "not a CSV file this can read")


@pytest.mark.parametrize("args", [
    ("web", "--port", "99999"), ("sim", "ssfw", "--port", "99999"), ("notify", "test", "--timeout", "inf"),
    ("doctor", "--timeout", "inf"), ("detect", "http://127.0.0.1:9", "--timeout", "inf"),
    ("captcha", "train", "--out", "m.onnx", "--threads", "-1"),
    ("captcha", "train", "--out", "m.onnx", "--epochs", "0"),
    ("captcha", "train", "--out", "m.onnx", "--synthetic", "-5"),
])
def test_out_of_range_numbers_are_usage_errors(tmp_path, args):
    res = _run(*args, cwd=tmp_path)
    assert res.returncode == 2, res
    assert "Traceback" not in res.stderr and "internal error" not in res.stderr
    assert "Invalid value" in res.stderr or "not in the range" in res.stderr, res.stderr


def test_a_simulator_behind_a_front_door_says_how_to_start_it(tmp_path):
    res = _run("sim", "jwapp", "--port", "0", cwd=tmp_path)
    assert res.returncode == exit_codes.CONFIG and "gradewatch sim doors jwapp --cas" in res.stderr, res


def test_doctor_with_a_malformed_postgresql_url_is_a_finding(tmp_path):
    cfg = write_config(tmp_path, "http://127.0.0.1:9", "u")
    cfg.write_text(cfg.read_text().replace('"sqlite:///state/gradewatch.db"', '"postgresql://a:b@[::1/x"'))
    res = _run("doctor", "-c", str(cfg), cwd=tmp_path, env={"GRADEWATCH_DATABASE_URL": ""})  # the file's URL
    assert "internal error" not in res.stderr and "Traceback" not in res.stderr, res
    assert "FIX  database" in res.stdout


def test_a_corrupt_model_exits_with_the_model_code(tmp_path):
    bad = tmp_path / "m.onnx"
    bad.write_bytes(b"not a model")
    (tmp_path / "a.png").write_bytes(b"x")
    res = _run("captcha", "solve", str(tmp_path / "a.png"), "--model", str(bad), cwd=tmp_path)
    assert res.returncode == exit_codes.CAPTCHA_MODEL, res
    assert res.stderr.startswith("gradewatch: error:") and "Traceback" not in res.stderr


def test_doctor_checks_that_the_key_is_a_key_and_the_one_of_the_stored_passwords(tmp_path):
    from cryptography.fernet import Fernet

    cfg = write_config(tmp_path, "http://127.0.0.1:9", "u")
    key = tmp_path / "state" / "gradewatch.key"
    from .helpers import PASSWORD_ENV

    added = _invoke("accounts", "add", "bob", "-s", "uni", "-u", "2", "--password-env", PASSWORD_ENV, "-c", str(cfg))
    assert added.exit_code == 0, added.output
    res = _run("doctor", "-c", str(cfg), cwd=tmp_path)
    assert "ok   key file" in res.stdout, res.stdout
    key.write_bytes(Fernet.generate_key())  # a key, but not the one that encrypted bob's password
    key.chmod(0o600)
    res = _run("doctor", "-c", str(cfg), cwd=tmp_path)
    assert "FIX  key file" in res.stdout and "does not decrypt the passwords" in res.stdout, res.stdout
    key.write_text("garbage")
    res = _run("doctor", "-c", str(cfg), cwd=tmp_path)
    assert "FIX  key file" in res.stdout and "not a gradewatch key" in res.stdout, res.stdout


def test_detect_tells_an_unreachable_school_from_a_bad_url(tmp_path):
    gone = _run("detect", "http://127.0.0.1:9", "--timeout", "5", cwd=tmp_path)
    assert gone.returncode == exit_codes.SCHOOL_UNREACHABLE, gone
    assert _run("detect", "http://[::1", cwd=tmp_path).returncode == exit_codes.CONFIG


def test_accounts_add_without_a_terminal_says_how_to_give_the_password(tmp_path):
    cfg = write_config(tmp_path, "http://127.0.0.1:9", "u")
    res = _run("accounts", "add", "x", "-s", "uni", "-u", "1", "-c", str(cfg), cwd=tmp_path)
    assert res.returncode == exit_codes.CONFIG and "--password-env" in res.stderr, res
    assert "Warning" not in res.stderr and "Aborted" not in res.stderr


def test_web_on_a_port_in_use_is_one_line_and_a_command_line_error(tmp_path):
    import socket

    cfg = write_config(tmp_path, "http://127.0.0.1:9", "u")
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        port = taken.getsockname()[1]
        res = _run("web", "-c", str(cfg), "--port", str(port), cwd=tmp_path)
    finally:
        taken.close()
    assert res.returncode == exit_codes.CONFIG, res  # uvicorn's own code was 3, which is ours for the database
    assert f"cannot listen on 127.0.0.1:{port}" in res.stderr and "another --port" in res.stderr
    assert "Traceback" not in res.stderr and "ERROR:" not in res.stderr and "gradewatch web on" not in res.stdout
    assert not (tmp_path / "state").exists()  # refused before the app opened: no key file, no SQLite file
    unknown = _run("web", "-c", str(cfg), "--host", "no-such-host.invalid", "--port", "8000", cwd=tmp_path)
    assert unknown.returncode == exit_codes.CONFIG and "--host no-such-host.invalid" in unknown.stderr, unknown


@pytest.mark.parametrize("args", [("captcha", "-h"), ("captcha", "eval", "-h"), ("sim", "-h"), ("accounts", "-h")])
def test_dash_h_is_help_on_every_command(tmp_path, args):
    res = _run(*args, cwd=tmp_path)
    assert res.returncode == 0 and "Usage:" in res.stdout, res


def test_schools_search_limit_below_one_is_a_usage_error(tmp_path):
    res = _run("schools", "search", "大学", "--limit", "0", cwd=tmp_path)
    assert res.returncode == 2 and "--limit" in res.stderr and "No school matches" not in res.stdout, res


def test_verbose_shows_no_type_placeholder_in_help(tmp_path):
    res = _run("check", "--help", cwd=tmp_path, env={"COLUMNS": "200"})
    [line] = [ln for ln in res.stdout.splitlines() if "--verbose" in ln]
    assert "<int>" not in line and "INTEGER" not in line, line


@pytest.mark.parametrize(("args", "says_v"), [(("schools", "search", "x"), False), (("check", "-c", "gw.toml"), True)])
def test_an_internal_error_is_one_line_that_offers_only_what_the_command_takes(tmp_path, args, says_v):
    """A bug (here a search and a config loader that raise) is one line with exit code 70; it names
    -v only for a command that has that option (schools search has not)."""
    write_config(tmp_path, "http://127.0.0.1:9", "u").rename(tmp_path / "gw.toml")
    script = (
        "import sys\n"
        "import gradewatch.directory, gradewatch.cli.context\n"
        "def boom(*a, **k): raise RuntimeError('boom')\n"
        "gradewatch.directory.search = boom\n"
        "gradewatch.cli.context.open_app = boom\n"
        "import gradewatch.app; gradewatch.app.open_app = boom\n"
        f"sys.argv = ['gradewatch', *{list(args)!r}]\n"
        "from gradewatch.cli.root import main\n"
        "main()\n"
    )
    res = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                         check=False)
    assert res.returncode == exit_codes.INTERNAL, res
    assert "internal error: RuntimeError: boom" in res.stderr and "Traceback" not in res.stderr
    assert res.stderr.count("\n") == 1, res.stderr  # one line, however narrow the terminal
    assert "GRADEWATCH_DEBUG=1" in res.stderr and ("or -v" in res.stderr) == says_v, res.stderr


def test_accounts_add_names_the_option_not_a_csv_column(tmp_path):
    cfg = write_config(tmp_path, "http://127.0.0.1:9", "u")
    res = _run("accounts", "add", "bob", "--school", "nowhere", "-u", "1", "--password-env", "X", "-c", str(cfg),
               cwd=tmp_path, env={"X": "pw"})
    assert res.returncode == exit_codes.CONFIG and "--school: no school named 'nowhere'" in res.stderr, res
    assert "column" not in res.stderr


def test_check_says_no_login_happened_when_the_school_was_unreachable(tmp_path):
    from .helpers import env_with

    cfg = write_config(tmp_path, "http://127.0.0.1:9", "u")
    res = subprocess.run([sys.executable, "-m", "gradewatch.cli", "check", "-c", str(cfg)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120, check=False, env=env_with("pw"))
    assert res.returncode == exit_codes.SCHOOL_UNREACHABLE, res
    [row] = [ln for ln in res.stdout.splitlines() if "student" in ln and "│" in ln]
    cells = [c.strip() for c in row.split("│")]
    assert cells[7] == "–" and "reused" not in row, row  # the login column: no login, no session reused


def test_run_announces_the_jitter_it_uses(tmp_path):
    """Jitter is capped at half the interval (so checks never run backwards); the banner says that one."""
    import signal

    from .helpers import env_with

    cfg = write_config(tmp_path, "http://127.0.0.1:9", "u", top_extra="interval_minutes = 10\njitter_minutes = 60")
    proc = subprocess.Popen([sys.executable, "-m", "gradewatch.cli", "run", "-c", str(cfg)], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env_with("pw"))
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    assert "every 10 min (±5)" in first, first
