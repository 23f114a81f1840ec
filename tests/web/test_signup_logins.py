"""The sign-up's real logins at the school stay few: schools lock an account after a few wrong
passwords, and anyone can type anyone's student number into the form. Against the real server and
the SSFW simulator over loopback, with a plain HTTP client (as a double click or a prankster would)."""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from gradewatch.config import SchoolConfig

from .conftest import serve_site
from .test_security_wechat import _csrf


def _sign_up(site: Any, username: str, password: str, notify: str = "student@example.edu",
             **more: str) -> httpx.Response:
    with httpx.Client(base_url=site.url, timeout=60, follow_redirects=True) as client:
        token = _csrf(client, "/signup")
        return client.post("/signup", data={"csrf": token, "school": "uni", "username": username,
                                            "password": password, "notify": notify, **more})


@pytest.fixture
def roomy(ssfw_sim: Any, tmp_path: Path):
    # The per-IP and per-account form limits high, so what is measured is the logins' own rule.
    yield from serve_site(ssfw_sim, tmp_path, signin_limit=(100, 60.0))


def test_a_refused_password_is_never_sent_to_the_school_again(roomy):
    student = roomy.students[0]
    first = _sign_up(roomy, student.username, "not-the-password")
    assert first.status_code == 400 and "wrong" in first.text
    again = [_sign_up(roomy, student.username, "not-the-password") for _ in range(4)]
    assert [r.status_code for r in again] == [400] * 4 and all("not sent" in r.text for r in again)
    stats = roomy.sim.admin.stats(student.username)
    assert stats["login_posts"] == 1 and not stats["locked"]
    ok = _sign_up(roomy, student.username, student.password)  # the right one still gets through
    assert f"/accounts/uni.{student.username}" in str(ok.url)
    name = f"uni.{student.username}"
    assert roomy.web.store.account_state(name).has_session  # stored with the row, not after it
    deadline = time.monotonic() + 60
    while roomy.web.store.account_state(name).last_ok_at is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert roomy.web.store.account_state(name).last_ok_at is not None
    assert roomy.sim.admin.stats(student.username)["login_posts"] == 2  # the first check reused that session


def test_a_double_click_is_one_login(roomy):
    student = roomy.students[1]
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: _sign_up(roomy, student.username, "wrong-twice"), range(2)))
    assert sorted(r.status_code for r in answers) in ([400, 400], [400, 409])
    assert roomy.sim.admin.stats(student.username)["login_posts"] == 1


def test_at_most_three_school_logins_an_hour_per_student_number(roomy):
    student = roomy.students[2]
    codes = [_sign_up(roomy, student.username, f"guess-{i}").status_code for i in range(5)]
    assert codes == [400, 400, 400, 429, 429]
    stats = roomy.sim.admin.stats(student.username)
    assert stats["login_posts"] == 3 and not stats["locked"]


def test_a_bad_channel_is_refused_before_the_school_sees_the_password(roomy):
    student = roomy.students[3]
    resp = _sign_up(roomy, student.username, student.password, notify="json://")
    assert resp.status_code == 400 and "notify" in resp.text
    assert roomy.sim.admin.stats(student.username)["login_posts"] == 0


def test_the_site_answers_while_a_school_takes_its_time(roomy):
    silent = socket.socket()  # a school that takes the connection and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    roomy.web.base_config.schools["slow"] = SchoolConfig(
        system="ssfw", base_url=f"http://127.0.0.1:{silent.getsockname()[1]}", timeout=6)
    slow = threading.Thread(target=lambda: _sign_up(roomy, "2021010009", "pw", school="slow"))
    slow.start()
    time.sleep(1)
    began = time.monotonic()
    assert httpx.get(roomy.url + "/healthz", timeout=30).status_code == 200
    took = time.monotonic() - began
    slow.join(60)
    silent.close()
    assert took < 3, f"/healthz waited {took:.1f} s for another student's school login"


def test_a_pasted_school_joins_nobodys_list_before_its_good_login(ssfw_sim, make_school_sim, tmp_path):
    other = make_school_sim("qiangzhi")
    for site in serve_site(ssfw_sim, tmp_path, allow_detect=True, detect_private=True):
        resp = _sign_up(site, other.username, other.password, notify="json://", school="",
                        school_url=other.base_url)
        assert resp.status_code == 400 and "notify" in resp.text
        assert "127_0_0_1" not in site.web.base_config.schools
        with httpx.Client(base_url=site.url, timeout=30) as client:
            assert "127_0_0_1" not in client.get("/signup").text
        assert other.admin.stats(other.username)["login_posts"] == 0


@pytest.fixture
def public_channels(ssfw_sim: Any, tmp_path: Path):
    yield from serve_site(ssfw_sim, tmp_path, signin_limit=(100, 60.0), private_channels=False)


def test_a_students_channel_cannot_reach_the_clubs_own_network(public_channels):
    from .test_security_wechat import signed_up

    site = public_channels
    refused = _sign_up(site, site.students[0].username, site.students[0].password, notify="json://127.0.0.1:5432/x")
    assert refused.status_code == 400 and "not on the public internet" in refused.text
    assert site.sim.admin.stats(site.students[0].username)["login_posts"] == 0
    student = site.students[1]
    client = signed_up(site, student)  # an e-mail address: the operator's own mailbox sends it
    name = f"uni.{student.username}"
    results = {}
    for typed in ("json://127.0.0.1:8000/admin", "schan://SCT1a2b3c4d5e6f7g8h9?base=http://169.254.169.254",
                  "foo://bar", "schan://SCT1a2b3c4d5e6f7g8h9"):
        token = _csrf(client, f"/accounts/{name}")
        page = client.post(f"/accounts/{name}/add-channel", data={"csrf": token, "notify": typed})
        results[typed] = page.text
    client.close()
    assert "not on the public internet" in results["json://127.0.0.1:8000/admin"]
    assert "not on the public internet" in results["schan://SCT1a2b3c4d5e6f7g8h9?base=http://169.254.169.254"]
    assert "cannot be used" in results["foo://bar"]
    assert "Channel 2 added" in results["schan://SCT1a2b3c4d5e6f7g8h9"]  # the service's own host: not looked up
    urls = site.web.config().accounts[name].notify
    assert len(urls) == 2 and urls[1].startswith("schan://")


def test_a_refused_password_stays_refused_after_a_restart_and_in_a_second_web_process(ssfw_sim, tmp_path):
    first_site = serve_site(ssfw_sim, tmp_path, signin_limit=(100, 60.0))
    site = next(first_site)
    student = site.students[4]
    assert _sign_up(site, student.username, "not-it").status_code == 400
    second_site = serve_site(ssfw_sim, tmp_path, signin_limit=(100, 60.0))  # another process, same database
    second = next(second_site)
    held = _sign_up(second, student.username, "not-it")
    assert held.status_code == 400 and "not sent" in held.text
    for gen in (second_site, first_site):
        next(gen, None)  # runs the rest of serve_site: the server stops, its store closes
    restarted_site = serve_site(ssfw_sim, tmp_path, signin_limit=(100, 60.0))
    restarted = next(restarted_site)
    try:
        again = _sign_up(restarted, student.username, "not-it")
        assert again.status_code == 400 and "not sent" in again.text
        assert ssfw_sim.admin.stats(student.username)["login_posts"] == 1 and not ssfw_sim.admin.stats(
            student.username)["locked"]
    finally:
        next(restarted_site, None)


def test_send_a_test_checks_the_channels_host_again(public_channels, monkeypatch):
    """A name that was public when the channel was given and points into the club's network now
    (DNS changed, or rebinding) gets no test: the test would show the student what it answered."""
    import http.server

    import gradewatch.web.channel_check as channel_check

    from .test_security_wechat import signed_up

    hits = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the http.server API
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"internal": "secret"}')

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        site = public_channels
        student = site.students[2]
        client = signed_up(site, student)
        name = f"uni.{student.username}"
        real = channel_check.host_is_private
        monkeypatch.setattr(channel_check, "host_is_private", lambda host: False)  # "localhost" was public then
        token = _csrf(client, f"/accounts/{name}")
        added = client.post(f"/accounts/{name}/add-channel",
                            data={"csrf": token, "notify": f"json://localhost:{server.server_address[1]}/hook"})
        assert "Channel 2 added" in added.text
        monkeypatch.setattr(channel_check, "host_is_private", real)  # and now it resolves to 127.0.0.1
        token = _csrf(client, f"/accounts/{name}")
        tested = client.post(f"/accounts/{name}/test-channel", data={"csrf": token, "index": "1"})
        token = _csrf(client, f"/accounts/{name}")
        mailbox = client.post(f"/accounts/{name}/test-channel", data={"csrf": token, "index": "0"})
        client.close()
        assert "Channel 1: confirmed" in mailbox.text  # the operator's own mailbox, on loopback, is the operator's
        assert "Channel 2: not tried" in tested.text and "not on the public internet" in tested.text
        assert "secret" not in tested.text and hits == []
    finally:
        server.shutdown()
