"""GpaSettings and custom scales: valid tables work, invalid ones fail naming the problem and the key."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from pydantic import ValidationError

from gradewatch.gpa import GpaSettings, compute, merge_settings, resolve_scales
from gradewatch.grades import Grade

NWPU_TOML = """
scale = "nwpu41"
retake_policy = "latest"
makeup_pass_as = "actual"
count_natures = ["必修"]

[level_scores]  # non-ASCII keys must be quoted in TOML
"优" = 95
"不及格" = 50

[level_points.nwpu41]
"优秀" = 4.0
"良好" = 3.0

[custom_scales.nwpu41]
name = "西工大4.1"
bands = [
  {min = 95, points = 4.1}, {min = 90, points = 3.9}, {min = 85, points = 3.7}, {min = 81, points = 3.3},
  {min = 78, points = 3.0}, {min = 75, points = 2.7}, {min = 72, points = 2.3}, {min = 68, points = 2.0},
  {min = 64, points = 1.7}, {min = 60, points = 1.3}, {min = 0, points = 0},
]

[custom_scales]
simple = [{min = 90, points = 4}, {min = 80, points = 3}, {min = 60, points = 2}, {min = 0, points = 0}]
"""


def test_defaults() -> None:
    s = GpaSettings()
    assert s.scale == "standard4"
    assert s.level_scores == {"优秀": 95, "良好": 85, "中等": 75, "及格": 65, "不及格": 0}
    assert (s.include_pass_fail, s.retake_policy, s.makeup_pass_as, s.retake_pass_as) == (
        False,
        "best",
        60,
        None,
    )
    assert s.count_natures is None and s.custom_scales == {} and s.round_scores is False


def test_toml_example_loads_and_custom_scale_computes() -> None:
    s = GpaSettings.model_validate(tomllib.loads(NWPU_TOML))
    assert s.scale == "nwpu41"
    assert s.level_scores["优秀"] == 95 and s.level_scores["不及格"] == 50
    assert set(s.scales()) == {"nwpu41", "simple"}
    grades = [
        Grade("t", "A", "甲", "95", 2, course_nature="必修"),
        Grade("t", "B", "乙", "80.5", 2, course_nature="必修"),
        Grade("t", "C", "丙", "良好", 1, course_nature="必修"),
        Grade("t", "D", "丁", "99", 1, course_nature="选修"),  # count_natures = ["必修"]
    ]
    # NWPU bands by hand: 95 → 4.1, 80.5 → 3.0 (78–80), 良好 → level_points 3.0
    report = compute(grades, None, s)
    assert report.scale.name == "西工大4.1"
    assert report.cumulative.gpa == pytest.approx((4.1 * 2 + 3.0 * 2 + 3.0 * 1) / 5)
    # simple: 95 → 4, 80.5 → 3, 良好 = 85 → 3
    assert compute(grades, "simple", s).cumulative.gpa == pytest.approx((8 + 6 + 3) / 5)
    assert [x.id for x in resolve_scales("all", s.scales())][-2:] == ["nwpu41", "simple"]


def test_custom_scale_by_display_name() -> None:
    s = GpaSettings.model_validate(tomllib.loads(NWPU_TOML))
    grade = Grade("t", "A", "甲", "90", 1, course_nature="必修")
    assert compute([grade], "西工大4.1", s).cumulative.gpa == pytest.approx(3.9)


def errors(data: dict) -> str:
    with pytest.raises(ValidationError) as info:
        GpaSettings.model_validate(data)
    return str(info.value)


def bands(*pairs: tuple[float, float]) -> list[dict[str, float]]:
    return [{"min": m, "points": p} for m, p in pairs]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            bands((90, 4), (80, 3), (80, 2.5), (0, 0)),
            "overlapping bands: bands 2 and 3 both start at min = 80",
        ),
        (bands((80, 3), (90, 4), (0, 0)), "bands are not in order: list them from the highest min down"),
        (bands((90, 4), (60, 1), (70, 2), (0, 0)), "band 3 (min = 70) comes after band 2 (min = 60)"),
        (bands((90, 3), (80, 3.5), (0, 0)), "points out of order: band 2 (min = 80) gives 3.5 points"),
        (
            bands((90, 4), (80, 3), (60, 1)),
            "no band covers scores below 60: the lowest band starts at 60; the last band must start at 0",
        ),
        (bands((90, 4), (50, 1)), "no band covers scores under 50: the lowest band starts at 50"),
        ([], "a custom scale needs at least one band"),
        (
            [
                {"min": 90, "max": 100, "points": 4},
                {"min": 80, "max": 90, "points": 3},
                {"min": 0, "points": 0},
            ],
            "overlapping bands: band 2 (80–90) overlaps band 1 which starts at 90",
        ),
        (
            [{"min": 90, "points": 4}, {"min": 80, "max": 85, "points": 3}, {"min": 0, "points": 0}],
            "gap between bands: band 2 ends at 85 but band 1 starts at 90",
        ),
        ([{"min": 90, "points": 4}, {"min": 0, "max": -1, "points": 0}], "greater than or equal to 0"),
        (bands((101, 4), (0, 0)), "less than or equal to 100"),
        (bands((90, -1), (0, 0)), "greater than or equal to 0"),
        ([{"min": 90, "pts": 4}], "Extra inputs are not permitted"),
    ],
)
def test_invalid_custom_scale(table: list, message: str) -> None:
    text = errors({"custom_scales": {"mine": table}})
    assert message in text
    assert "custom_scales.mine" in text  # the error names the key


def test_custom_scale_valid_with_max() -> None:
    table = [
        {"min": 85, "max": 100, "points": 4},
        {"min": 60, "max": 84, "points": 2},
        {"min": 0, "max": 59, "points": 0},
    ]
    s = GpaSettings.model_validate({"custom_scales": {"mine": {"name": "我的", "bands": table}}})
    assert s.scales()["mine"].points(84.5) == 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"scale": "gpa9"}, "scale: unknown GPA scale 'gpa9'"),
        ({"custom_scales": {"标准": bands((0, 0))}}, "must be ASCII letters"),
        (
            {"custom_scales": {"standard4": bands((0, 0))}},
            "'standard4' is already the built-in scale standard4",
        ),
        (
            {"custom_scales": {"x": {"name": "北大4.0", "bands": bands((0, 0))}}},
            "already the built-in scale pku4",
        ),
        ({"custom_scales": {"all": bands((0, 0))}}, "reserved"),
        ({"level_points": {"nope": {"优秀": 4}}}, "level_points: unknown GPA scale 'nope'"),
        ({"level_points": {"standard4": {"优秀": -1}}}, "points must be a number >= 0"),
        ({"level_scores": {"优秀": 120}}, "level_scores.优秀: 120.0 is not a 百分制 score"),
        ({"level_scores": {"优": 95, "优秀": 90}}, "'优' and '优秀' name the same level '优秀'"),
        ({"retake_policy": "highest"}, "retake_policy"),
        ({"makeup_pass_as": True}, 'give a score such as 60, or "actual"'),
        ({"scael": "pku4"}, "scael"),
    ],
)
def test_invalid_settings(data: dict, message: str) -> None:
    assert message in errors(data)


def test_merge_settings_school_then_account() -> None:
    school = {
        "scale": "pku4",
        "count_natures": ["必修"],
        "level_scores": {"不及格": 50},
        "custom_scales": {"a": bands((60, 1), (0, 0))},
    }
    account = {"scale": "b", "level_scores": {"优秀": 92}, "custom_scales": {"b": bands((0, 0))}}
    s = merge_settings(school, None, account)
    assert s.scale == "b"
    assert s.count_natures == ["必修"]
    assert s.level_scores["不及格"] == 50 and s.level_scores["优秀"] == 92
    assert set(s.custom_scales) == {"a", "b"}
    assert merge_settings().scale == "standard4"
    with pytest.raises(ValidationError, match="unknown GPA scale"):
        merge_settings(school, {"scale": "zz"})


def test_docs_example_is_valid() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "gpa.md").read_text(encoding="utf-8")
    block = doc.split("```toml\n", 1)[1].split("```", 1)[0]
    config = tomllib.loads(block)
    school = config["schools"]["nwpu"]["gpa"]
    s = merge_settings(school, config["accounts"]["me"]["gpa"])
    assert s.scale == "pku_formula" and s.level_points["nwpu41"]["及格"] == 1.3
    assert merge_settings(school).scale == "nwpu41"
    assert s.retake_pass_as is None and s.makeup_pass_as == 60
