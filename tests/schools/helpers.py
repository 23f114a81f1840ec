"""Small helpers shared by the adapter tests."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from gradewatch.grades import Grade
from gradewatch.schools.base import Credentials


def creds(sim: Any, password: str | None = None) -> Credentials:
    return Credentials(sim.username, sim.password if password is None else password)


def same_grades(got: list[Grade], published: list[Grade]) -> bool:
    """Everything the adapter read is what was published, but for the grade point the school adds."""
    return sorted((replace(g, grade_point=None) for g in got), key=lambda g: g.key) == sorted(
        published, key=lambda g: g.key
    )
