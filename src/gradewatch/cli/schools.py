"""`gradewatch schools …`: look a school up in the directory (system, base_url, source)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from gradewatch.cli.errors import console, user_errors

app = typer.Typer(help="The directory of schools: which academic system each runs, and where.", no_args_is_help=True)


@app.command("search")
def search_command(
    text: Annotated[str, typer.Argument(help="Name, part of it, an abbreviation (建大) or pinyin initials (sdjz).")],
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many.")] = 10,
) -> None:
    """Find a school and print what to put in the config."""
    from gradewatch.directory import search

    with user_errors():
        found = search(text, limit=limit)
    if not found:
        console.print(f"No school matches {text!r}. Give the login page's URL to `gradewatch detect URL` instead.")
        raise typer.Exit(1)
    table = Table("school", "system", "base_url", "source", show_lines=False)
    for s in found:
        mark = "" if s.verified else " (unverified)"
        table.add_row(s.name, s.system + (f" + {s.front_door}" if s.front_door else ""), s.base_url,
                      f"{s.source}{mark}")
    console.print(table)
