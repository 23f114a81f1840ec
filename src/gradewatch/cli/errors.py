"""The one way a `gradewatch` command ends in failure: one line on stderr and a documented exit code.

`fail(message, code)` ends a command; `user_errors()` turns our typed errors (config, store, school,
captcha model, file access …) into such a line with the code of docs/errors.md, and lets a bug through
for `main()` to report. Every command module routes its errors through here, none prints its own.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from gradewatch import exit_codes

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = exit_codes.CONFIG) -> NoReturn:
    """Print ``message`` as an error (each of its lines prefixed, e.g. a CSV's bad rows) and exit with ``code``."""
    for line in message.splitlines() or [""]:
        err_console.print(f"[bold red]gradewatch: error:[/] {escape(line)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def code_of(err: BaseException) -> int | None:
    """The exit code of an expected failure, None for anything else (a bug)."""
    # Imported here: the error classes live next to heavy modules that `--help` must not load.
    from gradewatch.captcha.errors import CaptchaError, ModelError
    from gradewatch.config import ConfigError
    from gradewatch.directory import DirectoryError
    from gradewatch.logs import LogFileError
    from gradewatch.schools.errors import CaptchaModelError, SchoolError, SchoolUnavailable
    from gradewatch.secrets import KeyFileAccessError, SecretsError
    from gradewatch.store.accounts import AccountError
    from gradewatch.store.db import StoreError

    table: list[tuple[type[BaseException] | tuple[type[BaseException], ...], int]] = [
        ((KeyFileAccessError, LogFileError), exit_codes.FILE_ACCESS),
        # A key that is not a key, a bad CSV row, an unknown school: a setting or an argument to fix.
        ((ConfigError, SecretsError, AccountError, DirectoryError), exit_codes.CONFIG),
        (StoreError, exit_codes.DATABASE),
        ((ModelError, CaptchaModelError), exit_codes.CAPTCHA_MODEL),
        (SchoolUnavailable, exit_codes.SCHOOL_UNREACHABLE),
        ((SchoolError, CaptchaError), exit_codes.SCHOOL_ANSWER),
        (OSError, exit_codes.FILE_ACCESS),
    ]
    for kinds, code in table:
        if isinstance(err, kinds):
            return code
    return None


def message_of(err: BaseException) -> str:
    if isinstance(err, OSError) and err.filename:
        return f"{err.filename}: {err.strerror or type(err).__name__}"
    return str(err) or type(err).__name__


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn every expected failure into one clear line on stderr and its exit code (docs/errors.md)."""
    try:
        yield
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except Exception as err:
        code = code_of(err)
        if code is None:
            raise  # a bug: main() prints one line (the traceback with -v)
        fail(message_of(err), code)
