"""What a simulated student takes in a term (their timetable / 选课 list), for every simulator.

A student's courses of a term are those with a grade in that term, the courses the simulator was
told they are enrolled in (:func:`enrol`, e.g. by the campus bench), and — for the seeded students —
the catalogue's courses of the term after their last graded one: the exam period's courses, taken
but not graded yet, so that publishing grades course by course means something.

Each system renders the list its own way (SSFW 课表 page, ZF ``kbList`` JSON, 强智 ``#kbtable``);
this module only knows the courses and where in the week they sit.
"""

from __future__ import annotations

from dataclasses import dataclass

from gradewatch.sim.base import Student
from gradewatch.sim.transcripts import CATALOGUE, TERMS

WEEKDAYS = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")
#: 大节 of a day: (label, first 小节, last 小节).
PERIODS = (("第一大节", 1, 2), ("第二大节", 3, 4), ("第三大节", 5, 6), ("第四大节", 7, 8), ("第五大节", 9, 10))
TEACHERS = ("王老师", "李老师", "张老师", "刘老师", "陈老师", "杨老师", "赵老师", "周老师")


@dataclass(frozen=True)
class Lesson:
    """One weekly slot of a course."""

    term: str
    code: str
    name: str
    weekday: int  # 1 … 7
    period: int  # index into PERIODS
    teacher: str
    room: str
    weeks: str = "1-16"


def enrol(student: Student, term: str, code: str, name: str) -> None:
    """Record that ``student`` takes course ``code`` in ``term`` (graded or not)."""
    courses = student.enrolled.setdefault(term, {})
    courses[code] = name


def current_term(student: Student) -> str:
    """The term the system shows by default: the latest one the student is enrolled in, else the
    term after their last graded one (the exam period), else the first term."""
    if student.enrolled:
        return max(student.enrolled)
    graded = sorted({g.term for g in student.grades.values()})
    if not graded:
        return TERMS[0]
    last = graded[-1]
    if last in TERMS and TERMS.index(last) + 1 < len(TERMS):
        return TERMS[TERMS.index(last) + 1]
    return last


def courses_of(student: Student, term: str) -> dict[str, str]:
    """code → name of what ``student`` takes in ``term``."""
    courses = {g.course_code: g.course_name for g in student.grades.values() if g.term == term}
    courses.update(student.enrolled.get(term, {}))
    if not student.enrolled and term == current_term(student) and term in TERMS:
        index = TERMS.index(term)
        courses.update({c.code: c.name for c in CATALOGUE if c.term_index == index})
    return courses


def lessons_of(student: Student, term: str) -> list[Lesson]:
    """The week of ``term``: each course once, at a slot derived from its code (stable across students,
    so classmates sit in the same lesson)."""
    out = []
    for code, name in sorted(courses_of(student, term).items()):
        h = sum(ord(ch) * (i + 1) for i, ch in enumerate(code))
        out.append(Lesson(term, code, name, weekday=h % 5 + 1, period=(h // 5) % len(PERIODS),
                          teacher=TEACHERS[h % len(TEACHERS)], room=f"教{h % 4 + 1}-{100 + h % 37}"))
    return out
