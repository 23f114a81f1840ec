"""What `gradewatch gpa` prints; the CLI only loads grades and settings and calls ``gpa_command``."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape

from gradewatch.gpa.compute import compute_many
from gradewatch.gpa.render import gpa_table, reports_to_dict
from gradewatch.gpa.scales import UnknownScaleError, resolve_scales
from gradewatch.gpa.settings import GpaSettings
from gradewatch.grades import Grade


def gpa_command(
    grades_by_account: Mapping[str, Sequence[Grade]],
    *,
    scale: str | None = None,
    term: str | None = None,
    as_json: bool = False,
    settings_by_account: Mapping[str, GpaSettings] | None = None,
    console: Console | None = None,
    err_console: Console | None = None,
) -> int:
    """Print a GPA table (or JSON) per account; returns the exit code (0, or 2 for an unknown scale).

    ``scale``: an id, a display name, ``"all"`` (every scale side by side), or None for each
    account's configured scale. ``term`` limits the term rows; the cumulative row covers all terms.
    """
    console = console or Console()
    err_console = err_console or Console(stderr=True)
    settings_by_account = settings_by_account or {}
    terms = [term] if term else None
    data: dict[str, Any] = {}
    for account, grades in grades_by_account.items():
        settings = settings_by_account.get(account) or GpaSettings()
        try:
            scales = resolve_scales(scale or settings.scale, settings.scales())
        except UnknownScaleError as err:
            err_console.print(f"[red]{escape(str(err))}[/red]")
            return 2
        reports = compute_many(grades, scales, settings)
        if as_json:
            data[account] = reports_to_dict(reports, terms=terms)
            continue
        if not grades:
            console.print(f"{escape(account)}: 还没有成绩")
            continue
        if term and reports[0].term(term) is None:
            known = ", ".join(r.term or "" for r in reports[0].terms)
            console.print(f"{escape(account)}: 没有学期 {escape(term)} 的成绩（已有：{escape(known)}）")
        console.print(gpa_table(reports, title=f"{account} · GPA", terms=terms))
    if as_json:
        console.out(json.dumps({"accounts": data}, ensure_ascii=False, indent=2), highlight=False)
    return 0
