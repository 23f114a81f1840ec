"""Reading the 强智 grade list: the ``#dataList`` HTML table in its variants, and the newer JSON list.

Pure functions (no I/O) that raise ValueError on anything but the shapes real schools serve (field notes):

- HTML: columns mapped by header text, so extra columns (分组名, 课程类别 …) do not matter; the score
  header may be 成绩 or 总成绩, with component columns 平时成绩/期中成绩/实验成绩/期末成绩 kept on the
  grade; the score may sit inside a link; the header row may be in ``table.Nsb_table_first`` above
  ``table#dataList``.
- JSON: ``{"code": 0, "count": N, "data": [{xnxqid, kch, kc_mc, zcj, zcjstr, xf, ksxzmc, kz …}]}``;
  ``kz`` = 1 means the grade is held back until the teaching evaluation (评教) is done.
"""

from __future__ import annotations

import re
from typing import Any

from selectolax.lexbor import LexborHTMLParser as HTMLParser

from gradewatch.grades import Grade, attempt_from_text, status_from_text
from gradewatch.schools.base import SchoolAdapter

NO_DATA = "未查询到数据"

# Header text -> Grade field; everything else (序号 …) is dropped.
_COLUMNS = {
    "开课学期": "term",
    "课程编号": "course_code",
    "课程名称": "course_name",
    "成绩": "score",
    "总成绩": "score",
    "成绩标识": "remark",
    "学分": "credits",
    "绩点": "grade_point",
    "考试性质": "exam_type",
    "课程属性": "course_nature",  # 必修 / 选修 (what Grade calls 课程性质)
    "课程性质": "course_category",  # 公共基础课 / 专业课 …
    "课程类别": "course_type",  # used as the category only when 课程性质 is absent
}
_REQUIRED = ("开课学期", "课程编号", "课程名称")
#: Component scores shown beside the total; kept on the grade as ``components``.
COMPONENT_COLUMNS = ("平时成绩", "期中成绩", "实验成绩", "期末成绩")


def parse_grades(tree: HTMLParser) -> list[Grade]:
    """The rows of ``table#dataList``, columns mapped by header text. Raises ValueError on another shape."""
    table = tree.css_first("table#dataList")
    if table is None:
        raise ValueError("no table#dataList")
    rows = table.css("tr")
    header = next((r for r in rows if r.css_first("th") is not None), None)
    if header is None:  # some schools put the header row in a table of its own above the list
        top = tree.css_first("table.Nsb_table_first")
        header = top.css_first("tr") if top is not None else None
    if header is None or header.css_first("th") is None:
        raise ValueError("the table has no header row")
    names = [th.text(strip=True) for th in header.css("th")]
    missing = [n for n in _REQUIRED if n not in names]
    if "成绩" not in names and "总成绩" not in names:
        missing.append("成绩")
    if missing:
        raise ValueError(f"no {', '.join(missing)} column")
    grades: list[Grade] = []
    body = [r for r in rows if r.css_first("td") is not None]
    for n, row in enumerate(body, start=1):
        cells = [td.text(strip=True).replace("\xa0", "") for td in row.css("td")]
        if len(cells) == 1 and NO_DATA in cells[0]:
            continue
        if len(cells) != len(names):
            raise ValueError(f"row {n} has {len(cells)} cells for {len(names)} columns")
        grade = _grade_of(dict(zip(names, cells, strict=True)), n)
        if grade is not None:
            grades.append(grade)
    return grades


def _grade_of(row: dict[str, str], n: int) -> Grade | None:
    fields = {field: "" for field in _COLUMNS.values()}
    for header, field in _COLUMNS.items():
        if row.get(header):
            fields[field] = row[header]
    term = normalise_term(fields["term"])
    if term is None:
        raise ValueError(f"row {n}: unreadable term {fields['term'][:20]!r}")
    if not fields["course_code"] or not fields["course_name"]:
        raise ValueError(f"row {n}: no course code or name")
    if not fields["score"] and status_from_text("", fields["remark"]) != "held":  # not graded yet
        return None
    exam_type = fields["exam_type"] or "正常考试"
    status = status_from_text(fields["score"], fields["remark"])
    return Grade(
        term=term,
        course_code=fields["course_code"],
        course_name=fields["course_name"],
        score=fields["score"],
        credits=SchoolAdapter.strict_number(fields["credits"], "credits", n),
        exam_type=exam_type,
        attempt=attempt_from_text(exam_type),
        course_nature=fields["course_nature"],
        course_category=fields["course_category"] or fields["course_type"],
        grade_point=None if status else SchoolAdapter.strict_number(fields["grade_point"], "grade point", n),
        status=status,
        components={c: row[c] for c in COMPONENT_COLUMNS if row.get(c)},
    )


def parse_json(data: Any) -> tuple[list[Grade], int]:
    """(grades, total count) of one page of the JSON grade list. Raises ValueError on another shape."""
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise ValueError("no data list")
    if str(data.get("code", 0)).strip() not in ("0", ""):
        raise ValueError(f"the list answered code {str(data.get('code'))[:10]!r}: {str(data.get('msg'))[:60]}")
    try:
        count = int(str(data.get("count", len(data["data"]))).strip())
    except ValueError:
        raise ValueError("unreadable count") from None
    grades = []
    for n, item in enumerate(data["data"], start=1):
        if not isinstance(item, dict):
            raise ValueError(f"record {n} is not an object")
        grade = _record_grade(item, n)
        if grade is not None:
            grades.append(grade)
    return grades, count


def _record_grade(item: dict[str, Any], n: int) -> Grade | None:
    text = {k: str(v if v is not None else "").strip() for k, v in item.items()}
    term = normalise_term(text.get("xnxqid", ""))
    if term is None:
        raise ValueError(f"record {n}: unreadable term {text.get('xnxqid', '')[:20]!r}")
    code, name = text.get("kch", ""), text.get("kc_mc", "") or text.get("kcmc", "")
    if not code or not name:
        raise ValueError(f"record {n}: no course code or name")
    held = text.get("kz", "") in ("1", "true", "True")
    score = text.get("zcjstr", "") or text.get("zcj", "")
    if held:
        status = "held"
    elif not score:
        return None
    else:
        status = status_from_text(score, text.get("cjbs", ""))
    exam_type = text.get("ksxzmc", "") or "正常考试"
    return Grade(
        term=term,
        course_code=code,
        course_name=name,
        score=score,
        credits=SchoolAdapter.strict_number(text.get("xf", ""), "credits", n),
        exam_type=exam_type,
        attempt=attempt_from_text(exam_type),
        course_nature=text.get("kcsxmc", ""),
        course_category=text.get("kcxzmc", "") or text.get("kclbmc", ""),
        status=status,
    )


def normalise_term(text: str) -> str | None:
    """``2021-2022-1`` (as 开课学期 shows it; ``2021-2022-2 `` with spaces too) → ``2021-2022-1``."""
    m = re.fullmatch(r"\s*(\d{4})\s*-\s*(\d{4})\s*-\s*([123])\s*", text)
    return f"{m[1]}-{m[2]}-{m[3]}" if m else None
