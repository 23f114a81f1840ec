"""The page helpers every adapter shares (schools/base.py), on small real-shaped pages."""

from __future__ import annotations

import httpx
import pytest
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from gradewatch.schools.base import SchoolAdapter
from gradewatch.schools.qiangzhi import QiangzhiAdapter
from gradewatch.schools.ssfw import SsfwAdapter
from gradewatch.schools.urp import UrpAdapter
from gradewatch.schools.zf import ZfAdapter

LOGIN = """<html><head><title>用户登录</title><script>var x = "密码错误";</script></head><body>
<div id="msg"> 验证码错误 </div>
<form action="/login" method="post"><input type="hidden" name="mode" value="local">
<input type="HIDDEN" name="lt" value="LT-1"><input type="hidden" value="no name">
<input name="j_username"></form></body></html>"""


def _answer(url: str, body: str, status: int = 200, content_type: str = "text/html; charset=utf-8") -> httpx.Response:
    return httpx.Response(status, text=body, headers={"content-type": content_type},
                          request=httpx.Request("GET", url))


def test_form_and_hidden_inputs() -> None:
    tree = HTMLParser(LOGIN)
    form = SchoolAdapter.form_of(tree, 'input[name="j_username"]')
    assert form is not None and form.tag == "form"
    assert SchoolAdapter.hidden_inputs(form) == {"mode": "local", "lt": "LT-1"}
    loose = HTMLParser('<body><input name="userAccount"></body>')  # a field posted by script, no form
    assert SchoolAdapter.form_of(loose, 'input[name="userAccount"]') is not None
    assert SchoolAdapter.form_of(loose, 'input[name="userAccount"]', or_body=False) is None
    assert SchoolAdapter.form_of(loose, "#absent") is None


def test_login_page_by_url_field_or_title() -> None:
    tree = HTMLParser(LOGIN)
    assert SchoolAdapter.is_login_page(_answer("http://s/x/Login.JSP", "<p>"), HTMLParser("<p>"), paths=("login.jsp",))
    assert SchoolAdapter.is_login_page(_answer("http://s/grades", LOGIN), tree, fields=('input[name="j_username"]',))
    assert SchoolAdapter.is_login_page(_answer("http://s/grades", LOGIN), tree, titles=("用户登录",))
    grades = HTMLParser("<title>成绩</title><table></table>")
    assert not SchoolAdapter.is_login_page(_answer("http://s/grades", ""), grades, paths=("login.jsp",),
                                           fields=("#yhm",), titles=("用户登录",))


def test_page_text() -> None:
    tree = HTMLParser(LOGIN)
    assert SchoolAdapter.text_at(tree, "#msg, #nothing") == "验证码错误"
    assert SchoolAdapter.text_at(tree, "#nothing") == ""
    assert "密码错误" not in SchoolAdapter.visible_text(tree)  # a script's strings are not what the page says
    assert SchoolAdapter.visible_text(tree, strip=True).split() == ["验证码错误"]


def test_numbers() -> None:
    assert SchoolAdapter.strict_number(" 3.5 ", "credits") == 3.5
    assert SchoolAdapter.strict_number("", "credits") is None and SchoolAdapter.strict_number(None, "jd") is None
    with pytest.raises(ValueError, match="unreadable credits 'three'"):
        SchoolAdapter.strict_number("three", "credits")
    assert SchoolAdapter.number("０.５") == 0.5 and SchoolAdapter.number("优") is None


def test_json_answers_only() -> None:
    assert SchoolAdapter.json_of(_answer("http://s/q", ' {"items": []}', content_type="application/json")) == {
        "items": []}
    assert SchoolAdapter.json_of(_answer("http://s/q", "[1]"), opening="{") is None
    assert SchoolAdapter.json_of(_answer("http://s/q", "<html>login</html>")) is None
    assert SchoolAdapter.json_of(_answer("http://s/q", '{"a": 1}', status=302)) is None
    assert SchoolAdapter.json_of(_answer("http://s/q", "{broken")) is None


def test_root_above() -> None:
    assert SchoolAdapter.root_above("https://x.edu.cn:8443/web/ssfw/index.do?a=1", "/ssfw/") == "https://x.edu.cn:8443/web"
    assert SchoolAdapter.root_above("http://x.edu.cn/ssfw", "/ssfw/") == "http://x.edu.cn"
    assert SchoolAdapter.root_above("http://x.edu.cn/other/page", "/ssfw/") is None
    assert SchoolAdapter.root_above("http://a.edu.cn/jw/Logon.do", "/jsxsd", "/Logon.do") == "http://a.edu.cn/jw"


@pytest.mark.parametrize(("adapter", "url", "html", "expected"), [
    (SsfwAdapter, "http://s/web/ssfw/login.jsp", "", True),
    (SsfwAdapter, "http://s/", '<form action="j_spring_ids_security_check">', True),
    (ZfAdapter, "http://s/jwglxt/xtgl/login_slogin.html", "", True),
    (ZfAdapter, "http://s/", '<input id="csrftoken"><input name="yhm">', True),
    (ZfAdapter, "http://s/", '<input id="csrftoken">', False),  # one of a group's two marks is not enough
    (QiangzhiAdapter, "http://s/", '<img src="verifycode.servlet"><form action="Logon.do">', True),
    (QiangzhiAdapter, "http://s/", '<img src="verifycode.servlet">', False),
    (UrpAdapter, "http://s/login", '<form action="j_spring_security_check"><input name="tokenValue">', True),
    (UrpAdapter, "http://s/login", '<form action="j_spring_security_check">', False),
])
def test_declared_recognition(adapter: type[SchoolAdapter], url: str, html: str, expected: bool) -> None:
    assert adapter.recognise(url, html) is expected


def test_captcha_option() -> None:
    for setting, page_shows, wanted in (("auto", True, True), ("auto", False, False), (False, True, False),
                                        (True, False, True)):
        with QiangzhiAdapter("http://127.0.0.1:9", options={"captcha": setting}) as adapter:
            assert adapter.captcha_wanted(page_shows) is wanted
