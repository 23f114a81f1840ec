"""Turn a grade diff into the words a student reads: subject, a text table and an HTML table."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import replace

from rich.cells import cell_len

from gradewatch.diff import GradeDiff
from gradewatch.grades import Grade
from gradewatch.notify.layout import Document, Entry
from gradewatch.store.db import Notice

#: Per-account privacy for lock-screen pushes: "hide_scores" keeps course names, "hide_all" says
#: only that something is out.
PRIVACY_MODES = ("off", "hide_scores", "hide_all")

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


def _detail(g: Grade) -> str:
    credits = "" if g.credits is None else f"{g.credits:g} 学分"
    exam = "" if g.exam_type in ("", "正常考试", "正常") else g.exam_type  # only say it when unusual (补考 …)
    return " · ".join(x for x in (g.term, credits, g.course_nature, exam) if x)


def compose(
    diff: GradeDiff,
    before: list[Grade],
    after: list[Grade],
    first: bool,
    *,
    account: str,
    gpa_line: str | None = None,
    privacy: str = "off",
) -> list[Notice]:
    """One notice per check that found something: the full table on the first check, the changes later.

    Each notice carries its content as a ``Document`` too, so every channel gets its own layout.
    """
    if privacy != "off":
        return _private(diff, after, first, account=account, hide_names=privacy == "hide_all")
    notices = _compose_tables(diff, before, after, first, account=account, gpa_line=gpa_line)
    if not notices:
        return []
    n = notices[0]
    if first:
        ordered = sorted(after, key=lambda g: (g.term, g.course_code, g.exam_type))
        entries = tuple(Entry(g.course_name, g.score, _detail(g)) for g in ordered)
        intro = f"{account} 的全部成绩 (gradewatch 首次检查), 共 {len(ordered)} 门:"
    else:
        entries = (tuple(Entry(g.course_name, g.score, _detail(g), "新") for g in diff.new)
                   + tuple(Entry(nw.course_name, f"{o.score} → {nw.score}", _detail(nw), "变更")
                           for o, nw in diff.changed)
                   + tuple(Entry(g.course_name, f"{g.score} → 撤销", _detail(g), "撤销") for g in diff.removed))
        intro = f"{account} 的成绩有变化:"
    return [replace(n, doc=Document(intro, entries, gpa_line or ""))]


def _private(diff: GradeDiff, after: list[Grade], first: bool, *, account: str, hide_names: bool) -> list[Notice]:
    """Only that grades are out: no score anywhere (and with ``hide_names`` no course either)."""
    grades = sorted(after, key=lambda g: (g.term, g.course_code)) if first else [
        *diff.new, *(nw for _, nw in diff.changed)]
    if not grades and not diff.removed:
        return []
    count = len(grades) or len(diff.removed)
    subject = f"{account}: {count} 门课程有新成绩" if not first else f"{account}: 已开始监控 {count} 门课程的成绩"
    intro = "有新成绩发布，请登录教务系统查看。" if not first else "gradewatch 已读到成绩表，之后有新成绩时会通知你。"
    entries = () if hide_names else tuple(Entry(g.course_name, "", g.term) for g in grades)
    text = "\n".join([intro, *(f"- {e.name} ({e.detail})" for e in entries)]) + "\n"
    body = f"<p>{html.escape(intro)}</p>" + "".join(f"<p>{html.escape(e.name)} ({html.escape(e.detail)})</p>"
                                                   for e in entries)
    return [Notice("baseline" if first else "update", subject, text, body, doc=Document(intro, entries))]


def _compose_tables(
    diff: GradeDiff,
    before: list[Grade],
    after: list[Grade],
    first: bool,
    *,
    account: str,
    gpa_line: str | None = None,
) -> list[Notice]:
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
