"""Fixtures of the break-it suite: a fault-injecting proxy in front of a simulator, adapters with small deadlines."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from gradewatch.schools.http import reset_cancel
from gradewatch.testing.faults import FaultProxy


@pytest.fixture
def fault_proxy() -> Iterator[Callable[..., FaultProxy]]:
    """``fault_proxy(upstream_url_or_None)`` → a started FaultProxy, stopped after the test."""
    made: list[FaultProxy] = []

    def make(upstream: str | None = None) -> FaultProxy:
        proxy = FaultProxy(upstream).start()
        made.append(proxy)
        return proxy

    yield make
    for p in made:
        p.stop()


@pytest.fixture(autouse=True)
def _no_leftover_cancel() -> Iterator[None]:
    reset_cancel()
    yield
    reset_cancel()


def adapter_on(cls: type, url: str, solver: Any, **limits: float) -> Any:
    from gradewatch.schools.http import Limits

    return cls(url, solver=solver, sleep=lambda _s: None, limits=Limits(**limits) if limits else None)
