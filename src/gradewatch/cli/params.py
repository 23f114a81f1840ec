"""Options and arguments that several commands share, declared once so they read and default alike."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

#: Where every command looks for its config unless told otherwise.
DEFAULT_CONFIG = Path("gradewatch.toml")

ConfigOpt = Annotated[
    Path,
    typer.Option("--config", "-c", envvar="GRADEWATCH_CONFIG", help="Config file (TOML).", show_default=True),
]
# metavar "": a counted flag takes no value (help showed "<int>").
Verbose = Annotated[int, typer.Option("--verbose", "-v", count=True, metavar="",
                                      help="More log output (-vv for HTTP).")]
AccountOpt = Annotated[list[str] | None, typer.Option("--account", "-a", help="Only this account (repeatable).")]
StateOpt = Annotated[Path | None, typer.Option(
    "--state", help="Scheduled-runner mode: keep the whole state in this one file (the runner caches it).")]
BaselineOpt = Annotated[bool | None, typer.Option(
    "--baseline/--no-baseline", help="Mail the whole grade table on an account's first check "
    "(default: yes, except when --state names a file that is missing: a runner that lost its cache).")]
