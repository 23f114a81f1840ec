"""`gradewatch detect URL` against each simulator, an unrelated page and a dead address."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route
from typer.testing import CliRunner

from gradewatch.cli import app
from gradewatch.schools.detect import detect
from gradewatch.sim.server import serve

SchoolSim = Any  # tests/conftest.py's SchoolSim

LOGIN_PATHS = {
    ("ssfw", ""): "/ssfw/login.jsp",
    ("zf", ""): "/jwglxt/xtgl/login_slogin.html",
    ("qiangzhi", "seed"): "/",
    ("qiangzhi", "direct"): "/jsxsd/",
}


@pytest.mark.parametrize(("system", "variant"), list(LOGIN_PATHS))
def test_detect_names_each_simulator(make_school_sim: Callable[..., SchoolSim], system: str, variant: str) -> None:
    sim = make_school_sim(system, **({"login": variant} if variant else {}))
    for url in (sim.root_url + LOGIN_PATHS[system, variant], sim.root_url, sim.root_url + "/"):
        found, _, _ = detect(url)
        assert found is not None, url
        assert (found.system, found.base_url) == (system, sim.base_url), url


def test_cli_prints_the_config_lines(make_school_sim: Callable[..., SchoolSim]) -> None:
    sim = make_school_sim("zf")
    result = CliRunner().invoke(app, ["detect", sim.root_url])
    assert result.exit_code == 0, result.output
    assert 'system = "zf"' in result.output and f'base_url = "{sim.root_url}/jwglxt"' in result.output


async def _unrelated(_request: Any) -> HTMLResponse:
    return HTMLResponse("<html><head><title>某某大学新闻网</title></head><body><form action='/search'>"
                        "<input name='q'></form><a href='/login.html'>登录</a></body></html>")


def test_unrelated_page_is_rejected() -> None:
    with serve(Starlette(routes=[Route("/", _unrelated)])) as url:
        found, _, title = detect(url)
        assert found is None and title == "某某大学新闻网"
        result = CliRunner().invoke(app, ["detect", url])
    assert result.exit_code == 1
    assert "not a system gradewatch knows" in result.output and "某某大学新闻网" in result.output


def test_unreachable_url_is_one_line_and_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    import logging

    # An earlier test may have configured DEBUG logging (app_for); its handlers would add lines here.
    for handler in logging.getLogger().handlers:
        monkeypatch.setattr(handler, "level", logging.WARNING)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again below: nothing listens there
    result = CliRunner().invoke(app, ["detect", f"http://127.0.0.1:{port}/", "--timeout", "3"])
    assert result.exit_code == 4  # docs/errors.md: school unreachable
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "cannot reach" in lines[0]
