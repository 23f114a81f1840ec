"""The web app's defences (CSRF, sign-in rate limits, headers, escaping) and the WeChat endpoint,
against the real server over loopback with a plain HTTP client (as an attacker would use)."""

from __future__ import annotations

import re
import secrets
import time
import xml.etree.ElementTree as ET

import httpx

from gradewatch.web.wechat import signature

from .conftest import WECHAT_TOKEN


def _csrf(client: httpx.Client, path: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert m, path
    return m[1]


def signed_up(site, student) -> httpx.Client:
    client = httpx.Client(base_url=site.url, timeout=60, follow_redirects=True)
    token = _csrf(client, "/signup")
    resp = client.post("/signup", data={"csrf": token, "school": "uni", "username": student.username,
                                        "password": student.password, "notify": "student@example.edu"})
    assert resp.status_code == 200 and f"/accounts/uni.{student.username}" in str(resp.url), resp.text[:500]
    return client


def test_a_form_without_its_token_is_refused(site):
    with httpx.Client(base_url=site.url, timeout=30) as client:
        client.get("/signup")
        resp = client.post("/signup", data={"school": "uni", "username": "x", "password": "y", "notify": "a@b.cn"})
        assert resp.status_code == 403
        resp = client.post("/signup", data={"csrf": "forged", "school": "uni", "username": "x", "password": "y",
                                            "notify": "a@b.cn"})
        assert resp.status_code == 403
    assert site.sim.admin.stats()["unknown_user_posts"] == 0  # nothing reached the school


def test_sign_in_rate_limit_trips_and_recovers(site, clock):
    student = site.students[0]
    signed_up(site, student).close()
    with httpx.Client(base_url=site.url, timeout=30) as client:
        token = _csrf(client, "/signin")
        codes = [client.post("/signin", data={"csrf": token, "school": "uni", "username": student.username,
                                              "password": f"guess{i}"}).status_code for i in range(7)]
        assert codes[:4] == [401] * 4 and codes[-1] == 429
        clock.now += 61  # the window passes
        ok = client.post("/signin", data={"csrf": token, "school": "uni", "username": student.username,
                                          "password": student.password}, follow_redirects=False)
        assert ok.status_code == 303 and ok.headers["location"] == f"/accounts/uni.{student.username}"
    # Signing in never costs the school a login: one POST (the sign-up's) in all.
    assert site.sim.admin.stats(student.username)["login_posts"] == 1


def test_headers_cookies_and_escaping(site):
    with httpx.Client(base_url=site.url, timeout=30) as client:
        resp = client.get("/signup")
        assert "default-src 'self'" in resp.headers["content-security-policy"]
        assert resp.headers["x-frame-options"] == "DENY" and resp.headers["x-content-type-options"] == "nosniff"
        cookie = resp.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        token = _csrf(client, "/signup")
        evil = '<script>alert(1)</script>'
        page = client.post("/signup", data={"csrf": token, "school": "uni", "username": evil, "password": "x",
                                            "notify": "nothing"})
        assert evil not in page.text and "&lt;script&gt;" in page.text
        assert "cdn" not in page.text.lower() and 'src="http' not in page.text


def _wechat(site, xml: str, *, sign: bool = True, ts: str = "", nonce: str = "") -> httpx.Response:
    ts, nonce = ts or str(int(time.time())), nonce or secrets.token_hex(8)
    sig = signature(WECHAT_TOKEN, ts, nonce) if sign else "0" * 40
    return httpx.post(site.url + "/wechat", params={"signature": sig, "timestamp": ts, "nonce": nonce},
                      content=xml.encode(), headers={"Content-Type": "text/xml"}, timeout=30)


def _message(text: str, openid: str = "oUser123") -> str:
    return (f"<xml><ToUserName><![CDATA[gh_gradewatch]]></ToUserName><FromUserName><![CDATA[{openid}]]>"
            f"</FromUserName><CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{text}]]></Content><MsgId>1</MsgId></xml>")


def test_wechat_signature_bind_and_grades(site):
    # WeChat's URL check, then a forged request.
    ts, nonce = str(int(time.time())), "abc"
    ok = httpx.get(site.url + "/wechat", params={"signature": signature(WECHAT_TOKEN, ts, nonce), "timestamp": ts,
                                                 "nonce": nonce, "echostr": "echo-42"}, timeout=30)
    assert ok.status_code == 200 and ok.text == "echo-42"
    assert _wechat(site, _message("成绩"), sign=False).status_code == 403

    student = site.students[4]
    client = signed_up(site, student)
    name = f"uni.{student.username}"
    deadline = time.monotonic() + 60
    while site.web.store.account_state(name).last_ok_at is None and time.monotonic() < deadline:
        time.sleep(0.2)
    token = _csrf(client, f"/accounts/{name}")
    page = client.post(f"/accounts/{name}/wechat-code", data={"csrf": token})
    code = re.search(r"绑定 (\d{6})", page.text)
    assert code, page.text[:300]
    client.close()

    before = _wechat(site, _message("成绩"))
    assert "绑定码" in ET.fromstring(before.text).findtext("Content")
    bound = ET.fromstring(_wechat(site, _message(f"绑定 {code[1]}")).text)
    assert bound.findtext("ToUserName") == "oUser123" and name in bound.findtext("Content")
    grades = ET.fromstring(_wechat(site, _message("成绩")).text).findtext("Content")
    stored = site.web.store.grades(name)
    assert stored and any(g.course_name in grades for g in stored)
    gpa = ET.fromstring(_wechat(site, _message("绩点")).text).findtext("Content")
    assert "学分" in gpa
    assert _wechat(site, b"<xml><oops".decode()).status_code == 400


def test_a_one_time_sign_in_link_works_once(site):
    student = site.students[2]
    signed_up(site, student).close()
    deadline = time.monotonic() + 60  # let the first check's mail arrive first
    while len(site.sink.mails) < 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    before = len(site.sink.mails)
    with httpx.Client(base_url=site.url, timeout=30) as client:
        token = _csrf(client, "/signin")
        # Asked for with a forged Host header: the link still points at the site, not at evil.example.
        page = client.post("/signin", data={"csrf": token, "school": "uni", "username": student.username, "link": "1"},
                           headers={"Host": "evil.example"})
        assert page.status_code == 200 and "sign-in link" in page.text
        [mail] = site.sink.wait_for(before + 1)[before:]
        assert "evil.example" not in mail.text and "evil.example" not in mail.html
        link = re.search(r"http://\S+/signin/link/\S+", mail.text)
        assert link and link[0].startswith(site.url + "/signin/link/"), mail.text
    with httpx.Client(base_url=site.url, timeout=30) as scanner:  # a mail scanner fetching the link
        assert scanner.get(link[0]).status_code == 200
        assert scanner.get(link[0]).status_code == 200  # spent nothing: a page with a button
    with httpx.Client(base_url=site.url, timeout=30) as client:  # the student's click, from the mail
        confirm = client.get(link[0])
        assert confirm.status_code == 200 and f"uni.{student.username}" in confirm.text
        csrf = re.search(r'name="csrf" value="([^"]+)"', confirm.text)
        assert csrf
        ok = client.post(link[0], data={"csrf": csrf[1]}, follow_redirects=False)
        assert ok.status_code == 303 and ok.headers["location"] == f"/accounts/uni.{student.username}"
        assert client.get(ok.headers["location"]).status_code == 200
        assert client.post(link[0], data={"csrf": csrf[1]}, follow_redirects=False).status_code == 400  # once
    with httpx.Client(base_url=site.url, timeout=30) as other:
        again = other.get(link[0], follow_redirects=False)
        assert again.status_code == 400  # used once
    # An unknown account gets the same answer and nothing is sent.
    with httpx.Client(base_url=site.url, timeout=30) as client:
        token = _csrf(client, "/signin")
        page = client.post("/signin", data={"csrf": token, "school": "uni", "username": "nobody", "link": "1"})
        assert "sign-in link" in page.text
    assert len(site.sink.mails) == before + 1


def test_wechat_refuses_old_and_replayed_signatures_and_slow_guessing_of_bind_codes(site):
    old = str(int(time.time()) - 3600)  # a signed URL captured an hour ago
    assert _wechat(site, _message("成绩"), ts=old).status_code == 403
    ts, nonce = str(int(time.time())), secrets.token_hex(8)
    first = _wechat(site, _message("成绩", "oAlice"), ts=ts, nonce=nonce)
    assert first.status_code == 200
    assert _wechat(site, _message("成绩", "oAlice"), ts=ts, nonce=nonce).status_code == 200  # WeChat's own retry
    assert _wechat(site, _message("成绩", "oMallory"), ts=ts, nonce=nonce).status_code == 403  # someone else's body

    replies = [ET.fromstring(_wechat(site, _message(f"绑定 {i:06d}", "oGuesser")).text).findtext("Content")
               for i in range(7)]
    assert all("无效" in r for r in replies[:5]) and all("过多" in r for r in replies[5:]), replies


def test_wechat_codes_never_collide_and_replies_show_text_as_is(site, monkeypatch):
    import gradewatch.web.wechat as wechat

    draws = iter([123456, 123456, 654321])
    monkeypatch.setattr(wechat.secrets, "randbelow", lambda n: next(draws))
    a, b = site.web.bindings.code_for("uni.a"), site.web.bindings.code_for("uni.b")
    assert (a, b) == ("123456", "654321")
    assert site.web.bindings.bind("oA", a) == "uni.a"
    incoming = wechat.Incoming("gh", "oA", "text", "")
    xml = wechat.reply(incoming, "C&C++ 程序设计: 95 ]]> end")
    assert ET.fromstring(xml).findtext("Content") == "C&C++ 程序设计: 95 ]]> end"


def test_odd_form_values_get_a_page_not_a_500(site):
    student = site.students[3]
    client = signed_up(site, student)
    name = f"uni.{student.username}"
    for action, index in (("test-channel", "²"), ("remove-channel", "٣"), ("remove-channel", "9" * 40)):
        token = _csrf(client, f"/accounts/{name}")
        resp = client.post(f"/accounts/{name}/{action}", data={"csrf": token, "index": index})
        assert resp.status_code == 200, (action, index, resp.status_code)
    client.close()


def test_signing_out_ends_every_copy_of_the_session(site):
    student = site.students[1]
    client = signed_up(site, student)
    name = f"uni.{student.username}"
    stolen = dict(client.cookies)  # a copy of the cookie: another device, or someone else's hands
    token = _csrf(client, f"/accounts/{name}")
    assert client.post("/signout", data={"csrf": token}).status_code == 200
    with httpx.Client(base_url=site.url, timeout=30, cookies=stolen) as other:
        assert other.get(f"/accounts/{name}").status_code == 404  # signed out there too
    again = httpx.Client(base_url=site.url, timeout=30, follow_redirects=True)
    token = _csrf(again, "/signin")
    page = again.post("/signin", data={"csrf": token, "school": "uni", "username": student.username,
                                       "password": student.password})
    assert page.status_code == 200 and f"/accounts/{name}" in str(page.url)  # a new sign-in works
    again.close()
    client.close()
