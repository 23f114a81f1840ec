"""Shared fixtures: a running SSFW simulator on loopback and the shipped SSFW captcha solver.

    def test_something(ssfw_sim):             # RunningSim: base_url, admin, username, password, sim
        ssfw_sim.admin.publish_grade(ssfw_sim.username, Grade(...))
        ssfw_sim.admin.control(reject_captcha=True)
        ssfw_sim.admin.stats(ssfw_sim.username)["login_posts"]

    def test_other(make_ssfw_sim):            # more simulators, or other options
        gbk = make_ssfw_sim(encoding="gbk", session_ttl=5)

Each simulator is a fresh server (own students, sessions and stats), stopped after the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from gradewatch.sim.server import RunningSim, running
from gradewatch.sim.ssfw import SsfwSimulator
from gradewatch.sim.transcripts import seeded_students


@pytest.fixture
def make_ssfw_sim() -> Iterator[Callable[..., RunningSim]]:
    """Start SSFW simulators: ``make_ssfw_sim(seed=0, students=5, **SsfwSimulator options)``."""
    with ExitStack() as stack:

        def make(*, seed: int = 0, students: int = 5, **options: Any) -> RunningSim:
            sim = SsfwSimulator(seeded_students(seed, students), seed=seed, **options)
            return stack.enter_context(running(sim))

        yield make


@pytest.fixture
def ssfw_sim(make_ssfw_sim: Callable[..., RunningSim]) -> RunningSim:
    """An SSFW simulator with rendered captchas; the demo student is ``ssfw_sim.username`` / ``.password``."""
    return make_ssfw_sim()


@pytest.fixture(scope="session")
def ssfw_solver() -> Any:
    """The shipped ``ssfw`` captcha model, loaded once per test run."""
    from gradewatch.captcha.solver import load_solver

    return load_solver("ssfw")
