"""Compare a fresh grade table with the stored one. Pure: no I/O, no schools, no store."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from gradewatch.grades import Grade

# What makes a grade "changed"; row order, index columns, remarks and components do not. The status is
# compared but is no part of the key, so a real score after 缓考 is a change of the same grade.
_COMPARED = ("score", "status", "credits", "grade_point", "course_name")


@dataclass
class GradeDiff:
    new: list[Grade] = field(default_factory=list)
    changed: list[tuple[Grade, Grade]] = field(default_factory=list)  # (old, new)
    removed: list[Grade] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.new or self.changed or self.removed)

    @property
    def counts(self) -> tuple[int, int, int]:
        return len(self.new), len(self.changed), len(self.removed)


def keyed(grades: Iterable[Grade]) -> dict[str, Grade]:
    """Index by stable key; a key the school repeats gets a #2, #3 suffix in table order."""
    out: dict[str, Grade] = {}
    for g in grades:
        key = g.key
        n = 1
        while key in out:
            n += 1
            key = f"{g.key}#{n}"
        out[key] = g
    return out


def diff_grades(old: Mapping[str, Grade], new: Mapping[str, Grade]) -> GradeDiff:
    d = GradeDiff()
    for key, g in new.items():
        before = old.get(key)
        if before is None:
            d.new.append(g)
        elif any(getattr(before, f) != getattr(g, f) for f in _COMPARED):
            d.changed.append((before, g))
    d.removed = [g for key, g in old.items() if key not in new]
    return d
