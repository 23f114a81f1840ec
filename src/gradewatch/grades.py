"""The normalised grade record every school adapter produces and every other part consumes."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Literal

Attempt = Literal["normal", "makeup", "retake"]

_MAKEUP_WORDS = ("补考", "缓考补", "清考")
_RETAKE_WORDS = ("重修", "重考", "重学")


def attempt_from_text(text: str) -> Attempt:
    """Map a school's exam-type wording (考试性质) onto our three attempt kinds."""
    t = (text or "").strip()
    if any(w in t for w in _RETAKE_WORDS):
        return "retake"
    if any(w in t for w in _MAKEUP_WORDS):
        return "makeup"
    return "normal"


@dataclass(frozen=True)
class Grade:
    """One course result as shown by the school, normalised.

    ``score`` keeps the school's text (``"95"``, ``"优秀"``, ``"合格"``); the GPA module interprets it.
    ``key`` is stable across fetches: term + course code + exam type.
    """

    term: str  # academic year and term, e.g. "2023-2024-1"
    course_code: str
    course_name: str
    score: str
    credits: float | None = None
    exam_type: str = "正常考试"  # the school's own wording
    attempt: Attempt = "normal"
    course_nature: str = ""  # 课程性质, e.g. 必修 / 选修
    course_category: str = ""  # 课程类别
    grade_point: float | None = None  # as reported by the school, if any

    @property
    def key(self) -> str:
        return f"{self.term}|{self.course_code}|{self.exam_type}"

    @property
    def numeric_score(self) -> float | None:
        """The score as a number when the school gave one (not a level or pass/fail word)."""
        if re.fullmatch(r"-?\d+(\.\d+)?", self.score.strip()):
            return float(self.score)
        return None

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Grade:
        fields = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in fields})  # type: ignore[arg-type]
