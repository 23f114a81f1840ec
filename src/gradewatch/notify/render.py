"""Turn a grade diff into the words a student reads: subject, a text table and an HTML table."""

from __future__ import annotations

import html
from collections.abc import Sequence

from rich.cells import cell_len

from gradewatch.diff import GradeDiff
from gradewatch.grades import Grade
from gradewatch.store.db import Notice

COLUMNS = ("学期", "课程代码", "课程名称", "学分", "成绩", "考试性质", "课程性质")
_SUBJECT_ITEMS = 3


def describe(g: Grade) -> str:
    """What a grade says in a subject line: ``高等数学 95``, or ``高等数学: 缓考`` for a mark that is no score."""
    return f"{g.course_name}: {g.status_label}" if g.status else f"{g.course_name} {g.score}"


def _shown(g: Grade) -> str:
    """The score cell: the score (with its components, 平时/期末 …), or the status in words (never a bare ``W``)."""
    if g.status:
        return g.status_label
    if g.components:
        parts = "，".join(f"{name.removesuffix('成绩')} {value}" for name, value in g.components.items())
        return f"{g.score}（{parts}）"
    return g.score


def _row(g: Grade) -> tuple[str, ...]:
    credits = "" if g.credits is None else f"{g.credits:g}"
    return (g.term, g.course_code, g.course_name, credits, _shown(g), g.exam_type, g.course_nature)


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table aligned by display width (a Chinese character takes two cells)."""
    widths = [max([cell_len(h)] + [cell_len(r[i]) for r in rows]) for i, h in enumerate(header)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c + " " * (w - cell_len(c)) for c, w in zip(cells, widths, strict=True)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def html_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    th = "".join(f'<th style="text-align:left;padding:4px 8px;border-bottom:1px solid #999">{html.escape(h)}</th>'
                 for h in header)
    body = "".join(
        "<tr>" + "".join(f'<td style="padding:3px 8px">{html.escape(c)}</td>' for c in r) + "</tr>" for r in rows
    )
    return f'<table style="border-collapse:collapse;font-family:sans-serif;font-size:14px"><tr>{th}</tr>{body}</table>'


def _items(parts: list[str]) -> str:
    if len(parts) <= _SUBJECT_ITEMS:
        return ", ".join(parts)
    return ", ".join(parts[:_SUBJECT_ITEMS]) + f" 等 {len(parts)} 门"


def subject_for(diff: GradeDiff) -> str:
    """`新成绩: 高等数学 95` style subjects, as the original script had them."""
    parts = []
    scores = [g for g in diff.new if not g.status]
    marks = [g for g in diff.new if g.status] + [n for _, n in diff.changed if n.status]
    changed = [(o, n) for o, n in diff.changed if not n.status]
    if scores:
        parts.append("新成绩: " + _items([describe(g) for g in scores]))
    if changed:
        parts.append("成绩变更: " + _items([f"{n.course_name} {o.status_label or o.score} → {n.score}"
                                           for o, n in changed]))
    if marks:
        parts.append("成绩状态: " + _items([describe(g) for g in marks]))
    if diff.removed:
        parts.append("成绩撤销: " + _items([g.course_name for g in diff.removed]))
    return "; ".join(parts)


def compose(
    diff: GradeDiff,
    before: list[Grade],
    after: list[Grade],
    first: bool,
    *,
    account: str,
    gpa_line: str | None = None,
) -> list[Notice]:
    """One notice per check that found something: the full table on the first check, the changes later."""
    ordered = sorted(after, key=lambda g: (g.term, g.course_code, g.exam_type))
    extra_text = f"\n\n{gpa_line}" if gpa_line else ""
    extra_html = f"<p>{html.escape(gpa_line)}</p>" if gpa_line else ""
    if first:
        terms = sorted({g.term for g in ordered})
        span = f" ({terms[0]} … {terms[-1]})" if len(terms) > 1 else (f" ({terms[0]})" if terms else "")
        subject = f"全部成绩: 共 {len(ordered)} 门课程{span}"
        rows = [_row(g) for g in ordered]
        text = f"{account} 的全部成绩 (gradewatch 首次检查):\n\n{text_table(COLUMNS, rows)}{extra_text}\n"
        body = f"<p>{html.escape(account)} 的全部成绩 (gradewatch 首次检查):</p>{html_table(COLUMNS, rows)}{extra_html}"
        return [Notice("baseline", subject, text, body)]
    if not diff:
        return []
    header = ("变化", *COLUMNS[:4], "原成绩", "新成绩")
    rows = []
    for g in diff.new:
        rows.append(("状态" if g.status else "新", *_row(g)[:4], "", _shown(g)))
    for old, new in diff.changed:
        rows.append(("状态" if new.status else "变更", *_row(new)[:4], _shown(old), _shown(new)))
    for g in diff.removed:
        rows.append(("撤销", *_row(g)[:4], _shown(g), ""))
    text = f"{account} 的成绩有变化:\n\n{text_table(header, rows)}{extra_text}\n"
    body = f"<p>{html.escape(account)} 的成绩有变化:</p>{html_table(header, rows)}{extra_html}"
    return [Notice("update", subject_for(diff), text, body)]
