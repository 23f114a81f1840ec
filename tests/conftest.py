"""Shared fixtures: a running SSFW simulator on loopback and the shipped SSFW captcha solver.

    def test_something(ssfw_sim):             # RunningSim: base_url, admin, username, password, sim
        ssfw_sim.admin.publish_grade(ssfw_sim.username, Grade(...))
        ssfw_sim.admin.control(reject_captcha=True)
        ssfw_sim.admin.stats(ssfw_sim.username)["login_posts"]

    def test_other(make_ssfw_sim):            # more simulators, or other options
        gbk = make_ssfw_sim(encoding="gbk", session_ttl=5)

    def test_any_system(school_sim):          # parametrised over every variant of ssfw, zf, qiangzhi
        write_config(..., school_sim.base_url, ..., system=school_sim.system)

    def test_zf(make_school_sim):             # any system, any simulator options
        zf = make_school_sim("zf", captcha=False, notice_for=["2021010001"])

Each simulator is a fresh server (own students, sessions and stats), stopped after the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, fields
from typing import Any

import pytest

from gradewatch.sim.server import RunningSim, running
from gradewatch.sim.ssfw import SsfwSimulator
from gradewatch.sim.transcripts import DEMO_USERNAME, seeded_students
from gradewatch.sim.variants import PRESETS


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


@dataclass
class SchoolSim(RunningSim):
    """A RunningSim of any system. ``base_url`` is what the config's ``base_url`` must be for that
    system (ZF lives below ``/jwglxt``); ``root_url`` is the server root (the admin API is there)."""

    system: str = ""
    root_url: str = ""


def _simulator_class(system: str) -> Any:
    import importlib

    names = {"ssfw": "SsfwSimulator", "zf": "ZfSimulator", "qiangzhi": "QiangzhiSimulator"}
    return getattr(importlib.import_module(f"gradewatch.sim.{system}"), names[system])


#: The adapter's base_url below the server root, per system.
_CONTEXT = {"ssfw": "", "zf": "/jwglxt", "qiangzhi": ""}


@pytest.fixture
def make_school_sim() -> Iterator[Callable[..., SchoolSim]]:
    """Start simulators of any system: ``make_school_sim("zf", seed=0, students=5, **simulator options)``."""
    with ExitStack() as stack:

        def make(system: str, *, seed: int = 0, students: int = 5, **options: Any) -> SchoolSim:
            sim = _simulator_class(system)(seeded_students(seed, students), seed=seed, **options)
            run = stack.enter_context(running(sim))
            base = {f.name: getattr(run, f.name) for f in fields(RunningSim)}
            base["base_url"] = run.base_url + _CONTEXT[system]
            return SchoolSim(**base, system=system, root_url=run.base_url)

        yield make


# What the watcher suite runs against: the captcha variant of each system, and for ZF a notice page
# after every login of the demo student (the adapter must get past it).
WATCH_OPTIONS: dict[str, dict[str, Any]] = {
    "ssfw": {},
    "zf": {"captcha": True, "notice_for": [DEMO_USERNAME]},
    "qiangzhi": {"login": "seed", "captcha": True},
}

#: Every simulator variant the watcher suite runs over: id -> (system, simulator options). Each real
#: variant of the field notes appears in at least one; variants that never exclude each other are
#: combined (the named ones of gradewatch.sim.variants), so the whole suite runs over each of them.
#: The adapters get no options: they must tell the variant from the pages.
WATCH_VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "ssfw": ("ssfw", WATCH_OPTIONS["ssfw"]),
    "ssfw-cjxx": ("ssfw", PRESETS["ssfw"]["cjxx"]),
    "zf": ("zf", WATCH_OPTIONS["zf"]),
    "zf-vendor": ("zf", PRESETS["zf"]["vendor"]),
    # Stock kaptcha: runs once the zf model reads it (see _kaptcha_ready).
    "zf-kaptcha": ("zf", PRESETS["zf"]["kaptcha"]),
    "qiangzhi": ("qiangzhi", WATCH_OPTIONS["qiangzhi"]),
    "qiangzhi-ldap": ("qiangzhi", PRESETS["qiangzhi"]["ldap"]),
    "qiangzhi-logonldap": ("qiangzhi", PRESETS["qiangzhi"]["logon-ldap"]),
    "qiangzhi-direct": ("qiangzhi", PRESETS["qiangzhi"]["direct"]),
}


def _kaptcha_ready() -> str:
    """Why the stock-kaptcha variant cannot run yet ("" when it can): the renderer must exist and the
    shipped zf model must be able to output kaptcha's alphabet."""
    try:
        from gradewatch.captcha.render_schools import render_kaptcha  # type: ignore[attr-defined]  # noqa: F401
    except ImportError:
        return "no render_kaptcha in gradewatch.captcha.render_schools yet"
    from gradewatch.captcha.spec import SPECS

    missing = sorted(set("abcde2345678gfynmnpwx") - set(SPECS["zf"].charset))
    return f"the zf model cannot output {''.join(missing)!r} yet (retrain it on kaptcha)" if missing else ""


@pytest.fixture(params=list(WATCH_VARIANTS))
def school_sim(request: pytest.FixtureRequest, make_school_sim: Callable[..., SchoolSim]) -> SchoolSim:
    """One simulator per variant of each school system (the test runs once for each); ``.system`` is
    its config id."""
    system, options = WATCH_VARIANTS[request.param]
    if options.get("captcha_style") == "kaptcha" and (reason := _kaptcha_ready()):
        pytest.skip(reason)
    if options.get("captcha_policy") == "after_failures" and request.node.name.startswith("test_wrong_captcha"):
        pytest.skip("the vendor checks no captcha on a fresh session (tests/sim covers its captcha policy)")
    return make_school_sim(system, **options)
