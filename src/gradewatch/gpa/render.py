"""Presenting GPA reports: Rich tables, a JSON-ready dict, and the one-line change for notifications."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from typing import Any

from rich.markup import escape
from rich.table import Table

from gradewatch.gpa.compute import GpaReport, TermRow, compute
from gradewatch.gpa.settings import GpaSettings
from gradewatch.grades import Grade

CUMULATIVE = "累计"
GPA_DECIMALS = 3
AVERAGE_DECIMALS = 2


def _num(value: float | None, decimals: int) -> str:
    return "—" if value is None else f"{value:.{decimals}f}"


def _credits(value: float) -> str:
    return f"{value:g}"


def _rows(report: GpaReport, terms: Collection[str] | None) -> list[TermRow]:
    return [r for r in report.terms if terms is None or r.term in terms]


def excluded_summary(report: GpaReport) -> str:
    """E.g. "未计入 3 条：通过/不通过制 2 · 0 学分 1" ("" when nothing was left out)."""
    if not report.excluded:
        return ""
    counts = Counter(e.reason.split("（")[0] for e in report.excluded)
    parts = " · ".join(f"{reason} {n}" for reason, n in counts.most_common())
    return f"未计入 {len(report.excluded)} 条：{parts}"


def _caption(reports: Sequence[GpaReport]) -> str | None:
    captions = [excluded_summary(reports[0])]
    if any(r.scale.estimate for r in reports):
        captions.append("WES 为估算（WES 还会调整学分）")
    return "\n".join(c for c in captions if c) or None


def gpa_table(
    reports: Sequence[GpaReport], *, title: str | None = None, terms: Collection[str] | None = None
) -> Table:
    """A Rich table for one report (a row per term), or for several scales side by side.

    One report: rows are terms plus 累计; columns 课程, 学分, 加权平均分, GPA. Several reports (from
    ``compute_many``, so they share credits and 加权平均分): columns are 累计 and the terms, the first
    rows give 课程/学分/加权平均分 and then there is one GPA row per scale, which keeps ten scales
    readable in a terminal; 累计 is the first column. ``terms`` limits the terms shown; 累计 always
    covers every term.
    """
    if not reports:
        raise ValueError("gpa_table needs at least one report")
    first = reports[0]
    shown = [row for row in first.terms if terms is None or row.term in terms]
    table = Table(title=escape(title) if title else None, caption=_caption(reports))
    if len(reports) == 1:
        table.add_column("学期", no_wrap=True)
        for header in ("课程", "学分", "加权平均分", f"GPA ({first.scale.name})"):
            table.add_column(escape(header), justify="right", no_wrap=True)
        for n, row in enumerate(shown):
            table.add_row(*_cells(row), end_section=n == len(shown) - 1)
        table.add_row(*_cells(first.cumulative, CUMULATIVE), style="bold")
        return table

    # 累计 comes first so that a long history cropped by a narrow terminal still shows it.
    indexes = [i for i, row in enumerate(first.terms) if terms is None or row.term in terms]
    table.add_column("", no_wrap=True)
    table.add_column(CUMULATIVE, justify="right", style="bold", min_width=5)
    for row in shown:
        table.add_column(escape(row.term or ""), justify="right", overflow="fold", min_width=5)
    base = [first.cumulative, *shown]
    table.add_row("课程", *(str(r.courses) for r in base))
    table.add_row("学分", *(_credits(r.credits) for r in base))
    table.add_row("加权平均分", *(_num(r.average, AVERAGE_DECIMALS) for r in base), end_section=True)
    for rep in reports:
        gpas = [rep.cumulative.gpa] + [rep.terms[i].gpa for i in indexes]
        table.add_row(escape(rep.scale.name), *(_num(g, GPA_DECIMALS) for g in gpas))
    return table


def _cells(row: TermRow, label: str | None = None) -> list[str]:
    return [
        escape(label if label is not None else row.term or ""),
        str(row.courses),
        _credits(row.credits),
        _num(row.average, AVERAGE_DECIMALS),
        _num(row.gpa, GPA_DECIMALS),
    ]


def _row_dict(reports: Sequence[GpaReport], row: TermRow, pick: Any) -> dict[str, Any]:
    return {
        "term": row.term,
        "courses": row.courses,
        "credits": row.credits,
        "average": None if row.average is None else round(row.average, 4),
        "gpa": {r.scale.id: (None if (g := pick(r).gpa) is None else round(g, 4)) for r in reports},
    }


def reports_to_dict(reports: Sequence[GpaReport], *, terms: Collection[str] | None = None) -> dict[str, Any]:
    """JSON-serialisable form of ``gpa_table``'s content (values rounded to 4 decimals)."""
    if not reports:
        return {"scales": [], "terms": [], "cumulative": None, "excluded": []}
    first = reports[0]
    return {
        "scales": [
            {
                "id": r.scale.id,
                "name": r.scale.name,
                "estimate": r.scale.estimate,
                "max_points": r.scale.max_points,
            }
            for r in reports
        ],
        "terms": [
            _row_dict(reports, row, lambda r, i=i: r.terms[i])
            for i, row in enumerate(first.terms)
            if terms is None or row.term in terms
        ],
        "cumulative": _row_dict(reports, first.cumulative, lambda r: r.cumulative),
        "excluded": [
            {
                "term": e.grade.term,
                "course_code": e.grade.course_code,
                "course_name": e.grade.course_name,
                "score": e.grade.score,
                "reason": e.reason,
            }
            for e in first.excluded
            if terms is None or e.grade.term in terms
        ],
    }


def gpa_change_line(
    before: Sequence[Grade], after: Sequence[Grade], settings: GpaSettings | None = None
) -> str | None:
    """The cumulative change on the account's scale, for a new-grade notification, e.g.
    ``GPA 标准4.0: 3.12 → 3.18 · 加权平均分 84.20 → 85.01``.

    None when neither set of grades has anything that counts.
    """
    settings = settings or GpaSettings()
    old = compute(before, None, settings)
    new = compute(after, None, settings)
    if old.cumulative.gpa is None and new.cumulative.gpa is None:
        return None
    b, a = old.cumulative, new.cumulative
    return (
        f"GPA {new.scale.name}: {_num(b.gpa, 2)} → {_num(a.gpa, 2)}"
        f" · 加权平均分 {_num(b.average, 2)} → {_num(a.average, 2)}"
    )
