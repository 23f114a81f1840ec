"""What every adapter test needs: adapters without back-off sleeps, closed after the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest


@pytest.fixture
def adapters() -> Iterator[Callable[..., Any]]:
    """``adapters(AdapterClass, sim, solver=…, **kwargs)`` → an adapter on ``sim.base_url``."""
    made: list[Any] = []

    def make(cls: type, sim: Any, *, solver: Any, **kwargs: Any) -> Any:
        adapter = cls(sim.base_url, solver=solver, sleep=lambda _s: None, **kwargs)
        made.append(adapter)
        return adapter

    yield make
    for a in made:
        a.close()
