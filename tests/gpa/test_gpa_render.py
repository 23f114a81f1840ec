"""Tables, JSON form, the notification line and what `gradewatch gpa` prints."""

from __future__ import annotations

import json

import pytest
from rich.console import Console

from gradewatch.gpa import (
    GpaSettings,
    compute,
    compute_many,
    gpa_change_line,
    gpa_command,
    gpa_table,
    reports_to_dict,
)
from gradewatch.grades import Grade

T1, T2 = "2023-2024-1", "2023-2024-2"
GRADES = [
    Grade(T1, "MATH101", "高数", "92", 5.0),
    Grade(T1, "ENG101", "英语", "84", 3.0),
    Grade(T2, "MATH102", "线代", "77", 3.0),
    Grade(T2, "PHY101", "物理", "66", 4.0),
    Grade(T2, "POL101", "思政", "88", 2.0),
    Grade(T2, "PE101", "体育", "通过", 1.0),
]
# 标准4.0 by hand: T1 (4·5 + 3·3)/8 = 3.625, avg (460+252)/8 = 89.00
#                  T2 (2·3 + 1·4 + 3·2)/9 = 1.778, avg (231+264+176)/9 = 74.56
#                  累计 45/17 = 2.647, 1383/17 = 81.35


def text(renderable, width: int = 120) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_single_scale_table() -> None:
    out = text(gpa_table([compute(GRADES, "standard4")], title="me · GPA"))
    assert "GPA (标准4.0)" in out
    lines = [line for line in out.splitlines() if T1 in line or T2 in line or "累计" in line]
    assert [line.split("│")[1:6] for line in lines] == [
        [f" {T1} ", "    2 ", "    8 ", "      89.00 ", "         3.625 "],
        [f" {T2} ", "    3 ", "    9 ", "      74.56 ", "         1.778 "],
        [" 累计        ", "    5 ", "   17 ", "      81.35 ", "         2.647 "],
    ]
    assert "未计入 1 条：通过/不通过制 1" in out


def test_all_scales_table() -> None:
    reports = compute_many(GRADES, ["standard4", "sjtu43", "wes"])
    out = text(gpa_table(reports))
    row = {
        line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:5]]
        for line in out.splitlines()[3:]
        if line.startswith("│")
    }
    assert row["学分"] == ["17", "8", "9"]
    assert row["加权平均分"] == ["81.35", "89.00", "74.56"]
    assert row["标准4.0"] == ["2.647", "3.625", "1.778"]
    # 上海交大4.3 T1: (4.0·5 + 3.3·3)/8 = 3.7375; T2: (3.0·3 + 2.0·4 + 3.7·2)/9 = 2.711
    assert row["上海交大4.3"] == ["3.194", "3.737", "2.711"]
    assert row["WES (估算)"][0] == "3.176"
    assert "WES 为估算（WES 还会调整学分）" in out


def test_term_filter_keeps_cumulative() -> None:
    out = text(gpa_table([compute(GRADES, "standard4")], terms=[T2]))
    assert T2 in out and T1 not in out and "2.647" in out


def test_reports_to_dict() -> None:
    data = reports_to_dict(compute_many(GRADES, ["standard4", "pku_formula"]))
    json.dumps(data, ensure_ascii=False)
    assert data["scales"][0] == {"id": "standard4", "name": "标准4.0", "estimate": False, "max_points": 4.0}
    assert data["terms"][0] == {
        "term": T1,
        "courses": 2,
        "credits": 8.0,
        "average": 89.0,
        # pku formula: 92 → 3.88, 84 → 3.52: (19.4 + 10.56)/8 = 3.745
        "gpa": {"standard4": 3.625, "pku_formula": 3.745},
    }
    assert data["cumulative"]["gpa"] == {"standard4": 2.6471, "pku_formula": 3.1632}
    assert data["excluded"] == [
        {
            "term": T2,
            "course_code": "PE101",
            "course_name": "体育",
            "score": "通过",
            "reason": "通过/不通过制",
        }
    ]
    only_t1 = reports_to_dict(compute_many(GRADES, ["standard4"]), terms=[T1])
    assert [t["term"] for t in only_t1["terms"]] == [T1] and only_t1["excluded"] == []


def test_gpa_change_line() -> None:
    # before: 高数 英语 线代 → (20 + 9 + 6)/11 = 3.18, (460 + 252 + 231)/11 = 85.73
    line = gpa_change_line(GRADES[:3], GRADES, GpaSettings())
    assert line == "GPA 标准4.0: 3.18 → 2.65 · 加权平均分 85.73 → 81.35"
    # 北大4.0: before (4·5 + 3.3·3 + 2.7·3)/11 = 3.45; after 51.4/17 = 3.02
    assert gpa_change_line(GRADES[:3], GRADES, GpaSettings(scale="北大4.0")) == (
        "GPA 北大4.0: 3.45 → 3.02 · 加权平均分 85.73 → 81.35"
    )
    assert gpa_change_line([], GRADES[:1]) == "GPA 标准4.0: — → 4.00 · 加权平均分 — → 92.00"
    assert gpa_change_line([], [GRADES[5]]) is None
    assert gpa_change_line([], []) is None


def run(capsys: pytest.CaptureFixture[str], **kw) -> tuple[int, str, str]:
    code = gpa_command(**kw, console=Console(width=150, color_system=None))
    out, err = capsys.readouterr()
    return code, out, err


def test_gpa_command_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, grades_by_account={"alice": GRADES, "bob": []})
    assert code == 0
    assert "alice · GPA" in out and "2.647" in out and "bob: 还没有成绩" in out


def test_gpa_command_uses_account_scale_and_all(capsys: pytest.CaptureFixture[str]) -> None:
    settings = {"alice": GpaSettings(scale="canada43")}
    _, out, _ = run(capsys, grades_by_account={"alice": GRADES}, settings_by_account=settings)
    assert "GPA (加拿大4.3)" in out and "3.606" in out
    _, out, _ = run(capsys, grades_by_account={"alice": GRADES}, scale="all", settings_by_account=settings)
    assert "北大/北航/北邮公式" in out and "5分制" in out and "3.135" in out


def test_gpa_command_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, grades_by_account={"alice": GRADES}, scale="wes", term=T1, as_json=True)
    assert code == 0
    data = json.loads(out)
    alice = data["accounts"]["alice"]
    assert alice["scales"][0]["estimate"] is True
    assert [t["term"] for t in alice["terms"]] == [T1]
    assert alice["cumulative"]["gpa"] == {"wes": 3.1765}


def test_gpa_command_unknown_scale_and_term(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, grades_by_account={"alice": GRADES}, scale="gpa9")
    assert code == 2 and "unknown GPA scale 'gpa9'" in err and out == ""
    code, out, _ = run(capsys, grades_by_account={"alice": GRADES}, term="2030-2031-1")
    assert code == 0 and "没有学期 2030-2031-1 的成绩" in out
