"""Opening the app for a command and choosing its accounts, with the command-line errors that go with it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gradewatch.cli.errors import fail

if TYPE_CHECKING:
    from gradewatch.app import App


def open_app(config: Path, verbose: int = 0) -> App:
    from gradewatch.app import open_app as open_

    return open_(config, verbose=verbose)


def select_accounts(gw: App, accounts: list[str] | None) -> list[str]:
    """The configured accounts a command works on: all, or the named ones (an unknown name is an error)."""
    names = list(gw.config.accounts)
    if not names:
        fail("no accounts in the config; add an [accounts.NAME] table")
    if accounts:
        unknown = [a for a in accounts if a not in names]
        if unknown:
            fail(f"no account named {', '.join(unknown)} (configured: {', '.join(names)})")
        return accounts
    return names
