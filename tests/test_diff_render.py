"""The diff and the messages it turns into."""

from __future__ import annotations

from dataclasses import replace

from rich.cells import cell_len

from gradewatch.diff import diff_grades, keyed
from gradewatch.grades import Grade, attempt_from_text
from gradewatch.notify.render import compose, subject_for, text_table

A = Grade("2022-2023-1", "1101001", "高等数学A(1)", "52", 5.0)
A_MAKEUP = Grade("2022-2023-1", "1101001", "高等数学A(1)", "64", 5.0, exam_type="补考", attempt="makeup")
B = Grade("2022-2023-1", "1201001", "大学英语(1)", "优秀", 3.0)


def test_keys_separate_attempts_and_diff_finds_each_kind():
    assert A.key != A_MAKEUP.key
    old = keyed([A, B])
    new = keyed([replace(A, score="55"), A_MAKEUP])
    d = diff_grades(old, new)
    assert [g.course_name for g in d.new] == ["高等数学A(1)"] and d.new[0].exam_type == "补考"
    assert [(o.score, n.score) for o, n in d.changed] == [("52", "55")]
    assert [g.course_code for g in d.removed] == ["1201001"]
    assert not diff_grades(new, keyed([A_MAKEUP, replace(A, score="55")]))  # order does not matter


def test_duplicate_keys_kept_apart():
    k = keyed([A, replace(A, score="70")])
    assert len(k) == 2 and sorted(g.score for g in k.values()) == ["52", "70"]


def test_attempt_words():
    assert attempt_from_text("补考") == "makeup" and attempt_from_text("重修") == "retake"
    assert attempt_from_text("正常考试") == "normal" and attempt_from_text("") == "normal"


def test_subjects():
    d = diff_grades({}, keyed([A]))
    assert subject_for(d) == "新成绩: 高等数学A(1) 52"
    d = diff_grades(keyed([A]), keyed([replace(A, score="61")]))
    assert subject_for(d) == "成绩变更: 高等数学A(1) 52 → 61"
    many = [replace(B, course_code=str(i), course_name=f"课{i}", score=str(60 + i)) for i in range(5)]
    assert subject_for(diff_grades({}, keyed(many))).endswith("等 5 门")


def test_first_check_sends_the_whole_table_even_without_diff_semantics():
    [n] = compose(diff_grades({}, keyed([A, B])), [], [A, B], True, account="me")
    assert n.kind == "baseline" and "共 2 门" in n.subject
    assert "高等数学A(1)" in n.body_text and "大学英语(1)" in n.body_html
    assert compose(diff_grades(keyed([A]), keyed([A])), [A], [A], False, account="me") == []


def test_update_mail_shows_old_and_new_and_gpa_line():
    d = diff_grades(keyed([A]), keyed([replace(A, score="61")]))
    [n] = compose(d, [A], [replace(A, score="61")], False, account="me", gpa_line="GPA 标准4.0: 0.00 → 1.00")
    assert "52" in n.body_text and "61" in n.body_text and "GPA 标准4.0: 0.00 → 1.00" in n.body_text
    assert "&lt;" not in n.body_html and "GPA" in n.body_html


def test_text_table_aligns_wide_characters():
    out = text_table(("课程", "成绩"), [("高等数学", "95"), ("PE", "合格")])
    rows = [line for line in out.splitlines() if not line.startswith("-")]
    second = ["成绩", "95", "合格"]
    starts = [cell_len(line[: line.rindex(cell)]) for line, cell in zip(rows, second, strict=True)]
    assert len(set(starts)) == 1  # every row's second column starts at the same display column
