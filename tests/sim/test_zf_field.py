"""The ZF simulator against requests built the way real browsers and published clients build them
(one test per field-notes bullet). The adapter over each variant: tests/schools/test_field_variants.py."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import padding
from selectolax.lexbor import LexborHTMLParser

from gradewatch.sim import zf as zfsim

from .test_zf_sim import KnownCaptchas, ZfBrowser, tips

SchoolSim = Any
MENU = "/jwglxt/xtgl/index_initMenu.html"


@pytest.fixture
def captchas() -> KnownCaptchas:
    return KnownCaptchas()


@pytest.fixture
def start(make_school_sim: Callable[..., SchoolSim], captchas: KnownCaptchas) -> Callable[..., tuple[Any, ZfBrowser]]:
    def go(**options: Any) -> tuple[Any, ZfBrowser]:
        sim = make_school_sim("zf", captchas=captchas, **options)
        return sim, ZfBrowser(sim, captchas)

    return go


def logged_in(resp: httpx.Response) -> bool:
    return resp.status_code == 302 and resp.headers["location"].startswith(MENU)


def test_base64_with_a_trailing_newline_is_accepted(start: Callable[..., tuple[Any, ZfBrowser]]) -> None:
    sim, b = start()
    b.open_login()
    code = b.captcha()
    assert logged_in(b.post(sim.username, b.encrypt(sim.password) + "\n", code))
    b2 = ZfBrowser(sim, b.captchas)  # and wrapped the way a MIME encoder wraps it
    b2.open_login()
    code = b2.captcha()
    mm = b2.encrypt(sim.password)
    assert logged_in(b2.post(sim.username, mm[:76] + "\r\n" + mm[76:] + "\n", code))


def test_ciphertext_one_byte_short_is_accepted(start: Callable[..., tuple[Any, ZfBrowser]]) -> None:
    # jsbn (the browser's RSA) drops leading zero bytes: a ciphertext below 2^1016 arrives as 127 bytes.
    sim, b = start()
    b.open_login()
    code = b.captcha()
    key = b.public_key()
    for _ in range(5000):  # about 1 in 256 ciphertexts starts with a zero byte
        raw = key.encrypt(sim.password.encode(), padding.PKCS1v15())
        if raw[0] == 0:
            break
    else:
        pytest.fail("no ciphertext with a leading zero byte in 5000 tries")
    assert logged_in(b.post(sim.username, base64.b64encode(raw[1:]).decode(), code))


def test_signed_modulus_variant(start: Callable[..., tuple[Any, ZfBrowser]]) -> None:
    sim, b = start(modulus="signed")
    b.open_login()
    data = b.http.get("/jwglxt/xtgl/login_getPublicKey.html").json()
    raw = base64.b64decode(data["modulus"])
    assert data["modulus"].startswith("A") and len(raw) == 129 and raw[0] == 0 and data["exponent"] == "AQAB"
    assert logged_in(b.login(sim.username, sim.password))  # the browser reads the same number


def test_home_carries_session_user_key(start: Callable[..., tuple[Any, ZfBrowser]]) -> None:
    sim, b = start()
    assert logged_in(b.login(sim.username, sim.password))
    node = LexborHTMLParser(b.http.get(MENU).text).css_first('input[type="hidden"]#sessionUserKey')
    assert node is not None and node.attributes["value"] == sim.username


def test_duplicate_session_cookies_first_valid_wins_and_login_rotates_it(
        start: Callable[..., tuple[Any, ZfBrowser]]) -> None:
    sim, b = start()
    b.open_login()
    before = b.http.cookies["JSESSIONID"]
    resp = b.login(sim.username, sim.password)
    after = resp.cookies["JSESSIONID"]
    assert logged_in(resp) and after != before  # Tomcat gives the logged-in session a new id
    raw = httpx.Client(base_url=sim.root_url, timeout=10)
    try:
        home = raw.get(MENU, headers={"Cookie": f"JSESSIONID=0BSOLETE; JSESSIONID={after}"})
        assert home.status_code == 200 and sim.username in home.text
        other = raw.get("/jwglxt/xtgl/login_slogin.html").cookies["JSESSIONID"]  # live, not logged in
        first = raw.get(MENU, headers={"Cookie": f"JSESSIONID={other}; JSESSIONID={after}"})
        assert first.status_code == 302  # the first valid one counts, and it is not logged in
    finally:
        raw.close()


def test_route_cookie_must_be_kept(start: Callable[..., tuple[Any, ZfBrowser]]) -> None:
    sim, b = start(route_cookie=True)
    b.open_login()
    assert b.http.cookies.get("route")
    code = b.captcha()
    mm = b.encrypt(sim.password)
    b.http.cookies.delete("route")  # a client that drops it reaches a node without its session
    assert tips(b.post(sim.username, mm, code)) == zfsim.STALE_FORM
    assert logged_in(ZfBrowser(sim, b.captchas).login(sim.username, sim.password))


def test_no_page_size_cap(start: Callable[..., tuple[Any, ZfBrowser]]) -> None:
    sim, b = start()
    b.login(sim.username, sim.password)
    total = len(sim.admin.grades(sim.username))
    answer = b.grades(**{"queryModel.showCount": "500"}).json()
    assert answer["totalPage"] == 1 and len(answer["items"]) == total > 15


def test_only_the_vendor_texts(start: Callable[..., tuple[Any, ZfBrowser]]) -> None:
    sim, b = start(refuse={"2099000001": "disabled"})
    assert tips(b.login("1999999999", "x")) == "用户名不存在！"
    assert tips(b.login(sim.username, "wrong")) == "用户名或密码不正确，请重新输入！"
    sim.admin.control(reject_captcha=True)
    assert tips(b.login(sim.username, sim.password)) == "验证码输入错误！"
    texts = {zfsim.WRONG_CAPTCHA, zfsim.BAD_CREDENTIALS, zfsim.UNKNOWN_USER, *zfsim.REFUSALS.values()}
    assert texts == {"验证码输入错误！", "用户名或密码不正确，请重新输入！", "用户名不存在！", "用户已被禁用！",
                     "该用户无所属角色，禁止登录！", "校内用户请从信息门户登录！"}
    assert not hasattr(zfsim, "LOCKED")  # the made-up lock text is gone


def test_vendor_captcha_only_after_three_failures(start: Callable[..., tuple[Any, ZfBrowser]]) -> None:
    sim, b = start(captcha_policy="after_failures")
    page = LexborHTMLParser(b.open_login().text)
    assert page.css_first("input#yzm") is None  # a fresh session is asked no captcha
    for n in range(3):
        b.open_login()
        assert tips(b.post(sim.username, b.encrypt(f"guess-{n}"), None)) == zfsim.BAD_CREDENTIALS
    page = LexborHTMLParser(b.open_login().text)
    assert page.css_first("input#yzm") is not None  # now it is, and it is checked
    assert tips(b.post(sim.username, b.encrypt(sim.password), "zzzz")) == zfsim.WRONG_CAPTCHA
    b.open_login()
    assert logged_in(b.post(sim.username, b.encrypt(sim.password), b.captcha()))


def test_no_csrftoken_variant(start: Callable[..., tuple[Any, ZfBrowser]]) -> None:
    sim, b = start(csrftoken=False)
    assert LexborHTMLParser(b.open_login().text).css_first("#csrftoken") is None
    code = b.captcha()
    resp = b.http.post("/jwglxt/xtgl/login_slogin.html",
                       data={"language": "zh_CN", "yhm": sim.username, "mm": b.encrypt(sim.password), "yzm": code})
    assert logged_in(resp)


def test_dg_only_and_sparse_fields(start: Callable[..., tuple[Any, ZfBrowser]]) -> None:
    sim, b = start(grade_endpoints="dg", fields="sparse")
    b.login(sim.username, sim.password)
    assert b.grades().status_code == 404  # cjcx_cxXsgrcj is not deployed here
    form = {"xnm": "", "xqm": "", "queryModel.showCount": "100", "queryModel.currentPage": "1"}
    answer = b.http.post("/jwglxt/cjcx/cjcx_cxDgXscj.html?doType=query&gnmkdm=N305005", data=form).json()
    assert "totalPage" not in answer and isinstance(answer["totalResult"], str)
    item = answer["items"][0]
    assert "ksxz" not in item and "xnmmc" not in item and "jd" not in item and item["ksxzdm"]
    assert all(re.fullmatch(r"\d+\.\d", i["xf"]) for i in answer["items"])  # "5.0", "0.5"
    assert len({i["tjsj"] for i in answer["items"]}) > 1  # submitted per course, not all at once
