"""`gradewatch accounts …` through the real CLI on a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import suite_db
from gradewatch.cli import app

SECRET = "s3cret-Pa55"  # must never be printed


def _config(tmp: Path) -> Path:
    cfg = tmp / "gradewatch.toml"
    cfg.write_text("""
database = "sqlite:///state/gw.db"
key_file = "state/gw.key"

[schools.uni]
system = "ssfw"
base_url = "http://127.0.0.1:9"

[accounts.me]
school = "uni"
username = "2021010001"
password = "toml-pass"
""", encoding="utf-8")
    return cfg


def _run(cfg: Path, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["accounts", *args, "-c", str(cfg)], env={"COLUMNS": "200", **(env or {})})


def test_add_list_pause_resume_remove(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    r = _run(cfg, "add", "alice", "--school", "uni", "--username", "2021020002", "--password-env", "PW",
             "--notify", "mailto://a:b@example.com", env={"PW": SECRET})
    assert r.exit_code == 0, r.output
    [(source, stored)] = suite_db.rows(tmp_path / "state/gw.db",
                                       "select source, stored_password from accounts where id='alice'")
    assert source == "db" and SECRET.encode() not in stored  # encrypted at rest

    r = _run(cfg, "list")
    assert r.exit_code == 0 and "alice" in r.output and "me" in r.output and "config" in r.output
    assert SECRET not in r.output

    assert _run(cfg, "pause", "alice").exit_code == 0
    assert suite_db.rows(tmp_path / "state/gw.db", "select status from accounts where id='alice'")[0] == ("paused",)
    assert "paused" in _run(cfg, "list").output
    assert _run(cfg, "resume", "alice").exit_code == 0
    assert suite_db.rows(tmp_path / "state/gw.db",
                         "select status, next_check_at from accounts where id='alice'")[0] == ("ok", None)

    again = _run(cfg, "add", "alice", "--school", "uni", "--username", "x", "--password-env", "PW", env={"PW": "p"})
    assert again.exit_code == 2 and "already exist" in again.output

    toml = _run(cfg, "remove", "me")
    assert toml.exit_code == 2 and "config file" in toml.output
    assert _run(cfg, "remove", "alice").exit_code == 0
    assert suite_db.rows(tmp_path / "state/gw.db", "select count(*) from accounts where id='alice'")[0] == (0,)
    assert _run(cfg, "remove", "alice").exit_code == 2


def test_import_csv_all_or_nothing_with_line_and_column(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text("name,school,username,password,notify\n"
                   f"bob,uni,2021030003,{SECRET},mailto://x:y@example.com\n"
                   f"carol,nowhere,2021030004,{SECRET},\n"
                   "dave,uni,,pw,\n"
                   f"erin,uni,2021030005,{SECRET},not-a-url\n"
                   f"bob,uni,2021030006,{SECRET},\n", encoding="utf-8")
    r = _run(cfg, "import", str(bad))
    assert r.exit_code == 2
    out = " ".join(r.output.split())
    assert "line 3: column school: no school named 'nowhere'" in out
    assert "line 4: column username: empty" in out
    assert "line 5: column notify" in out
    assert "line 6: column name: 'bob' already on line 2" in out
    assert SECRET not in r.output and "Traceback" not in r.output
    assert "bob" not in _run(cfg, "list").output  # nothing imported

    header = tmp_path / "header.csv"
    header.write_text("name,school,user\nx,uni,1\n", encoding="utf-8")
    r = _run(cfg, "import", str(header))
    assert r.exit_code == 2 and "line 1" in r.output and "username" in r.output

    good = tmp_path / "good.csv"
    good.write_text("name,school,username,password,notify\n"
                    f"bob,uni,2021030003,{SECRET},mailto://x:y@example.com mailto://z:w@example.com\n"
                    f"carol,uni,2021030004,{SECRET},\n", encoding="utf-8")
    r = _run(cfg, "import", str(good))
    assert r.exit_code == 0 and "Imported 2" in r.output
    listed = _run(cfg, "list").output
    assert "bob" in listed and "carol" in listed and SECRET not in listed


@pytest.mark.parametrize("args", [["pause", "nobody"], ["import", "/nonexistent.csv"]])
def test_bad_requests_are_one_line_errors(tmp_path: Path, args: list[str]) -> None:
    r = _run(_config(tmp_path), *args)
    assert r.exit_code == 2 and "error:" in r.output and "Traceback" not in r.output
