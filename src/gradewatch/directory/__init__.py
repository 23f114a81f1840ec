"""A directory of schools: which academic system each runs and where, so a student can say "建大"
instead of knowing ``system`` and ``base_url``.

The shipped list (``schools.json``) is built from public school lists by
``tools/build_school_directory.py``; every entry names its source (``repository@commit:path``) and
the date it was seen there, says whether that source or the URL decided its system
(``system_from``), and starts unverified. An operator can add their own entries (a JSON file of the same shape, e.g.
the schools a student club serves) with ``GRADEWATCH_SCHOOLS=/path/to/schools.json``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

ENV = "GRADEWATCH_SCHOOLS"


class DirectoryError(ValueError):
    """An operator's directory file that cannot be read."""


@dataclass(frozen=True)
class School:
    name: str
    system: str
    base_url: str
    initials: str = ""  # pinyin initials of the name: 山东建筑大学 → sdjzdx
    aliases: tuple[str, ...] = ()
    front_door: str | None = None
    source: str = ""
    last_seen: str = ""
    verified: bool = False

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> School:
        name = str(d["name"])
        return cls(name=name, system=str(d["system"]), base_url=str(d["base_url"]).rstrip("/"),
                   initials=str(d.get("initials") or _initials(name)), aliases=tuple(d.get("aliases") or ()),
                   front_door=d.get("front_door"), source=str(d.get("source") or ""),
                   last_seen=str(d.get("last_seen") or ""), verified=bool(d.get("verified")))


def _initials(name: str) -> str:
    try:
        from pypinyin import Style, lazy_pinyin
    except ImportError:  # pragma: no cover - pypinyin is a dependency; stay usable without it
        return ""
    return "".join(p[0] for p in lazy_pinyin(name, style=Style.FIRST_LETTER) if p and p[0].isalpha()).lower()


@lru_cache(maxsize=1)
def builtin() -> tuple[School, ...]:
    text = resources.files("gradewatch.directory").joinpath("schools.json").read_text(encoding="utf-8")
    return tuple(School.from_dict(d) for d in json.loads(text)["schools"])


def load(extra: str | Path | None = None) -> list[School]:
    """The shipped schools plus the operator's (``extra`` or $GRADEWATCH_SCHOOLS); theirs come first."""
    path = extra or os.environ.get(ENV)
    own: list[School] = []
    if path:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            own = [School.from_dict(d) for d in (data["schools"] if isinstance(data, dict) else data)]
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise DirectoryError(f"{path}: not a school directory ({type(err).__name__}: {err})") from None
    names = {s.name for s in own}
    return own + [s for s in builtin() if s.name not in names]


def _span(needle: str, hay: str) -> int | None:
    """How many characters of ``hay`` the characters of ``needle`` span, in order; None if absent."""
    pos, first = -1, None
    for ch in needle:
        pos = hay.find(ch, pos + 1)
        if pos < 0:
            return None
        first = pos if first is None else first
    return pos - (first or 0) + 1


def search(query: str, schools: list[School] | None = None, limit: int = 10) -> list[School]:
    """Schools matching ``query``: a name or part of it, an abbreviation whose characters appear in
    order in the name (建大 → 山东建筑大学), pinyin initials (sdjz), or part of the URL."""
    q = query.strip()
    if not q:
        return []
    pool = schools if schools is not None else load()
    low = q.lower()
    scored: list[tuple[int, int, int, School]] = []
    for i, s in enumerate(pool):
        span = 0
        if q == s.name or q in s.aliases:
            rank = 0
        elif q in s.name:
            rank = 1
        elif low.isascii() and s.initials.startswith(low):
            rank = 2
        elif low.isascii() and low in s.initials:
            rank = 3
        elif not low.isascii() and len(q) >= 2 and (found := _span(q, s.name)) is not None:
            rank, span = 4, found
        elif low.isascii() and len(low) >= 3 and low in s.base_url.lower():
            rank = 5
        else:
            continue
        scored.append((rank, span, i, s))
    # Within a rank: a name that starts where the query starts (北师大 is 北京师范大学, not 河北师范大学),
    # then the tightest abbreviation match, then the shorter name, then the list order.
    scored.sort(key=lambda t: (t[0], not t[3].name.startswith(q[0]), t[1], len(t[3].name), t[2]))
    return [s for *_, s in scored[:limit]]
