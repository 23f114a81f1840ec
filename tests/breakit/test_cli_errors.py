"""Bad input and broken surroundings: one clear line naming the file, key or school, a distinct exit code
(docs/errors.md), never a traceback."""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from gradewatch import exit_codes
from gradewatch.cli import app

from .helpers import PASSWORD_ENV, write_config


def _invoke(*args: str, password: str = "pw"):  # type: ignore[no-untyped-def]
    env = {PASSWORD_ENV: password, "COLUMNS": "200"}
    return CliRunner().invoke(app, list(args), env=env)


def _one_clean_error(res, code: int, *needles: str) -> str:  # type: ignore[no-untyped-def]
    assert res.exit_code == code, (res.exit_code, res.output)
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    text = res.stderr
    assert "Traceback" not in res.output and "internal error" not in res.output
    for n in needles:
        assert n in text, text
    return text


def test_interval_of_1e12_minutes_is_a_config_error(tmp_path):
    cfg = write_config(tmp_path, "http://127.0.0.1:9", "u", top_extra="interval_minutes = 1e12")
    text = _one_clean_error(_invoke("status", "-c", str(cfg)), exit_codes.CONFIG, str(cfg), "interval_minutes",
                            "one year")
    assert text.count("\n") == 1


def test_unbalanced_quote_in_password_cmd_is_a_config_error(tmp_path):
    cfg = write_config(tmp_path, "http://127.0.0.1:9", "u")
    bad = """password_cmd = "pass show 'school" """
    cfg.write_text(cfg.read_text().replace(f'password_env = "{PASSWORD_ENV}"', bad))
    _one_clean_error(_invoke("check", "-c", str(cfg)), exit_codes.CONFIG, "accounts.student.password_cmd",
                     "not a valid command line", "No closing quotation")


def test_key_file_that_is_a_directory(tmp_path):
    cfg = write_config(tmp_path, "http://127.0.0.1:9", "u")
    (tmp_path / "state" / "gradewatch.key").mkdir(parents=True)
    _one_clean_error(_invoke("status", "-c", str(cfg)), exit_codes.FILE_ACCESS, "key file",
                     str(tmp_path / "state" / "gradewatch.key"))


def test_log_file_below_a_regular_file(tmp_path):
    cfg = write_config(tmp_path, "http://127.0.0.1:9", "u")
    (tmp_path / "blocker").write_text("x")
    cfg.write_text(cfg.read_text().replace('log_file = "state/gradewatch.log"', 'log_file = "blocker/g.log"'))
    _one_clean_error(_invoke("status", "-c", str(cfg)), exit_codes.FILE_ACCESS, "log file",
                     str(tmp_path / "blocker" / "g.log"))


@pytest.mark.sqlite_only  # a SQLite path below a file
def test_database_below_a_regular_file(tmp_path):
    cfg = write_config(tmp_path, "http://127.0.0.1:9", "u")
    (tmp_path / "blocker").write_text("x")
    cfg.write_text(cfg.read_text().replace("sqlite:///state/gradewatch.db", "sqlite:///blocker/g.db"))
    _one_clean_error(_invoke("status", "-c", str(cfg)), exit_codes.DATABASE, "database",
                     str(tmp_path / "blocker" / "g.db"))


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file; the directory cases above cover the path")
def test_unreadable_key_file(tmp_path):
    cfg = write_config(tmp_path, "http://127.0.0.1:9", "u")
    assert _invoke("status", "-c", str(cfg)).exit_code == 0
    key = tmp_path / "state" / "gradewatch.key"
    key.chmod(0)
    _one_clean_error(_invoke("status", "-c", str(cfg)), exit_codes.FILE_ACCESS, "key file", "Permission denied")


def test_unreachable_school_exit_code(tmp_path):
    from gradewatch.sim.server import bind

    sock = bind()
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    cfg = write_config(tmp_path, f"http://127.0.0.1:{port}", "u")
    res = _invoke("check", "-c", str(cfg))
    assert res.exit_code == exit_codes.SCHOOL_UNREACHABLE, res.output
    assert "unavailable" in res.stdout and "Traceback" not in res.output


@pytest.mark.parametrize(("fault", "path", "needle"), [
    ("redirect_loop", "/ssfw/jwnavmenu.do", "redirect loop"),
    ("false_gzip", "/ssfw/jwnavmenu.do", "cannot be decoded"),
    ("garbage_image", "/ssfw/jwcaptcha.do", "captcha is not a readable image"),
])
def test_broken_school_answers_exit_5_with_the_reason(fault_proxy, ssfw_sim, tmp_path, fault, path, needle):
    proxy = fault_proxy(ssfw_sim.base_url)
    proxy.inject(path, fault)
    cfg = write_config(tmp_path, proxy.base_url, ssfw_sim.username)
    res = _invoke("check", "-c", str(cfg), password=ssfw_sim.password)
    assert res.exit_code == exit_codes.SCHOOL_ANSWER, res.output
    assert needle in res.stdout and "Traceback" not in res.output


@pytest.mark.parametrize("content", [b"", b"not an onnx model at all" * 10])
def test_missing_or_corrupt_captcha_model_names_the_file(ssfw_sim, tmp_path, content):
    model = tmp_path / "school.onnx"
    if content:
        model.write_bytes(content)
        model.with_suffix(".json").write_text('{"spec": {}}')
    cfg = write_config(tmp_path, ssfw_sim.base_url, ssfw_sim.username,
                       school_extra=f'options = {{ captcha_model = "{model}" }}')
    res = _invoke("check", "-c", str(cfg), password=ssfw_sim.password)
    assert res.exit_code == exit_codes.CAPTCHA_MODEL, res.output
    assert "captcha_model" in res.stdout and str(model.name) in res.stdout and "Traceback" not in res.output


def test_help_lists_the_exit_codes():
    res = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0
    for code, _text in exit_codes.TABLE:
        assert f" {code} " in res.output or f"{code}  " in res.output
