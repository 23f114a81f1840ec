"""Marks that are not scores (W/中期退课, 缓考, 评教-held …), end to end: simulator → adapter → store →
mail → GPA. The student hears the status once, never "新成绩 W", and GPA leaves the mark out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from gradewatch.gpa import compute
from gradewatch.grades import Grade
from gradewatch.notify.sink import SmtpSink

from .helpers import app_for, write_config

COURSE = Grade(term="2022-2023-2", course_code="0802101", course_name="操作系统", score="", credits=3.5,
               exam_type="正常考试", course_nature="必修")

# system, simulator options, the mark as the school shows it, its status, how the student reads it.
CASES = [
    ("zf", {"captcha": False, "fields": "sparse"}, "W", "withdrawn", "退课"),
    ("ssfw", {}, "缓考", "deferred", "缓考"),
    ("qiangzhi", {"login": "direct", "grades": "json"}, "", "held", "待评教后查看"),
    ("zf", {"captcha": False}, "", "held", "待评教后查看"),
]


@pytest.mark.parametrize(("system", "options", "shown", "status", "label"), CASES,
                         ids=[f"{c[0]}-{c[3]}" for c in CASES])
def test_a_mark_is_one_status_notice_then_a_change_to_the_score(
        make_school_sim: Callable[..., Any], tmp_path: Any, system: str, options: dict[str, Any], shown: str,
        status: str, label: str) -> None:
    sim = make_school_sim(system, **options)
    with SmtpSink() as sink:
        cfg = write_config(tmp_path, sim.base_url, sim.username, [sink.url()], system=system)
        app = app_for(cfg, sim.password)
        try:
            app.watcher.check_all()
            app.watcher.send_pending()
            sink.wait_for(1)
            gpa_before = compute(app.store.grades("student")).cumulative

            sim.admin.publish_grade(sim.username, replace(COURSE, score=shown, status=status))
            [r] = app.watcher.check_all()
            assert (r.outcome, r.new, r.changed) == ("ok", 1, 0)
            stored = next(g for g in app.store.grades("student") if g.course_code == COURSE.course_code)
            assert stored.status == status and stored.numeric_score is None
            app.watcher.send_pending()
            mail = sink.wait_for(2)[1]
            assert mail.subject == f"成绩状态: 操作系统: {label}"
            assert "新成绩" not in mail.subject and label in mail.text
            if shown:
                assert f"操作系统 {shown}" not in mail.subject + mail.text
            report = compute(app.store.grades("student"))
            assert report.cumulative == gpa_before  # never in GPA …
            [why] = [e.reason for e in report.excluded if e.grade.course_code == COURSE.course_code]
            assert why == f"非成绩标记（{label}）"  # … and the reason is shown

            [r] = app.watcher.check_all()  # heard once
            assert (r.new, r.changed) == (0, 0) and app.watcher.send_pending().sent == 0

            sim.admin.publish_grade(sim.username, replace(COURSE, score="85"))
            [r] = app.watcher.check_all()
            assert (r.new, r.changed) == (0, 1)  # the real score is a change of the same grade
            app.watcher.send_pending()
            assert sink.wait_for(3)[2].subject == f"成绩变更: 操作系统 {label} → 85"
            assert compute(app.store.grades("student")).cumulative.credits == gpa_before.credits + 3.5
        finally:
            app.close()
