"""Letter grades (A, A-, B+ …) as a per-school level table, and P/NP as pass/fail.

Default table: A 4.0/95 · A- 3.7/91 · B+ 3.3/88 · B 3.0/85 · B- 2.7/81 · C+ 2.3/78 · C 2.0/75 ·
C- 1.7/71 · D+ 1.3/68 · D 1.0/65 · F 0/0 (points on 4-point scales / 百分制 for 加权平均分).
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gradewatch.gpa import GpaSettings, compute, merge_settings
from gradewatch.grades import Grade

T1, T2 = "2024-2025-1", "2024-2025-2"

LETTERS = [
    Grade(T1, "L1", "Linear Algebra", "A", 3),
    Grade(T1, "L2", "Writing", "a−", 2),  # lower case and a typographic minus: A-
    Grade(T1, "L3", "Physics", "Ｂ＋", 4),  # full-width: B+
    Grade(T2, "L4", "Economics", "B-", 3),
    Grade(T2, "L5", "Art", "C", 2),
    Grade(T2, "L6", "Chemistry", "F", 1),
    Grade(T2, "L7", "Seminar", "P", 1),  # pass/fail: left out by default
    Grade(T2, "L8", "Lab safety", "NP", 1),
]


def test_letter_transcript_standard4_and_average() -> None:
    # 标准4.0 uses the table's points: 4.0·3 + 3.7·2 + 3.3·4 + 2.7·3 + 2.0·2 + 0·1 = 44.7 over 15 = 2.98
    # 加权平均分: 95·3 + 91·2 + 88·4 + 81·3 + 75·2 + 0·1 = 1212 over 15 = 80.8
    report = compute(LETTERS, "standard4")
    c = report.cumulative
    assert (c.credits, c.courses) == (15.0, 6)
    assert (c.gpa, c.average) == (pytest.approx(2.98), pytest.approx(80.8))
    # per term: T1 (12 + 7.4 + 13.2) / 9; T2 (8.1 + 4 + 0) / 6
    assert report.term(T1).gpa == pytest.approx(32.6 / 9)
    assert report.term(T2).gpa == pytest.approx(12.1 / 6)
    assert [e.reason for e in report.excluded] == ["通过/不通过制", "通过/不通过制"]


def test_letters_on_five_point_go_through_their_score() -> None:
    # 5分制 reaches 5, so a letter's score goes through x/10 − 5:
    # 4.5·3 + 4.1·2 + 3.8·4 + 3.1·3 + 2.5·2 + 0·1 = 51.2 over 15
    assert compute(LETTERS, "five_point").cumulative.gpa == pytest.approx(51.2 / 15)


def test_letters_on_a_43_scale_use_the_table() -> None:
    # 上海交大4.3 tops at 4.3 (< 5): the table points count there too, the same 2.98.
    assert compute(LETTERS, "sjtu43").cumulative.gpa == pytest.approx(2.98)


def test_school_letter_table() -> None:
    # The school maps A- to 90 and gives A+ 4.3 points (score stays the default 98); other rows default.
    settings = merge_settings({"letter_grades": {"A-": {"score": 90}, "a+": {"points": 4.3}}})
    assert settings.letter_grades["A-"].points == 3.7 and settings.letter_grades["A-"].score == 90
    grades = [*LETTERS, Grade(T2, "L9", "Thesis", "A+", 2)]
    # 标准4.0: 44.7 + 4.3·2 = 53.3 over 17; 加权平均分: 1212 − 2 + 98·2 = 1406 over 17
    c = compute(grades, "standard4", settings).cumulative
    assert (c.credits, c.gpa, c.average) == (17.0, pytest.approx(53.3 / 17), pytest.approx(1406 / 17))


def test_pass_fail_letters_included() -> None:
    # include_pass_fail: P → 及格 (65, 1.0), NP → 不及格 (0): 44.7 + 1 + 0 over 17
    c = compute(LETTERS, "standard4", GpaSettings(include_pass_fail=True)).cumulative
    assert (c.credits, c.gpa) == (17.0, pytest.approx(45.7 / 17))


def test_level_points_override_a_letter_on_one_scale() -> None:
    # level_points on 5分制: A = 5.0 instead of 4.5 → 51.2 + 0.5·3 = 52.7 over 15
    settings = GpaSettings(level_points={"five_point": {"A": 5.0}})
    assert compute(LETTERS, "five_point", settings).cumulative.gpa == pytest.approx(52.7 / 15)


def test_letter_passed_at_makeup_counts_as_60() -> None:
    # 补考 B (85) passes: counts as 60 (1.0 on 标准4.0) under makeup_pass_as, like a numeric make-up.
    grades = [Grade(T1, "L1", "Algebra", "F", 3), Grade(T1, "L1", "Algebra", "B", 3, "补考", "makeup")]
    c = compute(grades, "standard4").cumulative
    assert (c.credits, c.gpa, c.average) == (3.0, pytest.approx(1.0), pytest.approx(60.0))


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"优秀": {"points": 4, "score": 95}}, "is a pass/fail or level word"),
        ({"A": {"points": 6}}, "less than or equal to 5"),
        ({"E": {"points": 0}}, "score"),  # a new letter needs both numbers
    ],
)
def test_bad_letter_table(table: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        merge_settings({"letter_grades": table})
