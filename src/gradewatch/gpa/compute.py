"""Credit-weighted GPA and 加权平均分 over stored ``Grade`` records, per term and cumulative.

Two steps:

1. ``select`` decides which grades count and with which 百分制 score. Level and letter words become
   their ``level_scores`` / ``letter_grades`` score; pass/fail words are left out unless
   ``include_pass_fail``; 0-credit, credit-less, no-result (免修/缓考) and unrecognised grades are left
   out; ``count_natures`` filters on 课程性质. Attempts at the same course (same 课程号, else same
   课程名) are reduced to one by the retake policy, per sitting (a series course taken every term has
   one sitting per term). A passed make-up counts as ``makeup_pass_as`` (60 by default), also when it
   is recorded only as 合格/通过; under the "actual" rule such a pass word replaces the failed attempt
   and, carrying no points, takes the course out of the GPA.
2. ``compute`` maps each counted score through a scale (level words may override their points per
   scale via ``level_points``; letters earn their table points on 4-point scales) and sums per
   term. Selection does not depend on the scale, so the credits and 加权平均分 are the same in
   every scale's report.

A counted course is shown under the term of the attempt that counts, so the term rows add up to the
cumulative row.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from gradewatch.gpa.levels import FAIL, LEVELS, classify
from gradewatch.gpa.scales import Scale, find_scale
from gradewatch.gpa.settings import GpaSettings
from gradewatch.grades import Grade

PASS_MARK = 60.0
_ATTEMPT_ORDER = {"normal": 0, "makeup": 1, "retake": 2}


@dataclass(frozen=True)
class CountedCourse:
    grade: Grade  # the attempt that counts
    score: float  # 百分制 used for 加权平均分 (after level mapping and make-up/retake rules)
    credits: float
    level: str | None = None  # canonical level word when the school gave one (and it was kept)
    attempts: int = 1
    note: str = ""
    letter: bool = False  # ``level`` is a letter grade: points from the letter table on 4-point scales


@dataclass(frozen=True)
class ExcludedGrade:
    grade: Grade
    reason: str


@dataclass(frozen=True)
class Selection:
    counted: tuple[CountedCourse, ...]
    excluded: tuple[ExcludedGrade, ...]
    terms: tuple[str, ...]  # every term seen in the input, sorted


@dataclass(frozen=True)
class CourseResult:
    course: CountedCourse
    points: float


@dataclass(frozen=True)
class TermRow:
    term: str | None  # None for the cumulative row
    credits: float
    gpa: float | None
    average: float | None  # 加权平均分
    courses: int


@dataclass(frozen=True)
class GpaReport:
    scale: Scale
    terms: tuple[TermRow, ...]
    cumulative: TermRow
    courses: tuple[CourseResult, ...]
    excluded: tuple[ExcludedGrade, ...]

    def term(self, term: str) -> TermRow | None:
        return next((r for r in self.terms if r.term == term), None)


@dataclass(frozen=True)
class _Entry:
    grade: Grade
    score: float  # the 百分制 that counts; for a pass-word stand-in, the pass mark it ranks with
    credits: float
    level: str | None
    order: tuple[str, int, int]
    note: str = ""
    letter: bool = False  # ``level`` is a letter grade (points from the letter table)
    # A make-up/retake recorded only as 合格/通过 under the "actual" rule: it replaces the failed
    # attempt, and as pass/fail carries no points, so when it is chosen the course is left out.
    stand_in: bool = False


def _nature_counts(grade: Grade, natures: list[str] | None) -> bool:
    if natures is None:
        return True
    text = grade.course_nature.strip() or grade.course_category.strip()
    return any(n in text for n in natures)


def _kind(grade: Grade) -> str:
    return "补考" if grade.attempt == "makeup" else "重修"


def _cap(grade: Grade, settings: GpaSettings) -> float | None:
    return {"makeup": settings.makeup_pass_as, "retake": settings.retake_pass_as}.get(grade.attempt)


def _pass_word_attempt(
    grade: Grade, word: str, order: tuple[str, int, int], settings: GpaSettings
) -> _Entry | None:
    """A make-up or retake recorded as a pass/fail word: it is an attempt at a graded course, so it
    takes part in the retake policy even when pass/fail courses are left out (None: the normal rules)."""
    credits = float(grade.credits or 0)
    shown = grade.score.strip()
    if word == FAIL:
        if settings.include_pass_fail:
            return None
        note = f"{_kind(grade)}{shown}，按不及格计"
        return _Entry(grade, settings.level_score(LEVELS[4]), credits, LEVELS[4], order, note)
    cap = _cap(grade, settings)
    if cap is not None:
        note = f"{_kind(grade)}通过（{shown}），按 {cap:g} 计"
        return _Entry(grade, cap, credits, None, order, note)
    if settings.include_pass_fail:
        return None
    note = f"{_kind(grade)}{shown}，通过/不通过制不计绩点"
    return _Entry(grade, PASS_MARK, credits, None, order, note, stand_in=True)


def _interpret(grade: Grade, index: int, settings: GpaSettings) -> _Entry | ExcludedGrade:
    if grade.status:  # 退课 / 缓考 / 免修 / 取消 / 作弊 / 待评教: a mark, not a score
        return ExcludedGrade(grade, f"非成绩标记（{grade.status_label}）")
    credits = grade.credits
    if credits is None:
        return ExcludedGrade(grade, "无学分")
    if credits <= 0:
        return ExcludedGrade(grade, "0 学分")
    if not _nature_counts(grade, settings.count_natures):
        return ExcludedGrade(
            grade, f"课程性质不计入（{grade.course_nature or grade.course_category or '未知'}）"
        )
    order = (grade.term, _ATTEMPT_ORDER.get(grade.attempt, 0), index)
    level: str | None = None
    letter = False
    number = grade.numeric_score
    if number is None:
        word = classify(grade.score, settings.level_scores.keys(), settings.letter_grades.keys())
        if word.kind == "no_result":
            return ExcludedGrade(grade, f"无成绩（{grade.score.strip() or '空'}）")
        if word.kind == "unknown":
            return ExcludedGrade(grade, f"无法识别的成绩 {grade.score.strip()!r}")
        if word.kind == "pass_fail" and grade.attempt != "normal":
            entry = _pass_word_attempt(grade, word.word, order, settings)
            if entry is not None:
                return entry
        elif word.kind == "pass_fail" and not settings.include_pass_fail:
            return ExcludedGrade(grade, "通过/不通过制")
        level = word.word
        letter = word.kind == "letter"
        number = settings.level_score(word.word)
    note = ""
    cap = _cap(grade, settings)
    if cap is not None and number >= PASS_MARK and number != cap:
        note = f"{_kind(grade)}通过，按 {cap:g} 计（实得 {grade.score.strip()}）"
        number, level, letter = cap, None, False
    return _Entry(grade, number, float(credits), level, order, note, letter)


def _course_id(grade: Grade) -> str:
    return grade.course_code.strip() or grade.course_name.strip() or grade.key


def _passed(sitting: list[_Entry]) -> bool:
    return any(e.score >= PASS_MARK for e in sitting)


def _sittings(entries: list[_Entry]) -> list[list[_Entry]]:
    """Split one course's attempts into sittings that count once each.

    Normally all attempts are one sitting (a failed exam, its make-up, its retake, even a retake the
    school lists as a normal exam). A course passed as a normal exam in two or more terms is a series
    taken every term (形势与政策, 体育…): each normal exam is its own sitting, a failed term included,
    and a make-up or retake joins the latest earlier sitting still failed (else the latest one).
    """
    entries = sorted(entries, key=lambda e: e.order)
    passed_terms = {e.grade.term for e in entries if e.grade.attempt == "normal" and e.score >= PASS_MARK}
    if len(passed_terms) < 2:
        return [entries]
    sittings: list[list[_Entry]] = []
    for e in entries:
        if e.grade.attempt == "normal" or not sittings:
            sittings.append([e])
            continue
        failed = [s for s in sittings if not _passed(s)]
        (failed[-1] if failed else sittings[-1]).append(e)
    return sittings


def _pick(entries: list[_Entry], policy: str) -> _Entry:
    if policy == "first":
        return min(entries, key=lambda e: e.order)
    if policy == "latest":
        return max(entries, key=lambda e: e.order)
    return max(entries, key=lambda e: (e.score, e.order))  # best; ties go to the later attempt


def _counted(e: _Entry, attempts: int, note: str) -> CountedCourse:
    return CountedCourse(e.grade, e.score, e.credits, e.level, attempts, note, e.letter)


def _reduce(
    entries: list[_Entry], policy: str
) -> tuple[tuple[tuple[str, int, int], CountedCourse] | None, list[ExcludedGrade]]:
    """One sitting → the attempt that counts (None when a pass/fail stand-in won) and the rest, with why."""
    chosen = entries[0] if len(entries) == 1 else _pick(entries, policy)
    others = [e for e in entries if e is not chosen]
    if chosen.stand_in:
        won = f"{_kind(chosen.grade)}{chosen.grade.score.strip()}"
        excluded = [ExcludedGrade(chosen.grade, f"{chosen.note}，本课程不计入（{policy}）")]
        excluded += [ExcludedGrade(e.grade, f"被{won}取代，本课程不计入（{policy}）") for e in others]
        return None, excluded
    if not others:
        return (chosen.order, _counted(chosen, 1, chosen.note)), []
    note = "; ".join(n for n in (chosen.note, f"{len(entries)} 次考试，按 {policy} 取") if n)
    excluded = [ExcludedGrade(e.grade, f"同一课程另一次考试计入（{policy}）") for e in others]
    return (chosen.order, _counted(chosen, len(entries), note)), excluded


def select(grades: Iterable[Grade], settings: GpaSettings | None = None) -> Selection:
    """Which grades count, with which 百分制 score, after the retake policy (see module doc)."""
    settings = settings or GpaSettings()
    unique = list({g.key: g for g in grades}.values())  # the same record fetched twice counts once
    excluded: list[ExcludedGrade] = []
    groups: dict[str, list[_Entry]] = {}
    for i, grade in enumerate(unique):
        item = _interpret(grade, i, settings)
        if isinstance(item, ExcludedGrade):
            excluded.append(item)
        else:
            groups.setdefault(_course_id(grade), []).append(item)
    counted: list[tuple[tuple[str, int, int], CountedCourse]] = []
    for entries in groups.values():
        for sitting in _sittings(entries):
            chosen, left_out = _reduce(sitting, settings.retake_policy)
            if chosen is not None:
                counted.append(chosen)
            excluded += left_out
    counted.sort(key=lambda pair: pair[0])
    terms = tuple(sorted({g.term for g in unique}))
    return Selection(tuple(c for _, c in counted), tuple(excluded), terms)


def course_points(course: CountedCourse, scale: Scale, settings: GpaSettings) -> float:
    """Points a counted course earns on ``scale``: a level override if configured, else the scale."""
    override = settings.level_points.get(scale.id, {})
    if course.level is not None and course.level in override:
        return override[course.level]
    if course.letter and course.level is not None:
        points = settings.letter_points(course.level, scale)
        if points is not None:
            return points
    score = float(math.floor(course.score + 0.5)) if settings.round_scores else course.score  # half-up
    return scale.points(score)


def _row(term: str | None, results: list[CourseResult]) -> TermRow:
    credits = sum(r.course.credits for r in results)
    if credits <= 0:
        return TermRow(term, 0.0, None, None, 0)
    gpa = sum(r.points * r.course.credits for r in results) / credits
    average = sum(r.course.score * r.course.credits for r in results) / credits
    return TermRow(term, credits, gpa, average, len(results))


def report_from_selection(selection: Selection, scale: Scale, settings: GpaSettings) -> GpaReport:
    results = [CourseResult(c, course_points(c, scale, settings)) for c in selection.counted]
    rows = tuple(_row(t, [r for r in results if r.course.grade.term == t]) for t in selection.terms)
    return GpaReport(scale, rows, _row(None, results), tuple(results), selection.excluded)


def _scale(scale: str | Scale | None, settings: GpaSettings) -> Scale:
    if isinstance(scale, Scale):
        return scale
    return find_scale(scale or settings.scale, settings.scales())


def compute(
    grades: Iterable[Grade], scale: str | Scale | None = None, settings: GpaSettings | None = None
) -> GpaReport:
    """GPA report on one scale (id, display name, ``Scale``, or None for ``settings.scale``)."""
    settings = settings or GpaSettings()
    return report_from_selection(select(grades, settings), _scale(scale, settings), settings)


def compute_many(
    grades: Iterable[Grade], scales: Iterable[str | Scale], settings: GpaSettings | None = None
) -> list[GpaReport]:
    """Reports for several scales over one selection (grades are interpreted once)."""
    settings = settings or GpaSettings()
    selection = select(grades, settings)
    return [report_from_selection(selection, _scale(s, settings), settings) for s in scales]
