"""Protocol-test fixtures: a simulator serving captchas with known labels, and browsers that read them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gradewatch.sim.captchas import FileCaptchas
from gradewatch.sim.server import RunningSim

from .helpers import Browser, write_captchas


@pytest.fixture(scope="session")
def captcha_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[bytes, str]]:
    folder = tmp_path_factory.mktemp("captchas")
    return folder, write_captchas(folder)


@pytest.fixture
def sim(make_ssfw_sim: Callable[..., RunningSim], captcha_folder: tuple[Path, dict[bytes, str]]) -> RunningSim:
    """An SSFW simulator serving the labelled captchas of ``captcha_folder``."""
    return make_ssfw_sim(captchas=FileCaptchas.load(captcha_folder[0], seed=1))


@pytest.fixture
def browser_factory(sim: RunningSim, captcha_folder: tuple[Path, dict[bytes, str]]) -> Iterator[Callable[[], Browser]]:
    made: list[Browser] = []

    def make() -> Browser:
        b = Browser(sim.base_url, captcha_folder[1])
        made.append(b)
        return b

    yield make
    for b in made:
        b.close()


@pytest.fixture
def browser(browser_factory: Callable[[], Browser]) -> Browser:
    return browser_factory()
