"""Property-based fuzzing of every adapter's parsers (Hypothesis): whatever a school answers, the
parsers end in a value or a typed error — ``ValueError`` from the pure parsers, ``SchoolError`` from
the login-answer classification — never another exception.

The strategies build pages that look like the real ones (the right table, the right headers, rows of
plausible and implausible cells, stray tags) as well as unstructured text and JSON, so the examples
reach deep into the parsers instead of failing at the first lookup. tests/breakit/test_fuzz.py runs a
few hundred examples per parser; ``bench/fuzz.py`` runs ≥ 10,000 per system.
"""

from __future__ import annotations

import html as html_lib
import json
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from gradewatch.grades import Grade

# ---- cell and text material ---------------------------------------------------------------------
_TERMS = ["2021-2022-1", "2021-2022学年第一学期", "2022-2023 第2学期", "2023-2024-3", "2021-2022", "9999-0000-1",
          "２０２１-２０２２-１", "", " ", "2021-2022-4"]
_SCORES = ["95", "58", "优秀", "良好", "及格", "不及格", "合格", "通过", "缓考", "-1", "100.5", "NaN", "inf", "", "**"]
_NUMBERS = ["3", "2.5", "0", "-1", "1e308", "1e309", "nan", "inf", "三", "", "٣", "1,5", "0x10", "²"]
_WORDS = ["高等数学", "大学物理", "必修", "选修", "正常考试", "补考", "重修", "通识", "&nbsp;", "\xa0", "<b>x</b>",
          "</td>", "<!--", "]]>", "\u200b", "\ud7ff", "🙂", "\x00", "\r\n", "用户名或密码错误", "验证码错误", "锁定"]

cell_text = st.one_of(
    st.sampled_from(_TERMS + _SCORES + _NUMBERS + _WORDS),
    st.text(max_size=30),
    st.from_regex(r"[A-Z]{2,4}\d{3,6}", fullmatch=True),
)


def _escape_some(draw: Any, text: str) -> str:
    return text if draw(st.booleans()) else html_lib.escape(text)


#: What each kind of column plausibly holds; a cell is one of these most of the time, anything otherwise.
_PLAUSIBLE: dict[str, st.SearchStrategy[str]] = {
    "term": st.sampled_from(_TERMS[:4]),
    "code": st.from_regex(r"[A-Z]{2,4}\d{3,6}", fullmatch=True),
    "name": st.sampled_from(["高等数学", "大学物理", "线性代数", "体育(1)", "C++程序设计"]),
    "score": st.sampled_from(_SCORES[:9]),
    "number": st.sampled_from(["3", "2.5", "0", "4.0", ""]),
    "exam": st.sampled_from(["正常考试", "补考", "重修", "缓考", ""]),
    "text": st.sampled_from(["必修", "选修", "通识", "", "1"]),
}
#: Column kinds of the SSFW table, in order.
SSFW_KINDS = ["text", "term", "code", "name", "text", "text", "text", "number", "score", "exam", "text"]
_QZ_KIND = {"开课学期": "term", "课程编号": "code", "课程名称": "name", "成绩": "score", "学分": "number",
            "绩点": "number", "考试性质": "exam"}


@st.composite
def cell(draw: Any, kind: str) -> str:
    if draw(st.integers(0, 39)) < 39:
        return draw(_PLAUSIBLE[kind])
    return _escape_some(draw, draw(cell_text))


@st.composite
def table_rows(draw: Any, kinds: list[str], *, header: list[str] | None = None, cell_tag: str = "td") -> str:
    rows = []
    columns = len(kinds)
    if header is not None:
        rows.append("<tr>" + "".join(f"<th>{h}</th>" for h in header) + "</tr>")
    for _ in range(draw(st.integers(0, 12))):
        n = columns if draw(st.integers(0, 9)) < 8 else draw(st.sampled_from([columns - 1, columns + 1, 1, 0]))
        cells = [draw(cell(kinds[i] if i < columns else "text")) for i in range(max(0, n))]
        rows.append("<tr>" + "".join(f"<{cell_tag}>{c}</{cell_tag}>" for c in cells) + "</tr>")
    if draw(st.booleans()):
        rows.insert(draw(st.integers(0, len(rows))), draw(st.sampled_from(
            ["<tr>", "</table>", "<table>", "<tr><td colspan=11>未查询到数据</td></tr>", "<td>", "<th>x</th>"])))
    return "".join(rows)


garbage_page = st.one_of(st.text(max_size=2000), st.binary(max_size=2000).map(lambda b: b.decode("latin-1")))


@st.composite
def ssfw_grade_page(draw: Any) -> str:
    rows = draw(table_rows(SSFW_KINDS))
    block = draw(st.sampled_from(['<div title="有效成绩">'] * 4 + ['<div title="有效成绩" class="x">', "<div>", ""]))
    table = draw(st.sampled_from(['<table class="t_con">'] * 4 + ['<table class="t_con other">', "<table>"]))
    return f"<html><body>{block}{table}{rows}</table></div></body></html>"


_QZ_HEADERS = ["序号", "开课学期", "课程编号", "课程名称", "成绩", "学分", "绩点", "考试性质", "课程属性", "课程性质",
               "总学时", "备注"]


@st.composite
def qiangzhi_grade_page(draw: Any) -> str:
    header = draw(st.permutations(_QZ_HEADERS))
    if draw(st.integers(0, 4)) == 0:
        header = draw(st.lists(st.sampled_from(_QZ_HEADERS + ["", "成绩标识"]), min_size=0, max_size=12))
    rows = draw(table_rows([_QZ_KIND.get(h, "text") for h in header], header=header))
    table = draw(st.sampled_from(['<table id="dataList">'] * 4 + ['<table id="dataList" class="x">', "<table>"]))
    return f"<html><body>{table}{rows}</table></body></html>"


json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
_ZF_KEYS = ["cjsfzf", "cj", "xnmmc", "xnm", "xqmmc", "xqm", "kch", "kch_id", "kcmc", "ksxz", "xf", "kcxzmc",
            "kclbmc", "jd"]
_ZF_VALUES = st.one_of(json_value, st.sampled_from(["2021-2022", "2021", "3", "12", "16", "1", "否", "是", "95",
                                                    "高等数学", "正常考试", "3.0", "", "٣"] + _NUMBERS))


_ZF_PLAUSIBLE: dict[str, st.SearchStrategy[Any]] = {
    "xnmmc": st.sampled_from(["2021-2022", "2022-2023"]), "xnm": st.sampled_from(["2021", "2022", 2021]),
    "xqmmc": st.sampled_from(["1", "2", "3"]), "xqm": st.sampled_from(["3", "12", "16"]),
    "kch": _PLAUSIBLE["code"], "kcmc": _PLAUSIBLE["name"], "cj": _PLAUSIBLE["score"],
    "xf": st.sampled_from(["3", "2.5", 4, 1.5, ""]), "jd": st.sampled_from(["4.0", "3.7", 0, ""]),
    "ksxz": _PLAUSIBLE["exam"], "cjsfzf": st.sampled_from(["否", "是", ""]),
}


@st.composite
def zf_item(draw: Any) -> dict[str, Any]:
    """One grade item: the usual keys with usual values, some dropped, some replaced by anything JSON."""
    item: dict[str, Any] = {}
    for key in _ZF_KEYS:
        roll = draw(st.integers(0, 19))
        if roll < 18 and key in _ZF_PLAUSIBLE:
            item[key] = draw(_ZF_PLAUSIBLE[key])
        elif roll < 19:
            item[key] = draw(_ZF_VALUES)
    return item


@st.composite
def zf_grade_answer(draw: Any) -> Any:
    """One answer of the ZF grade query: mostly the real shape, sometimes anything JSON can be."""
    if draw(st.integers(0, 9)) == 0:
        return draw(json_value)
    items = draw(st.lists(zf_item(), max_size=8))
    if draw(st.integers(0, 9)) == 0:
        items.append(draw(json_value))
    answer: dict[str, Any] = {"items": items}
    if draw(st.booleans()):
        answer["totalPage"] = draw(st.one_of(st.integers(-5, 10), _ZF_VALUES))
    return answer


def zf_answer_text(draw_answer: Any) -> str:
    """Serialise a generated answer as a school would (non-finite floats the way Java libraries print them)."""
    return json.dumps(draw_answer, ensure_ascii=False, allow_nan=True)


# ---- the properties --------------------------------------------------------------------------------
def _tally(grades: list[Grade]) -> str:
    assert all(isinstance(g, Grade) for g in grades)
    return "parsed, with grades" if grades else "parsed, empty"


def check_ssfw_parse(page: str) -> str:
    from gradewatch.schools.base import SchoolAdapter
    from gradewatch.schools.ssfw import parse_grades

    try:
        return _tally(parse_grades(SchoolAdapter.html(page)))
    except ValueError:
        return "ValueError"


def check_qiangzhi_parse(page: str) -> str:
    from gradewatch.schools.base import SchoolAdapter
    from gradewatch.schools.qiangzhi import parse_grades

    try:
        return _tally(parse_grades(SchoolAdapter.html(page)))
    except ValueError:
        return "ValueError"


def check_zf_parse(text: str) -> str:
    """What ZfAdapter.fetch_grades does with one answer: JSON, then parse_page, then grade_of per item."""
    from gradewatch.schools.zf import grade_of, parse_page

    try:
        data = json.loads(text)
    except ValueError:
        return "not JSON"  # the adapter reads a non-JSON answer as a page (session expired / unexpected)
    try:
        items, _pages = parse_page(data)
        return _tally([g for g in (grade_of(i) for i in items) if g is not None])
    except ValueError:
        return "ValueError"


_QZ_JSON_PLAUSIBLE: dict[str, st.SearchStrategy[Any]] = {
    "xnxqid": st.sampled_from(["2021-2022-1", "2022-2023-2", "2021-2022"]), "kch": _PLAUSIBLE["code"],
    "kc_mc": _PLAUSIBLE["name"], "zcj": _PLAUSIBLE["score"], "zcjstr": _PLAUSIBLE["score"],
    "xf": st.sampled_from(["3", 2.5, "", "nan"]), "ksxzmc": _PLAUSIBLE["exam"], "kz": st.sampled_from(["", "1"]),
}


@st.composite
def qiangzhi_json_answer(draw: Any) -> Any:
    """One page of 强智's JSON grade list: {"code", "count", "data": [records]}, sometimes anything."""
    if draw(st.integers(0, 9)) == 0:
        return draw(json_value)
    records = []
    for _ in range(draw(st.integers(0, 6))):
        rec = {k: draw(v) if draw(st.integers(0, 19)) < 18 else draw(_ZF_VALUES)
               for k, v in _QZ_JSON_PLAUSIBLE.items() if draw(st.integers(0, 19)) < 19}
        records.append(rec if draw(st.integers(0, 19)) else draw(json_value))
    answer: dict[str, Any] = {"data": records}
    if draw(st.booleans()):
        answer["code"] = draw(st.one_of(st.sampled_from([0, "0", 1, ""]), _ZF_VALUES))
    if draw(st.booleans()):
        answer["count"] = draw(st.one_of(st.integers(-3, 50), _ZF_VALUES))
    return answer


def check_qiangzhi_json(text: str) -> str:
    from gradewatch.schools.qiangzhi_grades import parse_json

    try:
        data = json.loads(text)
    except ValueError:
        return "not JSON"
    try:
        return _tally(parse_json(data)[0])
    except ValueError:
        return "ValueError"


#: name → (strategy of inputs, property). Each property names its outcome; it raises only on an untyped failure.
PARSERS: dict[str, tuple[st.SearchStrategy[Any], Callable[[Any], str]]] = {
    "ssfw": (st.one_of(ssfw_grade_page(), garbage_page), check_ssfw_parse),
    "qiangzhi": (st.one_of(qiangzhi_grade_page(), garbage_page), check_qiangzhi_parse),
    "zf": (st.one_of(zf_grade_answer().map(zf_answer_text), garbage_page), check_zf_parse),
    "qiangzhi-json": (st.one_of(qiangzhi_json_answer().map(zf_answer_text), garbage_page), check_qiangzhi_json),
}


# ---- login answers, through a real (loopback) exchange --------------------------------------------
_LOGIN_MESSAGES = ["用户名或密码错误", "密码错误", "认证失败", "验证码错误", "验证码不正确", "账号已锁定", "冻结",
                   "登录失败次数过多", "用户不存在", "请先登录", "", "欢迎"]


@st.composite
def login_answer(draw: Any) -> tuple[int, str]:
    """(status, page) of a login POST's answer: the message in one of the places schools put it, or noise."""
    message = draw(st.one_of(st.sampled_from(_LOGIN_MESSAGES), st.text(max_size=40)))
    where = draw(st.sampled_from([
        '<div id="errorInfo">{m}</div>', '<font color="red">{m}</font>', '<div id="tips">{m}</div>',
        '<span id="showMsg">{m}</span>', "<script>alert('{m}')</script>", "{m}",
        '<form><input name="j_username"><input id="yhm"><input id="userAccount"></form><p>{m}</p>',
    ]))
    page = "<html><head><title>登录</title></head><body>" + where.format(m=html_lib.escape(message)) + "</body></html>"
    page = draw(st.one_of(st.just(page), garbage_page))
    status = draw(st.sampled_from([200, 200, 200, 302, 404, 500]))
    return status, page
