"""Band edges of every table scale, formula scales at several points, lookup by id/name.

Every expected value below was read by hand from the tables in docs/gpa.md (the shared reference),
not produced by the code under test.
"""

from __future__ import annotations

import pytest

from gradewatch.gpa import BUILTIN_SCALES, UnknownScaleError, find_scale, resolve_scales
from gradewatch.gpa.compute import compute
from gradewatch.gpa.settings import GpaSettings
from gradewatch.grades import Grade

TABLE_SCALES = ("standard4", "improved4_1", "improved4_2", "pku4", "canada43", "ustc43", "sjtu43", "wes")

# score: standard4, improved4_1, improved4_2, pku4, canada43, ustc43, sjtu43, wes
EDGES: dict[int, tuple[float, ...]] = {
    100: (4.0, 4.0, 4.0, 4.0, 4.3, 4.3, 4.3, 4.0),
    95: (4.0, 4.0, 4.0, 4.0, 4.3, 4.3, 4.3, 4.0),
    94: (4.0, 4.0, 4.0, 4.0, 4.3, 4.0, 4.0, 4.0),
    90: (4.0, 4.0, 4.0, 4.0, 4.3, 4.0, 4.0, 4.0),
    89: (3.0, 4.0, 4.0, 3.7, 4.0, 3.7, 3.7, 4.0),
    85: (3.0, 4.0, 4.0, 3.7, 4.0, 3.7, 3.7, 4.0),
    84: (3.0, 3.0, 3.0, 3.3, 3.7, 3.3, 3.3, 3.0),
    82: (3.0, 3.0, 3.0, 3.3, 3.7, 3.3, 3.3, 3.0),
    81: (3.0, 3.0, 3.0, 3.0, 3.7, 3.0, 3.3, 3.0),
    80: (3.0, 3.0, 3.0, 3.0, 3.7, 3.0, 3.3, 3.0),
    79: (2.0, 3.0, 3.0, 3.0, 3.3, 3.0, 3.0, 3.0),
    78: (2.0, 3.0, 3.0, 3.0, 3.3, 3.0, 3.0, 3.0),
    77: (2.0, 3.0, 3.0, 2.7, 3.3, 2.7, 3.0, 3.0),
    75: (2.0, 3.0, 3.0, 2.7, 3.3, 2.7, 3.0, 3.0),
    74: (2.0, 3.0, 2.0, 2.3, 3.0, 2.3, 2.7, 2.0),
    72: (2.0, 3.0, 2.0, 2.3, 3.0, 2.3, 2.7, 2.0),
    71: (2.0, 3.0, 2.0, 2.0, 3.0, 2.0, 2.7, 2.0),
    70: (2.0, 3.0, 2.0, 2.0, 3.0, 2.0, 2.7, 2.0),
    69: (1.0, 2.0, 2.0, 2.0, 2.7, 2.0, 2.3, 2.0),
    68: (1.0, 2.0, 2.0, 2.0, 2.7, 2.0, 2.3, 2.0),
    67: (1.0, 2.0, 2.0, 1.5, 2.7, 1.7, 2.3, 2.0),
    66: (1.0, 2.0, 2.0, 1.5, 2.7, 1.7, 2.0, 2.0),
    65: (1.0, 2.0, 2.0, 1.5, 2.7, 1.7, 2.0, 2.0),
    64: (1.0, 2.0, 2.0, 1.5, 2.3, 1.5, 1.7, 2.0),
    63: (1.0, 2.0, 2.0, 1.0, 2.3, 1.3, 1.7, 2.0),
    62: (1.0, 2.0, 2.0, 1.0, 2.3, 1.3, 1.7, 2.0),
    61: (1.0, 2.0, 2.0, 1.0, 2.3, 1.3, 1.0, 2.0),
    60: (1.0, 2.0, 2.0, 1.0, 2.3, 1.0, 1.0, 2.0),
    59: (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
    0: (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
}

CASES = [(sid, score, row[i]) for score, row in EDGES.items() for i, sid in enumerate(TABLE_SCALES)]


@pytest.mark.parametrize(("scale_id", "score", "expected"), CASES)
def test_band_edges(scale_id: str, score: int, expected: float) -> None:
    assert BUILTIN_SCALES[scale_id].points(score) == expected


@pytest.mark.parametrize(("scale_id", "score", "expected"), CASES)
def test_band_edges_through_compute(scale_id: str, score: int, expected: float) -> None:
    report = compute([Grade("2023-2024-1", "C1", "课程", str(score), 2.0)], scale_id)
    assert report.cumulative.gpa == pytest.approx(expected)


# 4 − 3·(100−x)²/1600 for x ≥ 60, else 0; worked by hand.
PKU_FORMULA = {
    100: 4.0,
    95: 3.953125,  # 3·25/1600 = 0.046875
    90: 3.8125,  # 3·100/1600 = 0.1875
    85: 3.578125,  # 3·225/1600 = 0.421875
    84.5: 3.54953125,  # 3·240.25/1600 = 0.45046875
    80: 3.25,  # 3·400/1600 = 0.75
    70: 2.3125,  # 3·900/1600 = 1.6875
    60: 1.0,  # 3·1600/1600 = 3
    59.9: 0.0,
    59: 0.0,
    0: 0.0,
}
# x/10 − 5 for x ≥ 60, else 0.
FIVE_POINT = {100: 5.0, 95: 4.5, 85: 3.5, 72.5: 2.25, 61: 1.1, 60: 1.0, 59.5: 0.0, 59: 0.0, 0: 0.0}


@pytest.mark.parametrize(("score", "expected"), PKU_FORMULA.items())
def test_pku_formula(score: float, expected: float) -> None:
    assert BUILTIN_SCALES["pku_formula"].points(score) == pytest.approx(expected)


@pytest.mark.parametrize(("score", "expected"), FIVE_POINT.items())
def test_five_point(score: float, expected: float) -> None:
    assert BUILTIN_SCALES["five_point"].points(score) == pytest.approx(expected)


def test_scores_outside_0_100_are_clamped() -> None:
    assert BUILTIN_SCALES["five_point"].points(105) == pytest.approx(5.0)
    assert BUILTIN_SCALES["pku_formula"].points(120) == pytest.approx(4.0)
    assert BUILTIN_SCALES["standard4"].points(-3) == 0.0


def test_decimal_scores_use_lower_bounds_without_rounding() -> None:
    # gpa.md §2.11: 84.5 under 中科大 is 3.3 when not rounded, 3.7 when rounded half-up.
    grade = Grade("t", "C1", "课程", "84.5", 1.0)
    assert compute([grade], "ustc43").cumulative.gpa == pytest.approx(3.3)
    assert compute([grade], "ustc43", GpaSettings(round_scores=True)).cumulative.gpa == pytest.approx(3.7)
    assert BUILTIN_SCALES["standard4"].points(89.99) == 3.0
    assert BUILTIN_SCALES["standard4"].points(59.5) == 0.0
    rounded = compute([Grade("t", "C1", "课程", "59.5", 1.0)], "standard4", GpaSettings(round_scores=True))
    assert rounded.cumulative.gpa == pytest.approx(1.0)
    assert rounded.cumulative.average == pytest.approx(59.5)  # 加权平均分 keeps the real score


def test_ids_names_and_max_points() -> None:
    expected = {
        "standard4": ("标准4.0", 4.0),
        "improved4_1": ("改进4.0(1)", 4.0),
        "improved4_2": ("改进4.0(2)", 4.0),
        "pku4": ("北大4.0", 4.0),
        "pku_formula": ("北大/北航/北邮公式", 4.0),
        "canada43": ("加拿大4.3", 4.3),
        "ustc43": ("中科大4.3", 4.3),
        "sjtu43": ("上海交大4.3", 4.3),
        "wes": ("WES (估算)", 4.0),
        "five_point": ("5分制", 5.0),
    }
    assert {sid: (s.name, s.max_points) for sid, s in BUILTIN_SCALES.items()} == expected
    assert all(sid.isascii() for sid in BUILTIN_SCALES)
    assert BUILTIN_SCALES["wes"].estimate and not BUILTIN_SCALES["standard4"].estimate


@pytest.mark.parametrize(
    ("name", "sid"),
    [
        ("standard4", "standard4"),
        ("STANDARD4", "standard4"),
        ("标准4.0", "standard4"),
        ("改进4.0(1)", "improved4_1"),
        ("改进4.0（2）", "improved4_2"),  # full-width brackets
        ("北大4.0", "pku4"),
        ("北大公式", "pku_formula"),
        ("北大/北航/北邮公式", "pku_formula"),
        ("WES", "wes"),
        ("WES (估算)", "wes"),
        ("五分制", "five_point"),
        (" 上海交大4.3 ", "sjtu43"),
    ],
)
def test_find_scale_by_id_or_name(name: str, sid: str) -> None:
    assert find_scale(name).id == sid


def test_unknown_scale_lists_choices() -> None:
    with pytest.raises(UnknownScaleError, match="unknown GPA scale 'gpa5'.*standard4 \\(标准4.0\\)"):
        find_scale("gpa5")


def test_resolve_all() -> None:
    assert [s.id for s in resolve_scales("all")] == list(BUILTIN_SCALES)
    assert [s.id for s in resolve_scales("ALL")] == list(BUILTIN_SCALES)
    assert [s.id for s in resolve_scales("pku4")] == ["pku4"]
