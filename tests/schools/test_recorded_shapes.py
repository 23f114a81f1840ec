"""Responses in the shapes real schools serve (tests/fixtures, written by us from the field notes),
fed through each adapter's parser."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from selectolax.lexbor import LexborHTMLParser

from gradewatch.grades import Grade
from gradewatch.schools import qiangzhi, ssfw, zf

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def load_json(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def load_html(name: str) -> LexborHTMLParser:
    return LexborHTMLParser((FIXTURES / name).read_text(encoding="utf-8"))


def by_name(grades: list[Grade]) -> dict[str, Grade]:
    return {g.course_name: g for g in grades}


# ---- ZF ---------------------------------------------------------------------------------------
def test_zf_signed_and_bare_modulus_are_the_same_key() -> None:
    signed, bare = load_json("zf/public_key_signed.json"), load_json("zf/public_key_bare.json")
    assert signed["modulus"].startswith("A") and not bare["modulus"].startswith("A")
    a = zf.public_key_of(signed["modulus"], signed["exponent"]).public_numbers()
    b = zf.public_key_of(bare["modulus"], bare["exponent"]).public_numbers()
    assert a == b and a.n.bit_length() == 1024 and a.e == 65537
    # The server's base64 may be wrapped (Java's MIME encoder): whitespace is no part of the number.
    wrapped = signed["modulus"][:76] + "\r\n" + signed["modulus"][76:]
    assert zf.public_key_of(wrapped, "AQAB").public_numbers() == a
    with pytest.raises(ValueError):
        zf.public_key_of("not base64!", "AQAB")
    with pytest.raises(ValueError):
        zf.public_key_of("AQAB", "AQAB")  # far too small for RSA


def test_zf_full_answer() -> None:
    items, pages = zf.parse_page(load_json("zf/grades_full.json"))
    assert pages == 1 and len(items) == 3
    grades = by_name([g for g in map(zf.grade_of, items) if g is not None])
    physics = grades["大学物理(1)"]
    assert (physics.term, physics.score, physics.credits, physics.grade_point) == ("2022-2023-1", "88", 4.0, 3.8)
    assert physics.status == ""
    music = grades["音乐鉴赏"]  # cj W + cjbz 中期退课: withdrawn, not a score of "W"
    assert music.status == "withdrawn" and music.numeric_score is None and music.grade_point is None
    makeup = grades["高等数学A(1)"]
    assert makeup.exam_type == "补考" and makeup.attempt == "makeup" and makeup.credits == 5.0


def test_zf_sparse_answer() -> None:
    data = load_json("zf/grades_sparse.json")
    items, pages = zf.parse_page(data)
    assert pages == 1  # no totalPage: counted from totalResult (a string) and the page size asked for
    assert zf.parse_page(data, page_size=2)[1] == 2
    grades = [g for g in map(zf.grade_of, items) if g is not None]
    first, makeup, deferred = grades
    assert first.term == makeup.term == "2021-2022-1"  # xnmmc absent: from xnm, xqm 3 = term 1
    assert (first.exam_type, makeup.exam_type) == ("正常考试", "补考") and makeup.attempt == "makeup"
    assert first.key != makeup.key  # the make-up never gets the key of the first attempt
    assert first.grade_point is None and first.credits == 5.0  # jd absent
    assert deferred.term == "2022-2023-2" and deferred.status == "deferred"


def test_zf_held_and_ungraded_items() -> None:
    base = {"kch": "1", "kcmc": "x", "xnm": "2021", "xqm": "3", "ksxzdm": "01"}
    held = zf.grade_of({**base, "cj": "", "cjbz": "未评教"})
    assert held is not None and held.status == "held" and held.score == ""
    assert zf.grade_of({**base, "cj": ""}) is None  # listed, not graded yet: no grade


def test_zf_unknown_exam_code_gets_a_key_of_its_own() -> None:
    item = {"cj": "70", "kch": "1", "kcmc": "x", "xnm": "2021", "xqm": "3", "ksxzdm": "99"}
    grade = zf.grade_of(item)
    assert grade is not None and grade.exam_type == "考试性质99" and grade.key.endswith("|考试性质99")


# ---- 强智 ----------------------------------------------------------------------------------------
def test_qiangzhi_json_list() -> None:
    grades, count = qiangzhi.parse_json(load_json("qiangzhi/cjcx_list.json"))
    assert count == 3 and len(grades) == 3
    g = by_name(grades)
    assert (g["离散数学"].score, g["离散数学"].credits, g["离散数学"].course_nature) == ("93", 3.0, "必修")
    held = g["计算机组成原理"]  # kz = 1: held back until 评教
    assert held.status == "held" and held.score == ""
    assert g["大学物理(2)"].status == "deferred"
    with pytest.raises(ValueError):
        qiangzhi.parse_json({"code": 1, "msg": "请先评教", "data": []})


def test_qiangzhi_wide_table() -> None:
    grades = qiangzhi.parse_grades(load_html("qiangzhi/dataList_wide.html"))
    assert len(grades) == 3
    first, makeup, deferred = grades
    assert first.course_category == "公共基础课" and first.course_nature == "必修" and first.credits == 5.0
    assert makeup.exam_type == "补考" and makeup.key != first.key
    assert deferred.status == "deferred" and deferred.grade_point is None


def test_qiangzhi_components_and_linked_scores() -> None:
    grades = qiangzhi.parse_grades(load_html("qiangzhi/dataList_components.html"))
    physics, discrete = grades
    assert physics.score == "85" and physics.grade_point == 3.5  # the total inside a link
    assert physics.components == {"平时成绩": "90", "期中成绩": "82", "实验成绩": "95", "期末成绩": "80"}
    assert discrete.score == "优秀" and discrete.components == {}


def test_qiangzhi_header_in_its_own_table() -> None:
    grades = qiangzhi.parse_grades(load_html("qiangzhi/dataList_split_header.html"))
    assert [(g.course_name, g.score, g.status) for g in grades] == [
        ("数据结构", "88", ""), ("大学英语(2)", "作弊", "misconduct")]


def test_qiangzhi_login_form_markup() -> None:
    tree = load_html("qiangzhi/login_ldap.html")
    form = qiangzhi.QiangzhiAdapter.form_of(tree, "#userAccount", or_body=False)
    assert form is not None and form.attributes["action"] == "/jsxsd/xk/LoginToXkLdap"
    assert qiangzhi._captcha_src(tree, "http://jw.example/jsxsd/") == "http://jw.example/jsxsd/verifycode.servlet"
    assert qiangzhi._message(tree) == "验证码错误!!"
    kdjw = load_html("qiangzhi/login_kdjw.html")
    assert qiangzhi._message(kdjw) == "用户名或密码错误"
    assert qiangzhi._captcha_src(kdjw, "http://jw.example/") == "http://jw.example/verifycode.servlet"


# ---- SSFW ---------------------------------------------------------------------------------------
def test_ssfw_navmenu_page() -> None:
    grades = ssfw.parse_grades(load_html("ssfw/navmenu_grades.html"))
    c, psych = grades
    assert (c.term, c.score, c.credits) == ("2021-2022-1", "91", 3.5)
    assert psych.status == "withdrawn" and psych.score == "W"


def test_ssfw_cjxx_page_with_course_number() -> None:
    grades = ssfw.parse_cjxx(load_html("ssfw/cjxx_kch.html"))
    maths, english = grades
    assert (maths.term, maths.course_code, maths.score, maths.credits, maths.grade_point) == (
        "2010-2011-1", "0101001", "86", 5.0, 3.6)
    assert (english.term, english.score, english.course_nature) == ("2010-2011-2", "良好", "必修")


def test_ssfw_cjxx_page_with_course_code_and_final_score() -> None:
    pe, programming = ssfw.parse_cjxx(load_html("ssfw/cjxx_kcdm.html"))
    assert pe.course_code == "B0901010" and pe.status == "exempt"
    assert programming.score == "77" and programming.term == "2019-2020-1"
    with pytest.raises(ValueError, match="div#tab01"):
        ssfw.parse_cjxx(load_html("ssfw/navmenu_grades.html"))
