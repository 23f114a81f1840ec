"""The jwapp grade answer in the real EMAP shape (a fixture written from school-systems.md §6b)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gradewatch.schools.errors import UnexpectedPage
from gradewatch.schools.jwapp import grade_of, parse_page

FIXTURE = Path(__file__).parent.parent / "fixtures" / "jwapp" / "xscjcx.json"


def test_rows_become_grades():
    rows, total = parse_page(json.loads(FIXTURE.read_text(encoding="utf-8")))
    assert total == 3 and len(rows) == 3
    grades = [g for g in map(grade_of, rows) if g is not None]
    assert [(g.course_name, g.score, g.credits) for g in grades] == [
        ("高等数学A(1)", "91", 5.0), ("大学英语(1)", "良好", 3.0)]
    assert grades[0].term == "2023-2024-1" and grades[0].exam_type == "正常考试" and grades[0].course_nature == "必修"


def test_a_retake_keeps_its_own_key_and_an_ungraded_row_is_no_grade():
    rows, _ = parse_page(json.loads(FIXTURE.read_text(encoding="utf-8")))
    assert grade_of(rows[2]) is None
    graded = dict(rows[2], ZCJ="75")
    retake, first = grade_of(graded), grade_of(rows[0])
    assert retake is not None and first is not None
    assert retake.attempt == "retake" and retake.key != first.key


@pytest.mark.parametrize("answer", [
    {"datas": {"xscjcx": {"rows": [], "extParams": {"code": 0, "msg": "请先完成评教"}}}},
    {"datas": {}}, {"code": "0"}, {"datas": {"xscjcx": {"rows": "x"}}},
    {"datas": {"xscjcx": {"rows": [], "totalSize": "many"}}},
])
def test_answers_that_are_not_a_grade_list_are_typed(answer):
    with pytest.raises(UnexpectedPage):
        parse_page(answer)


def test_the_evaluation_message_reaches_the_user():
    with pytest.raises(UnexpectedPage, match="请先完成评教"):
        parse_page({"datas": {"xscjcx": {"rows": [], "extParams": {"code": 0, "msg": "请先完成评教"}}}})
