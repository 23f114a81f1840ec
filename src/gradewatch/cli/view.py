"""Reading what is stored: `grades`, `status` and `gpa`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from gradewatch.cli.context import open_app, select_accounts
from gradewatch.cli.errors import console, err_console, user_errors
from gradewatch.cli.params import DEFAULT_CONFIG, AccountOpt, ConfigOpt

if TYPE_CHECKING:
    from gradewatch.store.db import Store

#: The commands of this module; root.py lists them at the top level.
app = typer.Typer()


@app.command()
def grades(config: ConfigOpt = DEFAULT_CONFIG, account: AccountOpt = None) -> None:
    """Print the stored grades as a table."""
    from gradewatch.notify.render import COLUMNS

    with user_errors():
        gw = open_app(config)
        for name in select_accounts(gw, account):
            rows = gw.store.grades(name) if name in {a.id for a in gw.store.accounts()} else []
            table = Table(title=f"{name}: {len(rows)} grades", title_justify="left")
            for col in COLUMNS:
                table.add_column(col)
            for g in rows:
                table.add_row(g.term, g.course_code, g.course_name, "" if g.credits is None else f"{g.credits:g}",
                              g.score, g.exam_type, g.course_nature)
            console.print(table if rows else f"{name}: no grades stored yet (run `gradewatch check`)")
        gw.close()


@app.command()
def status(config: ConfigOpt = DEFAULT_CONFIG) -> None:
    """Account health, last checks and the outbox."""
    from gradewatch.watch.health import account_health

    with user_errors():
        gw = open_app(config)
        table = Table(title="Accounts", title_justify="left")
        for col in ("account", "status", "last check", "last ok", "session", "detail"):
            table.add_column(col)
        health = {h.account: h for h in account_health(gw.config, gw.store)}
        for st in gw.store.accounts():
            h = health[st.id]
            table.add_row(st.id, h.status, f"{st.last_check_at:%Y-%m-%d %H:%M}" if st.last_check_at else "-",
                          f"{st.last_ok_at:%Y-%m-%d %H:%M}" if st.last_ok_at else "-",
                          "stored" if st.has_session else "-", h.detail)
        console.print(table)
        print_channel_health(gw.store)
        counts = gw.store.outbox_counts()
        console.print("Outbox: " + (", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "empty"))
        gw.close()


def print_channel_health(store: Store) -> None:
    from gradewatch.notify.health import channel_health

    bad = [h for h in channel_health(store) if h.state != "ok"]
    if bad:
        table = Table(title="Notification channels not working", title_justify="left")
        for col in ("account", "channel", "state", "last error"):
            table.add_column(col, overflow="fold")
        for h in bad:
            table.add_row(h.account_id, h.channel, f"[red]{h.state}[/]", h.last_error)
        console.print(table)


@app.command()
def gpa(
    config: ConfigOpt = DEFAULT_CONFIG,
    account: AccountOpt = None,
    scale: Annotated[str | None, typer.Option("--scale", "-s", help="Scale id or name, or 'all'. "
                                              "Default: each account's configured scale.")] = None,
    term: Annotated[str | None, typer.Option("--term", "-t", help="Only this term, e.g. 2023-2024-1.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """GPA and 加权平均分 per term and cumulative, on any common scale."""
    from gradewatch.gpa import gpa_command

    with user_errors():
        gw = open_app(config)
        names = select_accounts(gw, account)
        known = {a.id for a in gw.store.accounts()}
        grades_by = {n: gw.store.grades(n) if n in known else [] for n in names}
        settings = {n: gw.config.gpa_settings(n) for n in names}
        gw.close()
    raise typer.Exit(gpa_command(grades_by, scale=scale, term=term, as_json=as_json, settings_by_account=settings,
                                 console=console, err_console=err_console))
