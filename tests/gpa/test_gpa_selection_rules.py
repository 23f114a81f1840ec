"""Issue 18's two transcripts: a make-up/retake recorded as 合格/通过, and a series course with one
failed term. Every expected value is worked by hand in the comments.

标准4.0: 90/80/70/60 → 4/3/2/1, below 0. 5分制: x/10 − 5 for x ≥ 60 (60 → 1.0, 80 → 3.0), below 0.
"""

from __future__ import annotations

import pytest

from gradewatch.gpa import GpaSettings, compute, compute_many, reports_to_dict
from gradewatch.grades import Grade

T1, T2, T3, T4 = "2022-2023-1", "2022-2023-2", "2023-2024-1", "2023-2024-2"
POLICIES = ("best", "latest", "first")


def g(term: str, code: str, name: str, score: str, credits: float, attempt: str = "normal") -> Grade:
    exam_type = {"normal": "正常考试", "makeup": "补考", "retake": "重修"}[attempt]
    return Grade(term, code, name, score, credits, exam_type, attempt)  # type: ignore[arg-type]


def cumulative(grades: list[Grade], scale: str, **settings: object) -> tuple[float, float | None]:
    row = compute(grades, scale, GpaSettings(**settings)).cumulative  # type: ignore[arg-type]
    return row.credits, row.gpa


# ---- 1. A passed make-up / retake recorded as a pass word -------------------------------------
PASS_WORDS = [
    g(T1, "MATH", "高等数学", "55", 5),
    g(T1, "MATH", "高等数学", "合格", 5, "makeup"),
    g(T1, "PHYS", "大学物理", "50", 4),
    g(T3, "PHYS", "大学物理", "通过", 4, "retake"),  # next year
    g(T1, "CPRG", "C语言", "80", 3),
]

# best / latest: 高数 make-up 合格 counts as 60 (makeup_pass_as) → 1.0 × 5; 大学物理's retake 通过 has
# no score under retake_pass_as = "actual" (the default) and replaces the fail, so the course and its
# 4 credits drop out; C语言 80 → 3.0 × 3. GPA (5 + 9) / 8 = 1.75 on both scales (60 → 1, 80 → 3).
# first: the first attempts only: 55 → 0 × 5, 50 → 0 × 4, 80 → 3 × 3 = 9 / 12 = 0.75 on both scales.
PASS_WORD_EXPECTED = {"best": (8.0, 1.75), "latest": (8.0, 1.75), "first": (12.0, 0.75)}


@pytest.mark.parametrize("scale", ["standard4", "five_point"])
@pytest.mark.parametrize("policy", POLICIES)
def test_pass_word_makeup_and_retake(policy: str, scale: str) -> None:
    credits, gpa = cumulative(PASS_WORDS, scale, retake_policy=policy)
    want_credits, want_gpa = PASS_WORD_EXPECTED[policy]
    assert (credits, gpa) == (want_credits, pytest.approx(want_gpa))


def test_pass_word_weighted_average() -> None:
    assert compute(PASS_WORDS, "standard4").cumulative.average == pytest.approx((5 * 60 + 3 * 80) / 8)  # 67.5
    first = compute(PASS_WORDS, "standard4", GpaSettings(retake_policy="first")).cumulative
    assert first.average == pytest.approx((5 * 55 + 4 * 50 + 3 * 80) / 12)  # 59.58


def test_pass_word_reasons() -> None:
    report = compute(PASS_WORDS, "standard4")
    reasons = {(e.grade.course_code, e.grade.attempt): e.reason for e in report.excluded}
    assert reasons == {
        ("MATH", "normal"): "同一课程另一次考试计入（best）",
        ("PHYS", "normal"): "被重修通过取代，本课程不计入（best）",
        ("PHYS", "retake"): "重修通过，通过/不通过制不计绩点，本课程不计入（best）",
    }
    math = next(c.course for c in report.courses if c.course.grade.course_code == "MATH")
    assert (math.score, math.attempts) == (60.0, 2)
    assert math.note == "补考通过（合格），按 60 计; 2 次考试，按 best 取"
    # the JSON output carries the same reasons
    listed = {(e["course_code"], e["reason"]) for e in reports_to_dict([report])["excluded"]}
    assert ("PHYS", "被重修通过取代，本课程不计入（best）") in listed


def test_pass_word_makeup_excluded_when_the_school_says_so() -> None:
    # makeup_pass_as = "actual": the make-up's actual result is 合格, which carries no points, so
    # 高等数学 leaves with its 5 credits like 大学物理: only C语言 counts, 3.0 over 3.
    assert cumulative(PASS_WORDS, "standard4", makeup_pass_as="actual") == (3.0, pytest.approx(3.0))
    report = compute(PASS_WORDS, "standard4", GpaSettings(makeup_pass_as="actual"))
    assert any(e.reason == "被补考合格取代，本课程不计入（best）" for e in report.excluded)


def test_pass_word_retake_as_60() -> None:
    # retake_pass_as = 60: 大学物理's 通过 counts as 60 → 1.0 × 4: (5 + 4 + 9) / 12 = 1.5; its term is T3.
    report = compute(PASS_WORDS, "standard4", GpaSettings(retake_pass_as=60))
    assert (report.cumulative.credits, report.cumulative.gpa) == (12.0, pytest.approx(1.5))
    assert (report.term(T3).credits, report.term(T3).gpa) == (4.0, pytest.approx(1.0))


def test_pass_word_retake_with_pass_fail_included() -> None:
    # include_pass_fail: the retake's 通过 counts as 及格 (65): 标准4.0 1.0 × 4 → (5 + 4 + 9) / 12 = 1.5;
    # 5分制 65 → 1.5 × 4 → (5 + 6 + 9) / 12.
    assert cumulative(PASS_WORDS, "standard4", include_pass_fail=True) == (12.0, pytest.approx(1.5))
    assert cumulative(PASS_WORDS, "five_point", include_pass_fail=True) == (12.0, pytest.approx(20 / 12))


def test_failed_makeup_recorded_as_fail_word() -> None:
    # 补考 不合格 is a failed attempt: best keeps the 55 (0 points); latest takes the fail (0 points).
    grades = [g(T1, "MATH", "高等数学", "55", 5), g(T1, "MATH", "高等数学", "不合格", 5, "makeup")]
    for policy in POLICIES:
        report = compute(grades, "standard4", GpaSettings(retake_policy=policy))  # type: ignore[arg-type]
        assert (report.cumulative.credits, report.cumulative.gpa) == (5.0, 0.0)
    latest = compute(grades, "standard4", GpaSettings(retake_policy="latest"))
    assert latest.courses[0].course.note.startswith("补考不合格，按不及格计")


# ---- 2. A series course (one code every term) with one failed term ----------------------------
SERIES = [
    g(T1, "SXZC", "形势与政策", "85", 0.5),
    g(T2, "SXZC", "形势与政策", "55", 0.5),  # failed this term, never retaken
    g(T3, "SXZC", "形势与政策", "88", 0.5),
    g(T4, "SXZC", "形势与政策", "90", 0.5),
    g(T1, "HIST", "中国近代史", "75", 3),
]

# Every term is its own course under every policy (nothing to choose between).
# 标准4.0: (3 + 0 + 3 + 4) × 0.5 + 2 × 3 = 11 over 5 = 2.2.
# 5分制:  (3.5 + 0 + 3.8 + 4.0) × 0.5 + 2.5 × 3 = 13.15 over 5 = 2.63.
SERIES_EXPECTED = {"standard4": 2.2, "five_point": 2.63}


@pytest.mark.parametrize("scale", ["standard4", "five_point"])
@pytest.mark.parametrize("policy", POLICIES)
def test_series_course_with_a_failed_term(policy: str, scale: str) -> None:
    report = compute(SERIES, scale, GpaSettings(retake_policy=policy))  # type: ignore[arg-type]
    assert (report.cumulative.credits, report.cumulative.courses) == (5.0, 5)
    assert report.cumulative.gpa == pytest.approx(SERIES_EXPECTED[scale])
    assert report.cumulative.average == pytest.approx((85 + 55 + 88 + 90) * 0.5 / 5 + 75 * 3 / 5)  # 76.8
    assert [(r.term, r.credits) for r in report.terms] == [(T1, 3.5), (T2, 0.5), (T3, 0.5), (T4, 0.5)]
    assert not report.excluded


# A true retake of the failed term replaces that term only: 重修 80 in T3 stands for T2's 55.
# best / latest: T2's sitting counts 80 (shown under T3, the attempt that counts):
#   标准4.0 (3 + 3 + 3 + 4) × 0.5 + 6 = 12.5 / 5 = 2.5;  5分制 (3.5 + 3.0 + 3.8 + 4.0) × 0.5 + 7.5 = 14.65 / 5 = 2.93.
# first: T2's 55 counts, as without the retake: 2.2 and 2.63.
SERIES_RETAKE_EXPECTED = {
    ("best", "standard4"): 2.5,
    ("latest", "standard4"): 2.5,
    ("first", "standard4"): 2.2,
    ("best", "five_point"): 2.93,
    ("latest", "five_point"): 2.93,
    ("first", "five_point"): 2.63,
}


@pytest.mark.parametrize("scale", ["standard4", "five_point"])
@pytest.mark.parametrize("policy", POLICIES)
def test_series_course_failed_term_retaken(policy: str, scale: str) -> None:
    grades = [*SERIES, g(T3, "SXZC", "形势与政策", "80", 0.5, "retake")]
    report = compute(grades, scale, GpaSettings(retake_policy=policy))  # type: ignore[arg-type]
    assert (report.cumulative.credits, report.cumulative.courses) == (5.0, 5)
    assert report.cumulative.gpa == pytest.approx(SERIES_RETAKE_EXPECTED[(policy, scale)])
    [left_out] = report.excluded
    replaced = ("normal", T2) if policy != "first" else ("retake", T3)
    assert (left_out.grade.attempt, left_out.grade.term) == replaced
    assert left_out.reason == f"同一课程另一次考试计入（{policy}）"


def test_series_detection_needs_two_passed_terms() -> None:
    # One pass after a fail, both as 正常考试, is still a retake (one course), as before.
    grades = [g(T1, "X1", "化学", "40", 3), g(T2, "X1", "化学", "75", 3)]
    assert cumulative(grades, "standard4") == (3.0, pytest.approx(2.0))


def test_selection_shared_across_scales() -> None:
    # compute_many interprets once: same credits and 加权平均分 on both scales, GPAs as above.
    std, five = compute_many(SERIES, ["standard4", "five_point"])
    assert std.cumulative.credits == five.cumulative.credits == 5.0
    assert (std.cumulative.gpa, five.cumulative.gpa) == (pytest.approx(2.2), pytest.approx(2.63))
