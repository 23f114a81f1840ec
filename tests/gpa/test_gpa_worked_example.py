"""The worked example of docs/gpa.md §2.12 under every scale, with the reference's own numbers."""

from __future__ import annotations

import pytest

from gradewatch.gpa import BUILTIN_SCALES, compute, compute_many
from gradewatch.grades import Grade

TERM = "2023-2024-1"
TRANSCRIPT = [
    Grade(TERM, "MATH101", "高数", "92", 5.0),
    Grade(TERM, "ENG101", "英语", "84", 3.0),
    Grade(TERM, "MATH102", "线代", "77", 3.0),
    Grade(TERM, "PHY101", "物理", "66", 4.0),
    Grade(TERM, "POL101", "思政", "88", 2.0),
    Grade(TERM, "PE101", "体育", "通过", 1.0),
]

# gpa.md §2.12, to 3 decimals.
EXPECTED = {
    "standard4": 2.647,
    "improved4_1": 3.176,
    "improved4_2": 3.176,
    "pku4": 3.024,
    "canada43": 3.606,
    "ustc43": 3.071,
    "sjtu43": 3.194,
    "wes": 3.176,
    "pku_formula": 3.163,
    "five_point": 3.135,
}

# The same by hand: Σ points·credits over 17 credits (高数5 英语3 线代3 物理4 思政2).
SUMS = {
    "standard4": 45.0,  # 4·5 + 3·3 + 2·3 + 1·4 + 3·2
    "improved4_1": 54.0,  # 4·5 + 3·3 + 3·3 + 2·4 + 4·2
    "improved4_2": 54.0,
    "pku4": 51.4,  # 4·5 + 3.3·3 + 2.7·3 + 1.5·4 + 3.7·2
    "canada43": 61.3,  # 4.3·5 + 3.7·3 + 3.3·3 + 2.7·4 + 4.0·2
    "ustc43": 52.2,  # 4.0·5 + 3.3·3 + 2.7·3 + 1.7·4 + 3.7·2
    "sjtu43": 54.3,  # 4.0·5 + 3.3·3 + 3.0·3 + 2.0·4 + 3.7·2
    "wes": 54.0,
    "pku_formula": 53.774375,  # 3.88·5 + 3.52·3 + 3.008125·3 + 1.8325·4 + 3.73·2
    "five_point": 53.3,  # 4.2·5 + 3.4·3 + 2.7·3 + 1.6·4 + 3.8·2
}


def test_every_scale_is_covered() -> None:
    assert set(EXPECTED) == set(BUILTIN_SCALES)


@pytest.mark.parametrize("scale_id", list(EXPECTED))
def test_worked_example(scale_id: str) -> None:
    report = compute(TRANSCRIPT, scale_id)
    cum = report.cumulative
    assert cum.credits == 17
    assert cum.courses == 5
    assert round(cum.average, 2) == 81.35  # 1383 / 17
    assert cum.average == pytest.approx(1383 / 17)
    assert round(cum.gpa, 3) == EXPECTED[scale_id]
    assert cum.gpa == pytest.approx(SUMS[scale_id] / 17)
    assert [e.grade.course_name for e in report.excluded] == ["体育"]
    assert report.excluded[0].reason == "通过/不通过制"
    (row,) = report.terms
    assert (row.term, row.credits, row.gpa) == (TERM, 17, cum.gpa)


def test_compute_many_matches_compute() -> None:
    reports = compute_many(TRANSCRIPT, list(EXPECTED))
    assert {r.scale.id: round(r.cumulative.gpa, 3) for r in reports} == EXPECTED


def test_display_name_works_as_scale_argument() -> None:
    assert round(compute(TRANSCRIPT, "上海交大4.3").cumulative.gpa, 3) == 3.194
