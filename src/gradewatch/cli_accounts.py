"""`gradewatch accounts …`: account commands (this module: `retry`; others add theirs to ``accounts_app``)."""

from __future__ import annotations

from pathlib import Path

import typer

accounts_app = typer.Typer(no_args_is_help=True, help="Manage the watched accounts.")


@accounts_app.command("retry")
def retry(account: str, config: Path = typer.Option(Path("gradewatch.toml"), "--config", "-c",
                                                     envvar="GRADEWATCH_CONFIG", help="Config file (TOML).")) -> None:
    """Allow one more login with the current password after a wrong-password verdict or an
    answer gradewatch could not read (check the password first: schools lock accounts)."""
    from gradewatch.cli import _open, console, fail, user_errors

    with user_errors():
        gw = _open(config)
        if account not in {a.id for a in gw.store.accounts()}:
            fail(f"no account named {account} in the store (known: "
                 f"{', '.join(a.id for a in gw.store.accounts()) or 'none'})")
        gw.store.allow_retry(account)
        console.print(f"{account}: one more login is allowed; it is checked at the next `check` or `run` tick.")
        gw.close()
