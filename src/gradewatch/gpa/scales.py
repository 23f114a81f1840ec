"""GPA scales as data: band tables (lower-bound thresholds) and the two formula scales.

Every table reproduces docs/gpa.md (the shared reference) §2.1–2.9. A score maps to the points of the
first band whose ``min`` it reaches (``score >= min``); scores are not rounded first (see
``GpaSettings.round_scores``). Scores are clamped to 0–100 before the lookup.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass

#: Word for the "compare every scale" choice on the command line.
ALL = "all"


class UnknownScaleError(ValueError):
    """A scale name that is neither a built-in nor a configured custom scale."""


@dataclass(frozen=True)
class Band:
    """Scores ``>= min`` (and below the previous band's ``min``) earn ``points``."""

    min: float
    points: float
    label: str = ""


@dataclass(frozen=True)
class Scale:
    """A 百分制 → points mapping: either ``bands`` (highest ``min`` first) or a ``formula``."""

    id: str  # ASCII, usable on the command line
    name: str  # display name, e.g. "标准4.0"
    bands: tuple[Band, ...] = ()
    formula: Callable[[float], float] | None = None
    estimate: bool = False  # the number only approximates what the body computes (WES)
    aliases: tuple[str, ...] = ()
    source: str = ""

    def points(self, score: float) -> float:
        x = min(max(float(score), 0.0), 100.0)
        if self.formula is not None:
            return self.formula(x)
        for band in self.bands:
            if x >= band.min:
                return band.points
        return 0.0

    @property
    def max_points(self) -> float:
        return self.points(100.0)


def _table(
    sid: str,
    name: str,
    mins: tuple[float, ...],
    points: tuple[float, ...],
    labels: tuple[str, ...] = (),
    **kw: object,
) -> Scale:
    assert len(mins) == len(points), sid
    labels = labels or ("",) * len(mins)
    bands = tuple(Band(m, p, lab) for m, p, lab in zip(mins, points, labels, strict=True))
    return Scale(id=sid, name=name, bands=bands, **kw)  # type: ignore[arg-type]


def pku_formula(x: float) -> float:
    """PKU (also BUAA, BUPT): 4 − 3·(100−x)²/1600 for 60 ≤ x ≤ 100, else 0."""
    return 4.0 - 3.0 * (100.0 - x) ** 2 / 1600.0 if x >= 60 else 0.0


def five_point_formula(x: float) -> float:
    """The usual 5-point rule: x/10 − 5 for x ≥ 60 (60 → 1.0, 100 → 5.0), else 0."""
    return x / 10.0 - 5.0 if x >= 60 else 0.0


_LETTERS_13 = ("A+", "A", "A-", "B+", "B", "B-", "C+", "C", "C-", "D+", "D", "D-", "F")

BUILTIN_SCALES: dict[str, Scale] = {
    s.id: s
    for s in (
        _table("standard4", "标准4.0", (90, 80, 70, 60, 0), (4.0, 3.0, 2.0, 1.0, 0.0), source="gpa.md §2.1"),
        _table("improved4_1", "改进4.0(1)", (85, 70, 60, 0), (4.0, 3.0, 2.0, 0.0), source="gpa.md §2.2"),
        _table("improved4_2", "改进4.0(2)", (85, 75, 60, 0), (4.0, 3.0, 2.0, 0.0), source="gpa.md §2.3"),
        _table(
            "pku4",
            "北大4.0",
            (90, 85, 82, 78, 75, 72, 68, 64, 60, 0),
            (4.0, 3.7, 3.3, 3.0, 2.7, 2.3, 2.0, 1.5, 1.0, 0.0),
            aliases=("北大4.0(表)",),
            source="gpa.md §2.4 (the widely circulated table)",
        ),
        Scale(
            "pku_formula",
            "北大/北航/北邮公式",
            formula=pku_formula,
            aliases=("北大公式", "北航公式", "北邮公式"),
            source="gpa.md §2.4: 4 − 3(100−x)²/1600",
        ),
        _table(
            "canada43",
            "加拿大4.3",
            (90, 85, 80, 75, 70, 65, 60, 0),
            (4.3, 4.0, 3.7, 3.3, 3.0, 2.7, 2.3, 0.0),
            source="gpa.md §2.5",
        ),
        _table(
            "ustc43",
            "中科大4.3",
            (95, 90, 85, 82, 78, 75, 72, 68, 65, 64, 61, 60, 0),
            (4.3, 4.0, 3.7, 3.3, 3.0, 2.7, 2.3, 2.0, 1.7, 1.5, 1.3, 1.0, 0.0),
            _LETTERS_13,
            source="gpa.md §2.6",
        ),
        _table(
            "sjtu43",
            "上海交大4.3",
            (95, 90, 85, 80, 75, 70, 67, 65, 62, 60, 0),
            (4.3, 4.0, 3.7, 3.3, 3.0, 2.7, 2.3, 2.0, 1.7, 1.0, 0.0),
            ("A+", "A", "A-", "B+", "B", "B-", "C+", "C", "C-", "D", "F"),
            source="gpa.md §2.7",
        ),
        _table(
            "wes",
            "WES (估算)",
            (85, 75, 60, 0),
            (4.0, 3.0, 2.0, 0.0),
            ("A", "B", "C", "F"),
            estimate=True,
            aliases=("WES",),
            source="gpa.md §2.8 (4-tier table; WES also re-weights credits, so this is an estimate)",
        ),
        Scale(
            "five_point",
            "5分制",
            formula=five_point_formula,
            aliases=("五分制", "5分制(x/10−5)"),
            source="gpa.md §2.9: x/10 − 5",
        ),
    )
}


def _norm(name: str) -> str:
    # NFKC folds full-width brackets and digits ("（１）" → "(1)"); casefold makes ids case-blind.
    return unicodedata.normalize("NFKC", name).strip().replace(" ", "").casefold()


def find_scale(name: str, custom: Mapping[str, Scale] | None = None) -> Scale:
    """Look a scale up by id or display name (or alias), custom scales included.

    Raises UnknownScaleError naming the valid choices.
    """
    candidates = [*BUILTIN_SCALES.values(), *(custom or {}).values()]
    wanted = _norm(name)
    for scale in candidates:
        if wanted in {_norm(scale.id), _norm(scale.name), *(_norm(a) for a in scale.aliases)}:
            return scale
    choices = ", ".join(f"{s.id} ({s.name})" for s in candidates)
    raise UnknownScaleError(f"unknown GPA scale {name!r}; choose one of: {choices}, or {ALL!r}")


def resolve_scales(name: str, custom: Mapping[str, Scale] | None = None) -> list[Scale]:
    """``name`` → the scales to show: one, or every built-in and custom scale for ``"all"``."""
    if _norm(name) == ALL:
        return [*BUILTIN_SCALES.values(), *(custom or {}).values()]
    return [find_scale(name, custom)]
