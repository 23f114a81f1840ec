"""A notification as data (a title, an intro, one entry per grade), rendered per channel in the
format the channel shows well, and split into numbered parts that fit the channel's limit.

Phones are narrow: every format lists one grade per entry (name and score on the first line,
term · credits · kind on the second) instead of a wide table. E-mail keeps the full table.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import astuple, dataclass, replace

from gradewatch.notify.channels.base import BodyFormat, Channel, Limits
from gradewatch.store.db import Notice


@dataclass(frozen=True)
class Entry:
    name: str  # 高等数学A(1)
    value: str = ""  # 95 · 58 → 61 · "" (privacy)
    detail: str = ""  # 2022-2023-1 · 5 学分 · 必修
    tag: str = ""  # 新 / 变更 / 撤销


@dataclass(frozen=True)
class Document:
    intro: str
    entries: tuple[Entry, ...] = ()
    footer: str = ""


def _md_escape(s: str) -> str:
    return "".join("\\" + c if c in "*_`[]<>#|" else c for c in s)


def entry_block(e: Entry, fmt: BodyFormat) -> str:
    tag = f"[{e.tag}] " if e.tag else ""
    if fmt == "markdown":
        head = f"- {tag}**{_md_escape(e.name)}**" + (f"　**{_md_escape(e.value)}**" if e.value else "")
        return head + (f"  \n  {_md_escape(e.detail)}" if e.detail else "")
    if fmt == "html":
        value = f" <b>{html.escape(e.value)}</b>" if e.value else ""
        detail = f'<br><span style="color:#666;font-size:13px">{html.escape(e.detail)}</span>' if e.detail else ""
        return f'<p style="margin:6px 0">{html.escape(tag)}<b>{html.escape(e.name)}</b>{value}{detail}</p>'
    return f"{tag}{e.name}" + (f"  {e.value}" if e.value else "") + (f"\n  {e.detail}" if e.detail else "")


def _para(text: str, fmt: BodyFormat) -> str:
    if fmt == "html":
        return f"<p>{html.escape(text)}</p>"
    return _md_escape(text) if fmt == "markdown" else text


def _heading(title: str, fmt: BodyFormat) -> str:
    if fmt == "markdown":
        return f"### {_md_escape(title)}"
    if fmt == "html":
        return f"<h3>{html.escape(title)}</h3>"
    return title


def fit_title(subject: str, limit: int, suffix: str = "") -> str:
    """``subject`` + ``suffix`` within ``limit`` characters (0: no limit), cut with an ellipsis."""
    if not limit or len(subject) + len(suffix) <= limit:
        return subject + suffix
    keep = max(limit - len(suffix) - 1, 1)
    return subject[:keep] + "…" + suffix


def _cut(text: str, limits: Limits, room: int) -> str:
    """The longest prefix of ``text`` that fits in ``room`` (for one entry larger than a whole part)."""
    while text and limits.size(text) > room:
        text = text[: max(len(text) - max(limits.size(text) - room, 1), 0)]
    return text


def rendering_key(channel: Channel) -> str:
    """What a rendering depends on: the channel's kind, format and limits. A part kept for one
    key is sent as it is to any URL with the same key (a new token, a new vault key)."""
    lim = channel.limits
    return (f"{type(channel).__name__}:{channel.body_format}:{lim.body}{lim.unit}:{lim.title}:"
            f"{int(channel.full_table)}{int(channel.title_in_body)}")


def render_parts(notice: Notice, channel: Channel, *, label: str = "") -> list[Notice]:
    """``notice`` rendered for ``channel``: one or more parts, each within the channel's limits."""
    doc = notice.doc if isinstance(notice.doc, Document) else Document(notice.body_text.strip())
    fmt, limits, key = channel.body_format, channel.limits, rendering_key(channel)
    if channel.full_table:  # mail has room for the full table the composer made
        return [replace(notice, channel=label, part=1, parts=1, source=part_source(notice.subject, doc, key))]
    sep = "\n" if fmt == "html" else "\n\n" if fmt == "markdown" else "\n"
    # Each block with the entry it shows (None: the footer), so a block cut to fit still names
    # its whole entry in the part's source.
    blocks: list[tuple[str, Entry | None]] = [(entry_block(e, fmt), e) for e in doc.entries]
    blocks += [(_para(doc.footer, fmt), None)] if doc.footer else []

    def head(suffix: str) -> str:
        lines = [_heading(fit_title(notice.subject, 0, suffix), fmt)] if channel.title_in_body else []
        return sep.join([*lines, _para(doc.intro + suffix if not channel.title_in_body else doc.intro, fmt)])

    worst = head(" (99/99)")
    room = limits.body - limits.size(worst + sep) - 1
    parts: list[list[tuple[str, Entry | None]]] = [[]]
    used = 0
    for block, entry in blocks:
        size = limits.size(block + sep)
        if size > room:
            block = _cut(block, limits, room - limits.size(sep))
            size = limits.size(block + sep)
        if parts[-1] and used + size > room:
            parts.append([])
            used = 0
        parts[-1].append((block, entry))
        used += size
    n = len(parts)
    out = []
    for k, chunk in enumerate(parts, 1):
        suffix = f" ({k}/{n})" if n > 1 else ""
        body = sep.join([head(suffix), *(b for b, _ in chunk)]).strip() + "\n"
        title = fit_title(notice.subject, limits.title, suffix)
        entries = [e for _, e in chunk if e is not None]
        text, page = (to_plain(doc, entries, suffix), body) if fmt == "html" else (body, "")
        has_footer = any(e is None for _, e in chunk)
        own = Document(doc.intro, tuple(entries), doc.footer if has_footer else "")
        out.append(replace(notice, subject=title, body_text=text, body_html=page, part=k, parts=n, channel=label,
                           source=part_source(notice.subject + suffix, own, key)))
    return out


# ---- a part kept as data: re-rendered when its channel's URL is edited to another kind ---------
def part_source(subject: str, doc: Document, rendered_for: str) -> str:
    """What an outbox row keeps of its part besides the rendered text: the part's own content, so
    it can be rendered again for whatever channel its URL points to when it is sent, and the
    rendering key it was rendered for."""
    return json.dumps({"subject": subject, "intro": doc.intro, "footer": doc.footer, "for": rendered_for,
                       "entries": [list(astuple(e)) for e in doc.entries]}, ensure_ascii=False)


def rendered_for(source: str) -> str:
    """The rendering key a stored part was rendered for ("" when it cannot be read)."""
    try:
        return str(json.loads(source).get("for", ""))
    except (ValueError, AttributeError):
        return ""


def rerender(source: str, kind: str, channel: Channel, *, label: str = "") -> list[Notice]:
    """A stored part rendered for ``channel``: one or more parts within its limits (a part that
    fitted a mail may need several on a chat service). Raises ValueError on a source it cannot read."""
    data = json.loads(source)
    doc = Document(str(data["intro"]), tuple(Entry(*map(str, e)) for e in data["entries"]), str(data["footer"]))
    plain = to_plain(doc, doc.entries, "")
    page = "".join(f"<p>{html.escape(line)}</p>" for line in plain.splitlines() if line)
    return render_parts(Notice(kind, str(data["subject"]), plain, page, doc=doc), channel, label=label)


def to_plain(doc: Document, entries: Sequence[Entry], suffix: str) -> str:
    return "\n".join([doc.intro + suffix, *(entry_block(e, "text") for e in entries), doc.footer]).strip() + "\n"
