"""An account's notification targets: one per channel entry, and one per recipient of a mailto URL
(so a refused recipient is retried alone and the others never get a second copy)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gradewatch.notify.channels import UrlError, channel_for, split_recipients
from gradewatch.notify.layout import render_parts
from gradewatch.store.db import Notice


@dataclass(frozen=True)
class Target:
    channel: str  # "notify[0]", or "notify[0] to=a@b" for one recipient of a mail URL
    url: str
    fingerprint: str  # what outbox rows store instead of the URL


def account_targets(fingerprint: Callable[[str], str], urls: Sequence[str]) -> list[Target]:
    out = []
    for i, url in enumerate(urls):
        each = split_recipients(url)
        for one in each:
            label = f"notify[{i}]" if len(each) == 1 else f"notify[{i}] to={_to(one)}"
            out.append(Target(label[:100], one, fingerprint(one)))
    return out


def _to(url: str) -> str:
    from gradewatch.notify.channels.base import query

    return query(url).get("to", "")


def expander(targets: Sequence[Target]) -> Callable[[str, Notice], list[Notice]]:
    """``expand(fingerprint, notice)`` for ``Store.apply_grades``: the notice in that channel's
    format, split into numbered parts within its limit."""
    by_fp = {t.fingerprint: t for t in targets}

    def expand(fp: str, notice: Notice) -> list[Notice]:
        t = by_fp.get(fp)
        if t is None:
            return [notice]
        try:
            ch = channel_for(t.url)
        except UrlError:  # the config check rejects these; keep the row so the drain reports it
            return [notice]
        return render_parts(notice, ch, label=t.channel)

    return expand
