"""The command-line package: every command's help works, each module imports alone, no import circle,
and every failure goes through the one error helper."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import gradewatch.cli
from gradewatch import exit_codes
from gradewatch.cli import app
from gradewatch.cli.errors import code_of, fail, user_errors

PACKAGE = Path(gradewatch.cli.__file__).parent
MODULES = sorted(f"gradewatch.cli.{p.stem}" for p in PACKAGE.glob("*.py") if p.stem not in {"__init__", "__main__"})


def _command_paths() -> list[list[str]]:
    """Every command and sub-command of the app, as the words one types (from the click tree)."""
    import typer.main

    root = typer.main.get_command(app)
    found: list[list[str]] = []

    def walk(cmd: object, path: list[str]) -> None:
        commands = getattr(cmd, "commands", None)
        if commands is None:
            return
        for name, sub in commands.items():
            found.append([*path, name])
            walk(sub, [*path, name])

    walk(root, [])
    return found


COMMANDS = _command_paths()


def test_the_tree_holds_every_group() -> None:
    tops = {p[0] for p in COMMANDS}
    assert {"check", "run", "send", "grades", "status", "gpa", "init", "demo", "doctor", "detect", "web",
            "captcha", "accounts", "password", "notify", "schools", "key", "sim"} <= tops
    assert ["accounts", "retry"] in COMMANDS and ["accounts", "import"] in COMMANDS


@pytest.mark.parametrize("words", [p for p in COMMANDS if p[0] != "captcha"], ids=" ".join)
def test_every_command_help_exits_0(words: list[str]) -> None:
    res = CliRunner().invoke(app, [*words, "--help"], prog_name="gradewatch")
    assert res.exit_code == 0, res.output
    assert "Usage:" in res.output


def test_captcha_help_is_handed_to_the_engine() -> None:
    # `captcha` forwards its arguments to the engine's own app (loaded on use), --help included.
    res = subprocess.run([sys.executable, "-m", "gradewatch.cli", "captcha", "--help"], capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-800:]
    assert "train" in res.stdout


@pytest.mark.parametrize("module", MODULES)
def test_each_module_imports_alone(module: str) -> None:
    code = (f"import {module}\nimport sys\n"
            "print(sorted(m for m in ('numpy', 'PIL', 'onnxruntime', 'torch') if m in sys.modules))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr[-800:]
    assert res.stdout.strip() == "[]", f"{module} imports {res.stdout.strip()} at the top"


def _imports_within_package(path: Path) -> set[str]:
    """The gradewatch.cli modules a module imports at its top level (function-level imports are lazy)."""
    found: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "gradewatch.cli":
                found |= {f"gradewatch.cli.{a.name}" for a in node.names}
            elif node.module.startswith("gradewatch.cli."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("gradewatch.cli.")}
    return found


def test_no_import_circle() -> None:
    graph = {m: _imports_within_package(PACKAGE / f"{m.rsplit('.', 1)[1]}.py") for m in MODULES}
    done: set[str] = set()

    def visit(module: str, trail: tuple[str, ...]) -> None:
        assert module not in trail, "import circle: " + " → ".join((*trail, module))
        if module in done:
            return
        for dep in graph.get(module, ()):
            visit(dep, (*trail, module))
        done.add(module)

    for module in graph:
        visit(module, ())
    # Only the root mounts the command modules; none of them reaches back up to it.
    assert all("gradewatch.cli.root" not in deps for deps in graph.values())


def test_no_command_prints_its_own_error() -> None:
    # One helper (errors.fail) writes error lines; a stray `typer.echo(..., err=True)` + Exit would not
    # escape markup or follow the exit-code table.
    offenders = [p.name for p in PACKAGE.glob("*.py") if p.name != "errors.py"
                 and ("err=True" in p.read_text(encoding="utf-8") or "Console(stderr" in p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_user_errors_maps_typed_errors_to_their_codes(capsys: pytest.CaptureFixture[str]) -> None:
    from gradewatch.config import ConfigError
    from gradewatch.schools.errors import SchoolUnavailable
    from gradewatch.store.db import StoreError

    assert code_of(ConfigError("x")) == exit_codes.CONFIG
    assert code_of(StoreError("x")) == exit_codes.DATABASE
    assert code_of(SchoolUnavailable("x")) == exit_codes.SCHOOL_UNREACHABLE
    assert code_of(PermissionError(13, "Permission denied", "/k")) == exit_codes.FILE_ACCESS
    assert code_of(ZeroDivisionError()) is None  # a bug is not turned into a user error
    import typer

    with pytest.raises(typer.Exit) as ended, user_errors():
        raise StoreError("database /x/db is a folder [bold]")
    assert ended.value.exit_code == exit_codes.DATABASE
    assert "gradewatch: error: database /x/db is a folder [bold]" in capsys.readouterr().err
    with pytest.raises(ZeroDivisionError), user_errors():
        raise ZeroDivisionError
    with pytest.raises(typer.Exit) as ended:
        fail("line 2: bad\nline 3: worse", exit_codes.CONFIG)
    err = capsys.readouterr().err.splitlines()
    assert err == ["gradewatch: error: line 2: bad", "gradewatch: error: line 3: worse"]
