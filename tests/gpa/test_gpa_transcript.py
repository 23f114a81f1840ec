"""A transcript mixing pass/fail, level grades, a failed course retaken and make-ups, under each policy.

Expected values are worked by hand in the comments (标准4.0: 90/80/70/60 → 4/3/2/1).
"""

from __future__ import annotations

import pytest

from gradewatch.gpa import GpaSettings, compute, select
from gradewatch.gpa.compute import TermRow
from gradewatch.grades import Grade

T1, T2, T3 = "2022-2023-1", "2022-2023-2", "2023-2024-1"


def g(
    term: str, code: str, name: str, score: str, credits: float, attempt: str = "normal", nature: str = "必修"
):
    exam_type = {"normal": "正常考试", "makeup": "补考", "retake": "重修"}[attempt]
    return Grade(term, code, name, score, credits, exam_type, attempt, nature)  # type: ignore[arg-type]


TRANSCRIPT = [
    g(T1, "MATH1", "高数", "55", 5),  # failed
    g(T1, "MATH1", "高数", "72", 5, "makeup"),  # passed make-up → counts as 60
    g(T1, "ENG1", "英语", "良好", 3),  # level → 85
    g(T1, "PE1", "体育", "通过", 1),  # pass/fail: left out by default
    g(T1, "STAT1", "统计", "88", 2, nature="选修"),
    g(T2, "PHY1", "物理", "48", 4),  # failed
    g(T2, "PHY1", "物理", "52", 4, "makeup"),  # failed make-up: actual score
    g(T2, "POL1", "思修", "及格", 2),  # level → 65
    g(T2, "MIL1", "军训", "优秀", 0),  # 0 credits: left out
    g(T3, "PHY1", "物理", "81", 4, "retake"),  # retaken and passed
    g(T3, "STAT1", "统计", "79", 2, "retake", nature="选修"),  # retaken to improve, did worse
    g(T3, "LAB1", "实验", "不合格", 1),  # pass/fail fail: left out by default
]


def rows(report) -> list[tuple]:
    def r(row: TermRow) -> tuple:
        gpa = None if row.gpa is None else pytest.approx(row.gpa)
        avg = None if row.average is None else pytest.approx(row.average)
        return (row.term, row.credits, row.courses, gpa, avg)

    return [r(t) for t in report.terms] + [r(report.cumulative)]


def expect(*table: tuple) -> list[tuple]:
    return [
        (
            term,
            credits,
            n,
            None if gpa is None else pytest.approx(gpa),
            None if avg is None else pytest.approx(avg),
        )
        for term, credits, n, gpa, avg in table
    ]


# Counted per policy (credits @ score → points):
#   best:   MATH1 5@60→1 (T1), ENG1 3@85→3 (T1), STAT1 2@88→3 (T1), POL1 2@65→1 (T2), PHY1 4@81→3 (T3)
#   latest: MATH1 5@60→1 (T1), ENG1 3@85→3 (T1), POL1 2@65→1 (T2), PHY1 4@81→3 (T3), STAT1 2@79→2 (T3)
#   first:  MATH1 5@55→0 (T1), ENG1 3@85→3 (T1), STAT1 2@88→3 (T1), PHY1 4@48→0 (T2), POL1 2@65→1 (T2)
EXPECTED = {
    "best": expect(
        (T1, 10, 3, 20 / 10, 731 / 10),  # pts 5+9+6; scores 300+255+176
        (T2, 2, 1, 1.0, 65.0),
        (T3, 4, 1, 3.0, 81.0),
        (None, 16, 5, 34 / 16, 1185 / 16),  # 2.125, 74.0625
    ),
    "latest": expect(
        (T1, 8, 2, 14 / 8, 555 / 8),  # pts 5+9; scores 300+255
        (T2, 2, 1, 1.0, 65.0),
        (T3, 6, 2, 16 / 6, 482 / 6),  # pts 12+4; scores 324+158
        (None, 16, 5, 32 / 16, 1167 / 16),  # 2.0, 72.9375
    ),
    "first": expect(
        (T1, 10, 3, 15 / 10, 706 / 10),  # pts 0+9+6; scores 275+255+176
        (T2, 6, 2, 2 / 6, 322 / 6),  # pts 0+2; scores 192+130
        (T3, 0, 0, None, None),  # only superseded and pass/fail grades this term
        (None, 16, 5, 17 / 16, 1028 / 16),  # 1.0625, 64.25
    ),
}


@pytest.mark.parametrize("policy", ["best", "latest", "first"])
def test_retake_policies(policy: str) -> None:
    report = compute(TRANSCRIPT, "standard4", GpaSettings(retake_policy=policy))  # type: ignore[arg-type]
    assert rows(report) == EXPECTED[policy]


def test_hand_values_in_decimal() -> None:
    best = compute(TRANSCRIPT, "standard4").cumulative
    assert (round(best.gpa, 3), round(best.average, 2)) == (2.125, 74.06)


def test_best_on_another_scale() -> None:
    # 上海交大4.3: 60→1.0, 85→3.7, 88→3.7, 65→2.0, 81→3.3
    # 5·1.0 + 3·3.7 + 2·3.7 + 2·2.0 + 4·3.3 = 40.7 over 16 credits
    assert compute(TRANSCRIPT, "sjtu43").cumulative.gpa == pytest.approx(40.7 / 16)


def test_excluded_reasons() -> None:
    report = compute(TRANSCRIPT, "standard4")
    reasons = {(e.grade.course_code, e.grade.attempt, e.grade.term): e.reason for e in report.excluded}
    assert reasons == {
        ("PE1", "normal", T1): "通过/不通过制",
        ("MIL1", "normal", T2): "0 学分",
        ("LAB1", "normal", T3): "通过/不通过制",
        ("MATH1", "normal", T1): "同一课程另一次考试计入（best）",
        ("PHY1", "normal", T2): "同一课程另一次考试计入（best）",
        ("PHY1", "makeup", T2): "同一课程另一次考试计入（best）",
        ("STAT1", "retake", T3): "同一课程另一次考试计入（best）",
    }
    math = next(c for c in report.courses if c.course.grade.course_code == "MATH1").course
    assert math.attempts == 2 and "补考通过，按 60 计" in math.note


def test_makeup_counted_at_actual_score() -> None:
    # MATH1 make-up counts as 72 → 2 points: T1 pts 10+9+6 = 25 over 10; scores 360+255+176
    report = compute(TRANSCRIPT, "standard4", GpaSettings(makeup_pass_as=None))
    assert rows(report)[0] == expect((T1, 10, 3, 2.5, 79.1))[0]
    assert report.cumulative.gpa == pytest.approx(39 / 16)  # 25 + 2 + 12
    assert report.cumulative.average == pytest.approx(1245 / 16)  # 791 + 130 + 324


def test_makeup_pass_as_accepts_toml_spellings() -> None:
    assert GpaSettings(makeup_pass_as="actual").makeup_pass_as is None  # type: ignore[arg-type]
    assert GpaSettings(makeup_pass_as=False).makeup_pass_as is None  # type: ignore[arg-type]
    assert GpaSettings().makeup_pass_as == 60


def test_retake_pass_as_caps_retakes() -> None:
    # PHY1 retake 81 counts as 60 → 1 point; best is still the retake (60 > 52 > 48).
    report = compute(TRANSCRIPT, "standard4", GpaSettings(retake_pass_as=60))
    assert report.term(T3) == TermRow(T3, 4.0, 1.0, 60.0, 1)


def test_include_pass_fail() -> None:
    # PE1 通过 → 及格 (65, 1 point, T1); LAB1 不合格 → 不及格 (0, 0 points, T3)
    report = compute(TRANSCRIPT, "standard4", GpaSettings(include_pass_fail=True))
    assert rows(report) == expect(
        (T1, 11, 4, 21 / 11, 796 / 11),
        (T2, 2, 1, 1.0, 65.0),
        (T3, 5, 2, 12 / 5, 324 / 5),
        (None, 18, 7, 35 / 18, 1250 / 18),
    )


def test_pass_fail_scores_configurable() -> None:
    settings = GpaSettings(include_pass_fail=True, level_scores={"通过": 75, "不合格": 50})
    report = compute(
        [g(T1, "PE1", "体育", "通过", 1), g(T1, "LAB1", "实验", "不通过", 1)], "standard4", settings
    )
    assert report.cumulative == TermRow(None, 2.0, 1.0, 62.5, 2)  # 75→2, 50→0


def test_count_natures() -> None:
    # 必修 only: STAT1 (选修) leaves. T1 MATH1 + ENG1; cumulative 5·1 + 3·3 + 2·1 + 4·3 = 28 over 14
    report = compute(TRANSCRIPT, "standard4", GpaSettings(count_natures=["必修"]))
    assert rows(report) == expect(
        (T1, 8, 2, 14 / 8, 555 / 8),
        (T2, 2, 1, 1.0, 65.0),
        (T3, 4, 1, 3.0, 81.0),
        (None, 14, 4, 28 / 14, 1009 / 14),
    )
    assert any(e.reason == "课程性质不计入（选修）" for e in report.excluded)


def test_count_natures_matches_substrings_and_category_fallback() -> None:
    grades = [
        Grade(T1, "A", "甲", "90", 2, course_nature="专业必修课"),
        Grade(T1, "B", "乙", "70", 2, course_nature="", course_category="公共必修"),
        Grade(T1, "C", "丙", "60", 2, course_nature="任选"),
    ]
    report = compute(grades, "standard4", GpaSettings(count_natures=["必修"]))
    assert report.cumulative == TermRow(None, 4.0, 3.0, 80.0, 2)
    assert GpaSettings(count_natures=[]).count_natures is None  # empty list = everything counts


def test_level_points_override_per_scale() -> None:
    # 标准4.0 with 良好 = 3.3 points: ENG1 earns 3.3 instead of 3.0 → T1 5 + 9.9 + 6 = 20.9
    settings = GpaSettings(level_points={"标准4.0": {"良": 3.3, "及格": 1.0}})
    assert settings.level_points == {"standard4": {"良好": 3.3, "及格": 1.0}}
    report = compute(TRANSCRIPT, "standard4", settings)
    assert report.term(T1).gpa == pytest.approx(20.9 / 10)
    assert report.cumulative.gpa == pytest.approx(34.9 / 16)
    assert report.cumulative.average == pytest.approx(1185 / 16)  # 加权平均分 unchanged
    # other scales are not affected
    assert compute(TRANSCRIPT, "sjtu43", settings).cumulative.gpa == pytest.approx(40.7 / 16)


def test_level_words_and_short_forms() -> None:
    grades = [
        Grade(T1, "A", "甲", "优", 1),  # 95
        Grade(T1, "B", "乙", "良", 1),  # 85
        Grade(T1, "C", "丙", "中", 1),  # 75
        Grade(T1, "D", "丁", "及格", 1),  # 65
        Grade(T1, "E", "戊", "差", 1),  # 不及格 → 0
        Grade(T1, "F", "己", "缺考", 1),  # absent → 不及格 → 0
    ]
    report = compute(grades, "standard4")
    assert report.cumulative == TermRow(
        None, 6.0, pytest.approx(10 / 6), pytest.approx(320 / 6), 6
    )  # 4+3+2+1
    custom = GpaSettings(level_scores={"优": 90, "不及格": 50, "A": 93})
    assert custom.level_scores == {"优秀": 90, "良好": 85, "中等": 75, "及格": 65, "不及格": 50, "A": 93}
    report = compute([*grades, Grade(T1, "G", "庚", "A", 1)], "standard4", custom)
    assert report.cumulative.average == pytest.approx((90 + 85 + 75 + 65 + 50 + 50 + 93) / 7)


def test_no_result_and_unknown_words_are_left_out() -> None:
    grades = [
        Grade(T1, "A", "甲", "免修", 2),
        Grade(T1, "B", "乙", "缓考", 2),
        Grade(T1, "C", "丙", "A++", 2),  # not a letter grade ("A-" now is one: test_gpa_letters.py)
        Grade(T1, "D", "丁", "80", None),
        Grade(T1, "E", "戊", "80", 2),
    ]
    report = compute(grades, "standard4")
    assert [e.reason for e in report.excluded] == [
        "无成绩（免修）",
        "无成绩（缓考）",
        "无法识别的成绩 'A++'",
        "无学分",
    ]
    assert report.cumulative == TermRow(None, 2.0, 3.0, 80.0, 1)


def test_course_taken_every_term_counts_each_time() -> None:
    # 形势与政策 keeps one code across terms: all first attempts, all passed → not retakes.
    grades = [Grade(t, "SXZC", "形势与政策", s, 0.5) for t, s in ((T1, "90"), (T2, "80"), (T3, "70"))]
    report = compute(grades, "standard4")
    assert report.cumulative == TermRow(None, 1.5, pytest.approx(3.0), pytest.approx(80.0), 3)
    assert not report.excluded


def test_failed_normal_attempt_retaken_as_normal_is_a_retake() -> None:
    # The school lists the retake as an ordinary exam in a later term: still one course.
    grades = [Grade(T1, "X1", "化学", "40", 3), Grade(T2, "X1", "化学", "75", 3)]
    assert compute(grades, "standard4").cumulative == TermRow(None, 3.0, 2.0, 75.0, 1)
    first = compute(grades, "standard4", GpaSettings(retake_policy="first"))
    assert first.cumulative == TermRow(None, 3.0, 0.0, 40.0, 1)


def test_course_name_used_when_code_missing() -> None:
    grades = [Grade(T1, "", "化学", "40", 3), Grade(T2, "", "化学", "75", 3, "重修", "retake")]
    assert compute(grades, "standard4").cumulative == TermRow(None, 3.0, 2.0, 75.0, 1)


def test_same_record_twice_counts_once() -> None:
    grade = Grade(T1, "X1", "化学", "85", 3)
    assert compute([grade, grade], "standard4").cumulative == TermRow(None, 3.0, 3.0, 85.0, 1)


def test_empty_and_all_excluded() -> None:
    assert compute([], "standard4").cumulative == TermRow(None, 0.0, None, None, 0)
    report = compute([Grade(T1, "PE", "体育", "合格", 1)], "standard4")
    assert report.terms == (TermRow(T1, 0.0, None, None, 0),)


def test_selection_is_independent_of_scale() -> None:
    sel = select(TRANSCRIPT, GpaSettings())
    # ordered by term, then first attempts before make-ups before retakes
    assert [(c.grade.course_code, c.score) for c in sel.counted] == [
        ("ENG1", 85.0),
        ("STAT1", 88.0),
        ("MATH1", 60.0),
        ("POL1", 65.0),
        ("PHY1", 81.0),
    ]
    assert sel.terms == (T1, T2, T3)
