"""`gradewatch key new`: a key for a scheduled runner's secrets (GRADEWATCH_KEY)."""

from __future__ import annotations

import typer

app = typer.Typer(help="The encryption key (sessions, stored passwords).", no_args_is_help=True)


@app.command("new")
def new_key() -> None:
    """Print a new key. Store it as the runner's secret GRADEWATCH_KEY; never commit it."""
    from cryptography.fernet import Fernet

    typer.echo(Fernet.generate_key().decode())
