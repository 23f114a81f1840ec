"""Seeded students with realistic Chinese transcripts, shared by every school simulator.

Student data is kept as :class:`~gradewatch.grades.Grade` records, so each simulator renders the
same transcript its own way (an SSFW ``.t_con`` table, a ZF JSON list, a 强智 ``#dataList`` …).

The demo student is fixed and independent of the seed, so the demo and the tests can rely on it:

    username ``2021010001``, password ``demo-pass-2021`` (李明)

Every other student is drawn from ``random.Random(seed)``: same seed, same students.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from gradewatch.grades import Grade, attempt_from_text

DEMO_USERNAME = "2021010001"
DEMO_PASSWORD = "demo-pass-2021"
DEMO_NAME = "李明"

TERMS = ("2021-2022-1", "2021-2022-2", "2022-2023-1", "2022-2023-2")

NORMAL = "正常考试"
MAKEUP = "补考"
RETAKE = "重修"


@dataclass(frozen=True)
class Course:
    code: str
    name: str
    credits: float
    nature: str  # 课程性质: 必修 / 选修
    category: str  # 课程类别
    scoring: str  # "score" (0-100), "level" (优秀 … 不及格) or "pass" (合格/不合格)
    term_index: int  # which of TERMS it is taught in


# A first- and second-year curriculum of an engineering student.
CATALOGUE: tuple[Course, ...] = (
    Course("1101001", "高等数学A(1)", 5.0, "必修", "公共基础课", "score", 0),
    Course("1201001", "大学英语(1)", 3.0, "必修", "公共基础课", "score", 0),
    Course("0801001", "C语言程序设计", 3.5, "必修", "专业基础课", "score", 0),
    Course("1701001", "思想道德与法治", 3.0, "必修", "公共基础课", "level", 0),
    Course("1601001", "体育(1)", 1.0, "必修", "公共基础课", "pass", 0),
    Course("1801001", "军事理论", 2.0, "必修", "公共基础课", "pass", 0),
    Course("1101002", "高等数学A(2)", 5.0, "必修", "公共基础课", "score", 1),
    Course("1101011", "线性代数", 2.5, "必修", "公共基础课", "score", 1),
    Course("1201002", "大学英语(2)", 3.0, "必修", "公共基础课", "score", 1),
    Course("1701002", "中国近现代史纲要", 3.0, "必修", "公共基础课", "level", 1),
    Course("1601002", "体育(2)", 1.0, "必修", "公共基础课", "pass", 1),
    Course("0801002", "数据结构", 3.5, "必修", "专业基础课", "score", 1),
    Course("1901101", "大学生心理健康教育", 1.0, "选修", "通识教育课", "pass", 1),
    Course("1301001", "大学物理(1)", 4.0, "必修", "公共基础课", "score", 2),
    Course("1101021", "概率论与数理统计", 3.0, "必修", "公共基础课", "score", 2),
    Course("1701003", "马克思主义基本原理", 3.0, "必修", "公共基础课", "level", 2),
    Course("0801011", "离散数学", 3.0, "必修", "专业基础课", "score", 2),
    Course("1601003", "体育(3)", 1.0, "必修", "公共基础课", "pass", 2),
    Course("1902201", "音乐鉴赏", 2.0, "选修", "通识教育课", "level", 2),
    Course("1301002", "大学物理(2)", 4.0, "必修", "公共基础课", "score", 3),
    Course("0801021", "计算机组成原理", 4.0, "必修", "专业基础课", "score", 3),
    Course("0801022", "面向对象程序设计(Java)", 3.0, "选修", "专业课", "score", 3),
    Course("1701004", "毛泽东思想和中国特色社会主义理论体系概论", 5.0, "必修", "公共基础课", "level", 3),
    Course("1601004", "体育(4)", 1.0, "必修", "公共基础课", "pass", 3),
)

LEVELS = ("优秀", "良好", "中等", "及格", "不及格")

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = (
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "磊",
    "洋",
    "勇",
    "艳",
    "杰",
    "军",
    "涛",
    "明",
    "超",
    "霞",
    "平",
    "刚",
    "桂英",
    "晓东",
    "思远",
    "雨萱",
    "浩然",
    "子涵",
    "欣怡",
    "宇航",
    "梓萱",
)


@dataclass
class StudentRecord:
    """A student as the simulators know them. The password is never rendered or logged."""

    username: str
    password: str = field(repr=False)
    name: str
    grades: list[Grade] = field(default_factory=list)


def grade_for(course: Course, score: str, exam_type: str = NORMAL) -> Grade:
    return Grade(
        term=TERMS[course.term_index],
        course_code=course.code,
        course_name=course.name,
        score=score,
        credits=course.credits,
        exam_type=exam_type,
        attempt=attempt_from_text(exam_type),
        course_nature=course.nature,
        course_category=course.category,
    )


def course(code: str) -> Course:
    for c in CATALOGUE:
        if c.code == code:
            return c
    raise KeyError(code)


def demo_student() -> StudentRecord:
    """The fixed demo student: numeric, level and pass/fail grades, and one failed course plus its make-up.

    Grades of the first three terms are out; the last term (2022-2023-2) is still open, so the demo
    can publish its grades one by one through the admin API.
    """
    scores = {
        "1101001": "52",
        "1201001": "78",
        "0801001": "91",
        "1701001": "良好",
        "1601001": "合格",
        "1801001": "通过",
        "1101002": "73",
        "1101011": "85",
        "1201002": "81",
        "1701002": "优秀",
        "1601002": "合格",
        "0801002": "88",
        "1901101": "合格",
        "1301001": "69",
        "1101021": "77",
        "1701003": "中等",
        "0801011": "93",
        "1601003": "合格",
        "1902201": "优秀",
    }
    grades = [grade_for(course(code), score) for code, score in scores.items()]
    # 高等数学A(1) was failed (52) and passed at the make-up exam.
    grades.insert(1, grade_for(course("1101001"), "64", MAKEUP))
    return StudentRecord(DEMO_USERNAME, DEMO_PASSWORD, DEMO_NAME, grades)


def random_transcript(rng: random.Random, terms_done: int) -> list[Grade]:
    grades: list[Grade] = []
    for c in CATALOGUE:
        if c.term_index >= terms_done:
            continue
        if c.scoring == "score":
            value = max(35, min(100, round(rng.gauss(78, 11))))
            grades.append(grade_for(c, str(value)))
            if value < 60:
                second = rng.randint(45, 85)
                grades.append(grade_for(c, str(second), MAKEUP))
                if second < 60:
                    grades.append(grade_for(c, str(rng.randint(60, 90)), RETAKE))
        elif c.scoring == "level":
            grades.append(grade_for(c, rng.choices(LEVELS, weights=(25, 35, 25, 12, 3))[0]))
        else:
            grades.append(grade_for(c, rng.choices(("合格", "通过", "不合格"), weights=(80, 15, 5))[0]))
    return grades


def seeded_students(seed: int = 0, count: int = 20) -> list[StudentRecord]:
    """The demo student plus ``count`` random students, deterministic in ``seed``."""
    rng = random.Random(seed)
    students = [demo_student()]
    for n in range(count):
        username = f"2021{rng.randint(1, 30):02d}{n + 2:04d}"
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        password = "".join(rng.choices("abcdefghjkmnpqrstuvwxyz23456789", k=10))
        students.append(StudentRecord(username, password, name, random_transcript(rng, rng.randint(1, 3))))
    return students
