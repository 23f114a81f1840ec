"""Secrets stay secret: `-vv` output and the log file of a full check hold no cookie, password or key;
the key, database, WAL and log files are created 0600; exposed key and config files draw a warning."""

from __future__ import annotations

import logging
import re
import sqlite3
import stat

from typer.testing import CliRunner

import suite_db
from gradewatch.app import open_app
from gradewatch.cli import app
from gradewatch.logs import redact, register_transient_secret

from .helpers import PASSWORD_ENV, gradewatch, write_config


def _mode(path) -> int:  # type: ignore[no-untyped-def]
    return stat.S_IMODE(path.stat().st_mode)


def test_vv_check_output_holds_no_cookie_password_or_key_and_files_are_0600(ssfw_sim, tmp_path, monkeypatch):
    cfg = write_config(tmp_path, ssfw_sim.base_url, ssfw_sim.username)
    res = gradewatch("check", "-vv", "-c", str(cfg), password=ssfw_sim.password, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    state = tmp_path / "state"
    out = res.stdout + res.stderr + (state / "gradewatch.log").read_text(encoding="utf-8")
    assert "HTTP Request:" in res.stderr and "receive_response_headers" in res.stderr  # -vv did log HTTP
    assert re.search(r"set-cookie', b'\*\*\*'", res.stderr, re.IGNORECASE)  # the cookie header was there, masked

    monkeypatch.setenv(PASSWORD_ENV, ssfw_sim.password)
    app = open_app(cfg, logging=False)
    cookies = [c["value"] for c in app.store.load_cookies("student")]
    app.close()
    assert cookies, "the check stored no session cookie to look for"
    for value in cookies:
        assert value not in out
    assert ssfw_sim.password not in out
    key = (state / "gradewatch.key").read_text().strip()
    assert key not in out

    if suite_db.on_postgresql():  # no database file here: the key and the log are the files
        for p in (state / "gradewatch.key", state / "gradewatch.log"):
            assert _mode(p) == 0o600, f"{p.name}: {_mode(p):03o}"
        return
    db = state / "gradewatch.db"
    with sqlite3.connect(db) as conn:  # keep the WAL open while looking at it
        conn.execute("select count(*) from grades").fetchone()
        files = [state / "gradewatch.key", state / "gradewatch.log", db] + sorted(state.glob("gradewatch.db-*"))
        assert any(p.name.endswith("-wal") for p in files)
        for p in files:
            assert _mode(p) == 0o600, f"{p.name}: {_mode(p):03o}"
    assert "readable by other users" not in res.stderr


def test_exposed_key_file_and_plaintext_password_config_warn(ssfw_sim, tmp_path):
    cfg = write_config(tmp_path, ssfw_sim.base_url, ssfw_sim.username)
    text = cfg.read_text().replace(f'password_env = "{PASSWORD_ENV}"', f'password = "{ssfw_sim.password}"')
    cfg.write_text(text)
    cfg.chmod(0o644)
    runner = CliRunner()
    res = runner.invoke(app, ["status", "-c", str(cfg)])
    assert res.exit_code == 0, res.output
    assert "config file with a plaintext password" in res.stderr and "chmod 600" in res.stderr
    key = tmp_path / "state" / "gradewatch.key"
    key.chmod(0o644)
    cfg.chmod(0o600)
    res = runner.invoke(app, ["status", "-c", str(cfg)])
    assert f"key file {key} is readable by other users (mode 644)" in res.stderr
    assert "config file" not in res.stderr
    assert ssfw_sim.password not in res.output


def test_redaction_patterns():
    register_transient_secret("c00kie-value-123")
    lines = {
        "receive_response_headers.complete return_value=(b'HTTP/1.1', 302, b'Found', "
        "[(b'set-cookie', b'JSESSIONID=ABCDEF0123; Path=/ssfw; HttpOnly'), (b'location', b'/x')])": "ABCDEF0123",
        "Cookie: JSESSIONID=ABCDEF0123; route=xyz": "ABCDEF0123",
        'HTTP Request: GET https://sctapi.ftqq.com/x.send?sendkey=SCTabcdef&title=x "HTTP/1.1 200 OK"': "SCTabcdef",
        "GET http://h/ssfw/index.do;jsessionid=9F8E7D6C5B": "9F8E7D6C5B",
        "url mailtos://user:AUTHC0DE@qq.com?to=a@b": "AUTHC0DE",
        "https://push.example/api?token=tok3n-value&x=1": "tok3n-value",
        'form {"password": "hunter22"}': "hunter22",
        "the value c00kie-value-123 again": "c00kie-value-123",
    }
    for line, secret in lines.items():
        masked = redact(line)
        assert secret not in masked, masked
        assert "***" in masked
    assert redact("GET /ssfw/jwnavmenu.do?menuItemWid=2C8B") == "GET /ssfw/jwnavmenu.do?menuItemWid=2C8B"


def test_tracebacks_in_logs_are_masked(caplog):
    from gradewatch.logs import RedactingFilter

    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, None)
    try:
        raise RuntimeError("cannot open https://h/api?access_token=SECRETTOKEN1")
    except RuntimeError:
        import sys

        record.exc_info = sys.exc_info()
    RedactingFilter().filter(record)
    assert record.exc_text and "SECRETTOKEN1" not in record.exc_text and "access_token=***" in record.exc_text


def test_console_shows_no_traceback_without_v_but_the_log_file_keeps_it(tmp_path, capsys):
    from gradewatch.logs import setup_logging

    log_file = tmp_path / "gw.log"
    setup_logging(0, log_file)
    try:
        raise KeyError("boom")
    except KeyError:
        logging.getLogger("gradewatch.test").exception("check of x failed unexpectedly")
    err = capsys.readouterr().err
    assert "check of x failed unexpectedly: KeyError: 'boom'" in err and "Traceback" not in err
    assert "Traceback" in log_file.read_text()
    setup_logging(1, None)
    try:
        raise KeyError("boom")
    except KeyError:
        logging.getLogger("gradewatch.test").exception("again")
    assert "Traceback" in capsys.readouterr().err
    setup_logging(0, None)
