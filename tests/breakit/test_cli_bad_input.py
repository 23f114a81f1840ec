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
