"""The ZF (jwglxt) simulator, spoken to over loopback with raw HTTP (no adapter)."""

from __future__ import annotations

import base64
import io
import random
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from PIL import Image, ImageDraw
from selectolax.lexbor import LexborHTMLParser

from gradewatch.grades import Grade
from gradewatch.sim.transcripts import DEMO_USERNAME as DEMO

SchoolSim = Any  # tests/conftest.py's SchoolSim: a RunningSim with .system and .root_url

NEW = Grade(term="2022-2023-2", course_code="0801021", course_name="计算机组成原理", score="87", credits=4.0,
            course_nature="必修", course_category="专业基础课")
QUERY = "/jwglxt/cjcx/cjcx_cxXsgrcj.html?doType=query&gnmkdm=N305005"


class KnownCaptchas:
    """Captchas whose answers the test knows by their bytes (mixed case: ZF compares case-sensitively)."""

    def __init__(self) -> None:
        self.answers: dict[bytes, str] = {}
        self._rng = random.Random(5)

    def next(self) -> tuple[str, bytes, str]:
        text = "".join(self._rng.choices("abcdeABCDE2345", k=self._rng.choice((4, 5))))
        img = Image.new("RGB", (200, 50), "white")
        ImageDraw.Draw(img).text((10, 10), f"{text} {len(self.answers)}", fill="black")
        buf = io.BytesIO()
        img.save(buf, "PNG")
        self.answers[buf.getvalue()] = text
        return text, buf.getvalue(), "image/png"


class ZfBrowser:
    """One cookie jar against the simulator's /jwglxt pages, redirects not followed."""

    def __init__(self, sim: SchoolSim, captchas: KnownCaptchas) -> None:
        self.http = httpx.Client(base_url=sim.root_url, timeout=10)
        self.captchas = captchas
        self.csrftoken = ""

    def open_login(self) -> httpx.Response:
        resp = self.http.get("/jwglxt/xtgl/login_slogin.html")
        node = LexborHTMLParser(resp.text).css_first("input#csrftoken")
        self.csrftoken = str(node.attributes.get("value")) if node is not None else ""
        return resp

    def captcha(self) -> str:
        resp = self.http.get("/jwglxt/kaptcha", params={"time": "1"})
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("image/")
        return self.captchas.answers[resp.content]

    def public_key(self) -> rsa.RSAPublicKey:
        data = self.http.get("/jwglxt/xtgl/login_getPublicKey.html").json()
        n = int.from_bytes(base64.b64decode(data["modulus"]), "big")
        e = int.from_bytes(base64.b64decode(data["exponent"]), "big")
        return rsa.RSAPublicNumbers(e, n).public_key()

    def encrypt(self, password: str) -> str:
        return base64.b64encode(self.public_key().encrypt(password.encode(), padding.PKCS1v15())).decode()

    def post(self, username: str, mm: str, yzm: str | None, csrftoken: str | None = None) -> httpx.Response:
        form = {"csrftoken": self.csrftoken if csrftoken is None else csrftoken, "language": "zh_CN",
                "yhm": username, "mm": mm}
        if yzm is not None:
            form["yzm"] = yzm
        return self.http.post("/jwglxt/xtgl/login_slogin.html", data=form)

    def login(self, username: str, password: str, *, captcha: bool = True) -> httpx.Response:
        self.open_login()
        code = self.captcha() if captcha else None
        return self.post(username, self.encrypt(password), code)

    def grades(self, **form: str) -> httpx.Response:
        return self.http.post(QUERY, data={"xnm": "", "xqm": "", "queryModel.showCount": "100",
                                           "queryModel.currentPage": "1", **form})

    def all_items(self) -> list[dict[str, Any]]:
        first = self.grades().json()
        items = list(first["items"])
        for page in range(2, first["totalPage"] + 1):
            items += self.grades(**{"queryModel.currentPage": str(page)}).json()["items"]
        return items


def tips(resp: httpx.Response) -> str:
    node = LexborHTMLParser(resp.text).css_first("p#tips")
    return node.text(strip=True) if node is not None else ""


@pytest.fixture
def captchas() -> KnownCaptchas:
    return KnownCaptchas()


@pytest.fixture
def zf(make_school_sim: Callable[..., SchoolSim], captchas: KnownCaptchas) -> SchoolSim:
    return make_school_sim("zf", captchas=captchas)


@pytest.fixture
def browser(zf: SchoolSim, captchas: KnownCaptchas) -> Iterator[ZfBrowser]:
    b = ZfBrowser(zf, captchas)
    yield b
    b.http.close()


def test_login_page_carries_csrftoken_rsa_and_kaptcha(zf: SchoolSim, browser: ZfBrowser) -> None:
    resp = browser.open_login()
    assert resp.status_code == 200 and resp.cookies.get("JSESSIONID")
    tree = LexborHTMLParser(resp.text)
    assert browser.csrftoken and tree.css_first("input#yhm") and tree.css_first("input#mm")
    assert tree.css_first("input#yzm") is not None and tree.css_first("p#tips") is not None
    assert "用户登录" in resp.text
    key = browser.public_key()
    assert key.public_numbers().e == 65537 and key.key_size >= 1024


def test_no_captcha_variant(make_school_sim: Callable[..., SchoolSim]) -> None:
    sim = make_school_sim("zf", captcha=False)
    b = ZfBrowser(sim, KnownCaptchas())
    assert LexborHTMLParser(b.open_login().text).css_first("input#yzm") is None
    resp = b.post(sim.username, b.encrypt(sim.password), None)
    assert resp.status_code == 302 and "/xtgl/index_initMenu.html" in resp.headers["location"]


def test_encrypted_login_lands_on_the_menu(zf: SchoolSim, browser: ZfBrowser) -> None:
    browser.open_login()
    before = browser.http.cookies["JSESSIONID"]
    resp = browser.post(zf.username, browser.encrypt(zf.password), browser.captcha())
    assert resp.status_code == 302 and "/jwglxt/xtgl/index_initMenu.html" in resp.headers["location"]
    assert browser.http.cookies["JSESSIONID"] != before
    menu = browser.http.get("/jwglxt/xtgl/index_initMenu.html")
    assert menu.status_code == 200 and zf.username in menu.text and "李明" in menu.text
    raw = b"".join(zf.sim.login_bodies)
    assert raw and zf.password.encode() not in raw
    assert zf.admin.stats(zf.username)["successful_logins"] == 1


def test_plaintext_or_replayed_password_is_refused(zf: SchoolSim, browser: ZfBrowser) -> None:
    browser.open_login()
    browser.public_key()
    resp = browser.post(zf.username, zf.password, browser.captcha())  # not encrypted
    assert resp.status_code == 200 and "用户名或密码不正确" in tips(resp)
    browser.open_login()
    mm = browser.encrypt("wrong")
    assert "用户名或密码不正确" in tips(browser.post(zf.username, mm, browser.captcha()))
    # The key served one attempt: the next POST without a new key cannot be decrypted.
    right = browser.encrypt(zf.password)
    assert "验证码输入错误" in tips(browser.post(zf.username, right, "nope"))
    assert "用户名或密码不正确" in tips(browser.post(zf.username, right, browser.captcha()))
    assert zf.admin.stats(zf.username)["consecutive_wrong_passwords"] == 3


def test_stale_csrftoken_is_not_a_login_attempt(zf: SchoolSim, browser: ZfBrowser) -> None:
    browser.open_login()
    resp = browser.post(zf.username, browser.encrypt(zf.password), browser.captcha(), csrftoken="forged")
    assert "页面已过期" in tips(resp)
    assert zf.admin.stats(zf.username)["login_posts"] == 0


def test_captcha_is_case_sensitive_and_used_once(zf: SchoolSim, browser: ZfBrowser) -> None:
    browser.open_login()
    code = browser.captcha()
    while code.lower() == code:  # make sure the case matters for this one
        code = browser.captcha()
    assert tips(browser.post(zf.username, browser.encrypt(zf.password), code.lower())) == "验证码输入错误！"
    assert tips(browser.post(zf.username, browser.encrypt(zf.password), code)) == "验证码输入错误！"  # consumed
    assert browser.post(zf.username, browser.encrypt(zf.password), browser.captcha()).status_code == 302


def test_lock_after_five_wrong_passwords(zf: SchoolSim, browser: ZfBrowser) -> None:
    for n in range(5):
        resp = browser.login(zf.username, f"guess-{n}")
        assert tips(resp) == "用户名或密码不正确，请重新输入！"
    for password in (zf.password, "guess"):
        assert "用户已被禁用！" == tips(browser.login(zf.username, password))
    stats = zf.admin.stats(zf.username)
    assert stats["locked"] and stats["outcomes"] == {"ok": 0, "wrong_captcha": 0, "wrong_password": 5, "locked": 2}
    zf.admin.unlock(zf.username)
    assert browser.login(zf.username, zf.password).status_code == 302


def test_grade_json_pages_and_fields(make_school_sim: Callable[..., SchoolSim], captchas: KnownCaptchas) -> None:
    sim = make_school_sim("zf", captchas=captchas, max_show_count=8)
    b = ZfBrowser(sim, captchas)
    b.login(sim.username, sim.password)
    total = len(sim.admin.grades(sim.username))
    first = b.grades().json()
    assert first["showCount"] == 8 and first["totalCount"] == total and first["totalPage"] == -(-total // 8)
    items = b.all_items()
    assert len(items) == total and len({i["jxb_id"] for i in items}) == total
    makeup = next(i for i in items if i["ksxz"] == "补考")
    assert makeup["kcmc"] == "高等数学A(1)" and makeup["cj"] == "64" and makeup["kch"] == "1101001"
    assert makeup["xnmmc"] == "2021-2022" and makeup["xqmmc"] == "1" and makeup["xqm"] == "3"
    assert {"bfzcj", "jd", "xf", "jxb_id", "tjsj", "xh", "xnm"} <= set(makeup)
    level = next(i for i in items if i["cj"] == "优秀")
    assert level["bfzcj"] == "95"
    second_term = b.grades(xnm="2021", xqm="12").json()
    assert second_term["items"] and all(i["xqmmc"] == "2" and i["xnmmc"] == "2021-2022" for i in second_term["items"])


def test_published_grade_appears(zf: SchoolSim, browser: ZfBrowser) -> None:
    browser.login(zf.username, zf.password)
    zf.admin.publish_grade(zf.username, NEW)
    items = browser.all_items()
    assert any(i["kcmc"] == "计算机组成原理" and i["cj"] == "87" and i["xqmmc"] == "2" for i in items)


def test_expired_session_gets_the_html_login_page(zf: SchoolSim, browser: ZfBrowser) -> None:
    browser.login(zf.username, zf.password)
    assert browser.grades().headers["content-type"].startswith("application/json")
    zf.admin.expire_sessions(zf.username)
    resp = browser.grades()
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
    assert "用户登录" in resp.text and 'id="yhm"' in resp.text


def test_notice_page_must_be_acknowledged(make_school_sim: Callable[..., SchoolSim], captchas: KnownCaptchas) -> None:
    sim = make_school_sim("zf", captchas=captchas, notice_for=[DEMO])
    b = ZfBrowser(sim, captchas)
    resp = b.login(sim.username, sim.password)
    assert resp.status_code == 302 and "index_cxXsTz.html" in resp.headers["location"]
    assert "重要通知" in b.grades().text  # no grades before the notice is read
    assert b.http.get("/jwglxt/xtgl/index_initMenu.html").status_code == 302
    notice = LexborHTMLParser(b.http.get("/jwglxt/xtgl/index_cxXsTz.html").text)
    form = notice.css_first("form#tzForm")
    assert form is not None
    tzid = form.css_first('input[name="tzid"]').attributes["value"]
    done = b.http.post(str(form.attributes["action"]), data={"tzid": str(tzid)})
    assert done.status_code == 302 and done.headers["location"].endswith("/xtgl/index_initMenu.html")
    assert b.grades().json()["items"]


def test_broken_and_down_controls(zf: SchoolSim, browser: ZfBrowser) -> None:
    browser.login(zf.username, zf.password)
    zf.admin.control(broken_grades=True)
    resp = browser.grades()
    assert resp.status_code == 200 and "items" not in resp.text and "用户登录" not in resp.text
    zf.admin.control(down=True)
    assert browser.http.get("/jwglxt/xtgl/login_slogin.html").status_code == 503

