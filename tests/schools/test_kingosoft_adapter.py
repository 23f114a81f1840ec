"""The 青果 (Kingosoft) adapter and its DES against the simulator over loopback, with the shipped model."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

import httpx
import pytest

from gradewatch.grades import Grade
from gradewatch.schools import adapter_class
from gradewatch.schools.detect import detect
from gradewatch.schools.errors import AccountLocked, SessionExpired, UnexpectedPage, WrongCaptcha, WrongPassword
from gradewatch.schools.kingosoft import KingosoftAdapter, password_class_mask
from gradewatch.schools.kingosoft_des import decrypt_params, encrypt_params, md5_hex, str_dec, str_enc

from .helpers import creds

SchoolSim = Any  # tests/conftest.py's SchoolSim

# Produced by running the public jkingo.des.js strEnc(data, key, null, null) under Node.js.
VECTORS = [
    ("abc", "12345678", "876D7CB6874F041C"),
    ("abcd", "1", "4A60B51D4FD386C1"),
    ("username=2021010001&password=x", "4021501230754998503",
     "3AE1201E68164E8979DFF426268516C85FAB78E157312D765E00A70843C8F2CF475EE11EC65EF9B0842612602AAE00220B"
     "2C05822FC2F6C68524B6B52AF2C97B"),
    ("中文ab", "6331534859898612722", "21CE553CEC09C28C"),
    ("p", "6061586830242491265", "ADC03B1CFD91B750"),
    ("\U0001f600x", "99", "39E91CA94D070AD2"),
]
LOGIN_QUERY = ("_u1a2b=MjAyMTAxMDAwMTs7QUJDMTIz&_p1a2b=0cc175b9c0f1b6a831c399e269772661&randnumber=1a2b"
               "&isPasswordPolicy=1&txt_mm_expression=12&txt_mm_length=14&txt_mm_userzh=0&hid_flag=1&hidlag=1")
LOGIN_QUERY_HEAD = "4D82029FD6207F3E501B886E42D5151DF72653C69ABC79C593E03A9A297F791F"
LOGIN_QUERY_TAIL = "6B69D80F1E"


@pytest.mark.parametrize(("data", "key", "expected"), VECTORS)
def test_des_matches_the_page_script(data: str, key: str, expected: str) -> None:
    assert str_enc(data, key) == expected
    assert str_dec(expected, key) == data


def test_des_of_a_whole_login_query_and_the_wrapper() -> None:
    out = str_enc(LOGIN_QUERY, "1234567890123456789")
    assert out.startswith(LOGIN_QUERY_HEAD) and out.endswith(LOGIN_QUERY_TAIL) and len(out) == 16 * 45
    wrapped = encrypt_params(LOGIN_QUERY, "1234567890123456789", "2024-05-01 08:00:00")
    assert base64.b64decode(wrapped["params"]).decode() == out
    assert wrapped["token"] == md5_hex(md5_hex(LOGIN_QUERY) + md5_hex("2024-05-01 08:00:00"))
    assert decrypt_params(wrapped["params"], "1234567890123456789") == LOGIN_QUERY
    with pytest.raises(ValueError):
        decrypt_params("bm90IGhleA==", "1")
    assert password_class_mask("Ab1!") == 15 and password_class_mask("abc") == 4


@pytest.fixture(scope="module")
def kingo_solver() -> Any:
    from gradewatch.captcha.solver import load_solver

    return load_solver("kingosoft")


@pytest.fixture
def connect(adapters: Callable[..., Any], kingo_solver: Any) -> Callable[..., KingosoftAdapter]:
    return partial(adapters, KingosoftAdapter, solver=kingo_solver)


def same(got: list[Grade], published: list[Grade]) -> bool:
    """The result tables carry no 必修/选修 and the school adds the grade point: compare the rest."""
    def norm(gs: list[Grade]) -> list[Grade]:
        return sorted((replace(g, course_nature="", grade_point=None) for g in gs), key=lambda g: g.key)

    return norm(got) == norm(published)


def test_registered_and_recognised() -> None:
    assert adapter_class("kingosoft") is KingosoftAdapter
    assert KingosoftAdapter.base_url_from("http://jw.example.edu.cn/jwweb/cas/login.action") == \
        "http://jw.example.edu.cn/jwweb"
    assert not KingosoftAdapter.recognise("http://a.edu.cn/login", "<script>var tokenValue;</script>")


@pytest.mark.parametrize("login", ["des", "plain"])
def test_login_grades_and_reuse(make_school_sim: Callable[..., SchoolSim], connect: Any, login: str) -> None:
    sim = make_school_sim("kingosoft", login=login)
    first = connect(sim)
    grades, logged_in = first.check(creds(sim))
    assert logged_in and same(grades, sim.admin.grades(sim.username)) and first._variant == login
    again, logged_in = connect(sim, cookies=first.export_cookies()).check(creds(sim))
    assert not logged_in and same(again, grades)
    sim.admin.expire_sessions()
    with pytest.raises(SessionExpired):
        connect(sim, cookies=first.export_cookies()).fetch_grades()


def test_without_captcha(make_school_sim: Callable[..., SchoolSim], connect: Any) -> None:
    sim = make_school_sim("kingosoft", captcha=False)
    grades, _ = connect(sim).check(creds(sim))
    assert same(grades, sim.admin.grades(sim.username))
    assert sim.admin.stats(sim.username)["captcha_fetches"] == 0


def test_wrong_password_then_lock(make_school_sim: Callable[..., SchoolSim], connect: Any) -> None:
    sim = make_school_sim("kingosoft")
    for n in range(5):
        with pytest.raises(WrongPassword):
            connect(sim).login(creds(sim, f"guess-{n}"))
    with pytest.raises(AccountLocked, match="锁定"):
        connect(sim).login(creds(sim))


def test_wrong_captcha_three_times(make_school_sim: Callable[..., SchoolSim], connect: Any) -> None:
    sim = make_school_sim("kingosoft")
    sim.admin.control(reject_captcha=True)
    with pytest.raises(WrongCaptcha):
        connect(sim).login(creds(sim))
    assert sim.admin.stats(sim.username)["outcomes"]["wrong_captcha"] == 3


def test_broken_grade_page_is_unexpected(make_school_sim: Callable[..., SchoolSim], connect: Any) -> None:
    sim = make_school_sim("kingosoft")
    adapter = connect(sim)
    adapter.check(creds(sim))
    sim.admin.control(broken_grades=True)
    with pytest.raises(UnexpectedPage, match="term"):
        adapter.fetch_grades()


def test_detect_names_it(make_school_sim: Callable[..., SchoolSim]) -> None:
    sim = make_school_sim("kingosoft")
    for url in (sim.root_url, sim.root_url + "/cas/login.action"):
        found, final, _ = detect(url)
        assert found is not None and (found.system, found.base_url) == ("kingosoft", sim.base_url), final


def test_simulator_checks_token_key_and_session(make_school_sim: Callable[..., SchoolSim]) -> None:
    sim = make_school_sim("kingosoft", captcha=False)
    with httpx.Client(base_url=sim.root_url) as http:
        http.get("/cas/login.action")
        sid = http.cookies["JSESSIONID"]
        script = http.get("/custom/js/SetKingoEncypt.jsp").text
        deskey = script.split("_deskey = '")[1].split("'")[0]
        nowtime = script.split("_nowtime = '")[1].split("'")[0]
        ident = base64.b64encode(f"{sim.username};;{sid}".encode()).decode()
        secret = md5_hex(md5_hex(sim.password) + md5_hex(""))
        query = f"_u={ident}&_p={secret}&randnumber=&isPasswordPolicy=1"
        forged = {**encrypt_params(query, deskey, nowtime), "token": md5_hex("forged")}
        assert http.post("/cas/logon.action", data=forged).json()["status"] == "500"  # and the key is used up
        script = http.get("/custom/js/SetKingoEncypt.jsp").text
        deskey = script.split("_deskey = '")[1].split("'")[0]
        nowtime = script.split("_nowtime = '")[1].split("'")[0]
        ok = http.post("/cas/logon.action", data=encrypt_params(query, deskey, nowtime)).json()
        assert ok == {"status": "200", "message": "登录成功", "result": "/frame/homes.action"}
    assert sim.admin.stats(sim.username)["login_posts"] == 1
