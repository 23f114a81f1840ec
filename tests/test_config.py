"""Config problems are one clear message that names the key — never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gradewatch.config import ConfigError, config_from_dict, load_config, resolve_password

GOOD = {
    "schools": {"s": {"system": "ssfw", "base_url": "http://127.0.0.1:1"}},
    "accounts": {"a": {"school": "s", "username": "u", "password_env": "GW_CFG_TEST"}},
}


def _err(raw: dict) -> str:
    with pytest.raises(ConfigError) as exc:
        config_from_dict(raw, base_dir=Path("."))
    return str(exc.value)


def test_good_config_loads_with_defaults():
    cfg = config_from_dict(GOOD, base_dir=Path("/tmp/x"))
    assert cfg.interval_minutes == 30 and cfg.schools["s"].max_concurrency == 2
    assert cfg.database_url == "sqlite:////tmp/x/gradewatch.db"


def test_database_from_the_environment_wins_over_the_file_and_state_wins_over_both(monkeypatch):
    from gradewatch.runner import with_state

    monkeypatch.setenv("GRADEWATCH_DATABASE_URL", "postgresql+psycopg://gw@db.example/gw")
    cfg = config_from_dict({**GOOD, "database": "sqlite:///mine.db"}, base_dir=Path("/tmp/x"))
    assert cfg.database_url == "postgresql+psycopg://gw@db.example/gw"
    state = with_state(cfg, Path("/tmp/x/state.db"), baseline=None).config
    assert state.database_url == "sqlite:////tmp/x/state.db"
    monkeypatch.setenv("GRADEWATCH_DATABASE_URL", " ")
    assert config_from_dict(GOOD, base_dir=Path("/tmp/x")).database_url == "sqlite:////tmp/x/gradewatch.db"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({**GOOD, "intervall_minutes": 5}, "intervall_minutes: unknown key"),
        ({**GOOD, "schools": {"s": {"system": "nope", "base_url": "http://x"}}},
         "schools.s.system: unknown system 'nope'"),
        ({**GOOD, "schools": {"s": {"system": "ssfw", "base_url": "ftp://x"}}},
         "schools.s.base_url: must start with http"),
        ({**GOOD, "schools": {"s": {"system": "ssfw"}}}, "schools.s.base_url: required key is missing"),
        ({**GOOD, "accounts": {"a": {"school": "t", "username": "u"}}}, "accounts.a.school: no school named 't'"),
        ({**GOOD, "accounts": {"a": {"school": "s", "username": "u", "password": "p", "password_env": "E"}}},
         "give only one of password, password_env, password_cmd"),
        ({**GOOD, "accounts": {"a": {"school": "s", "username": "u", "notify": ["not a url"]}}},
         "accounts.a.notify[0]: not a notification URL"),
        ({**GOOD, "interval_minutes": -1}, "interval_minutes: Input should be greater than 0"),
        ({**GOOD, "accounts": {"a": {"school": "s", "username": "u", "gpa": {"scale": "nosuch"}}}},
         "unknown GPA scale 'nosuch'"),
    ],
)
def test_errors_name_the_key(raw, expected):
    assert expected.replace("Value error, ", "") in _err(raw).replace("Value error, ", "")


def test_password_sources(tmp_path, monkeypatch):
    cfg = config_from_dict(GOOD, base_dir=tmp_path)
    acc = cfg.accounts["a"]
    monkeypatch.delenv("GW_CFG_TEST", raising=False)
    with pytest.raises(ConfigError, match="GW_CFG_TEST is not set"):
        resolve_password("a", acc)
    monkeypatch.setenv("GW_CFG_TEST", "s3cret-value")
    assert resolve_password("a", acc) == "s3cret-value"

    py = sys.executable
    cmd = acc.model_copy(update={"password_env": None, "password_cmd": f"{py} -c \"print('from-cmd')\""})
    assert resolve_password("a", cmd) == "from-cmd"
    bad = acc.model_copy(update={"password_env": None, "password_cmd": f"{py} -c \"import sys; sys.exit(3)\""})
    with pytest.raises(ConfigError, match="exited 3") as exc:
        resolve_password("a", bad)
    assert "from-cmd" not in str(exc.value)
    none = acc.model_copy(update={"password_env": None})
    assert resolve_password("a", none, stored="kept") == "kept"
    with pytest.raises(ConfigError, match="gradewatch password set a"):
        resolve_password("a", none)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("x = [", "not valid TOML"),
        ('database = "sqlite:///x.db"\n[schools.s]\nsystem = "ssfw"\nbase_url = "http://x"\npasword = 1\n',
         "schools.s.pasword: unknown key"),
    ],
)
def test_cli_reports_config_errors_in_one_line(tmp_path, content, expected):
    cfg = tmp_path / "c.toml"
    cfg.write_text(content, encoding="utf-8")
    res = subprocess.run([sys.executable, "-m", "gradewatch.cli", "check", "-c", str(cfg)], capture_output=True,
                         text=True, timeout=60, env={**os.environ, "COLUMNS": "300"})
    assert res.returncode == 2
    assert expected in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")


def test_init_writes_a_template_that_loads(tmp_path):
    target = tmp_path / "gw.toml"
    res = subprocess.run([sys.executable, "-m", "gradewatch.cli", "init", str(target)], capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    cfg = load_config(target)
    assert "myschool" in cfg.schools and cfg.accounts["me"].password_env == "GRADEWATCH_PASSWORD"
    again = subprocess.run([sys.executable, "-m", "gradewatch.cli", "init", str(target)], capture_output=True,
                           text=True, timeout=60)
    assert again.returncode == 2 and "exists" in again.stderr
