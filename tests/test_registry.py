"""One declaration per system: the registry, typed options, the generated docs, a light `--help`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gradewatch import docs_tables
from gradewatch.config import ConfigError, config_from_dict
from gradewatch.schools import adapter_class, systems
from gradewatch.sim import simulators


def _school(system: str, options: dict[str, object]) -> dict[str, object]:
    return {"schools": {"uni": {"system": system, "base_url": "http://127.0.0.1:9", "options": options}}}


def test_every_adapter_has_a_simulator_and_the_reverse() -> None:
    assert set(systems()) == set(simulators())
    assert {"ssfw", "zf", "qiangzhi"} <= set(systems())
    for name, cls in systems().items():
        assert cls.system == name and cls.title and cls.login_path


@pytest.mark.parametrize("system", sorted(systems()))
def test_a_misspelt_option_is_an_error_naming_it(system: str) -> None:
    with pytest.raises(ConfigError) as err:
        config_from_dict(_school(system, {"captcah": "no"}), base_dir=Path("."))
    assert "schools.uni.options.captcah: unknown option" in str(err.value)


@pytest.mark.parametrize("system", sorted(systems()))
def test_every_declared_option_rejects_a_wrong_type(system: str) -> None:
    names = list(adapter_class(system).Options.model_fields)
    if not names:
        pytest.skip(f"{system} declares no options")
    with pytest.raises(ConfigError) as err:
        config_from_dict(_school(system, dict.fromkeys(names, [1, 2])), base_dir=Path("."))
    lines = str(err.value).splitlines()
    for name in names:
        assert any(f"schools.uni.options.{name}:" in line for line in lines), (name, lines)


def test_valid_options_are_kept_and_defaults_filled_in() -> None:
    cfg = config_from_dict(_school("zf", {"captcha": False, "page_size": 300}), base_dir=Path("."))
    opts = cfg.schools["uni"].options
    assert opts["captcha"] is False and opts["page_size"] == 300 and opts["gnmkdm"] == "N305005"
    with pytest.raises(ConfigError, match=r'schools\.uni\.options\.captcha: must be "auto", true, false or "slider"'):
        config_from_dict(_school("zf", {"captcha": "yes"}), base_dir=Path("."))
    with pytest.raises(ConfigError, match=r'schools\.uni\.options\.captcha: must be "auto", true or false'):
        config_from_dict(_school("qiangzhi", {"captcha": "slider"}), base_dir=Path("."))
    with adapter_class("qiangzhi")("http://127.0.0.1:9") as adapter:
        assert adapter.options["login"] == "auto" and adapter.options["term"] == ""


def test_docs_tables_are_up_to_date() -> None:
    current = docs_tables.DOC.read_text(encoding="utf-8")
    assert docs_tables.render(current) == current, "run: python -m gradewatch.docs_tables"
    for name, cls in systems().items():
        assert f"| `{name}` | {cls.title} |" in current
        for option in cls.Options.model_fields:
            assert f"| `{name}` | `{option}` |" in current


def test_help_does_not_import_the_captcha_engine() -> None:
    code = (
        "import sys\n"
        "from gradewatch.cli import app\n"
        "try:\n"
        "    app(['--help'], prog_name='gradewatch')\n"
        "except SystemExit as e:\n"
        "    assert e.code == 0, e.code\n"
        "heavy = sorted(m for m in ('numpy', 'onnxruntime', 'PIL', 'torch') if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert "HEAVY []" in out.stdout, out.stdout[-500:] + out.stderr[-500:]
    assert "captcha" in out.stdout and "detect" in out.stdout
