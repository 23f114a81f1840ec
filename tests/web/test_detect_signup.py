"""Sign-up with a pasted URL (`gradewatch web --allow-detect`): the school's system is detected, one
login verifies the password, the school is kept in the operator's config and the first check runs.
Private addresses are refused unless the operator allows them; no login is tried for a refused URL."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gradewatch.config import load_config

from .conftest import Site, serve_site, shot
from .test_browser import wait_checked


@pytest.fixture
def detecting(ssfw_sim: Any, tmp_path: Path) -> Iterator[Site]:
    yield from serve_site(ssfw_sim, tmp_path, allow_detect=True, detect_private=True)


@pytest.fixture
def public_only(ssfw_sim: Any, tmp_path: Path) -> Iterator[Site]:
    yield from serve_site(ssfw_sim, tmp_path, allow_detect=True, detect_private=False)


def _sign_up(page: Any, url: str, school_url: str, username: str, password: str) -> None:
    page.goto(url + "/signup")
    page.select_option("#school", "")
    page.fill("#school-url", school_url)
    page.fill("#username", username)
    page.fill("#password", password)
    page.fill("#notify", "student@example.edu")
    page.click("#signup-submit")


def test_a_pasted_url_is_detected_verified_kept_and_checked(detecting, make_school_sim, page):
    url, sink, cfg = detecting.url, detecting.sink, detecting.web.settings.config_path
    other = make_school_sim("qiangzhi")  # a school the operator never configured
    _sign_up(page, url, other.base_url + "/", other.username, other.password)
    key = "127_0_0_1"
    page.wait_for_url(f"**/accounts/{key}.{other.username}")
    shot(page, "signup-detected")
    school = tomllib.loads(cfg.read_text(encoding="utf-8"))["schools"][key]
    assert school == {"system": "qiangzhi", "base_url": other.base_url}
    assert load_config(cfg).schools[key].system == "qiangzhi"  # the operator's file still loads
    assert other.admin.stats(other.username)["login_posts"] >= 1
    [mail] = sink.wait_for(1, timeout=60)  # the first check ran through the detected school
    assert other.password not in mail.text
    wait_checked(detecting, f"{key}.{other.username}")


def test_a_wrong_password_through_a_pasted_url_keeps_nothing(detecting, make_school_sim, page):
    url, cfg = detecting.url, detecting.web.settings.config_path
    before = cfg.read_text(encoding="utf-8")
    other = make_school_sim("qiangzhi")
    _sign_up(page, url, other.base_url, other.username, "not-the-password")
    assert "wrong" in page.locator(".error").inner_text()
    assert other.admin.stats(other.username)["login_posts"] == 1
    assert cfg.read_text(encoding="utf-8") == before
    assert "127_0_0_1" not in detecting.web.base_config.schools


def test_a_page_that_is_no_school_is_told_plainly(detecting, page):
    url, cfg = detecting.url, detecting.web.settings.config_path
    before = cfg.read_text(encoding="utf-8")
    _sign_up(page, url, url + "/signup", "2021010001", "pw")  # gradewatch's own page: no academic system
    assert "no academic system" in page.locator(".error").inner_text()
    assert cfg.read_text(encoding="utf-8") == before


def test_private_addresses_are_refused_unless_allowed(public_only, make_school_sim, page):
    url, cfg = public_only.url, public_only.web.settings.config_path
    other = make_school_sim("qiangzhi")
    _sign_up(page, url, other.base_url, other.username, other.password)
    assert "not on the public internet" in page.locator(".error").inner_text()
    assert other.admin.stats(other.username)["login_posts"] == 0  # nothing was fetched or tried
    assert "[schools.127_0_0_1]" not in cfg.read_text(encoding="utf-8")


def test_detection_never_follows_a_redirect_into_the_clubs_network(monkeypatch):
    """A public school page redirecting to an internal address: the redirect is not fetched."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import gradewatch.web.detect_school as detect_school_module
    from gradewatch.web.detect_school import SchoolUrlError, detect_school

    hits: list[str] = []

    class Internal(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"secret")

        def log_message(self, *args: Any) -> None:
            pass

    internal = ThreadingHTTPServer(("127.0.0.1", 0), Internal)

    class Redirector(Internal):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{internal.server_port}/latest/meta-data/")
            self.end_headers()

    outside = ThreadingHTTPServer(("127.0.0.2", 0), Redirector)  # stands in for a public host
    for server in (internal, outside):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(detect_school_module, "host_is_private", lambda host: host != "127.0.0.2")
    try:
        with pytest.raises(SchoolUrlError, match="not on the public internet"):
            detect_school(f"http://127.0.0.2:{outside.server_port}/", {}, allow_private=False)
    finally:
        for server in (internal, outside):
            server.shutdown()
    assert hits == [], "the internal address was fetched"
