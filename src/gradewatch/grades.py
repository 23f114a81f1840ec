"""The normalised grade record every school adapter produces and every other part consumes."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
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


#: What a mark that is not a score means (``Grade.status``), and how the student reads it.
STATUS_LABELS: dict[str, str] = {
    "withdrawn": "退课",
    "deferred": "缓考",
    "exempt": "免修",
    "cancelled": "取消",
    "misconduct": "作弊/违纪",
    "held": "待评教后查看",
}

# Words of a school's score cell or remark that mean one of the statuses, tried in order.
_STATUS_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("withdrawn", ("中期退课", "退课", "退选")),
    ("deferred", ("缓考",)),
    ("exempt", ("免修", "免考", "免听")),
    ("cancelled", ("取消",)),
    ("misconduct", ("作弊", "违纪", "舞弊", "违规")),
    ("held", ("评教",)),
)
# A score cell that is only one of these letters is a status too (W = withdrawn, as ZF shows it).
_STATUS_LETTERS = {"W": "withdrawn"}


def status_from_text(score: str, remark: str = "") -> str:
    """The status a non-score mark means (``""`` for a real score): the score cell first, then the remark.

    ``缓考补`` (a make-up after a deferral) is an exam type, not a status, so a numeric score always wins.
    """
    cell = (score or "").strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", cell):
        return ""
    if cell.upper() in _STATUS_LETTERS:
        return _STATUS_LETTERS[cell.upper()]
    for text in (cell, (remark or "").strip()):
        for status, words in _STATUS_WORDS:
            if any(w in text for w in words):
                return status
    return ""


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
    #: A mark that is not a score (see STATUS_LABELS); ``score`` then keeps the school's text ("W", "缓考").
    status: str = ""
    #: Component scores the school shows beside the total (平时成绩, 期中成绩, 实验成绩, 期末成绩 …).
    components: dict[str, str] = field(default_factory=dict, hash=False)

    @property
    def key(self) -> str:
        return f"{self.term}|{self.course_code}|{self.exam_type}"

    @property
    def status_label(self) -> str:
        """How the student reads the status (``缓考``), empty for a real score."""
        return STATUS_LABELS.get(self.status, self.status) if self.status else ""

    @property
    def numeric_score(self) -> float | None:
        """The score as a number when the school gave one (not a level or pass/fail word)."""
        if self.status:
            return None
        if re.fullmatch(r"-?\d+(\.\d+)?", self.score.strip()):
            return float(self.score)
        return None

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Grade:
        """From stored data; fields added later (status, components) are optional, unknown ones ignored."""
        known = set(cls.__dataclass_fields__)
        values = {k: v for k, v in data.items() if k in known}
        if values.get("status") is None:
            values.pop("status", None)
        if not isinstance(values.get("components"), dict):
            values.pop("components", None)
        return cls(**values)  # type: ignore[arg-type]
