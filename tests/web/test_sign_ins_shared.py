"""Sign-ins hold across web processes on one database and across a restart: the cookies' key comes
from the key file, sign-out generations and mailed links live in the database. Two real
`gradewatch web` servers on loopback over one config, database and key file."""

from __future__ import annotations

import json
import re
import time

import httpx
from defusedxml import ElementTree as ET

from .conftest import ADMIN_PASSWORD, WECHAT_TOKEN, serve_site
from .test_security_wechat import _csrf, _message, _wechat, signed_up


def _site(sim, tmp_path, **settings):
    gen = serve_site(sim, tmp_path, signin_limit=(100, 60.0), wechat_token=WECHAT_TOKEN, **settings)
    return gen, next(gen)


def _stop(gen) -> None:
    next(gen, None)  # the rest of serve_site: the server stops, its store closes


def test_a_session_works_in_every_process_and_after_a_restart_and_signing_out_ends_it_everywhere(ssfw_sim, tmp_path):
    gen_a, a = _site(ssfw_sim, tmp_path)
    gen_b, b = _site(ssfw_sim, tmp_path)
    try:
        student = a.students[0]
        name = f"uni.{student.username}"
        client = signed_up(a, student)
        cookie = dict(client.cookies)
        client.close()
        with httpx.Client(base_url=b.url, timeout=30, cookies=cookie) as other:
            assert other.get(f"/accounts/{name}").status_code == 200  # the other process knows this sign-in
        _stop(gen_a)
        gen_a, a = _site(ssfw_sim, tmp_path)  # a restart
        with httpx.Client(base_url=a.url, timeout=30, cookies=cookie, follow_redirects=True) as same:
            assert same.get(f"/accounts/{name}").status_code == 200  # a restart signs nobody out
            token = _csrf(same, f"/accounts/{name}")
            assert same.post("/signout", data={"csrf": token}).status_code == 200
        for site in (a, b):
            with httpx.Client(base_url=site.url, timeout=30, cookies=cookie) as copy:
                assert copy.get(f"/accounts/{name}").status_code == 404  # signed out in every process
        _stop(gen_b)
        gen_b, b = _site(ssfw_sim, tmp_path)
        with httpx.Client(base_url=b.url, timeout=30, cookies=cookie) as copy:
            assert copy.get(f"/accounts/{name}").status_code == 404  # and a restart does not bring it back
    finally:
        _stop(gen_b)
        _stop(gen_a)


def test_a_mailed_link_signs_in_at_any_process_once(ssfw_sim, tmp_path):
    gen_a, a = _site(ssfw_sim, tmp_path)
    gen_b, b = _site(ssfw_sim, tmp_path)
    try:
        student = a.students[1]
        signed_up(a, student).close()
        deadline = time.monotonic() + 60  # the first check's mail first
        while len(a.sink.mails) < 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        before = len(a.sink.mails)
        with httpx.Client(base_url=a.url, timeout=30) as client:
            token = _csrf(client, "/signin")
            client.post("/signin", data={"csrf": token, "school": "uni", "username": student.username, "link": "1"})
        [mail] = a.sink.wait_for(before + 1)[before:]
        path = re.search(r"/signin/link/\S+", mail.text)
        assert path, mail.text
        with httpx.Client(base_url=b.url, timeout=30) as click:  # the site's other process answers the click
            confirm = click.get(path[0])
            csrf = re.search(r'name="csrf" value="([^"]+)"', confirm.text)
            assert confirm.status_code == 200 and csrf, confirm.text[:300]
            ok = click.post(path[0], data={"csrf": csrf[1]}, follow_redirects=False)
            assert ok.status_code == 303 and ok.headers["location"] == f"/accounts/uni.{student.username}"
        with httpx.Client(base_url=a.url, timeout=30) as again:
            assert again.get(path[0]).status_code == 400  # spent, in the process that mailed it too
    finally:
        _stop(gen_b)
        _stop(gen_a)


def test_a_wechat_code_from_one_process_binds_at_another_and_the_binding_outlives_both(ssfw_sim, tmp_path):
    legacy = {"oOldUser": "uni.old", "o" * 300: "uni.long", "oNumber": 5}  # an earlier version's file, two bad
    (tmp_path / "wechat-bindings.json").write_text(json.dumps(legacy), encoding="utf-8")
    gen_a, a = _site(ssfw_sim, tmp_path)
    gen_b, b = _site(ssfw_sim, tmp_path)
    try:
        assert a.web.bindings.account_of("oOldUser") == "uni.old"  # taken over from the file, once
        assert a.web.bindings.account_of("oNumber") is None
        assert _wechat(a, _message("成绩", "o" * 300)).status_code == 400  # no openid: refused, not stored
        assert not (tmp_path / "wechat-bindings.json").exists()
        student = a.students[2]
        name = f"uni.{student.username}"
        client = signed_up(a, student)
        token = _csrf(client, f"/accounts/{name}")
        page = client.post(f"/accounts/{name}/wechat-code", data={"csrf": token})
        client.close()
        code = re.search(r"绑定 (\d{6})", page.text)
        assert code, page.text[:300]
        reply = ET.fromstring(_wechat(b, _message(f"绑定 {code[1]}", "oShared")).text).findtext("Content")
        assert name in reply  # the process answering /wechat knew the code made by the other
        assert a.web.bindings.account_of("oShared") == name  # and the first sees the binding
        again = ET.fromstring(_wechat(a, _message(f"绑定 {code[1]}", "oThief")).text).findtext("Content")
        assert name not in again and a.web.bindings.account_of("oThief") is None  # a code binds once
        _stop(gen_a)
        _stop(gen_b)
        gen_a, a = _site(ssfw_sim, tmp_path)  # a restart: the bindings are the database's
        assert a.web.bindings.account_of("oShared") == name and a.web.bindings.account_of("oOldUser") == "uni.old"
    finally:
        _stop(gen_b)  # a stopped one is left alone
        _stop(gen_a)


def _admin_cookie(site) -> dict:
    with httpx.Client(base_url=site.url, timeout=30) as client:
        token = _csrf(client, "/admin/login")
        ok = client.post("/admin/login", data={"csrf": token, "password": ADMIN_PASSWORD}, follow_redirects=False)
        assert ok.status_code == 303 and client.get("/admin").status_code == 200
        return dict(client.cookies)


def test_an_operator_session_holds_in_every_process_and_ends_with_its_dashboard_password(ssfw_sim, tmp_path):
    gen_a, a = _site(ssfw_sim, tmp_path)
    gen_b, b = _site(ssfw_sim, tmp_path)  # started with the same password, as a second process would be
    try:
        cookie = _admin_cookie(a)
        for site in (a, b):
            with httpx.Client(base_url=site.url, timeout=30, cookies=cookie) as same:
                assert same.get("/admin", follow_redirects=False).status_code == 200
        _stop(gen_a)
        gen_a, a = _site(ssfw_sim, tmp_path)  # a restart with the same password keeps the operator in
        with httpx.Client(base_url=a.url, timeout=30, cookies=cookie) as same:
            assert same.get("/admin", follow_redirects=False).status_code == 200
        _stop(gen_a)
        for changed in ({"admin_password": "a-new-operator-password"}, {"admin_hash": None}):  # new one; none
            gen_a, a = _site(ssfw_sim, tmp_path, **changed)
            with httpx.Client(base_url=a.url, timeout=30, cookies=cookie) as old:
                assert old.get("/admin", follow_redirects=False).status_code == 303  # to the sign-in page
            _stop(gen_a)
    finally:
        _stop(gen_b)
        _stop(gen_a)


def test_deleting_an_account_ends_every_copy_of_its_session(ssfw_sim, tmp_path):
    gen_a, a = _site(ssfw_sim, tmp_path)
    try:
        student = a.students[3]
        name = f"uni.{student.username}"
        client = signed_up(a, student)
        cookie = dict(client.cookies)
        token = _csrf(client, f"/accounts/{name}")
        gone = client.post(f"/accounts/{name}/delete", data={"csrf": token, "confirm": student.username})
        assert "deleted" in gone.text.lower()
        client.close()
        signed_up(a, student).close()  # the same student number signs up again
        with httpx.Client(base_url=a.url, timeout=30, cookies=cookie) as copy:
            assert copy.get(f"/accounts/{name}").status_code == 404  # the old cookie is not theirs again
    finally:
        _stop(gen_a)


def test_a_captured_wechat_url_and_a_guesser_get_no_more_from_two_processes(ssfw_sim, tmp_path):
    gen_a, a = _site(ssfw_sim, tmp_path)
    gen_b, b = _site(ssfw_sim, tmp_path)
    try:
        ts, nonce = str(int(time.time())), "n0nce123"
        assert _wechat(a, _message("成绩", "oAlice"), ts=ts, nonce=nonce).status_code == 200
        assert _wechat(b, _message("成绩", "oAlice"), ts=ts, nonce=nonce).status_code == 200  # WeChat's own retry
        assert _wechat(b, _message("成绩", "oMallory"), ts=ts, nonce=nonce).status_code == 403  # at the other process
        assert _wechat(a, _message("成绩", "oAlice"), ts=ts, nonce="x" * 100).status_code == 403  # no WeChat nonce
        replies = [ET.fromstring(_wechat((a, b)[i % 2], _message(f"绑定 {i:06d}", "oGuesser")).text).findtext("Content")
                   for i in range(7)]  # turns at the two processes
        assert all("无效" in r for r in replies[:5]) and all("过多" in r for r in replies[5:]), replies
    finally:
        _stop(gen_b)
        _stop(gen_a)
