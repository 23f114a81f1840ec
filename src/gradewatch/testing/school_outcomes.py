"""Run every school fault against every adapter and record what the user gets.

A simulator of the system sits behind a :class:`FaultProxy`; the fault is injected on the grade page
(or the captcha image), and one real check (login with the shipped captcha model, then grades) runs
with small deadlines. Used by tests/breakit (the table must hold only typed errors) and by
``bench/faults.py`` (which prints the table in docs/reliability-faults.md).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from gradewatch.schools import adapter_class
from gradewatch.schools.base import Credentials
from gradewatch.schools.errors import SchoolError
from gradewatch.schools.http import Limits
from gradewatch.testing.faults import FAULTS, FaultProxy

#: Where each system's grade page and captcha image live (path suffixes the proxy matches).
TARGETS: dict[str, dict[str, str]] = {
    "ssfw": {"grades": "/ssfw/jwnavmenu.do", "captcha": "/ssfw/jwcaptcha.do"},
    # "cj.html" ends both ZF grade queries (cjcx_cxXsgrcj.html and its fallback cjcx_cxDgXscj.html).
    "zf": {"grades": "cj.html", "captcha": "/kaptcha"},
    "qiangzhi": {"grades": "/jsxsd/kscj/cjcx_list", "captcha": "verifycode.servlet"},
}
SIM_OPTIONS: dict[str, dict[str, Any]] = {
    "ssfw": {},
    "zf": {"captcha": True},
    "qiangzhi": {"login": "seed", "captcha": True},
}
_CONTEXT = {"ssfw": "", "zf": "/jwglxt", "qiangzhi": ""}
#: Faults that only make sense on an image.
IMAGE_FAULTS = {"garbage_image"}
#: The deadlines of the fault runs: small, so hangs and drips end fast.
TEST_LIMITS: dict[str, Any] = {"request_deadline": 1.5, "check_deadline": 4.0}


@dataclass(frozen=True)
class SchoolOutcome:
    system: str
    fault: str
    target: str
    error: str  # the exception class, "" when the check succeeded
    kind: str  # SchoolError.kind, "ok", or "UNTYPED"
    message: str
    seconds: float

    @property
    def typed(self) -> bool:
        return self.kind != "UNTYPED"


def _simulator(system: str) -> Any:
    import importlib

    from gradewatch.sim.transcripts import seeded_students

    names = {"ssfw": "SsfwSimulator", "zf": "ZfSimulator", "qiangzhi": "QiangzhiSimulator"}
    cls = getattr(importlib.import_module(f"gradewatch.sim.{system}"), names[system])
    return cls(seeded_students(0, 3), seed=0, **SIM_OPTIONS[system])


@contextmanager
def school_behind_proxy(system: str) -> Iterator[tuple[Any, FaultProxy, str]]:
    """(running simulator, proxy, the adapter's base_url through the proxy)."""
    from gradewatch.sim.server import running

    with running(_simulator(system)) as sim, FaultProxy(sim.base_url) as proxy:
        yield sim, proxy, proxy.base_url + _CONTEXT[system]


def run_fault(system: str, fault: str, *, sim: Any, proxy: FaultProxy, base_url: str, solver: Any,
              limits: dict[str, Any] | None = None, **params: Any) -> SchoolOutcome:
    target = "captcha" if fault in IMAGE_FAULTS else "grades"
    proxy.clear()
    proxy.inject(TARGETS[system][target], fault, **({"interval": 0.2} | params))
    adapter = adapter_class(system)(base_url, solver=solver, sleep=lambda _s: None,
                                    limits=Limits(**(limits or TEST_LIMITS)))
    start = time.monotonic()
    try:
        with adapter:
            grades, _ = adapter.check(Credentials(sim.username, sim.password))
        error, kind, message = "", "ok", f"{len(grades)} grades"
    except SchoolError as err:
        error, kind, message = type(err).__name__, err.kind, str(err)
    except Exception as err:  # noqa: BLE001 - exactly what this table is looking for
        error, kind, message = type(err).__name__, "UNTYPED", str(err)
    finally:
        proxy.clear()
    return SchoolOutcome(system, fault, target, error, kind, message.replace(base_url, "{school}"),
                         time.monotonic() - start)


def all_outcomes(systems: Iterable[str] = ("ssfw", "zf", "qiangzhi"),
                 faults: Iterable[str] | None = None) -> list[SchoolOutcome]:
    from gradewatch.captcha.solver import load_solver

    names = [f for f in (faults or FAULTS) if f != "static"]
    out: list[SchoolOutcome] = []
    for system in systems:
        solver = load_solver(system)
        with school_behind_proxy(system) as (sim, proxy, base_url):
            for fault in names:
                out.append(run_fault(system, fault, sim=sim, proxy=proxy, base_url=base_url, solver=solver))
    return out
