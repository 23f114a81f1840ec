"""Grade.status and Grade.components: reading marks that are not scores, the diff, the words, old data."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gradewatch.diff import diff_grades, keyed
from gradewatch.gpa import compute
from gradewatch.grades import Grade, status_from_text
from gradewatch.notify.render import compose, describe, subject_for

MATHS = Grade("2022-2023-1", "1101001", "高等数学", "缓考", 5.0, status="deferred")


@pytest.mark.parametrize(("score", "remark", "status"), [
    ("W", "中期退课", "withdrawn"), ("w", "", "withdrawn"), ("", "中期退课", "withdrawn"), ("缓考", "", "deferred"),
    ("免修", "", "exempt"), ("免考", "", "exempt"), ("取消", "", "cancelled"), ("作弊", "", "misconduct"),
    ("违纪", "", "misconduct"), ("", "未评教", "held"), ("95", "缓考补", ""), ("优秀", "", ""), ("合格", "", ""),
    ("64", "补考", ""), ("不及格", "", ""),
])
def test_status_from_text(score: str, remark: str, status: str) -> None:
    assert status_from_text(score, remark) == status


def test_a_status_is_no_score_and_no_part_of_the_key() -> None:
    assert MATHS.numeric_score is None and MATHS.status_label == "缓考"
    scored = replace(MATHS, score="85", status="")
    assert scored.key == MATHS.key and scored.numeric_score == 85.0
    d = diff_grades(keyed([MATHS]), keyed([scored]))
    assert d.changed == [(MATHS, scored)] and not d.new
    assert subject_for(d) == "成绩变更: 高等数学 缓考 → 85"


def test_words_for_a_mark() -> None:
    assert describe(MATHS) == "高等数学: 缓考" and describe(replace(MATHS, score="95", status="")) == "高等数学 95"
    withdrawn = replace(MATHS, score="W", status="withdrawn")
    d = diff_grades({}, keyed([withdrawn]))
    [notice] = compose(d, [], [withdrawn], False, account="me")
    assert notice.subject == "成绩状态: 高等数学: 退课"
    assert "新成绩" not in notice.subject and " W" not in notice.body_text and "退课" in notice.body_html


def test_gpa_leaves_marks_out_with_the_reason() -> None:
    physics = Grade("2022-2023-1", "1301001", "大学物理", "80", 4.0)
    report = compute([physics, MATHS, replace(MATHS, course_code="x", score="", status="held")])
    assert report.cumulative.credits == 4.0
    assert sorted(e.reason for e in report.excluded) == ["非成绩标记（待评教后查看）", "非成绩标记（缓考）"]


def test_components_are_kept_shown_and_not_compared() -> None:
    g = Grade("2022-2023-1", "1301001", "大学物理", "85", 4.0, components={"平时成绩": "90", "期末成绩": "80"})
    assert g.to_dict()["components"] == {"平时成绩": "90", "期末成绩": "80"}
    assert Grade.from_dict(g.to_dict()) == g and hash(g) == hash(replace(g, components={}))
    assert not diff_grades(keyed([g]), keyed([replace(g, components={"平时成绩": "91"})]))
    [notice] = compose(diff_grades({}, keyed([g])), [], [g], False, account="me")
    assert notice.subject == "新成绩: 大学物理 85" and "85（平时 90，期末 80）" in notice.body_text


def test_old_stored_grades_still_load() -> None:
    old = {"term": "2021-2022-1", "course_code": "1", "course_name": "x", "score": "90", "credits": 2.0,
           "exam_type": "正常考试", "attempt": "normal", "course_nature": "", "course_category": "",
           "grade_point": None}
    g = Grade.from_dict(old)
    assert g.status == "" and g.components == {}
    assert Grade.from_dict({**old, "status": None, "components": None, "future_field": 1}) == g
