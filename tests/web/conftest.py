"""A real `gradewatch web` on loopback in front of a real simulator and SMTP sinks, and a real
headless Chromium (Debian's, driven by Playwright; never a downloaded browser)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gradewatch.notify.sink import SmtpSink
from gradewatch.sim.server import RunningSim, serve
from gradewatch.sim.transcripts import seeded_students
from gradewatch.web.app import WebSettings, create_app

CHROMIUM = os.environ.get("GRADEWATCH_CHROMIUM", "/usr/bin/chromium")
ADMIN_PASSWORD = "operator-secret-1"
WECHAT_TOKEN = "wechat-test-token"
#: Where the browser tests leave their screenshots (the docs use them).
SHOTS = Path(os.environ.get("GRADEWATCH_SCREENSHOTS", "")) if os.environ.get("GRADEWATCH_SCREENSHOTS") else None


@dataclass
class Site:
    url: str
    sim: RunningSim
    sink: SmtpSink
    students: list[Any]  # the simulator's seeded students (username, password)
    app: Any

    @property
    def web(self) -> Any:
        return self.app.state.web


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def serve_site(sim: RunningSim, tmp_path: Path, **settings: Any) -> Iterator[Site]:
    """`gradewatch web` with one school (``uni``, the SSFW simulator ``sim``) and an SMTP sink as the
    club's mailbox; ``settings`` are more WebSettings."""
    cfg = tmp_path / "gradewatch.toml"
    cfg.write_text(f"""database = "sqlite:///state/gw.db"
key_file = "state/gw.key"
[schools.uni]
system = "ssfw"
base_url = "{sim.base_url}"
""", encoding="utf-8")
    with SmtpSink() as sink:
        sender = f"mailto://127.0.0.1:{sink.port}?mode=insecure&from=gradewatch@localhost"
        settings.setdefault("private_channels", True)  # the channels' stand-ins listen on loopback
        if "admin_hash" not in settings:  # the dashboard password, as the CLI gives it
            settings.setdefault("admin_password", ADMIN_PASSWORD)
        app = create_app(WebSettings(config_path=cfg, mail_sender=sender, **settings))
        with serve(app) as url:
            app.state.web.settings.public_url = settings.get("public_url", url + "/")  # known once it listens
            yield Site(url, sim, sink, list(seeded_students(0, 5)), app)
        app.state.web.close()


@pytest.fixture
def site(ssfw_sim: RunningSim, tmp_path: Path, clock: Clock) -> Iterator[Site]:
    yield from serve_site(ssfw_sim, tmp_path, wechat_token=WECHAT_TOKEN, signin_limit=(5, 60.0), clock=clock)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"Chromium is missing at {CHROMIUM} (.ci/run installs Debian's chromium)")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1000, "height": 900}, locale="zh-CN")
    p = context.new_page()
    p.set_default_timeout(20_000)
    yield p
    context.close()


def shot(page: Any, name: str) -> None:
    if SHOTS is not None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
