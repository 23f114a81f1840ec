"""The 强智 (jsxsd) simulator, spoken to over loopback with raw HTTP (no adapter)."""

from __future__ import annotations

import base64
import io
import random
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from PIL import Image, ImageDraw
from selectolax.lexbor import LexborHTMLParser

from gradewatch.grades import Grade
from gradewatch.schools.qiangzhi import encode_seed
from gradewatch.sim.qiangzhi import decode_seed

SchoolSim = Any  # tests/conftest.py's SchoolSim: a RunningSim with .system and .root_url
MAIN = "/jsxsd/framework/xsMain.jsp"
NEW = Grade(term="2022-2023-2", course_code="0801021", course_name="计算机组成原理", score="87", credits=4.0,
            course_nature="必修", course_category="专业基础课")


class KnownCaptchas:
    def __init__(self) -> None:
        self.answers: dict[bytes, str] = {}
        self._rng = random.Random(9)

    def next(self) -> tuple[str, bytes, str]:
        text = "".join(self._rng.choices("123bcmnvxz", k=4))
        img = Image.new("RGB", (62, 22), "white")
        ImageDraw.Draw(img).text((2, 2), f"{text}{len(self.answers)}", fill="black")
        buf = io.BytesIO()
        img.save(buf, "PNG")
        self.answers[buf.getvalue()] = text
        return text, buf.getvalue(), "image/png"


class QzBrowser:
    """Raw HTTP against the simulator in either login variant; redirects not followed."""

    def __init__(self, sim: SchoolSim, captchas: KnownCaptchas, variant: str = "seed") -> None:
        self.http = httpx.Client(base_url=sim.root_url, timeout=10)
        self.captchas = captchas
        self.variant = variant

    def open_login(self) -> httpx.Response:
        return self.http.get("/" if self.variant == "seed" else "/jsxsd/")

    def captcha(self) -> str:
        path = "/verifycode.servlet" if self.variant == "seed" else "/jsxsd/verifycode.servlet"
        resp = self.http.get(path)
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("image/")
        return self.captchas.answers[resp.content]

    def post(self, username: str, password: str, code: str | None) -> httpx.Response:
        form = {"userAccount": username, "userPassword": ""}
        if code is not None:
            form["RANDOMCODE"] = code
        if self.variant == "seed":
            scode, _, sxh = self.http.post("/Logon.do?method=logon&flag=sess").text.partition("#")
            form["encoded"] = encode_seed(f"{username}%%%{password}", scode, sxh)
            return self.http.post("/Logon.do?method=logon", data=form)
        form["encoded"] = f"{_b64(username)}%%%{_b64(password)}"
        return self.http.post("/jsxsd/xk/LoginToXk", data=form)

    def login(self, username: str, password: str) -> httpx.Response:
        """Log in and follow the redirect chain by hand; returns the last answer."""
        self.open_login()
        resp = self.post(username, password, self.captcha())
        for _ in range(3):
            if resp.status_code != 302:
                break
            resp = self.http.get(resp.headers["location"])
        return resp

    def grades(self, term: str = "") -> httpx.Response:
        self.http.get("/jsxsd/kscj/cjcx_frm")
        return self.http.post("/jsxsd/kscj/cjcx_list", data={"kksj": term, "kcxz": "", "kcmc": "", "xsfs": "all"})


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def message(resp: httpx.Response) -> str:
    node = LexborHTMLParser(resp.text).css_first(".dlmi font[color=red], span#errorinfo")
    return node.text(strip=True) if node is not None else ""


def table(resp: httpx.Response) -> tuple[list[str], list[list[str]]]:
    node = LexborHTMLParser(resp.text).css_first("table#dataList")
    assert node is not None, resp.text[:300]
    header = [th.text(strip=True) for th in node.css("th")]
    rows = [[td.text(strip=True) for td in tr.css("td")] for tr in node.css("tr") if tr.css_first("td")]
    return header, rows


@pytest.fixture
def captchas() -> KnownCaptchas:
    return KnownCaptchas()


@pytest.fixture
def make(make_school_sim: Callable[..., SchoolSim], captchas: KnownCaptchas) -> Callable[..., tuple[Any, QzBrowser]]:
    made: list[QzBrowser] = []

    def start(variant: str = "seed", **options: Any) -> tuple[Any, QzBrowser]:
        sim = make_school_sim("qiangzhi", captchas=captchas, login=variant, **options)
        browser = QzBrowser(sim, captchas, variant)
        made.append(browser)
        return sim, browser

    yield start
    for b in made:
        b.http.close()


def test_seed_encoding_round_trips() -> None:
    sxh = "01230123012301230123"
    scode = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    assert encode_seed("abc", scode, sxh) == "abAcBC"
    for text in ("2021010001%%%demo-pass-2021", "1%%%x", "学号%%%密码很长很长很长很长很长很长"):
        assert decode_seed(encode_seed(text, scode, sxh), sxh) == text


def test_seed_login_needs_the_ticket_hop(make: Callable[..., tuple[Any, QzBrowser]]) -> None:
    sim, b = make("seed")
    page = LexborHTMLParser(b.open_login().text)
    assert page.css_first("form#loginForm").attributes["action"] == "Logon.do?method=logon"
    assert page.css_first("img#SafeCodeImg") is not None and "湖南强智" in page.html
    seed = b.http.post("/Logon.do?method=logon&flag=sess").text
    scode, sep, sxh = seed.partition("#")
    assert sep and scode and len(sxh) == 20 and sxh.isdigit()
    b.open_login()
    resp = b.post(sim.username, sim.password, b.captcha())
    assert resp.status_code == 302 and "/jsxsd/xk/LoginToXk?method=jwxt&ticqzket=" in resp.headers["location"]
    assert "请先登录" in b.http.get(MAIN).text  # not logged in before the hop
    hop = b.http.get(resp.headers["location"])
    assert hop.status_code == 302 and hop.headers["location"] == MAIN
    home = b.http.get(MAIN)
    assert "学生个人中心" in home.text and sim.username in home.text


def test_direct_login(make: Callable[..., tuple[Any, QzBrowser]]) -> None:
    sim, b = make("direct")
    page = LexborHTMLParser(b.open_login().text)
    assert page.css_first("form#loginForm").attributes["action"] == "/jsxsd/xk/LoginToXk"
    assert b.http.post("/Logon.do?method=logon&flag=sess").status_code == 404
    assert "学生个人中心" in b.login(sim.username, sim.password).text


@pytest.mark.parametrize("variant", ["seed", "direct"])
def test_error_texts_and_lock(make: Callable[..., tuple[Any, QzBrowser]], variant: str) -> None:
    sim, b = make(variant)
    b.open_login()
    b.captcha()
    assert message(b.post(sim.username, sim.password, "zzzz1")) == "验证码错误!!"
    for n in range(5):
        assert message(b.login(sim.username, f"guess-{n}")) == "用户名或密码错误"
    for password in (sim.password, "guess"):
        assert "锁定" in message(b.login(sim.username, password))
    stats = sim.admin.stats(sim.username)
    assert stats["locked"] and stats["outcomes"] == {"ok": 0, "wrong_captcha": 1, "wrong_password": 5, "locked": 2}


def test_a_seed_serves_one_login(make: Callable[..., tuple[Any, QzBrowser]]) -> None:
    sim, b = make("seed")
    b.open_login()
    scode, _, sxh = b.http.post("/Logon.do?method=logon&flag=sess").text.partition("#")
    encoded = encode_seed(f"{sim.username}%%%{sim.password}", scode, sxh)
    form = {"userAccount": sim.username, "userPassword": "", "encoded": encoded}
    assert b.http.post("/Logon.do?method=logon", data={**form, "RANDOMCODE": b.captcha()}).status_code == 302
    b2 = QzBrowser(sim, b.captchas)
    b2.open_login()
    b2.http.post("/Logon.do?method=logon&flag=sess")
    replay = b2.http.post("/Logon.do?method=logon", data={**form, "RANDOMCODE": b2.captcha()})
    assert message(replay) == "用户名或密码错误"  # another session's seed: the password does not decode


def test_a_new_login_kicks_out_the_old_session(make: Callable[..., tuple[Any, QzBrowser]]) -> None:
    sim, first = make("seed")
    first.login(sim.username, sim.password)
    assert "dataList" in first.grades().text
    second = QzBrowser(sim, first.captchas)
    second.login(sim.username, sim.password)
    evicted = first.grades()
    assert "请先登录" in evicted.text and "LoginToXk?method=exit" in evicted.text and len(evicted.content) < 1200
    assert "dataList" in second.grades().text


def test_grade_table(make: Callable[..., tuple[Any, QzBrowser]]) -> None:
    sim, b = make("seed")
    b.login(sim.username, sim.password)
    b.http.get("/jsxsd/xk/LoginToXk?method=exit")
    assert "请先登录" in b.http.get(MAIN).text
    b.login(sim.username, sim.password)
    direct = b.http.post("/jsxsd/kscj/cjcx_list", data={"kksj": "", "xsfs": "all"})
    assert "dataList" not in direct.text  # the query form was not opened in this session
    header, rows = table(b.grades())
    assert header[:4] == ["序号", "开课学期", "课程编号", "课程名称"] and "考试性质" in header
    assert len(rows) == len(sim.admin.grades(sim.username))
    col = {h: i for i, h in enumerate(header)}
    makeup = next(r for r in rows if r[col["考试性质"]] == "补考")
    assert makeup[col["课程名称"]] == "高等数学A(1)" and makeup[col["成绩"]] == "64"
    _, term_rows = table(b.grades("2021-2022-2"))
    assert term_rows and all(r[col["开课学期"]] == "2021-2022-2" for r in term_rows)
    _, none = table(b.grades("2030-2031-1"))
    assert none == [["未查询到数据"]]


def test_columns_option_and_published_grade(make: Callable[..., tuple[Any, QzBrowser]]) -> None:
    sim, b = make("direct", columns=["课程名称", "成绩", "开课学期", "课程编号", "学分"])
    b.login(sim.username, sim.password)
    sim.admin.publish_grade(sim.username, NEW)
    header, rows = table(b.grades())
    assert header == ["课程名称", "成绩", "开课学期", "课程编号", "学分"]
    assert ["计算机组成原理", "87", "2022-2023-2", "0801021", "4"] in rows


def test_controls(make: Callable[..., tuple[Any, QzBrowser]]) -> None:
    sim, b = make("seed")
    b.login(sim.username, sim.password)
    sim.admin.control(broken_grades=True)
    broken = b.grades()
    assert "dataList" not in broken.text and "请先登录" not in broken.text
    sim.admin.control(reject_captcha=True, broken_grades=False)
    assert message(b.login(sim.username, sim.password)) == "验证码错误!!"
    sim.admin.control(down=True)
    assert b.open_login().status_code == 503
