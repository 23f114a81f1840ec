"""`gradewatch notify …`: operator tools for the notification channels."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from gradewatch.cli.context import open_app, select_accounts
from gradewatch.cli.errors import console, user_errors
from gradewatch.cli.params import DEFAULT_CONFIG, ConfigOpt

app = typer.Typer(no_args_is_help=True, help="Notification channels: test them.")


@app.command("test")
def test_command(
    account: Annotated[str | None, typer.Argument(help="Only this account (default: all).")] = None,
    config: ConfigOpt = DEFAULT_CONFIG,
    timeout: Annotated[float, typer.Option(min=0.5, max=3600,
                                           help="Seconds to wait for each service's answer.")] = 20.0,
) -> None:
    """Send a short test message on each configured channel; print what each service answered."""
    from gradewatch.notify.probe import probe

    with user_errors():
        gw = open_app(config)
        try:
            results = probe(gw.config, gw.store, select_accounts(gw, [account] if account else None), timeout=timeout)
        finally:
            gw.close()
    table = Table(title="Notification channels", title_justify="left")
    for col in ("account", "channel", "via", "result"):
        table.add_column(col, overflow="fold")
    for r in results:
        result = "[green]confirmed[/]" if r.confirmed else (
            f"[red]{'refused (needs attention)' if r.permanent else 'failed (will retry)'}[/]: "
            f"{r.error.removeprefix(r.via + ': ')}")
        table.add_row(r.account, r.channel, r.via, result)
    if not results:
        console.print("No notification channels configured (add notify = [...] to an account).")
    else:
        console.print(table)
    raise typer.Exit(0 if all(r.confirmed for r in results) else 1)
