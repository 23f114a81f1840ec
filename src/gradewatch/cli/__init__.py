"""The `gradewatch` command line: one module per command group, mounted by `root`.

    root.py      the typer app and `main()`        errors.py   fail() and user_errors(): one line + exit code
    params.py    shared options (--config …)        context.py  opening the app, choosing accounts
    checks.py    check, run, send                   view.py     grades, status, gpa
    setup.py     init, demo, doctor, key new        accounts.py accounts …, password set
    notify.py    notify test                        schools.py  schools search
    web.py       web

`captcha` (gradewatch/captcha/cli.py) and `sim` (gradewatch/sim/cli.py) stay with their packages and
are mounted as sub-commands. `app` and `main` are loaded on first use, so importing one command
module alone does not build the whole app.
"""

from __future__ import annotations

from typing import Any

__all__ = ["app", "main"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from gradewatch.cli import root

        return getattr(root, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
