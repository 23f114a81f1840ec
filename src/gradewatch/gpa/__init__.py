"""GPA: scales as data tables, per-school settings, credit-weighted GPA and 加权平均分.

Public API (see docs/gpa.md for the settings):

* ``GpaSettings`` / ``merge_settings(school_gpa, account_gpa)`` — validated settings.
* ``compute(grades, scale, settings) -> GpaReport`` and ``compute_many(grades, scales, settings)``.
* ``gpa_table(reports)`` (Rich), ``reports_to_dict(reports)`` (JSON).
* ``gpa_change_line(before, after, settings)`` — the line for a new-grade notification.
* ``gpa_command(...)`` — everything `gradewatch gpa` prints.
"""

from gradewatch.gpa.command import gpa_command
from gradewatch.gpa.compute import (
    CountedCourse,
    CourseResult,
    ExcludedGrade,
    GpaReport,
    Selection,
    TermRow,
    compute,
    compute_many,
    select,
)
from gradewatch.gpa.render import gpa_change_line, gpa_table, reports_to_dict
from gradewatch.gpa.scales import (
    ALL,
    BUILTIN_SCALES,
    Band,
    Scale,
    UnknownScaleError,
    find_scale,
    resolve_scales,
)
from gradewatch.gpa.settings import CustomScale, GpaSettings, merge_settings

__all__ = [
    "ALL",
    "BUILTIN_SCALES",
    "Band",
    "CountedCourse",
    "CourseResult",
    "CustomScale",
    "ExcludedGrade",
    "GpaReport",
    "GpaSettings",
    "Scale",
    "Selection",
    "TermRow",
    "UnknownScaleError",
    "compute",
    "compute_many",
    "find_scale",
    "gpa_change_line",
    "gpa_command",
    "gpa_table",
    "merge_settings",
    "reports_to_dict",
    "resolve_scales",
    "select",
]
